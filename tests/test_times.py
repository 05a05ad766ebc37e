"""Times as people type them, and dates in the program's words (issue 12 items 5-6, DESIGN §2).

The season: an applicant in Kolkata (Asia/Kolkata, +05:30, no daylight saving time)
applies to Harbor Internal Medicine in Los Angeles and Hudson Internal Medicine in New
York. A time typed without an offset is read in the program's timezone for what happens
at the program (invitations, interviews, the program's replies), in the season's for the
rest, and the output names the zone; a wall time the clocks skip or pass twice is refused
with both readings; a date alone is "during that day", after the day's earlier events of
the program. The same reading holds for ``log --at``, a JSONL ``at`` and a tracker cell.
CLI through :class:`prematch_script.Script`, the library otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import icalendar
import pytest
from history import History
from prematch_script import Script

from prematch import engine
from prematch.engine import InputError, NoRules, Season, Store
from prematch.engine.io import import_tracker

KOLKATA, LA, NY = "Asia/Kolkata", "America/Los_Angeles", "America/New_York"
UTC = dt.UTC

INDIA = (
    History(
        name="Asha Rao", season_id="asha", timezone=KOLKATA, started="2026-09-20T10:00:00+05:30"
    ).init_argv(),
    ("program", "add", "harbor", "--name", "Harbor IM", "--timezone", LA, "--at", "2026-09-21"),
    ("program", "add", "hudson", "--name", "Hudson IM", "--timezone", NY, "--at", "2026-09-21"),
    ("log", "applied", "harbor", "--at", "2026-09-25 10:00"),
    ("log", "applied", "hudson", "--at", "2026-09-25 10:05"),
)
"""Added and applied to both programs, every time typed without an offset."""


@pytest.fixture
def india(tmp_path: Path) -> Script:
    script = Script(tmp_path)
    script.setup(INDIA)
    return script


def utc(text: str) -> dt.datetime:
    """A UTC instant written without its offset (``2026-09-25T04:30``)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def occurred(script: Script, kind: str, program: str | None = None) -> list[dt.datetime]:
    """The ``occurred_at`` of each event of ``kind`` (of ``program``) in ``history --json``."""
    events = script.json("history", "--json")["events"]
    return [
        dt.datetime.fromisoformat(e["occurred_at"])
        for e in events
        if e["type"] == kind and (program is None or e["program"] == program)
    ]


def types_in_order(script: Script, program: str) -> list[str]:
    events = script.json("history", "--json")["events"]
    return [e["type"] for e in events if e["program"] == program]


# -- log --at: which zone, said in the output ------------------------------------------------


def test_naive_times_are_read_in_the_programs_zone_or_the_seasons(india: Script) -> None:
    invited = india.ok("log", "invited", "harbor", "--at", "2026-10-20 08:00")
    assert "read 2026-10-20 08:00 as 08:00 America/Los_Angeles (-07:00)" in invited.stdout
    interview = india.ok("log", "interviewed", "harbor", "--at", "2027-01-10T09:00")
    assert "as 09:00 America/Los_Angeles (-08:00), the program's timezone" in interview.stdout
    # The applicant's own acts are read where the applicant is.
    thanks = india.ok("log", "thanked", "harbor", "--at", "2027-01-11 08:00")
    assert "as 08:00 Asia/Kolkata (+05:30), the season's timezone" in thanks.stdout

    assert occurred(india, "applied", "harbor") == [utc("2026-09-25T04:30:00")]
    assert occurred(india, "invited", "harbor") == [utc("2026-10-20T15:00:00")]
    assert occurred(india, "interviewed", "harbor") == [utc("2027-01-10T17:00:00")]
    assert occurred(india, "thanked", "harbor") == [utc("2027-01-11T02:30:00")]


def test_a_time_with_an_offset_is_exact_and_says_nothing_more(india: Script) -> None:
    ran = india.ok("log", "invited", "hudson", "--at", "2026-10-20T08:00:00-04:00")
    assert "read " not in ran.stdout
    assert occurred(india, "invited", "hudson") == [utc("2026-10-20T12:00:00")]


