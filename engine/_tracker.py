"""Import of the spreadsheet applicants already keep (``prematch import tracker.csv``).

One row per program; the columns (header case, spaces, ``-`` and ``_`` do not matter):

========================  ==========================================================
``program``               the program's name (required); its id is derived from it
``applied``               date the application went out        -> ``applied``
``invited``               date the invitation came              -> ``invited``
``interview date``        the interview (a date, or date and time) -> ``interviewed``
                          once it is past; a future one is kept as ``interview_on``
``thank-you sent``        -> ``thanked``
``letter of interest sent``  -> ``interest_sent``
``letter of intent sent``    -> ``intent_sent``
``notes``                 -> ``note_added`` (the text as written), at the row's last event
========================  ==========================================================

Cells hold dates (``2026-10-22``, ``10/22/2026``, ``Oct 22, 2026``, optionally with a
time such as ``09:30``); an empty cell (or ``-``, ``no``) means "not yet". Each becomes
the ISO text the intake reads as it reads any typed time (a date alone is "during that
day"; a time without an offset is read in the season's timezone, or the program's for
events at the program); the sheet's own checks (after today? which came first?) use the
cell read in the season's timezone. :func:`tracker_objects` turns the sheet into events of
the import JSONL shape, each with its CSV line; :func:`import_tracker` passes them through the same
intake as JSONL (:mod:`prematch.engine._intake`) into a season, all or nothing, and names
the CSV line of any problem; :func:`tracker_lines` shows them as JSONL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prematch.engine._errors import InputError
from prematch.engine._intake import name_slug
from prematch.engine._season import Season
from prematch.engine._sheet import clock_time, first_format
from prematch.engine._transfer import ImportResult, import_objects

__all__ = ["COLUMNS", "import_tracker", "program_id", "tracker_lines", "tracker_objects"]

COLUMNS: dict[str, str | None] = {
    "program": None,
    "applied": "applied",
    "invited": "invited",
    "interview date": "interviewed",
    "thank-you sent": "thanked",
    "letter of interest sent": "interest_sent",
    "letter of intent sent": "intent_sent",
    "notes": None,
}
"""The known columns, as shown in errors, and the event each one records."""

_EMPTY = {"", "-", "—", "–", "no", "n", "none", "n/a", "na", "not yet", "false"}
_YES = {"yes", "y", "x", "✓", "✔", "true", "done", "sent"}
_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d %b %Y",
    "%d %B %Y",
)
_TIME = re.compile(r"^(?P<day>.+?)[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)$", re.I)


def _key(header: str) -> str:
    return re.sub(r"[\s_-]+", " ", header.strip().lstrip("\ufeff").lower()).strip()


_BY_KEY = {_key(name): name for name in COLUMNS}


def program_id(name: str, existing: Mapping[str, str] | None = None) -> str:
    """A program id from its name: lowercase words joined by ``-``, accents dropped, at
    most 64 characters (see :func:`name_slug`): ``Hôpital Général`` -> ``hopital-general``.

    ``existing`` maps a season's program ids to their names: a program there keeps the id
    that earlier versions made from the same name (they dropped every letter but a-z:
    ``h-pital-g-n-ral``, and ``program`` for a name without any).
    """
    earlier = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-") or "program"
    if existing and earlier in existing and (earlier != "program" or existing[earlier] == name):
        return earlier
    return name_slug(name, 64, "program")


def _day(text: str) -> dt.date | None:
    read = first_format(text, _FORMATS)
    return None if read is None else read.date()


def parse_cell(
    text: str, timezone: str, *, column: str, line: int
) -> tuple[str, dt.datetime] | None:
    """A cell as ISO text for the intake (``2026-10-22``, ``2026-10-22T09:30:00``, or with
    its offset as typed) and as an aware instant in ``timezone`` (a date: its midnight) for
    the sheet's own checks; ``None`` if empty."""
    value = text.strip()
    if value.lower() in _EMPTY:
        return None
    if value.lower() in _YES:
        raise InputError(
            f"{value!r} says it happened but not when; write the date (e.g. 2026-10-22)",
            field=column,
            line=line,
        )
    zone = ZoneInfo(timezone)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        day, time = _day(value), None
        if day is None and (m := _TIME.match(value)):
            day, time = _day(m["day"].strip().rstrip(",")), clock_time(m["time"])
            if time is None:
                day = None
    else:
        if moment.tzinfo is not None:
            return moment.isoformat(), moment
        day, time = moment.date(), None if len(value) == 10 else moment.time()
    if day is None:
        raise InputError(
            f"{value!r} is not a date I can read; write e.g. 2026-10-22, 10/22/2026 or "
            "Oct 22, 2026 (a time may follow, e.g. 2026-10-22 09:30)",
            field=column,
            line=line,
        )
    typed = day.isoformat() if time is None else f"{day.isoformat()}T{time.isoformat()}"
    return typed, dt.datetime.combine(day, time or dt.time(), zone)


