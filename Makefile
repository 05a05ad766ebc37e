# Every target builds .venv from the project's own files if it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The editable install is strict (a tree of links: mypy follows it, and an embedder's
# import sees only the prematch package). It links the files that existed when it ran,
# so the stamp carries a digest of the file list: adding or removing a file reinstalls.
# The install also compiles verify's quick pass (setup.py) into engine/: a changed C source
# reinstalls, and the built module is not part of the list.
TREE := $(shell find __init__.py py.typed engine policies cli fixtures -type f \
	! -path '*/__pycache__/*' ! -name '*.so' 2>/dev/null | LC_ALL=C sort | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(TREE)

.PHONY: demo test lint lint-eval fuzz bench clean

$(STAMP): pyproject.toml setup.py engine/_chain_accel.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	rm -f $(VENV)/.installed-* $(VENV)/.bench-*
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=strict
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/prematch demo

lint: $(STAMP)
	$(BIN)/ruff check engine policies cli tests examples __init__.py
	$(BIN)/ruff format --check engine policies cli tests examples __init__.py
	$(BIN)/mypy --strict -p prematch.engine -p prematch.policies -p prematch.cli
	cd examples && ../$(BIN)/mypy --strict --explicit-package-bases *.py

# The PostgreSQL tests need a server: .ci/postgres.sh starts a throwaway one (installing
# Debian's postgresql package as root if needed) unless PREMATCH_TEST_PG names yours.
test: lint
	CI=$${CI:-1} .ci/postgres.sh $(BIN)/python -m pytest -q

# The content rules on the labelled corpus (tests/corpus/messages): recall per rule,
# false blocks on clean messages (issue 15; tests/test_content.py holds the goals).
lint-eval: $(STAMP)
	$(BIN)/python tests/lint_eval.py

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(BIN)/python -m pytest -q tests -k "fuzz or property"

# The bench's extra (eventsourcing, which it compares against) on top of the test install.
BENCH_STAMP := $(VENV)/.bench-$(TREE)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]' --config-settings editable_mode=strict
	touch $(BENCH_STAMP)

# BENCH_ARGS=--large adds the 5,000,000-event store; BENCH_ARGS=--quick is a smoke run.
bench: $(BENCH_STAMP)
	.ci/postgres.sh $(BIN)/python tests/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -f engine/*.so
