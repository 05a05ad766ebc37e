"""Export and import of seasons as JSONL (DESIGN §6).

One JSON object per line: ``type``, ``program`` (if any), ``at``, the payload
fields flat, and optionally ``season``, ``override``; an export adds ``seq``,
``recorded_at``, ``schema_version`` and ``hash`` so that importing it into an empty
store reproduces every event and hash. Import is all-or-nothing and names the
line (and field) of the first problem.

Import streams: it reads the lines one by one and writes each season (or an export's
lines, in seq order) in batches inside its one transaction (:data:`WINDOW` says when),
so what it holds is bounded by the seasons being read, not by the file; and it looks
up in the store only the seasons the input names. With :attr:`Store.on_recorded
<prematch.engine.Store.on_recorded>` hooks, the store keeps every record for them
until the commit (their contract: the records of the transaction, together).
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from array import array
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from prematch.engine._admission import admit
from prematch.engine._bulk import paused_gc
from prematch.engine._clock import Clock, system_clock
from prematch.engine._errors import (
    InputError,
    PrematchError,
    StoreBusyError,
    StoreError,
    located,
)
from prematch.engine._intake import Intake, Pending, decode_line, place_dates, program_zones
from prematch.engine._records import Record, utc_iso
from prematch.engine._replay import phase
from prematch.engine._rulebook import RulebookProtocol
from prematch.engine._store import Store, Transaction
from prematch.engine._verdicts import AuditFinding

__all__ = ["ImportResult", "SeasonChangedError", "export_lines", "import_lines", "import_objects"]

_SEQ_FIELDS = ("retracts", "news_seq")


def export_lines(store: Store, season: str | None = None) -> Iterator[str]:
    """Every event (of one season, or all) as import-ready JSONL lines, in ``seq`` order."""
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

    def to_json(self) -> dict[str, Any]:
        """The ``import --json`` shape: ``events``, ``seasons``, ``overridden``, ``warnings``."""
        return {
            "events": self.events,
            "seasons": list(self.seasons),
            "overridden": self.overridden,
            "warnings": self.warnings,
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
) -> ImportResult:
    """Import JSONL lines into ``store`` in one transaction: everything, or nothing.

    ``lines`` is read once, as it comes (give an open file, not its lines read into a
    list, to keep a large import's memory small)."""
    objects = (
        (number, obj)
        for number, raw in enumerate(lines, start=1)
        if (obj := decode_line(raw, number)) is not None
    )
    return import_objects(
        store,
        objects,
        default_season=default_season,
        rulebook=rulebook,
        clock=clock,
        allow_violations=allow_violations,
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
    <prematch.engine._intake.Intake.from_object>`); errors name their line. With
    ``expected_last_seq``, the write happens only if ``default_season``'s newest seq is
    still that one when the write lock is held (else :class:`SeasonChangedError`): the
    objects were planned against that log.
    """
    with paused_gc():
        return _import(
            store, objects, default_season, rulebook, clock, allow_violations, expected_last_seq
        )


class SeasonChangedError(StoreBusyError):
    """Another writer appended to the season after the caller planned its import; nothing
    was written (plan again against the log as it is now)."""


def _import(
    store: Store,
    objects: Iterable[tuple[int, dict[str, Any]]],
    default_season: str | None,
    rulebook: RulebookProtocol,
    clock: Clock,
    allow_violations: bool,
    expected_last_seq: int | None = None,
) -> ImportResult:
    now = clock()
    with store.write(utc_iso(now)) as tx:
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
        )
        writer = _BatchWriter(tx, stored, rulebook, allow_violations)
        _Stream(intake, writer, records, now).run(objects)
    return ImportResult(
        events=tx.last_seq - tx.first_seq,
        seasons=tuple(writer.seasons),
        overridden=writer.overridden,
        warnings=writer.warnings,
        hashes_reproduced=writer.reproduced,
        warned=tuple(writer.warned),
    )


WINDOW = 20_000
"""How many lines an import reads past a season's last line before it writes the season.

An import streams: it holds the lines of the seasons still being read, and writes each
season (one batch, in replay order) once ``WINDOW`` lines of others have followed its
last line; a file of at most ``WINDOW`` lines is written once it is all read. Lines
restored from an export (every line has its ``seq``) are written in ``seq`` order, the
lowest ``WINDOW`` whenever ``2 * WINDOW`` are held.
"""


class _Stream:
    """Reads pending events one by one and hands them to the writer in batches.

    A season's lines are written together, in replay order, with consecutive seqs
    (:data:`WINDOW` says when). A season with a time still waiting for a later line
    (:meth:`Intake.waiting`) is held until every line is in.
    """

    def __init__(
        self,
        intake: Intake,
        writer: _BatchWriter,
        records: Callable[[str], list[Record]],
        now: dt.datetime,
    ):
        self.intake, self.writer, self.records, self.now = intake, writer, records, now
        self.read = 0  # pending events read so far
        self.held: dict[str, list[Pending]] = {}  # by season, in order of first appearance
        self.current: str | None = None  # the season of the latest event (not in `left`)
        self.left: OrderedDict[str, int] = OrderedDict()  # other held seasons -> their latest
        self.written: dict[str, int | None] = {}  # season -> the line of its last event
        self.restoring = True  # every line so far came from an export (has its seq)
        self.restored: list[Pending] = []  # those lines, while restoring
        self.restored_upto = 0  # the highest seq of an export written

    def run(self, objects: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Read, check and write every object; all of them, or (raising) none.

        An input error is raised as soon as its line is read. A problem found while
        writing (a refusal, an impossible event) is raised once the remaining lines are
        read and checked too, so that, as when every line is read first, an input error on
        any line takes precedence.
        """
        source = iter(objects)
        try:
            self._read(source)
            self.intake.settle()
            self._finish()
            return
        except _WriteError as failed:
            problem = failed.error
        for number, obj in source:
            self.intake.from_object(obj, number)
        self.intake.settle()
        raise problem

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

    def _switch(self, item: Pending) -> list[Pending]:
        """Hold ``item``, of another season than the latest; write the seasons no line has
        named for :data:`WINDOW` lines. Returns the list ``item``'s season is held in."""
        season, previous = item.season, self.current
        if previous is not None and previous in self.held:
            self.left[previous] = self.read - 1
        self.left.pop(season, None)
        self.current = season
        group = self.held.get(season)
        if group is None:
            if season in self.written:
                raise _WriteError(
                    InputError(
                        f"season {season!r} was written already: its lines ended at line "
                        f"{self.written[season]}, more than {WINDOW:,} lines before this one; "
                        f"in a file this long, keep each season's lines within {WINDOW:,} "
                        "lines of each other (sort the file by season)",
                        line=item.line,
                        field="season",
                    )
                )
            group = self.held[season] = []
        group.append(item)
        while self.left:
            quiet, latest = next(iter(self.left.items()))
            if self.read - latest <= WINDOW:
                break
            del self.left[quiet]
            if not self.intake.waiting(quiet):  # else: held until every line is in
                self._season(quiet)
        return group

    def _restoring(self, item: Pending) -> None:
        """Hold ``item`` while every line came from an export; the first that did not
        ends that (before anything was written: else it is refused)."""
        if item.seq is None:
            if self.writer.seasons:
                raise _WriteError(
                    InputError(
                        f"this line has no seq, but the {self.read - 1:,} lines before it had "
                        "one (an export's) and are written already; import the exported "
                        "lines and the others as two files",
                        line=item.line,
                        field="seq",
                    )
                )
            self.restoring = False
            for earlier in self.restored:
                self.held.setdefault(earlier.season, []).append(earlier)
            self.restored = []
            self.held.setdefault(item.season, []).append(item)
            self.left.update((s, self.read - 1) for s in self.held if s != item.season)
            return
        if item.seq <= self.restored_upto:
            raise _WriteError(
                InputError(
                    f"seq {item.seq} comes after seq {self.restored_upto} was written: in "
                    f"a file this long, an export's lines must stay within {WINDOW:,} "
                    "lines of seq order (export it again)",
                    line=item.line,
                    field="seq",
                )
            )
        self.restored.append(item)
        if len(self.restored) >= 2 * WINDOW and not self.intake.waiting():
            self._restore(WINDOW)

    def _finish(self) -> None:
        if self.restoring:
            self._restore(len(self.restored))
            return
        for season in list(self.held):
            self._season(season)

    def _season(self, season: str) -> None:
        """Write ``season``'s held events: placed, in replay order."""
        group = self.held.pop(season)
        self.written[season] = group[-1].line
        if any(i.dated for i in group):  # given as a date alone
            place_dates(self.records(season), group, self.now)
        group.sort(key=_replay_order)
        self._write(group, restoring=False)

    def _restore(self, count: int) -> None:
        """Write the ``count`` restored events of the lowest seqs, in ``seq`` order (so that
        every hash comes out the same)."""
        self.restored.sort(key=_old_seq)
        batch, self.restored = self.restored[:count], self.restored[count:]
        if batch:
            self.restored_upto = _old_seq(batch[-1])
            self._write(batch, restoring=True)

    def _write(self, batch: list[Pending], *, restoring: bool) -> None:
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
        self.warned: list[tuple[int | None, AuditFinding]] = []
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
            self.reproduced += batch[stored.seq - first].hash == stored.hash

        hashes = any(i.hash is not None for i in batch)
        self.tx.append_each(admitted, compare if hashes else None)

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
