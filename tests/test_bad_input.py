"""Malformed input is refused cleanly and changes nothing (issue 5, DESIGN §6).

The corpus is ``tests/corpus/bad_inputs/``: one file per malformed input and
``expected.toml`` saying, for each, which line and field the error must name and a
fragment of its message. Every case: exit 2, one line on stderr starting with
``error:``, no traceback, and the database (checkpointed first) byte-for-byte unchanged.
The commands run in process (:class:`prematch_script.Script`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from db_bytes import db_files, settled_db_files
from history import History
from prematch_script import Ran, Script

from prematch.engine import NoRules, Store

CORPUS = Path(__file__).parent / "corpus" / "bad_inputs"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expected.toml").read_text(encoding="utf-8")
)
NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
BASE = "base-2027"
TEN_MB = 10 * 1024 * 1024

CORPUS_SEASON = {
    "type": "season_started",
    "season": "corpus-2027",
    "at": "2026-09-20T10:00:00-04:00",
    "match_year": 2027,
    "specialty": "Internal Medicine",
    "timezone": "America/New_York",
    "visa": "j1",
    "applicant_name": "Corpus Applicant",
}


def _case(name: str) -> Any:
    spec = EXPECTED[name]
    marks = []
    if "xfail_strict" in spec:
        marks.append(pytest.mark.xfail(strict=True, reason=spec["xfail_strict"]))
    if "xfail" in spec:
        marks.append(pytest.mark.xfail(strict=False, reason=spec["xfail"]))
    return pytest.param(name, marks=marks, id=name)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store every case runs against: season base-2027 with program p1."""
    db = tmp_path_factory.mktemp("bad") / "template.db"
    with Store.open(db) as store:
        season = History(season_id=BASE, name="Base Applicant").season(
            store, rulebook=NoRules(), now=NOW_UTC
        )
        season.add_program("p1", "P1 Internal Medicine", at="2026-09-21T10:00:00-04:00")
    return db


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    path = tmp_path / "s.db"
    shutil.copy(template, path)
    return path


def run(db: Path, *args: str) -> Ran:
    return Script(db.parent, db=db)(*args)


def command_for(name: str, tmp_path: Path) -> list[str]:
    if name.endswith(".args"):
        return (CORPUS / name).read_text(encoding="utf-8").splitlines()
    path = CORPUS / name
    if EXPECTED[name].get("generated"):
        path = generate(name, tmp_path)
    return ["import", str(path)]


def generate(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    if name == "huge_csv_cell.csv":  # over the csv module's 131,072-character cell limit
        path.write_text(f"program,applied\n{'x' * 140_000},2026-09-24\n", encoding="utf-8")
        return path
    assert name == "ten_mb_line.jsonl", f"no generator for {name}"
    news = {"type": "news_recorded", "at": "2026-10-01T10:00:00-04:00", "kind": "other"}
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps(CORPUS_SEASON) + "\n")
        f.write(json.dumps({**news, "detail": "x" * TEN_MB}) + "\n")
        f.write(json.dumps({**news, "detail": "after the long line"}) + "\n")
    assert path.stat().st_size > TEN_MB
    return path


def assert_clear_error(proc: Ran, spec: dict[str, Any]) -> str:
    shown = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr, shown
    assert proc.returncode == 2, shown
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line: {shown}"
    (line,) = lines
    assert line.startswith("error:"), line
    if "line" in spec:
        assert re.search(rf"\bline {spec['line']}\b", line), (
            f"line {spec['line']} not named: {line}"
        )
    if "field" in spec:
        field = re.escape(spec["field"])
        assert re.search(rf"\bfield ['\"]?{field}\b", line), f"field not named: {line}"
    assert spec["message"] in line, f"{spec['message']!r} not in {line!r}"
    return line


@pytest.mark.parametrize("name", [_case(n) for n in EXPECTED])
def test_bad_input_is_refused_cleanly_and_changes_nothing(
    db: Path, tmp_path: Path, name: str
) -> None:
    spec = EXPECTED[name]
    before = settled_db_files(db)
    proc = run(db, *command_for(name, tmp_path))
    after = db_files(db)
    assert_clear_error(proc, spec)
    assert after == before, "the database changed"
    assert settled_db_files(db) == before, "the database changed (after a checkpoint)"


def test_corpus_and_expectations_match() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "expected.toml"}
    committed = {n for n, spec in EXPECTED.items() if not spec.get("generated")}
    assert on_disk == committed
    for name, spec in EXPECTED.items():
        assert isinstance(spec.get("message"), str) and spec["message"], name
        assert set(spec) <= {"line", "field", "message", "generated", "xfail", "xfail_strict"}
    assert not any(p.stat().st_size > 100_000 for p in CORPUS.iterdir()), "commit no big file"


def test_the_ten_mb_line_is_over_the_limit() -> None:
    from prematch.engine.io import MAX_LINE_BYTES

    assert TEN_MB > MAX_LINE_BYTES


def test_unknown_action_is_a_usage_error(db: Path) -> None:
    """`prematch check foo P`: exit 2, names the action, no traceback, nothing written."""
    before = settled_db_files(db)
    proc = run(db, "check", "foo", "p1")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "foo" in proc.stderr
    assert db_files(db) == before


def test_a_good_import_after_bad_ones_still_works(db: Path, tmp_path: Path) -> None:
    """The control: the same store takes a well-formed file (the corpus season, fixed)."""
    good = tmp_path / "good.jsonl"
    added = {"type": "program_added", "program": "p1", "at": "2026-09-21T10:00:00-04:00"}
    good.write_text(
        json.dumps(CORPUS_SEASON) + "\n" + json.dumps({**added, "name": "P1"}) + "\n",
        encoding="utf-8",
    )
    for name in ("broken_json.jsonl", "non_utf8.jsonl", "late_error.jsonl"):
        assert run(db, "import", str(CORPUS / name)).returncode == 2
    proc = run(db, "import", str(good))
    assert proc.returncode == 0, proc.stderr
    assert "Imported 2 events" in proc.stdout
    assert run(db, "verify").returncode == 0


def test_broken_json_names_the_real_column(db: Path) -> None:
    bad = (CORPUS / "broken_json.jsonl").read_text(encoding="utf-8").splitlines()[1]
    proc = run(db, "import", str(CORPUS / "broken_json.jsonl"))
    assert proc.returncode == 2
    assert f"column {len(bad) + 1}" in proc.stderr, proc.stderr
