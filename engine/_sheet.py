"""The applicant's spreadsheet as cells: reading ``.csv`` and ``.xlsx``, the columns
``prematch sync`` understands (data: ``fixtures/sheets/columns.toml``), and the dates
people type.

A sheet is read into rows of text cells, numbered as the spreadsheet numbers them (the
header is row 1; a CSV record with a quoted line break is still one row). Google Sheets'
CSV export is read as it comes (a byte-order mark, CRLF line ends, quoted line breaks);
an ``.xlsx`` workbook is opened read-only with openpyxl (loaded only for ``.xlsx``), its
first sheet or the one named. A date cell of a workbook becomes ISO text.

Dates (:func:`read_date`): ISO (``2026-11-18``, with a time, with an offset), ``11/18/2026``
(and ``18/11/2026`` or ``18.11.2026`` read day first), ``18-Nov-2026``, ``Nov 18, 2026``,
``18 November 2026``, each optionally followed by a time (``09:30``, ``9:30 AM``), and
Excel serial numbers (``46344``, ``46344.375``). ``TBD``, ``n/a``, ``-`` or a blank cell
mean "no date". A column is read month first or day first as a whole (see
:func:`date_order`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from prematch.engine._errors import InputError
from prematch.engine._files import write_file
from prematch.engine._resources import fixtures_dir

__all__ = [
    "NO_DATE",
    "Column",
    "Columns",
    "DateProblem",
    "Stamp",
    "clock_time",
    "csv_text",
    "date_order",
    "first_format",
    "header_key",
    "read_date",
    "read_rows",
    "sheet_columns",
    "slashed",
    "write_sheet",
]

Order = Literal["monthfirst", "dayfirst"]

NO_DATE = frozenset(
    {"", "-", "—", "–", "tbd", "tba", "n/a", "na", "none", "no", "not yet", "pending", "?", "false"}
)
"""What a date cell may hold to say "no date" (compared in lower case)."""

_YES = frozenset({"yes", "y", "x", "✓", "✔", "true", "done", "sent", "completed"})
_NAMED_FORMATS = (
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%a, %b %d, %Y",
    "%A, %B %d, %Y",
    "%Y/%m/%d",
    "%Y-%m-%d",
)
_SLASHED = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})$")
_TIME = re.compile(
    r"^(?P<day>.+?)[ T,]+"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?)$",
    re.IGNORECASE,
)
_MONTH_DOT = re.compile(r"\b(?:(sept)|([a-z]{3}))\.?(?=\s|$)", re.IGNORECASE)
"""A month's abbreviation with its period (``Nov.``), or ``Sept``: strptime reads neither."""
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXAMPLES = "write e.g. 2026-11-18, Nov 18, 2026 or 18-Nov-2026 (a time may follow: 09:30)"
_INSTEAD = "e.g. 2026-11-18, Nov 18, 2026 or 18-Nov-2026"


def header_key(header: str) -> str:
    """A header as it is matched: lower case, ``-``, ``_``, ``/``, ``?``, ``:``, ``.``,
    ``,`` and runs of spaces read as one space."""
    return re.sub(r"[\s_\-/?:.,()#]+", " ", header.strip().lstrip("\ufeff").lower()).strip()


