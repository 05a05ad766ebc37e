"""``prematch calendar --out F.ics``: parsed back with icalendar.

A Chicago season: the times carry the season's timezone, the dates are the engine's
(thank-you ``due_by``, letter windows' ``opens_at``, the NRMP calendar), and the UIDs
are stable, so a second export updates the same events. In process
(:class:`prematch_script.Script`), each test on its own copy of the season, recorded once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from history import History
from prematch_script import Script, built

CHICAGO = ZoneInfo("America/Chicago")
NOW = "2027-01-15T09:00:00-06:00"
SID = "cal-2027"

SEASON = (
    History(
        name="Cal Applicant",
        season_id=SID,
        timezone="America/Chicago",
        started="2026-09-20T10:00:00-05:00",
    )
    .add("mercy", name="Mercy General IM", at="2026-09-21T10:00:00-05:00")
    .add("oak", name="Oak Valley IM", at="2026-09-21T10:05:00-05:00")
    .add("pine", name="Pine Ridge IM", at="2026-09-21T10:10:00-05:00")
    .apply("mercy", at="2026-09-25T10:00:00-05:00")
    .apply("oak", at="2026-09-25T10:05:00-05:00")
    .apply("pine", at="2026-09-25T10:10:00-05:00")
    .invite("oak", at="2026-10-02T10:00:00-05:00", interview_on="2026-11-09")
    .interview("oak", "2026-11-09T09:00:00-06:00")
    .event("thanked", "oak", "2026-11-10T08:00:00-06:00")
    .invite("mercy", at="2026-11-02T10:00:00-06:00", interview_on="2027-01-14")
    .interview("mercy", "2027-01-14T09:00:00-06:00")
    .argv()
)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


def export(script: Script, name: str, *extra: str) -> dict[str, Any]:
    out = script.tmp / name
    result = script.ok("calendar", "--out", str(out), *extra)
    assert "times in America/Chicago" in result.stderr
    cal = icalendar.Calendar.from_ical(out.read_bytes())
    return {str(e["UID"]): e for e in cal.walk("VEVENT")} | {"_cal": cal}


@pytest.fixture(scope="module")
def season_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Chicago season above, recorded once."""
    return built(tmp_path_factory.mktemp("calendar"), SEASON, now=NOW)


@pytest.fixture
def season(tmp_path: Path, season_db: Path) -> Script:
    """The Chicago season, a copy of its own in ``tmp_path``."""
    return Script(tmp_path, now=NOW).copy_of(season_db)


def test_events_are_the_engines_dates_in_the_seasons_timezone(season: Script) -> None:
    events = export(season, "season.ics")
    cal = events.pop("_cal")
    assert cal["VERSION"] == "2.0" and "prematch" in str(cal["PRODID"])
    (zone,) = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/Chicago"
    expected = {
        f"{SID}-mercy-thank_you@prematch": local("2027-01-16T09:00"),  # interview + 48 h
        f"{SID}-mercy-interest@prematch": local("2027-01-28T09:00"),  # interview + 14 days
        # Issue 14: one letter of intent in the season, one window: it opens 14 days after
        # the first interview (oak's); a sent thank-you has no window left: dated when sent.
        f"{SID}-intent@prematch": local("2026-11-23T09:00"),
        f"{SID}-oak-thank_you@prematch": local("2026-11-10T08:00"),
        f"{SID}-oak-interest@prematch": local("2026-11-23T09:00"),  # opens_at: interview + 14 d
        f"{SID}-rank_list_deadline@prematch": local("2027-03-03T20:00"),  # 21:00 Eastern
        f"{SID}-match_week_start@prematch": local("2027-03-15T09:00"),
        f"{SID}-match_day@prematch": local("2027-03-19T11:00"),
    }
    for uid, start in expected.items():
        event = events[uid]
        value = event["DTSTART"].dt
        assert value == start, uid
        assert event["DTSTART"].params["TZID"] == "America/Chicago", uid
        assert value.utcoffset() == start.utcoffset()
        assert event["DTEND"].dt > value
    for uid, event in events.items():
        assert uid.startswith(f"{SID}-") and uid.endswith("@prematch")
        assert event["DTSTART"].params["TZID"] == "America/Chicago"
        assert "DTSTAMP" in event
    assert not any("pine" in uid for uid in events)  # applied only: nothing dated yet
    assert not any(
        uid.endswith("-intent@prematch") and uid != f"{SID}-intent@prematch" for uid in events
    )


def test_summaries_and_status(season: Script) -> None:
    events = export(season, "season.ics")
    due = events[f"{SID}-mercy-thank_you@prematch"]
    assert str(due["SUMMARY"]) == "Thank-you due: Mercy General IM"
    assert str(due["STATUS"]) == "CONFIRMED"
    sent = events[f"{SID}-oak-thank_you@prematch"]
    assert str(sent["SUMMARY"]) == "Thank-you sent: Oak Valley IM"
    assert str(sent["STATUS"]) == "CONFIRMED"  # a past event, on the day it was sent (issue 16)
    opens = events[f"{SID}-mercy-interest@prematch"]
    assert str(opens["SUMMARY"]) == "Letter of interest window opens: Mercy General IM"
    deadline = events[f"{SID}-rank_list_deadline@prematch"]
    assert "Provisional" in str(deadline["DESCRIPTION"])  # the 2027 calendar is provisional


