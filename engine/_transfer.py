"""Export and import of seasons as JSONL (DESIGN §6).

One JSON object per line: ``type``, ``program`` (if any), ``at``, the payload
fields flat, and optionally ``season``, ``override``; an export adds ``seq``,
``recorded_at``, ``schema_version`` and ``hash`` so that importing it into an empty
store reproduces every event and hash. Import is all-or-nothing and names the
line (and field) of the first problem.

Import streams: it reads the lines one by one and writes each season (or an export's
lines, in seq order) in batches inside its one transaction (:data:`WINDOW` says when),
so what it holds is bounded (:data:`HOLD`), not by the file; and it looks up in the
store only the seasons the input names. What it writes is what reading every line first
would write (the same records, seqs and findings), however the lines are ordered: a
file not grouped by season (sorted by date, say) is read again and written at its end.
With :attr:`Store.on_recorded <prematch.engine.Store.on_recorded>` hooks, the store
keeps every record for them until the commit (their contract: the records of the
transaction, together).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import marshal
import pickle
import sqlite3
import sys
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from prematch.engine._admission import admit
from prematch.engine._bulk import paused_gc
from prematch.engine._clock import Clock, checked_clock, system_clock
from prematch.engine._errors import (
    PrematchError,
    StoreBusyError,
    StoreError,
    UnknownSeasonError,
    located,
)
from prematch.engine._intake import Intake, Pending, decode_line, place_dates, program_zones
from prematch.engine._records import Record, utc_iso
from prematch.engine._replay import phase
from prematch.engine._rulebook import RulebookProtocol
from prematch.engine._state import SeasonState
from prematch.engine._store import Store, Transaction
from prematch.engine._verdicts import AuditFinding, Judged

__all__ = [
    "ImportResult",
    "SeasonChangedError",
    "export_lines",
    "import_lines",
    "import_objects",
    "in_write_order",
]

_SEQ_FIELDS = ("retracts", "news_seq")


def export_lines(store: Store, season: str | None = None) -> Iterator[str]:
    """Every event (of one season, or all) as import-ready JSONL lines, in ``seq`` order.

    Raises :class:`UnknownSeasonError` at once if the store holds no season ``season``
    (an export of nothing would pass for an empty backup)."""
    if season is not None and store.latest_season(season) is None:
        raise UnknownSeasonError(f"no season {season!r}", season=season)
    return _lines(store, season)


def _lines(store: Store, season: str | None) -> Iterator[str]:
    for r in store.records(season):
        line: dict[str, Any] = {"seq": r.seq, "season": r.season, "type": r.type}
        if r.program is not None:
            line["program"] = r.program
        line["at"] = utc_iso(r.occurred_at)
        line.update(r.payload)
        if r.override is not None:
            line["override"] = r.override
        line.update(recorded_at=r.recorded_at, schema_version=r.schema_version, hash=r.hash)
        yield json.dumps(line, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote."""

    events: int
    seasons: tuple[str, ...]
    overridden: int
    warnings: int
    hashes_reproduced: int = 0
    warned: tuple[tuple[int | None, AuditFinding], ...] = ()
    """Each warning: the input line it came from (if known), and the finding at its event."""
    out_of_season: tuple[tuple[int | None, str], ...] = ()
    """Each event dated outside its season's likely span: the input line it came from (if
    known) and what to check (:meth:`SeasonState.out_of_season`; written all the same)."""
    changed_from_line: int | None = None
    """An export restored into an empty store: the first line whose event does not give
    the hash the export wrote, every line before it having given its own (the file was
    changed after it was exported); ``None`` otherwise."""

    def to_json(self) -> dict[str, Any]:
        """The ``import --json`` shape: ``events``, ``seasons``, ``overridden``,
        ``warnings``, ``changed_from_line``."""
        return {
            "events": self.events,
            "seasons": list(self.seasons),
            "overridden": self.overridden,
            "warnings": self.warnings,
            "changed_from_line": self.changed_from_line,
        }


def _replay_order(item: Pending) -> tuple[int, dt.datetime, int]:
    return phase(item.type), item.at, item.line or 0