def _read(source: str | Path) -> str:
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        try:
            return Path(source).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(
                f"{source} is not UTF-8 (byte {e.start + 1}); save the sheet as 'CSV UTF-8'"
            ) from None
    return source.lstrip("\ufeff")


def _next_row(reader: Any) -> list[str] | None:
    """The reader's next row (``None`` at the end); a cell over the csv module's limit is
    an :class:`InputError` on its line."""
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as e:
        raise InputError(
            f"not a readable CSV row ({e}); a cell holds at most "
            f"{csv.field_size_limit():,} characters",
            line=reader.line_num,
        ) from None
    return row


def _columns(header: Sequence[str]) -> list[str | None]:
    known = ", ".join(COLUMNS)
    out: list[str | None] = []
    unknown: list[str] = []
    for cell in header:
        name = _BY_KEY.get(_key(cell))
        if name is None and _key(cell):
            unknown.append(cell.strip())
        out.append(name)
    if unknown:
        listed = ", ".join(repr(u) for u in unknown)
        raise InputError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {listed}; known columns: {known}",
            field=unknown[0],
            line=1,
        )
    if "program" not in out:
        raise InputError(
            f"the 'program' column is missing (it names each row's program); known columns: "
            f"{known}",
            field="program",
            line=1,
        )
    seen = [c for c in out if c is not None]
    twice = sorted({c for c in seen if seen.count(c) > 1})
    if twice:
        raise InputError(f"column {twice[0]!r} appears twice", field=twice[0], line=1)
    return out


def _event(kind: str, program: str, at: dt.datetime | str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "program": program, "at": at, **fields}


def _row_events(
    cells: dict[str, str],
    number: int,
    timezone: str,
    listed_at: dt.datetime | None,
    now: dt.datetime | None,
) -> Iterator[dict[str, Any]]:
    name = cells.get("program", "").strip()
    pid = program_id(name)
    typed = {
        column: parse_cell(cells.get(column, ""), timezone, column=column, line=number)
        for column, event in COLUMNS.items()
        if event is not None
    }
    when = {column: cell[1] if cell else None for column, cell in typed.items()}
    for column, moment in when.items():
        if moment is not None and now is not None and moment > now and column != "interview date":
            raise InputError(
                f"{moment.date().isoformat()} is after today; record it once it has happened",
                field=column,
                line=number,
            )
    interview = when["interview date"]
    held = interview is not None and (now is None or interview <= now)
    if interview is not None and when["invited"] is None:
        raise InputError(
            "an interview date needs the date of the invitation (the 'invited' column)",
            field="invited",
            line=number,
        )
    for column in ("thank-you sent", "letter of interest sent", "letter of intent sent"):
        if when[column] is not None and not held:
            raise InputError(
                "a message after the interview needs an interview date in the past",
                field=column,
                line=number,
            )
    earliest = min((m for m in when.values() if m is not None), default=None)
    added = (
        listed_at
        if listed_at is not None and (earliest is None or listed_at <= earliest)
        else earliest
    )
    if added is None:
        raise InputError(
            "the row has no date, so nothing places the program in the season",
            field="program",
            line=number,
        )
    yield _event("program_added", pid, added, name=name)
    last = added
    last_typed: dt.datetime | str = added
    for column, event in COLUMNS.items():
        cell = typed.get(column)
        if event is None or cell is None or (event == "interviewed" and not held):
            continue
        if event == "invited":
            extra = {"interview_on": interview.date().isoformat()} if interview else {}
            yield _event("invited", pid, cell[0], **extra)
        else:
            yield _event(event, pid, cell[0])
        if cell[1] >= last:
            last, last_typed = cell[1], cell[0]
    note = cells.get("notes", "")
    if note.strip():
        # The sheet does not say when the note was written: it follows what the row records
        # (typed as that cell was, it is read and placed as that cell was).
        yield _event("note_added", pid, last_typed, text=note)


