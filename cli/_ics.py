"""``prematch calendar``: the season's dates as an iCalendar file (RFC 5545, via icalendar).

What goes in, every event with a stable UID so that importing a newer file updates the
same events instead of adding copies (``SEQUENCE`` grows with the clock of each export):

- each interview (``<season>-<program>-interview@prematch``): at the time it took place,
  in the program's timezone, once recorded; before that, the day the invitation gives
  (``interview_on``) as an all-day event;
- each message sent, as a past event on the day and time it was sent: the first
  thank-you and letter of interest to a program take over the UID of their due date or
  window (``<season>-<program>-thank_you|interest@prematch``), the letter of intent the
  season's (``<season>-intent@prematch``), any other message its own
  (``<season>-seq<seq>@prematch``);
- what is still to send: a thank-you's due time (an alarm 12 h before it), the opening of
  a letter of interest window and of the season's one letter of intent window (the
  engine's verdicts as of the clock); a window that can no longer open keeps its title and
  comes back ``CANCELLED``;
- the NRMP dates of the season's calendar (the rank list deadline with alarms 48 h and
  2 h before it).

There is no "No …" event: what cannot happen is not an event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from prematch.engine import NowItem, NowReport, ProgramState, SeasonState

__all__ = ["ALARMS", "CalendarEntry", "calendar_entries", "season_ics"]

EVENT_LENGTH = dt.timedelta(minutes=30)
"""How long each event lasts in a calendar view (they mark instants)."""

INTERVIEW_LENGTH = dt.timedelta(hours=1)
"""How long an interview event lasts (the log records when it started)."""

ALARMS: dict[str, tuple[dt.timedelta, ...]] = {
    "thank_you": (dt.timedelta(hours=12),),
    "rank_list_deadline": (dt.timedelta(hours=48), dt.timedelta(hours=2)),
}
"""The reminders (``VALARM``), how long before the event: a thank-you's due time, the
rank list deadline."""

_SEASON_DATES = (
    ("rank_list_opens", "Rank order list entry opens (NRMP)"),
    ("rank_list_deadline", "Rank order list certification deadline (NRMP)"),
    ("match_week_start", "Match Week begins: SOAP, no contact you start (NRMP)"),
    ("match_day", "Match Day (NRMP)"),
)
_SENT = {
    "thank_you": "Thank-you sent",
    "interest": "Letter of interest sent",
    "intent": "Letter of intent sent",
    "update": "Update sent",
    "inquiry": "Inquiry sent",
}
_OWN_UID = ("thank_you", "interest")
"""Actions whose first message takes over the UID of its due date or window."""


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One calendar event before it is written: at ``start`` (an instant, shown in
    ``timezone``), or all day on ``day``."""

    uid: str
    summary: str
    description: str
    start: dt.datetime | None = None
    day: dt.date | None = None
    timezone: str | None = None
    length: dt.timedelta = EVENT_LENGTH
    alarms: tuple[dt.timedelta, ...] = ()
    cancelled: bool = False

    @property
    def sort_key(self) -> tuple[dt.datetime, str]:
        """When it is (an all-day event: its midnight UTC), then its UID."""
        if self.start is not None:
            return self.start, self.uid
        assert self.day is not None
        return dt.datetime.combine(self.day, dt.time(), dt.UTC), self.uid


def _uid(state: SeasonState, *parts: str) -> str:
    return "-".join((state.id, *parts)) + "@prematch"


def _interview(state: SeasonState, pid: str, p: ProgramState) -> CalendarEntry | None:
    uid = _uid(state, pid, "interview")
    zone = p.timezone or state.timezone
    if p.interviewed_at is not None:
        return CalendarEntry(
            uid,
            f"Interview: {p.name}",
            "The interview, as recorded.",
            start=p.interviewed_at,
            timezone=zone,
            length=INTERVIEW_LENGTH,
        )
    if p.interview_on is None:
        return None
    cancelled = p.state != "invited"  # declined, withdrawn or rejected before it took place
    return CalendarEntry(
        uid,
        f"Interview: {p.name}",
        "The interview day the invitation gives (log the time with `prematch log interviewed`).",
        day=p.interview_on,
        cancelled=cancelled,
    )


def _after_interview(state: SeasonState, p: ProgramState, text: str) -> str:
    """``text`` after the interview's date as the program gives it (when there is one)."""
    day = p.interview_day(state.timezone)
    if day is None:
        return text
    return f"Interview on {day:%B} {day.day}, {day.year} (the program's date).\n{text}".strip()


