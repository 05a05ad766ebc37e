"""Properties of the rulebook's time arithmetic in any IANA timezone (issue 4).

``prematch.policies._context.add_days`` (calendar days: same wall-clock time) is held against
pendulum's ``add(days=...)``, with the instants drawn where it is hard: in the gaps and
overlaps of the timezone's UTC-offset changes of the 2027 Match season. ``add_hours``
must add real elapsed hours whatever the zone of its argument. Through the public
engine API: a thank-you is due 48 real hours after an interview that straddles a DST
change, and ``deadline.passed`` starts the minute after the rank list deadline.

The overlap and ``days=0`` properties found that ``add_days`` took the first of a
repeated wall time (pendulum takes the second) and moved an instant in the repeated
hour back by an hour on ``days=0``; both are fixed, and the properties keep them so.
In process: the library only.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from functools import cache
from pathlib import Path

import pendulum
import pytest
from history import History
from hypothesis import assume, given, note
from hypothesis import strategies as st

from prematch import engine
from prematch.engine import PolicyRefusal, Season, Store
from prematch.policies import Rulebook
from prematch.policies._context import add_days, add_hours, local_day_start

UTC = dt.UTC
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DEADLINE = dt.datetime(2027, 3, 3, 21, tzinfo=NEW_YORK)
"""The provisional 2027 rank order list deadline (fixtures/calendars/2027.toml)."""

SCAN_FROM = dt.datetime(2026, 1, 1, tzinfo=UTC)
SCAN_TO = dt.datetime(2028, 1, 1, tzinfo=UTC)
ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Cairo",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
)
"""Zones worth every run: DST in both hemispheres, 30-minute shifts, odd offsets, none."""

Transition = tuple[dt.datetime, dt.timedelta, dt.timedelta]
"""A change of UTC offset: the first instant of the new offset, the offsets before and after."""


@cache
def transitions(key: str) -> tuple[Transition, ...]:
    """Every change of ``key``'s UTC offset in 2026-2027 (found with zoneinfo alone)."""
    zone = zoneinfo.ZoneInfo(key)
    found: list[Transition] = []
    day = dt.timedelta(days=1)
    moment = SCAN_FROM
    while moment < SCAN_TO:
        before = moment.astimezone(zone).utcoffset()
        after = (moment + day).astimezone(zone).utcoffset()
        assert before is not None and after is not None
        if before != after:
            low, high = moment, moment + day  # offset `before` at low, `after` at high
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) // 2
                if middle.astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            found.append((high, before, after))
        moment += day
    return tuple(found)


def pendulum_add_days(moment: dt.datetime, days: int, timezone: str) -> dt.datetime:
    """The reference: pendulum's calendar-day arithmetic, as a UTC datetime."""
    later = pendulum.instance(moment).in_timezone(timezone).add(days=days)
    return dt.datetime.fromtimestamp(later.timestamp(), UTC)


def wall(moment: dt.datetime, timezone: str) -> dt.datetime:
    """The naive local wall-clock time of an instant."""
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)


