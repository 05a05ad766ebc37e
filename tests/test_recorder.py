"""The recorder conformance suite (DESIGN §7): one set of tests, run against every backend.

A backend is a ``recorder_store`` fixture param: a :class:`Backend` that opens a
store, opens it again (another connection, or the same memory), and tampers with its
log behind the engine's back (the way a user with ``sqlite3`` or ``psql`` could) to
show that :meth:`Store.verify` notices: SQLite, memory and PostgreSQL (a fresh schema
of the test server per test, see ``pg_url``).

What a file alone does (mode 0600, WAL, triggers, refusing what is not a prematch
store) is in ``test_store.py``; the forensics of each tampering kind, on SQLite, in
``test_tamper.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from history import FIVE_EVENTS as EVENTS
from history import History
from races import Go, race

from prematch import policies
from prematch.engine import (
    SCHEMA_VERSION,
    NoRules,
    PolicyRefusal,
    Season,
    Store,
    StoreError,
    Tamper,
    UnknownSeasonError,
    _chain,
    fixed_clock,
)
from prematch.engine._mapper import StoredEvent, stored_hashed_json

NOW = "2027-01-01T00:00:00.000000+00:00"
NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)


def stored(store: Store) -> list[StoredEvent]:
    """Every event as the recorder keeps it (stream and version included), in seq order."""
    with store._recorder.snapshot() as snapshot:
        return list(snapshot.events())


class SqliteBackend:
    """Stores in a SQLite file; tampering goes through plain ``sqlite3`` with the
    append-only triggers dropped."""

    def __init__(self, root: Path):
        self.db = root / "season.db"
        self._opened: list[Store] = []

    def open(self) -> Store:
        store = Store.open(self.db, busy_timeout=60)
        self._opened.append(store)
        return store

    @contextlib.contextmanager
    def again(self, store: Store) -> Iterator[Store]:
        """Another handle on the same log: a second connection, for the calling thread."""
        with Store.open(self.db, create=False, busy_timeout=60) as other:
            yield other

    def _sql(self, sql: str, *args: Any) -> None:
        conn = sqlite3.connect(self.db, isolation_level=None)
        try:
            # A careful hand edit: drop the append-only triggers, edit, put them back (a
            # missing trigger is itself a finding of verify).
            triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            guards = triggers.fetchall()
            for name, _ in guards:
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute(sql, args)
            for _, create in guards:
                conn.execute(create)
        finally:
            conn.close()

    def edit(self, store: Store, seq: int, **columns: Any) -> None:
        for column, value in columns.items():
            self._sql(f"UPDATE events SET {column} = ? WHERE seq = ?", value, seq)

    def delete(self, store: Store, seq: int, *, head: bool = False) -> None:
        self._sql("DELETE FROM events WHERE seq = ?", seq)
        if head:
            self._sql("DELETE FROM heads WHERE seq = ?", seq)

    def swap(self, store: Store, first: int, second: int) -> None:
        self._sql("UPDATE events SET seq = -1 WHERE seq = ?", first)
        self._sql("UPDATE events SET seq = ? WHERE seq = ?", first, second)
        self._sql("UPDATE events SET seq = ? WHERE seq = -1", second)

    def close(self) -> None:
        for store in self._opened:
            store.close()


class MemoryBackend:
    """Stores in memory; tampering rewrites the recorder's committed list in place."""

    def __init__(self, root: Path):
        self._store = Store.memory(busy_timeout=60)

    def open(self) -> Store:
        return self._store

    @contextlib.contextmanager
    def again(self, store: Store) -> Iterator[Store]:
        """Another handle on the same log: the same (thread-safe) store."""
        yield store

    def _events(self, store: Store) -> list[StoredEvent]:
        events: list[StoredEvent] = store._recorder._log.events
        return events

    def _at(self, store: Store, seq: int) -> int:
        return next(i for i, e in enumerate(self._events(store)) if e.seq == seq)

    def edit(self, store: Store, seq: int, **columns: Any) -> None:
        events = self._events(store)
        i = self._at(store, seq)
        events[i] = events[i]._replace(**columns)

    def delete(self, store: Store, seq: int, *, head: bool = False) -> None:
        del self._events(store)[self._at(store, seq)]
        if head:
            del store._recorder._log.heads[seq]

    def swap(self, store: Store, first: int, second: int) -> None:
        events = self._events(store)
        i, j = self._at(store, first), self._at(store, second)
        events[i], events[j] = events[i]._replace(seq=second), events[j]._replace(seq=first)

    def close(self) -> None:
        self._store.close()