@dataclass(frozen=True, slots=True)
class Column:
    """One column ``prematch sync`` understands."""

    key: str
    meaning: str
    headers: tuple[str, ...]

    @property
    def title(self) -> str:
        """The header an export writes (the first of :attr:`headers`, capitalised)."""
        first = self.headers[0]
        return first[:1].upper() + first[1:]


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns and the status words, as ``fixtures/sheets/columns.toml`` declares them."""

    columns: dict[str, Column]
    statuses: dict[str, str]
    """Each status word (as :func:`header_key` makes it) and the status it means."""

    def column(self, header: str) -> Column | None:
        """The column a header names, if any."""
        key = header_key(header)
        return next((c for c in self.columns.values() if key in c.headers), None)

    def status(self, cell: str) -> str | None:
        """The status a status cell means (``None`` if it means none we know)."""
        return self.statuses.get(header_key(cell))

    def text(self) -> str:
        """The mapping as ``sync --columns`` prints it."""
        lines = []
        for c in self.columns.values():
            lines.append(f"{c.title}: {c.meaning}")
            lines.append(f"    headers: {', '.join(c.headers)}")
        lines.append("Status words:")
        by_status: dict[str, list[str]] = {}
        for word, status in self.statuses.items():
            by_status.setdefault(status, []).append(word)
        lines.extend(f"    {status}: {', '.join(words)}" for status, words in by_status.items())
        return "\n".join(lines)


@cache
def sheet_columns() -> Columns:
    """The columns ``prematch sync`` understands (``fixtures/sheets/columns.toml``)."""
    path = fixtures_dir() / "sheets" / "columns.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    columns: dict[str, Column] = {}
    claimed: dict[str, str] = {}
    for key, spec in data["columns"].items():
        headers = tuple(dict.fromkeys(header_key(h) for h in spec["headers"]))
        for h in headers:
            if h in claimed:
                raise ValueError(f"{path}: header {h!r} names both {claimed[h]} and {key}")
            claimed[h] = key
        columns[key] = Column(key, spec["meaning"], headers)
    statuses = {
        header_key(word): status for status, words in data["status"].items() for word in words
    }
    return Columns(columns, statuses)


def read_rows(path: Path, sheet: str | None = None) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a ``.csv`` or ``.xlsx`` sheet, each with its row number
    (the header is row 1), as text cells."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, sheet)
    if sheet is not None:
        raise InputError(f"--sheet names a sheet of a workbook; {path.name} is a CSV file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path.name} is not UTF-8 (byte {e.start + 1}); save the sheet as 'CSV UTF-8'"
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    # strict: a quote left open would swallow the rows after it into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        # A line break inside a quoted cell is written CR LF on Windows (or by unix2dos,
        # git's autocrlf), CR on old Macs; a workbook's cells hold LF, and so does the log.
        return _numbered(
            (n, [_CRLF.sub("\n", cell) for cell in row]) for n, row in enumerate(reader, start=1)
        )
    except csv.Error as e:
        raise InputError(
            f"{path.name} is not a CSV sheet I can read (row {reader.line_num}: {e}); "
            "export it again from the spreadsheet as CSV"
        ) from None


_CRLF = re.compile(r"\r\n?")


def _numbered(rows: Iterable[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    return [(n, row) for n, row in rows if any(cell.strip() for cell in row)]


def _xlsx_rows(path: Path, sheet: str | None) -> list[tuple[int, list[str]]]:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise InputError(f"{path.name} is not an .xlsx workbook I can open ({e})") from None
    try:
        if sheet is None:
            pages = book.worksheets
            if not pages:
                raise InputError(f"{path.name} has no sheet")
            page = pages[0]
        elif sheet in book.sheetnames:
            page = book[sheet]
        else:
            names = ", ".join(repr(n) for n in book.sheetnames)
            raise InputError(f"{path.name} has no sheet {sheet!r}; its sheets: {names}")
        rows = [
            (n, [_cell_text(v) for v in values])
            for n, values in enumerate(page.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    return _numbered(rows)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A date cell as read: its day, its time if it had one, its offset if it had one."""

    day: dt.date
    time: dt.time | None = None
    offset: dt.tzinfo | None = None

    @property
    def text(self) -> str:
        """ISO text the intake reads as it reads any typed time (a date: "during that day")."""
        if self.time is None:
            return self.day.isoformat()
        moment = dt.datetime.combine(self.day, self.time, self.offset)
        return moment.isoformat(timespec="seconds" if self.time.second else "minutes")

    def instant(self, zone: dt.tzinfo) -> dt.datetime:
        """The instant it names (a date: the start of the day), read in ``zone`` unless it
        carries its offset."""
        return dt.datetime.combine(self.day, self.time or dt.time(), self.offset or zone)

    def matches(self, moment: dt.datetime, zone: dt.tzinfo) -> bool:
        """Whether ``moment`` is what the cell says: on its day (a date), or at its time
        (to the second)."""
        if self.offset is not None and self.time is not None:
            return moment.replace(microsecond=0) == self.instant(zone)
        local = moment.astimezone(zone)
        if self.time is None:
            return local.date() == self.day
        return local.date() == self.day and local.time().replace(microsecond=0) == self.time


class DateProblem(ValueError):
    """A date cell that cannot be read; the message says what to write instead."""


def slashed(text: str) -> tuple[int, int] | None:
    """The first two numbers of a ``11/18/2026``-style date (a time may follow), else ``None``."""
    m = _SLASHED.match(_split_time(text.strip())[0])
    return (int(m[1]), int(m[3])) if m else None


def date_order(cells: Iterable[tuple[int, int]]) -> tuple[Order | None, list[int]]:
    """How a column's ``a/b/yyyy`` dates read, from their first two numbers: the order
    they all allow (``None`` when both orders fit), and the indexes of the cells that make
    it undecidable (a cell whose numbers are both 12 or less and differ, when no cell of
    the column has a number above 12 to decide; or, when cells need both orders, those
    that need the rarer one)."""
    pairs = list(cells)
    month_first = [i for i, (a, b) in enumerate(pairs) if b > 12 >= a]
    day_first = [i for i, (a, b) in enumerate(pairs) if a > 12 >= b]
    if month_first and day_first:
        fewer = day_first if len(day_first) <= len(month_first) else month_first
        return None, fewer
    if month_first:
        return "monthfirst", []
    if day_first:
        return "dayfirst", []
    return None, [i for i, (a, b) in enumerate(pairs) if a != b and a <= 12 and b <= 12]


