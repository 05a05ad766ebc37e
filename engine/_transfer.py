"""Export and import of seasons as JSONL (DESIGN §6).

One JSON object per line: ``type``, ``program`` (if any), ``at``, the payload
fields flat, and optionally ``season``, ``override``; an export adds ``seq``,
``recorded_at``, ``schema_version`` and ``hash`` so that importing it into an empty
store reproduces every event and hash. Import is all-or-nothing and names the
line (and field) of the first problem.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from prematch.engine._admission import admit
from prematch.engine._bulk import paused_gc
from prematch.engine._clock import Clock, system_clock
from prematch.engine._errors import PrematchError, StoreBusyError, located
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


def _batches(
    items: list[Pending], keep_seq: bool, place: Callable[[list[Pending]], None]
) -> Iterator[list[Pending]]:
    """The events in the order they get seqs, cut into batches admitted and written together.

    Lines restored from an export (every line has its old ``seq``) keep their order,
    so that every hash comes out the same: one batch. Otherwise seqs only order
    events within a season, so each season is a batch of its own, in replay order,
    seasons as they first appear: a season's rows and index entries are written (and
    later read) side by side, and a large import holds one season's records at a
    time, which keeps its cost per event flat. Before a season's events are sorted,
    ``place`` puts those given as a date alone within their day (they are still in the
    order of the lines: an earlier line is recorded before a later one).
    """
    if keep_seq:
        yield sorted(items, key=lambda i: i.seq or 0)
        return
    groups: dict[str, list[Pending]] = {}
    for item in items:
        groups.setdefault(item.season, []).append(item)
    items.clear()  # from here on, each batch's events are freed once it is written
    while groups:
        group = groups.pop(next(iter(groups)))
        place(group)
        group.sort(key=_replay_order)
        yield group


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
    """Import JSONL lines into ``store`` in one transaction: everything, or nothing."""
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
        starts = tx.season_starts()
        known = list(starts)

        def stored(season: str) -> list[Record]:
            return tx.season_records(season) if season in starts else []

        intake = Intake(
            {s: str(p["timezone"]) for s, p in starts.items()},
            now,
            current=default_season,
            programs=lambda season: program_zones(stored(season)),
        )
        items = [intake.from_object(obj, number) for number, obj in objects]
        intake.settle()
        keep_seq = bool(items) and all(i.seq is not None for i in items)
        compare = any(i.hash is not None for i in items)
        writer = _BatchWriter(tx, known, rulebook, allow_violations, keep_seq, compare)

        def place(group: list[Pending]) -> None:
            if any(i.reading is not None for i in group):  # typed without an offset
                place_dates(stored(group[0].season), group, now)

        for batch in _batches(items, keep_seq, place):
            writer.write(batch)
    return ImportResult(
        events=tx.last_seq - tx.first_seq,
        seasons=tuple(writer.seasons),
        overridden=writer.overridden,
        warnings=writer.warnings,
        hashes_reproduced=writer.reproduced,
        warned=tuple(writer.warned),
    )


class _BatchWriter:
    """Gives a batch of pending events their seqs, admits them season by season, appends them."""

    def __init__(
        self,
        tx: Transaction,
        known: Collection[str],
        rulebook: RulebookProtocol,
        allow_violations: bool,
        keep_seq: bool,
        compare_hashes: bool,
    ):
        self.tx, self.known, self.rulebook = tx, known, rulebook
        self.blocked_override = "imported" if allow_violations else None
        self.keep_seq = keep_seq
        self.compare_hashes = compare_hashes
        self.seasons: dict[str, None] = {}
        self.overridden = self.warnings = self.reproduced = 0
        self.warned: list[tuple[int | None, AuditFinding]] = []

    def write(self, batch: list[Pending]) -> None:
        """Admit and append ``batch`` (events in the order they get seqs)."""
        first = self.tx.last_seq + 1
        by_season = self._provisional(batch, first)
        admitted: list[Record] = []
        for season, new in by_season.items():
            existing = self.tx.season_records(season) if season in self.known else []
            try:
                results = admit(
                    existing,
                    new,
                    self.rulebook,
                    blocked_override=self.blocked_override,
                    resolve_news=not self.keep_seq,
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

        self.tx.append_each(admitted, compare if self.compare_hashes else None)

    def _provisional(self, batch: list[Pending], first: int) -> dict[str, list[Record]]:
        seq_map = {i.seq: n for n, i in enumerate(batch, first)} if self.keep_seq else {}
        by_season: dict[str, list[Record]] = {}
        for seq, item in enumerate(batch, first):
            if seq_map:
                item.payload = {
                    k: seq_map.get(v, v) if k in _SEQ_FIELDS else v for k, v in item.payload.items()
                }
            by_season.setdefault(item.season, []).append(item.record(seq))
        return by_season
