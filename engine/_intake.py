"""One intake: every way an event comes in becomes a validated pending record here.

Events come in three ways: keyword fields (:meth:`Season.record`, :meth:`Season.start`,
the CLI), one JSON object per line of a JSONL file (``import``), and the rows of an
applicant's tracking sheet (``import tracker.csv``: the tracker turns each row into
objects of the JSONL shape). Each becomes a :class:`Pending` record that names the line
it came from, and every rule about values is applied here, in the same order for all
three, so that one bad value gets one message and one field whichever way it came in:

- ids (the season, the program, each program of a rank order list):
  :func:`~prematch.engine._events.check_identifier`, taken exactly as given;
- texts (the override and every text of a payload) are stripped, must not be blank and
  hold at most 2,000 characters and no control character. Free text (an override, a
  reason, a detail, a note) may hold tabs and line breaks, since people write
  paragraphs; one-line text (names, specialties, contacts, ids from other systems) holds
  none, since it is shown inside lines of output
  (:func:`~prematch.engine._events.check_text`, :func:`~prematch.engine._events.check_line`);
- ``at`` is an instant that is not after now (but in a store copied whole, where it is a
  recorded fact): exact when it carries a UTC offset;
  otherwise read in the program's timezone for the events that happen at the program
  (:data:`AT_THE_PROGRAM`, when the program has a ``timezone``), in the season's for the
  rest (:func:`~prematch.engine._clock.read_time`: a wall time the clocks skip or pass
  twice is refused, showing both readings). The program's timezone is the last one
  recorded for it, in the store or anywhere in the input (an import settles the lines
  that need it once all its lines are read: :meth:`Intake.settle`). A date alone means
  "during that day": :func:`place_dates` puts the event after the same day's events
  recorded before it (see there);
- the fields an export adds: ``recorded_at`` is an ISO datetime with offset (stored as
  UTC), ``schema_version`` an integer from 1 to :data:`SCHEMA_VERSION` (an older one is
  stored as it is and upcast on read; a newer one is refused), ``seq`` a positive
  integer, ``hash`` a string;
- a JSONL line is UTF-8, at most :data:`MAX_LINE_BYTES` long, and one JSON object
  without a repeated key or the non-JSON constants ``NaN`` and ``Infinity``.

Importing this module builds no pydantic model: they load with the first :class:`Intake`
(``prematch now`` never needs them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from json.scanner import make_scanner
from typing import Any, cast

from prematch.engine._clock import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    TimeReading,
    parse_instant,
    read_time,
)
from prematch.engine._errors import InputError, PrematchError, located
from prematch.engine._records import SCHEMA_VERSION, Record, parse_json, utc_iso
from prematch.engine._replay import FOUNDING

__all__ = [
    "AT_THE_PROGRAM",
    "MAX_LINE_BYTES",
    "SETS_PROGRAM_ZONE",
    "Intake",
    "Pending",
    "decode_line",
    "event_zone",
    "name_slug",
    "normalize_event_type",
    "place_dates",
    "program_zones",
    "provisional",
    "season_slug",
]

MAX_LINE_BYTES = 1_000_000
"""Longest accepted import line: no real event comes near it."""

_COMMON = frozenset(
    {"type", "program", "at", "season", "override", "seq", "recorded_at", "hash", "schema_version"}
)
"""The keys of a JSONL object that are not payload fields."""

_EXPORTED = frozenset({"seq", "recorded_at", "schema_version", "hash"})
"""The keys an export adds to each line."""

AT_THE_PROGRAM = frozenset(
    {
        "invited",
        "interviewed",
        "interview_rescheduled",
        "interview_cancelled",
        "program_contacted",
        "offer_received",
        "rejected",
        "waitlisted",
    }
)
"""Event types that happen at the program: a time typed without an offset is read in the
program's timezone (when it has one). Every other time is read in the season's."""

SETS_PROGRAM_ZONE = ("program_added", "program_updated")
"""Event types whose ``timezone`` payload field sets the program's timezone."""

_MICROSECOND = dt.timedelta(microseconds=1)
_new_tuple = tuple.__new__


def program_zones(records: Iterable[Record]) -> dict[str, str]:
    """Each program's timezone, as last recorded in ``records`` (programs without one are
    left out)."""
    zones: dict[str, str] = {}
    for r in records:
        if r.type in SETS_PROGRAM_ZONE and r.program is not None and "timezone" in r.payload:
            zones[r.program] = r.payload["timezone"]
    return zones


