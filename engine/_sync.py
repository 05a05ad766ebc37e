"""``prematch sync``: the applicant's own spreadsheet, taken in again and again.

**What sync already took in** is not remembered anywhere: sync compares what the sheet
says with the season's log as it is now (its events that are not retracted), program by
program and column by column, and appends only what the log does not already say. So a
second sync of the same sheet writes nothing, and facts recorded with ``log`` (or by an
earlier sync) are respected as long as they agree with the sheet:

- a program the log does not have is added (``program_added``); its id is the ``id``
  cell, or is made from its name (:func:`~prematch.engine._tracker.program_id`). A fact of
  a known program (name, specialty, code, timezone, visas, no-contact) that the sheet
  states differently becomes a ``program_updated``;
- a date column stands for the program's first event of its type that is not retracted.
  None yet: the event is appended. One on the cell's day (at its time, when the cell has
  one): nothing to do. One on another day: a correction, the event is retracted and
  recorded again at the sheet's date (both are shown);
- a blank cell never removes anything (a blank is "not written down", not "did not
  happen"); a retraction is ``prematch retract``'s business. What the log holds and the
  sheet no longer shows (a date cell or the signal or connection emptied, a status that
  no longer says rejected, declined or withdrawn, a program without its row) is listed
  in :attr:`SyncResult.unshown`, for the user to retract or keep;
- the status column records ``rejected``, ``declined``, ``withdrawn`` and ``waitlisted``
  (at the date of their own column when the sheet has one, else when sync first sees
  the status); ``applied``, ``invited`` and ``interviewed`` need the date of their column;
  ``ranked`` is not recorded (a rank order list is certified as a whole, ``prematch
  certify``) and is warned about;
- the signal, the connection (its kind, then any detail) and the notes are compared as
  text: a note not among the program's notes is added (the old one stays in the history);
  a notes cell parted by lines holding only ``---`` holds one note per part (an export
  writes every note so);
  a different signal tier or connection detail is retracted and recorded again.

Every problem of the sheet is reported at once (:class:`SheetProblems`, one line per bad
cell: row, column, value, what to write instead), and nothing is written; the changes
are then judged as the import will judge them (same checks as ``log``): every row with a
fact the state machine does not allow or the rulebook blocks is reported at once, by row
and column (a dry run too), and nothing is written; else they are written in one
transaction through the import. :func:`sheet_table` writes a season out as a sheet with
the same columns (what an export gives, and what a sync of it into an empty season gives
back).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prematch.engine._admission import admit
from prematch.engine._clock import EARLIEST_YEAR, LATEST_YEAR
from prematch.engine._errors import InputError, PolicyRefusal, PrematchError, StructuralError
from prematch.engine._intake import AT_THE_PROGRAM, Intake, event_zone, program_zones
from prematch.engine._records import Record
from prematch.engine._replay import retracted_seqs
from prematch.engine._season import Season
from prematch.engine._sheet import (
    NO_DATE,
    Columns,
    DateProblem,
    Order,
    Stamp,
    date_order,
    read_date,
    read_rows,
    sheet_columns,
    slashed,
)
from prematch.engine._state import SeasonState
from prematch.engine._tracker import program_id
from prematch.engine._transfer import (
    ImportResult,
    SeasonChangedError,
    import_objects,
    in_write_order,
)

__all__ = ["Change", "SheetProblems", "SyncResult", "Unshown", "sheet_table", "sync_sheet"]

DATED: dict[str, str] = {
    "applied": "applied",
    "inquiry": "inquiry_sent",
    "invited": "invited",
    "waitlisted": "waitlisted",
    "interviewed": "interviewed",
    "thanked": "thanked",
    "interest": "interest_sent",
    "intent": "intent_sent",
    "rejected": "rejected",
    "declined": "declined",
    "withdrawn": "withdrawn",
}
"""The date columns and the event each one records, in the order a program goes through them."""

_RECORDED_STATUS = ("waitlisted", "rejected", "declined", "withdrawn")
_NEEDS_DATE = {"applied": "applied", "invited": "invited", "interviewed": "interview"}
"""The statuses that need the date of a column, unless the log already has their event."""
_FACTS = ("name", "specialty", "code", "timezone", "sponsors_visas", "no_post_interview_contact")
_KINDS = {
    "observership": "observership",
    "observer": "observership",
    "research": "research",
    "employment": "employment",
    "employed": "employment",
    "job": "employment",
    "work": "employment",
    "mentor": "mentor",
    "rotation": "rotation",
    "elective": "rotation",
    "clerkship": "rotation",
}
_YES = frozenset({"yes", "y", "x", "✓", "✔", "true"})
_TIERS = {"gold": "gold", "silver": "silver"} | dict.fromkeys(
    (*_YES, "signal", "signaled", "signalled", "sent"), "signal"
)
_NO = frozenset({"", "no", "n", "none", "-", "—", "false", "n/a", "na"})
_VISAS = {"j1": ("j1",), "h1b": ("h1b",), "both": ("j1", "h1b"), "none": ("none",), "no": ("none",)}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_FIELD_COLUMNS = {
    "name": "program",
    "program": "id",
    "sponsors_visas": "sponsors",
    "no_post_interview_contact": "no_contact",
    "text": "notes",
    "detail": "connection",
    "kind": "connection",
    "tier": "signal",
}
"""The column of each event field the intake may refuse (the others: the field's name)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One fact sync appends (or, for a correction, retracts): the line it prints, and the
    event as an import object."""

    row: int
    program: str
    text: str
    event: dict[str, Any]
    column: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class Unshown:
    """A fact the log holds that the sheet no longer shows: sync keeps it (it removes
    nothing), and tells."""

    row: int | None
    """The program's row (None: the sheet has no row for the program)."""
    program: str
    column: str
    """The column's header as the sheet spells it ("" for a program without a row)."""
    fact: str
    """The log's fact, e.g. ``thanked 2026-11-18``."""
    seq: int
    """The seq of the event that holds it."""
    cell: str = ""
    """What the cell says instead ("" for a blank cell)."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did (or, with ``dry_run``, would do)."""

    changes: tuple[Change, ...]
    warnings: tuple[str, ...]
    written: int
    """Events written (0 for a dry run, or when nothing changed)."""
    unshown: tuple[Unshown, ...] = ()
    """The facts of the log the sheet no longer shows (kept), in the sheet's order."""
    imported: ImportResult | None = None
    """What the import wrote (None when nothing was written)."""


class SheetProblems(InputError):
    """Every bad cell of a sheet, one line each (row, column, value, what to write)."""

    def __init__(self, source: str, problems: Sequence[str]):
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"{count} in {source}; nothing was written:\n" + "\n".join(f"  {p}" for p in problems)
        )
        self.problems = tuple(problems)


