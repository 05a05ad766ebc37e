"""Synthetic seasons for benchmarks: realistic, seeded, and valid under the rulebook.

Each season is an internal-medicine applicant of the 2027 Match with about 20
programs: applications, invitations, interviews with timely thank-yous, one piece
of news told to the programs interviewed so far, letters of interest to three
programs, one letter of intent, and a certified rank list that puts the intent
program first. Times are spread so that every default rule is respected.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from zoneinfo import ZoneInfo

TZ = "America/New_York"
_ZONE = ZoneInfo(TZ)
CLOCK = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)
"""A clock late enough for every synthetic event."""


def _at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=_ZONE)


def _line(
    event: str, at: dt.datetime, season: str, program: str | None = None, **payload: object
) -> str:
    obj: dict[str, object] = {"type": event, "season": season, "at": at.isoformat()}
    if program is not None:
        obj["program"] = program
    obj.update(payload)
    return json.dumps(obj, separators=(",", ":"))


def season_lines(index: int, seed: int = 2027, programs: int = 20) -> list[str]:
    """The JSONL lines of one synthetic season (about 100 events)."""
    rng = random.Random(seed * 1_000_003 + index)
    sid = f"syn-{index:06d}"
    out = [
        _line(
            "season_started",
            _at(9, 20, 10),
            sid,
            match_year=2027,
            specialty="Internal Medicine",
            timezone=TZ,
            visa=rng.choice(["j1", "h1b", "none"]),
            applicant_name=f"Applicant {index}",
            aamc_id=f"{14000000 + index}",
        )
    ]
    ids = [f"p{n:02d}" for n in range(programs)]
    for n, pid in enumerate(ids):
        out.append(_line("program_added", _at(9, 21, 9, n), sid, pid, name=f"Program {n}"))
        out.append(_line("applied", _at(9, 24, 9, n), sid, pid, via="eras"))
    connected = rng.sample(ids, 2)
    for n, pid in enumerate(connected):
        out.append(_line("connection_recorded", _at(9, 25, 10, n), sid, pid, kind="observership"))
        out.append(_line("inquiry_sent", _at(10, 20 + n, 11), sid, pid))
    invited = rng.sample(ids, 12)
    interviews: dict[str, dt.datetime] = {}
    for pid in invited:
        invite = _at(10, 1, 9) + dt.timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
        if pid in connected:  # the inquiry (20-21 October) came first
            invite = max(invite, _at(10, 25, 9))
        interview = (invite + dt.timedelta(days=rng.randint(14, 40))).replace(hour=9, minute=0)
        interview = min(interview, _at(1, 20, 9, year=2027))
        interviews[pid] = interview
        out.append(_line("invited", invite, sid, pid, interview_on=interview.date().isoformat()))
        out.append(_line("interviewed", interview, sid, pid))
        out.append(_line("thanked", interview + dt.timedelta(hours=rng.randint(3, 40)), sid, pid))
    for pid in rng.sample([p for p in ids if p not in invited], 5):
        out.append(
            _line("rejected", _at(11, 1, 12) + dt.timedelta(days=rng.randint(0, 40)), sid, pid)
        )
    news_at = _at(12, 10, 8)
    out.append(_line("news_recorded", news_at, sid, kind="exam", detail="Passed USMLE Step 3"))
    told = [p for p, t in interviews.items() if t < news_at - dt.timedelta(days=3)]
    for n, pid in enumerate(told):
        out.append(_line("update_sent", news_at + dt.timedelta(days=1, minutes=n), sid, pid))
    ranked = sorted(interviews, key=lambda p: interviews[p])
    rng.shuffle(ranked)
    intent, interest = ranked[0], ranked[1:4]
    for n, pid in enumerate(interest):
        start = max(interviews[pid] + dt.timedelta(days=15), _at(1, 4, 10, year=2027))
        out.append(_line("interest_sent", start + dt.timedelta(hours=n), sid, pid))
    out.append(_line("intent_sent", _at(2, 10, 10, year=2027), sid, intent))
    out.append(_line("rank_certified", _at(2, 20, 20, year=2027), sid, order=ranked))
    return out


def lines(seasons: int, seed: int = 2027, first: int = 0) -> Iterator[str]:
    """The lines of ``seasons`` synthetic seasons, one season after another (numbered from
    ``first``: seasons numbered apart have different ids and can share a store)."""
    for index in range(first, first + seasons):
        yield from season_lines(index, seed)
