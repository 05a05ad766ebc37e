"""Season state and the mutator that applies one event to it ("evolve").

:func:`evolve` is the only place that changes state. It checks each event
against the per-program state machine (:mod:`prematch.engine._statemachine`) and raises
:class:`~prematch.engine._errors.StructuralError` for an event the machine does not allow.
Policies read this state; they never change it.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from prematch.engine._actions import MESSAGE_EVENTS
from prematch.engine._calendar import Calendar, calendar_for, season_margins
from prematch.engine._errors import InputError, StructuralError, UnknownProgramError
from prematch.engine._records import Record, utc_iso
from prematch.engine._statemachine import INITIAL, TABLE, needs, next_state, trigger_of

__all__ = ["AFTER_INTERVIEW", "Message", "News", "ProgramState", "SeasonState", "evolve"]

AFTER_INTERVIEW = ("interviewed", "ranked")
"""The states of a program interviewed at and still in the running."""


class Message(NamedTuple):
    """An applicant-initiated message to one program (a named tuple: replay makes many)."""

    action: str
    at: dt.datetime
    seq: int
    override: str | None
    news_seq: int | None = None
    """For an update: the news it told."""
    retold: bool = False
    """For an update: the program had already heard this news (only with an override)."""


class News(NamedTuple):
    """A real change in the applicant's file (``news_recorded``)."""

    seq: int
    kind: str
    detail: str
    at: dt.datetime


@dataclass(slots=True)
class ProgramState:
    """One program as replay leaves it.

    Its facts (``name`` to ``timezone``) are those of ``program_added`` as changed by every
    ``program_updated`` replayed so far: as of the instant the state is for.
    """

    id: str
    name: str
    added_at: dt.datetime
    specialty: str | None = None
    nrmp_participating: bool = True
    no_post_interview_contact: bool | None = None
    sponsors_visas: tuple[str, ...] | None = None
    timezone: str | None = None
    """The program's IANA timezone, if recorded (else the season's stands in)."""
    state: str = INITIAL
    applied_at: dt.datetime | None = None
    invited_at: dt.datetime | None = None
    interview_on: dt.date | None = None
    interviewed_at: dt.datetime | None = None
    interviewed_seq: int | None = None
    """The seq of the ``interviewed`` record (what a checklist finding points at)."""
    ended_at: dt.datetime | None = None
    connections: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    told_news: set[int] = field(default_factory=set)
    soap_contacts: list[dt.datetime] = field(default_factory=list)
    """When the program contacted the applicant saying it was during SOAP."""
    calls: tuple[dt.datetime, ...] = ()
    """When the applicant called the program (``call_held`` initiated by the applicant;
    tuples, as these are rare: most programs never pay for a list)."""
    signals: tuple[str, ...] = ()
    """The tier of each ``signal_sent`` to the program, in replay order."""

    def to_json(self) -> dict[str, Any]:
        """The program's facts, its state and its messages, as JSON (instants in UTC)."""
        return {
            "program": self.id,
            "name": self.name,
            "state": self.state,
            "specialty": self.specialty,
            "nrmp_participating": self.nrmp_participating,
            "no_post_interview_contact": self.no_post_interview_contact,
            "sponsors_visas": None if self.sponsors_visas is None else list(self.sponsors_visas),
            "timezone": self.timezone,
            "added_at": _iso(self.added_at),
            "applied_at": _iso(self.applied_at),
            "invited_at": _iso(self.invited_at),
            "interview_on": None if self.interview_on is None else self.interview_on.isoformat(),
            "interviewed_at": _iso(self.interviewed_at),
            "ended_at": _iso(self.ended_at),
            "connections": list(self.connections),
            "messages": [
                {"action": m.action, "at": utc_iso(m.at), "seq": m.seq, "override": m.override}
                for m in self.messages
            ],
            "signals": list(self.signals),
        }

    def sent(self, action: str) -> list[Message]:
        """The messages of one action sent to this program, oldest first."""
        return [m for m in self.messages if m.action == action]

    def interview_day(self, season_timezone: str) -> dt.date | None:
        """The interview's date as the program says it: ``interview_on`` when given, else
        the day it took place in the program's timezone (else in ``season_timezone``)."""
        if self.interview_on is not None:
            return self.interview_on
        if self.interviewed_at is None:
            return None
        return self.interviewed_at.astimezone(ZoneInfo(self.timezone or season_timezone)).date()


