"""What every rule receives (:class:`Ask`) and returns (:class:`Say` or a window).

A rule is a pure function ``Ask -> Iterable[Say | Window]``; :class:`Rule` binds
it to its contract id and its source, which the registry stamps on each finding. The
rulebook's own rules return a tuple or a list (``()`` when they find nothing, as for
most events of an audit), not a generator: an audit calls a couple of rules per event,
and a generator object per call costs more than the tuple.
Instants that depend only on the season (deadline, windows of the calendar year)
are computed once per season in a :class:`Frame`, in the season's timezone.
pendulum is imported only for a day that starts in a change of UTC offset: ``prematch
now`` never pays for its import otherwise.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from prematch.engine import Calendar, ProgramState, SeasonState, Severity, Window
from prematch.policies._params import Params, params_for

if TYPE_CHECKING:
    import pendulum

__all__ = [
    "GUIDE",
    "NRMP",
    "Ask",
    "Frame",
    "Rule",
    "Say",
    "add_days",
    "add_hours",
    "block",
    "info",
    "local",
    "specialty_of",
    "warn",
]

GUIDE = "guide: Essential Pre-Match Communication Strategies for IMGs"
NRMP = "NRMP Match Participation Agreement"


class Say(NamedTuple):
    """A rule's judgement before the registry names it: severity and message.

    ``final`` marks a block that no later instant lifts (a ``*.once`` used, a season
    limit reached, a no-contact request, the deadline passed): the verdict then shows no
    window. ``program`` and ``seq`` name the program and the event a finding is about
    when the judged event or question has none of its own (a rank list, the checklist).
    ``source``, when the data a rule read names its own (a specialty's recommendations),
    replaces the rule's. A named tuple: an audit makes one per finding, and a frozen
    dataclass costs twice as much to build.
    """

    severity: Severity
    message: str
    final: bool = False
    program: str | None = None
    seq: int | None = None
    source: str | None = None


def block(message: str, *, final: bool = False, program: str | None = None) -> Say:
    """A block-level judgement (``final``: no later instant lifts it)."""
    return Say("block", message, final, program)


def warn(message: str, *, program: str | None = None, seq: int | None = None) -> Say:
    """A warning."""
    return Say("warn", message, False, program, seq)


def info(message: str, *, source: str | None = None) -> Say:
    """Information only (``source``: the data's own, if it names one)."""
    return Say("info", message, source=source)


def _std(moment: pendulum.DateTime) -> dt.datetime:
    utc = moment.in_timezone("UTC")
    return dt.datetime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
        tzinfo=dt.UTC,
    )


def add_hours(moment: dt.datetime, hours: int) -> dt.datetime:
    """``moment`` plus real elapsed hours (48 h across a DST change is still 48 h).

    The sum is taken in UTC: on a ``ZoneInfo`` datetime, ``+ timedelta`` would be
    wall-clock arithmetic and give 49 real hours across the end of DST.
    """
    if moment.tzinfo is not dt.UTC:  # replayed instants are UTC already
        moment = moment.astimezone(dt.UTC)
    return moment + _hours(hours)


@lru_cache(maxsize=64)
def _hours(hours: int) -> dt.timedelta:
    return dt.timedelta(hours=hours)


def add_days(moment: dt.datetime, days: int, timezone: str) -> dt.datetime:
    """``moment`` plus calendar days in ``timezone`` (same wall-clock time, DST-aware).

    Aware-datetime arithmetic in a ``ZoneInfo`` is wall-clock arithmetic, the same
    as pendulum's ``add(days=...)`` (a property test holds them equal) at a fortieth
    of the cost; this runs for every judged message in an audit.
    """
    if days == 0:
        return moment.astimezone(dt.UTC)
    zone = _zone(timezone)
    first = moment.astimezone(zone) + dt.timedelta(days=days)  # wall clock; fold=0
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset():
        # The wall time is in a DST overlap (it happens twice: take the second, as
        # pendulum does) or in a gap (it never happens: fold=0, as pendulum does).
        later = second.astimezone(dt.UTC)
        if later.astimezone(zone).replace(tzinfo=None) == first.replace(tzinfo=None):
            return later
    return first.astimezone(dt.UTC)


@lru_cache(maxsize=64)
def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(timezone)


def local_day_start(year: int, month: int, day: int, timezone: str) -> dt.datetime:
    """Midnight at the start of a calendar day in ``timezone``, as pendulum gives it.

    A midnight that happens once is read with ``zoneinfo``; one in a change of UTC offset
    (it never happens, or happens twice: some zones change at 00:00) is left to pendulum,
    whose rule holds (a property test holds the two equal).
    """
    midnight = dt.datetime(year, month, day, tzinfo=_zone(timezone))
    if midnight.utcoffset() == midnight.replace(fold=1).utcoffset():
        return midnight.astimezone(dt.UTC)
    import pendulum  # a few zones, a few days: not worth its import for every season

    return _std(pendulum.datetime(year, month, day, tz=timezone))


def local(moment: dt.datetime, timezone: str) -> str:
    """A short human form of ``moment`` in ``timezone`` (``Tue 5 Jan 2027 14:00 EST``)."""
    here = moment.astimezone(_zone(timezone))  # cached zone: pendulum reloads it each call
    return f"{here:%a} {here.day} {here:%b %Y %H:%M %Z}"


def specialty_of(state: SeasonState, program: ProgramState) -> str:
    """The program's specialty, else the season's: what a specialty's defaults and signal
    numbers are looked up by."""
    return program.specialty or state.specialty


@dataclass(frozen=True, slots=True)
class Frame:
    """Season-wide instants, computed once per (calendar, timezone, parameters)."""

    timezone: str
    calendar: Calendar
    params: Params
    deadline: dt.datetime
    interest_opens: dt.datetime
    interest_closes: dt.datetime
    inquiry_opens: dt.datetime
    inquiry_late: dt.datetime
    inquiry_closes: dt.datetime
    checklist_opens: dt.datetime
    """``checklist.days_before_deadline`` days before the deadline: the final checklist
    is due from then on."""

    @staticmethod
    def of(state: SeasonState) -> Frame:
        """The frame of a season; raises ``InputError`` if its policy overrides make no sense.

        Frames are cached by (calendar, timezone, policy): seasons alike share one.
        """
        policy = tuple(sorted(state.policy.items()))
        return _frame(state.calendar, state.timezone, policy)


@lru_cache(maxsize=256)
def _frame(calendar: Calendar, timezone: str, policy: tuple[tuple[str, float | int], ...]) -> Frame:
    params = params_for(dict(policy))
    year = calendar.match_year
    deadline = calendar.rank_list_deadline.astimezone(dt.UTC)

    def day_after(month: int, day: int, y: int) -> dt.datetime:
        return add_days(local_day_start(y, month, day, timezone), 1, timezone)

    return Frame(
        timezone=timezone,
        calendar=calendar,
        params=params,
        deadline=deadline,
        interest_opens=local_day_start(
            year, params["interest.window_open_month"], params["interest.window_open_day"], timezone
        ),
        interest_closes=add_days(deadline, -params["interest.window_close_days"], timezone),
        inquiry_opens=local_day_start(
            year - 1, params["inquiry.open_month"], params["inquiry.open_day"], timezone
        ),
        inquiry_late=day_after(params["inquiry.late_month"], params["inquiry.late_day"], year - 1),
        inquiry_closes=day_after(params["inquiry.close_month"], params["inquiry.close_day"], year),
        checklist_opens=add_days(deadline, -params["checklist.days_before_deadline"], timezone),
    )


class Ask(NamedTuple):
    """One question to the rules: may ``action`` go to ``program`` at ``at``?

    ``detail`` is the payload of the event being judged (empty for a plain question).
    For season-level events (``rank_certified``) ``program`` is ``None``. A named
    tuple, because an audit asks once per message in the store.
    """

    state: SeasonState
    program: ProgramState | None
    action: str
    at: dt.datetime
    frame: Frame
    detail: Mapping[str, Any]

    @property
    def params(self) -> Params:
        """The season's rulebook numbers."""
        return self.frame.params

    @property
    def target(self) -> ProgramState:
        """The program asked about (rules for program actions only)."""
        if self.program is None:
            raise ValueError(f"{self.action} has no program")
        return self.program

    def when(self, moment: dt.datetime) -> str:
        """``moment`` in the season's timezone, for messages."""
        return local(moment, self.frame.timezone)


Check = Callable[[Ask], Iterable["Say | Window"]]
Turns = Callable[[SeasonState, Frame], Iterable[dt.datetime]]
"""When a season-wide rule's answer may change for a given state (see :class:`Rule`)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule: its contract id (DESIGN §5), its source, and the check that judges.

    ``advice``: the rule speaks to a question (``now``, ``check``), before something is
    sent, and never about an event recorded (admission, audit): advice that would only
    repeat itself at every such event of a season.

    ``turns`` (for a rule of a season-wide question, such as the checklist): the
    instants at which its answer may change while the season's state stays the same
    (``()``: never); ``None``, the default, says it may change at any instant, so its
    answer is judged afresh at every audit instead of kept in the findings projection.

    ``due``: the check may give a window with a ``due_by`` (a deadline). A question no
    such rule judges is never due, and a summary's next deadline does not ask it; a
    window with a ``due_by`` from a rule without ``due`` is an error.
    """

    id: str
    source: str
    check: Check
    advice: bool = False
    turns: Turns | None = None
    due: bool = False
