"""What a backend of the event log must do: the :class:`Recorder` interface (DESIGN §7).

A recorder keeps :class:`~prematch.engine._mapper.StoredEvent` rows and promises:
append-only; a global, gapless ``seq``; one event per (stream, version), where a
stream is one program's (or the season's own) events; a SHA-256 hash chain over the
events (:mod:`prematch.engine._chain`); a head noted per committed write; and
all-or-nothing write transactions, one at a time, in which reads, validation and
appends are atomic. Beside the log, a recorder keeps the findings projection
(:mod:`prematch.engine._projection`): a cache of each season's audit, never part of the
log, the chain or ``verify``. :class:`~prematch.engine._store.Store` is the facade over one;
the backends are SQLite (:mod:`prematch.engine._sqlite`) and memory
(:mod:`prematch.engine._memory`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from prematch.engine._mapper import StoredEvent
from prematch.engine._records import Record

__all__ = ["ProjectedRow", "Recorder", "Snapshot", "Transaction"]

ProjectedRow = tuple[str, int, str, str]
"""One season's row of the findings projection: season id, the seq of the season's newest
record when it was judged, the key it was judged under, and the findings (a text only the
projection reads)."""


class Transaction(Protocol):
    """Reads and appends inside one write transaction (see :meth:`Recorder.write`)."""

    first_seq: int
    """The newest seq when the transaction began."""
    last_seq: int
    """The newest seq, counting what this transaction appended."""
    last_hash: str
    """The hash of the event at :attr:`last_seq`."""
    watch: Callable[[Record], object] | None
    """When set, called with each record as stored (before the commit)."""

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """Every record of ``season`` with a seq above ``after_seq`` (including those
        appended in this transaction), in ``seq`` order."""
        ...

    def season_last_seq(self, season: str) -> int:
        """The seq of the newest record of ``season`` (0 if it has none): its version."""
        ...

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        ...

    def season_start(self, season: str) -> dict[str, Any] | None:
        """``season``'s ``season_started`` payload (``None`` if the log has no such season,
        counting this transaction's appends). A lookup: its cost does not grow with the
        number of seasons."""
        ...

    def append(self, records: Iterable[Record]) -> list[Record]:
        """Append records in order; return them as stored (seq, recorded_at and hash set).

        The records' own ``seq`` and ``hash`` are ignored (the recorder assigns them);
        an empty ``recorded_at`` becomes the transaction's now.
        """
        ...

    def append_each(
        self, records: Iterable[Record], each: Callable[[Record], object] | None = None
    ) -> int:
        """:meth:`append` for bulk work: nothing is kept per record; ``each`` (if given)
        sees every record as stored. Returns how many were appended."""
        ...


class Snapshot(Protocol):
    """One consistent view of the stored log, for the chain check (nothing changes under it)."""

    def events(self, first: int | None = None, last: int | None = None) -> Iterator[StoredEvent]:
        """The stored events (with ``seq`` from ``first`` to ``last``, when given), in
        ``seq`` order, exactly as stored."""
        ...

    def chained(self, first: int = 1, last: int | None = None) -> Iterator[tuple[Any, ...]]:
        """The stored events' :data:`~prematch.engine._chain.CHAIN_COLUMNS` (``seq`` ..
        ``override``, then ``hash``) with ``seq`` from ``first`` (to ``last``, when given)
        as plain tuples, in ``seq`` order, exactly as stored: what the chain check hashes,
        read without building a :class:`StoredEvent` each."""
        ...

    def count(self) -> int:
        """How many events are stored."""
        ...

    def heads(self, first: int = 1, last: int | None = None) -> dict[int, str]:
        """The chain head each committed write noted: hash by seq (from ``first`` to
        ``last``, when given)."""
        ...

    def missing_guards(self) -> list[str]:
        """The guards that refuse edits and deletions (SQLite triggers) the store should
        have and lacks: empty when all are there, or for a backend that needs none."""
        ...


class Recorder(Protocol):
    """A backend of the event log (see the module docstring for what it promises)."""

    @property
    def path(self) -> Path | str:
        """Where the log lives: the database file, or a label that reads well in messages."""
        ...

    @property
    def readonly(self) -> bool:
        """Whether the store was opened only to read it (nothing is written, not even the
        findings projection)."""
        ...

    def write(self, now_iso: str, *, bulk: bool = False) -> AbstractContextManager[Transaction]:
        """A write transaction: it commits (noting the new head) if the block ends
        normally and leaves nothing behind if it raises. One writer at a time.

        ``bulk``: a write that may touch any number of seasons (an import). A backend
        that locks each season a write reads (PostgreSQL) locks the whole log for it
        instead, once."""
        ...

    def snapshot(self) -> AbstractContextManager[Snapshot]:
        """A consistent read-only view of the whole log."""
        ...

    def seasons(self) -> list[str]:
        """Season ids in the order they were started."""
        ...

    def latest_season(self, season: str | None = None) -> str | None:
        """``season`` if the log holds it (else ``None``); without one, the most recently
        started season (``None`` for an empty log). A lookup, not a listing: its cost does
        not grow with the number of seasons."""
        ...

    def season_records(self, season: str, after_seq: int = 0) -> list[Record]:
        """One season's stream of records (those with a seq above ``after_seq``), in
        ``seq`` order."""
        ...

    def records(self, season: str | None = None) -> Iterator[Record]:
        """Every record (or one season's), in ``seq`` order, streamed."""
        ...

    def seasons_records(
        self, first: str | None = None, last: str | None = None, *, replay: bool = False
    ) -> Iterator[tuple[str, list[Record]]]:
        """Every season (ids from ``first`` to ``last``, when both are given) with its
        records, one season at a time, in season-id order, streamed. With ``replay``, only
        what replay reads (:data:`~prematch.engine._mapper.REPLAY_COLUMNS`): each record's
        ``recorded_at`` and ``hash`` are empty (``""``)."""
        ...

    def head(self) -> tuple[int, str]:
        """The newest event's seq and hash (``0`` and the genesis hash when empty)."""
        ...

    def projected(self, key: str, seasons: Sequence[str]) -> Iterator[tuple[str, int, str | None]]:
        """Each of ``seasons``, in the order given, with the seq of its newest record (0
        if it has none) and its projected findings when the projection holds them for
        exactly that seq and ``key`` (else ``None``: stale, or never judged). A store
        without the projection's table has none. A lookup per season, not a scan."""
        ...

    def project(self, rows: Iterable[ProjectedRow]) -> bool:
        """Keep ``rows`` in the findings projection (each replaces its season's row unless
        that one was judged at a newer seq), in a transaction of their own. A cache: when
        the store is read-only, or busy (nothing waits long for it), nothing is kept and
        this answers ``False``; otherwise ``True``."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...