def test_uids_are_stable_and_a_rerun_updates_the_same_events(season: Script) -> None:
    first = export(season, "first.ics")
    again = export(season, "again.ics")
    first.pop("_cal"), again.pop("_cal")
    assert set(first) == set(again)
    for uid in first:
        assert first[uid]["DTSTART"].dt == again[uid]["DTSTART"].dt
        assert str(first[uid]["SUMMARY"]) == str(again[uid]["SUMMARY"])
    season.ok("log", "thanked", "mercy", "--at", "2027-01-15T08:00:00-06:00")
    after = export(season, "after.ics")
    after.pop("_cal")
    assert set(after) == set(first)
    uid = f"{SID}-mercy-thank_you@prematch"
    assert str(after[uid]["STATUS"]) == "CONFIRMED"
    assert str(after[uid]["SUMMARY"]) == "Thank-you sent: Mercy General IM"
    assert after[uid]["SEQUENCE"] >= first[uid]["SEQUENCE"]
    assert after[uid]["DTSTART"].dt == local("2027-01-15T08:00")  # when it was sent (issue 14)


def test_at_evaluates_an_earlier_instant(season: Script) -> None:
    events = export(season, "before.ics", "--at", "2026-12-01")
    events.pop("_cal")
    assert f"{SID}-oak-thank_you@prematch" in events
    # Mercy has not interviewed yet: only its interview day, all day, as the invitation says.
    mercy = {uid for uid in events if uid.startswith(f"{SID}-mercy-")}
    assert mercy == {f"{SID}-mercy-interview@prematch"}
    assert events[f"{SID}-mercy-interview@prematch"]["DTSTART"].dt == dt.date(2027, 1, 14)


def test_calendar_needs_a_season(tmp_path: Path) -> None:
    script = Script(tmp_path, now=NOW)
    result = script("calendar", "--out", str(tmp_path / "x.ics"))
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert not (tmp_path / "x.ics").exists()


MESSAGES = {
    "thanked": "Thank-you sent",
    "interest_sent": "Letter of interest sent",
    "intent_sent": "Letter of intent sent",
    "update_sent": "Update sent",
    "inquiry_sent": "Inquiry sent",
}


def test_each_event_is_at_its_instant_in_the_log(season: Script) -> None:
    """Sent messages on their real dates (the intent too, not as cancelled), interviews
    at their time in the program's timezone, and no "No ..." event."""
    season.ok("program", "add", "west", "--name", "West IM", "--timezone", "America/Los_Angeles")
    season.ok("log", "applied", "west", "--at", "2026-10-01")
    season.ok("log", "invited", "west", "--at", "2026-10-05", "--interview-on", "2026-11-16")
    season.ok("log", "interviewed", "west", "--at", "2026-11-16 08:00")  # Los Angeles time
    season.ok("log", "intent-sent", "oak", "--at", "2027-01-10T10:00")
    season.ok("news", "exam", "Passed Step 3", "--at", "2027-01-11")
    season.ok("log", "update-sent", "oak", "west", "--at", "2027-01-12T10:00")
    events = export(season, "season.ics")
    events.pop("_cal")
    log = season.json("history", "--json")["events"]
    names = {e["program"]: e["payload"]["name"] for e in log if e["type"] == "program_added"}
    by_start = {(str(e["SUMMARY"]), e["DTSTART"].dt) for e in events.values()}
    for e in log:
        at = dt.datetime.fromisoformat(e["occurred_at"])
        if e["type"] in MESSAGES:
            assert (f"{MESSAGES[e['type']]}: {names[e['program']]}", at) in by_start, e
        if e["type"] == "interviewed":
            event = events[f"{SID}-{e['program']}-interview@prematch"]
            assert event["DTSTART"].dt == at
    west = events[f"{SID}-west-interview@prematch"]
    assert west["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert west["DTSTART"].dt.hour == 8
    intent = events[f"{SID}-intent@prematch"]
    assert str(intent["SUMMARY"]) == "Letter of intent sent: Oak Valley IM"
    assert str(intent["STATUS"]) == "CONFIRMED"
    assert intent["DTSTART"].dt == local("2027-01-10T10:00")
    assert not any(str(e["SUMMARY"]).startswith("No ") for e in events.values())


def test_alarms_before_a_thank_you_due_and_the_rank_list_deadline(season: Script) -> None:
    events = export(season, "season.ics")

    def alarms(uid: str) -> list[dt.timedelta]:
        return sorted(a["TRIGGER"].dt for a in events[uid].walk("VALARM"))

    assert alarms(f"{SID}-mercy-thank_you@prematch") == [-dt.timedelta(hours=12)]
    deadline = f"{SID}-rank_list_deadline@prematch"
    assert alarms(deadline) == [-dt.timedelta(hours=48), -dt.timedelta(hours=2)]
    assert alarms(f"{SID}-oak-thank_you@prematch") == []  # sent: nothing to remind of


def test_a_later_export_has_a_higher_sequence(season: Script, tmp_path: Path) -> None:
    first = export(season, "first.ics")
    later = Script(tmp_path, now="2027-01-16T09:00:00-06:00", db=season.db)
    second = export(later, "second.ics")
    uid = f"{SID}-match_day@prematch"
    assert second[uid]["SEQUENCE"] > first[uid]["SEQUENCE"]