_DATED_WHEN_RECORDED = frozenset({"season_started", "event_retracted"})
"""Event types whose date is when the applicant recorded them, not part of the season."""


@dataclass(slots=True)
class SeasonState:
    """A whole season as replay leaves it."""

    id: str
    match_year: int
    specialty: str
    timezone: str
    visa: str
    applicant_name: str
    started_at: dt.datetime
    calendar: Calendar
    aamc_id: str | None = None
    ecfmg_id: str | None = None
    policy: dict[str, float | int] = field(default_factory=dict)
    programs: dict[str, ProgramState] = field(default_factory=dict)
    news: list[News] = field(default_factory=list)
    rank_order: tuple[str, ...] | None = None
    rank_certified_at: dt.datetime | None = None
    rank_certified_seq: int | None = None
    last_seq: int = 0
    sent_counts: dict[str, int] = field(default_factory=dict)
    """Messages sent so far, by action, over every program (kept as the fold goes)."""

    def to_json(self) -> dict[str, Any]:
        """The season's facts, its programs (:meth:`ProgramState.to_json`), its news and
        its rank order list, as JSON (instants in UTC)."""
        return {
            "season": self.id,
            "match_year": self.match_year,
            "specialty": self.specialty,
            "timezone": self.timezone,
            "visa": self.visa,
            "applicant_name": self.applicant_name,
            "started_at": utc_iso(self.started_at),
            "calendar_provisional": self.calendar.provisional,
            "last_seq": self.last_seq,
            "programs": [p.to_json() for p in self.programs.values()],
            "news": [
                {"seq": n.seq, "kind": n.kind, "detail": n.detail, "at": utc_iso(n.at)}
                for n in self.news
            ],
            "rank_order": None if self.rank_order is None else list(self.rank_order),
            "rank_certified_at": _iso(self.rank_certified_at),
        }

    @classmethod
    def start(cls, record: Record) -> SeasonState:
        """The state right after a ``season_started`` record."""
        p = record.payload
        overrides = p.get("calendar")
        calendar = calendar_for(
            int(p["match_year"]),
            {k: dt.datetime.fromisoformat(v) for k, v in overrides.items()} if overrides else None,
        )
        return cls(
            id=record.season,
            match_year=int(p["match_year"]),
            specialty=p["specialty"],
            timezone=p["timezone"],
            visa=p["visa"],
            applicant_name=p["applicant_name"],
            aamc_id=p.get("aamc_id"),
            ecfmg_id=p.get("ecfmg_id"),
            started_at=record.occurred_at,
            calendar=calendar,
            policy=dict(p.get("policy") or {}),
            last_seq=record.seq,
        )

    def span(self) -> tuple[dt.datetime, dt.datetime]:
        """When an event of this season is likely to happen, in UTC: from the start of the
        day ``season.opens_days_before`` days before applications open to the end of the
        day ``season.closes_days_after`` days after Match Day (days in the season's
        timezone; the numbers of its policy, or the defaults)."""
        before, after = season_margins(self.policy)
        zone = ZoneInfo(self.timezone)
        opens = self.calendar.applications_open.astimezone(zone).date()
        closes = self.calendar.match_day.astimezone(zone).date()
        first = dt.datetime.combine(opens - dt.timedelta(days=before), dt.time(), zone)
        end = dt.datetime.combine(closes + dt.timedelta(days=after + 1), dt.time(), zone)
        return first.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def out_of_season(self, moment: dt.datetime, kind: str = "") -> str | None:
        """What to check when an event of type ``kind`` dated ``moment`` falls outside
        :meth:`span` (a year mistyped, an old date copied), e.g. ``2025-09-24 is before the
        2027 Match's season (it opens 2026-06-01): check the year``; ``None`` inside it, and
        for the events dated when they are recorded (the start, a retraction). Never a
        refusal: the event may have happened then."""
        first, end = self.span()
        if first <= moment < end or kind in _DATED_WHEN_RECORDED:
            return None
        zone = ZoneInfo(self.timezone)
        day = moment.astimezone(zone).date()
        if moment < first:
            where, edge = "before", f"opens {first.astimezone(zone).date()}"
        else:
            where, edge = "after", f"closes {(end.astimezone(zone) - dt.timedelta(days=1)).date()}"
        return f"{day} is {where} the {self.match_year} Match's season (it {edge}): check the year"

    def program(self, program_id: str) -> ProgramState:
        """The program with this id, or :class:`UnknownProgramError`."""
        try:
            return self.programs[program_id]
        except KeyError:
            known = ", ".join(sorted(self.programs)) or "none yet"
            raise UnknownProgramError(
                f"season {self.id!r} has no program {program_id!r} (programs: {known})",
                field="program",
            ) from None

    def interviewed(self) -> list[ProgramState]:
        """The programs interviewed at and still in the running (``interviewed`` or
        ``ranked``), by id."""
        programs = [p for p in self.programs.values() if p.state in AFTER_INTERVIEW]
        programs.sort(key=_ID)
        return programs

    def untold_news(self, program_id: str) -> list[News]:
        """News not yet told to the program, oldest first."""
        told = self.programs[program_id].told_news
        return [n for n in self.news if n.seq not in told]

    def news_by_seq(self, seq: int) -> News | None:
        """The news recorded at ``seq``, if any."""
        return next((n for n in self.news if n.seq == seq), None)

    def intents(self) -> list[tuple[str, Message]]:
        """Every live letter of intent in the season: (program id, message)."""
        return [
            (p.id, m) for p in self.programs.values() for m in p.messages if m.action == "intent"
        ]