def event_zone(kind: str, program_zone: str | None, season_zone: str) -> str:
    """The timezone an event of type ``kind`` is read and shown in: its program's
    (``program_zone``, when it has one) for an event at the program
    (:data:`AT_THE_PROGRAM`), else the season's."""
    return program_zone if program_zone and kind in AT_THE_PROGRAM else season_zone


def normalize_event_type(name: str) -> str:
    """``intent-sent`` and ``intent_sent`` name the same event type."""
    return name.strip().lower().replace("-", "_")


_LATIN = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe"})
"""Latin letters that no decomposition turns into ASCII ones (after casefolding)."""


def name_slug(name: str, limit: int, fallback: str) -> str:
    """An id made from ``name``: its lowercase words joined by ``-``, accents dropped
    (``José Núñez`` -> ``jose-nunez``), at most ``limit`` characters.

    Letters and digits that have no ASCII form (``東京大学``, ``محمد``) would be lost:
    then a short hash of the name is added, so that two such names get two ids, and the
    same name always the same one (``fallback`` stands for the words when none is left).
    """
    folded = unicodedata.normalize("NFKD", name.casefold().translate(_LATIN))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    if not any(c.isalnum() and not c.isascii() for c in plain):
        return slug[:limit].strip("-") or fallback
    digest = hashlib.sha256(unicodedata.normalize("NFC", name.strip()).encode()).hexdigest()
    return f"{slug[: limit - 9].strip('-') or fallback}-{digest[:8]}"


def season_slug(applicant_name: str, match_year: int) -> str:
    """A default season id from the applicant's name and the Match year (see
    :func:`name_slug`): ``jose-nunez-2027``."""
    return f"{name_slug(applicant_name, 48, 'season')}-{match_year}"


def provisional(
    seq: int,
    season: str,
    event_type: str,
    program: str | None,
    at: dt.datetime,
    payload: dict[str, Any],
    override: str | None,
    recorded_at: str = "",
    schema_version: int = SCHEMA_VERSION,
) -> Record:
    """A record not yet written (``seq`` is where it will land, ``hash`` is empty)."""
    moment = at if at.tzinfo is dt.UTC else at.astimezone(dt.UTC)  # as the store returns it
    # tuple.__new__ skips Record.__new__'s argument handling: an import makes one per line.
    return _new_tuple(
        Record,
        (
            seq,
            season,
            program,
            event_type,
            schema_version,
            moment,
            recorded_at,
            payload,
            override,
            "",
        ),
    )


def place_dates(existing: Sequence[Record], pending: Sequence[Pending], now: dt.datetime) -> None:
    """Place each event given as a date alone within its day (``pending`` in the order the
    events are recorded: an import's lines in file order).

    A date means "during that day" in the zone it was read in. The event goes to the
    later of the day's first instant and one microsecond after the last event of that
    day recorded before it (``existing``, not retracted, and the earlier ``pending``) of
    the same program or of the season itself (news, say): a thank-you dated the interview
    day follows the interview. The founding events (``season_started``,
    ``program_added``) do not count: replay puts them before every other event anyway. It
    never goes past the day's last microsecond, nor past ``now``: there it shares the
    instant of the event before it and follows it by seq.
    """
    if not any(i.dated for i in pending):
        return
    gone = {r.payload["retracts"] for r in existing if r.type == "event_retracted"}
    seen: dict[str | None, list[dt.datetime]] = {}
    for r in existing:
        if r.seq not in gone and r.type not in FOUNDING:
            seen.setdefault(r.program, []).append(r.occurred_at)
    for item in pending:
        end = item.reading.day_end if item.reading is not None else None
        if item.type in FOUNDING:
            continue
        if end is not None:
            start = item.at
            keys = (None,) if item.program is None else (item.program, None)
            latest = max(
                (t for key in keys for t in seen.get(key, ()) if start <= t <= end),
                default=None,
            )
            if latest is not None:
                item.at = min(latest + _MICROSECOND, end, now).astimezone(dt.UTC)
        seen.setdefault(item.program, []).append(item.at)