def import_lines(
    store: Store,
    lines: Iterable[bytes | str] | IO[bytes],
    *,
    default_season: str | None = None,
    rulebook: RulebookProtocol,
    clock: Clock = system_clock,
    allow_violations: bool = False,
    restore: bool = False,
) -> ImportResult:
    """Import JSONL lines into ``store`` in one transaction: everything, or nothing.

    ``lines`` is read as it comes (give an open file, not its lines read into a list, to
    keep a large import's memory small). If they turn out not to be grouped by season
    after some seasons were written (see :data:`WINDOW`), they are read again from their
    start: a seekable file is, a list is iterated again, and the lines of an iterator
    (a pipe, a generator) are kept in a temporary file while that can happen.

    An event's time may not be after the ``clock``'s now, but with ``restore``: the lines
    are then a store's own export copied whole (``prematch copy``), facts already
    recorded, whatever the clock of this machine says (it still gives the moment the
    copy is written)."""
    source = _Source(lines, _same, _same)

    def objects(raw_lines: Iterable[bytes | str]) -> Iterator[tuple[int, dict[str, Any]]]:
        return (
            (number, obj)
            for number, raw in enumerate(raw_lines, start=1)
            if (obj := decode_line(raw, number)) is not None
        )

    return _guarded(
        store,
        source,
        objects,
        default_season=default_season,
        rulebook=rulebook,
        clock=clock,
        allow_violations=allow_violations,
        restore=restore,
    )


def import_objects(
    store: Store,
    objects: Iterable[tuple[int, dict[str, Any]]],
    *,
    default_season: str | None = None,
    rulebook: RulebookProtocol,
    clock: Clock = system_clock,
    allow_violations: bool = False,
    expected_last_seq: int | None = None,
) -> ImportResult:
    """:func:`import_lines` for events already given as objects, each with its line number.

    The objects have the shape of JSONL lines (see :meth:`Intake.from_object
    <prematch.engine._intake.Intake.from_object>`); errors name their line. They are read
    again from their start as lines are. With ``expected_last_seq``, the write happens
    only if ``default_season``'s newest seq is still that one when the write lock is held
    (else :class:`SeasonChangedError`): the objects were planned against that log.
    """
    return _guarded(
        store,
        _Source(objects, pickle.dumps, pickle.loads),
        _same,
        default_season=default_season,
        rulebook=rulebook,
        clock=clock,
        allow_violations=allow_violations,
        expected_last_seq=expected_last_seq,
    )


class SeasonChangedError(StoreBusyError):
    """Another writer appended to the season after the caller planned its import; nothing
    was written (plan again against the log as it is now)."""


def _same(value: Any) -> Any:
    return value


def _guarded(
    store: Store,
    source: _Source,
    objects: Callable[[Iterable[Any]], Iterable[tuple[int, dict[str, Any]]]],
    *,
    default_season: str | None,
    rulebook: RulebookProtocol,
    clock: Clock,
    allow_violations: bool,
    expected_last_seq: int | None = None,
    restore: bool = False,
) -> ImportResult:
    """Import ``objects(source.first())``; if they turn out not to be grouped by season
    after some seasons were written, import ``objects(source.again())``, writing nothing
    before every line is read."""
    now = checked_clock(clock)()
    args = (store, default_season, rulebook, now, allow_violations, expected_last_seq, restore)
    with paused_gc(), source:
        try:
            return _import(objects(source.first()), *args, source=source)
        except _Regroup:
            pass  # (out of the handler: its traceback holds what the first reading held)
        return _import(objects(source.again()), *args, source=None)


