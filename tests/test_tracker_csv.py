"""``prematch import tracker.csv``: the spreadsheet applicants already keep.

The sample in fixtures/ imports cleanly; headers are read leniently; unknown columns,
a missing ``program`` column and bad cells are errors that name the CSV line, and an
error leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from history import PROFILE
from prematch_script import Script

from prematch.engine import InputError, fixtures_dir
from prematch.engine._tracker import COLUMNS, program_id, tracker_lines

INIT = PROFILE.init_argv()

SAMPLE = fixtures_dir() / "tracker-sample.csv"
NY = "America/New_York"
STARTED = dt.datetime.fromisoformat("2026-09-20T10:00:00-04:00")
NOW = dt.datetime.fromisoformat("2027-01-15T09:00:00-05:00")


def events(text: str | Path, **kw: Any) -> list[dict[str, Any]]:
    kw.setdefault("listed_at", STARTED)
    kw.setdefault("now", NOW)
    return [json.loads(line) for line in tracker_lines(text, NY, **kw)]


def test_sample_becomes_import_lines() -> None:
    lines = events(SAMPLE)
    riverside = [e for e in lines if e["program"] == "riverside-general-hospital-internal-medicine"]
    assert [e["type"] for e in riverside] == [
        "program_added",
        "applied",
        "invited",
        "interviewed",
        "thanked",
        "interest_sent",
        "note_added",
    ]
    added, applied, invited, interviewed, *_, interest, note = riverside
    # The Notes cell is kept as written, after the last thing the row records.
    assert note["text"] == "PD Dr. Ames; liked the night-float system"
    assert note["at"] == interest["at"]
    assert added["name"] == "Riverside General Hospital Internal Medicine"
    assert added["at"] == "2026-09-20T10:00:00-04:00"  # the season's start
    assert applied["at"] == "2026-09-24"  # a date: during that day (placed by the import)
    assert invited["interview_on"] == "2026-10-27"
    assert interviewed["at"] == "2026-10-27T09:00:00"  # read where it happened, by the import
    # US dates, month names and 12-hour times are read too.
    brookside = {e["type"]: e for e in lines if e["program"].startswith("brookside")}
    assert brookside["applied"]["at"] == "2026-09-25"
    assert brookside["interviewed"]["at"] == "2026-11-03T09:00:00"
    assert brookside["intent_sent"]["at"] == "2027-01-12"
    lakeshore = {e["type"]: e for e in lines if e["program"].startswith("lakeshore")}
    assert lakeshore["interviewed"]["at"] == "2026-11-10T08:30:00"


def test_an_interview_still_to_come_is_only_the_invitations_date() -> None:
    northfield = [e for e in events(SAMPLE) if e["program"].startswith("northfield")]
    assert [e["type"] for e in northfield] == ["program_added", "applied", "invited", "note_added"]
    assert northfield[2]["interview_on"] == "2027-01-26"
    assert northfield[3]["at"] == northfield[2]["at"]  # not at the interview still to come


def test_headers_are_read_leniently() -> None:
    text = (
        " PROGRAM ,applied,Invited,interview_date,THANK_YOU_SENT,letter-of-interest-sent,"
        "Letter of Intent  Sent,notes\n"
        "Mercy General IM,2026-09-24,2026-10-01,2026-10-20,2026-10-21,,,hello\n"
    )
    assert [e["type"] for e in events(text)] == [
        "program_added",
        "applied",
        "invited",
        "interviewed",
        "thanked",
        "note_added",
    ]


def test_semicolon_sheets_and_a_byte_order_mark() -> None:
    text = "\ufeffProgram;Applied\nMercy General IM;24/09/2026\n".replace(
        "24/09/2026", "2026-09-24"
    )
    assert [e["type"] for e in events(text)] == ["program_added", "applied"]


def test_unknown_columns_list_the_known_ones() -> None:
    text = "program,applied,score,Ranked?\nMercy,2026-09-24,250,yes\n"
    with pytest.raises(InputError) as caught:
        tracker_lines(text, NY)
    message = str(caught.value)
    assert caught.value.line == 1
    assert "'score', 'Ranked?'" in message
    for known in COLUMNS:
        assert known in message


def test_missing_program_column_is_named() -> None:
    with pytest.raises(InputError, match="'program' column is missing") as caught:
        tracker_lines("applied,invited\n2026-09-24,\n", NY)
    assert caught.value.field == "program"


@pytest.mark.parametrize(
    ("row", "line", "field", "words"),
    [
        ("Mercy,yesterday,,,,,", 3, "applied", "not a date"),
        ("Mercy,yes,,,,,", 3, "applied", "write the date"),
        ("Mercy,2026-09-24,,2026-10-20,,,", 3, "invited", "invitation"),
        ("Mercy,2026-09-24,2026-10-01,,2026-10-21,,", 3, "thank-you sent", "interview"),
        ("Mercy,2026-09-24,2027-02-01,,,,", 3, "invited", "after today"),
        (",2026-09-24,,,,,", 3, "program", "empty"),
    ],
)
def test_bad_cells_name_the_csv_line_and_column(
    row: str, line: int, field: str, words: str
) -> None:
    header = "program,applied,invited,interview date,thank-you sent,letter of interest sent,notes"
    text = f"{header}\nOak,2026-09-24,,,,,\n{row}\n"
    with pytest.raises(InputError, match=words) as caught:
        events(text)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert str(caught.value).startswith(f"line {line}, field '{field}'")


def test_the_same_program_twice_names_both_lines() -> None:
    with pytest.raises(InputError, match="on line 2") as caught:
        events("program,applied\nMercy IM,2026-09-24\n\nmercy-im,2026-09-25\n")
    assert caught.value.line == 4


def test_program_ids_come_from_names() -> None:
    assert (
        program_id("St. Mary's Hospital — Internal Medicine")
        == "st-mary-s-hospital-internal-medicine"
    )
    assert len(program_id("x" * 200)) == 64


# -- through the console script ----------------------------------------------------------


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


def test_import_of_the_sample_into_a_season(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    result = script.ok("import", str(SAMPLE), "--json")
    summary = json.loads(result.stdout)
    assert summary["events"] == len(tracker_lines(SAMPLE, NY, listed_at=STARTED, now=NOW))
    assert summary["seasons"] == ["test-applicant-2027"]
    assert summary["overridden"] == 0
    now = json.loads(script.ok("now", "--json").stdout)
    programs = {a["program"] for a in now["actions"]}
    assert "cedar-valley-community-hospital-internal-medicine" in programs
    history = json.loads(script.ok("history", "--json").stdout)["events"]
    interviewed = [e for e in history if e["type"] == "interviewed"]
    assert len(interviewed) == 4
    assert script("audit").returncode == 0


def test_import_csv_needs_a_season(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script("import", str(SAMPLE))
    assert result.returncode == 2
    assert "init" in result.stderr


def test_unknown_column_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    before = rows(script.db)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(SAMPLE.read_text().replace("Notes", "Score"), encoding="utf-8")
    result = script("import", str(sheet))
    assert result.returncode == 2
    assert result.stderr.startswith("error: line 1, field 'Score': unknown column 'Score'")
    assert "known columns: program, applied, invited, interview date" in result.stderr
    assert rows(script.db) == before


def test_a_row_the_state_machine_refuses_names_its_csv_line(tmp_path: Path) -> None:
    """Interviewed before being invited: the import's error names the CSV line, not JSONL's."""
    script = Script(tmp_path)
    script.ok(*INIT)
    before = rows(script.db)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(
        "program,applied,invited,interview date\n"
        "Oak Valley IM,2026-09-24,2026-10-01,2026-10-20\n"
        "Mercy General IM,2026-09-24,2026-11-20,2026-11-10\n",
        encoding="utf-8",
    )
    result = script("import", str(sheet))
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("error: line 3:"), result.stderr
    assert "mercy-general-im" in result.stderr
    assert rows(script.db) == before


def test_a_row_the_rulebook_blocks_is_refused_unless_allowed(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    before = rows(script.db)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(
        "program,applied,invited,interview date,letter of interest sent\n"
        "Oak Valley IM,2026-09-24,2026-10-01,2026-10-20,2026-10-25\n",  # 5 days later: too soon
        encoding="utf-8",
    )
    result = script("import", str(sheet))
    assert result.returncode == 3
    assert result.stderr.startswith("error: line 2: interest_sent for oak-valley-im is blocked")
    assert "interest.wait" in result.stderr
    assert rows(script.db) == before
    allowed = json.loads(script.ok("import", str(sheet), "--allow-violations", "--json").stdout)
    assert allowed["overridden"] == 1