class PostgresBackend:
    """Stores in a fresh schema of the test server (``pg_url``); tampering goes through
    plain psycopg with the append-only triggers dropped."""

    def __init__(self, url: str):
        self.url = url
        self._opened: list[Store] = []

    def open(self) -> Store:
        store = Store.open(self.url, busy_timeout=60)
        self._opened.append(store)
        return store

    @contextlib.contextmanager
    def again(self, store: Store) -> Iterator[Store]:
        """Another handle on the same log: another connection, as another server would."""
        with Store.open(self.url, create=False, busy_timeout=60) as other:
            yield other

    def _sql(self, sql: str, *args: Any) -> None:
        import psycopg

        # A careful hand edit, as for SQLite: the guards off, the edit, the guards back on
        # (a guard left off is itself a finding of verify).
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
            conn.execute("ALTER TABLE heads DISABLE TRIGGER heads_append_only")
            conn.execute(sql, args)
            conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
            conn.execute("ALTER TABLE heads ENABLE TRIGGER heads_append_only")

    def edit(self, store: Store, seq: int, **columns: Any) -> None:
        for column, value in columns.items():
            self._sql(f"UPDATE events SET {column} = %s WHERE seq = %s", value, seq)

    def delete(self, store: Store, seq: int, *, head: bool = False) -> None:
        self._sql("DELETE FROM events WHERE seq = %s", seq)
        if head:
            self._sql("DELETE FROM heads WHERE seq = %s", seq)

    def swap(self, store: Store, first: int, second: int) -> None:
        self._sql("UPDATE events SET seq = -1 WHERE seq = %s", first)
        self._sql("UPDATE events SET seq = %s WHERE seq = %s", first, second)
        self._sql("UPDATE events SET seq = %s WHERE seq = -1", second)

    def close(self) -> None:
        for store in self._opened:
            store.close()