class _Source:
    """An import's input, read as it comes, and again from its start if need be.

    A seekable file is read again from where it started, an iterable that is not an
    iterator (a list) is iterated again; the items of an iterator are kept (``pack``
    turns one into what SQLite stores, ``unpack`` back) from the first until
    :meth:`needless`: in memory until :meth:`wrote`, then in a temporary SQLite file.
    """

    def __init__(
        self, items: Iterable[Any], pack: Callable[[Any], Any], unpack: Callable[[Any], Any]
    ):
        self.items, self.pack, self.unpack = items, pack, unpack
        self.stream: IO[Any] | None = None  # a seekable file
        self.start = 0  # where it was when the import began
        self.keeping = False  # whether the items given are kept
        self.kept: list[Any] = []  # those not in the file yet
        self.file: sqlite3.Connection | None = None
        seekable = getattr(items, "seekable", None)
        if seekable is not None and seekable():
            self.stream = cast("IO[Any]", items)
            self.start = self.stream.tell()
        elif iter(items) is items:
            self.keeping = True

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *_: object) -> None:
        self.needless()

    def first(self) -> Iterable[Any]:
        """The items, as they come."""
        return self._kept() if self.keeping else self.items

    def again(self) -> Iterable[Any]:
        """The items from the first (those :meth:`first` gave, then the rest)."""
        if self.stream is not None:
            self.stream.seek(self.start)
            return self.stream
        if not self.keeping:
            return self.items
        self.keeping = False
        return itertools.chain(self._stored(), self.kept, self.items)

    def wrote(self) -> None:
        """The import wrote its first batch: keep the items in a file from now on."""
        if self.keeping and self.file is None:
            self.file = sqlite3.connect("")  # "": a private temporary file
            self.file.execute("PRAGMA journal_mode=OFF")
            self.file.execute("CREATE TABLE kept (item)")
            self._flush()

    def needless(self) -> None:
        """The items will not be read again: forget them."""
        self.keeping = False
        self.kept = []
        if self.file is not None:
            self.file.close()
            self.file = None

    def _kept(self) -> Iterator[Any]:
        kept = self.kept
        for item in self.items:
            if self.keeping:
                kept.append(item)
                if len(kept) >= 4096 and self.file is not None:
                    self._flush()
            yield item

    def _flush(self) -> None:
        if self.file is not None:
            pack = self.pack
            self.file.executemany("INSERT INTO kept VALUES (?)", ((pack(i),) for i in self.kept))
            self.kept.clear()  # in place: _kept appends to it

    def _stored(self) -> Iterator[Any]:
        if self.file is not None:
            unpack = self.unpack
            for (item,) in self.file.execute("SELECT item FROM kept ORDER BY rowid"):
                yield unpack(item)


def _import(
    objects: Iterable[tuple[int, dict[str, Any]]],
    store: Store,
    default_season: str | None,
    rulebook: RulebookProtocol,
    now: dt.datetime,
    allow_violations: bool,
    expected_last_seq: int | None,
    restore: bool,
    *,
    source: _Source | None,
) -> ImportResult:
    """Import ``objects`` in one transaction; ``source``, if given, hears when the first
    batch is written, and when no batch will be written before every line is read (else
    nothing is)."""
    with store.write(utc_iso(now), bulk=True) as tx:
        if (
            expected_last_seq is not None
            and default_season is not None
            and tx.season_last_seq(default_season) != expected_last_seq
        ):
            raise SeasonChangedError(
                f"season {default_season!r} changed while this was being planned; "
                "nothing was written (run it again)"
            )
        stored: set[str] = set()  # the seasons the input names that the store holds

        def zone(season: str) -> str | None:
            start = tx.season_start(season)
            if start is None:
                return None
            stored.add(season)
            return str(start["timezone"])

        def records(season: str) -> list[Record]:
            return tx.season_records(season) if season in stored else []

        intake = Intake(
            {},
            now,
            current=default_season,
            programs=lambda season: program_zones(records(season)),
            seasons=zone,
            future=restore,
        )
        writer = _BatchWriter(tx, stored, rulebook, allow_violations)
        _Stream(intake, writer, records, now, source=source).run(objects)
    return ImportResult(
        events=tx.last_seq - tx.first_seq,
        seasons=tuple(writer.seasons),
        overridden=writer.overridden,
        warnings=writer.warnings,
        hashes_reproduced=writer.reproduced,
        warned=tuple(writer.warned),
        out_of_season=tuple(writer.out_of_season),
        changed_from_line=writer.changed_from,
    )


WINDOW = 20_000
"""How many lines an import reads past a season's last line before it writes the season.

An import streams: it holds the lines of the seasons not written yet and writes the
season whose first line came first once ``WINDOW`` lines of others have followed its last
line (then the next such one), so that seasons get their seqs in the order of their first
lines, each season's together. Lines restored from an export (every line has its
``seq``) are written in ``seq`` order, the lowest ``WINDOW`` whenever ``2 * WINDOW`` are
held. A file of at most ``WINDOW`` lines is written once it is all read.

Nothing of this shows in what is written: if a season is named again after it was
written (a file sorted by date, not by season), or an export's line comes after lines of
a higher seq were written, the import rolls back and starts again from the input's first
line (what was read so far is read twice), writing nothing before every line is read (the
lines it holds past :data:`HOLD` wait in a temporary file). Either way, the store gets the
records, seqs and findings that reading every line first would give.
"""

