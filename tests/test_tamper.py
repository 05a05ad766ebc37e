"""Changes made behind the engine's back are found and named (issue 5, DESIGN §7).

Each test takes a store of ten events, each written by its own commit (so every event
has a row in ``heads``), drops the append-only triggers with plain ``sqlite3`` the way a
hand edit would, changes the rows, and asks ``Store.verify()`` and ``prematch verify``
for the first bad seq and what is wrong with it: ``edited``, ``deleted``, ``inserted`` or
``reordered``. In process: ``prematch verify`` through :class:`prematch_script.Script`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from history import History
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prematch_script import Ran, Script

from prematch.engine import NoRules, Store, StoreError, Tamper, _chain
from prematch.engine import _store as engine_store
from prematch.engine._chain import link_hash
from prematch.engine._records import canonical_json

NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
EVENTS = 10

COLUMNS = "seq, season, program, type, schema_version, occurred_at, recorded_at, payload, override"
ALL = f"{COLUMNS}, hash, stream, version"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """seq 1 season_started, seq 2..10 news "n2".."n10", one commit (and head) each."""
    db = tmp_path_factory.mktemp("tamper") / "template.db"
    with Store.open(db) as store:
        season = History(season_id="tamper-2027", name="Tamper Applicant").season(
            store, rulebook=NoRules(), now=NOW_UTC
        )
        for seq in range(2, EVENTS + 1):
            season.record(
                "news_recorded",
                at=f"2026-10-{seq:02d}T10:00:00-04:00",
                kind="other",
                detail=f"n{seq}",
            )
    with Store.open(db, create=False) as store:
        assert store.verify() == (EVENTS, None)
    return db


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    path = tmp_path / "s.db"
    shutil.copy(template, path)
    return path


@pytest.fixture
def raw(db: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection with the events triggers dropped (a hand edit)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    yield conn
    conn.close()


def row(conn: sqlite3.Connection, seq: int) -> tuple[Any, ...]:
    found: tuple[Any, ...] = conn.execute(
        f"SELECT {ALL} FROM events WHERE seq = ?", (seq,)
    ).fetchone()
    return found


def hashed_fields(stored: tuple[Any, ...]) -> dict[str, Any]:
    """The fields the chain hash covers, from a stored row (as verify reads them)."""
    seq, season, program, kind, version, occurred, recorded, payload, override = stored[:9]
    return {
        "seq": seq,
        "season": season,
        "program": program,
        "type": kind,
        "schema_version": version,
        "occurred_at": occurred,
        "recorded_at": recorded,
        "payload": json.loads(payload),
        "override": override,
    }


def chain_hash(previous: str, fields: dict[str, Any]) -> str:
    """The hash verify expects for ``fields`` after ``previous`` (canonical JSON of the dict)."""
    return link_hash(previous, canonical_json(fields))


def insert(conn: sqlite3.Connection, values: tuple[Any, ...]) -> None:
    conn.execute(f"INSERT INTO events ({ALL}) VALUES ({', '.join('?' * 12)})", values)


def rehash(conn: sqlite3.Connection, seq: int) -> None:
    """Recompute the hash of ``seq`` correctly from its (edited) content and predecessor."""
    previous = conn.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()[0]
    digest = chain_hash(previous, hashed_fields(row(conn, seq)))
    conn.execute("UPDATE events SET hash = ? WHERE seq = ?", (digest, seq))


@contextlib.contextmanager
def spans_checked() -> Iterator[list[bool]]:
    """Whether each span a verify gave to its worker processes held, as they said."""
    held: list[bool] = []
    checked = engine_store._spans_in_processes

    def spy(*args: Any) -> Iterator[tuple[int, bool]]:
        for result in checked(*args):
            held.append(result[1])
            yield result

    with mock.patch.object(engine_store, "_spans_in_processes", spy):
        yield held


def verify(db: Path) -> tuple[int, Tamper | None]:
    """``Store.verify()`` in one process; in Python alone (without the compiled quick
    pass), and checked in spans by worker processes (as ``verify --jobs`` on a large
    store), it gives the same verdict (and on an intact store, every worker found its span
    intact)."""
    with Store.open(db, create=False) as store:
        verdict = store.verify()
        with mock.patch.object(_chain, "_skip_holding", None):
            assert store.verify() == verdict, "in Python"
        for jobs in (3, 4):
            with spans_checked() as held, mock.patch.object(engine_store, "EVENTS_PER_SPAN", 1):
                assert store.verify(jobs=jobs) == verdict, f"{jobs} spans"
            assert not verdict.ok or (held and all(held)), held  # intact: the workers said so
        return verdict


def cli_verify(db: Path) -> tuple[Ran, dict[str, Any]]:
    script = Script(db.parent, db=db)
    text, as_json = script("verify"), script("verify", "--json")
    assert as_json.returncode == text.returncode
    return text, json.loads(as_json.stdout)


def assert_found(db: Path, seq: int, kind: str, detail: str | None = None) -> Tamper:
    """Library and CLI both name ``seq`` and ``kind``; ``prematch verify`` exits 1."""
    _, problem = verify(db)
    assert problem is not None, "tampering went unnoticed"
    assert (problem.seq, problem.kind) == (seq, kind), problem
    if detail is not None:
        assert detail in problem.detail, problem
    text, doc = cli_verify(db)
    assert text.returncode == 1, text.stdout + text.stderr
    assert re.search(rf"\bseq {seq}\b", text.stdout), text.stdout
    assert kind in text.stdout, text.stdout
    assert doc["ok"] is False
    assert (doc["problem"]["seq"], doc["problem"]["kind"]) == (seq, kind), doc
    return problem


def test_untouched_store_verifies(db: Path) -> None:
    assert verify(db) == (EVENTS, None)
    text, doc = cli_verify(db)
    assert text.returncode == 0
    with Store.open(db, create=False) as store:
        seq, digest = store.head()
    assert doc == {"events": EVENTS, "ok": True, "problem": None, "head": f"{seq}:{digest}"}


def test_triggers_refuse_edits_and_deletes(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET payload = '{}' WHERE seq = 5")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events WHERE seq = 5")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM heads WHERE seq = 5")
    finally:
        conn.close()
    assert verify(db) == (EVENTS, None)


def test_edited_payload(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("UPDATE events SET payload = replace(payload, 'n5', 'n5!') WHERE seq = 5")
    assert_found(db, 5, "edited")


def test_a_copy_of_an_edited_store_fails_and_leaves_no_file(
    db: Path, raw: sqlite3.Connection
) -> None:
    raw.execute("UPDATE events SET payload = replace(payload, 'n5', 'n5!') WHERE seq = 5")
    before = sorted(p.name for p in db.parent.iterdir())
    ran = Script(db.parent, db=db)("copy", "--from", str(db), "--to", "new/copy.db", code=2)
    said = ran.stderr.strip()
    assert said.startswith(f"error: {db}: its events do not give the hashes it holds from seq 5 on")
    assert said.endswith(f"(`prematch --db {db} verify` says what is wrong)")  # no --db advice
    # Nor its sidecars (the write-ahead log, the writers' queue) or the folder it made.
    assert sorted(p.name for p in db.parent.iterdir()) == before


def test_edited_occurred_at(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("UPDATE events SET occurred_at = '2026-10-04T14:00:00.000000+00:00' WHERE seq = 7")
    assert_found(db, 7, "edited")


def test_payload_that_is_no_longer_json(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("UPDATE events SET payload = '{not json' WHERE seq = 4")
    assert_found(db, 4, "edited")


def test_text_that_is_not_utf8_is_named_and_other_commands_say_to_verify(
    db: Path, raw: sqlite3.Connection
) -> None:
    """prematch writes only UTF-8; bytes that are not (a hand edit) stop no check: verify
    names the event (and checks on past it), and a command that reads it says what
    happened instead of a decoding error."""
    raw.execute("UPDATE events SET program = CAST(x'eda080ff' AS TEXT) WHERE seq = 4")
    assert_found(db, 4, "edited", "bytes, not UTF-8 text")
    with Store.open(db, create=False) as store, pytest.raises(StoreError) as caught:
        store.season_records("tamper-2027")
    assert caught.value.code == "store.tampered"
    ran = Script(db.parent, db=db)("history")
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert "not UTF-8" in ran.stderr and "`prematch verify` names the event" in ran.stderr
    # The real process says that one line and nothing as it exits (a read left unfinished
    # once closed its cursor on the closed store, and Python printed what that raised).
    prematch = Path(sys.executable).parent / "prematch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREMATCH_")}
    for command in (["audit", "--all"], ["history"], ["verify"]):
        proc = subprocess.run(
            [str(prematch), "--db", str(db), *command],
            capture_output=True,
            text=True,
            env={**env, "NO_COLOR": "1"},
            timeout=120,
        )
        said = proc.stderr.splitlines()
        if command == ["verify"]:
            assert proc.returncode == 1 and said == [], proc.stderr
        else:
            assert proc.returncode == 2 and len(said) == 1, proc.stderr
            assert said[0].startswith("error: ") and "not UTF-8" in said[0]


def test_a_later_edit_is_found_past_text_that_is_not_utf8(
    db: Path, raw: sqlite3.Connection
) -> None:
    """The read goes on after the undecodable row: with that row's hash forged to match
    nothing else, a span check past it still meets the next problem in order."""
    raw.execute("UPDATE events SET season = CAST(x'ff' AS TEXT) WHERE seq = 3")
    raw.execute("UPDATE events SET payload = replace(payload, 'n7', 'm7') WHERE seq = 7")
    assert_found(db, 3, "edited", "bytes, not UTF-8 text")
    with Store.open(db, create=False) as store, store._recorder.snapshot() as snapshot:
        assert [row[0] for row in snapshot.chained()] == list(range(1, EVENTS + 1))
        assert isinstance(next(snapshot.chained(3, 3))[1], bytes)


def test_a_noted_head_that_is_not_utf8_is_named(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("DROP TRIGGER heads_no_update")
    raw.execute("UPDATE heads SET hash = CAST(x'ff' AS TEXT) WHERE seq = 6")
    assert_found(db, 6, "edited", "its hash was rewritten after commit")


def test_deleted_middle_row(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM events WHERE seq = 5")
    _, problem = verify(db)
    assert problem is not None and problem.kind == "deleted", problem
    # The first missing region is named; the seq reported is the gap or the row after it.
    assert problem.seq in (5, 6), problem
    assert "5..5" in problem.detail, problem
    text, doc = cli_verify(db)
    assert text.returncode == 1
    assert "deleted" in text.stdout and "5..5" in text.stdout, text.stdout
    assert doc["problem"]["kind"] == "deleted"


def test_deleted_run_of_rows_names_the_whole_region(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM events WHERE seq IN (4, 5, 6)")
    _, problem = verify(db)
    assert problem is not None and problem.kind == "deleted", problem
    assert "4..6" in problem.detail, problem


def test_deleted_last_row(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute(f"DELETE FROM events WHERE seq = {EVENTS}")
    assert_found(db, EVENTS, "deleted", f"{EVENTS}..{EVENTS}")


def test_deleted_last_row_and_its_head_is_caught_against_a_noted_head(
    db: Path, raw: sqlite3.Connection
) -> None:
    with Store.open(db) as store:
        noted = store.head()
    raw.execute("DROP TRIGGER heads_no_delete")
    raw.execute(f"DELETE FROM events WHERE seq = {EVENTS}")
    raw.execute(f"DELETE FROM heads WHERE seq = {EVENTS}")
    with Store.open(db) as store:
        # The chain alone is consistent again: only the dropped guards show (issue 19) ...
        alone = store.verify()[1]
        assert alone is not None and alone.kind == "unguarded", alone
        # ... and the noted head tells what happened.
        _, problem = store.verify(noted)
    assert problem is not None and (problem.seq, problem.kind) == (EVENTS, "deleted")
    cli = Script(db.parent, db=db)("verify", "--head", f"{noted[0]}:{noted[1]}")
    assert cli.returncode == 1 and f"seq {EVENTS}" in cli.stdout, cli.stdout


def test_deleted_rows_then_renumbered_to_hide_the_gap(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("DELETE FROM events WHERE seq = 5")
    raw.execute("UPDATE events SET seq = -seq WHERE seq > 5")
    raw.execute("UPDATE events SET seq = -seq - 1 WHERE seq < 0")
    _, problem = verify(db)
    assert problem is not None and problem.kind == "deleted", problem
    assert problem.seq == 5, problem


def test_row_inserted_at_the_end_with_made_up_hash(db: Path, raw: sqlite3.Connection) -> None:
    last = row(raw, EVENTS)
    forged = (EVENTS + 1, *last[1:7], '{"detail":"forged","kind":"other"}', None, "f" * 64)
    insert(raw, (*forged, last[10], last[11] + 1))
    assert_found(db, EVENTS + 1, "inserted")


def test_row_inserted_at_the_end_with_chained_hash(db: Path, raw: sqlite3.Connection) -> None:
    last = row(raw, EVENTS)
    fields = {**hashed_fields(last), "seq": EVENTS + 1, "payload": {"detail": "x", "kind": "other"}}
    digest = chain_hash(last[9], fields)
    values = (EVENTS + 1, *last[1:7], '{"detail":"x","kind":"other"}', None, digest)
    insert(raw, (*values, last[10], last[11] + 1))
    assert_found(db, EVENTS + 1, "inserted")


@pytest.mark.parametrize("k", [2, 5, EVENTS])
def test_rows_renumbered_to_make_room_for_an_inserted_one(
    db: Path, raw: sqlite3.Connection, k: int
) -> None:
    raw.execute("UPDATE events SET seq = -seq WHERE seq >= ?", (k,))
    raw.execute("UPDATE events SET seq = 1 - seq WHERE seq < 0")
    model = row(raw, k - 1)
    values = (k, *model[1:7], '{"detail":"forged","kind":"other"}', None, "a" * 64)
    insert(raw, (*values, model[10], 10_000))
    assert_found(db, k, "inserted")


@pytest.mark.parametrize("first", [2, 5, EVENTS - 1])
def test_two_adjacent_rows_swapped(db: Path, raw: sqlite3.Connection, first: int) -> None:
    raw.execute("UPDATE events SET seq = -1 WHERE seq = ?", (first,))
    raw.execute("UPDATE events SET seq = ? WHERE seq = ?", (first, first + 1))
    raw.execute("UPDATE events SET seq = ? WHERE seq = -1", (first + 1,))
    assert_found(db, first, "reordered")


def test_last_row_edited_and_rehashed_is_caught_by_heads(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("UPDATE events SET payload = replace(payload, 'n10', 'n10!') WHERE seq = 10")
    rehash(raw, EVENTS)
    assert_found(db, EVENTS, "edited")


def test_middle_row_edited_and_rehashed_is_named(db: Path, raw: sqlite3.Connection) -> None:
    raw.execute("UPDATE events SET payload = replace(payload, 'n5', 'n5!') WHERE seq = 5")
    rehash(raw, 5)
    assert_found(db, 5, "edited")


def test_middle_row_edited_and_rehashed_is_still_detected(
    db: Path, raw: sqlite3.Connection
) -> None:
    """Whatever seq it names, verify does not pass a rehashed edit in the middle."""
    raw.execute("UPDATE events SET payload = replace(payload, 'n5', 'n5!') WHERE seq = 5")
    rehash(raw, 5)
    _, problem = verify(db)
    assert problem is not None and problem.kind == "edited", problem
    text, _ = cli_verify(db)
    assert text.returncode == 1


def test_verify_jobs_checks_spans_of_a_large_store_at_once(
    db: Path, raw: sqlite3.Connection
) -> None:
    from prematch.engine import verify_jobs

    assert verify_jobs(1_000_000, cpus=2) == 2
    assert verify_jobs(150_000, cpus=8) == 1  # a span of fewer events than a process costs
    raw.execute("UPDATE events SET payload = replace(payload, 'n8', 'n8?') WHERE seq = 8")
    with mock.patch.object(engine_store, "EVENTS_PER_SPAN", 1):
        ran = Script(db.parent, db=db)("verify", "--jobs", "3", "--json")
    assert ran.returncode == 1
    assert json.loads(ran.stdout)["problem"]["seq"] == 8


_CHANGES = st.lists(
    st.one_of(
        st.tuples(st.just("delete"), st.integers(1, EVENTS)),
        st.tuples(st.just("edit"), st.integers(1, EVENTS)),
        st.tuples(st.just("rehash"), st.integers(2, EVENTS)),
        st.tuples(st.just("respace"), st.integers(1, EVENTS)),
        st.tuples(st.just("swap"), st.integers(1, EVENTS - 1)),
        st.tuples(st.just("forge"), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=_CHANGES, jobs=st.integers(2, 6))
def test_spans_give_a_single_pass_verdict_whatever_was_changed(
    template: Path, tmp_path: Path, changes: list[tuple[str, int]], jobs: int
) -> None:
    """Any mix of hand edits (an edited or rehashed row, one re-spaced as other JSON,
    deleted, swapped or forged rows): checked in spans, the store gets the one verdict,
    seq and kind a single pass names."""
    db = tmp_path / f"h{abs(hash((tuple(changes), jobs)))}.db"
    shutil.copy(template, db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for change, k in changes:
        if change == "delete":
            conn.execute("DELETE FROM events WHERE seq = ?", (k,))
        elif change == "edit":
            conn.execute(
                "UPDATE events SET payload = replace(payload, 'n', 'm') WHERE seq = ?", (k,)
            )
        elif change == "rehash" and conn.execute(
            "SELECT 1 FROM events WHERE seq IN (?, ?)", (k - 1, k)
        ).fetchall() == [(1,), (1,)]:
            rehash(conn, k)
        elif change == "respace":
            conn.execute(
                "UPDATE events SET payload = replace(payload, ',', ', ') WHERE seq = ?", (k,)
            )
        elif change == "swap":
            conn.execute("UPDATE events SET seq = -1 WHERE seq = ?", (k,))
            conn.execute("UPDATE events SET seq = ? WHERE seq = ?", (k, k + 1))
            conn.execute("UPDATE events SET seq = ? WHERE seq = -1", (k + 1,))
        elif change == "forge":
            top = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
            model = row(conn, top) if top else None
            if model is not None:
                values = (top + k, *model[1:7], '{"detail":"x","kind":"other"}', None, "b" * 64)
                insert(conn, (*values, model[10], 10_000 + top + k))
    conn.close()
    with Store.open(db, create=False, readonly=True) as store:
        single = store.verify()
        with mock.patch.object(_chain, "_skip_holding", None):
            assert store.verify() == single, "in Python"
        with mock.patch.object(engine_store, "EVENTS_PER_SPAN", 1):
            assert store.verify(jobs=jobs) == single
