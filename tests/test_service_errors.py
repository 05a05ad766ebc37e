"""Errors fit for a service (issue 17 item 5): a stable code on every error, ``to_json``,
no command-line advice, file paths or other seasons' ids in the library's messages (the CLI
adds its advice), and the library's own input error for arguments of the wrong type."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from history import History
from prematch_script import Script

from prematch.engine import (
    InputError,
    IntegrityError,
    NoRules,
    PolicyRefusal,
    PrematchError,
    Season,
    Store,
    StoreBusyError,
    StoreError,
    StoreReadonlyError,
    StructuralError,
    UnknownProgramError,
    UnknownSeasonError,
)

NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)


def _season(store: Store | None = None, season_id: str = "svc-2027") -> Season:
    return History(season_id=season_id).added_and_applied("mercy").season(store, now=NOW_UTC)


def _raised(run: Callable[[], object]) -> PrematchError:
    with pytest.raises(PrematchError) as caught:
        run()
    return caught.value


def test_every_error_class_has_its_code() -> None:
    assert {
        cls.__name__: cls.code
        for cls in (
            PrematchError,
            InputError,
            UnknownSeasonError,
            UnknownProgramError,
            StructuralError,
            PolicyRefusal,
            StoreError,
            StoreBusyError,
            StoreReadonlyError,
            IntegrityError,
        )
    } == {
        "PrematchError": "error",
        "InputError": "input.invalid",
        "UnknownSeasonError": "season.unknown",
        "UnknownProgramError": "program.unknown",
        "StructuralError": "state.invalid",
        "PolicyRefusal": "policy.blocked",
        "StoreError": "store.error",
        "StoreBusyError": "store.busy",
        "StoreReadonlyError": "store.readonly",
        "IntegrityError": "store.integrity",
    }


def test_errors_a_service_meets_carry_codes_and_json() -> None:
    season = _season()
    invalid = _raised(lambda: season.record("interviewed", "mercy", at="2026-10-02"))
    assert invalid.code == "state.invalid"
    unknown = _raised(lambda: season.record("applied", "nowhere", at="2026-10-02"))
    assert unknown.code == "program.unknown"
    assert "prematch" not in str(unknown)
    shape = unknown.to_json()
    assert shape == {
        "code": "program.unknown",
        "message": unknown.message,
        "seq": shape["seq"],
        "line": None,
        "field": "program",
    }
    json.dumps(shape)


def test_a_refusal_to_json_has_its_findings() -> None:
    season = History(season_id="svc-2027").applied("mercy").season(now=NOW_UTC)
    season.record("inquiry_sent", "mercy", at="2026-10-20T10:00:00-04:00", override="test")
    refused = _raised(
        lambda: season.record("inquiry_sent", "mercy", at="2026-10-21T10:00:00-04:00")
    )
    assert isinstance(refused, PolicyRefusal)
    shape = refused.to_json()
    assert shape["code"] == "policy.blocked"
    assert shape["findings"] and all(f["severity"] for f in shape["findings"])
    assert shape["findings"] == [f.to_json() for f in refused.findings]
    json.dumps(shape)


def test_an_unknown_season_names_no_other_season_and_no_file(tmp_path: Path) -> None:
    db = tmp_path / "secret-folder" / "s.db"
    with Store.open(db) as store:
        _season(store, "alice-2027")
        _season(store, "bob-2027")
        error = _raised(lambda: Season.open(store, "carol-2027", rulebook=NoRules()))
    assert isinstance(error, UnknownSeasonError)
    assert error.code == "season.unknown" and error.season == "carol-2027"
    text = json.dumps(error.to_json())
    for secret in ("alice", "bob", "secret-folder", "prematch init"):
        assert secret not in text
    empty = _raised(lambda: Season.open(Store.memory(), rulebook=NoRules()))
    assert isinstance(empty, UnknownSeasonError)


def test_store_errors_keep_the_path_out_of_the_message(tmp_path: Path) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    missing = _raised(lambda: Store.open(folder / "none.db", readonly=True))
    assert missing.code == "store.missing"
    directory = _raised(lambda: Store.open(folder))
    assert directory.code == "store.directory"
    (folder / "notes.txt").write_text("not a database\n" * 100)
    notadb = _raised(lambda: Store.open(folder / "notes.txt"))
    assert notadb.code == "store.integrity"
    with sqlite3.connect(folder / "other.db") as conn:
        conn.execute("CREATE TABLE x (a)")
    other = _raised(lambda: Store.open(folder / "other.db"))
    assert other.code == "store.integrity"
    for error in (missing, directory, notadb, other):
        assert isinstance(error, StoreError)
        assert error.path is not None and error.path.startswith(str(folder))
        assert "private" not in str(error) and "--db" not in str(error)
        assert "prematch init" not in str(error)


WRONG_TYPES: dict[str, Callable[[Season], object]] = {
    "record(None)": lambda s: s.record(None, "mercy"),  # type: ignore[arg-type]
    "record at=date": lambda s: s.record("invited", "mercy", at=dt.date(2026, 10, 1)),  # type: ignore[arg-type]
    "record at=number": lambda s: s.record("invited", "mercy", at=5),  # type: ignore[arg-type]
    "retract('5')": lambda s: s.retract("5", "typo"),  # type: ignore[arg-type]
    "retract(True)": lambda s: s.retract(True, "typo"),
    "check(None)": lambda s: s.check(None, "mercy"),  # type: ignore[arg-type]
    "check at=date": lambda s: s.check("thank_you", "mercy", at=dt.date(2026, 10, 1)),  # type: ignore[arg-type]
    "state at=date": lambda s: s.state(at=dt.date(2026, 10, 1)),  # type: ignore[arg-type]
    "what_now at=date": lambda s: s.what_now(at=dt.date(2026, 10, 1)),  # type: ignore[arg-type]
    "history at=date": lambda s: s.history(at=dt.date(2026, 10, 1)),  # type: ignore[arg-type]
    "certify(text)": lambda s: s.certify("mercy"),
    "certify(None)": lambda s: s.certify(None),  # type: ignore[arg-type]
    "preview(None)": lambda s: s.preview(None),  # type: ignore[arg-type]
    "preview at=date": lambda s: s.preview(
        [{"type": "invited", "program": "mercy", "at": dt.date(2026, 10, 1)}]
    ),
    "open(5)": lambda s: Season.open(s.store, 5, rulebook=NoRules()),  # type: ignore[arg-type]
    "Store.open(None)": lambda s: Store.open(None),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("call", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_argument_types_raise_the_input_error(call: Callable[[Season], Any]) -> None:
    season = _season()
    error = _raised(lambda: call(season))
    assert type(error) is InputError
    assert error.code == "input.invalid"


def test_retract_of_text_says_the_seq_must_be_an_integer() -> None:
    error = _raised(lambda: _season().retract("5", "typo"))  # type: ignore[arg-type]
    assert "must be an integer" in str(error) and error.field == "seq"


def test_the_cli_adds_its_advice(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    script = Script(tmp_path, db=db)
    missing = script("history")
    assert missing.returncode == 2
    assert str(db) in missing.stderr and "prematch init" in missing.stderr
    with Store.open(db) as store:
        _season(store, "alice-2027")
    unknown = script("--season", "carol-2027", "history")
    assert unknown.returncode == 2
    assert "alice-2027" in unknown.stderr and str(db) in unknown.stderr
    program = script("log", "applied", "nowhere")
    assert program.returncode == 2 and "prematch program add" in program.stderr
    folder = Script(tmp_path, db=tmp_path)("history")
    assert folder.returncode == 2 and "--db needs a database file path" in folder.stderr