@dataclass
class _Row:
    number: int
    program: str
    facts: dict[str, Any]
    dates: dict[str, Stamp] = field(default_factory=dict)
    interview: Stamp | None = None
    signal: str | None = None
    connection: tuple[str, str | None] | None = None
    status: str | None = None
    note: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _unquote(cell: str) -> str:
    """A cell as typed: the ``'`` an export puts before ``=``, ``+``, ``-``, ``@`` comes off."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in _FORMULA and cell[1:2] else cell


class _Reader:
    """Turns the rows of a sheet into :class:`_Row` s, gathering every problem."""

    def __init__(
        self,
        columns: Columns,
        order: Order | None,
        now: dt.datetime,
        zone: ZoneInfo,
        programs: Mapping[str, str],
    ):
        self.columns, self.order, self.now, self.zone = columns, order, now, zone
        self.programs = programs
        """The season's program ids and names: a row without an id names one of them by
        the id made from its name (:func:`program_id`)."""
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, row: int, header: str, value: str, message: str) -> None:
        self.problems.append(f"row {row}, column {header!r}: {_cell(value)} {message}")

    def read(self, rows: list[tuple[int, list[str]]], strict: bool) -> list[_Row]:
        if not rows:
            raise InputError("the sheet is empty; its first row must name the columns")
        header_row, header = rows[0]
        keys: list[str | None] = []
        unknown: list[str] = []
        seen: dict[str, str] = {}
        for cell in header:
            column = self.columns.column(cell)
            if column is None:
                if cell.strip():
                    unknown.append(cell.strip())
                keys.append(None)
                continue
            if column.key in seen:
                self.problems.append(
                    f"row {header_row}: columns {seen[column.key]!r} and {cell.strip()!r} both "
                    f"name {column.title!r}; keep one"
                )
            seen[column.key] = cell.strip()
            keys.append(column.key)
        if unknown:
            listed = ", ".join(_cell(u) for u in unknown)
            if strict:
                self.problems.append(
                    f"row {header_row}: unknown column{'s' if len(unknown) > 1 else ''} {listed} "
                    "(--strict); rename or delete, see prematch sync --columns"
                )
            else:
                self.warnings.append(
                    f"unknown column{'s' if len(unknown) > 1 else ''} {listed} ignored "
                    "(see prematch sync --columns)"
                )
        if "program" not in keys:
            raise InputError(
                "no program column (it names each row's program); see prematch sync --columns",
                line=header_row,
            )
        names = {k: header[i].strip() for i, k in enumerate(keys) if k is not None}
        for n, typed in rows[1:]:
            for i, value in enumerate(typed):
                if value.strip() and (i >= len(header) or not header[i].strip()):
                    raise InputError(
                        f"column {i + 1}: {_cell(value)} is under no name in the header; "
                        "name the column or empty its cells",
                        line=n,
                    )
        cells = [
            (n, {k: _unquote(v) for k, v in zip(keys, row, strict=False) if k is not None})
            for n, row in rows[1:]
        ]
        orders = self._orders(cells, names)
        out: list[_Row] = []
        ids: dict[str, _Row] = {}
        ranked: list[int] = []
        for number, row in cells:
            read = self._row(number, row, names, orders)
            if read is None:
                continue
            if (first := ids.get(read.program)) is not None:
                if first.facts["name"] == read.facts["name"]:
                    why = f"is program {read.program!r} again (row {first.number}); keep one row"
                else:
                    id_header = names.get("id") or self.columns.columns["id"].title
                    why = (
                        f"gets the id {read.program!r} of row {first.number} "
                        f"({first.facts['name']!r}); give it another in column {id_header!r}"
                    )
                self.problem(number, names["program"], row["program"], why)
                continue
            ids[read.program] = read
            if read.status == "ranked":
                ranked.append(number)
            out.append(read)
        if ranked:
            rows_text = ", ".join(str(n) for n in ranked)
            self.warnings.append(
                f"status 'ranked' (row{'s' if len(ranked) > 1 else ''} {rows_text}) is not "
                "recorded: certify the rank order list with prematch certify P1 P2 ..."
            )
        return out

    def _orders(
        self, cells: list[tuple[int, dict[str, str]]], names: dict[str, str]
    ) -> dict[str, Order | None]:
        orders: dict[str, Order | None] = {}
        for key in (*DATED, "interview"):
            if key not in names:
                continue
            found = [(n, row[key], pair) for n, row in cells if (pair := slashed(row.get(key, "")))]
            if self.order is not None:
                orders[key] = self.order
                continue
            order, bad = date_order(pair for _, _, pair in found)
            orders[key] = order
            for i in bad:
                n, value, (a, b) = found[i]
                if order is None and any(x > 12 for x in (a, b)):
                    why = "reads only one way, but other cells of the column only the other way"
                else:
                    why = "may be month/day or day/month, and no cell of the column tells"
                self.problem(
                    n,
                    names[key],
                    value,
                    f"{why}; pass --monthfirst or --dayfirst, or write YYYY-MM-DD",
                )
        return orders

    def _row(
        self,
        number: int,
        row: dict[str, str],
        names: dict[str, str],
        orders: dict[str, Order | None],
    ) -> _Row | None:
        name = row.get("program", "").strip()
        if not name:
            if any(v.strip() for v in row.values()):
                self.problem(number, names["program"], "", "is empty; write the program's name")
            return None
        given_id = row.get("id", "").strip()
        pid = given_id or program_id(name, self.programs)
        facts: dict[str, Any] = {"name": name}
        for key in ("specialty", "code", "timezone"):
            if value := row.get(key, "").strip():
                facts[key] = value
        if "timezone" in facts and not _is_zone(facts["timezone"]):
            self.problem(
                number,
                names["timezone"],
                facts.pop("timezone"),
                "is not an IANA timezone; write e.g. America/Chicago",
            )
        read = _Row(number, pid, facts, headers=names, values=row)
        if sponsors := row.get("sponsors", "").strip():
            self._sponsors(read, sponsors)
        if no_contact := row.get("no_contact", "").strip():
            self._no_contact(read, no_contact)
        for key in (*DATED, "interview"):
            if key in row and key in names:
                stamp = self._date(read, key, orders.get(key))
                if stamp is None:
                    continue
                if key == "interview":
                    read.interview = stamp
                else:
                    read.dates[key] = stamp
        self._extras(read, row)
        return read

    def _date(self, read: _Row, key: str, order: Order | None) -> Stamp | None:
        value = read.values[key]
        try:
            stamp = read_date(value, order)
        except DateProblem as e:
            if "month/day or day/month" not in str(e) or self.order is not None:
                self.problem(read.number, read.headers[key], value, str(e))
            return None  # an ambiguous cell is already reported, with its column
        if stamp is not None and not EARLIEST_YEAR <= stamp.day.year <= LATEST_YEAR:
            self.problem(
                read.number,
                read.headers[key],
                value,
                f"is out of range; give a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}",
            )
            return None
        if stamp is not None and key != "interview" and stamp.instant(self.zone) > self.now:
            self.problem(
                read.number,
                read.headers[key],
                value,
                "is after today; leave it blank until it has happened",
            )
            return None
        return stamp

    def _sponsors(self, read: _Row, cell: str) -> None:
        visas: list[str] = []
        for token in cell.lower().replace("/", ",").replace(";", ",").replace("&", ",").split(","):
            word = token.strip().replace("-", "").replace(" ", "").replace("and", "")
            if not word:
                continue
            if word not in _VISAS:
                self.problem(
                    read.number,
                    read.headers["sponsors"],
                    cell,
                    "is not a visa list; write J-1, H-1B, both, or none",
                )
                return
            visas.extend(v for v in _VISAS[word] if v not in visas)
        if visas:
            read.facts["sponsors_visas"] = ["none"] if "none" in visas else visas

    def _no_contact(self, read: _Row, cell: str) -> None:
        word = cell.strip().lower()
        if word in _YES:
            read.facts["no_post_interview_contact"] = True
        elif word in _NO:
            read.facts["no_post_interview_contact"] = False
        else:
            self.problem(
                read.number, read.headers["no_contact"], cell, "is not yes or no; write one"
            )

    def _extras(self, read: _Row, row: dict[str, str]) -> None:
        if signal := row.get("signal", "").strip():
            tier = _TIERS.get(signal.lower())
            if tier is not None:
                read.signal = tier
            elif signal.lower() not in _NO:
                self.problem(
                    read.number,
                    read.headers["signal"],
                    signal,
                    "is not a signal; write gold, silver, yes (one kind of signal) or no",
                )
        if connection := row.get("connection", "").strip():
            word, _, rest = connection.partition(" ")
            kind = _KINDS.get(word.lower().strip(":,;-–—"))
            if kind is not None:
                detail = rest.strip().lstrip(":,;-–— ").strip()
                read.connection = (kind, detail or None)
            elif connection.lower() not in _NO:
                self.problem(
                    read.number,
                    read.headers["connection"],
                    connection,
                    "starts with no kind of tie; write observership, research, employment, "
                    "mentor or rotation, then any detail",
                )
        if status := row.get("status", "").strip():
            meaning = self.columns.status(status)
            if meaning is None:
                words = ", ".join(dict.fromkeys(self.columns.statuses.values()))
                self.problem(
                    read.number, read.headers["status"], status, f"is not a status; write {words}"
                )
            else:
                read.status = meaning
        if (note := row.get("notes", "")).strip():
            read.note = note


class _Planner:
    """Compares the sheet's rows with the season's log and lists the changes."""

    def __init__(self, season: Season, source: str, now: dt.datetime, problems: list[str]):
        self.source, self.now = source, now
        self.problems = problems
        records = season.records()
        self.last_seq = records[-1].seq
        """The season's newest seq when the plan was made (the write checks it is still so)."""
        gone = retracted_seqs(records)
        self.first = records[0]
        self.zone = ZoneInfo(season.timezone)
        self.by_program: dict[str, list[Record]] = {}
        for r in records:
            if r.seq not in gone and r.type != "event_retracted" and r.program is not None:
                self.by_program.setdefault(r.program, []).append(r)
        self.zones = program_zones(r for rs in self.by_program.values() for r in rs)
        self.changes: list[Change] = []
        self.rows: dict[int, _Row] = {}

    def _zone(self, pid: str, kind: str, row: _Row) -> ZoneInfo:
        name = row.facts.get("timezone") or self.zones.get(pid)
        return ZoneInfo(event_zone(kind, name, self.zone.key))

    def add(self, row: _Row, text: str, event: dict[str, Any], key: str = "") -> None:
        if key == "interviewed" and key not in row.headers:
            key = "interview"  # the interview's cell, once past
        header = row.headers.get(key, "")
        value = row.values.get(key, "")
        self.changes.append(Change(row.number, row.program, text, event, header, value))

    def plan(self, row: _Row) -> None:
        self.rows[row.number] = row
        pid = row.program
        records = self.by_program.get(pid, [])
        self._status_dated(row, records)
        interview = row.interview
        held = False
        if interview is not None:
            held = interview.instant(self._zone(pid, "interviewed", row)) <= self.now
        dates = dict(row.dates)
        declined = row.status == "declined"
        if held and interview is not None and "interviewed" not in dates and not declined:
            dates["interviewed"] = interview
        invited = "invited" in dates or any(r.type == "invited" for r in records)
        if interview is not None and not invited:
            header = row.headers.get("invited") or sheet_columns().columns["invited"].title
            self.problems.append(
                f"row {row.number}, column {row.headers['interview']!r}: "
                f"{_cell(row.values['interview'])} needs the date of the invitation "
                f"(column {header!r})"
            )
        stamps = list(dates.values())
        earliest = min((s.instant(self.zone) for s in stamps), default=None)
        listed = self.first.occurred_at
        added = listed if earliest is None or listed <= earliest else earliest
        if not records:
            facts = {k: v for k, v in row.facts.items() if k in _FACTS}
            event = {"type": "program_added", "program": pid, "at": added, **facts}
            self.add(row, f"+ {pid}: program added ({row.facts['name']})", event, "program")
        else:
            self._facts(row, records)
        # the last instant the row names: where its note goes
        last_text: dt.datetime | str = added
        last = added
        for key, kind in DATED.items():
            stamp = dates.get(key)
            if stamp is None and key in _RECORDED_STATUS and row.status == key:
                if not any(r.type == kind for r in records):
                    when = f"(status {row.values['status'].strip()!r}, recorded as of now)"
                    event = {"type": kind, "program": pid, "at": self.now}
                    self.add(row, f"+ {pid}: {kind} {when}", event, "status")
                continue
            if stamp is None:
                continue
            extra: dict[str, Any] = {}
            if kind == "invited" and interview is not None:
                extra["interview_on"] = interview.day.isoformat()
            self._dated(row, key, kind, stamp, extra, records, check_extra=not held)
            moment = stamp.instant(self._zone(pid, kind, row))
            if moment >= last:
                last, last_text = moment, stamp.text
            if key == "applied" and row.signal is not None:
                self._signal(row, records, stamp.text)
        if row.signal is not None and "applied" not in dates:
            self._signal(row, records, added)
        if row.connection is not None:
            self._connection(row, records, added)
        if row.note is not None:
            texts = {r.payload["text"] for r in records if r.type == "note_added"}
            for note in _notes_of(row.note):
                if note.strip() not in texts:
                    texts.add(note.strip())
                    event = {"type": "note_added", "program": pid, "at": last_text, "text": note}
                    self.add(row, f"+ {pid}: note {_short(note)}", event, "notes")

    def unshown(self, rows: Sequence[_Row]) -> list[Unshown]:
        """The facts the log holds that the sheet no longer shows: a date, signal or
        connection cell left blank, a status that no longer says its rejection, decline or
        withdrawal, a program without a row (each the first event of its type, the one
        its column stands for)."""
        out: list[Unshown] = []
        for row in rows:
            records = self.by_program.get(row.program, [])
            first: dict[str, Record] = {}
            for r in sorted(records, key=lambda r: (r.occurred_at, r.seq)):
                first.setdefault(r.type, r)
            for key, kind in DATED.items():
                record = first.get(kind)
                if record is None or row.status == key or key in row.dates:
                    continue
                shown_by = [key, *(("interview",) if key in ("invited", "interviewed") else ())]
                if any(row.values.get(k, "").strip().lower() not in NO_DATE for k in shown_by):
                    continue  # a date (or one not read, reported on its own)
                column = next((k for k in shown_by if k in row.headers), None)
                if column is None and key in _RECORDED_STATUS[1:] and "status" in row.headers:
                    column = "status"
                if column is None:
                    continue  # the sheet has no column for it
                when = _when(record, self._zone(row.program, kind, row))
                cell = row.values.get(column, "").strip()
                out.append(
                    Unshown(
                        row.number,
                        row.program,
                        row.headers[column],
                        f"{kind} {when}",
                        record.seq,
                        cell,
                    )
                )
            for key, kind, fact in (
                ("signal", "signal_sent", row.signal),
                ("connection", "connection_recorded", row.connection),
            ):
                record = first.get(kind)
                if record is None or fact is not None or key not in row.headers:
                    continue
                detail = record.payload.get("detail")
                said = record.payload.get("tier") or record.payload["kind"] + (
                    f" ({detail})" if detail else ""
                )
                out.append(
                    Unshown(
                        row.number,
                        row.program,
                        row.headers[key],
                        f"{key} {said}",
                        record.seq,
                        row.values.get(key, "").strip(),
                    )
                )
        in_sheet = {row.program for row in rows}
        for pid, records in self.by_program.items():
            added = next((r for r in records if r.type == "program_added"), None)
            if pid not in in_sheet and added is not None:
                name = added.payload.get("name", pid)
                out.append(Unshown(None, pid, "", f"program {name!r}", added.seq))
        return out

    def _status_dated(self, row: _Row, records: list[Record]) -> None:
        """A status of ``applied``, ``invited`` or ``interviewed`` needs its event's date:
        in the sheet, or already in the log."""
        needs = _NEEDS_DATE.get(row.status or "")
        if needs is None or row.status is None:
            return
        given = row.interview is not None if needs == "interview" else needs in row.dates
        if given or row.status in row.dates or any(r.type == row.status for r in records):
            return
        if row.values.get(needs, "").strip().lower() not in NO_DATE:
            return  # a date cell filled but not read: its own problem is reported
        header = row.headers.get(needs)
        where = (
            f"write it in column {header!r}"
            if header
            else f"add a column {sheet_columns().columns[needs].title!r} with it"
        )
        status = row.values["status"]
        self.problems.append(
            f"row {row.number}, column {row.headers['status']!r}: {_cell(status)} needs its date: "
            + where
        )

    def _facts(self, row: _Row, records: list[Record]) -> None:
        known: dict[str, Any] = {}
        for r in records:
            if r.type in ("program_added", "program_updated"):
                known.update({k: v for k, v in r.payload.items() if k in _FACTS})
        changed = {}
        for key, value in row.facts.items():
            old = known.get(key)
            same = (
                sorted(old) == sorted(value)
                if isinstance(value, list) and isinstance(old, list | tuple)
                else old == value
            )
            if not same:
                changed[key] = value
        if changed:
            listed = ", ".join(f"{k} {_show(v)}" for k, v in changed.items())
            event = {"type": "program_updated", "program": row.program, "at": self.now, **changed}
            self.add(row, f"~ {row.program}: program updated: {listed}", event, "program")

    def _dated(
        self,
        row: _Row,
        key: str,
        kind: str,
        stamp: Stamp,
        extra: dict[str, Any],
        records: list[Record],
        *,
        check_extra: bool,
    ) -> None:
        pid = row.program
        zone = self._zone(pid, kind, row)
        same = [r for r in records if r.type == kind]
        shown = stamp.text + (f" (interview {extra['interview_on']})" if extra else "")
        event = {"type": kind, "program": pid, "at": stamp.text, **extra}
        if not same:
            self.add(row, f"+ {pid}: {kind} {shown}", event, key)
            return
        first = min(same, key=lambda r: (r.occurred_at, r.seq))
        fits = stamp.matches(first.occurred_at, zone)
        if fits and kind == "invited" and extra and check_extra:
            fits = first.payload.get("interview_on") == extra["interview_on"] or any(
                r.type == "interviewed" for r in records
            )
        if fits:
            return
        was = _when(first, zone)
        if kind == "invited" and first.payload.get("interview_on"):
            was += f" (interview {first.payload['interview_on']})"
        retraction = {
            "type": "event_retracted",
            "program": pid,
            "at": self.now,
            "retracts": first.seq,
            "reason": f"the sheet {self.source} says {shown}",
        }
        self.add(row, f"- {pid}: {kind} {was} retracted (seq {first.seq})", retraction, key)
        self.add(row, f"+ {pid}: {kind} {shown}", event, key)

    def _signal(self, row: _Row, records: list[Record], at: dt.datetime | str) -> None:
        pid, tier = row.program, row.signal
        same = [r for r in records if r.type == "signal_sent"]
        if any(r.payload["tier"] == tier for r in same):
            return
        event = {"type": "signal_sent", "program": pid, "at": at, "tier": tier}
        if same:
            self._retract(row, same[0], f"signal {same[0].payload['tier']}", f"signal {tier}")
        self.add(row, f"+ {pid}: signal {tier}", event, "signal")

    def _connection(self, row: _Row, records: list[Record], at: dt.datetime) -> None:
        if row.connection is None:
            return
        pid, (kind, detail) = row.program, row.connection
        same = [r for r in records if r.type == "connection_recorded"]
        if any(
            r.payload["kind"] == kind and detail in (None, r.payload.get("detail")) for r in same
        ):  # a cell without detail agrees with any tie of its kind
            return
        event: dict[str, Any] = {"type": "connection_recorded", "program": pid, "at": at}
        event["kind"] = kind
        if detail:
            event["detail"] = detail
        shown = kind + (f" ({detail})" if detail else "")
        for r in same:
            if r.payload["kind"] == kind:
                old = kind + (f" ({r.payload['detail']})" if r.payload.get("detail") else "")
                self._retract(row, r, f"connection {old}", f"connection {shown}")
                at = r.occurred_at
                event["at"] = at
                break
        self.add(row, f"+ {pid}: connection {shown}", event, "connection")

    def _retract(self, row: _Row, record: Record, old: str, new: str) -> None:
        retraction = {
            "type": "event_retracted",
            "program": row.program,
            "at": self.now,
            "retracts": record.seq,
            "reason": f"the sheet {self.source} says {new}",
        }
        self.add(row, f"- {row.program}: {old} retracted (seq {record.seq})", retraction)