def test_a_program_without_a_timezone_reads_in_the_seasons(india: Script) -> None:
    india.ok("program", "add", "cedar", "--name", "Cedar IM", "--at", "2026-09-21")
    india.ok("log", "applied", "cedar", "--at", "2026-09-25")
    ran = india.ok("log", "invited", "cedar", "--at", "2026-10-20 08:00")
    assert "as 08:00 Asia/Kolkata (+05:30), the season's timezone" in ran.stdout


def test_a_timezone_set_later_reads_the_times_typed_after_it(india: Script) -> None:
    # The program turns out to interview from its Chicago campus (program_updated).
    india.ok("program", "set", "harbor", "--timezone", "America/Chicago", "--at", "2026-10-01")
    ran = india.ok("log", "invited", "harbor", "--at", "2026-10-20 08:00")
    assert "as 08:00 America/Chicago (-05:00), the program's timezone" in ran.stdout
    assert occurred(india, "invited", "harbor") == [utc("2026-10-20T13:00:00")]


def test_a_programs_timezone_must_be_a_real_one(india: Script) -> None:
    ran = india("program", "add", "cedar", "--name", "Cedar IM", "--timezone", "Mars/Base", code=2)
    assert "Mars/Base" in ran.stderr and "timezone" in ran.stderr


# -- DST: a wall time that never happened, or happened twice ----------------------------------


def test_a_wall_time_the_clocks_skip_is_refused_with_both_readings(india: Script) -> None:
    ran = india("log", "invited", "harbor", "--at", "2026-03-08 02:30", code=2)
    assert "does not exist in America/Los_Angeles" in ran.stderr
    assert "2026-03-08T02:30-08:00 (= 03:30 PDT)" in ran.stderr
    assert "2026-03-08T02:30-07:00 (= 01:30 PST)" in ran.stderr
    assert occurred(india, "invited") == []


def test_a_wall_time_that_happens_twice_is_refused_with_both_readings(india: Script) -> None:
    ran = india("log", "invited", "harbor", "--at", "2026-11-01T01:30", code=2)
    assert "happens twice in America/Los_Angeles" in ran.stderr
    assert "2026-11-01T01:30-07:00 is the first time" in ran.stderr
    assert "2026-11-01T01:30-08:00 an hour later" in ran.stderr
    # Either one, written with its offset, is taken as it is.
    india.ok("log", "invited", "harbor", "--at", "2026-11-01T01:30-08:00")
    assert occurred(india, "invited", "harbor") == [utc("2026-11-01T09:30:00")]


def test_the_same_wall_time_where_the_applicant_is_has_no_such_trouble(india: Script) -> None:
    india.ok("log", "call-held", "harbor", "--initiated-by", "program", "--at", "2026-11-01 01:30")
    assert occurred(india, "call_held", "harbor") == [utc("2026-10-31T20:00:00")]  # Kolkata


# -- a date alone: during that day --------------------------------------------------------


def test_a_thank_you_dated_the_interview_day_follows_the_interview(india: Script) -> None:
    india.ok("log", "invited", "hudson", "--at", "2026-10-20 08:00", "--interview-on", "2026-11-20")
    india.ok("log", "interviewed", "hudson", "--at", "2026-11-20 09:00")  # 19:30 in Kolkata
    ran = india.ok("log", "thanked", "hudson", "--at", "2026-11-20")
    assert (
        "read 2026-11-20 as during that day in Asia/Kolkata, the season's timezone: "
        "recorded just after 19:30 (+05:30)"
    ) in ran.stdout
    assert occurred(india, "thanked", "hudson") == [utc("2026-11-20T14:00:00.000001")]
    assert types_in_order(india, "hudson")[-2:] == ["interviewed", "thanked"]


def test_a_date_never_counts_as_later_than_the_end_of_its_day(india: Script) -> None:
    india.ok("log", "invited", "hudson", "--at", "2026-10-20 08:00")
    india.ok("log", "interviewed", "hudson", "--at", "2026-11-19 09:00")
    last = "2026-11-20T23:59:59.999999"  # the last instant of 20 November in Kolkata
    india.ok("log", "call-held", "hudson", "--initiated-by", "program", "--at", last)
    india.ok("log", "thanked", "hudson", "--at", "2026-11-20")
    assert occurred(india, "thanked", "hudson") == [utc("2026-11-20T18:29:59.999999")]
    assert types_in_order(india, "hudson")[-2:] == ["call_held", "thanked"]