HOLD = 40_000
"""How many lines not yet written an import keeps in memory (some 40 MB): past it, it keeps
them in a temporary file (deleted when the import ends) and writes them once every line is
read, each season's in one batch."""


class _Regroup(Exception):
    """The input is not grouped as the seasons written so far assumed: import it again,
    writing nothing before every line is read."""


def in_write_order(existing: Sequence[Record], group: list[Pending], now: dt.datetime) -> None:
    """Put one season's new events (``group``, in the order of their lines) as an import
    writes them after ``existing``: each dated one placed within its day, then sorted in
    replay order (the order they get their seqs in)."""
    if any(i.dated for i in group):  # given as a date alone
        place_dates(existing, group, now)
    group.sort(key=_replay_order)


class _Stream:
    """Reads pending events one by one and hands them to the writer in batches.

    A season's lines are written together, in replay order, with consecutive seqs, and
    seasons in the order of their first lines (:data:`WINDOW` says when). A season with a
    time still waiting for a later line (:meth:`Intake.waiting`) is not written before
    every line is in. Without a ``source`` to tell (see :meth:`_Source.wrote`), nothing is
    written before every line is in.
    """

    def __init__(
        self,
        intake: Intake,
        writer: _BatchWriter,
        records: Callable[[str], list[Record]],
        now: dt.datetime,
        *,
        source: _Source | None,
    ):
        self.intake, self.writer, self.records, self.now = intake, writer, records, now
        self.source = source
        self.defer = source is None  # write nothing before every line is read
        self.read = 0  # pending events read so far
        self.gone = 0  # of those, how many were written or put in the spill
        self.held: dict[str, list[Pending]] = {}  # by season, in order of first line
        self.first: dict[str, int] = {}  # each season held (or spilled): its first line
        self.current: str | None = None  # the season of the latest event
        self.seen: dict[str, int] = {}  # other held seasons -> `read` at their latest event
        self.written: set[str] = set()
        self.wrote = False  # whether a batch was handed to the writer
        self.restoring = True  # every line so far came from an export (has its seq)
        self.restored: list[Pending] = []  # those lines, while restoring
        self.restored_upto = 0  # the highest seq of an export written
        self.spill: _Spill | None = None  # once HOLD lines were held: the rest wait there
        self.kept: list[Pending] = []  # events of the spill waiting for settle (in memory)

    def run(self, objects: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Read, check and write every object; all of them, or (raising) none.

        An input error is raised as soon as its line is read. A problem found while
        writing (a refusal, an impossible event) is raised once the remaining lines are
        read and checked too, so that, as when every line is read first, an input error on
        any line takes precedence (and a line that shows the input is not grouped as the
        written seasons assumed raises :class:`_Regroup`).
        """
        source = iter(objects)
        try:
            try:
                self._read(source)
                self.intake.settle()
                self._finish()
                return
            except _WriteError as failed:
                problem = failed.error
            for number, obj in source:
                if self._regroups(self.intake.from_object(obj, number)):
                    raise _Regroup
            self.intake.settle()
            raise problem
        finally:
            if self.spill is not None:
                self.spill.close()

    def _read(self, source: Iterator[tuple[int, dict[str, Any]]]) -> None:
        from_object = self.intake.from_object
        group: list[Pending] = []  # the current season's
        for number, obj in source:
            item = from_object(obj, number)
            self.read += 1
            if self.restoring:
                self._restoring(item)
                if self.restoring:
                    continue
                group = self.held[item.season]  # what was restored is held from now on
                self.current = item.season
            elif item.season is self.current:  # ids are interned: the common case
                group.append(item)
            else:
                group = self._switch(item)

    def _regroups(self, item: Pending) -> bool:
        """Whether ``item``, read after a write failed, shows that the input is not grouped
        as the batches written (or tried) assumed."""
        if not self.restoring:
            return item.season in self.written
        return (item.seq is None and self.wrote) or (item.seq or 0) <= self.restored_upto

    def _switch(self, item: Pending) -> list[Pending]:
        """Hold ``item``, of another season than the latest; write the seasons whose turn
        came. Returns the list ``item``'s season is held in."""
        season, previous = item.season, self.current
        if previous is not None and previous in self.held:
            self.seen[previous] = self.read - 1
        self.current = season
        group = self.held.get(season)
        if group is None:
            if season in self.written:
                raise _Regroup
            group = self.held[season] = []
            self.first.setdefault(season, item.line or 0)  # (restored lines may be spilled)
        group.append(item)
        if not self.defer and self.spill is None:
            self._write_quiet()
        if self.read - self.gone > HOLD:
            self._to_spill()
        return group

    def _write_quiet(self) -> None:
        """Write the season of the earliest first line, while no line has named it for
        :data:`WINDOW` lines (and no time of it waits for a later line)."""
        while self.held:
            front = next(iter(self.held))
            latest = self.seen.get(front)
            if (
                front is self.current
                or latest is None
                or self.read - latest <= WINDOW
                or self.intake.waiting(front)
            ):
                return
            del self.seen[front]
            self._season(front)

    def _restoring(self, item: Pending) -> None:
        """Hold ``item`` while every line came from an export; the first that did not
        ends that."""
        if item.seq is None:
            if self.wrote:
                raise _Regroup
            self.restoring = False
            for earlier in self.restored:
                self._hold(earlier)
            self.restored = []
            self._hold(item)
            self.seen.update((s, self.read - 1) for s in self.held if s != item.season)
            return
        if item.seq <= self.restored_upto:
            raise _Regroup
        self.restored.append(item)
        if (
            self.spill is None
            and not self.defer
            and len(self.restored) >= 2 * WINDOW
            and not self.intake.waiting()
        ):
            self._restore(WINDOW)
        if self.read - self.gone > HOLD:
            self._to_spill()

    def _hold(self, item: Pending) -> None:
        group = self.held.get(item.season)
        if group is None:
            group = self.held[item.season] = []
            self.first.setdefault(item.season, item.line or 0)
        group.append(item)

    def _to_spill(self) -> None:
        """Move every held event to the spill (but those waiting for settle)."""
        if self.spill is None:
            self.spill = _Spill()
            if not self.wrote and self.source is not None:
                self.source.needless()  # nothing is written before the end now: no _Regroup
        waiting = {id(p) for p in self.intake.unsettled()} if self.intake.waiting() else set()
        first = self.first
        rows: list[tuple[int, int | None, int, bytes]] = []
        if self.restoring:
            for item in self.restored:
                if id(item) in waiting:
                    self.kept.append(item)
                    continue
                line = item.line or 0
                pos = first.setdefault(item.season, line)
                rows.append((pos, item.seq, line, _packed(item)))
            self.restored = []
        else:
            for season, group in self.held.items():
                pos = first[season]
                for item in group:
                    if id(item) in waiting:
                        self.kept.append(item)
                    else:
                        rows.append((pos, item.seq, item.line or 0, _packed(item)))
                group.clear()  # the list stays: the reader appends the season's next lines
        self.spill.add(rows)
        self.gone += len(rows)

    def _finish(self) -> None:
        if self.spill is None:
            if self.restoring:
                self._restore(len(self.restored))
                return
            for season in list(self.held):
                self._season(season)
            return
        self._to_spill()
        kept, self.kept = self.kept, []  # settled by now
        first = self.first
        self.spill.add(
            (first.setdefault(i.season, i.line or 0), i.seq, i.line or 0, _packed(i)) for i in kept
        )
        if self.restoring:
            for batch in self.spill.in_seq_order(WINDOW):
                self._write(batch, restoring=True)
            return
        for group in self.spill.by_season():
            self._group(group)

    def _season(self, season: str) -> None:
        """Write ``season``'s held events."""
        self.written.add(season)
        group = self.held.pop(season)
        self.gone += len(group)
        self._group(group)

    def _group(self, group: list[Pending]) -> None:
        """Write one season's events (in the order of their lines): placed, in replay order."""
        in_write_order(self.records(group[0].season), group, self.now)
        self._write(group, restoring=False)

    def _restore(self, count: int) -> None:
        """Write the ``count`` restored events of the lowest seqs, in ``seq`` order (so that
        every hash comes out the same)."""
        self.restored.sort(key=_old_seq)
        batch, self.restored = self.restored[:count], self.restored[count:]
        if batch:
            self.restored_upto = _old_seq(batch[-1])
            self.gone += len(batch)
            self._write(batch, restoring=True)

    def _write(self, batch: list[Pending], *, restoring: bool) -> None:
        if not self.wrote and self.source is not None:
            self.source.wrote()
        self.wrote = True
        try:
            self.writer.write(batch, restoring=restoring)
        except StoreError:
            raise  # the store failed: no line of the input can change that
        except PrematchError as e:
            raise _WriteError(e) from e


class _WriteError(Exception):
    """A problem found while writing (raised after every remaining line is checked)."""

    def __init__(self, error: PrematchError):
        super().__init__(str(error))
        self.error = error


class _Spill:
    """Events waiting to be written, in a temporary SQLite database of their own (a file
    SQLite deletes when it is closed), so that what an import holds stays small."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "": a private temporary file
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(
            "CREATE TABLE held (pos INTEGER NOT NULL, seq INTEGER, line INTEGER NOT NULL, "
            "item BLOB NOT NULL)"
        )

    def add(self, rows: Iterable[tuple[int, int | None, int, bytes]]) -> None:
        """Keep events: (their season's first line, seq, line, :func:`_packed` event)."""
        self.db.executemany("INSERT INTO held VALUES (?, ?, ?, ?)", rows)

    def by_season(self) -> Iterator[list[Pending]]:
        """Each season's events, in the order of their lines; seasons in the order of
        their first lines."""
        rows = self.db.execute("SELECT pos, item FROM held ORDER BY pos, line")
        for _, group in itertools.groupby(rows, key=_first_field):
            yield [_unpacked(item) for _, item in group]

    def in_seq_order(self, size: int) -> Iterator[list[Pending]]:
        """The events in batches of ``size``, in the order of their seqs (then lines)."""
        rows = self.db.execute("SELECT item FROM held ORDER BY seq, line")
        while batch := rows.fetchmany(size):
            yield [_unpacked(item) for (item,) in batch]

    def close(self) -> None:
        """Delete the events kept."""
        self.db.close()


def _first_field(row: tuple[Any, ...]) -> Any:
    return row[0]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _packed(item: Pending) -> bytes:
    """``item`` as bytes for :class:`_Spill` (marshal: ten times faster than pickle; its
    payload holds JSON values only)."""
    reading = None if item.reading is None else pickle.dumps(item.reading)
    return marshal.dumps(
        (
            item.season,
            item.type,
            item.program,
            (item.at - _EPOCH) // _MICROSECOND,
            item.payload,
            item.override,
            item.line,
            item.seq,
            item.recorded_at,
            item.schema_version,
            item.hash,
            reading,
        )
    )


def _unpacked(data: bytes) -> Pending:
    """The event :func:`_packed` gave ``data`` for."""
    fields = marshal.loads(data)
    season, kind, program, at, payload, override, line, seq, recorded, version, digest, reading = (
        fields
    )
    return Pending(
        sys.intern(season),
        sys.intern(kind),
        program,
        _EPOCH + at * _MICROSECOND,
        payload,
        override,
        line,
        seq,
        recorded,
        version,
        digest,
        None if reading is None else pickle.loads(reading),
    )


def _old_seq(item: Pending) -> int:
    return item.seq or 0


class _BatchWriter:
    """Gives a batch of pending events their seqs, admits them season by season, appends them."""

    def __init__(
        self,
        tx: Transaction,
        stored: Collection[str],
        rulebook: RulebookProtocol,
        allow_violations: bool,
    ):
        self.tx, self.stored, self.rulebook = tx, stored, rulebook
        self.blocked_override = "imported" if allow_violations else None
        self.seasons: dict[str, None] = {}
        self.overridden = self.warnings = self.reproduced = 0
        self.changed_from: int | None = None
        self.warned: list[tuple[int | None, AuditFinding]] = []
        self.out_of_season: list[tuple[int | None, str]] = []
        # Each season's likely span (only the two instants: a national cohort has 50,000).
        self.spans: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        self.renumbered = _Renumbering()

    def write(self, batch: list[Pending], *, restoring: bool) -> None:
        """Admit and append ``batch`` (events in the order they get seqs); ``restoring``:
        they come from an export (their seqs, in order)."""
        first = self.tx.last_seq + 1
        by_season = self._provisional(batch, first, restoring)
        admitted: list[Record] = []
        for season, new in by_season.items():
            # This import's earlier batches of the season (restoring) count as stored.
            existing = (
                self.tx.season_records(season)
                if season in self.stored or season in self.seasons
                else []
            )
            try:
                results = admit(
                    existing,
                    new,
                    self.rulebook,
                    blocked_override=self.blocked_override,
                    resolve_news=not restoring,
                )
            except PrematchError as e:
                if e.seq is None or not first <= e.seq < first + len(batch):
                    raise
                with located(line=batch[e.seq - first].line):
                    raise
            admitted.extend(a.record for a in results)
            self._check_dates(season, existing, results, batch, first)
            for a in results:
                r = a.record
                for f in a.findings:
                    if f.severity == "warn":
                        self.warnings += 1
                        line = (
                            batch[r.seq - first].line
                            if first <= r.seq < first + len(batch)
                            else None
                        )
                        program = r.program if f.program is None else f.program
                        self.warned.append(
                            (
                                line,
                                AuditFinding(f.rule, "warn", program, r.seq, f.message, f.source),
                            )
                        )
            self.seasons[season] = None
        admitted.sort(key=lambda r: r.seq)
        self.overridden += sum(1 for r in admitted if r.override is not None)

        def compare(stored: Record) -> None:
            item = batch[stored.seq - first]
            if item.hash == stored.hash:
                self.reproduced += 1
            elif (
                item.hash is not None
                and self.changed_from is None
                and item.seq == stored.seq == self.reproduced + 1  # all before it held
            ):
                self.changed_from = item.line

        hashes = any(i.hash is not None for i in batch)
        self.tx.append_each(admitted, compare if hashes else None)

    def _check_dates(
        self,
        season: str,
        existing: list[Record],
        results: list[Judged],
        batch: list[Pending],
        first: int,
    ) -> None:
        """Note each event of ``results`` dated outside its season's likely span."""
        started = existing[0] if existing else results[0].record  # season_started first
        span = self.spans.get(season)
        if span is None:
            span = self.spans[season] = SeasonState.start(started).span()
        start, end = span
        for a in results:
            r = a.record
            if not start <= r.occurred_at < end:
                odd = SeasonState.start(started).out_of_season(r.occurred_at, r.type)
                line = batch[r.seq - first].line if first <= r.seq < first + len(batch) else None
                if odd is not None:
                    self.out_of_season.append((line, odd))

    def _provisional(
        self, batch: list[Pending], first: int, restoring: bool
    ) -> dict[str, list[Record]]:
        if restoring:
            self.renumbered.add((i.seq or 0 for i in batch), first)
        by_season: dict[str, list[Record]] = {}
        for seq, item in enumerate(batch, first):
            if restoring:
                new = self.renumbered.new
                item.payload = {
                    k: new(v) if k in _SEQ_FIELDS else v for k, v in item.payload.items()
                }
            by_season.setdefault(item.season, []).append(item.record(seq))
        return by_season


class _Renumbering:
    """The seq each restored event of this import got, by its seq in the export: runs of
    consecutive seqs, so that a whole store's export takes one entry."""

    def __init__(self) -> None:
        self._old = array("q")  # each run's first old seq, ascending
        self._new = array("q")  # the new seq it got
        self._length = array("q")

    def add(self, old_seqs: Iterable[int], first: int) -> None:
        """Note ``old_seqs`` (ascending, above every one noted) as written from ``first`` on."""
        for new, old in enumerate(old_seqs, first):
            if (
                self._old
                and old == self._old[-1] + self._length[-1]
                and self._new[-1] + self._length[-1] == new
            ):
                self._length[-1] += 1
            else:
                self._old.append(old)
                self._new.append(new)
                self._length.append(1)

    def new(self, value: Any) -> Any:
        """The seq that the event at seq ``value`` of the export got (``value`` itself if
        no event of this import had it)."""
        if value.__class__ is not int:
            return value
        run = bisect.bisect_right(self._old, value) - 1
        if run < 0 or value >= self._old[run] + self._length[run]:
            return value
        return self._new[run] + value - self._old[run]