_NOTE_LINE = "\n---\n"
"""Between two notes of a notes cell (a line holding only ``---``): how an export writes
every note of a program in its cell, and how sync tells them apart."""
_NOTE_BREAK = re.compile(r"\n[ \t]*---[ \t]*(?:\n|$)")


def _notes_of(cell: str) -> list[str]:
    """The notes a notes cell holds: the cell as typed, or, when lines holding only
    ``---`` part it, each part (without the blank around it)."""
    parts = _NOTE_BREAK.split(cell)
    if len(parts) == 1:
        return [cell]
    return [part.strip() for part in parts if part.strip()]


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # unknown, malformed, or no file name at all
        return False
    return True


def _when(record: Record, zone: ZoneInfo) -> str:
    local = record.occurred_at.astimezone(zone)
    if local.time().replace(microsecond=0) == dt.time() or local.microsecond:
        return local.date().isoformat()
    return local.strftime("%Y-%m-%dT%H:%M" + (":%S" if local.second else ""))


def _cell(value: str) -> str:
    """A cell's value as a problem line shows it (a long one cut short)."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _short(text: str) -> str:
    line = " ".join(text.split())
    return repr(line if len(line) <= 60 else line[:57] + "...")


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return repr(value)


_PLAN_ATTEMPTS = 3
"""How many times a sync compares the sheet again after another writer got in first."""


def sync_sheet(
    season: Season,
    path: Path,
    *,
    sheet: str | None = None,
    order: Order | None = None,
    strict: bool = False,
    dry_run: bool = False,
    allow_violations: bool = False,
) -> SyncResult:
    """Take in the sheet at ``path`` (``.csv`` or ``.xlsx``): append to ``season`` what its
    log does not say yet (see the module's docstring), in one transaction, or nothing.

    ``order`` reads ``a/b/yyyy`` dates ``"monthfirst"`` or ``"dayfirst"`` (default: each
    column must tell); ``strict`` refuses unknown columns (else they are warned about);
    ``dry_run`` plans and judges, and writes nothing. Raises :class:`SheetProblems` listing
    every bad cell, then :class:`StructuralError` or :class:`PolicyRefusal` (every refused
    fact blocked by a rule) listing each refused row with its column.
    """
    table = read_rows(path, sheet)
    for attempt in range(_PLAN_ATTEMPTS):
        now = season.clock()
        programs = {pid: p.name for pid, p in season.state().programs.items()}
        reader = _Reader(sheet_columns(), order, now, ZoneInfo(season.timezone), programs)
        rows = reader.read(table, strict)
        planner = _Planner(season, path.name, now, reader.problems)
        for row in rows:
            planner.plan(row)
        dated = _check_objects(season, planner)
        if reader.problems:
            # row by row (the header's first); within a row, as found
            ordered = sorted(reader.problems, key=lambda p: int(p.split(None, 2)[1].rstrip(",:")))
            raise SheetProblems(path.name, ordered)
        changes = tuple(planner.changes)
        unshown = tuple(planner.unshown(rows))
        if changes and dry_run:
            _judge(season, planner, allow_violations)
        if not changes or dry_run:
            return SyncResult(changes, (*reader.warnings, *dated), 0, unshown)
        try:
            result = import_objects(
                season.store,
                [(c.row, c.event) for c in changes],
                default_season=season.id,
                rulebook=season.rulebook,
                clock=season.clock,
                allow_violations=allow_violations,
                expected_last_seq=planner.last_seq,
            )
        except SeasonChangedError:
            # Another writer recorded something between the plan and the write: the plan
            # may now repeat or contradict it, so compare the sheet with the log again.
            if attempt + 1 == _PLAN_ATTEMPTS:
                raise
            continue
        except (StructuralError, PolicyRefusal):
            # Nothing was written: judge again, without writing, to name every refused row
            # (the import stops at the first; a sync that passes is judged once).
            _judge(season, planner, allow_violations)
            raise
        return SyncResult(changes, (*reader.warnings, *dated), result.events, unshown, result)
    raise AssertionError("unreachable")  # the loop returns or raises


def _season_intake(season: Season, now: dt.datetime, records: Sequence[Record]) -> Intake:
    """The intake of a sheet's events into ``season`` (its ``records`` as they stand)."""
    return Intake(
        {season.id: season.timezone},
        now,
        current=season.id,
        programs=lambda _: program_zones(records),
    )


def _judge(season: Season, planner: _Planner, allow_violations: bool) -> None:
    """Admit the planned events as the import will write them, writing nothing, and raise
    what it would refuse: every row with an event the state machine does not allow or
    the rulebook blocks (its first such event), each named by row and column. A row
    refused is left out of the judging of the rows after it (a program's events do not
    depend on another's)."""
    existing = season.records()
    intake = _season_intake(season, planner.now, existing)
    pending = [intake.from_object(dict(c.event), c.row) for c in planner.changes]
    intake.settle()
    change_of = {id(p): c for p, c in zip(pending, planner.changes, strict=True)}
    in_write_order(existing, pending, planner.now)
    first = existing[-1].seq + 1
    refused: list[tuple[Change, PrematchError]] = []
    while True:
        out = {c.row for c, _ in refused}
        batch = [p for p in pending if p.line not in out]
        try:
            admit(
                existing,
                [p.record(first + n) for n, p in enumerate(batch)],
                season.rulebook,
                blocked_override="imported" if allow_violations else None,
            )
            break
        except (StructuralError, PolicyRefusal) as e:
            if e.seq is None or not first <= e.seq < first + len(batch):
                if not refused:
                    raise  # not one of the rows (an existing event it breaks): as the import
                break
            refused.append((change_of[id(batch[e.seq - first])], e))
    if not refused:
        return
    lines = [
        f"  row {c.row}{f', column {c.column!r}' if c.column else ''}: "
        + e.message.removesuffix("; nothing was written")
        for c, e in refused
    ]
    count = f"{len(refused)} refusal{'s' if len(refused) != 1 else ''}"
    message = f"{count} in {planner.source}; nothing was written:\n" + "\n".join(lines)
    if all(isinstance(e, PolicyRefusal) for _, e in refused):
        findings = [f for _, e in refused if isinstance(e, PolicyRefusal) for f in e.findings]
        raise PolicyRefusal(message, findings)
    structural = next(e for _, e in refused if isinstance(e, StructuralError))
    assert isinstance(structural, StructuralError)
    raise StructuralError(
        message, program=structural.program, state=structural.state, event=structural.event
    )


def _check_objects(season: Season, planner: _Planner) -> list[str]:
    """Pass every planned event through the intake alone, so that every value it refuses
    (an NRMP code, a timezone, a name too long) is reported at once, with its cell; return
    a warning for each event dated outside the season's likely span, with its row."""
    records = season.records()
    intake = _season_intake(season, planner.now, records)
    started = SeasonState.start(records[0])
    dated: dict[tuple[int, str], str] = {}  # once per row and date, naming the cell typed
    for change in planner.changes:
        try:
            pending = intake.from_object(dict(change.event), change.row)
            intake.settle()
            if (odd := started.out_of_season(pending.at, pending.type)) is not None:
                if pending.type == "program_added":  # dated by the row's first date cell
                    dated.setdefault((change.row, odd), "")
                elif not dated.get((change.row, odd)):
                    dated[change.row, odd] = change.column
        except InputError as e:
            row = planner.rows[change.row]
            key = _FIELD_COLUMNS.get(e.field or "", e.field or "")
            if key not in row.headers and key == "id":
                key = "program"
            header, value = change.column, change.value
            if key in row.headers:
                header, value = row.headers[key], row.values[key]
            e.line = e.field = None
            said = str(e) if str(e).startswith(repr(value)) else f"{_cell(value)}: {e}"
            problem = f"row {change.row}, column {header!r}: {said}"
            if problem not in planner.problems:  # one bad cell, however many events carry it
                planner.problems.append(problem)
    return [
        f"row {row}{f', column {column!r}' if column else ''}: {odd}"
        for (row, odd), column in dated.items()
    ]


_EXPORTED = (
    "id",
    "program",
    "specialty",
    "code",
    "timezone",
    "applied",
    "signal",
    "connection",
    "inquiry",
    "invited",
    "interview",
    "waitlisted",
    "thanked",
    "interest",
    "intent",
    "rejected",
    "declined",
    "withdrawn",
    "status",
    "sponsors",
    "no_contact",
    "notes",
)


def sheet_table(season: Season) -> tuple[list[str], list[list[str]]]:
    """The season as a sheet: the header and one row per program, with the columns sync
    reads (each date column its program's first event of that type; the interview its
    time once held, else the invitation's day; every note, in their order, parted by
    lines holding only ``---``). Cells that a spreadsheet
    would take for a formula (``=``, ``+``, ``-``, ``@`` first) start with ``'``.

    Dates are written in the zone sync reads them in (the program's for events at the
    program, when it has one; the season's otherwise), as a date alone when the event
    was given as one (its time is the day's start, or a placement within the day)."""
    columns = sheet_columns().columns
    header = [columns[key].title for key in _EXPORTED]
    records = season.records()
    gone = retracted_seqs(records)
    state = season.state()
    zone = ZoneInfo(season.timezone)
    by_program: dict[str, list[Record]] = {}
    for r in records:
        if r.seq not in gone and r.type != "event_retracted" and r.program is not None:
            by_program.setdefault(r.program, []).append(r)
    out = []
    for pid, program in state.programs.items():
        rs = sorted(by_program.get(pid, []), key=lambda r: (r.occurred_at, r.seq))
        facts: dict[str, Any] = {}
        for r in rs:
            if r.type in ("program_added", "program_updated"):
                facts.update(r.payload)
        place = ZoneInfo(facts["timezone"]) if facts.get("timezone") else zone
        first: dict[str, Record] = {}
        for r in rs:
            first.setdefault(r.type, r)
        cells: dict[str, str] = {
            "id": pid,
            "program": facts.get("name", program.name),
            "specialty": facts.get("specialty") or "",
            "code": facts.get("code") or "",
            "timezone": facts.get("timezone") or "",
        }
        for key, kind in DATED.items():
            if kind in first and kind != "interviewed":
                cells[key] = _when(first[kind], place if kind in AT_THE_PROGRAM else zone)
        if "interviewed" in first:
            cells["interview"] = _when(first["interviewed"], place)
        elif program.interview_on is not None:
            cells["interview"] = program.interview_on.isoformat()
        if "signal_sent" in first:
            cells["signal"] = first["signal_sent"].payload["tier"]
        if "connection_recorded" in first:
            payload = first["connection_recorded"].payload
            detail = payload.get("detail")
            cells["connection"] = payload["kind"] + (f": {detail}" if detail else "")
        cells["status"] = "" if program.state == "listed" else program.state
        visas = facts.get("sponsors_visas")
        cells["sponsors"] = ", ".join(visas) if visas else ""
        no_contact = facts.get("no_post_interview_contact")
        cells["no_contact"] = "" if no_contact is None else ("yes" if no_contact else "no")
        cells["notes"] = _NOTE_LINE.join(r.payload["text"] for r in rs if r.type == "note_added")
        out.append([_safe(cells.get(key, "")) for key in _EXPORTED])
    return header, out


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA) else cell