def test_a_date_before_the_interview_day_stays_on_its_day(india: Script) -> None:
    india.ok("log", "invited", "hudson", "--at", "2026-10-20 08:00")
    india.ok("log", "interviewed", "hudson", "--at", "2026-11-20 09:00")
    ran = india("log", "thanked", "hudson", "--at", "2026-11-19", code=3)
    assert "'thanked' is not possible from there" in ran.stderr
    # The refusal says how the date was read, as a recorded event's output does.
    said = "read 2026-11-19 as that day in Asia/Kolkata, the season's timezone (from 00:00, +05:30)"
    assert ran.stderr.splitlines()[0] == said


# -- questions read naive times in the season's zone -----------------------------------------


def test_questions_read_naive_times_in_the_seasons_zone(india: Script) -> None:
    now = india.json("now", "--json", "--at", "2027-01-10 09:00")
    assert now["as_of"] == "2027-01-10T03:30:00.000000+00:00"
    check = india.json(  # blocked: no connection to Harbor; the instant is what counts here
        "check", "inquiry", "harbor", "--json", "--at", "2027-01-10T09:00", code=3
    )
    assert check["as_of"] == "2027-01-10T03:30:00.000000+00:00"


def test_history_shows_each_time_in_its_zone_with_its_year(india: Script) -> None:
    # Evening of 3 Dec in Los Angeles is the morning of 4 Dec in Kolkata: history shows the
    # interview where it happened, as status does, and the year (a season spans two).
    india.ok("log", "invited", "harbor", "--at", "2026-11-01 09:00")
    india.ok("log", "interviewed", "harbor", "--at", "2026-12-03 11:00")
    india.ok("log", "thanked", "harbor", "--at", "2026-12-04 09:00")
    out = india.ok("history", env={"COLUMNS": "80"}).stdout
    assert "Thu 03 Dec 2026 11:00 PST  interviewed" in out
    assert "Sun 01 Nov 2026 09:00 PST  invited" in out
    assert "Fri 04 Dec 2026 09:00 IST  thanked" in out  # the applicant's act, where she is
    assert "Fri 25 Sep 2026 10:00 IST  applied" in out
    assert "Thu 03 Dec 11:00 PST" in india.ok("status").stdout
    assert max(len(line) for line in out.splitlines()) <= 80


# -- JSONL import: the same readings, a program's zone from anywhere in the file -------------

SEASON_LINE = {
    "type": "season_started",
    "season": "asha",
    "at": "2026-09-20T10:00:00+05:30",
    "match_year": 2027,
    "specialty": "Internal Medicine",
    "timezone": KOLKATA,
    "visa": "j1",
    "applicant_name": "Asha Rao",
}
CLOCK = engine.fixed_clock(dt.datetime(2027, 1, 15, 14, tzinfo=UTC))


def import_season(store: Store, *lines: dict[str, Any]) -> Season:
    engine.import_lines(
        store, [json.dumps(line) for line in (SEASON_LINE, *lines)], rulebook=NoRules(), clock=CLOCK
    )
    return Season.open(store, "asha", rulebook=NoRules(), clock=CLOCK)


def at(season: Season, kind: str, program: str) -> list[dt.datetime]:
    return [
        e.record.occurred_at
        for e in season.history()
        if (e.record.type, e.record.program) == (kind, program)
    ]


def test_import_reads_naive_times_where_the_program_is_even_if_added_later(
    store: Store,
) -> None:
    season = import_season(
        store,
        {"type": "applied", "program": "harbor", "at": "2026-09-25T10:00"},
        {"type": "invited", "program": "harbor", "at": "2026-10-20T08:00"},
        {"type": "interviewed", "program": "harbor", "at": "2026-11-20 09:00"},
        {"type": "thanked", "program": "harbor", "at": "2026-11-21"},
        # The program's line comes last: its timezone still reads the lines above.
        {
            "type": "program_added",
            "program": "harbor",
            "at": "2026-09-21",
            "name": "Harbor IM",
            "timezone": LA,
        },
    )
    assert at(season, "applied", "harbor") == [dt.datetime(2026, 9, 25, 4, 30, tzinfo=UTC)]
    assert at(season, "invited", "harbor") == [dt.datetime(2026, 10, 20, 15, tzinfo=UTC)]
    assert at(season, "interviewed", "harbor") == [dt.datetime(2026, 11, 20, 17, tzinfo=UTC)]
    # A thank-you is the applicant's act: 21 November in Kolkata, which begins 18:30 UTC
    # on the 20th; the interview (22:30 on the 20th in Kolkata) is not on that day.
    assert at(season, "thanked", "harbor") == [dt.datetime(2026, 11, 20, 18, 30, tzinfo=UTC)]
    assert season.state().programs["harbor"].timezone == LA