Backend = SqliteBackend | MemoryBackend | PostgresBackend


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def recorder_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A backend of the event log (see the module docstring)."""
    backend: Backend
    if request.param == "sqlite":
        backend = SqliteBackend(tmp_path)
    elif request.param == "memory":
        backend = MemoryBackend(tmp_path)
    else:
        backend = PostgresBackend(request.getfixturevalue("pg_url"))
    yield backend
    backend.close()


def _filled(backend: Backend, season_of, clock) -> Store:
    store = backend.open()
    season_of(store, EVENTS, clock)
    return store


# -- appending --------------------------------------------------------------------------


def test_seq_is_global_and_gapless_across_seasons(recorder_store, season_of, clock):
    store = recorder_store.open()
    first = season_of(store, EVENTS[:2], clock, season_id="first")
    second = season_of(store, EVENTS[:3], clock, season_id="second")
    first.record("invited", "mercy", at="2026-10-02")

    assert [r.seq for r in store.records()] == list(range(1, 3 + 4 + 2))
    assert [r.seq for r in first.records()] == [1, 2, 3, 8]
    assert [r.seq for r in second.records()] == [4, 5, 6, 7]


def test_several_seasons_live_in_one_store(recorder_store, season_of, clock):
    store = recorder_store.open()
    season_of(store, EVENTS, clock, season_id="amira-2027")
    season_of(store, EVENTS[:2], clock, season_id="bilal-2027")

    with recorder_store.again(store) as reopened:
        assert reopened.seasons() == ["amira-2027", "bilal-2027"]
        amira = Season.open(reopened, "amira-2027", rulebook=NoRules(), clock=clock)
        bilal = Season.open(reopened, rulebook=NoRules(), clock=clock)  # the most recent one
        assert bilal.id == "bilal-2027"
        assert amira.state().programs["mercy"].state == "interviewed"
        assert bilal.state().programs["mercy"].state == "applied"
        assert {r.season for r in reopened.season_records("bilal-2027")} == {"bilal-2027"}


def test_a_season_is_found_by_a_lookup(recorder_store, season_of, clock):
    store = recorder_store.open()
    assert store.latest_season() is None
    assert store.latest_season("amira-2027") is None
    season_of(store, EVENTS, clock, season_id="amira-2027")
    season_of(store, EVENTS[:2], clock, season_id="bilal-2027")
    assert store.latest_season() == "bilal-2027"  # the most recently started
    assert store.latest_season("amira-2027") == "amira-2027"
    assert store.latest_season("amira") is None  # a lookup, not a prefix
    with pytest.raises(UnknownSeasonError, match="no season 'zara-2027'"):
        Season.open(store, "zara-2027", rulebook=NoRules(), clock=clock)


def test_appended_records_come_back_as_stored(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    start = next(store.records())
    with store.write(NOW) as tx:
        assert (tx.first_seq, tx.last_seq) == (6, 6)
        (appended,) = tx.append(
            [start._replace(season="other-2027", seq=0, hash="", recorded_at="")]
        )
        assert (tx.first_seq, tx.last_seq, tx.last_hash) == (6, 7, appended.hash)
        assert tx.seasons() == [store.seasons()[0], "other-2027"]
        assert tx.season_records("other-2027") == [appended]
        assert tx.season_start("other-2027") == start.payload
        assert tx.season_start("zara-2027") is None
    assert (appended.seq, appended.recorded_at) == (7, NOW)
    assert store.season_records("other-2027") == [appended]
    assert store.head() == (7, appended.hash)


def test_appends_in_one_transaction_continue_each_streams_versions(
    recorder_store, season_of, clock
):
    store = _filled(recorder_store, season_of, clock)
    start, added = next(store.records()), store.season_records(store.seasons()[0])[1]
    new_season = start._replace(season="other-2027", payload={**start.payload})
    in_other = added._replace(season="other-2027")
    with store.write(NOW) as tx:
        tx.append([added._replace(program="oak"), new_season, in_other])
        assert tx.append_each([added._replace(program="oak"), in_other]) == 2
    season = store.seasons()[0]
    assert [(e.stream, e.version) for e in stored(store) if e.seq > 6] == [
        (f"{season}/oak", 1),
        ("other-2027/", 1),
        ("other-2027/mercy", 1),
        (f"{season}/oak", 2),
        ("other-2027/mercy", 2),
    ]
    assert store.verify() == (11, None)


def test_a_second_event_with_the_same_stream_version_is_refused(recorder_store, season_of, clock):
    """Optimistic concurrency: an append claiming a (stream, version) already taken fails,
    and its whole transaction with it."""
    store = _filled(recorder_store, season_of, clock)
    before = stored(store)
    taken = before[2]  # seq 3, mercy's second event
    with pytest.raises(StoreError, match="stream"), store.write(NOW) as tx:
        tx.append([next(store.records())._replace(season="fresh-2027")])  # lost with the rest
        tx._insert(iter([taken._replace(seq=tx.last_seq + 1)]))
    assert stored(store) == before
    assert store.verify() == (6, None)


def test_an_exception_inside_write_leaves_nothing(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    before, head = stored(store), store.head()
    with pytest.raises(RuntimeError, match="crash"), store.write(NOW) as tx:
        tx.append(store.season_records(store.seasons()[0])[1:3])
        assert tx.last_seq == 8
        raise RuntimeError("crash")
    assert stored(store) == before
    assert store.head() == head
    with store.write(NOW) as tx:  # the next write starts where the log really ends
        assert tx.first_seq == 6
    assert store.verify() == (6, None)


def test_the_single_intent_race_has_one_winner(recorder_store):
    """Two writers send letters of intent to two programs at once: exactly one is accepted
    (read-validate-append is atomic), the other is refused by ``intent.single``."""
    store = recorder_store.open()
    season = History(season_id="race-2027", name="Race Applicant").season(
        store, rulebook=NoRules(), now=NOW_UTC
    )
    programs = ("alpha-im", "beta-im")
    for pid in programs:
        season.add_program(pid, f"{pid} Internal Medicine", at="2026-09-21T10:00:00-04:00")
        season.record("invited", pid, at="2026-10-01T10:00:00-04:00")
        season.record("interviewed", pid, at="2026-12-01T10:00:00-05:00")
    outcome: dict[str, str] = {}

    def writer(index: int, go: Go) -> None:
        # SQLite: each thread its own connection; memory: both threads share the store.
        pid = programs[index]
        with recorder_store.again(store) as handle:
            mine = Season.open(handle, rulebook=policies.Rulebook(), clock=fixed_clock(NOW_UTC))
            go()
            try:
                mine.record("intent_sent", pid)
                outcome[pid] = "accepted"
            except PolicyRefusal as refusal:
                outcome[pid] = " ".join(f.rule for f in refusal.findings)

    race(len(programs), writer, timeout=120)
    results = list(outcome.values())
    assert results.count("accepted") == 1, outcome
    assert any("intent.single" in r for r in results), outcome
    winner = next(pid for pid, result in outcome.items() if result == "accepted")
    intents = [r.program for r in store.records() if r.type == "intent_sent"]
    assert intents == [winner]
    assert store.verify() == (1 + 3 * len(programs) + 1, None)


# -- reading ----------------------------------------------------------------------------


def test_reads_by_stream_all_and_ranges(recorder_store, season_of, clock):
    store = recorder_store.open()
    for season_id in ("c-2027", "a-2027", "b-2027"):
        season_of(store, EVENTS[:2], clock, season_id=season_id)
    everything = list(store.records())
    assert [r.seq for r in everything] == list(range(1, 10))
    assert store.seasons() == ["c-2027", "a-2027", "b-2027"]  # in the order started
    assert store.season_records("a-2027") == everything[3:6]
    assert list(store.records("a-2027")) == everything[3:6]
    assert store.season_records("nobody") == []

    by_season = list(store.seasons_records())
    assert [s for s, _ in by_season] == ["a-2027", "b-2027", "c-2027"]  # in id order
    assert dict(by_season) == {
        "a-2027": everything[3:6],
        "b-2027": everything[6:9],
        "c-2027": everything[0:3],
    }
    assert [s for s, _ in store.seasons_records("b-2027", "c-2027")] == ["b-2027", "c-2027"]
    assert list(store.seasons_records("a-2027", "a-2027")) == [("a-2027", everything[3:6])]
    # What an audit reads: the same records, without the two fields replay never reads.
    unread = [r._replace(recorded_at="", hash="") for r in everything]
    assert list(store.seasons_records("b-2027", "c-2027", replay=True)) == [
        ("b-2027", unread[6:9]),
        ("c-2027", unread[0:3]),
    ]


def test_a_seasons_records_after_a_seq_and_its_last_seq(recorder_store, season_of, clock):
    store = recorder_store.open()
    for season_id in ("c-2027", "a-2027"):
        season_of(store, EVENTS[:2], clock, season_id=season_id)
    assert [r.seq for r in store.season_records("a-2027", after_seq=4)] == [5, 6]
    assert [r.seq for r in store.season_records("c-2027", after_seq=1)] == [2, 3]
    assert store.season_records("c-2027", after_seq=3) == []
    with store.write(NOW) as tx:
        assert tx.season_last_seq("c-2027") == 3
        assert tx.season_last_seq("a-2027") == 6
        assert tx.season_last_seq("nobody") == 0
        (record,) = store.season_records("c-2027", after_seq=2)
        tx.append([record])
        assert tx.season_last_seq("c-2027") == 7  # appended in this transaction
    assert [r.seq for r in store.season_records("c-2027", after_seq=3)] == [7]


def test_the_findings_projection_keeps_a_row_per_season_for_its_seq_and_key(
    recorder_store, season_of, clock
):
    store = recorder_store.open()
    for season_id in ("c-2027", "a-2027"):
        season_of(store, EVENTS[:2], clock, season_id=season_id)
    both = ["a-2027", "c-2027"]
    assert list(store.projected("k", both)) == [("a-2027", 6, None), ("c-2027", 3, None)]
    assert store.project([("a-2027", 5, "k", "older"), ("c-2027", 3, "k", "c at 3")])
    assert store.project([("a-2027", 6, "k", "a at 6")])
    assert store.project([("a-2027", 5, "k", "judged at an older seq: not kept")])
    assert list(store.projected("k", both)) == [("a-2027", 6, "a at 6"), ("c-2027", 3, "c at 3")]
    assert list(store.projected("other key", both)) == [("a-2027", 6, None), ("c-2027", 3, None)]
    assert list(store.projected("k", ["c-2027", "nobody"])) == [
        ("c-2027", 3, "c at 3"),
        ("nobody", 0, None),
    ]
    with recorder_store.again(store) as reopened:
        assert list(reopened.projected("k", ["a-2027"])) == [("a-2027", 6, "a at 6")]
        season_of(reopened, [], clock, season_id="b-2027")
        reopened.season_records("c-2027")  # the log is unchanged by the projection
    Season.open(store, "c-2027", rulebook=NoRules(), clock=clock).record(
        "invited", "mercy", at="2026-10-01"
    )
    assert list(store.projected("k", ["a-2027", "b-2027", "c-2027"])) == [
        ("a-2027", 6, "a at 6"),
        ("b-2027", 7, None),
        ("c-2027", 8, None),  # a newer event: stale
    ]
    assert store.verify() == (8, None)  # not in the chain
    if isinstance(recorder_store, MemoryBackend):
        return
    target = recorder_store.db if isinstance(recorder_store, SqliteBackend) else recorder_store.url
    with Store.open(target, create=False, readonly=True) as readonly:
        assert readonly.readonly
        assert not readonly.project([("c-2027", 8, "k", "c at 8")])
        assert list(readonly.projected("k", ["c-2027"])) == [("c-2027", 8, None)]


def test_reads_upcast_nothing_at_the_current_schema(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    records = list(store.records())
    assert [r.type for r in records[1:]] == [e[0] for e in EVENTS]
    assert [r.payload for r in records] == [json.loads(e.payload) for e in stored(store)]
    assert all(r.schema_version == SCHEMA_VERSION for r in records)
    assert all(r.occurred_at.tzinfo is dt.UTC for r in records)
    assert [r.hash for r in records] == [e.hash for e in stored(store)]


# -- heads ------------------------------------------------------------------------------


def test_each_commit_notes_its_head(recorder_store, season_of, clock):
    store = recorder_store.open()
    assert store.head() == (0, "0" * 64)
    season = season_of(store, EVENTS[:2], clock)
    with store.write(NOW) as tx:  # a write that appends nothing notes nothing
        assert tx.first_seq == tx.last_seq == 3
    with store._recorder.snapshot() as snapshot:
        heads = snapshot.heads()
    assert heads == {e.seq: e.hash for e in stored(store)}  # one commit per event here
    recorded = season.record("invited", "mercy", at="2026-10-02")
    assert store.head() == (4, recorded.record.hash)


# -- verify -----------------------------------------------------------------------------


def test_verify_accepts_an_untouched_store(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    season_of(store, EVENTS[:1], clock, season_id="another")
    assert store.verify() == (8, None)
    assert store.verify(store.head()) == (8, None)


def test_verify_accepts_an_empty_store(recorder_store):
    assert recorder_store.open().verify() == (0, None)


def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seqs verify decodes from here on (it decodes only an event whose stored text
    does not give its hash)."""
    decoded: list[int] = []

    def counted(event: Any, seq: int | None = None) -> str | None:
        decoded.append(event[0])
        return stored_hashed_json(event, seq)

    monkeypatch.setattr(_chain, "stored_hashed_json", counted)
    return decoded


