"""``prematch import tracker.csv``: the spreadsheet applicants already keep, taken in once.

A sheet is read by sync's reader (tests/test_sync.py holds its cells, columns and dates):
the sample in fixtures/ imports cleanly; an ``.xlsx`` workbook too; a date that reads
both ways is asked about (``--monthfirst``/``--dayfirst``) as sync asks; unknown columns
are warned about and ignored; a refused row is named by its row, and an error leaves the
database exactly as it was.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from history import PROFILE
from prematch_script import Script

from prematch.engine import fixtures_dir
from prematch.engine._tracker import program_id

INIT = PROFILE.init_argv()

SAMPLE = fixtures_dir() / "tracker-sample.csv"
WORKBOOK = fixtures_dir() / "sheets" / "tracker.xlsx"


def test_program_ids_come_from_names() -> None:
    assert (
        program_id("St. Mary's Hospital — Internal Medicine")
        == "st-mary-s-hospital-internal-medicine"
    )
    assert len(program_id("x" * 200)) == 64


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


def history(script: Script) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = script.json("history", "--json")["events"]
    return events


def test_import_of_the_sample_into_a_season(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    result = script.ok("import", str(SAMPLE), "--json")
    summary = json.loads(result.stdout)
    assert summary["events"] == len(history(script)) - 1  # all but season_started
    assert summary["seasons"] == ["test-applicant-2027"]
    assert summary["overridden"] == 0
    now = json.loads(script.ok("now", "--json").stdout)
    programs = {a["program"] for a in now["actions"]}
    assert "cedar-valley-community-hospital-internal-medicine" in programs
    events = history(script)
    assert len([e for e in events if e["type"] == "interviewed"]) == 4
    riverside = [
        e for e in events if e["program"] == "riverside-general-hospital-internal-medicine"
    ]
    note = riverside[-1]
    assert note["payload"]["text"] == "PD Dr. Ames; liked the night-float system"
    assert script("audit").returncode == 0


def test_import_csv_needs_a_season(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script("import", str(SAMPLE))
    assert result.returncode == 2
    assert "init" in result.stderr


def test_the_sample_a_second_time_writes_nothing_and_says_so(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    script.ok("import", str(SAMPLE))
    before = rows(script.db)
    result = script("import", str(SAMPLE))
    assert result.returncode == 2
    assert "holds nothing test-applicant-2027 does not hold already" in result.stderr
    assert rows(script.db) == before


def test_a_workbook_is_imported_as_sync_reads_it(tmp_path: Path) -> None:
    """The same file, imported once and synced into another season: the same events."""
    imported = Script(tmp_path, db=tmp_path / "imported.db")
    imported.ok(*INIT)
    imported.ok("import", str(WORKBOOK))
    synced = Script(tmp_path, db=tmp_path / "synced.db")
    synced.ok(*INIT)
    synced.ok("sync", str(WORKBOOK))

    def facts(script: Script) -> list[tuple[Any, ...]]:
        return [(e["type"], e["program"], e["occurred_at"]) for e in history(script)]

    assert len(facts(imported)) > 1
    assert facts(imported) == facts(synced)


def test_a_date_that_reads_both_ways_is_asked_about_as_sync_asks(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    before = rows(script.db)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text("Program,Applied\nCoastal FM,10/11/2026\n", encoding="utf-8")
    result = script("import", str(sheet))
    assert result.returncode == 2
    assert (
        "row 2, column 'Applied': '10/11/2026' may be month/day or day/month, and no cell of "
        "the column tells; pass --monthfirst or --dayfirst" in result.stderr
    )
    assert rows(script.db) == before
    script.ok("import", str(sheet), "--dayfirst")
    (applied,) = [e for e in history(script) if e["type"] == "applied"]
    assert applied["occurred_at"].startswith("2026-11-10")


def test_reading_options_are_for_sheets(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    lines = tmp_path / "season.jsonl"
    script.ok("export", "--out", str(lines))
    result = script("import", str(lines), "--dayfirst")
    assert result.returncode == 2
    assert "--dayfirst and --monthfirst read a sheet" in result.stderr


def test_unknown_column_is_warned_about_and_ignored(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.ok(*INIT)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(SAMPLE.read_text().replace("Notes", "Score"), encoding="utf-8")
    result = script.ok("import", str(sheet))
    assert "warning: unknown column 'Score' ignored (see prematch sync --columns)" in result.stderr
    assert not [e for e in history(script) if e["type"] == "note_added"]


def test_a_row_the_state_machine_refuses_names_its_row(tmp_path: Path) -> None:
    """Interviewed before being invited: the import's error names the sheet's row."""
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
    assert result.stderr.startswith("error: 1 refusal in tracker.csv"), result.stderr
    assert "\n  row 3, column 'interview date': program 'mercy-general-im'" in result.stderr
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
    assert (
        "row 2, column 'letter of interest sent': interest_sent for oak-valley-im is blocked"
        in result.stderr
    )
    assert "interest.wait" in result.stderr
    assert f"prematch import {sheet} --allow-violations" in result.stderr
    assert rows(script.db) == before
    allowed = json.loads(script.ok("import", str(sheet), "--allow-violations", "--json").stdout)
    assert allowed["overridden"] == 1
