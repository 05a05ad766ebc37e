"""What a SQLite store file does beyond the recorder promises (DESIGN §7), and what a
memory store does where a file would be named.

The promises every backend keeps (appends, seq, stream versions, the chain, verify,
heads, atomic writes, reads) are checked on each backend by ``test_recorder.py``.
Here: the file's mode and WAL, the append-only triggers, the unique (stream, version)
index, and refusing to open what is not a prematch store of this format.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from history import FIVE_EVENTS as EVENTS
from history import History

from prematch import policies
from prematch.engine import (
    IntegrityError,
    NoRules,
    Season,
    Store,
    StoreBusyError,
    StoreError,
    UnknownSeasonError,
    audit_store,
)

NOW = "2027-01-01T00:00:00.000000+00:00"


class SqliteFileBackend:
    """Stores in real SQLite files under one directory; ``raw`` goes behind the engine's
    back with plain ``sqlite3``."""

    def __init__(self, root: Path):
        self.root = root
        self._opened: list[Store] = []

    def path(self, name: str = "season.db") -> Path:
        return self.root / name

    def __call__(self, name: str = "season.db") -> Store:
        store = Store.open(self.path(name))
        self._opened.append(store)
        return store

    @contextlib.contextmanager
    def raw(self, name: str = "season.db") -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path(name))
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()

    def close(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[SqliteFileBackend]:
    backend = SqliteFileBackend(tmp_path)
    yield backend
    backend.close()


def _filled(make_store, season_of, clock) -> Store:
    store = make_store()
    season_of(store, EVENTS, clock)
    return store


def _rows(make_store) -> list[tuple[object, ...]]:
    with make_store.raw() as conn:
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


# -- the file ------------------------------------------------------------------------------


def test_new_store_file_is_readable_by_its_owner_only(make_store, season_of, clock):
    store = make_store()
    assert stat.S_IMODE(make_store.path().stat().st_mode) == 0o600

    season_of(store, EVENTS[:1], clock)
    wal = Path(f"{make_store.path()}-wal")
    assert wal.exists()
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_store_uses_write_ahead_logging(make_store):
    make_store()
    with make_store.raw() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_without_create_refuses_a_missing_file_and_creates_nothing(make_store):
    with pytest.raises(StoreError, match="no prematch store") as excinfo:
        Store.open(make_store.path("missing.db"), create=False)
    assert excinfo.value.code == "store.missing"
    assert not make_store.path("missing.db").exists()


def test_a_read_left_unfinished_ends_quietly_after_the_store_closed(
    make_store, season_of, clock, monkeypatch
):
    """An embedder's loop over ``records()`` that breaks, its store closed before the
    iterator is collected: collecting it raised "Cannot operate on a closed database",
    which Python printed (often as the program exited)."""
    store = _filled(make_store, season_of, clock)
    records = store.records()
    assert next(records).seq == 1
    store.close()
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    del records
    gc.collect()
    assert unraisable == []


# -- append-only ---------------------------------------------------------------------------


def test_update_behind_the_engines_back_is_refused(make_store, season_of, clock):
    _filled(make_store, season_of, clock)
    before = _rows(make_store)
    with make_store.raw() as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET payload = ? WHERE seq = 2", ('{"name":"Evil IM"}',))
    assert _rows(make_store) == before


def test_delete_behind_the_engines_back_is_refused(make_store, season_of, clock):
    _filled(make_store, season_of, clock)
    before = _rows(make_store)
    with make_store.raw() as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events WHERE seq = 3")
    assert _rows(make_store) == before


def test_a_second_row_with_the_same_stream_version_is_refused_by_the_index(
    make_store, season_of, clock
):
    store = _filled(make_store, season_of, clock)
    with make_store.raw() as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM events WHERE seq = 3").fetchone())
        columns = list(row)
        row["seq"] = 99  # a new row that claims the same (stream, version) as seq 3
        marks = ", ".join("?" for _ in columns)
        with pytest.raises(sqlite3.IntegrityError, match=r"events\.stream, events\.version"):
            conn.execute(
                f"INSERT INTO events ({', '.join(columns)}) VALUES ({marks})",
                [row[c] for c in columns],
            )
    assert store.verify() == (6, None)


def test_an_append_refused_by_a_trigger_is_a_store_error_naming_the_file(make_store):
    # The file is named by the error's path (issue 17: no file paths in library messages).
    store = make_store()
    with make_store.raw() as conn:
        conn.execute(
            "CREATE TRIGGER no_inserts BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'no more events'); END"
        )
    with pytest.raises(StoreError, match="no more events") as excinfo:
        History(season_id="refused-2027", name="Refused").season(store, rulebook=NoRules())
    assert excinfo.value.path == str(make_store.path())
    assert str(make_store.path()) not in str(excinfo.value)
    assert store.verify() == (0, None)


# -- opening what is not a prematch store --------------------------------------------------


def test_open_refuses_a_directory(make_store):
    make_store.path("a-directory").mkdir()
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(make_store.path("a-directory"))


def test_open_refuses_a_file_that_is_not_sqlite_and_leaves_it_alone(make_store):
    garbage = b"these are my notes, not a database\n" * 64
    make_store.path("notes.txt").write_bytes(garbage)
    with pytest.raises(IntegrityError, match="not a SQLite database"):
        Store.open(make_store.path("notes.txt"))
    assert make_store.path("notes.txt").read_bytes() == garbage


def test_open_refuses_a_sqlite_file_of_another_program(make_store):
    with make_store.raw("other.db") as conn:
        conn.execute("CREATE TABLE patients (name TEXT)")
        conn.execute("INSERT INTO patients VALUES ('x')")
    before = make_store.path("other.db").read_bytes()

    with pytest.raises(IntegrityError, match="not a prematch store"):
        Store.open(make_store.path("other.db"))

    assert make_store.path("other.db").read_bytes() == before
    with make_store.raw("other.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["patients"]


def test_open_refuses_a_store_of_a_newer_format(make_store, season_of, clock):
    store = _filled(make_store, season_of, clock)  # written by this prematch...
    store.close()
    with make_store.raw() as conn:
        conn.execute("PRAGMA user_version = 99")  # ...then touched by a future one

    with pytest.raises(IntegrityError, match="newer prematch") as excinfo:
        Store.open(make_store.path())
    assert "99" in str(excinfo.value)


# -- a memory store ------------------------------------------------------------------------


def test_messages_about_a_memory_store_name_it_readably():
    store = Store.memory()
    assert store.path == "the in-memory store"
    with pytest.raises(UnknownSeasonError, match="the store holds no season yet"):
        Season.open(store, rulebook=NoRules())


def test_a_memory_store_is_audited_in_this_process_whatever_the_jobs(season_of, clock):
    store = Store.memory()
    for season_id in ("b-2027", "a-2027"):
        season_of(store, EVENTS, clock, season_id=season_id)
    rulebook = policies.Rulebook()
    one = list(audit_store(store, rulebook, jobs=1))
    assert [r.season for r in one] == ["a-2027", "b-2027"]
    assert list(audit_store(store, rulebook, jobs=4)) == one


def test_a_memory_store_refuses_a_write_inside_a_write():
    store = Store.memory()
    with (
        store.write(NOW),
        pytest.raises(StoreError, match="within a transaction"),
        store.write(NOW),
    ):
        pass


def test_a_memory_store_write_waits_for_another_threads_then_fails_clearly():
    store = Store.memory(busy_timeout=0.2)
    failed: list[BaseException] = []

    def second_writer() -> None:
        try:
            with store.write(NOW):
                pass
        except StoreBusyError as e:
            failed.append(e)

    with store.write(NOW):
        other = threading.Thread(target=second_writer)
        other.start()
        other.join(timeout=60)
    assert len(failed) == 1
    assert "the in-memory store is locked by another thread (waited 0.2 s)" in str(failed[0])


@pytest.mark.parametrize("season", [None, "im-2027"])
def test_opening_a_season_reads_no_list_of_seasons(
    make_store, season_of, clock, season, monkeypatch
):
    """`prematch now` opens one season by a lookup (an index), never by listing every
    season of the file (that cost 53 ms at 10,000 seasons, on every command)."""
    store = make_store()
    season_of(store, EVENTS, clock)

    def listing() -> list[str]:
        raise AssertionError("Season.open listed every season")

    monkeypatch.setattr(store, "seasons", listing)
    assert Season.open(store, season, rulebook=NoRules(), clock=clock).id == "im-2027"
