"""A season as a history: the one builder the tests share.

A test reads as a season, then a question. :class:`History` holds the season's opening
(match year, specialty, timezone, visa, name, policy and calendar overrides) and its
events, each helper returning a new history::

    mercy = History().apply("mercy").interview("mercy", "2026-11-10T09:00-05:00")
    season = mercy.season()                      # in memory, judged by the full rulebook
    assert season.check("thank_you", "mercy").outcome == "allowed"

The same history becomes

1. a :class:`~prematch.engine.Season` with no disk: :meth:`History.season` without a
   store writes to :meth:`Store.memory` (pure replay + judge; :meth:`History.state` and
   :meth:`History.judge` ask it directly);
2. a :class:`~prematch.engine.Season` in any given :class:`~prematch.engine.Store`
   (:meth:`History.season` with ``store``), for the recorder and store suites;
3. the ``prematch`` command lines that record it (:meth:`History.argv`), for
   :class:`prematch_script.Script`.

The ``season_of`` fixture of ``conftest.py`` is the same builder for the store suites:
``season_of(store, [(type, program, at, fields), ...], clock)``.

Every instant is pinned: the default clock is late in the 2027 Match season (after
SOAP), so any date a test writes is already in the past, whatever today's date is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from prematch import engine, policies
from prematch.engine import Finding, Season, SeasonState, Store, Verdict

SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
"""Where throwaway season files go (``tempfile``'s ``dir``): real SQLite files, on a RAM
disk where there is one (fsync is most of the cost of a write, and the property tests
write thousands of times)."""

NY = "America/New_York"
LA = "America/Los_Angeles"
KOLKATA = "Asia/Kolkata"

NOW = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
"""Mid-January of the 2027 Match season: the ``clock`` fixture's answer."""

LATE = dt.datetime(2027, 3, 20, 12, tzinfo=dt.UTC)
"""The default clock of :meth:`History.season`: after SOAP of the 2027 Match, so every
instant a test writes is in the past."""

SEASON_ID = "im-2027"
"""The library's season id unless a history names another (``prematch init`` derives
its own from the name unless told)."""

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

FIVE_EVENTS = [
    ("program_added", "mercy", "2026-09-21", {"name": "Mercy IM"}),
    ("applied", "mercy", "2026-09-22", {}),
    ("invited", "mercy", "2026-10-01", {"interview_on": "2026-10-20"}),
    ("interviewed", "mercy", "2026-10-20T09:00:00-04:00", {}),
    ("thanked", "mercy", "2026-10-21T09:00:00-04:00", {}),
]
"""The store tests' season: five events after season_started (seq 1..6), for
``History().then(FIVE_EVENTS)`` or the ``season_of`` fixture."""

PROGRAM_NAMES = {"mercy": "Mercy General IM", "oak": "Oak Valley IM", "pine": "Pine Ridge IM"}
"""The programs of :meth:`History.added_and_applied`."""

When = dt.datetime | str
"""An instant as a test writes it: an aware datetime or ISO text with an offset."""


EventSpec = Sequence[Any]
"""``(type, program, at, fields)`` as a list literal writes it; ``fields`` may be left off."""


class Event(NamedTuple):
    """One event of a history: what ``Season.record`` is given."""

    type: str
    program: str | None
    at: When
    fields: Mapping[str, Any]
    override: str | None = None


def local(text: str, timezone: str = NY) -> dt.datetime:
    """Wall-clock ``text`` (``2027-01-02T00:00``) in ``timezone``, as a UTC instant."""
    naive = dt.datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def iso(text: str) -> dt.datetime:
    """An ISO datetime with offset, as an aware datetime."""
    return dt.datetime.fromisoformat(text)


def _text(at: When) -> str:
    return at.isoformat() if isinstance(at, dt.datetime) else at


@dataclasses.dataclass(frozen=True)
class History:
    """A season's opening and its events, oldest first (the order they are recorded in).

    The defaults are the standard test season: the 2027 Internal Medicine Match, a J-1
    applicant in New York, started on 20 September 2026. Every helper returns a new
    history; the one it was called on is unchanged, so a history can be shared.
    """

    match_year: int = 2027
    specialty: str = "Internal Medicine"
    timezone: str = NY
    visa: str = "j1"
    name: str = "Test Applicant"
    season_id: str | None = None
    aamc_id: str | None = None
    ecfmg_id: str | None = None
    policy: Mapping[str, Any] | None = None
    calendar: Mapping[str, str] | None = None
    started: When = STARTED
    events: tuple[Event, ...] = ()

    # -- the season, event by event ----------------------------------------------------

    def event(
        self,
        type: str,
        program: str | None = None,
        at: When | None = None,
        *,
        override: str | None = None,
        **fields: Any,
    ) -> History:
        """This history and one more event of any ``type`` (``program`` is ``None`` for a
        season-level one such as ``news_recorded``), at ``at``."""
        if at is None:
            raise TypeError(f"{type}: every event of a history says when it happened (at=...)")
        return dataclasses.replace(
            self, events=(*self.events, Event(type, program, at, fields, override))
        )

    def then(self, events: Sequence[EventSpec]) -> History:
        """This history and ``(type, program, at[, fields])`` events, in the order given."""
        history = self
        for kind, program, at, *rest in events:
            history = history.event(kind, program, at, **(rest[0] if rest else {}))
        return history

    def add(
        self, program: str, *, at: When = ADDED, name: str | None = None, **fields: Any
    ) -> History:
        """``program_added`` (named ``<program> Internal Medicine`` unless told)."""
        name = name or f"{program} Internal Medicine"
        return self.event("program_added", program, at, name=name, **fields)

    def apply(self, program: str, *, at: When = APPLIED, **fields: Any) -> History:
        """``applied`` to ``program``; ``fields`` (``via``) go to its payload."""
        return self.event("applied", program, at, **fields)

    def connect(self, program: str, *, at: When = CONNECTED, kind: str = "observership") -> History:
        """A genuine connection to ``program`` (``connection_recorded``)."""
        return self.event("connection_recorded", program, at, kind=kind)

    def invite(self, program: str, *, at: When = INVITED, **fields: Any) -> History:
        """An invitation from ``program`` (``invited``)."""
        return self.event("invited", program, at, **fields)

    def interview(self, program: str, at: When, **fields: Any) -> History:
        """The interview with ``program`` at ``at`` (``interviewed``)."""
        return self.event("interviewed", program, at, **fields)

    def applied(self, program: str, *, connection: bool = True, **fields: Any) -> History:
        """Add ``program`` (``fields`` go to ``program_added``), apply to it by ERAS and (by
        default) record a genuine connection to it."""
        history = self.add(program, **fields).apply(program, via="eras")
        return history.connect(program) if connection else history

    def invited(self, program: str, **fields: Any) -> History:
        """Add ``program`` (``fields`` go to ``program_added``) and receive an invitation
        (no interview yet)."""
        return self.add(program, **fields).invite(program)

    def interviewed(self, program: str, at: When, **fields: Any) -> History:
        """Add ``program`` (``fields`` go to ``program_added``), get invited and interview
        at ``at``."""
        return self.invited(program, **fields).interview(program, at)

    def added_and_applied(self, *programs: str) -> History:
        """Add each program (21 September) and apply to each (25 September), five minutes
        apart, in New York time; names from :data:`PROGRAM_NAMES`."""
        history = self
        for n, pid in enumerate(programs):
            at = f"2026-09-21T10:{5 * n:02d}:00-04:00"
            history = history.add(pid, at=at, name=PROGRAM_NAMES[pid])
        for n, pid in enumerate(programs):
            history = history.apply(pid, at=f"2026-09-25T10:{5 * n:02d}:00-04:00")
        return history

    # -- what it becomes ---------------------------------------------------------------

    @property
    def opening(self) -> dict[str, Any]:
        """The ``season_started`` payload."""
        fields: dict[str, Any] = {
            "match_year": self.match_year,
            "specialty": self.specialty,
            "timezone": self.timezone,
            "visa": self.visa,
            "applicant_name": self.name,
        }
        optional = {
            "aamc_id": self.aamc_id,
            "ecfmg_id": self.ecfmg_id,
            "policy": self.policy,
            "calendar": self.calendar,
        }
        fields.update({key: value for key, value in optional.items() if value is not None})
        return fields

    def start_line(self) -> dict[str, Any]:
        """The ``season_started`` line of an import file that starts this season."""
        return {
            "type": "season_started",
            "season": self.season_id,
            "at": _text(self.started),
            **self.opening,
        }

    def season(
        self,
        store: Store | None = None,
        *,
        rulebook: engine.RulebookProtocol | None = None,
        clock: engine.Clock | None = None,
        now: dt.datetime = LATE,
    ) -> Season:
        """Start the season in ``store`` (a new memory store unless given) and record every
        event; judged by ``rulebook`` (the full rulebook unless told) at ``clock``
        (fixed at ``now`` unless given)."""
        season = Season.start(
            Store.memory() if store is None else store,
            self.season_id or SEASON_ID,
            at=self.started,
            clock=clock or engine.fixed_clock(now),
            rulebook=policies.Rulebook() if rulebook is None else rulebook,
            **self.opening,
        )
        for event in self.events:
            season.record(
                event.type, event.program, at=event.at, override=event.override, **event.fields
            )
        return season

    def state(self, at: When | None = None, **season: Any) -> SeasonState:
        """The replayed state (as of ``at``), with no disk; ``season`` as for :meth:`season`."""
        return self.season(**season).state(at)

    def judge(self, rulebook: engine.RulebookProtocol | None = None) -> engine.Judge:
        """The rulebook's judge for this season's state, with no disk."""
        rulebook = policies.Rulebook() if rulebook is None else rulebook
        return rulebook.for_season(self.season(rulebook=rulebook).state())

    def argv(self) -> tuple[tuple[str, ...], ...]:
        """The ``prematch`` commands that record this history: ``init``, then one command
        per event (``program add`` for ``program_added``, ``log`` for the others)."""
        if self.policy is not None or self.calendar is not None:
            raise ValueError("prematch init takes no policy or calendar override")
        return (self.init_argv(), *(_argv(event) for event in self.events))

    def init_argv(self, *extra: str) -> tuple[str, ...]:
        """``prematch init`` of this season; ``extra`` options go before ``--at``."""
        ids = {"--id": self.season_id, "--aamc-id": self.aamc_id, "--ecfmg-id": self.ecfmg_id}
        return (
            "init",
            "--match-year",
            str(self.match_year),
            "--specialty",
            self.specialty,
            "--timezone",
            self.timezone,
            "--visa",
            self.visa,
            "--name",
            self.name,
            *(arg for option, value in ids.items() if value for arg in (option, value)),
            *extra,
            "--at",
            _text(self.started),
        )


_PROGRAM_OPTIONS = {"specialty": "--specialty", "contacts": "--contact"}
_LOG_OPTIONS = {
    "via": "--via",
    "kind": "--kind",
    "detail": "--detail",
    "note": "--note",
    "interview_on": "--interview-on",
    "recipients": "--recipient",
    "news_seq": "--news",
    "initiated_by": "--initiated-by",
}


def _argv(event: Event) -> tuple[str, ...]:
    fields = dict(event.fields)
    if event.type == "program_added" and event.override is None:
        args = ["program", "add", str(event.program), "--name", fields.pop("name")]
        if fields.pop("nrmp_participating", True) is False:
            args.append("--no-nrmp")
        if fields.pop("no_post_interview_contact", False):
            args.append("--no-post-interview-contact")
        if "sponsors_visas" in fields:
            args += ["--sponsors", ",".join(fields.pop("sponsors_visas")) or "none"]
        for key, value in fields.items():
            for one in value if isinstance(value, list) else [value]:
                args += [_PROGRAM_OPTIONS[key], one]
        return (*args, "--at", _text(event.at))
    args = ["log", event.type, *([event.program] if event.program else [])]
    for key, value in fields.items():
        if key in _LOG_OPTIONS:
            for one in value if isinstance(value, list) else [value]:
                args += [_LOG_OPTIONS[key], str(one)]
        else:
            args += ["--set", f"{key}={json.dumps(value)}"]
    if event.override is not None:
        args += ["--override", event.override]
    return (*args, "--at", _text(event.at))


PROFILE = History(aamc_id="12345678", ecfmg_id="0-123-456-7")
"""The standard season with the applicant's AAMC and ECFMG ids, as a profile has them."""


def rules(verdict: Verdict | Any, severity: str | None = None) -> set[str]:
    """The rule ids among a verdict's (or a refusal's) findings, optionally of one severity."""
    return {f.rule for f in verdict.findings if severity is None or f.severity == severity}


def finding(verdict: Verdict, rule: str) -> Finding:
    """The one finding of ``rule`` in ``verdict``."""
    (found,) = [f for f in verdict.findings if f.rule == rule]
    return found
