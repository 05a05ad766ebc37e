"""The in-memory recorder: the event log in this process's memory, with the same promises
as the SQLite file (append-only, gapless ``seq``, one event per stream version, the hash
chain, a head per commit, all-or-nothing write transactions, one writer at a time).

For embedders and tests that need no file. It is thread-safe: a write transaction holds
the writer lock from start to commit (another thread's write waits for it, up to the
busy timeout, like a second SQLite writer); reads see the last committed state.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from prematch.engine._chain import GENESIS_HASH, ChainedTransaction
from prematch.engine._errors import StoreBusyError, StoreError
from prematch.engine._mapper import StoredEvent, replay_row_to_record, row_to_record
from prematch.engine._recorder import ProjectedRow
from prematch.engine._records import Record, parse_json

__all__ = ["MEMORY_LABEL", "MemoryRecorder", "MemoryTransaction"]

MEMORY_LABEL = "the in-memory store"
"""What messages call a memory store where they would name the database file."""

_SEASON = operator.attrgetter("season")


def _record(event: StoredEvent) -> Record:
    return row_to_record(event[:10])


def _replay_record(e: StoredEvent) -> Record:
    return replay_row_to_record(
        (e.seq, e.season, e.program, e.type, e.schema_version, e.occurred_at, e.payload, e.override)
    )


class _Log:
    """The committed state: events in ``seq`` order, each stream's latest version, heads.

    ``events`` only grows, and a commit extends it under ``lock``: the first
    :meth:`committed` events never change, so readers iterate them without the lock.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[StoredEvent] = []
        self.versions: dict[str, int] = {}  # written only by the writer
        self.heads: dict[int, str] = {}
        self.season_last: dict[str, int] = {}  # each season's newest seq
        self.starts: dict[str, StoredEvent] = {}  # each season's season_started
        self.findings: dict[str, ProjectedRow] = {}  # the findings projection, by season

    def committed(self) -> list[StoredEvent]:
        """The committed events, as of now (a copy, so commits never show through)."""
        with self.lock:
            return self.events[:]

    def as_of_now(self) -> tuple[list[StoredEvent], dict[int, str]]:
        """The committed events and heads, as of one moment."""
        with self.lock:
            return self.events[:], dict(self.heads)