_ID = operator.attrgetter("id")


def _refuse(program: ProgramState, record: Record, why: str = "") -> StructuralError:
    event = record.type
    why = why or needs(event, trigger_of(event, record.payload))
    text = f"program {program.id!r} is {program.state!r}: {event!r} is not possible from there" + (
        f" ({why})" if why else ""
    )
    return StructuralError(text, program=program.id, state=program.state, event=event)


def _add_program(state: SeasonState, r: Record) -> None:
    assert r.program is not None  # guaranteed by PROGRAM_SCOPE validation
    if r.program in state.programs:
        existing = state.programs[r.program]
        raise StructuralError(
            f"program {r.program!r} is already in season {state.id!r} (it is "
            f"{existing.state!r}): 'program_added' is not possible again",
            program=r.program,
            state=state.programs[r.program].state,
            event=r.type,
        )
    p = r.payload
    visas = p.get("sponsors_visas")
    # Positional, in field order (id, name, added_at, specialty, nrmp_participating,
    # no_post_interview_contact, sponsors_visas, timezone): keywords cost a fifth of a
    # season's fold of programs added.
    state.programs[r.program] = ProgramState(
        r.program,
        p["name"],
        r.occurred_at,
        p.get("specialty"),
        p.get("nrmp_participating", True),
        p.get("no_post_interview_contact"),
        None if visas is None else tuple(visas),
        p.get("timezone"),
    )


def _certify(state: SeasonState, r: Record) -> None:
    order: list[str] = r.payload["order"]
    for pid in order:
        program = state.program(pid)
        if next_state(program.state, "rank") is None:
            raise _refuse(program, r, "only interviewed programs can be ranked")
    for pid in order:
        state.programs[pid].state = "ranked"
    for program in state.programs.values():
        if program.state == "ranked" and program.id not in order:
            program.state = "interviewed"
    state.rank_order = tuple(order)
    state.rank_certified_at = r.occurred_at
    state.rank_certified_seq = r.seq


def _record_news(state: SeasonState, r: Record) -> None:
    p = r.payload
    state.news.append(News(seq=r.seq, kind=p["kind"], detail=p["detail"], at=r.occurred_at))


def _program_event(state: SeasonState, r: Record) -> None:
    program = state.programs.get(r.program or "")
    if program is None:
        program = state.program(r.program or "")  # raises UnknownProgramError
    kind = r.type
    # Most event types are their own trigger; the others pick one by their payload.
    target = TABLE.get((program.state, kind)) or TABLE.get(
        (program.state, trigger_of(kind, r.payload))
    )
    if target is None:
        raise _refuse(program, r)
    action = _MESSAGES.get(kind)
    if action is not None:
        news_seq = r.payload.get("news_seq") if kind == "update_sent" else None
        retold = news_seq is not None and news_seq in program.told_news
        if news_seq is not None:
            if state.news_by_seq(news_seq) is None:
                raise InputError(
                    f"season {state.id!r} has no recorded news with seq {news_seq} "
                    "(its history lists the news it has)",
                    field="news_seq",
                )
            program.told_news.add(news_seq)
        program.messages.append(
            _new_tuple(Message, (action, r.occurred_at, r.seq, r.override, news_seq, retold))
        )
        state.sent_counts[action] = state.sent_counts.get(action, 0) + 1
    else:
        after = _AFTER.get(kind)
        if after is not None:
            after(program, r)
    program.state = target