def read_date(text: str, order: Order | None) -> Stamp | None:
    """A date cell as a :class:`Stamp` (``None`` for "no date"); ``order`` decides
    ``a/b/yyyy`` dates (with ``None``, both numbers must be the same or one above 12).
    Raises :class:`DateProblem` saying what to write instead."""
    value = text.strip()
    if value.lower() in NO_DATE:
        return None
    if value.lower() in _YES:
        raise DateProblem(f"says it happened but not when; write the date it happened, {_INSTEAD}")
    if _SERIAL.match(value):
        serial = float(value)
        if not 20000 <= serial <= 80000:
            raise DateProblem(f"is a number, not a date; {_EXAMPLES}")
        moment = dt.datetime.combine(_EXCEL_EPOCH, dt.time()) + dt.timedelta(days=serial)
        moment = (moment + dt.timedelta(seconds=30)).replace(second=0, microsecond=0)
        return Stamp(moment.date(), None if moment.time() == dt.time() else moment.time())
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        if len(value) == 10:
            return Stamp(moment.date())
        return Stamp(moment.date(), moment.time().replace(tzinfo=None), moment.tzinfo)
    day_text, time_text = _split_time(value)
    time = None
    if time_text is not None:
        time = clock_time(time_text)
        if time is None:
            raise DateProblem(
                f"{time_text!r} is not a time I can read; write e.g. 09:30 or 9:30 AM"
            )
    return Stamp(_day(day_text, order), time)


def _split_time(value: str) -> tuple[str, str | None]:
    m = _TIME.match(value)
    if m is None:
        return value, None
    return m["day"].strip().rstrip(","), m["time"]


def _day(text: str, order: Order | None) -> dt.date:
    m = _SLASHED.match(text)
    if m is not None:
        a, b, year = int(m[1]), int(m[3]), int(m[4])
        year += 2000 if year < 100 else 0
        if order is None and a != b and a <= 12 and b <= 12:
            raise DateProblem(
                f"{a}/{b} may be month/day or day/month; "
                "pass --monthfirst or --dayfirst, or write the date as YYYY-MM-DD"
            )
        month, day = (b, a) if order == "dayfirst" or (order is None and a > 12) else (a, b)
        try:
            return dt.date(year, month, day)
        except ValueError:
            reading = "day/month" if (month, day) == (b, a) else "month/day"
            raise DateProblem(f"is no date when read {reading}; {_EXAMPLES}") from None
    named = first_format(_MONTH_DOT.sub(lambda m: "Sep" if m[1] else m[2], text), _NAMED_FORMATS)
    if named is None:
        raise DateProblem(f"is not a date I can read; {_EXAMPLES}")
    return named.date()


def first_format(text: str, formats: Iterable[str]) -> dt.datetime | None:
    """``text`` read with the first of ``formats`` (``strptime``) that reads it, or ``None``."""
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def clock_time(text: str) -> dt.time | None:
    """A time of day as people write it (``09:30``, ``9:30 am``, ``9am``, ``21:00:15``), or
    ``None``."""
    compact = text.replace(".", "").replace(" ", "").upper()
    read = first_format(compact, ("%H:%M", "%H:%M:%S", "%I:%M%p", "%I:%M:%S%p", "%I%p"))
    return None if read is None else read.time()


def write_sheet(
    path: Path, header: list[str], rows: list[list[str]], *, xlsx: bool = False
) -> None:
    """Write a sheet to ``path`` as CSV (UTF-8, CRLF line ends, as spreadsheets write it)
    or, with ``xlsx``, as a workbook of one sheet, through :func:`write_file` (mode 0600,
    whole or not at all)."""
    if xlsx:
        book = io.BytesIO()
        _write_xlsx(book, header, rows)
        write_file(path, book.getvalue())
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_file(path, out.getvalue().encode("utf-8"))


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """A sheet as CSV text (for standard output)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _write_xlsx(path: io.BytesIO, header: list[str], rows: list[list[str]]) -> None:
    import openpyxl
    from openpyxl.cell.cell import TYPE_STRING

    book = openpyxl.Workbook(write_only=True)
    page = book.create_sheet("prematch")
    for values in (header, *rows):
        cells = []
        for value in values:
            cell = openpyxl.cell.WriteOnlyCell(page, value=value)
            cell.data_type = TYPE_STRING  # text as text: never a formula
            cells.append(cell)
        page.append(cells)
    book.save(path)
