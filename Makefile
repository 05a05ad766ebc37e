# Every target builds .venv from the project's own files if it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fuzz bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/prematch demo

lint: $(STAMP)
	$(BIN)/ruff check engine policies cli tests
	$(BIN)/ruff format --check engine policies cli tests
	$(BIN)/mypy --strict engine policies

test: lint
	CI=$${CI:-1} $(BIN)/python -m pytest -q

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=dev $(BIN)/python -m pytest -q tests -k "fuzz or property"

bench: $(STAMP)
	$(BIN)/python tests/bench.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
