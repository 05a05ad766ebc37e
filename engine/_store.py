"""The event store (DESIGN §7): :class:`Store`, the one door to a season log.

A store is a facade over a recorder (:mod:`prematch.engine._recorder`): a SQLite
file or a PostgreSQL database (:meth:`Store.open`), or memory (:meth:`Store.memory`).
Writes go through :meth:`Store.write`, a transaction in which reads, validation and
appends are atomic; reads stream :class:`~prematch.engine._records.Record` s;
:meth:`Store.verify` checks the hash chain (:mod:`prematch.engine._chain`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prematch.engine._admission import goes_last, successor
from prematch.engine._bulk import jobs_for
from prematch.engine._chain import Span, Tamper, Verification, check_span, verify
from prematch.engine._errors import InputError
from prematch.engine._mapper import UPCASTERS
from prematch.engine._memory import MemoryRecorder
from prematch.engine._recorder import ProjectedRow, Recorder, Transaction
from prematch.engine._records import Record
from prematch.engine._replay import replay, replay_key
from prematch.engine._sqlite import BUSY_TIMEOUT_MS, STORE_FORMAT, SqliteRecorder
from prematch.engine._state import SeasonState

__all__ = [
    "EVENTS_PER_SPAN",
    "STORE_FORMAT",
    "UPCASTERS",
    "RecordedHook",
    "SeasonSnapshot",
    "Store",
    "StoredSeason",
    "Tamper",
    "Transaction",
    "Verification",
    "verify_jobs",
]


def is_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://`` or ``postgres://``);
    the backend itself loads only for one."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


EVENTS_PER_SPAN = 100_000
"""Fewest events one ``verify`` worker checks: fewer are checked sooner than a process
starts."""


def verify_jobs(events: int, cpus: int | None = None) -> int:
    """How many processes ``prematch verify`` uses by default: one per CPU this process
    may use, but no more than spans of :data:`EVENTS_PER_SPAN` events."""
    return jobs_for(events // EVENTS_PER_SPAN, cpus)


def _spans_in_processes(
    target: str, spans: list[Span], committed: int
) -> Iterator[tuple[int, bool]]:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=len(spans)) as pool:
        checks = [pool.submit(_check_span, target, span, committed) for span in spans]
        for check in checks:
            yield check.result()


def _check_span(target: str, span: Span, committed: int) -> tuple[int, bool]:
    with (
        Store.open(target, create=False, readonly=True) as store,
        store._recorder.snapshot() as snapshot,
    ):
        return check_span(snapshot, span, committed)


CATCH_UP = 32
"""Up to how many records stored since a cached snapshot are applied one by one (more: the
season is replayed once)."""
SNAPSHOTS = 256
"""How many seasons' snapshots a store keeps (the least recently used go first)."""


@dataclass(frozen=True, slots=True)
class SeasonSnapshot:
    """A season as of its newest record: exact for as long as :attr:`last_seq` is the
    season's newest seq (the log is append-only). Shared: never change its parts."""

    last_seq: int
    """The seq of the season's newest record: the version this snapshot is of."""
    records: tuple[Record, ...]
    """Every record of the season, in ``seq`` order."""
    last_key: tuple[int, dt.datetime, int] | None
    """The greatest replay key among :attr:`records` (``None`` when there are none)."""
    state: SeasonState | None
    """The state after every live record, whatever their instants (``None``: no
    ``season_started``)."""

    def then(self, record: Record, state: SeasonState | None = None) -> SeasonSnapshot:
        """This snapshot with ``record`` (stored after every record of it) added;
        ``state`` is the state after it, if already known."""
        records = (*self.records, record)
        if self.state is not None and goes_last(self.last_key, record):
            after = successor(self.state, record) if state is None else state
            return SeasonSnapshot(record.seq, records, replay_key(record), after)
        return SeasonSnapshot.of(records)

    @classmethod
    def of(cls, records: tuple[Record, ...]) -> SeasonSnapshot:
        """The snapshot of a season's records, replayed."""
        return cls(
            records[-1].seq if records else 0,
            records,
            max(map(replay_key, records), default=None),
            replay(records),
        )