def occurrences(local: dt.datetime, timezone: str) -> int:
    """How many instants show the naive wall time ``local``: 0 (gap), 1, or 2 (overlap)."""
    zone = zoneinfo.ZoneInfo(timezone)
    instants = {local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return sum(1 for i in instants if wall(i, timezone) == local)


def target_wall(moment: dt.datetime, days: int, timezone: str) -> dt.datetime:
    """The wall-clock time ``days`` calendar days after ``moment``, in ``timezone``."""
    return wall(moment, timezone) + dt.timedelta(days=days)


# -- strategies -----------------------------------------------------------------------------

zones = st.sampled_from(ZONES) | st.timezone_keys()

near_changes = st.one_of(
    # Late February to early April, late September to early November, 2026 and 2027:
    # when most clocks change.
    *(
        st.datetimes(
            min_value=dt.datetime(year, month, 1) - dt.timedelta(days=10),
            max_value=dt.datetime(year, month, 1) + dt.timedelta(days=40),
            timezones=st.just(UTC),
        )
        for year in (2026, 2027)
        for month in (3, 10)
    ),
    st.datetimes(
        min_value=dt.datetime(2026, 1, 1),
        max_value=dt.datetime(2027, 12, 31),
        timezones=st.just(UTC),
    ),
)
"""Instants, mostly in the months when clocks change."""


@st.composite
def at_a_change(draw: st.DrawFn, kind: str) -> tuple[str, Transition]:
    """A zone and one of its UTC-offset changes of ``kind`` (``gap`` or ``overlap``)."""
    key = draw(zones.filter(lambda k: any(_kind(t) == kind for t in transitions(k))))
    change = draw(st.sampled_from([t for t in transitions(key) if _kind(t) == kind]))
    return key, change


def _kind(change: Transition) -> str:
    _, before, after = change
    return "gap" if after > before else "overlap"


@st.composite
def landing_in(draw: st.DrawFn, kind: str) -> tuple[str, dt.datetime, int]:
    """``(zone, instant, days)`` such that ``days`` calendar days later the wall-clock time
    is in a gap (does not exist) or an overlap (exists twice) of the zone."""
    key, (change, before, after) = draw(at_a_change(kind))
    low = (change + min(before, after)).replace(tzinfo=None)
    span = abs(after - before)
    target = low + draw(st.timedeltas(dt.timedelta(0), span - dt.timedelta(minutes=1)))
    target = target.replace(second=0, microsecond=0)
    days = draw(st.integers(-60, 60).filter(bool))
    start = target - dt.timedelta(days=days)
    assume(occurrences(start, key) == 1)  # an ordinary starting instant
    moment = start.replace(tzinfo=zoneinfo.ZoneInfo(key)).astimezone(UTC)
    note(f"{key}: {moment} + {days} days lands on the wall time {target} ({kind})")
    return key, moment, days


# -- add_days -------------------------------------------------------------------------------


@given(moment=near_changes, days=st.integers(-400, 400), timezone=zones)
def test_add_days_agrees_with_pendulum(moment: dt.datetime, days: int, timezone: str) -> None:
    assert add_days(moment, days, timezone) == pendulum_add_days(moment, days, timezone)


@given(moment=near_changes, days=st.integers(-400, 400), timezone=zones)
def test_add_days_keeps_the_wall_clock_time_and_moves_the_date(
    moment: dt.datetime, days: int, timezone: str
) -> None:
    later = add_days(moment, days, timezone)
    target = target_wall(moment, days, timezone)
    if occurrences(target, timezone) == 0:  # a gap: the clock shows the time after it
        assert wall(later, timezone) > target
        assert wall(later, timezone) - target <= dt.timedelta(hours=3)
    else:
        assert wall(later, timezone) == target


@given(case=landing_in("gap"))
def test_add_days_into_a_gap_agrees_with_pendulum(case: tuple[str, dt.datetime, int]) -> None:
    timezone, moment, days = case
    assert add_days(moment, days, timezone) == pendulum_add_days(moment, days, timezone)


@given(case=landing_in("overlap"))
def test_add_days_into_an_overlap_agrees_with_pendulum(case: tuple[str, dt.datetime, int]) -> None:
    timezone, moment, days = case
    assert add_days(moment, days, timezone) == pendulum_add_days(moment, days, timezone)


@given(change=at_a_change("overlap"), into=st.integers(0, 59))
def test_add_days_zero_is_the_same_instant(change: tuple[str, Transition], into: int) -> None:
    timezone, (first_of_new_offset, before, after) = change
    repeated = (before - after) // dt.timedelta(minutes=1)
    moment = first_of_new_offset + dt.timedelta(minutes=into % repeated)  # the second pass
    assert add_days(moment, 0, timezone) == moment


def test_add_days_repeated_wall_time_example() -> None:
    """The overlap case spelled out: the repeated 01:30 resolves to its second pass."""
    two_weeks_before = dt.datetime(2026, 10, 18, 1, 30, tzinfo=NEW_YORK)  # EDT
    ours = add_days(two_weeks_before, 14, "America/New_York")
    reference = pendulum_add_days(two_weeks_before, 14, "America/New_York")
    # 1 November 2026, 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    assert ours == reference == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


# -- local_day_start ------------------------------------------------------------------------

MIDNIGHT_ZONES = ("America/Havana", "America/Santiago", "Asia/Beirut", "Africa/Cairo")
"""Zones whose clocks change at midnight: some of their days start in a gap or an overlap."""


def pendulum_day_start(day: dt.date, timezone: str) -> dt.datetime:
    """The reference: pendulum's midnight at the start of ``day``, as a UTC datetime."""
    start = pendulum.datetime(day.year, day.month, day.day, tz=timezone)
    return dt.datetime.fromtimestamp(start.timestamp(), UTC)


@given(
    day=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)),
    timezone=zones | st.sampled_from(MIDNIGHT_ZONES),
)
def test_local_day_start_agrees_with_pendulum(day: dt.date, timezone: str) -> None:
    ours = local_day_start(day.year, day.month, day.day, timezone)
    assert ours == pendulum_day_start(day, timezone) and ours.tzinfo is UTC


def test_a_day_that_starts_in_a_change_of_offset_agrees_with_pendulum() -> None:
    """Every 2026-2027 day of :data:`MIDNIGHT_ZONES` whose midnight never happens (a gap)
    or happens twice (Havana's November overlap): the case left to pendulum."""
    odd = [
        (key, day, occurrences(dt.datetime.combine(day, dt.time()), key))
        for key in MIDNIGHT_ZONES
        for day in (dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(730))
        if occurrences(dt.datetime.combine(day, dt.time()), key) != 1
    ]
    assert {count for _, _, count in odd} == {0, 2}
    for key, day, _ in odd:
        ours = local_day_start(day.year, day.month, day.day, key)
        assert ours == pendulum_day_start(day, key), (key, day)


# -- add_hours ------------------------------------------------------------------------------


@given(moment=near_changes, timezone=zones, hours=st.integers(0, 24 * 60) | st.just(48))
def test_add_hours_is_real_elapsed_hours_in_any_zone(
    moment: dt.datetime, timezone: str, hours: int
) -> None:
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    later = add_hours(local, hours)
    assert later.astimezone(UTC) - moment == dt.timedelta(hours=hours)
    assert later - local == dt.timedelta(hours=hours)


