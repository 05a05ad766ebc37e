"""Time arithmetic of the rulebook, in any IANA timezone, across DST changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pendulum
from hypothesis import assume, given
from hypothesis import strategies as st

from engine import Season, Store, fixed_clock
from policies import Rulebook
from policies.context import add_days, add_hours

UTC = dt.UTC
# Instants around the DST changes of 2026-2027 (and everything in between).
instants = st.datetimes(
    min_value=dt.datetime(2026, 3, 1), max_value=dt.datetime(2027, 11, 30), timezones=st.just(UTC)
)
zones = (
    st.sampled_from(
        sorted(
            {
                "America/New_York",
                "America/Los_Angeles",
                "America/Sao_Paulo",
                "Europe/London",
                "Europe/Berlin",
                "Asia/Kolkata",
                "Asia/Kathmandu",
                "Australia/Lord_Howe",
                "Pacific/Chatham",
                "Africa/Cairo",
            }
        )
    )
    | st.timezone_keys()
)


def _local_wall_time_exists(moment: dt.datetime, timezone: str) -> bool:
    """False in a DST gap or overlap, where "the same wall time" has no single meaning."""
    zone = zoneinfo.ZoneInfo(timezone)
    naive = moment.astimezone(zone).replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    return first == second


@given(moment=instants, days=st.integers(min_value=-30, max_value=400), timezone=zones)
def test_add_days_agrees_with_pendulum(moment, days, timezone):
    ours = add_days(moment, days, timezone)
    target_wall = pendulum.instance(moment).in_timezone(timezone).add(days=days)
    assume(_local_wall_time_exists(ours, timezone))
    assert ours == target_wall.in_timezone("UTC")


@given(moment=instants, days=st.integers(min_value=0, max_value=60), timezone=zones)
def test_add_days_keeps_the_wall_clock_time(moment, days, timezone):
    zone = zoneinfo.ZoneInfo(timezone)
    later = add_days(moment, days, timezone).astimezone(zone)
    assume(_local_wall_time_exists(later, timezone))
    start = moment.astimezone(zone)
    assert (later.hour, later.minute) == (start.hour, start.minute)
    assert later.date() - start.date() == dt.timedelta(days=days)


@given(moment=instants, hours=st.integers(min_value=0, max_value=24 * 30), timezone=zones)
def test_add_hours_is_real_elapsed_time_whatever_the_zone(moment, hours, timezone):
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    assert add_hours(local, hours) - moment == dt.timedelta(hours=hours)


def _season(tmp_path, timezone: str) -> Season:
    store = Store.open(tmp_path / f"{timezone.replace('/', '_')}.db")
    clock = fixed_clock(dt.datetime(2027, 4, 1, tzinfo=UTC))
    season = Season.start(
        store,
        "s",
        at="2026-09-01T00:00:00+00:00",
        clock=clock,
        rulebook=Rulebook(),
        match_year=2027,
        specialty="Internal Medicine",
        timezone=timezone,
        visa="j1",
        applicant_name="T",
    )
    season.add_program("p", "P", at="2026-09-02T00:00:00+00:00")
    season.record("invited", "p", at="2026-10-01T00:00:00+00:00")
    season.record("interviewed", "p", at="2026-10-31T14:00:00+00:00")  # across the US DST end
    return season


@given(
    timezone=st.sampled_from(["America/New_York", "Asia/Kolkata", "Europe/Berlin"]),
    minutes=st.integers(min_value=-3, max_value=3),
)
def test_thank_you_is_due_exactly_48_real_hours_after_the_interview(
    tmp_path_factory, timezone, minutes
):
    season = _season(tmp_path_factory.mktemp("t"), timezone)
    interview = dt.datetime(2026, 10, 31, 14, tzinfo=UTC)
    at = interview + dt.timedelta(hours=48, minutes=minutes)
    verdict = season.check("thank_you", "p", at=at)
    assert verdict.due_by == interview + dt.timedelta(hours=48)
    late = any(f.rule == "thanks.window" for f in verdict.findings)
    assert late == (minutes > 0)


@given(
    timezone=st.sampled_from(["America/New_York", "America/Los_Angeles", "Asia/Kolkata"]),
    minutes=st.integers(min_value=-2, max_value=2),
)
def test_deadline_passed_starts_the_minute_after_the_deadline(tmp_path_factory, timezone, minutes):
    season = _season(tmp_path_factory.mktemp("d"), timezone)
    deadline = dt.datetime(2027, 3, 3, 21, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    verdict = season.check("interest", "p", at=deadline + dt.timedelta(minutes=minutes))
    assert verdict.closes_at == deadline
    passed = any(f.rule == "deadline.passed" for f in verdict.findings)
    assert passed == (minutes > 0)
