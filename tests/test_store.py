"""The store conformance suite (DESIGN §7): one set of tests, run against every backend.

A backend is a ``make_store`` factory: calling it opens a store, ``.path(name)`` is
where that store lives, and ``.raw(name)`` is a connection that goes behind the
engine's back (to tamper with the log the way a user with ``sqlite3`` could).
Today there is one backend, the SQLite file; another is added to ``BACKENDS``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prematch.engine import IntegrityError, NoRules, Season, Store, StoreError, Tamper

EVENTS = [
    ("program_added", "mercy", "2026-09-21", {"name": "Mercy IM"}),
    ("applied", "mercy", "2026-09-22", {}),
    ("invited", "mercy", "2026-10-01", {"interview_on": "2026-10-20"}),
    ("interviewed", "mercy", "2026-10-20T09:00:00-04:00", {}),
    ("thanked", "mercy", "2026-10-21T09:00:00-04:00", {}),
]
"""Five events after season_started: a store holding them has seq 1..6."""


class SqliteFileBackend:
    """Stores in real SQLite files under one directory; tampering goes through ``sqlite3``."""

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


BACKENDS: dict[str, Callable[[Path], SqliteFileBackend]] = {"sqlite-file": SqliteFileBackend}


@pytest.fixture(params=sorted(BACKENDS))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteFileBackend]:
    backend = BACKENDS[request.param](tmp_path)
    yield backend
    backend.close()


def _filled(make_store, season_of, clock) -> Store:
    store = make_store()
    season_of(store, EVENTS, clock)
    return store


class StoreConformance:
    """What every prematch store backend must do."""

    __test__ = True

    # -- the file ------------------------------------------------------------------------

    def test_new_store_file_is_readable_by_its_owner_only(self, make_store, season_of, clock):
        store = make_store()
        assert stat.S_IMODE(make_store.path().stat().st_mode) == 0o600

        season_of(store, EVENTS[:1], clock)
        wal = Path(f"{make_store.path()}-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600

    def test_store_uses_write_ahead_logging(self, make_store):
        make_store()
        with make_store.raw() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_open_without_create_refuses_a_missing_file_and_creates_nothing(self, make_store):
        with pytest.raises(StoreError, match="no prematch database"):
            Store.open(make_store.path("missing.db"), create=False)
        assert not make_store.path("missing.db").exists()

    # -- appending -----------------------------------------------------------------------

    def test_seq_is_global_and_gapless_across_seasons(self, make_store, season_of, clock):
        store = make_store()
        first = season_of(store, EVENTS[:2], clock, season_id="first")
        second = season_of(store, EVENTS[:3], clock, season_id="second")
        first.record("invited", "mercy", at="2026-10-02")

        assert [r.seq for r in store.rows()] == list(range(1, 3 + 4 + 2))
        assert [r.seq for r in first.records()] == [1, 2, 3, 8]
        assert [r.seq for r in second.records()] == [4, 5, 6, 7]

    def test_several_seasons_live_in_one_file(self, make_store, season_of, clock):
        store = make_store()
        season_of(store, EVENTS, clock, season_id="amira-2027")
        season_of(store, EVENTS[:2], clock, season_id="bilal-2027")
        store.close()

        reopened = make_store()
        assert reopened.seasons() == ["amira-2027", "bilal-2027"]
        amira = Season.open(reopened, "amira-2027", rulebook=NoRules(), clock=clock)
        bilal = Season.open(reopened, rulebook=NoRules(), clock=clock)  # the most recent one
        assert bilal.id == "bilal-2027"
        assert amira.state().programs["mercy"].state == "interviewed"
        assert bilal.state().programs["mercy"].state == "applied"
        assert {r.season for r in reopened.season_records("bilal-2027")} == {"bilal-2027"}

    # -- append-only ---------------------------------------------------------------------

    def test_update_behind_the_engines_back_is_refused(self, make_store, season_of, clock):
        store = _filled(make_store, season_of, clock)
        before = list(store.raw_rows())
        with make_store.raw() as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE events SET payload = ? WHERE seq = 2", ('{"name":"Evil IM"}',))
        assert list(store.raw_rows()) == before

    def test_delete_behind_the_engines_back_is_refused(self, make_store, season_of, clock):
        store = _filled(make_store, season_of, clock)
        before = list(store.raw_rows())
        with make_store.raw() as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM events WHERE seq = 3")
        assert list(store.raw_rows()) == before

    def test_appends_in_one_transaction_continue_each_streams_versions(
        self, make_store, season_of, clock
    ):
        store = _filled(make_store, season_of, clock)
        start, added = store.rows().__next__(), store.season_records(store.seasons()[0])[1]
        new_season = start._replace(season="other-2027", payload={**start.payload})
        in_other = added._replace(season="other-2027")
        with store.write("2027-01-01T00:00:00.000000+00:00") as tx:
            tx.append([added._replace(program="oak"), new_season, in_other])
            tx.append([added._replace(program="oak"), in_other])
        with make_store.raw() as conn:
            versions = conn.execute(
                "SELECT stream, version FROM events WHERE seq > 6 ORDER BY seq"
            ).fetchall()
        season = store.seasons()[0]
        assert versions == [
            (f"{season}/oak", 1),
            ("other-2027/", 1),
            ("other-2027/mercy", 1),
            (f"{season}/oak", 2),
            ("other-2027/mercy", 2),
        ]
        assert store.verify() == (11, None)

    def test_a_second_event_with_the_same_stream_version_is_refused(
        self, make_store, season_of, clock
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

    # -- opening what is not a prematch store --------------------------------------------

    def test_open_refuses_a_directory(self, make_store):
        make_store.path("a-directory").mkdir()
        with pytest.raises(StoreError, match="is a directory"):
            Store.open(make_store.path("a-directory"))

    def test_open_refuses_a_file_that_is_not_sqlite_and_leaves_it_alone(self, make_store):
        garbage = b"these are my notes, not a database\n" * 64
        make_store.path("notes.txt").write_bytes(garbage)
        with pytest.raises(IntegrityError, match="not a SQLite database"):
            Store.open(make_store.path("notes.txt"))
        assert make_store.path("notes.txt").read_bytes() == garbage

    def test_open_refuses_a_sqlite_file_of_another_program(self, make_store):
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

    def test_open_refuses_a_store_of_a_newer_format(self, make_store, season_of, clock):
        store = _filled(make_store, season_of, clock)  # written by this prematch...
        store.close()
        with make_store.raw() as conn:
            conn.execute("PRAGMA user_version = 99")  # ...then touched by a future one

        with pytest.raises(IntegrityError, match="newer prematch") as excinfo:
            Store.open(make_store.path())
        assert "99" in str(excinfo.value)

    # -- verify --------------------------------------------------------------------------

    def test_verify_accepts_an_untouched_store(self, make_store, season_of, clock):
        store = _filled(make_store, season_of, clock)
        season_of(store, EVENTS[:1], clock, season_id="another")
        assert store.verify() == (8, None)

    def test_verify_accepts_an_empty_store(self, make_store):
        assert make_store().verify() == (0, None)

    @pytest.mark.parametrize("seq", [1, 3, 6], ids=["first", "middle", "last"])
    def test_verify_names_the_first_edited_event(self, make_store, season_of, clock, seq):
        store = _filled(make_store, season_of, clock)
        with make_store.raw() as conn:
            conn.execute("DROP TRIGGER events_no_update")
            conn.execute(
                "UPDATE events SET payload = json_set(payload, '$.edited', 1) WHERE seq = ?",
                (seq,),
            )
        _, tamper = store.verify()
        assert tamper is not None
        assert (tamper.seq, tamper.kind) == (seq, "edited")

    def test_verify_names_an_edited_timestamp(self, make_store, season_of, clock):
        store = _filled(make_store, season_of, clock)
        with make_store.raw() as conn:
            conn.execute("DROP TRIGGER events_no_update")
            conn.execute(
                "UPDATE events SET occurred_at = '2026-10-19T13:00:00.000000+00:00' WHERE seq = 5"
            )
        _, tamper = store.verify()
        assert tamper is not None
        assert (tamper.seq, tamper.kind) == (5, "edited")

    @pytest.mark.parametrize("seq", [1, 3], ids=["first", "middle"])
    def test_verify_names_a_deleted_event(self, make_store, season_of, clock, seq):
        store = _filled(make_store, season_of, clock)
        with make_store.raw() as conn:
            conn.execute("DROP TRIGGER events_no_delete")
            conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
        _, tamper = store.verify()
        assert isinstance(tamper, Tamper)
        assert tamper.kind == "deleted"
        assert tamper.seq == seq + 1  # the first event that no longer follows its predecessor
        assert f"seq {seq}" in tamper.detail  # ...and the detail names the missing one

    def test_verify_notices_the_newest_event_deleted(self, make_store, season_of, clock):
        store = _filled(make_store, season_of, clock)
        with make_store.raw() as conn:
            conn.execute("DROP TRIGGER events_no_delete")
            conn.execute("DELETE FROM events WHERE seq = 6")
        _, tamper = store.verify()
        assert tamper is not None
        assert tamper.kind == "deleted"