def test_verify_hashes_the_text_as_stored(recorder_store, season_of, clock, monkeypatch):
    """Each backend gives back, character for character, the text the append hashed
    (quotes, control characters, non-ASCII included): verify decodes no event."""
    store = _filled(recorder_store, season_of, clock)
    text = 'Zoë\'s "Best" IM:\tnorth\nline\u2028two ✓ \\ 𝄞'
    note = ("note_added", None, "2026-09-21T10:00:00-04:00", {"text": text})
    season_of(store, [note], clock, season_id="z-2027")
    decoded = _decodes(monkeypatch)
    assert store.verify() == (8, None)
    assert decoded == []
    assert store.season_records("z-2027")[1].payload["text"] == text


def test_verify_accepts_a_payload_rewritten_as_the_same_json(
    recorder_store, season_of, clock, monkeypatch
):
    """The hash covers the payload's canonical JSON: the same object written with spaces,
    ASCII escapes and its keys in another order is the same event (verify decodes it to
    see so, and only it)."""
    store = _filled(recorder_store, season_of, clock)
    news = (
        "news_recorded",
        None,
        "2026-10-22T10:00:00-04:00",
        {"kind": "other", "detail": "Zoë ✓"},
    )
    season_of(store, [news], clock, season_id="z-2027")
    payload = json.loads(stored(store)[7].payload)
    recorder_store.edit(store, 8, payload=json.dumps(dict(reversed(payload.items())), indent=1))
    decoded = _decodes(monkeypatch)
    assert store.verify() == (8, None)
    assert decoded == [8]


