"""``prematch sync``: the applicant's own sheet, taken in again and again.

Sheets as applicants write them (messy headers, mixed date formats, blank rows, extra
columns, Google Sheets' CSV export, Excel workbooks), synced a first, second and third
time after edits; every problem at once; the season out again as a sheet, and back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from history import PROFILE, History
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prematch_script import Script

from prematch.engine import InputError, fixed_clock, fixtures_dir
from prematch.engine._sheet import DateProblem, Stamp, date_order, read_date, sheet_columns
from prematch.engine.io import SheetProblems, sync_sheet

INIT = PROFILE.init_argv()
SHEETS = fixtures_dir() / "sheets"
GOOGLE = SHEETS / "google-sheets-export.csv"
MERCY = "mercy-general-internal-medicine"
RIVERSIDE = "riverside-community-hospital-im"


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


def changes(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("row ")]


def history(script: Script) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = script.json("history", "--json")["events"]
    return events


@pytest.fixture
def script(tmp_path: Path) -> Script:
    script = Script(tmp_path)
    script.ok(*INIT)
    return script


def sheet(script: Script, text: str, name: str = "tracker.csv") -> Path:
    path = script.tmp / name
    path.write_text(text, encoding="utf-8")
    return path


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "stamp"),
    [
        ("2026-11-18", Stamp(dt.date(2026, 11, 18))),
        ("11/18/2026", Stamp(dt.date(2026, 11, 18))),
        ("18/11/2026", Stamp(dt.date(2026, 11, 18))),
        ("18-Nov-2026", Stamp(dt.date(2026, 11, 18))),
        ("Nov 18, 2026", Stamp(dt.date(2026, 11, 18))),
        ("November 18, 2026 9:30 AM", Stamp(dt.date(2026, 11, 18), dt.time(9, 30))),
        ("18 Nov 2026", Stamp(dt.date(2026, 11, 18))),
        ("2026-11-18 14:05", Stamp(dt.date(2026, 11, 18), dt.time(14, 5))),
        ("46344", Stamp(dt.date(2026, 11, 18))),
        ("46344.375", Stamp(dt.date(2026, 11, 18), dt.time(9, 0))),
        ("2026-11-18 9:00 AM", Stamp(dt.date(2026, 11, 18), dt.time(9, 0))),
        ("2026-11-18 9:00 PM", Stamp(dt.date(2026, 11, 18), dt.time(21, 0))),
        ("11-18-2026", Stamp(dt.date(2026, 11, 18))),
        ("18.11.2026", Stamp(dt.date(2026, 11, 18))),
        ("Sept 24, 2026", Stamp(dt.date(2026, 9, 24))),
        ("24 Sept 2026", Stamp(dt.date(2026, 9, 24))),
        ("Nov. 18, 2026", Stamp(dt.date(2026, 11, 18))),
        ("11/18/2026 9am", Stamp(dt.date(2026, 11, 18), dt.time(9, 0))),
        ("11/18/2026 9 p.m.", Stamp(dt.date(2026, 11, 18), dt.time(21, 0))),
        ("TBD", None),
        ("n/a", None),
        ("  ", None),
    ],
)
def test_the_dates_people_type(cell: str, stamp: Stamp | None) -> None:
    assert read_date(cell, None) == stamp


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ("10/11/2026", "may be month/day or day/month"),
        ("10-11-2026", "may be month/day or day/month"),
        ("11-18/2026", "not a date I can read"),
        ("yes", "write the date"),
        ("soon", "not a date I can read"),
        ("13/13/2026", "is no date"),
        ("12345", "is a number, not a date"),
    ],
)
def test_a_bad_date_says_what_to_write(cell: str, hint: str) -> None:
    with pytest.raises(DateProblem, match=hint):
        read_date(cell, None)


def test_a_column_reads_one_way_or_names_the_cells_that_do_not_tell() -> None:
    assert date_order([(9, 24), (10, 11)]) == ("monthfirst", [])
    assert date_order([(24, 9), (10, 11)]) == ("dayfirst", [])
    assert date_order([(10, 11), (5, 5), (3, 4)]) == (None, [0, 2])
    assert date_order([(24, 9), (9, 24), (9, 25)]) == (None, [0])


def test_dayfirst_and_monthfirst_decide_a_cell() -> None:
    assert read_date("10/11/2026", "monthfirst") == Stamp(dt.date(2026, 10, 11))
    assert read_date("10/11/2026", "dayfirst") == Stamp(dt.date(2026, 11, 10))


# -- the columns ------------------------------------------------------------------------


def test_columns_prints_the_mapping_kept_as_data(script: Script) -> None:
    shown = script.ok("sync", "--columns").stdout
    assert shown.strip() == sheet_columns().text()
    assert "Thank you sent: date the thank-you went out -> thanked" in shown
    assert "interview status" in shown  # the residencyadvisor template's header
    assert "    ranked: ranked" in shown
    columns = sheet_columns()
    for header, key in [
        ("Thank-You Sent?", "thanked"),
        ("LOI Status", "interest"),
        ("Interview Status", "status"),
        ("City/State", "location"),
        ("NRMP Program Code", "code"),
    ]:
        found = columns.column(header)
        assert found is not None and found.key == key, header


# -- syncing again and again ------------------------------------------------------------


def test_first_sync_of_a_google_sheets_export(script: Script) -> None:
    """BOM, CRLF, a quoted line break, a blank row, a location column: all taken in."""
    assert GOOGLE.read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in GOOGLE.read_bytes()
    ran = script.ok("sync", str(GOOGLE))
    assert changes(ran.stdout)[:9] == [
        f"row 2: + {MERCY}: program added (Mercy General Internal Medicine)",
        f"row 2: + {MERCY}: applied 2026-09-24",
        f"row 2: + {MERCY}: signal gold",
        f"row 2: + {MERCY}: invited 2026-10-22 (interview 2026-11-18)",
        f"row 2: + {MERCY}: interviewed 2026-11-18T09:00",
        f"row 2: + {MERCY}: thanked 2026-11-18",
        f"row 2: + {MERCY}: interest_sent 2026-12-20",
        f"row 2: + {MERCY}: connection observership (4 weeks, cardiology)",
        f"row 2: + {MERCY}: note 'Loved the ambulatory block. Ask about research on intervi...'",
    ]
    assert "row 6: + harbor-view-medical-center: declined (status 'Declined'" in ran.stdout
    assert "Synced google-sheets-export.csv into test-applicant-2027: 24 events written." in (
        ran.stdout
    )
    events = history(script)
    note = next(e for e in events if e["type"] == "note_added" and e["program"] == MERCY)
    assert note["payload"]["text"] == (
        "Loved the ambulatory block.\nAsk about research on interview day."
    )
    added = next(e for e in events if e["type"] == "program_added" and e["program"] == MERCY)
    assert added["payload"] == {
        "name": "Mercy General Internal Medicine",
        "specialty": "Internal Medicine",
        "code": "1234140C0",
        "sponsors_visas": ["j1"],
        "no_post_interview_contact": False,
        "nrmp_participating": True,
    }
    ends = {(e["program"], e["type"]) for e in events if e["type"] in ("rejected", "declined")}
    assert ends == {
        ("lakeshore-internal-medicine", "rejected"),
        ("harbor-view-medical-center", "declined"),
    }


def test_second_sync_writes_nothing_and_says_so(script: Script) -> None:
    script.ok("sync", str(GOOGLE))
    before = rows(script.db)
    ran = script.ok("sync", str(GOOGLE))
    assert changes(ran.stdout) == []
    assert "Nothing new in google-sheets-export.csv" in ran.stdout
    assert "nothing written" in ran.stdout
    assert rows(script.db) == before


def test_third_sync_after_edits_appends_only_what_changed(script: Script) -> None:
    script.ok("sync", str(GOOGLE))
    script.ok("sync", str(GOOGLE))
    text = GOOGLE.read_text(encoding="utf-8-sig")
    text = text.replace("2026-10-22,2026-11-18 09:00", "2026-10-21,2026-11-18 09:00")
    text = text.replace(",interviewed,None,,", ",Withdrawn,None,,")
    text = text.replace('"Declined: the date clashed with Mercy"', "Declined: a clash")
    text += "New Hope Family Medicine,Family Medicine,,,12/22/2026,,,,,,,,,,\r\n"
    edited = sheet(script, text)
    before = rows(script.db)
    ran = script.ok("sync", str(edited))
    seq = min(e["seq"] for e in history(script) if e["type"] == "invited" and e["program"] == MERCY)
    assert changes(ran.stdout) == [
        f"row 2: - {MERCY}: invited 2026-10-22 (interview 2026-11-18) retracted (seq {seq})",
        f"row 2: + {MERCY}: invited 2026-10-21 (interview 2026-11-18)",
        f"row 5: + {RIVERSIDE}: withdrawn (status 'Withdrawn', recorded as of now)",
        "row 6: + harbor-view-medical-center: note 'Declined: a clash'",
        "row 8: + new-hope-family-medicine: program added (New Hope Family Medicine)",
        "row 8: + new-hope-family-medicine: applied 2026-12-22",
    ]
    assert len(rows(script.db)) == len(before) + 6
    assert rows(script.db)[: len(before)] == before  # appended only
    ran = script.ok("sync", str(edited))
    assert changes(ran.stdout) == []


TRACKER = (
    "Program,Applied,Signal,Invited,Interview Date,Thank-You Sent?,Status,Notes\n"
    "Mercy General IM,09/24/2026,gold,10/22/2026,11/18/2026 9:00 AM,11/18/2026,Interviewed,\n"
    "Lakeshore IM,Sep 24 2026,,,,,Rejected,\n"
    "Harbor IM,Sep 25 2026,,,,,,\n"
)


def unshown(stdout: str) -> list[str]:
    """The notice of facts the sheet no longer shows: its lines, from its first."""
    lines = stdout.splitlines()
    first = next((n for n, line in enumerate(lines) if "no longer shows" in line), len(lines))
    return lines[first:]


def seq_of(script: Script, kind: str, program: str) -> int:
    return min(
        e["seq"]
        for e in history(script)
        if e["type"] == kind and e["program"] == program and not e["retracted"]
    )


@pytest.mark.parametrize(
    ("old", "new", "event", "told"),
    [
        (
            ",11/18/2026,Interviewed",
            ",,Interviewed",
            ("thanked", "mercy-general-im"),
            "  row 2, mercy-general-im, 'Thank-You Sent?' blank: thanked 2026-11-18 (seq {seq})",
        ),
        (
            ",Rejected,",
            ",Applied,",
            ("rejected", "lakeshore-im"),
            "  row 3, lakeshore-im, 'Status' says 'Applied': rejected 2026-12-15T09:00 (seq {seq})",
        ),
        (
            "Harbor IM,Sep 25 2026,,,,,,\n",
            "",
            ("program_added", "harbor-im"),
            "  harbor-im: no row; the log holds program 'Harbor IM' (seq {seq})",
        ),
    ],
    ids=["thank-you cleared", "rejected back to applied", "row deleted"],
)
def test_what_the_log_holds_and_the_sheet_no_longer_shows_is_told_and_kept(
    script: Script, old: str, new: str, event: tuple[str, str], told: str
) -> None:
    """sync removes nothing, but names each fact the sheet stopped showing (row, program,
    column, the log's value and seq) and how to retract it if it was a mistake; exit 0."""
    env = {"PREMATCH_NOW": "2026-12-15T09:00:00-05:00"}
    script.ok("sync", str(sheet(script, TRACKER)), env=env)
    seq = seq_of(script, *event)
    before = rows(script.db)
    ran = script.ok("sync", str(sheet(script, TRACKER.replace(old, new))), env=env)
    assert "Nothing new in tracker.csv" in ran.stdout
    assert unshown(ran.stdout) == [
        "tracker.csv no longer shows 1 fact the log holds (kept; sync removes nothing):",
        told.format(seq=seq),
        'If one is a mistake, retract it: prematch retract SEQ --reason "..."; else nothing to do.',
    ]
    assert rows(script.db) == before
    assert unshown(script.ok("sync", str(sheet(script, TRACKER)), env=env).stdout) == []


def test_many_facts_the_sheet_no_longer_shows_are_counted_and_the_first_listed(
    script: Script,
) -> None:
    """Every cell of the sheet emptied but the names: a count, the first five, how many more."""
    script.ok("sync", str(GOOGLE))
    header = GOOGLE.read_text(encoding="utf-8-sig").splitlines()[0]
    names = [e["payload"]["name"] for e in history(script) if e["type"] == "program_added"]
    blank = "," * header.count(",")
    ran = script.ok("sync", str(sheet(script, "\n".join([header, *(n + blank for n in names)]))))
    told = unshown(ran.stdout)
    count = int(told[0].split()[4])
    assert told[0] == (
        f"tracker.csv no longer shows {count} facts the log holds (kept; sync removes nothing):"
    )
    assert count > 10
    assert len(told) == 1 + 5 + 2
    assert told[1].startswith("  row 2, mercy-general-internal-medicine, 'Applied' blank: applied")
    assert told[-2] == f"  ... and {count - 5} more"


def test_a_notes_cell_parted_by_dashes_holds_one_note_per_part(script: Script) -> None:
    """What an export writes: every note, a line holding only --- between two; each part
    the log does not hold is a note (a note's own line breaks stay in it)."""
    first = 'Program,Notes\nOak IM,"Met the PD.\nAsk about research."\n'
    assert changes(script.ok("sync", str(sheet(script, first))).stdout) == [
        "row 2: + oak-im: program added (Oak IM)",
        "row 2: + oak-im: note 'Met the PD. Ask about research.'",
    ]
    parted = (
        'Program,Notes\nOak IM,"Met the PD.\nAsk about research.\n---\nSecond look booked\n'
        ' --- \nSecond look booked\n---\n"\n'
    )
    assert changes(script.ok("sync", str(sheet(script, parted))).stdout) == [
        "row 2: + oak-im: note 'Second look booked'"
    ]
    texts = [e["payload"]["text"] for e in history(script) if e["type"] == "note_added"]
    assert texts == ["Met the PD.\nAsk about research.", "Second look booked"]
    assert changes(script.ok("sync", str(sheet(script, parted))).stdout) == []


def test_program_ids_fold_accents_and_keep_names_in_other_scripts_apart(script: Script) -> None:
    text = "Program,Applied\nHôpital Général,2026-10-01\n北京协和医院,2026-10-01\n東京大学病院,\n"
    script.ok("sync", str(sheet(script, text)))
    ids = {e["program"] for e in history(script) if e["type"] == "program_added"}
    assert "hopital-general" in ids
    others = ids - {"hopital-general"}
    assert len(others) == 2 and all(pid.startswith("program-") for pid in others)
    assert script.ok("sync", str(sheet(script, text))).stdout.count("Nothing new") == 1


def test_programs_synced_by_an_earlier_version_keep_their_ids(script: Script) -> None:
    """Earlier versions dropped every letter but a-z: their ids still match the rows."""
    script.ok("program", "add", "h-pital-g-n-ral", "--name", "Hôpital Général")
    script.ok("program", "add", "program", "--name", "北京协和医院")
    text = "Program,Applied\nHôpital Général,2026-10-01\n北京协和医院,2026-10-02\n東京大学病院,\n"
    ran = script.ok("sync", str(sheet(script, text)))
    added = [line for line in changes(ran.stdout) if "program added" in line]
    assert len(added) == 1 and "東京大学病院" in added[0], ran.stdout
    applied = {e["program"] for e in history(script) if e["type"] == "applied"}
    assert applied == {"h-pital-g-n-ral", "program"}


def test_two_names_with_one_id_are_told_to_take_an_id(script: Script) -> None:
    ran = script("sync", str(sheet(script, "Program\nMercy IM\nMercy-IM\n")), code=2)
    assert (
        "row 3, column 'Program': 'Mercy-IM' gets the id 'mercy-im' of row 2 ('Mercy IM'); "
        "give it another in column 'Id'"
    ) in ran.stderr


def test_a_line_break_in_a_cell_is_read_as_one_whatever_wrote_it(script: Script) -> None:
    """unix2dos and git's autocrlf write CR LF inside quoted cells too; an old Mac, CR."""
    crlf = 'Program,Applied,Notes\r\nMercy IM,2026-10-01,"PD: Dr. Chen\r\nsecond look"\r\n'
    script.ok("sync", str(sheet(script, crlf)))
    notes = [e["payload"]["text"] for e in history(script) if e["type"] == "note_added"]
    assert notes == ["PD: Dr. Chen\nsecond look"]
    for text in (crlf.replace("\r\n", "\n"), crlf.replace("\r\n", "\r")):
        assert "Nothing new" in script.ok("sync", str(sheet(script, text))).stdout


def test_dry_run_prints_the_changes_and_writes_nothing(script: Script) -> None:
    before = rows(script.db)
    ran = script.ok("sync", str(GOOGLE), "--dry-run")
    assert len(changes(ran.stdout)) == 24
    assert "Dry run: 24 changes; nothing written." in ran.stdout
    assert rows(script.db) == before


def test_facts_recorded_with_log_are_respected(script: Script) -> None:
    """A thank-you logged by hand (the sheet's cell left blank), a second note and a tie
    with its detail stay as they are; the sheet's facts that agree with the log add nothing."""
    script.ok("sync", str(GOOGLE))
    script.ok("log", "thanked", RIVERSIDE, "--at", "2026-12-11")
    script.ok("log", "note-added", MERCY, "--text", "Called the coordinator")
    script.ok(
        "log", "connection-recorded", RIVERSIDE, "--kind", "research", "--detail", "QI project"
    )
    text = GOOGLE.read_text(encoding="utf-8-sig")
    assert ",Silver,," in text  # Riverside's signal, its connection cell blank
    edited = sheet(script, text.replace(",Silver,,", ",Silver,Research,"))
    assert changes(script.ok("sync", str(edited)).stdout) == []
    before = rows(script.db)
    ran = script.ok("sync", str(GOOGLE))
    assert changes(ran.stdout) == []
    assert rows(script.db) == before


def test_a_changed_program_fact_is_an_update(script: Script) -> None:
    script.ok("sync", str(GOOGLE))
    edited = sheet(script, GOOGLE.read_text(encoding="utf-8-sig").replace('"J-1, H-1B"', "none"))
    ran = script.ok("sync", str(edited))
    assert changes(ran.stdout) == [
        "row 3: ~ lakeshore-internal-medicine: program updated: sponsors_visas none"
    ]


def test_unknown_columns_are_warned_once_and_strict_refuses_them(script: Script) -> None:
    text = "Program,Applied,Zoom link,Rank\nMercy IM,2026-09-24,https://x.example,1\n"
    text += "Lakeshore IM,2026-09-25,,2\n"
    path = sheet(script, text)
    ran = script("sync", str(path), "--strict", code=2)
    assert "unknown columns 'Zoom link', 'Rank' (--strict)" in ran.stderr
    assert "nothing was written" in ran.stderr
    ran = script.ok("sync", str(path))
    assert ran.stderr.count("unknown columns 'Zoom link', 'Rank' ignored") == 1
    assert len(changes(ran.stdout)) == 4


def test_every_problem_at_once(script: Script) -> None:
    """Five bad cells, five lines (row, column, value, what to write); exit 2; nothing written."""
    text = (
        "Program,Applied,Invited,Signal,Status,Visa\n"
        "Mercy IM,2026-09-24,soon,gold,Interviewed,J-1\n"
        "Lakeshore IM,yes,,platinum,,J-1\n"
        "Riverside IM,2026-09-25,,,Maybe,O-1\n"
    )
    before = rows(script.db)
    ran = script("sync", str(sheet(script, text)), code=2)
    assert ran.stderr.splitlines() == [
        "error: 6 problems in tracker.csv; nothing was written:",
        "  row 2, column 'Invited': 'soon' is not a date I can read; write e.g. 2026-11-18, "
        "Nov 18, 2026 or 18-Nov-2026 (a time may follow: 09:30)",
        "  row 2, column 'Status': 'Interviewed' needs its date: add a column 'Interview date' "
        "with it",
        "  row 3, column 'Applied': 'yes' says it happened but not when; write the date it "
        "happened, e.g. 2026-11-18, Nov 18, 2026 or 18-Nov-2026",
        "  row 3, column 'Signal': 'platinum' is not a signal; write gold, silver, yes (one kind "
        "of signal) or no",
        "  row 4, column 'Visa': 'O-1' is not a visa list; write J-1, H-1B, both, or none",
        "  row 4, column 'Status': 'Maybe' is not a status; write applied, invited, waitlisted, "
        "interviewed, rejected, declined, withdrawn, ranked",
    ]
    assert rows(script.db) == before


def test_a_status_whose_date_cell_is_unreadable_is_one_problem(script: Script) -> None:
    text = (
        "Program,Applied,Invited,Interview Date,Status\n"
        "Mercy IM,2026-09-24,2026-10-20,the 14th,Interviewed\n"
    )
    ran = script("sync", str(sheet(script, text)), code=2)
    assert ran.stderr.splitlines() == [
        "error: 1 problem in tracker.csv; nothing was written:",
        "  row 2, column 'Interview Date': 'the 14th' is not a date I can read; write e.g. "
        "2026-11-18, Nov 18, 2026 or 18-Nov-2026 (a time may follow: 09:30)",
    ]


def test_an_intake_refusal_is_one_problem_among_the_others(script: Script) -> None:
    text = (
        "Program,NRMP code,Invited,Timezone\n"
        "Mercy IM,12-34,2026-09-24,\n"
        "Lakeshore IM,,2026-10-24 10:00,Mars/Olympus\n"
        "Riverside IM,,2026-09-24T10:00,\n"
        "Harbor IM,,soon,\n"
    )
    ran = script("sync", str(sheet(script, text)), code=2)
    assert ran.stderr.splitlines() == [
        "error: 3 problems in tracker.csv; nothing was written:",
        "  row 2, column 'NRMP code': '12-34' is not an NRMP program code: 7 digits, a track "
        "letter and a digit (e.g. 1234140C0)",
        "  row 3, column 'Timezone': 'Mars/Olympus' is not an IANA timezone; write e.g. "
        "America/Chicago",
        "  row 5, column 'Invited': 'soon' is not a date I can read; write e.g. 2026-11-18, "
        "Nov 18, 2026 or 18-Nov-2026 (a time may follow: 09:30)",
    ]


def test_a_date_out_of_range_is_a_problem_of_its_cell(script: Script) -> None:
    """Year 1 or 9999 is a typo (and a conversion between timezones would overflow)."""
    before = rows(script.db)
    ran = script(
        "sync",
        str(
            sheet(script, "Program,Applied\nOak IM,0001-01-01T00:00:00+00:00\nPine IM,9999-12-31\n")
        ),
        code=2,
    )
    assert "row 2, column 'Applied': '0001-01-01T00:00:00+00:00' is out of range" in ran.stderr
    assert "row 3, column 'Applied': '9999-12-31' is out of range" in ran.stderr
    assert rows(script.db) == before


def test_ambiguous_dates_are_refused_with_their_cells_unless_told(script: Script) -> None:
    text = "Program,Applied,Invited\nMercy IM,2026-09-24,10/11/2026\n"
    text += "Lakeshore IM,2026-09-24,11/12/2026\n"
    path = sheet(script, text)
    ran = script("sync", str(path), code=2)
    assert ran.stderr.splitlines()[1:] == [
        "  row 2, column 'Invited': '10/11/2026' may be month/day or day/month, and no cell of "
        "the column tells; pass --monthfirst or --dayfirst, or write YYYY-MM-DD",
        "  row 3, column 'Invited': '11/12/2026' may be month/day or day/month, and no cell of "
        "the column tells; pass --monthfirst or --dayfirst, or write YYYY-MM-DD",
    ]
    ran = script.ok("sync", str(path), "--dayfirst", "--dry-run")
    assert "row 2: + mercy-im: invited 2026-11-10" in ran.stdout
    ran = script.ok("sync", str(path), "--monthfirst")
    assert "row 2: + mercy-im: invited 2026-10-11" in ran.stdout


def test_a_column_that_tells_decides_its_ambiguous_cells(script: Script) -> None:
    text = "Program,Applied\nMercy IM,10/11/2026\nLakeshore IM,24/09/2026\n"
    ran = script.ok("sync", str(sheet(script, text)))
    assert "row 2: + mercy-im: applied 2026-11-10" in ran.stdout


def test_ranked_is_warned_about_and_not_recorded(script: Script) -> None:
    script.ok("sync", str(GOOGLE))
    path = sheet(script, GOOGLE.read_text(encoding="utf-8-sig").replace("Interviewed", "Ranked"))
    ran = script.ok("sync", str(path))
    assert "warning: status 'ranked' (row 2) is not recorded: certify the rank order list" in (
        ran.stderr
    )
    assert changes(ran.stdout) == []


def test_a_future_date_is_refused_but_a_future_interview_is_the_invitations_day(
    script: Script,
) -> None:
    text = "Program,Applied,Invited,Interview date\nMercy IM,2027-02-01,2027-01-05,2027-01-20\n"
    ran = script("sync", str(sheet(script, text)), code=2)
    assert "row 2, column 'Applied': '2027-02-01' is after today" in ran.stderr
    assert "Interview date" not in ran.stderr
    text = "Program,Applied,Invited,Interview date\nMercy IM,2026-10-01,2027-01-05,2027-01-20\n"
    ran = script.ok("sync", str(sheet(script, text)))
    assert "invited 2027-01-05 (interview 2027-01-20)" in ran.stdout
    assert "interviewed" not in ran.stdout


def test_a_row_the_state_machine_refuses_names_its_row(script: Script) -> None:
    text = "Program,Applied,Thank you sent\nMercy IM,2026-09-24,2026-11-20\n"
    before = rows(script.db)
    ran = script("sync", str(sheet(script, text)), code=3)
    assert "row 2, column 'Thank you sent': program 'mercy-im' is 'applied'" in ran.stderr
    assert rows(script.db) == before


REFUSED = (
    "Program,Applied,Invited,Interview date,Thank you sent,LOI\n"
    "Mercy IM,2026-09-24,,,2026-11-20,\n"
    "Oak IM,2026-09-24,2026-10-10,2026-11-18 09:00,,2026-11-20\n"
)
"""A sheet with an impossible fact (row 2) and one the rulebook blocks (row 3)."""


def test_a_dry_run_meets_the_refusals_of_the_real_run_every_row_at_once(script: Script) -> None:
    """A dry run judged nothing ("Dry run: N changes", exit 0) where the sync then failed;
    the sync named only the first refusal, as "line N"."""
    path = str(sheet(script, REFUSED))
    before = rows(script.db)
    for dry in (("--dry-run",), ()):
        ran = script("sync", path, *dry, code=3)
        assert ran.stderr.startswith("error: 2 refusals in tracker.csv; nothing was written:\n")
        assert (
            "  row 2, column 'Thank you sent': program 'mercy-im' is 'applied': 'thanked' is "
            "not possible from there (thanked needs one of: interviewed, ranked)\n"
        ) in ran.stderr
        assert "  row 3, column 'LOI': interest_sent for oak-im is blocked by the rulebook" in (
            ran.stderr
        )
        assert rows(script.db) == before


def test_a_blocked_row_suggests_allow_violations_and_the_override_it_gives(
    script: Script,
) -> None:
    path = str(sheet(script, REFUSED.replace("2026-11-20,\n", ",\n", 1)))
    ran = script("sync", path, "--dry-run", code=3)
    assert "1 refusal in tracker.csv" in ran.stderr
    assert 'anyway (with the override "imported"; it is kept' in ran.stderr
    assert f"prematch sync {path} --dry-run --allow-violations" in ran.stderr
    ran = script.ok("sync", path, "--dry-run", "--allow-violations")
    assert "Dry run: 7 changes; nothing written." in ran.stdout


# -- layouts ----------------------------------------------------------------------------


def test_the_residencyadvisor_template(script: Script) -> None:
    ran = script.ok("sync", str(SHEETS / "residencyadvisor.csv"))
    assert f"row 2: + {MERCY}: interest_sent 2026-12-20" in ran.stdout
    assert "row 3: + lakeshore-internal-medicine: rejected" in ran.stdout
    assert changes(script.ok("sync", str(SHEETS / "residencyadvisor.csv")).stdout) == []


def test_a_day_first_sheet_with_semicolons(script: Script) -> None:
    ran = script.ok("sync", str(SHEETS / "dayfirst-semicolons.csv"))
    assert f"row 2: + {MERCY}: invited 2026-10-22 (interview 2026-11-18)" in ran.stdout
    assert f"row 2: + {MERCY}: interviewed 2026-11-18T09:00" in ran.stdout


def test_an_xlsx_workbook_first_sheet_or_named(script: Script) -> None:
    workbook = SHEETS / "tracker.xlsx"
    ran = script.ok("sync", str(workbook))
    assert changes(ran.stdout)[:6] == [
        f"row 2: + {MERCY}: program added (Mercy General Internal Medicine)",
        f"row 2: + {MERCY}: applied 2026-09-24",
        f"row 2: + {MERCY}: invited 2026-10-22 (interview 2026-11-18)",  # an Excel serial
        f"row 2: + {MERCY}: interviewed 2026-11-18T09:00",
        f"row 2: + {MERCY}: thanked 2026-11-18",
        f"row 2: + {MERCY}: note '=not a formula, just text'",
    ]
    assert "row 4: + lakeshore-internal-medicine: rejected (status 'REJECTED'" in ran.stdout
    assert changes(script.ok("sync", str(workbook)).stdout) == []
    ran = script.ok("sync", str(workbook), "--sheet", "Old season", "--dry-run")
    assert "row 2: + old-program: applied 2025-09-24" in ran.stdout
    ran = script("sync", str(workbook), "--sheet", "2026", code=2)
    assert "has no sheet '2026'; its sheets: 'Season', 'Old season'" in ran.stderr


def test_a_file_that_is_no_sheet_is_an_input_error(script: Script) -> None:
    path = script.tmp / "broken.xlsx"
    path.write_bytes(b"not a zip")
    ran = script("sync", str(path), code=2)
    assert "broken.xlsx is not an .xlsx workbook" in ran.stderr
    path = script.tmp / "nul.csv"
    path.write_bytes(b"Program,Applied\nMercy\x00,2026-09-24\n")
    ran = script("sync", str(path), code=2)
    assert "row 2, column 'Program': 'Mercy\\x00': holds a control character" in ran.stderr
    path = script.tmp / "huge.csv"
    path.write_text('Program,Notes\nMercy,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    ran = script("sync", str(path), code=2)
    assert "huge.csv is not a CSV sheet I can read (row 2" in ran.stderr
    path = script.tmp / "latin1.csv"
    path.write_bytes("Program,Applied\nSão Paulo,2026-09-24\n".encode("latin-1"))
    ran = script("sync", str(path), code=2)
    assert "save the sheet as 'CSV UTF-8'" in ran.stderr


# -- out again --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_sheet_synced_into_a_fresh_database_gives_the_same_season(
    tmp_path: Path, fmt: str
) -> None:
    first = Script(tmp_path, db=tmp_path / "first.db")
    first.ok(*INIT)
    first.ok("sync", str(GOOGLE))
    first.ok("log", "thanked", RIVERSIDE, "--at", "2026-12-11T16:45")
    first.ok("log", "note-added", MERCY, "--text", '=HYPERLINK("http://evil")')
    first.ok(
        "program", "add", "chicago-im", "--name", "Chicago IM", "--timezone", "America/Chicago"
    )
    first.ok("log", "applied", "chicago-im", "--at", "2026-09-26")
    first.ok(
        "log", "invited", "chicago-im", "--at", "2026-10-30T15:00", "--interview-on", "2026-11-20"
    )
    first.ok("log", "interviewed", "chicago-im", "--at", "2026-11-20T10:30")
    first.ok("log", "thanked", "chicago-im", "--at", "2026-11-20T18:00")
    out = tmp_path / f"season.{fmt}"
    first.ok("export", "--format", fmt, "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    second = Script(tmp_path, db=tmp_path / "second.db")
    second.ok(*INIT)
    second.ok("sync", str(out))
    assert changes(second.ok("sync", str(out)).stdout) == []
    assert second.json("now", "--json") == first.json("now", "--json")

    def findings(script: Script) -> list[tuple[str, str, str, str]]:
        report = script.json("audit", "--json", code=None)
        return sorted(
            (f["rule"], f["severity"], f["program"], f["message"]) for f in report["findings"]
        )

    assert findings(second) == findings(first)

    def times(script: Script) -> list[tuple[str, str, str]]:
        return sorted(
            (e["program"], e["type"], e["occurred_at"])
            for e in history(script)
            if e["program"] == "chicago-im" and not e["retracted"] and e["type"] != "program_added"
        )  # a sheet has no date for program_added: sync puts it at the season's start

    assert times(second) == times(first)

    def notes(script: Script) -> list[tuple[str, str]]:
        return sorted(
            (e["program"], e["payload"]["text"])
            for e in history(script)
            if e["type"] == "note_added" and not e["retracted"]
        )

    # every note, the multi-line one of the sheet and the two logged after it among them
    assert notes(second) == notes(first)
    assert (MERCY, '=HYPERLINK("http://evil")') in notes(second)
    assert len([n for n in notes(second) if n[0] == MERCY]) == 2


def test_an_exported_csv_cannot_run_a_formula(script: Script) -> None:
    script.ok("sync", str(GOOGLE))
    script.ok("program", "add", "oak-im", "--name", "Oak IM")
    script.ok("log", "note-added", "oak-im", "--text", "+1 555 0100 @coordinator")
    script.ok("log", "note-added", MERCY, "--text", "-5 days to the deadline")
    text = script.ok("export", "--format", "csv").stdout
    (oak,) = [row for row in csv.reader(io.StringIO(text)) if row[0] == "oak-im"]
    assert oak[-1] == "'+1 555 0100 @coordinator"
    for row in list(csv.reader(io.StringIO(text)))[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row


def test_xlsx_export_needs_a_file(script: Script) -> None:
    ran = script("export", "--format", "xlsx", code=2)
    assert "--out FILE.xlsx" in ran.stderr


# -- the property -----------------------------------------------------------------------

NOW = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
_DAYS = st.dates(min_value=dt.date(2026, 9, 21), max_value=dt.date(2027, 1, 14))


def _cell(day: dt.date, style: int) -> str:
    return [
        day.isoformat(),
        f"{day:%b} {day.day}, {day.year}",
        f"{day.day}-{day:%b-%Y}",
        f"{day.month}/{day.day}/{day.year}",
        str((day - dt.date(1899, 12, 30)).days),
    ][style]


@st.composite
def sheets(draw: st.DrawFn) -> str:
    lines = ["Program,Applied,Signal,Invited,Interview date,Thank you sent,Status,Notes,Extra"]
    for n in range(draw(st.integers(1, 5))):
        days = sorted(draw(st.lists(_DAYS, min_size=4, max_size=4)))
        depth = draw(st.integers(0, 4))
        style = draw(st.integers(0, 4))
        cells = [f"Program {n}"] + [""] * 8
        cells[1] = _cell(days[0], style) if depth >= 1 else ""
        cells[2] = draw(st.sampled_from(["", "gold", "silver", "yes", "no"])) if depth else ""
        if depth >= 2:
            cells[3] = _cell(days[1], style)
        if depth >= 3:
            cells[4] = _cell(days[2], style)
        if depth >= 4:
            cells[5] = _cell(days[3], style)
        if depth == 1:
            cells[6] = draw(st.sampled_from(["", "Rejected", "withdrawn", "Waitlisted"]))
        if depth == 2:
            cells[6] = draw(st.sampled_from(["", "Declined", "invited"]))
        cells[7] = draw(st.sampled_from(["", "a note", "=1+1", "two\nlines"]))
        cells[8] = draw(st.sampled_from(["", "x"]))
        lines.append(",".join(f'"{c}"' for c in cells))
        if draw(st.booleans()):
            lines.append(",,,,,,,,")
    return "\n".join(lines) + "\n"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=sheets())
def test_syncing_the_same_sheet_twice_writes_nothing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(text, encoding="utf-8")
    season = History().season(clock=fixed_clock(NOW))
    order = "monthfirst"
    first = sync_sheet(season, path, order=order, allow_violations=True)
    assert first.written == len(first.changes) > 0
    count = len(season.records())
    second = sync_sheet(season, path, order=order, allow_violations=True)
    assert second.changes == () and second.written == 0
    assert len(season.records()) == count


def test_library_errors_are_input_errors(tmp_path: Path) -> None:
    season = History().season(clock=fixed_clock(NOW))
    path = tmp_path / "s.csv"
    path.write_text("Program,Applied\nMercy,someday\n", encoding="utf-8")
    with pytest.raises(SheetProblems) as caught:
        sync_sheet(season, path)
    assert isinstance(caught.value, InputError)
    assert caught.value.problems == (
        "row 2, column 'Applied': 'someday' is not a date I can read; write e.g. 2026-11-18, "
        "Nov 18, 2026 or 18-Nov-2026 (a time may follow: 09:30)",
    )
    assert json.dumps(caught.value.problems)


def test_merged_looking_cells_and_a_status_whose_date_is_in_the_log(script: Script) -> None:
    """A specialty written once for a block of rows (the cells below look merged) changes
    nothing for the rows left blank; a status whose event was logged by hand needs no date
    in the sheet."""
    text = (
        "Program,Specialty,Applied,Status\n"
        "Mercy IM,Internal Medicine,2026-09-24,\n"
        "Lakeshore IM,,2026-09-24,\n"
    )
    script.ok("sync", str(sheet(script, text)))
    script.ok("log", "invited", "lakeshore-im", "--at", "2026-10-30")
    text = text.replace("Lakeshore IM,,2026-09-24,\n", "Lakeshore IM,,2026-09-24,Invited\n")
    ran = script.ok("sync", str(sheet(script, text)))
    assert changes(ran.stdout) == []
    ran = script("sync", str(sheet(script, text.replace("Lakeshore", "Harbor"))), code=2)
    assert "row 3, column 'Status': 'Invited' needs its date: add a column 'Invited'" in (
        ran.stderr
    )


def test_a_bad_cell_is_one_line_however_many_events_carry_it(script: Script) -> None:
    long_name = "Mercy " + "x" * 3000
    text = f"Program,Id,Applied,Invited\nMercy,BAD ID!,2026-09-24,2026-10-01\n{long_name},,,\n"
    ran = script("sync", str(sheet(script, text)), code=2)
    assert ran.stderr.splitlines()[:2] == [
        "error: 2 problems in tracker.csv; nothing was written:",
        "  row 2, column 'Id': 'BAD ID!' is not an id: use letters, digits, '.', '_' and '-', "
        "beginning with a letter or a digit",
    ]
    shown = "'Mercy " + "x" * 51 + "...'"
    assert ran.stderr.splitlines()[2].startswith(f"  row 3, column 'Program': {shown}: ")


def test_a_write_between_the_plan_and_the_append_is_compared_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer records the sheet's application after sync compared the sheet with
    the log and before it wrote: sync compares again and writes no second application."""
    from prematch.engine import _sync

    path = tmp_path / "s.csv"
    path.write_text("Program,Applied\nMercy General,2026-09-24\n", encoding="utf-8")
    season = History().season(clock=fixed_clock(NOW))
    real = _sync.import_objects
    calls = []

    def other_writer_first(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["expected_last_seq"])
        if len(calls) == 1:  # the other writer: the program and its application, by hand
            season.record("program_added", "mercy-general", at="2026-09-21", name="Mercy General")
            season.record("applied", "mercy-general", at="2026-09-24")
        return real(*args, **kwargs)

    monkeypatch.setattr(_sync, "import_objects", other_writer_first)
    result = sync_sheet(season, path)
    assert len(calls) == 1  # the second plan found nothing new: no second write
    assert (result.changes, result.written) == ((), 0)
    applied = [r for r in season.records() if r.type == "applied"]
    assert [r.program for r in applied] == ["mercy-general"]


def test_a_date_far_from_the_season_is_taken_with_a_warning_naming_its_cell(
    script: Script,
) -> None:
    # January: last year's cycle typed by mistake; an Excel serial of 2023.
    text = "Program,Applied,Invited\nOld IM,45000,\nTypo IM,9/24/2025,10/22/2025\n"
    text += "Mercy IM,2026-09-24,\n"
    path = sheet(script, text)
    opens = "before the 2027 Match's season (it opens 2026-06-01): check the year"
    dry = script.ok("sync", str(path), "--dry-run")
    ran = script.ok("sync", str(path))
    for out in (dry.stderr, ran.stderr):
        assert f"warning: row 2, column 'Applied': 2023-03-15 is {opens}" in out
        assert f"warning: row 3, column 'Applied': 2025-09-24 is {opens}" in out
        assert f"warning: row 3, column 'Invited': 2025-10-22 is {opens}" in out
        assert out.count("warning: row") == 3  # once per cell; nothing about Mercy's row
    assert len(changes(ran.stdout)) == 7  # written all the same: facts first


def test_the_seasons_span_is_in_its_policy() -> None:
    wide = History(policy={"season.opens_days_before": 500}).added_and_applied("mercy")
    season = wide.season()  # the rulebook knows the parameter
    assert season.out_of_season(dt.datetime(2025, 9, 24, 12, tzinfo=dt.UTC), "applied") is None
    late = season.out_of_season(dt.datetime(2028, 1, 10, 12, tzinfo=dt.UTC), "applied")
    assert late == (
        "2028-01-10 is after the 2027 Match's season (it closes 2027-07-17): check the year"
    )