def test_a_later_import_reads_in_the_timezone_the_store_holds(store: Store) -> None:
    import_season(
        store,
        {
            "type": "program_added",
            "program": "harbor",
            "at": "2026-09-21",
            "name": "Harbor IM",
            "timezone": LA,
        },
        {"type": "applied", "program": "harbor", "at": "2026-09-25"},
    )
    lines = [
        {"type": "invited", "program": "harbor", "at": "2026-10-20T08:00", "season": "asha"},
        {"type": "interviewed", "program": "harbor", "at": "2026-11-20T09:00", "season": "asha"},
    ]
    engine.import_lines(
        store, [json.dumps(line) for line in lines], rulebook=NoRules(), clock=CLOCK
    )
    season = Season.open(store, "asha", rulebook=NoRules(), clock=CLOCK)
    assert at(season, "interviewed", "harbor") == [dt.datetime(2026, 11, 20, 17, tzinfo=UTC)]


def test_import_places_a_date_after_the_same_days_earlier_lines(store: Store) -> None:
    season = import_season(
        store,
        {
            "type": "program_added",
            "program": "hudson",
            "at": "2026-09-21",
            "name": "Hudson IM",
            "timezone": NY,
        },
        {"type": "applied", "program": "hudson", "at": "2026-09-25"},
        {"type": "invited", "program": "hudson", "at": "2026-10-20"},
        {"type": "interviewed", "program": "hudson", "at": "2026-11-20T09:00"},  # 19:30 Kolkata
        {"type": "thanked", "program": "hudson", "at": "2026-11-20"},
    )
    interviewed = dt.datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert at(season, "interviewed", "hudson") == [interviewed]
    assert at(season, "thanked", "hudson") == [interviewed + dt.timedelta(microseconds=1)]


def test_import_refuses_a_wall_time_that_happens_twice_naming_line_and_field(
    store: Store,
) -> None:
    with pytest.raises(InputError) as refused:
        import_season(
            store,
            {
                "type": "program_added",
                "program": "harbor",
                "at": "2026-09-21",
                "name": "Harbor IM",
                "timezone": LA,
            },
            {"type": "applied", "program": "harbor", "at": "2026-09-25"},
            {"type": "invited", "program": "harbor", "at": "2026-11-01T01:30:00"},
        )
    assert (refused.value.line, refused.value.field) == (4, "at")
    assert "happens twice in America/Los_Angeles" in str(refused.value)
    assert store.seasons() == []


# -- tracker cells -------------------------------------------------------------------------

SHEET = """program,applied,invited,interview date,thank-you sent
Hudson IM,2026-09-25,10/20/2026,11/20/2026 9:00 AM,11/20/2026
"""


def tracker_season(store: Store, timezone: str) -> Season:
    return Season.start(
        store,
        "sheet",
        at="2026-09-20T10:00:00+05:30",
        rulebook=NoRules(),
        clock=CLOCK,
        match_year=2027,
        specialty="Internal Medicine",
        timezone=timezone,
        visa="j1",
        applicant_name="Asha Rao",
    )


def test_a_tracker_thank_you_dated_the_interview_day_follows_it(
    store: Store, tmp_path: Path
) -> None:
    season = tracker_season(store, KOLKATA)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    import_tracker(season, sheet)
    interviewed = dt.datetime(2026, 11, 20, 3, 30, tzinfo=UTC)  # 09:00 in Kolkata
    assert at(season, "interviewed", "hudson-im") == [interviewed]
    assert at(season, "thanked", "hudson-im") == [interviewed + dt.timedelta(microseconds=1)]