@dataclass(slots=True)
class Pending:
    """An event that passed the intake and is not written yet, and where it came from."""

    season: str
    type: str
    program: str | None
    at: dt.datetime
    """When it happened, in UTC."""
    payload: dict[str, Any]
    override: str | None
    line: int | None = None
    """The input line it came from (``None`` for keyword fields)."""
    seq: int | None = None
    """Its seq in the export it comes from, if it comes from one."""
    recorded_at: str | None = None
    schema_version: int = SCHEMA_VERSION
    hash: str | None = None
    """Its hash in the export it comes from, if it comes from one."""
    reading: TimeReading | None = None
    """How its ``at`` was read, when it was text without an offset (a time or a date)."""

    @property
    def dated(self) -> bool:
        """Whether it was given as a date alone (to be placed within that day)."""
        return self.reading is not None and self.reading.day is not None

    def record(self, seq: int) -> Record:
        """The record it becomes when written at ``seq`` (``hash`` still empty)."""
        return provisional(
            seq,
            self.season,
            self.type,
            self.program,
            self.at,
            self.payload,
            self.override,
            self.recorded_at or "",
            self.schema_version,
        )


class Intake:
    """Turns events into :class:`Pending` records for the seasons it knows, as of ``now``.

    ``timezones`` maps each season an event may name to its timezone; ``seasons``, if
    given, looks up the timezone of a season not in it when an event names it (a stored
    season, by id: ``None`` if there is none; one found is kept in ``timezones``). A
    ``season_started`` adds its season (and makes it :attr:`current`). An event that
    names no season belongs to :attr:`current`.
    ``programs`` gives the program timezones (:func:`program_zones`) recorded in a season
    of the store; it is asked once per season, when a time at one of its programs is
    typed without an offset. With ``future``, an event may be after ``now`` (a store
    copied whole: its times are facts recorded by another clock).
    """

    def __init__(
        self,
        timezones: dict[str, str],
        now: dt.datetime,
        *,
        current: str | None = None,
        programs: Callable[[str], dict[str, str]] | None = None,
        seasons: Callable[[str], str | None] | None = None,
        future: bool = False,
    ) -> None:
        # The pydantic models load here, on the first event, not when the engine loads.
        from prematch.engine import _events

        self.timezones = timezones
        self.now = now
        self.future = future
        self._seasons = seasons
        self.current = current if current is not None and self._zone(current) else None
        self._types = _events.EVENT_TYPES
        self._scopes = _events.PROGRAM_SCOPE
        self._payload = _events.validate_payload
        self._identifier = _events.check_identifier
        self._text = _events.check_text
        self._ids: dict[str, str] = {}  # ids already checked: a file repeats a few of them
        self._programs = programs
        self._zones: dict[str, dict[str, str]] = {}  # season -> program -> timezone (store)
        self._given: dict[tuple[str, str], str] = {}  # (season, program) -> timezone (input)
        self._unsettled: list[tuple[Pending, str]] = []  # read once every line is in
        self._waiting: set[str] = set()  # the seasons of the unsettled

    def from_fields(
        self,
        event_type: str,
        program: str | None,
        *,
        season: str,
        at: dt.datetime | str | None,
        override: str | None,
        payload: dict[str, Any],
    ) -> Pending:
        """An event given as keyword fields (the library, the CLI); ``at=None`` means now."""
        kind = self._type(event_type)
        fields = self._payload(kind, payload)
        pending = self._event(
            kind, fields, season, program, self.now if at is None else at, override
        )
        self.settle()
        return pending

    def from_object(self, obj: dict[str, Any], line: int) -> Pending:
        """An event given as one object (a JSONL line's, or a tracker row's) from ``line``.

        Its keys are ``type``, ``at``, ``program``, ``season``, ``override``, the payload
        fields flat, and the fields an export adds (``seq``, ``recorded_at``,
        ``schema_version``, ``hash``); ``at`` is text, or an aware datetime.
        Times at a program typed without an offset are read by :meth:`settle`, once
        every line is in (a later line may give the program its timezone).
        """
        try:  # what `with located(line=line)` does, without its cost per line on success
            return self._object(obj, line)
        except PrematchError as e:
            e.line = line
            raise

    def reading(self, event_type: str, season: str, program: str | None, at: str) -> TimeReading:
        """How ``at`` reads for an event of ``event_type`` at ``program`` of ``season``."""
        kind = self._type(event_type)
        timezone = self._zone(season)
        return self._read(kind, season, program, at, timezone)

    def waiting(self, season: str | None = None) -> bool:
        """Whether a time of ``season`` (or of any season) waits for :meth:`settle`: its
        events are not final until every line is in."""
        return season in self._waiting if season is not None else bool(self._waiting)

    def unsettled(self) -> list[Pending]:
        """The events whose time waits for :meth:`settle` (it sets their ``at`` in place)."""
        return [pending for pending, _ in self._unsettled]

    def settle(self) -> None:
        """Read the times left for the end (see :meth:`from_object`), in the timezones
        the programs have now."""
        unsettled, self._unsettled = self._unsettled, []
        self._waiting.clear()
        for pending, text in unsettled:
            with located(line=pending.line):
                zone = self.timezones[pending.season]
                reading = self._read(pending.type, pending.season, pending.program, text, zone)
                pending.at, pending.reading = self._checked_now(reading.instant), reading

    def _object(self, obj: dict[str, Any], line: int) -> Pending:
        raw = obj.get("type")
        if not raw:
            raise InputError("required field is missing", field="type")
        if raw.__class__ is not str:
            raise InputError("must be a string", field="type")
        kind = self._type(raw)
        at = obj.get("at")
        if at is None or at == "":
            raise InputError("required field is missing", field="at")
        if not isinstance(at, str | dt.datetime):
            raise InputError("must be a string", field="at")
        fields = self._payload(kind, {k: v for k, v in obj.items() if k not in _COMMON})
        pending = self._event(
            kind, fields, obj.get("season"), obj.get("program"), at, obj.get("override")
        )
        pending.line = line
        if not obj.keys().isdisjoint(_EXPORTED):
            self._exported(pending, obj)
        return pending

    def _type(self, name: str) -> str:
        kind = name if name in self._types else normalize_event_type(name)
        if kind not in self._types:
            known = ", ".join(self._types)
            raise InputError(f"unknown event type {name!r}; known: {known}", field="type")
        return kind

    def _event(
        self,
        kind: str,
        payload: dict[str, Any],
        season: object,
        program: object,
        at: dt.datetime | str,
        override: object,
    ) -> Pending:
        named = None if season is None else self._id(season, "season")
        if kind == "season_started":
            named = named or season_slug(payload["applicant_name"], payload["match_year"])
            if self._zone(named) is not None:
                raise InputError(
                    f"season {named!r} already exists (in the store, or earlier in this file)",
                    field="season",
                )
            self.timezones[named] = payload["timezone"]
            self.current = named
        named = named or self.current
        if named is None:
            raise InputError(
                "no season: start the file with a season_started line or choose one with --season",
                field="season",
            )
        timezone = self.timezones.get(named) or self._zone(named)
        if timezone is None:
            raise InputError(
                f"season {named!r} is not started in this file or the store", field="season"
            )
        pid = None if program is None else self._id(program, "program")
        scope = self._scopes[kind]
        if scope == "required" and not pid:
            raise InputError(f"{kind} needs a program id", field="program")
        if scope == "forbidden" and pid:
            raise InputError(f"{kind} is season-level; it takes no program", field="program")
        if kind in SETS_PROGRAM_ZONE and pid and "timezone" in payload:
            self._given[named, pid] = payload["timezone"]
        reading, wait = None, ""
        if isinstance(at, dt.datetime):
            if at.tzinfo is None:
                raise InputError(
                    "naive datetime: give an aware datetime (with a UTC offset), or the time "
                    "as text (read in the season's or the program's timezone)",
                    field="at",
                )
            moment = self._checked_now(at)
        elif (exact := _with_offset(at)) is not None:  # the common case, kept cheap
            moment = self._checked_now(exact)
        else:
            # A time at the program typed without an offset waits for settle(): the
            # program's timezone may come later in the input. UTC only checks the text.
            at_program = pid is not None and kind in AT_THE_PROGRAM
            reading = read_time(at, "UTC" if at_program else timezone)
            if reading.zone is None:  # it had an offset after all (and spaces around it)
                moment, reading = self._checked_now(reading.instant), None
            elif at_program:
                moment, wait = reading.instant, at
            else:
                moment = self._checked_now(reading.instant)
        # Interned (ids too, in _id): a large file repeats a few names a million times.
        pending = Pending(
            sys.intern(named),
            sys.intern(kind),
            pid,
            moment,
            payload,
            None if override is None else self._checked(self._text, override, "override"),
            reading=reading,
        )
        if wait:
            self._unsettled.append((pending, wait))
            self._waiting.add(pending.season)
        return pending

    def _zone(self, season: str) -> str | None:
        """``season``'s timezone: given, started in the input, or looked up (``None``
        if there is no such season)."""
        zone = self.timezones.get(season)
        if zone is None and self._seasons is not None:
            zone = self._seasons(season)
            if zone is not None:
                self.timezones[season] = zone
        return zone

    def _read(
        self, kind: str, season: str, program: str | None, at: str, timezone: str | None
    ) -> TimeReading:
        zone = None
        if program and kind in AT_THE_PROGRAM:
            zone = self._given.get((season, program)) or self._stored(season).get(program)
        if zone is not None:
            return read_time(at, zone, whose="the program's")
        return read_time(at, timezone)

    def _stored(self, season: str) -> dict[str, str]:
        zones = self._zones.get(season)
        if zones is None:
            zones = self._programs(season) if self._programs is not None else {}
            self._zones[season] = zones
        return zones

    def _checked_now(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` in UTC, refused if it is after now."""
        utc = moment.astimezone(dt.UTC)
        if utc > self.now and not self.future:  # both in UTC (as now is, most often)
            raise InputError(
                f"{moment.isoformat()} is after now ({self.now.isoformat()}); "
                "events are facts: record them once they happen",
                field="at",
            )
        return utc

    def _id(self, value: object, field: str) -> str:
        known = self._ids.get(value) if value.__class__ is str else None
        if known is None:
            known = sys.intern(self._checked(self._identifier, value, field))
            self._ids[known] = known
        return known

    @staticmethod
    def _checked(check: Callable[[str], str], value: object, field: str) -> str:
        if not isinstance(value, str):
            raise InputError("must be a string", field=field)
        try:
            return check(value)
        except ValueError as e:
            raise InputError(str(e), field=field) from None

    @staticmethod
    def _exported(pending: Pending, obj: dict[str, Any]) -> None:
        """Check and keep the fields an export adds to each line."""
        seq = obj.get("seq")
        if seq is not None:
            if seq.__class__ is not int or seq < 1:
                raise InputError("must be a positive integer", field="seq")
            pending.seq = seq
        recorded = obj.get("recorded_at")
        if recorded is not None:
            if recorded.__class__ is not str:
                raise InputError("must be a string", field="recorded_at")
            pending.recorded_at = utc_iso(parse_instant(recorded, field="recorded_at"))
        version = obj.get("schema_version")
        if version is not None:
            if version.__class__ is not int or version < 1:
                raise InputError(
                    f"must be an integer from 1 to {SCHEMA_VERSION}", field="schema_version"
                )
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"schema_version {version} is newer than this prematch reads "
                    f"({SCHEMA_VERSION}); upgrade prematch to import this file",
                    field="schema_version",
                )
            pending.schema_version = version
        digest = obj.get("hash")
        if digest is not None:
            if digest.__class__ is not str:
                raise InputError("must be a string", field="hash")
            pending.hash = digest


def _with_offset(text: str) -> dt.datetime | None:
    """``text`` as an instant if it is an ISO datetime with an offset in the years an
    instant may fall in, else ``None``."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return None  # read_time says what is wrong
    return moment


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InputError("this key appears twice in one object", field=key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)
_SCAN_LINE = make_scanner(cast(Any, _DECODER))  # what raw_decode calls


def decode_line(raw: bytes | str, number: int) -> dict[str, Any] | None:
    """The JSON object on line ``number`` of a JSONL input (``None`` if the line is blank).
    The first line may start with a byte order mark (an editor's "UTF-8 with BOM").

    Raises :class:`InputError` naming the line if the line is longer than
    :data:`MAX_LINE_BYTES`, is not UTF-8, is not one JSON object, repeats a key or holds
    ``NaN`` or ``Infinity``.
    """
    if isinstance(raw, bytes):
        if len(raw) > MAX_LINE_BYTES:
            raise InputError(
                f"line is {len(raw):,} bytes; the limit is {MAX_LINE_BYTES:,}", line=number
            )
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 (byte {e.start + 1})", line=number) from None
    if number == 1 and raw.startswith("\ufeff"):
        raw = raw[1:]
    if len(raw) > MAX_LINE_BYTES:
        raise InputError(
            f"line is {len(raw):,} characters; the limit is {MAX_LINE_BYTES:,}", line=number
        )
    text = raw.strip()
    if not text:
        return None
    # A try, not `with located(...)`: it costs nothing per line.
    try:
        obj = parse_json(text, _SCAN_LINE)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON ({e.msg} at column {e.colno})", line=number) from None
    except ValueError:  # an integer of more digits than Python converts
        raise InputError("not valid JSON (a number has too many digits)", line=number) from None
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply)", line=number) from None
    except PrematchError as e:  # the decoder's own hooks refuse a repeated key, NaN
        e.line = number
        raise
    if not isinstance(obj, dict):
        raise InputError("each line must be a JSON object", line=number)
    return obj