def _sent(state: SeasonState, pid: str, p: ProgramState) -> Iterator[CalendarEntry]:
    first: set[str] = set()
    for m in p.messages:
        if m.action == "intent":
            uid = _uid(state, "intent")
        elif m.action in _OWN_UID and m.action not in first:
            uid = _uid(state, pid, m.action)
        else:
            uid = _uid(state, f"seq{m.seq}")
        first.add(m.action)
        note = f"Sent (seq {m.seq})" + (
            f"; recorded with an override: {m.override}" if m.override else ""
        )
        if m.action in _OWN_UID:
            note = _after_interview(state, p, note + ".")
        else:
            note += "."
        yield CalendarEntry(uid, f"{_SENT.get(m.action, m.action)}: {p.name}", note, start=m.at)


def _notes(item: NowItem) -> str:
    return "\n".join(f"{f.severity} {f.rule}: {f.message}" for f in item.verdict.findings)


def _to_send(state: SeasonState, item: NowItem) -> CalendarEntry | None:
    """A thank-you's due time, or a letter of interest window's opening, not sent yet."""
    v = item.verdict
    if v.program is None or v.action not in _OWN_UID:
        return None
    p = state.programs[v.program]
    if p.sent(v.action):
        return None  # the message took over the UID
    cancelled = item.status == "blocked"
    if v.action == "thank_you":
        if v.due_by is None:
            return None
        return CalendarEntry(
            _uid(state, v.program, "thank_you"),
            f"Thank-you due: {p.name}",
            _after_interview(state, p, _notes(item) or "A thank-you is expected by then."),
            start=v.due_by,
            alarms=() if cancelled else ALARMS["thank_you"],
            cancelled=cancelled,
        )
    if v.opens_at is None:
        return None
    closes = "" if v.closes_at is None else f"Open until {v.closes_at.isoformat()}.\n"
    return CalendarEntry(
        _uid(state, v.program, "interest"),
        f"Letter of interest window opens: {p.name}",
        _after_interview(
            state,
            p,
            (closes + _notes(item)).strip() or "A letter of interest may be sent from then.",
        ),
        start=v.opens_at,
        cancelled=cancelled,
    )


def _intent(state: SeasonState, report: NowReport) -> CalendarEntry | None:
    if state.intents():
        return None  # the letter sent took over the UID
    item = next((i for i in report.season_items if i.verdict.action == "intent"), None)
    if item is None or item.verdict.opens_at is None:
        return None
    v = item.verdict
    name = f": {state.programs[v.program].name}" if v.program is not None else ""
    notes = "One letter of intent in the season, to one program, once every interview is done."
    return CalendarEntry(
        _uid(state, "intent"),
        f"Letter of intent window opens{name}",
        "\n".join(filter(None, (notes, _notes(item)))),
        start=v.opens_at,
        cancelled=item.status == "blocked",
    )


def calendar_entries(state: SeasonState, report: NowReport) -> Iterator[CalendarEntry]:
    """The events of the season's calendar, soonest first."""
    entries: list[CalendarEntry] = []
    for pid, p in state.programs.items():
        interview = _interview(state, pid, p)
        if interview is not None:
            entries.append(interview)
        entries.extend(_sent(state, pid, p))
    entries.extend(e for item in report.items if (e := _to_send(state, item)) is not None)
    intent = _intent(state, report)
    if intent is not None:
        entries.append(intent)
    cal = state.calendar
    caveat = f" Provisional: {cal.source}; verify with NRMP." if cal.provisional else ""
    for name, title in _SEASON_DATES:
        entries.append(
            CalendarEntry(
                _uid(state, name),
                title,
                f"The {cal.match_year} Main Residency Match.{caveat}",
                start=getattr(cal, name),
                alarms=ALARMS.get(name, ()),
            )
        )
    yield from sorted(entries, key=lambda e: e.sort_key)


def season_ics(state: SeasonState, entries: Sequence[CalendarEntry], stamp: dt.datetime) -> bytes:
    """The iCalendar file of the season's ``entries`` (see :func:`calendar_entries`;
    ``stamp`` = DTSTAMP; the minutes from the season's start to it are each event's
    ``SEQUENCE``, so that a later export supersedes an earlier one)."""
    import icalendar

    sequence = max(0, int((stamp - state.started_at).total_seconds() // 60))
    cal = icalendar.Calendar()
    cal.add("prodid", "-//prematch//season calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"prematch: {state.id}")
    cal.add("x-wr-timezone", state.timezone)
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("sequence", sequence)
        if entry.start is not None:
            zone = ZoneInfo(entry.timezone or state.timezone)
            event.add("dtstart", entry.start.astimezone(zone))
            event.add("dtend", (entry.start + entry.length).astimezone(zone))
        else:
            assert entry.day is not None
            event.add("dtstart", entry.day)
            event.add("dtend", entry.day + dt.timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        for before in entry.alarms:
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", entry.summary)
            alarm.add("trigger", -before)
            event.add_component(alarm)
        cal.add_component(event)
    if hasattr(cal, "add_missing_timezones"):
        cal.add_missing_timezones()
    return bytes(cal.to_ical())
