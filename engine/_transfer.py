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
import re
import sys
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from prematch.engine._admission import admit
from prematch.engine._bulk import paused_gc
from prematch.engine._clock import Clock, parse_instant, system_clock
from prematch.engine._errors import InputError, PrematchError, located
from prematch.engine._events import EVENT_TYPES, validate_payload
from prematch.engine._records import Record, parse_json, utc_iso
from prematch.engine._rulebook import RulebookProtocol
from prematch.engine._season import check_scope, normalize_event_type, provisional
from prematch.engine._store import Store, Transaction

__all__ = ["MAX_LINE_BYTES", "ImportResult", "export_lines", "import_lines"]

MAX_LINE_BYTES = 1_000_000
"""Longest accepted import line: no real event comes near it."""

_COMMON = {
    "type",
    "program",
    "at",
    "season",
    "override",
    "seq",
    "recorded_at",
    "hash",
    "schema_version",
}
_SEQ_FIELDS = ("retracts", "news_seq")


def export_lines(store: Store, season: str | None = None) -> Iterator[str]:
    """Every event (of one season, or all) as import-ready JSONL lines, in ``seq`` order."""
    for r in store.rows(season):
        line: dict[str, Any] = {"seq": r.seq, "season": r.season, "type": r.type}
        if r.program is not None:
            line["program"] = r.program
        line["at"] = utc_iso(r.occurred_at)
        line.update(r.payload)
        if r.override is not None:
            line["override"] = r.override
        line.update(recorded_at=r.recorded_at, schema_version=r.schema_version, hash=r.hash)
        yield json.dumps(line, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Line:
    number: int
    season: str
    type: str
    program: str | None
    at: dt.datetime
    payload: dict[str, Any]
    override: str | None
    old_seq: int | None
    recorded_at: str | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote."""

    events: int
    seasons: tuple[str, ...]
    overridden: int
    warnings: int
    hashes_reproduced: int = 0


def season_slug(applicant_name: str, match_year: int) -> str:
    """A default season id from the applicant's name and the Match year."""
    slug = re.sub(r"[^a-z0-9]+", "-", applicant_name.lower()).strip("-")[:48] or "season"
    return f"{slug}-{match_year}"


def _decode(raw: bytes | str, number: int) -> str:
    if isinstance(raw, str):
        return raw
    if len(raw) > MAX_LINE_BYTES:
        raise InputError(
            f"line is {len(raw):,} bytes; the limit is {MAX_LINE_BYTES:,}", line=number
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 (byte {e.start + 1})", line=number) from None


def _parse(
    lines: Iterable[bytes | str], default_season: str | None, timezones: dict[str, str]
) -> tuple[list[_Line], dict[int, str | None]]:
    parsed: list[_Line] = []
    hashes: dict[int, str | None] = {}
    current = default_season
    for number, raw in enumerate(lines, start=1):
        text = _decode(raw, number)
        if len(text) > MAX_LINE_BYTES:
            raise InputError(
                f"line is {len(text):,} characters; the limit is {MAX_LINE_BYTES:,}", line=number
            )
        text = text.strip()
        if not text:
            continue
        try:
            obj = parse_json(text)
        except json.JSONDecodeError as e:
            raise InputError(f"not valid JSON ({e.msg} at column {e.colno})", line=number) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", line=number)
        with located(line=number):
            item = _line(obj, number, current, timezones)
        if item.type == "season_started":
            current = item.season
        parsed.append(item)
        if "hash" in obj:
            hashes[number] = obj["hash"]
    return parsed, hashes


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or value.__class__ is str:
        return value
    raise InputError("must be a string", field=key)


def _line(
    obj: dict[str, Any], number: int, current: str | None, timezones: dict[str, str]
) -> _Line:
    kind_raw = _text(obj, "type")
    if not kind_raw:
        raise InputError("required field is missing", field="type")
    kind = kind_raw if kind_raw in EVENT_TYPES else normalize_event_type(kind_raw)
    if kind not in EVENT_TYPES:
        raise InputError(f"unknown event type {kind_raw!r}", field="type")
    at_raw = _text(obj, "at")
    if not at_raw:
        raise InputError("required field is missing", field="at")
    fields = {k: v for k, v in obj.items() if k not in _COMMON} if len(obj) > 3 else {}
    payload = validate_payload(kind, fields)
    season = _text(obj, "season")
    if kind == "season_started":
        season = season or season_slug(payload["applicant_name"], payload["match_year"])
        if season in timezones:
            raise InputError(
                f"season {season!r} already exists (in the store, or earlier in this file)",
                field="season",
            )
        timezones[season] = payload["timezone"]
    season = season or current
    if season is None:
        raise InputError(
            "no season: start the file with a season_started line or choose one with --season",
            field="season",
        )
    if season not in timezones:
        raise InputError(
            f"season {season!r} is not started in this file or the store", field="season"
        )
    program = _text(obj, "program")
    check_scope(kind, program)
    at = parse_instant(at_raw, timezones[season]).astimezone(dt.UTC)  # cheap to sort
    old_seq = obj.get("seq")
    if old_seq is not None and (not isinstance(old_seq, int) or old_seq < 1):
        raise InputError("must be a positive integer", field="seq")
    # Interned: a large file repeats a few season, type and program names a million times.
    return _Line(
        number,
        sys.intern(season),
        sys.intern(kind),
        program and sys.intern(program),
        at,
        payload,
        _text(obj, "override"),
        old_seq,
        _text(obj, "recorded_at"),
    )


def _batches(items: list[_Line], keep_seq: bool) -> Iterator[list[_Line]]:
    """The lines in the order they get seqs, cut into batches admitted and written together.

    Lines restored from an export (every line has its old ``seq``) keep their order,
    so that every hash comes out the same: one batch. Otherwise seqs only order
    events within a season, so each season is a batch of its own, in replay order,
    seasons as they first appear: a season's rows and index entries are written (and
    later read) side by side, and a large import holds one season's records at a
    time, which keeps its cost per event flat.
    """
    if keep_seq:
        yield sorted(items, key=lambda i: i.old_seq or 0)
        return
    groups: dict[str, list[_Line]] = {}
    for item in items:
        groups.setdefault(item.season, []).append(item)
    items.clear()  # from here on, each batch's lines are freed once it is written
    while groups:
        group = groups.pop(next(iter(groups)))
        group.sort(key=_replay_order)
        yield group


def _replay_order(item: _Line) -> tuple[dt.datetime, int]:
    return item.at, item.number


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

    ``rulebook`` judges every line (``NoRules()`` to take the log as it is).
    """
    with paused_gc():
        return _import(store, lines, default_season, rulebook, clock, allow_violations)


def _import(
    store: Store,
    lines: Iterable[bytes | str] | IO[bytes],
    default_season: str | None,
    rulebook: RulebookProtocol,
    clock: Clock,
    allow_violations: bool,
) -> ImportResult:
    now = clock()
    with store.write(utc_iso(now)) as tx:
        starts = tx.season_starts()
        known = list(starts)
        timezones = {s: str(p["timezone"]) for s, p in starts.items()}
        items, hashes = _parse(
            lines, default_season if default_season in known else None, timezones
        )
        late = next((i for i in items if i.at > now), None)
        if late is not None:
            raise InputError(
                f"{late.at.isoformat()} is after now ({now.isoformat()})",
                field="at",
                line=late.number,
            )
        keep_seq = bool(items) and all(i.old_seq is not None for i in items)
        writer = _BatchWriter(tx, known, rulebook, allow_violations, keep_seq, hashes)
        for batch in _batches(items, keep_seq):
            writer.write(batch)
    return ImportResult(
        events=tx.last_seq - tx.first_seq,
        seasons=tuple(writer.seasons),
        overridden=writer.overridden,
        warnings=writer.warnings,
        hashes_reproduced=writer.reproduced,
    )


class _BatchWriter:
    """Gives a batch of parsed lines their seqs, admits them season by season, appends them."""

    def __init__(
        self,
        tx: Transaction,
        known: Collection[str],
        rulebook: RulebookProtocol,
        allow_violations: bool,
        keep_seq: bool,
        hashes: dict[int, str | None],
    ):
        self.tx, self.known, self.rulebook = tx, known, rulebook
        self.blocked_override = "imported" if allow_violations else None
        self.keep_seq = keep_seq
        self.hashes = hashes
        self.seasons: dict[str, None] = {}
        self.overridden = self.warnings = self.reproduced = 0

    def write(self, batch: list[_Line]) -> None:
        """Admit and append ``batch`` (lines in the order they get seqs)."""
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
                with located(line=batch[e.seq - first].number):
                    raise
            admitted.extend(a.record for a in results)
            self.warnings += sum(1 for a in results for f in a.findings if f.severity == "warn")
            self.seasons[season] = None
        admitted.sort(key=lambda r: r.seq)
        self.overridden += sum(1 for r in admitted if r.override is not None)

        def compare(stored: Record) -> None:
            self.reproduced += self.hashes.get(batch[stored.seq - first].number) == stored.hash

        self.tx.append_each(admitted, compare if self.hashes else None)

    def _provisional(self, batch: list[_Line], first: int) -> dict[str, list[Record]]:
        seq_map = {i.old_seq: n for n, i in enumerate(batch, first)} if self.keep_seq else {}
        by_season: dict[str, list[Record]] = {}
        for seq, item in enumerate(batch, first):
            payload = item.payload
            if seq_map:
                payload = {
                    k: seq_map.get(v, v) if k in _SEQ_FIELDS else v for k, v in payload.items()
                }
            by_season.setdefault(item.season, []).append(
                provisional(
                    seq,
                    item.season,
                    item.type,
                    item.program,
                    item.at,
                    payload,
                    item.override,
                    item.recorded_at or "",
                )
            )
        return by_season