_MESSAGES = dict(MESSAGE_EVENTS)
"""The message event types and their actions (a plain dict: looked up for every event)."""

_new_tuple = tuple.__new__
# tuple.__new__ skips Message.__new__'s argument handling: a season holds many messages.


def _applied(program: ProgramState, r: Record) -> None:
    program.applied_at = r.occurred_at


def _invited(program: ProgramState, r: Record) -> None:
    program.invited_at = r.occurred_at
    on = r.payload.get("interview_on")
    program.interview_on = dt.date.fromisoformat(on) if on else None


def _interviewed(program: ProgramState, r: Record) -> None:
    program.interviewed_at = r.occurred_at
    program.interviewed_seq = r.seq


def _ended(program: ProgramState, r: Record) -> None:
    program.ended_at = r.occurred_at


def _rescheduled(program: ProgramState, r: Record) -> None:
    program.interview_on = dt.date.fromisoformat(r.payload["interview_on"])


def _cancelled(program: ProgramState, r: Record) -> None:
    if r.payload["initiated_by"] == "applicant":
        program.ended_at = r.occurred_at
    else:  # back to applied: no invitation, no interview date, until it invites again
        program.invited_at = None
        program.interview_on = None


_FACTS = ("name", "specialty", "nrmp_participating", "no_post_interview_contact", "timezone")
"""The facts ``program_updated`` replaces as they are (``sponsors_visas`` is a tuple; the
``contacts`` and ``code`` are kept in the log, read by no rule)."""


def _updated(program: ProgramState, r: Record) -> None:
    p = r.payload
    for name in _FACTS:
        if name in p:
            setattr(program, name, p[name])
    if "sponsors_visas" in p:
        program.sponsors_visas = tuple(p["sponsors_visas"])


def _connection(program: ProgramState, r: Record) -> None:
    program.connections.append(r.payload["kind"])


def _call(program: ProgramState, r: Record) -> None:
    if r.payload["initiated_by"] == "applicant":
        program.calls += (r.occurred_at,)


def _signal(program: ProgramState, r: Record) -> None:
    program.signals += (r.payload["tier"],)


def _contacted(program: ProgramState, r: Record) -> None:
    if r.payload.get("during_soap"):
        program.soap_contacts.append(r.occurred_at)


_AFTER: dict[str, Callable[[ProgramState, Record], None]] = {
    "applied": _applied,
    "invited": _invited,
    "interviewed": _interviewed,
    "rejected": _ended,
    "declined": _ended,
    "withdrawn": _ended,
    "connection_recorded": _connection,
    "program_contacted": _contacted,
    "call_held": _call,
    "signal_sent": _signal,
    "interview_rescheduled": _rescheduled,
    "interview_cancelled": _cancelled,
    "program_updated": _updated,
}
"""What each non-message program event records beyond its state change."""


def _season_started(state: SeasonState, r: Record) -> None:
    raise StructuralError(
        f"season {state.id!r} has already started; a season has one season_started",
        event=r.type,
    )


def _note(state: SeasonState, r: Record) -> None:
    if r.program is not None:  # a season note changes nothing
        _program_event(state, r)


def _retracted(state: SeasonState, r: Record) -> None:
    """Nothing: a retraction is honoured by replay before folding."""


_SEASON_EVENTS: dict[str, Callable[[SeasonState, Record], None]] = {
    "program_added": _add_program,
    "news_recorded": _record_news,
    "rank_certified": _certify,
    "season_started": _season_started,
    "event_retracted": _retracted,
    "note_added": _note,
}
"""The event types applied to the season itself (or that may be); every other one is a
program's event, applied through the state machine."""


def evolve(state: SeasonState, record: Record) -> None:
    """Apply one record to ``state`` in place; raise :class:`StructuralError` if not allowed."""
    apply = _SEASON_EVENTS.get(record.type, _program_event)
    apply(state, record)
    if record.seq > state.last_seq:
        state.last_seq = record.seq


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else utc_iso(moment)
