"""One intake (issue 11): a bad value gets the same error whichever way it comes in.

A season is started with one program; then the same bad value is given through the
command line (``prematch log`` / ``program add``, in process with the Script runner),
the library (``Season.record``), a JSONL import and a CSV import (where a tracking
sheet can carry it: a sheet names programs, their ids are derived from the names, and
it has no override). Each path refuses it with the same message and field, names the
line of a file, and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from history import ADDED, STARTED, History
from prematch_script import Script

from prematch.engine import InputError, NoRules, Season, Store, fixed_clock
from prematch.engine.io import SheetProblems, export_lines, import_lines, import_tracker

NOW = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
SEASON = "im-2027"
APPLIED = "2026-09-24T10:00:00-04:00"
LONG_ID = "a" * 65
HUGE_ID = "a" * 10_000
LONG_TEXT = "x" * 2001


@pytest.fixture
def season(tmp_path: Path) -> Season:
    """A 2027 season (no rulebook) with program p1, in a store file closed at teardown."""
    store = Store.open(tmp_path / "season.db")
    season = History(season_id=SEASON, name="Intake Applicant").season(
        store, rulebook=NoRules(), now=NOW
    )
    season.add_program("p1", "P1 Internal Medicine", at=ADDED)
    yield season
    store.close()


def events_in(season: Season) -> list[str]:
    return list(export_lines(season.store))


# -- the paths ---------------------------------------------------------------------------


def by_cli(season: Season, *args: str) -> tuple[str | None, str]:
    """Run ``prematch ARGS`` on the season's database; the error's field and message."""
    path = Path(season.store.path)
    result = Script(path.parent, db=path, now=NOW.isoformat())(*args, code=2)
    (line,) = result.stderr.splitlines()
    text = line.removeprefix("error: ")
    if text.startswith("field '"):
        field, _, message = text.removeprefix("field '").partition("': ")
        return field, message
    return None, text


def refusal(error: InputError) -> tuple[str | None, str]:
    return error.field, str(error.args[0])


def by_library(season: Season, kind: str, program: str | None, **fields: Any) -> tuple:
    with pytest.raises(InputError) as caught:
        season.record(kind, program, **fields)
    assert caught.value.line is None
    return refusal(caught.value)


def by_jsonl(season: Season, line: dict[str, Any]) -> tuple[str | None, str]:
    """Import a file of one good line and then ``line``: the error names line 2."""
    good = {"type": "applied", "program": "p1", "at": APPLIED}
    with pytest.raises(InputError) as caught:
        import_lines(
            season.store,
            [json.dumps(good), json.dumps(line)],
            default_season=SEASON,
            rulebook=NoRules(),
            clock=fixed_clock(NOW),
        )
    assert caught.value.line == 2
    return refusal(caught.value)


def by_csv(season: Season, program_name: str) -> str:
    """Import a sheet whose second row names ``program_name``: the sheet's problem, which
    names its row (a quoted cell may run over several lines: one row all the same) and
    column."""
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "tracker.csv"
        with sheet.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(
                [
                    ("program", "applied"),
                    ("Oak Valley IM", "2026-09-24"),
                    (program_name, "2026-09-25"),
                ]
            )
        with pytest.raises(SheetProblems) as caught:
            import_tracker(season, sheet)
    (problem,) = caught.value.problems
    assert problem.startswith("row 3, column 'program': ")
    return problem


# -- the same bad value, every path ------------------------------------------------------

BAD_PROGRAM_IDS = {
    "a space": ("has space", "is not an id"),
    "a path": ("../etc", "is not an id"),
    "a leading space": (" p2", "is not an id"),
    "65 characters": (LONG_ID, "at most 64 characters; this one has 65"),
    "10,000 characters": (HUGE_ID, "at most 64 characters; this one has 10,000"),
    "a NUL": ("p\x002", "control character (U+0000)"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROGRAM_IDS))
def test_a_bad_program_id_is_refused_alike_by_program_add_log_library_and_import(season, case):
    bad, words = BAD_PROGRAM_IDS[case]
    before = events_in(season)

    refusals = {
        by_cli(season, "program", "add", bad, "--name", "P2"),
        by_cli(season, "log", "applied", bad, "--at", APPLIED),
        by_library(season, "program_added", bad, at=ADDED, name="P2"),
        by_jsonl(season, {"type": "program_added", "program": bad, "at": ADDED, "name": "P2"}),
    }

    ((field, message),) = refusals
    assert field == "program"
    assert words in message
    assert len(message) < 200  # a 10,000-character id is not echoed back
    assert events_in(season) == before


BAD_NAMES = {
    "blank": ("   ", "must not be blank"),
    "2,001 characters": (LONG_TEXT, "has 2,001 characters; at most 2,000 are allowed"),
    "a NUL": ("Mercy\x00IM", "control character (U+0000)"),
    "a line break": ("Mercy\nIM", "control character (U+000A)"),
    "a right-to-left override": ("Mercy \u202eMI", "control character (U+202E)"),
    "a left-to-right embedding": ("Mercy \u202aIM", "control character (U+202A)"),
    "a first-strong isolate": ("Mercy \u2068IM\u2069", "control character (U+2068)"),
    "a line separator": ("Mercy\u2028IM", "control character (U+2028)"),
    "a paragraph separator": ("Mercy\u2029IM", "control character (U+2029)"),
}


@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_a_bad_program_name_is_refused_alike_by_program_add_library_and_both_imports(season, case):
    bad, words = BAD_NAMES[case]
    before = events_in(season)

    refusals = {
        by_cli(season, "program", "add", "p2", "--name", bad),
        by_library(season, "program_added", "p2", at=ADDED, name=bad),
        by_jsonl(season, {"type": "program_added", "program": "p2", "at": ADDED, "name": bad}),
    }
    ((field, message),) = refusals
    assert field == "name"
    assert words in message
    if bad.strip():  # a blank cell is a row without a program, an error of the sheet
        assert message in by_csv(season, bad)
    assert events_in(season) == before


BAD_OVERRIDES = {
    "blank": ("  ", "must not be blank"),
    "2,001 characters": (LONG_TEXT, "has 2,001 characters; at most 2,000 are allowed"),
    "999 kB": ("x" * 999_000, "has 999,000 characters"),
    "a NUL": ("PD\x00asked", "control character (U+0000)"),
    "a right-to-left override": ("PD asked \u202e", "control character (U+202E)"),
    "a pop directional isolate": ("PD \u2069asked", "control character (U+2069)"),
}


@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_a_bad_override_is_refused_alike_by_log_library_and_import(season, case):
    bad, words = BAD_OVERRIDES[case]
    before = events_in(season)

    refusals = {
        by_cli(season, "log", "applied", "p1", "--at", APPLIED, "--override", bad),
        by_library(season, "applied", "p1", at=APPLIED, override=bad),
        by_jsonl(season, {"type": "withdrawn", "program": "p1", "at": APPLIED, "override": bad}),
    }

    ((field, message),) = refusals
    assert field == "override"
    assert words in message
    assert events_in(season) == before


def test_free_text_may_hold_tabs_and_line_breaks(season):
    reason = "The program director asked me to write.\n\tSee the email of 2 October."
    season.record("applied", "p1", at=APPLIED, override=reason)
    news = season.record("news_recorded", at=APPLIED, kind="exam", detail="Passed\nStep 3")

    assert season.records()[-2].override == reason
    assert news.record.payload["detail"] == "Passed\nStep 3"


def test_free_text_may_hold_line_and_paragraph_separators(season):
    note = season.record("note_added", "p1", at=APPLIED, text="Asked\u2028twice\u2029done")

    assert note.record.payload["text"] == "Asked\u2028twice\u2029done"


def test_a_bad_id_in_a_rank_order_list_is_refused_alike_by_certify_and_import(season):
    refusals = {
        by_cli(season, "certify", "p1", "../etc"),
        by_jsonl(season, {"type": "rank_certified", "at": APPLIED, "order": ["p1", "../etc"]}),
    }
    ((field, message),) = refusals
    assert field is not None and field.startswith("order")
    assert "'../etc' is not an id" in message


def test_a_bad_season_id_is_refused_alike_by_init_and_import(season):
    start = {
        "type": "season_started",
        "at": STARTED,
        "match_year": 2027,
        "specialty": "Internal Medicine",
        "timezone": "America/New_York",
        "visa": "j1",
        "applicant_name": "Other",
    }
    init = (
        "init",
        "--match-year",
        "2027",
        "--specialty",
        "Internal Medicine",
        "--timezone",
        "America/New_York",
        "--visa",
        "j1",
        "--name",
        "Other",
        "--at",
        STARTED,
    )
    refusals = {
        by_cli(season, *init, "--id", "other season"),
        by_jsonl(season, {**start, "season": "other season"}),
    }
    ((field, message),) = refusals
    assert (field, message.split(":")[0]) == ("season", "'other season' is not an id")
    assert season.store.seasons() == [SEASON]


# -- the defects of imports --------------------------------------------------------------


def imported(season: Season, *lines: dict[str, Any] | str) -> list[Any]:
    """Import ``lines`` (objects, or raw text) into the season; its records afterwards."""
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    import_lines(
        season.store, text, default_season=SEASON, rulebook=NoRules(), clock=fixed_clock(NOW)
    )
    return season.records()


def refused(season: Season, *lines: dict[str, Any] | str) -> InputError:
    before = events_in(season)
    with pytest.raises(InputError) as caught:
        imported(season, *lines)
    assert events_in(season) == before
    return caught.value


def test_a_line_with_exactly_three_keys_keeps_its_payload(season):
    records = imported(
        season,
        {"type": "invited", "program": "p1", "at": "2026-10-01"},
        {"type": "interviewed", "program": "p1", "at": "2026-10-20"},
        {"type": "rank_certified", "at": "2027-01-10", "order": ["p1"]},
    )
    assert (records[-1].type, records[-1].payload) == ("rank_certified", {"order": ["p1"]})


APPLIED_LINE = {"type": "applied", "program": "p1", "at": APPLIED}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("banana", "'banana' is not an ISO date or datetime"),
        ("2026-09-24T10:00:00", "has no UTC offset"),
        ("2026-09-24", "is a date"),
        (17, "must be a string"),
    ],
)
def test_recorded_at_must_be_an_iso_datetime_with_offset(season, value, words):
    error = refused(season, {**APPLIED_LINE, "recorded_at": value})
    assert (error.line, error.field) == (1, "recorded_at")
    assert words in str(error)


def test_a_recorded_at_with_offset_is_kept_in_utc(season):
    records = imported(season, {**APPLIED_LINE, "recorded_at": "2026-09-24T12:00:00-04:00"})
    assert records[-1].recorded_at == "2026-09-24T16:00:00.000000+00:00"


def test_a_newer_schema_version_is_refused_not_stored_as_1(season):
    error = refused(season, {**APPLIED_LINE, "schema_version": 99})
    assert (error.line, error.field) == (1, "schema_version")
    assert "schema_version 99 is newer than this prematch reads (1)" in str(error)


@pytest.mark.parametrize("value", [True, 0, -1, 1.0, "1"], ids=repr)
def test_schema_version_must_be_an_integer_from_1(season, value):
    error = refused(season, {**APPLIED_LINE, "schema_version": value})
    assert (error.line, error.field) == (1, "schema_version")
    assert "must be an integer from 1 to 1" in str(error)


def test_the_current_schema_version_is_accepted(season):
    assert imported(season, {**APPLIED_LINE, "schema_version": 1})[-1].schema_version == 1


@pytest.mark.parametrize("value", [True, False, 0, -3, 2.0, "3"], ids=repr)
def test_seq_must_be_a_positive_integer_not_a_bool(season, value):
    error = refused(season, {**APPLIED_LINE, "seq": value})
    assert (error.line, error.field) == (1, "seq")
    assert "must be a positive integer" in str(error)


def test_a_key_given_twice_is_refused_and_named(season):
    twice = '{"type":"applied","program":"p1","program":"p2","at":"2026-09-24"}'
    error = refused(season, json.dumps(APPLIED_LINE), twice)
    assert (error.line, error.field) == (2, "program")
    assert "appears twice" in str(error)


def test_a_key_given_twice_inside_a_payload_value_is_refused(season):
    policy = '"policy":{"interest.wait_days":7,"interest.wait_days":1}'
    start = (
        '{"type":"season_started","season":"other-2027","at":"2026-09-20","match_year":2027,'
        '"specialty":"IM","timezone":"UTC","visa":"j1","applicant_name":"O",' + policy + "}"
    )
    error = refused(season, start)
    assert (error.line, error.field) == (1, "interest.wait_days")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(season, constant):
    line = f'{{"type":"applied","program":"p1","at":"2026-09-24","via":{constant}}}'
    error = refused(season, line)
    assert error.line == 1
    assert f"{constant} is not a JSON number" in str(error)


def test_a_nul_in_a_news_detail_is_refused(season):
    news = {"type": "news_recorded", "at": APPLIED, "kind": "exam", "detail": "Step\u00003"}
    error = refused(season, news)
    assert (error.line, error.field) == (1, "detail")
    assert "control character (U+0000)" in str(error)


def test_an_export_still_imports_whole(season, tmp_path):
    season.record("applied", "p1", at=APPLIED, override="advisor said so")
    season.record("news_recorded", at=APPLIED, kind="exam", detail="Passed Step 3")
    exported = events_in(season)

    with Store.open(tmp_path / "copy.db") as copy:
        result = import_lines(copy, exported, rulebook=NoRules(), clock=fixed_clock(NOW))
        assert result.hashes_reproduced == result.events == len(exported)
        assert list(export_lines(copy)) == exported
