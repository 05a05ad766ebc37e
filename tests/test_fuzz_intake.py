"""Seeded fuzzing of ``prematch import``: mutated JSONL and CSV files (issue 19).

Each case is a valid file (a new season in JSONL; a tracking sheet in CSV) that one to
four seeded mutations change, at least one on the bytes: bytes flipped, inserted or cut,
a value or a cell replaced by an awkward one (deep nesting, a huge integer, a lone
surrogate, a date near year 1 or 9999, NaN, control characters, a CSV cell over the csv
module's limit, non-UTF-8 bytes), keys dropped or added. A last line that no mutation
touches is invalid, so no case may be recorded: every import must end with exit 2 or 3,
one ``error:`` line and no traceback (:class:`prematch_script.Script` fails on one), and
the database must stay byte-identical. In process, against one store (nothing is
written, which is the point).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from db_bytes import db_files, settled_db_files
from history import History
from prematch_script import Script, built

SEED = 19
CASES = 1600
"""Mutated files per format (JSONL and CSV: 3,200 imports in all)."""

SEASON = History(name="Fuzz Applicant").added_and_applied("mercy")

JSONL = [
    {
        "type": "season_started",
        "season": "other-2027",
        "at": "2026-09-20T10:00:00-04:00",
        "match_year": 2027,
        "specialty": "Internal Medicine",
        "timezone": "America/New_York",
        "visa": "j1",
        "applicant_name": "Other Applicant",
    },
    {"type": "program_added", "program": "p1", "at": "2026-09-21T10:00", "name": "P1 IM"},
    {"type": "applied", "program": "p1", "at": "2026-09-24"},
    {"type": "invited", "program": "p1", "at": "2026-10-01T10:00:00-04:00"},
    {"type": "news_recorded", "at": "2026-10-02T10:00:00-04:00", "kind": "other", "detail": "d"},
]
JSONL_LAST = '{"type": "frobbed", "at": "2026-10-03T10:00:00-04:00"}\n'
"""The last line of every JSONL case: an unknown event type."""

CSV = [
    ["program", "applied", "invited", "interview date", "notes"],
    ["Oak Valley IM", "2026-09-24", "2026-10-01", "2026-10-20", "met the PD"],
    ["Pine Ridge IM", "2026-09-25", "", "", "waiting"],
]
CSV_LAST = "Cedar IM,2027-02-30,,,an impossible date\r\n"
"""The last row of every CSV case: a date that does not exist."""

AWKWARD: list[object] = [
    "\ud800",
    "\udc80x",
    "\x00",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "",
    " ",
    "x" * 2100,
    "0001-01-01T00:00:00+00:00",
    "0001-01-01",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31",
    "2027-02-30",
    "2026-03-08T02:30",
    "2026-13-01T00:00Z",
    "+02027-01-01",
    "[/]",
    "[link=https://x.test]x",
    -1,
    0,
    10**30,
    1.5,
    True,
    None,
    [],
    {},
    {"type": "applied"},
    ["nested", ["deeper"]],
]
"""Values a mutation puts in a field or a cell."""

RAW: list[str] = [
    "[" * 3000 + "]" * 3000,
    "9" * 5000,
    "NaN",
    "Infinity",
    "-0",
    "1e999",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u0000"',
    "\x00",
    "\r",
    "\ufeff",
    '"',
    ",",
    ";",
    "\t",
    "\n",
    "{",
    "}",
]
"""Raw text a mutation splices in."""

BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80", b"\xf0\x9f"]
"""Bytes that are not UTF-8 (or only part of a character)."""


def _splice(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    piece = rng.choice(RAW).encode("utf-8", "surrogatepass")
    return data[:at] + piece + data[at:]


def _flip(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]


def _cut(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randrange(1, 40) :]


def _repeat(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randrange(1, 80)]
    return data[:start] + piece * rng.randrange(2, 4) + data[start:]


def _not_utf8(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(BYTES) + data[at:]


BYTE_MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    _splice,
    _flip,
    _cut,
    _repeat,
    _not_utf8,
]


def _jsonl_value(rng: random.Random, lines: list[dict[str, object]]) -> None:
    line = rng.choice(lines)
    key = rng.choice([*line, "override", "extra", "program", "at"])
    line[key] = rng.choice(AWKWARD)


def _jsonl_drop(rng: random.Random, lines: list[dict[str, object]]) -> None:
    line = rng.choice(lines)
    if line:
        del line[rng.choice(list(line))]


def jsonl_case(rng: random.Random) -> bytes:
    """A valid JSONL season, mutated, then the invalid last line."""
    lines: list[dict[str, object]] = [dict(line) for line in JSONL]
    for _ in range(rng.randrange(0, 3)):
        rng.choice([_jsonl_value, _jsonl_value, _jsonl_drop])(rng, lines)
    text = "".join(json.dumps(line, ensure_ascii=rng.random() < 0.5) + "\n" for line in lines)
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(rng.randrange(1, 3)):
        data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return data + b"\n" + JSONL_LAST.encode()


def csv_case(rng: random.Random) -> bytes:
    """A valid tracking sheet, its rows under the header mutated, then the invalid last row.
    (The header is left alone: a column it no longer names is warned about and ignored,
    as sync does, and so would be the last row's bad date.)"""
    header, *rows = [list(row) for row in CSV]
    for _ in range(rng.randrange(0, 3)):
        row = rng.choice(rows)
        cell = rng.randrange(len(row))
        value = rng.choice([*AWKWARD, "x" * 140_000, "", "Program", "applied"])
        row[cell] = value if isinstance(value, str) else json.dumps(value)
    text = "".join(",".join(_csv_cell(rng, c) for c in row) + "\r\n" for row in rows)
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(rng.randrange(1, 3)):
        data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return (",".join(header) + "\r\n").encode() + data + b"\r\n" + CSV_LAST.encode()


def _csv_cell(rng: random.Random, cell: str) -> str:
    if rng.random() < 0.3 or any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("fuzz"), SEASON.argv())


@pytest.mark.parametrize(
    ("suffix", "make"), [("jsonl", jsonl_case), ("csv", csv_case)], ids=["jsonl", "csv"]
)
def test_mutated_imports_are_refused_cleanly(
    tmp_path: Path, template: Path, suffix: str, make: Callable[[random.Random], bytes]
) -> None:
    script = Script(tmp_path).copy_of(template)
    before = settled_db_files(script.db)
    rng = random.Random(f"{SEED}-{suffix}")
    path = tmp_path / f"case.{suffix}"
    codes: dict[int, int] = {}
    for case in range(CASES):
        data = make(rng)
        path.write_bytes(data)
        ran = script("import", path.name)
        assert ran.returncode in (2, 3), f"case {case} ({data[:300]!r}): {ran.shown()}"
        assert ran.stderr.startswith("error:"), f"case {case}: {ran.shown()}"
        codes[ran.returncode] = codes.get(ran.returncode, 0) + 1
    assert db_files(script.db) == before, "an import changed the database"
    assert sum(codes.values()) == CASES