@dataclass(frozen=True, slots=True)
class StoredSeason:
    """One season of a store at a glance (:meth:`Store.season_summaries`)."""

    id: str
    specialty: str
    visa: str
    match_year: int
    events: int
    """How many records the season holds (retractions and retracted ones included)."""
    last_seq: int
    """The seq of the season's newest record: its version (a projection keyed on it is
    exact, the log being append-only)."""

    def to_json(self) -> dict[str, Any]:
        """``{"season", "specialty", "visa", "match_year", "events", "last_seq"}``."""
        return {
            "season": self.id,
            "specialty": self.specialty,
            "visa": self.visa,
            "match_year": self.match_year,
            "events": self.events,
            "last_seq": self.last_seq,
        }


RecordedHook = Callable[[Sequence[Record]], object]
"""A callback of :attr:`Store.on_recorded`: called with the records one transaction stored."""


class Store:
    """A prematch event log. Open a database file with :meth:`open` (``readonly=True`` to
    only read it), keep the log in memory with :meth:`memory`, or use an embedder's own
    ``sqlite3`` connection with :meth:`from_connection`.

    **Threads.** A store may be shared by the threads of a process. A file store opened
    with :meth:`open` gives each thread its own SQLite connection (made on the thread's
    first use; :meth:`close` closes them all), so reads run side by side and writes are
    ordered by SQLite's write lock, as between processes. A memory store orders its
    writers with a lock. A store from :meth:`from_connection` uses only the connection
    it was given: share it between threads only if that connection allows it
    (``check_same_thread=False``), and then serialize its use yourself.

    **Hooks.** :attr:`on_recorded` is a list of callbacks, each called after a write
    transaction of this store commits, with the records it stored (in ``seq`` order),
    on the writing thread. The commit stands whatever a hook does: every hook is called
    even if one raises, and then the hooks' exceptions are raised together as an
    :class:`ExceptionGroup` (so the caller of the write learns of them, but its records
    are stored: do not write them again). Writes by other processes or other ``Store``
    objects call no hook of this one.
    """

    def __init__(self, recorder: Recorder):
        self._recorder = recorder
        self._reopen: str | None = None  # what a worker process opens (URL with password)
        self.on_recorded: list[RecordedHook] = []
        """Callbacks called after each commit of this store with the records it stored."""
        self._snapshots: OrderedDict[str, SeasonSnapshot] = OrderedDict()
        self._snapshots_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT_MS / 1000,
        readonly: bool = False,
    ) -> Store:
        """Open (and, if ``create``, create with mode 0600) the SQLite store at ``path``,
        or the PostgreSQL database at a ``postgresql://`` URL (``create``: make
        prematch's tables there if missing; needs ``pip install 'prematch[postgres]'``).

        ``busy_timeout`` is how many seconds a write waits for another writer's
        lock before it fails with :class:`StoreBusyError`. ``readonly`` opens an
        existing store only to read it: it never creates, writes or migrates a file, works
        on a file or folder this user cannot write, and a write raises
        :class:`StoreReadonlyError`. The path ``":memory:"`` is :meth:`memory` (no file).
        """
        if not isinstance(path, str | os.PathLike):
            raise InputError(f"the store path must be text or a path, not {type(path).__name__}")
        if str(path) == ":memory:":
            return cls.memory(busy_timeout=busy_timeout)
        if "://" in str(path) and not is_url(path):
            raise InputError(
                f"the store must be a file path or a postgresql:// URL, not {str(path)!r}"
            )
        if is_url(path):
            from prematch.engine._postgres import PostgresRecorder  # only for a server

            store = cls(
                PostgresRecorder.open(
                    str(path), create=create, busy_timeout=busy_timeout, readonly=readonly
                )
            )
        else:
            p = Path(path).expanduser()
            store = cls(
                SqliteRecorder.open(p, create=create, busy_timeout=busy_timeout, readonly=readonly)
            )
        store._reopen = str(path if is_url(path) else p.absolute())
        return store

    @classmethod
    def from_connection(
        cls, conn: sqlite3.Connection, *, busy_timeout: float = BUSY_TIMEOUT_MS / 1000
    ) -> Store:
        """A store on an embedder's own ``sqlite3`` connection (to a file or to memory).

        The connection must not be inside a transaction: prematch runs its own
        ``BEGIN IMMEDIATE``/``COMMIT`` on it, and creates its tables if they are missing.
        :meth:`close` closes the connection. See the class docstring for threads.
        """
        return cls(SqliteRecorder.from_connection(conn, busy_timeout))

    @classmethod
    def memory(cls, *, busy_timeout: float = BUSY_TIMEOUT_MS / 1000) -> Store:
        """A new, empty store in this process's memory (gone when it is dropped).

        Thread-safe; ``busy_timeout`` is how many seconds a write waits for another
        thread's write. Whole-store audits of it run in this process (``jobs=1``).
        """
        return cls(MemoryRecorder(busy_timeout))

    @property
    def path(self) -> Path | str:
        """The database file, or for a memory store the label ``the in-memory store``."""
        return self._recorder.path

    def reopen_target(self) -> str | None:
        """What a worker process passes to :meth:`open` to open this store again (the
        file's absolute path, whatever the working folder was or becomes; or the
        database's URL *with its password*: keep it in memory), or ``None`` for a store no
        other process can open (memory, an embedder's connection). ``audit --all --jobs``
        and ``verify --jobs`` give it to their workers."""
        return self._reopen

    @property
    def readonly(self) -> bool:
        """Whether the store was opened only to read it (asked for, or a file this user
        cannot write): nothing is written, not even the findings projection."""
        return self._recorder.readonly

    def close(self) -> None:
        """Close the store (its connection, for a file)."""
        self._recorder.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self, now_iso: str, *, bulk: bool = False) -> Iterator[Transaction]:
        """A write: its block runs alone (one writer at a time) and is kept if it ends
        normally, else undone. It returns once what it wrote is committed (for a file, in
        one ``BEGIN IMMEDIATE`` transaction, possibly shared with the writes of other
        threads that waited meanwhile: group commit). After the commit, the
        :attr:`on_recorded` hooks see what it stored.

        ``bulk`` marks a write that may touch any number of seasons (an import): on
        PostgreSQL it locks the whole log once instead of each season it reads."""
        hooks = list(self.on_recorded)
        stored: list[Record] = []
        with self._recorder.write(now_iso, bulk=bulk) as tx:
            if hooks:
                tx.watch = stored.append
            yield tx
        if stored:
            _call_hooks(hooks, stored)

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return self._recorder.seasons()

    def latest_season(self, season: str | None = None) -> str | None:
        """``season`` if the store holds it (else ``None``); without one, the most recently
        started season. Its cost does not grow with the number of seasons."""
        return self._recorder.latest_season(season)

    def season_summaries(self) -> list[StoredSeason]:
        """Each season at a glance (specialty, visa, match year, events, last seq), in the
        order they were started. Reads the whole log once (no replay)."""
        found: dict[str, StoredSeason] = {}
        for season, records in self._recorder.seasons_records(None, None):
            start = next((r.payload for r in records if r.type == "season_started"), None)
            if start is None:
                continue
            found[season] = StoredSeason(
                season,
                str(start["specialty"]),
                str(start["visa"]),
                int(start["match_year"]),
                len(records),
                records[-1].seq,
            )
        return [found[s] for s in self._recorder.seasons() if s in found]

    def season_records(self, season: str, *, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` (with a seq above ``after_seq``: what a projection
        has not seen yet), in ``seq`` order."""
        return self._recorder.season_records(season, after_seq)

    def snapshot(self, season: str, tx: Transaction | None = None) -> SeasonSnapshot:
        """``season`` as of its newest record, from a cache kept per store: only the
        records stored since the cached snapshot are read and applied (a back-filled
        one, or a retraction, replays the season again).

        Inside a write, pass its transaction: the snapshot then also holds what the
        writes sharing that transaction appended (not yet committed, so not cached).
        """
        with self._snapshots_lock:
            known = self._snapshots.get(season)
        read = self._recorder.season_records if tx is None else tx.season_records
        if known is None:
            fresh = SeasonSnapshot.of(tuple(read(season, 0)))
        else:
            fresh = known
            new = read(season, known.last_seq)
            if len(new) > CATCH_UP:
                fresh = SeasonSnapshot.of((*known.records, *new))
            else:
                for record in new:
                    fresh = fresh.then(record)
        if tx is None:
            self.remember(season, fresh)
        return fresh

    def remember(self, season: str, snapshot: SeasonSnapshot) -> None:
        """Keep ``snapshot`` of ``season`` in the cache (unless a newer one is there)."""
        with self._snapshots_lock:
            known = self._snapshots.get(season)
            if known is None or known.last_seq <= snapshot.last_seq:
                self._snapshots[season] = snapshot
            self._snapshots.move_to_end(season)
            while len(self._snapshots) > SNAPSHOTS:
                self._snapshots.popitem(last=False)

    def records(self, season: str | None = None) -> Iterator[Record]:
        """Every record (or one season's), in ``seq`` order, streamed."""
        return self._recorder.records(season)

    def seasons_records(
        self, first: str | None = None, last: str | None = None, *, replay: bool = False
    ) -> Iterator[tuple[str, list[Record]]]:
        """Every season (with ids from ``first`` to ``last``, when given) with its records,
        one season at a time, streamed in season-id order. With ``replay`` (an audit), only
        what replay reads is read: each record's ``recorded_at`` and ``hash`` are empty."""
        return self._recorder.seasons_records(first, last, replay=replay)

    def verify(
        self, expected_head: tuple[int, str] | None = None, *, jobs: int = 1
    ) -> Verification:
        """Check gapless ``seq`` and the hash chain; return (events checked, first problem)
        as a :class:`Verification` (``to_json()`` gives the ``verify --json`` shape).

        With ``jobs`` > 1, a store of more than :data:`EVENTS_PER_SPAN` events opened by
        :meth:`open` (a file or a database) is checked in that many spans at once, by
        worker processes that each open it again; the verdict is the same as one process
        gives (see :func:`verify_jobs`).

        The log alone cannot show that its newest events were cut off together with
        their ``heads`` rows; ``expected_head`` (a seq and hash noted earlier from
        :meth:`head`) closes that gap.

        A problem is classified as ``deleted`` (a seq gap, events missing at the end,
        or fewer events than were committed), ``inserted`` (an event no prematch
        commit wrote), ``reordered`` (an event whose hash belongs at another seq) or
        ``edited`` (content that no longer matches its hash).
        """
        target = self.reopen_target()
        parts = min(jobs, self.head()[0] // EVENTS_PER_SPAN) if jobs > 1 else 1
        if parts < 2 or target is None:  # small, memory, an embedder's connection: one process
            return verify(self._recorder, expected_head)
        spans = functools.partial(_spans_in_processes, target)
        return verify(self._recorder, expected_head, spans, parts)

    def head(self) -> tuple[int, str]:
        """The newest event's seq and hash (note them elsewhere to anchor the chain)."""
        return self._recorder.head()

    def projected(self, key: str, seasons: Sequence[str]) -> Iterator[tuple[str, int, str | None]]:
        """Each of ``seasons`` (in the order given) with its newest seq (0: none) and its
        findings as the findings projection holds them for that seq and ``key`` (``None``:
        to be judged). See :mod:`prematch.engine._projection`."""
        return self._recorder.projected(key, seasons)

    def project(self, rows: Iterable[ProjectedRow]) -> bool:
        """Keep rows of the findings projection; ``False`` when the store is read-only or
        busy (a cache: nothing waits long for it, and nothing fails)."""
        return self._recorder.project(rows)


def _call_hooks(hooks: Sequence[RecordedHook], stored: list[Record]) -> None:
    """Call every hook with ``stored``; then raise what they raised, together."""
    records = tuple(stored)
    failed: list[Exception] = []
    for hook in hooks:
        try:
            hook(records)
        except Exception as e:  # every hook is called; the failures are raised below
            failed.append(e)
    if failed:
        raise ExceptionGroup(
            f"{len(failed)} on_recorded hook(s) failed after the commit of seq "
            f"{records[0].seq}-{records[-1].seq} (the records are stored)",
            failed,
        )
