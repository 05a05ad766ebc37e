"""``prematch calendar``: the season's dates as an iCalendar file (RFC 5545, via icalendar).

What goes in: each program's thank-you due time and the opening of its letter of
interest window (the ``due_by`` and ``opens_at`` of the engine's verdicts as of the
clock), the season's one letter of intent window (``now``'s season-level item; UID
``<season>-intent@prematch``), and the NRMP dates of the season's calendar. Every event has
a stable UID (``<season>-<program>-<action>@prematch``), so importing a newer file updates
the same events; one that no longer applies comes back as ``CANCELLED``: sent (dated when
it was sent), or blocked for good (no window left: dated at the interview).
Times carry the season's timezone (with its ``VTIMEZONE``); a program's entries name its
interview by the date the program gives it (``ProgramState.interview_day``: the invitation's
``interview_on``, else the day in the program's timezone), not the applicant's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from prematch.engine import NowItem, NowReport, SeasonState

__all__ = ["CalendarEntry", "calendar_entries", "season_ics"]

EVENT_LENGTH = dt.timedelta(minutes=30)
"""How long each event lasts in a calendar view (they mark instants)."""

_SEASON_DATES = (
    ("rank_list_opens", "Rank order list entry opens (NRMP)"),
    ("rank_list_deadline", "Rank order list certification deadline (NRMP)"),
    ("match_week_start", "Match Week begins: SOAP, no contact you start (NRMP)"),
    ("match_day", "Match Day (NRMP)"),
)
_WHAT = {
    "thank_you": ("Thank-you due", "Thank-you sent", "No thank-you"),
    "interest": (
        "Letter of interest window opens",
        "Letter of interest sent",
        "No letter of interest",
    ),
}
_INTENT = ("Letter of intent window opens", "Letter of intent sent", "No letter of intent")


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One calendar event before it is written."""

    uid: str
    summary: str
    start: dt.datetime
    description: str
    cancelled: bool = False


def _entry(state: SeasonState, item: NowItem) -> CalendarEntry | None:
    v = item.verdict
    if v.action not in _WHAT or v.program is None:
        return None
    program = state.programs[v.program]
    sent_at = [m.at for m in program.sent(v.action)]
    moment = v.due_by if v.action == "thank_you" else v.opens_at
    if moment is None:  # no window left: when it was sent, else the interview it was for
        moment = sent_at[0] if sent_at else program.interviewed_at
    if moment is None:
        return None
    due, sent, blocked = _WHAT[v.action]
    already = bool(sent_at)
    cancelled = item.status == "blocked"
    title = sent if already else blocked if cancelled else due
    notes = [f"{f.severity} {f.rule}: {f.message}" for f in v.findings]
    if v.closes_at is not None and not cancelled:
        notes.insert(0, f"Closes at the rank list deadline ({v.closes_at.isoformat()}).")
    day = program.interview_day(state.timezone)
    if day is not None:
        notes.insert(0, f"Interview on {day:%B} {day.day}, {day.year} (the program's date).")
    return CalendarEntry(
        uid=f"{state.id}-{v.program}-{v.action}@prematch",
        summary=f"{title}: {program.name}",
        start=moment,
        description="\n".join(notes) or "Allowed by the rulebook.",
        cancelled=cancelled,
    )


def _intent_entry(state: SeasonState, report: NowReport) -> CalendarEntry | None:
    item = next((i for i in report.season_items if i.verdict.action == "intent"), None)
    if item is None:
        return None
    v = item.verdict
    intents = state.intents()
    moment = v.opens_at or (intents[0][1].at if intents else None)
    if moment is None:
        return None
    due, sent, blocked = _INTENT
    cancelled = item.status == "blocked"
    title = sent if intents else blocked if cancelled else due
    to = intents[0][0] if intents else v.program
    name = f": {state.programs[to].name}" if to is not None else ""
    notes = [f"{f.severity} {f.rule}: {f.message}" for f in v.findings]
    notes.insert(
        0, "One letter of intent in the season, to one program, once every interview is done."
    )
    return CalendarEntry(
        uid=f"{state.id}-intent@prematch",
        summary=f"{title}{name}",
        start=moment,
        description="\n".join(notes),
        cancelled=cancelled,
    )


def calendar_entries(state: SeasonState, report: NowReport) -> Iterator[CalendarEntry]:
    """The events of the season's calendar, soonest first."""
    entries = [e for item in report.items if (e := _entry(state, item)) is not None]
    intent = _intent_entry(state, report)
    if intent is not None:
        entries.append(intent)
    cal = state.calendar
    caveat = f" Provisional: {cal.source}; verify with NRMP." if cal.provisional else ""
    for name, title in _SEASON_DATES:
        entries.append(
            CalendarEntry(
                uid=f"{state.id}-{name}@prematch",
                summary=title,
                start=getattr(cal, name),
                description=f"The {cal.match_year} Main Residency Match.{caveat}",
            )
        )
    yield from sorted(entries, key=lambda e: (e.start, e.uid))


def season_ics(state: SeasonState, report: NowReport, stamp: dt.datetime) -> bytes:
    """The iCalendar file of the season as of ``report.as_of`` (``stamp`` = DTSTAMP)."""
    import icalendar

    zone = ZoneInfo(state.timezone)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//prematch//season calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"prematch: {state.id}")
    cal.add("x-wr-timezone", state.timezone)
    for entry in calendar_entries(state, report):
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("dtstart", entry.start.astimezone(zone))
        event.add("dtend", (entry.start + EVENT_LENGTH).astimezone(zone))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    if hasattr(cal, "add_missing_timezones"):
        cal.add_missing_timezones()
    return bytes(cal.to_ical())