def test_a_tracker_cell_that_happens_twice_is_refused_with_its_row(
    store: Store, tmp_path: Path
) -> None:
    season = tracker_season(store, NY)
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(
        "program,applied,invited,interview date\n"
        'Hudson IM,2026-09-25,10/20/2026,"Nov 1, 2026 1:30 AM"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as refused:
        import_tracker(season, sheet)
    assert "row 2, column 'interview date'" in str(refused.value)
    assert "happens twice in America/New_York" in str(refused.value)
    assert [r.type for r in season.records()] == ["season_started"]


# -- dates in the program's words: drafts and the calendar -------------------------------------

INTERVIEWED_IN_LA = (
    *INDIA,
    ("log", "invited", "harbor", "--at", "2026-10-20 08:00", "--interview-on", "2026-11-20"),
    # 17:00 on 20 November in Los Angeles is 06:30 on 21 November in Kolkata.
    ("log", "interviewed", "harbor", "--at", "2026-11-20 17:00"),
    ("log", "invited", "hudson", "--at", "2026-10-20 08:00"),
    # 15:00 on 20 November in New York is 01:30 on 21 November in Kolkata (no interview_on).
    ("log", "interviewed", "hudson", "--at", "2026-11-20 15:00"),
)


@pytest.fixture
def interviewed(tmp_path: Path) -> Script:
    script = Script(tmp_path, now="2026-11-21T12:00:00+05:30")
    script.setup(INTERVIEWED_IN_LA)
    return script


@pytest.mark.parametrize("program", ["harbor", "hudson"])
def test_a_thank_you_draft_names_the_programs_interview_date(
    interviewed: Script, program: str
) -> None:
    text = interviewed.ok("draft", "thank_you", program).stdout
    assert "November 20, 2026" in text
    assert "November 21" not in text


def test_calendar_entries_name_the_programs_interview_date(interviewed: Script) -> None:
    out = interviewed.tmp / "season.ics"
    interviewed.ok("calendar", "--out", str(out))
    events = {
        str(e["UID"]): e for e in icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    }
    for program in ("harbor", "hudson"):
        due = events[f"asha-{program}-thank_you@prematch"]
        assert "Interview on November 20, 2026 (the program's date)." in str(due["DESCRIPTION"])


def test_log_and_import_warn_of_a_date_far_from_the_season(india: Script) -> None:
    india.ok("program", "add", "cedar", "--name", "Cedar IM", "--at", "2026-09-21")
    ran = india.ok("log", "applied", "cedar", "--at", "2025-09-24 08:00")  # last year's
    assert "warning: 2025-09-24 is before the 2027 Match's season (it opens 2026-06-01): " in (
        ran.stdout
    )
    assert occurred(india, "applied", "cedar") == [utc("2025-09-24T02:30:00")]  # kept
    assert "warning" not in india.ok("log", "invited", "hudson", "--at", "2026-10-20").stdout
    lines = [
        {"type": "program_added", "program": "dune", "at": "2026-09-21", "name": "Dune IM"},
        {"type": "applied", "program": "dune", "at": "2025-09-24"},
    ]
    path = india.tmp / "more.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = india.ok("import", str(path)).stdout
    assert "\n  line 2: 2025-09-24 is before the 2027 Match's season" in out
    assert out.count("Match's season") == 1


def test_a_clock_without_an_offset_is_read_in_the_seasons_zone(india: Script) -> None:
    now = india.json("now", "--json", env={"PREMATCH_NOW": "2027-01-12"})
    assert now["as_of"] == "2027-01-11T18:30:00.000000+00:00"  # midnight in Kolkata
    now = india.json("now", "--json", env={"PREMATCH_NOW": "2027-01-12 09:00"})
    assert now["as_of"] == "2027-01-12T03:30:00.000000+00:00"
    # A command that reads no one season has no zone to read it in: it says what to write.
    ran = india("audit", "--all", env={"PREMATCH_NOW": "2027-01-12"}, code=2)
    assert "'2027-01-12' has no UTC offset" in ran.stderr
    assert "write a full ISO datetime with offset, e.g. 2027-01-12T09:00:00-05:00" in ran.stderr
