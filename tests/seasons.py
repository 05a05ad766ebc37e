"""Small builders for rulebook tests: a season is a list of events, then a question.

Every instant is pinned: the clock is fixed late in the 2027 Match season (after SOAP),
so any date a test writes is already in the past, whatever today's date is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from prematch import engine, policies
from prematch.engine import Finding, Season, Store, Verdict

NY = "America/New_York"
LA = "America/Los_Angeles"
KOLKATA = "Asia/Kolkata"

LATE = dt.datetime(2027, 3, 20, 12, tzinfo=dt.UTC)
"""The fixed clock: after SOAP of the 2027 Match, so every instant below is in the past."""

STARTED = "2026-09-20T10:00:00-04:00"
ADDED = "2026-09-21T10:00:00-04:00"
APPLIED = "2026-09-24T10:00:00-04:00"
CONNECTED = "2026-09-25T10:00:00-04:00"
INVITED = "2026-10-01T10:00:00-04:00"
DEADLINE = dt.datetime.fromisoformat("2027-03-03T21:00:00-05:00")
"""The rank list deadline of fixtures/calendars/2027.toml."""

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def local(text: str, timezone: str = NY) -> dt.datetime:
    """Wall-clock ``text`` (``2027-01-02T00:00``) in ``timezone``, as a UTC instant."""
    naive = dt.datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def iso(text: str) -> dt.datetime:
    """An ISO datetime with offset, as an aware datetime."""
    return dt.datetime.fromisoformat(text)


def start(
    store: Store,
    *,
    timezone: str = NY,
    now: dt.datetime = LATE,
    specialty: str = "Internal Medicine",
    visa: str = "j1",
    policy: dict[str, Any] | None = None,
    calendar: dict[str, str] | None = None,
    season_id: str = "s",
) -> Season:
    """A 2027 season judged by the full rulebook, with a fixed clock."""
    extra: dict[str, Any] = {}
    if policy is not None:
        extra["policy"] = policy
    if calendar is not None:
        extra["calendar"] = calendar
    return Season.start(
        store,
        season_id,
        at=STARTED,
        clock=engine.fixed_clock(now),
        rulebook=policies.Rulebook(),
        match_year=2027,
        specialty=specialty,
        timezone=timezone,
        visa=visa,
        applicant_name="Test",
        **extra,
    )


def add(season: Season, program: str, **fields: Any) -> None:
    """``program_added`` for ``program`` (fields as in DESIGN §2)."""
    season.record("program_added", program, at=ADDED, name=f"{program} Internal Medicine", **fields)


def applied(season: Season, program: str, *, connection: bool = True, **fields: Any) -> None:
    """Add ``program``, apply to it and (by default) record a genuine connection to it."""
    add(season, program, **fields)
    season.record("applied", program, at=APPLIED, via="eras")
    if connection:
        season.record("connection_recorded", program, at=CONNECTED, kind="observership")


def invited(season: Season, program: str, **fields: Any) -> None:
    """Add ``program`` and receive an invitation (no interview yet)."""
    add(season, program, **fields)
    season.record("invited", program, at=INVITED)


def interviewed(
    season: Season, program: str, when: dt.datetime | str, **fields: Any
) -> dt.datetime:
    """Add ``program``, get invited and interview at ``when``; return the interview instant."""
    invited(season, program, **fields)
    season.record("interviewed", program, at=when)
    return when if isinstance(when, dt.datetime) else iso(when)


def rules(verdict: Verdict | Any, severity: str | None = None) -> set[str]:
    """The rule ids among a verdict's (or a refusal's) findings, optionally of one severity."""
    return {f.rule for f in verdict.findings if severity is None or f.severity == severity}


def finding(verdict: Verdict, rule: str) -> Finding:
    """The one finding of ``rule`` in ``verdict``."""
    (found,) = [f for f in verdict.findings if f.rule == rule]
    return found


def log_only(store: Store, season_id: str, *, name: str, now: dt.datetime) -> Season:
    """A 2027 internal-medicine season in New York with no rulebook (only the state
    machine), for the store, crash and tamper tests that need a season but no rules."""
    return Season.start(
        store,
        season_id,
        at=STARTED,
        rulebook=engine.NoRules(),
        clock=engine.fixed_clock(now),
        match_year=2027,
        specialty="Internal Medicine",
        timezone=NY,
        visa="j1",
        applicant_name=name,
    )