def tracker_objects(
    source: str | Path,
    timezone: str = "UTC",
    *,
    listed_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """The sheet's events as objects of the import JSONL shape (``at`` the cell's ISO
    text, or an aware datetime), each after the CSV line it comes from (see
    :func:`tracker_lines`)."""
    text = _read(source)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text.split("\n", 1)[0], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    # strict: a quote left open runs to the end of the file and would swallow the rows
    # after it into one cell; refuse it instead.
    reader = csv.reader(io.StringIO(text), dialect, strict=True)
    header = _next_row(reader)
    if header is None:
        raise InputError("the file is empty; the first line must name the columns", line=1)
    columns = _columns(header)
    out: list[tuple[int, dict[str, Any]]] = []
    ids: dict[str, int] = {}
    while (row := _next_row(reader)) is not None:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns) and any(c.strip() for c in row[len(columns) :]):
            raise InputError(
                f"{len(row)} cells but {len(columns)} columns in the header", line=number
            )
        for index, (column, cell) in enumerate(zip(columns, row, strict=False), start=1):
            if column is None and cell.strip():
                raise InputError(
                    f"column {index} has no name in the header but this row fills it; "
                    "name the column or empty its cells",
                    field=f"column {index}",
                    line=number,
                )
        cells = {c: v for c, v in zip(columns, row, strict=False) if c is not None}
        name = cells.get("program", "").strip()
        if not name:
            raise InputError("the program cell is empty", field="program", line=number)
        pid = program_id(name)
        if pid in ids:
            raise InputError(
                f"program {name!r} (id {pid!r}) already has a row, on line {ids[pid]}",
                field="program",
                line=number,
            )
        ids[pid] = number
        out.extend(
            (number, event) for event in _row_events(cells, number, timezone, listed_at, now)
        )
    return out


def tracker_lines(
    source: str | Path,
    timezone: str = "UTC",
    *,
    listed_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Turn an applicant's tracking sheet (a path, or the CSV text) into import JSONL lines.

    Dates are kept as typed, in ISO form (pass the season's ``timezone``: the sheet's
    checks read them there). A row without any date is placed
    at ``listed_at``; an interview dated after ``now`` is kept as the invitation's
    ``interview_on`` rather than recorded as held. Raises :class:`InputError` naming the
    CSV line and column: unknown columns (listing the known ones), a missing ``program``
    column, an unreadable date.
    """
    return [
        json.dumps(
            {**event, "at": at if isinstance(at := event["at"], str) else at.isoformat()},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for _, event in tracker_objects(source, timezone, listed_at=listed_at, now=now)
    ]


def import_tracker(
    season: Season, source: str | Path, *, allow_violations: bool = False
) -> ImportResult:
    """Import a tracking sheet into ``season``: every row, or (on any error) nothing.

    Errors name the CSV line (and the column, or the event field the intake refused).
    """
    first = season.records()[0]
    events = tracker_objects(
        source, season.timezone, listed_at=first.occurred_at, now=season.clock()
    )
    return import_objects(
        season.store,
        events,
        default_season=season.id,
        rulebook=season.rulebook,
        clock=season.clock,
        allow_violations=allow_violations,
    )