class MemoryTransaction(ChainedTransaction):
    """Reads and appends inside one write transaction of a :class:`MemoryRecorder`.

    Appends are kept aside until the commit: reads here see them, nobody else does.
    """

    def __init__(self, log: _Log, now_iso: str):
        self._log = log
        self._pending: list[StoredEvent] = []
        self._taken: dict[str, int] = {}  # stream versions appended here
        self._started: dict[str, StoredEvent] = {}  # season_started appended here
        last = log.events[-1] if log.events else None
        super().__init__(now_iso, *((last.seq, last.hash) if last else (0, GENESIS_HASH)))

    def _all(self) -> Iterator[StoredEvent]:
        return itertools.chain(self._log.events, self._pending)

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` with a seq above ``after_seq`` (including those
        appended in this transaction)."""
        return [_record(e) for e in self._all() if e.season == season and e.seq > after_seq]

    def season_last_seq(self, season: str) -> int:
        """The seq of the newest record of ``season`` (0 if it has none)."""
        mine = [e.seq for e in self._pending if e.season == season]
        return mine[-1] if mine else self._log.season_last.get(season, 0)

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return [e.season for e in self._all() if e.type == "season_started"]

    def season_start(self, season: str) -> dict[str, Any] | None:
        """``season``'s ``season_started`` payload (``None`` if there is no such season)."""
        event = self._started.get(season) or self._log.starts.get(season)
        return None if event is None else cast(dict[str, Any], parse_json(event.payload))

    def _stored_version(self, stream: str) -> int:
        return self._taken.get(stream, self._log.versions.get(stream, 0))

    def _insert(self, events: Iterator[StoredEvent]) -> None:
        for event in events:
            latest = self._taken.get(event.stream, self._log.versions.get(event.stream, 0))
            if event.version <= latest:
                raise StoreError(
                    f"{MEMORY_LABEL}: stream {event.stream!r} already has version {event.version}"
                )
            self._taken[event.stream] = event.version
            self._pending.append(event)
            if event.type == "season_started":
                self._started.setdefault(event.season, event)

    def commit(self) -> None:
        """Publish the appended events (and note the new head)."""
        if not self._pending:
            return
        log = self._log
        with log.lock:
            log.events.extend(self._pending)
            log.versions.update(self._taken)
            log.season_last.update((e.season, e.seq) for e in self._pending)
            for season, event in self._started.items():
                log.starts.setdefault(season, event)
            log.heads[self.last_seq] = self.last_hash


class _MemorySnapshot:
    """The committed events as of one moment (later commits replace, never change, them)."""

    def __init__(self, events: Sequence[StoredEvent], heads: dict[int, str]):
        self._events = sorted(events, key=operator.attrgetter("seq"))  # as a file orders them
        self._heads = heads

    def events(self, first: int | None = None, last: int | None = None) -> Iterator[StoredEvent]:
        return (
            e
            for e in self._events
            if (first is None or e.seq >= first) and (last is None or e.seq <= last)
        )

    def chained(self, first: int = 1, last: int | None = None) -> Iterator[tuple[Any, ...]]:
        if first <= 1 and last is None:
            return (e[:10] for e in self._events)  # seq .. hash (CHAIN_COLUMNS)
        return (e[:10] for e in self._events if e.seq >= first and (last is None or e.seq <= last))

    def count(self) -> int:
        return len(self._events)

    def heads(self, first: int = 1, last: int | None = None) -> dict[int, str]:
        if first <= 1 and last is None:
            return self._heads
        return {s: h for s, h in self._heads.items() if s >= first and (last is None or s <= last)}

    def missing_guards(self) -> list[str]:
        return []  # nothing outside this process can change the list


class MemoryRecorder:
    """The event log in memory (see the module docstring); open it as ``Store.memory()``."""

    def __init__(self, busy_timeout: float = 10.0):
        self.path = MEMORY_LABEL
        """Where the log lives, as messages name it."""
        self.readonly = False
        """A memory store is never read-only."""
        self.busy_timeout = busy_timeout
        """Seconds a write waits for another thread's write transaction."""
        self._log = _Log()
        self._writer = threading.Lock()
        self._writing: int | None = None  # the thread in a write transaction

    @contextlib.contextmanager
    def write(self, now_iso: str, *, bulk: bool = False) -> Iterator[MemoryTransaction]:
        """A write transaction: its appends are published together if the block ends
        normally, and dropped if it raises (``bulk`` changes nothing: one writer at a
        time)."""
        if self._writing == threading.get_ident():
            raise StoreError(f"{MEMORY_LABEL}: cannot start a transaction within a transaction")
        if not self._writer.acquire(timeout=self.busy_timeout):
            raise StoreBusyError(
                f"{MEMORY_LABEL} is locked by another thread (waited {self.busy_timeout:g} s); "
                "try again when it has finished"
            )
        self._writing = threading.get_ident()
        try:
            tx = MemoryTransaction(self._log, now_iso)
            yield tx
            tx.commit()
        finally:
            self._writing = None
            self._writer.release()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[_MemorySnapshot]:
        """The committed log as of now."""
        yield _MemorySnapshot(*self._log.as_of_now())

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        return [e.season for e in self._log.committed() if e.type == "season_started"]

    def latest_season(self, season: str | None = None) -> str | None:
        """``season`` if stored, or the most recently started one (see the protocol)."""
        started = self._log.season_last  # by season, in the order each first appeared
        if season is None:
            return next(reversed(started), None)
        return season if season in started else None

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` (with a seq above ``after_seq``), in ``seq`` order."""
        events = self._log.committed()
        return [_record(e) for e in events[after_seq:] if e.season == season and e.seq > after_seq]

    def records(self, season: str | None = None) -> Iterator[Record]:
        """Every record (or one season's), in ``seq`` order."""
        events = self._log.committed()
        return (_record(e) for e in events if season is None or e.season == season)

    def seasons_records(
        self, first: str | None = None, last: str | None = None, *, replay: bool = False
    ) -> Iterator[tuple[str, list[Record]]]:
        """Every season (with ids from ``first`` to ``last``, when both are given) with its
        records, one season at a time, in season-id order (with ``replay``, without
        ``recorded_at`` and ``hash``: see the protocol)."""
        events = self._log.committed()
        if first is not None and last is not None:
            events = [e for e in events if first <= e.season <= last]
        mapped = _replay_record if replay else _record
        for season, group in itertools.groupby(sorted(events, key=_SEASON), key=_SEASON):
            yield season, list(map(mapped, group))

    def head(self) -> tuple[int, str]:
        """The newest event's seq and hash."""
        log = self._log
        with log.lock:
            last = log.events[-1] if log.events else None
        return (last.seq, last.hash) if last else (0, GENESIS_HASH)

    def projected(self, key: str, seasons: Sequence[str]) -> Iterator[tuple[str, int, str | None]]:
        """Each season's newest seq and its projected findings if current (see the
        protocol)."""
        log = self._log
        with log.lock:
            newest = {s: log.season_last.get(s, 0) for s in seasons}
            kept = {s: log.findings.get(s) for s in seasons}
        for season in seasons:
            row, last = kept[season], newest[season]
            current = row is not None and row[1] == last and row[2] == key
            yield season, last, row[3] if current and row is not None else None

    def project(self, rows: Iterable[ProjectedRow]) -> bool:
        """Keep ``rows`` in the findings projection (never busy: a dictionary under a lock)."""
        log = self._log
        with log.lock:
            for row in rows:
                known = log.findings.get(row[0])
                if known is None or known[1] <= row[1]:
                    log.findings[row[0]] = row
        return True

    def close(self) -> None:
        """Nothing to release: the log lives as long as this object."""