def _problem(store: Store) -> Tamper:
    _, tamper = store.verify()
    assert isinstance(tamper, Tamper)
    return tamper


@pytest.mark.parametrize("seq", [1, 3, 6], ids=["first", "middle", "last"])
def test_verify_names_the_first_edited_event(recorder_store, season_of, clock, seq):
    store = _filled(recorder_store, season_of, clock)
    payload = json.loads(stored(store)[seq - 1].payload)
    recorder_store.edit(store, seq, payload=json.dumps({**payload, "edited": 1}))
    assert (_problem(store).seq, _problem(store).kind) == (seq, "edited")


def test_verify_names_an_edited_timestamp(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    recorder_store.edit(store, 5, occurred_at="2026-10-19T13:00:00.000000+00:00")
    assert (_problem(store).seq, _problem(store).kind) == (5, "edited")


def test_verify_names_a_payload_that_is_no_longer_json(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    recorder_store.edit(store, 4, payload="{not json")
    assert (_problem(store).seq, _problem(store).kind) == (4, "edited")


def test_verify_names_a_field_that_lost_its_type(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    recorder_store.edit(store, 3, occurred_at=20261001)
    assert (_problem(store).seq, _problem(store).kind) == (3, "edited")


@pytest.mark.parametrize("seq", [1, 3], ids=["first", "middle"])
def test_verify_names_a_deleted_event(recorder_store, season_of, clock, seq):
    store = _filled(recorder_store, season_of, clock)
    recorder_store.delete(store, seq)
    tamper = _problem(store)
    assert tamper.kind == "deleted"
    assert tamper.seq == seq + 1  # the first event that no longer follows its predecessor
    assert f"seq {seq}" in tamper.detail  # ...and the detail names the missing one


def test_verify_notices_the_newest_event_deleted(recorder_store, season_of, clock):
    store = _filled(recorder_store, season_of, clock)
    recorder_store.delete(store, 6)
    tamper = _problem(store)
    assert (tamper.seq, tamper.kind) == (6, "deleted")


def test_verify_catches_the_newest_event_and_its_head_deleted_against_a_noted_head(
    recorder_store, season_of, clock
):
    store = _filled(recorder_store, season_of, clock)
    noted = store.head()
    recorder_store.delete(store, 6, head=True)
    assert store.verify() == (5, None)  # the log alone is consistent again
    _, tamper = store.verify(noted)
    assert tamper is not None and (tamper.seq, tamper.kind) == (6, "deleted")


@pytest.mark.parametrize("first", [2, 5])
def test_verify_names_two_swapped_events_reordered(recorder_store, season_of, clock, first):
    store = _filled(recorder_store, season_of, clock)
    recorder_store.swap(store, first, first + 1)
    tamper = _problem(store)
    assert (tamper.seq, tamper.kind) == (first, "reordered")
    assert f"committed as seq {first + 1}" in tamper.detail