@given(change=at_a_change("overlap") | at_a_change("gap"), before=st.integers(0, 48 * 60))
def test_add_hours_48_across_a_change_is_48_real_hours(
    change: tuple[str, Transition], before: int
) -> None:
    timezone, (instant, _, _) = change
    interview = (instant - dt.timedelta(minutes=before)).astimezone(zoneinfo.ZoneInfo(timezone))
    assert add_hours(interview, 48).astimezone(UTC) - interview.astimezone(UTC) == dt.timedelta(
        hours=48
    )


# -- through the engine ---------------------------------------------------------------------


def season_in(timezone: str, interview: dt.datetime) -> Season:
    """A 2027 season in ``timezone`` with one program interviewed at ``interview``, on a
    memory store (no disk)."""
    history = (
        History(
            season_id="time",
            timezone=timezone,
            name="Time Test",
            started="2026-09-01T00:00:00+00:00",
        )
        .add("p", name="Program P", at="2026-09-02T00:00:00+00:00")
        .invite("p", at=interview - dt.timedelta(days=10))
        .interview("p", interview)
    )
    return history.season(rulebook=Rulebook(), now=dt.datetime(2027, 6, 1, tzinfo=UTC))


def season_changes(key: str) -> list[Transition]:
    """The zone's offset changes during the interview season (October to February)."""
    start, end = dt.datetime(2026, 9, 20, tzinfo=UTC), dt.datetime(2027, 2, 15, tzinfo=UTC)
    return [t for t in transitions(key) if start <= t[0] < end]


@given(
    timezone=(st.sampled_from(ZONES) | st.timezone_keys()).filter(season_changes),
    data=st.data(),
    hours_before=st.integers(1, 47),
    minutes=st.integers(-3, 3),
)
def test_thank_you_is_due_48_real_hours_after_an_interview_across_dst(
    timezone: str, data: st.DataObject, hours_before: int, minutes: int
) -> None:
    change, _, _ = data.draw(st.sampled_from(season_changes(timezone)), "change")
    interview = change - dt.timedelta(hours=hours_before)  # the change falls inside 48 h
    due = interview + dt.timedelta(hours=48)
    season = season_in(timezone, interview.astimezone(zoneinfo.ZoneInfo(timezone)))
    verdict = season.check("thank_you", "p", at=due + dt.timedelta(minutes=minutes))
    assert verdict.due_by == due
    assert verdict.opens_at == interview
    late = [f for f in verdict.findings if f.rule == "thanks.window"]
    assert bool(late) == (minutes > 0)


@given(timezone=st.sampled_from(ZONES) | st.timezone_keys(), minutes=st.sampled_from([-1, 0, 1]))
def test_deadline_passed_appears_only_after_the_deadline_minute(
    timezone: str, minutes: int
) -> None:
    interview = dt.datetime(2027, 1, 11, 15, tzinfo=UTC)
    season = season_in(timezone, interview)
    at = DEADLINE + dt.timedelta(minutes=minutes)
    verdicts = [season.check(action, "p", at=at) for action in ("interest", "intent")]
    for verdict in verdicts:
        assert verdict.closes_at == DEADLINE
        passed = any(f.rule == "deadline.passed" for f in verdict.findings)
        assert passed == (minutes > 0), verdict
        assert (verdict.outcome == "blocked") == (minutes > 0), verdict


def test_import_judges_a_date_only_interview_in_real_hours(tmp_path: Path) -> None:
    """An interview imported as a bare date is midnight in the season's zone (a ``ZoneInfo``
    datetime): the thank-you window must still be 48 real hours, as when it is logged."""
    lines = [
        {
            "type": "season_started",
            "season": "s",
            "at": "2026-09-20T10:00:00-04:00",
            "match_year": 2027,
            "specialty": "Internal Medicine",
            "timezone": "America/New_York",
            "visa": "j1",
            "applicant_name": "A",
        },
        {"type": "program_added", "program": "p", "at": "2026-09-21T10:00-04:00", "name": "P"},
        {"type": "connection_recorded", "program": "p", "at": "2026-09-22", "kind": "research"},
        {"type": "inquiry_sent", "program": "p", "at": "2026-10-20T10:00:00-04:00"},
        {"type": "invited", "program": "p", "at": "2026-10-25T10:00:00-04:00"},
        {"type": "interviewed", "program": "p", "at": "2026-10-31"},
        # 48.5 real hours after midnight EDT, across the DST end: late, so not exempt from
        # spam.gap, and 13 days after the inquiry.
        {"type": "thanked", "program": "p", "at": "2026-11-01T23:30:00-05:00"},
    ]
    store = Store.open(tmp_path / "s.db")
    clock = engine.fixed_clock(dt.datetime(2027, 1, 15, tzinfo=UTC))
    with pytest.raises(PolicyRefusal, match=r"spam\.gap"):
        engine.import_lines(
            store, [json.dumps(line) for line in lines], rulebook=Rulebook(), clock=clock
        )
    store.close()
