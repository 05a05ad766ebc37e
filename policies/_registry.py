"""The rulebook: one table from each action (and event) to the rules that judge it.

Adding a rule is one module function, one :class:`~prematch.policies._context.Rule`, and one
line in :data:`ACTION_RULES`, :data:`EVENT_RULES` or :data:`SEASON_RULES`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from prematch.engine import (
    MESSAGE_EVENTS,
    Finding,
    PrematchError,
    SeasonState,
    Verdict,
    Window,
    fixtures_dir,
)
from prematch.policies import _checklist as checklist
from prematch.policies import _deadline as deadline
from prematch.policies import _inquiry as inquiry
from prematch.policies import _intent as intent
from prematch.policies import _interview as interview
from prematch.policies import _program as program
from prematch.policies import _signals as signals
from prematch.policies import _spam as spam
from prematch.policies import _timing as timing
from prematch.policies import _updates as updates
from prematch.policies import _visa as visa
from prematch.policies._context import Ask, Check, Frame, Rule, Say
from prematch.policies._params import default_params

__all__ = ["ACTION_RULES", "EVENT_RULES", "RULE_IDS", "SEASON_RULES", "Rulebook", "SeasonJudge"]

_EVERY_MESSAGE = (spam.SPAM_GAP, spam.SPAM_CAP, program.SOAP_INITIATION)

ACTION_RULES: Mapping[str, tuple[Rule, ...]] = {
    "inquiry": (
        inquiry.INQUIRY_WINDOW,
        inquiry.INQUIRY_ONCE,
        inquiry.INQUIRY_CONNECTION,
        inquiry.INQUIRY_MASS,
        *_EVERY_MESSAGE,
    ),
    "thank_you": (
        timing.THANKS_WINDOW,
        timing.THANKS_ONCE,
        program.NO_CONTACT,
        program.THANKS_DISCOURAGED,
        *_EVERY_MESSAGE,
    ),
    "update": (updates.UPDATE_NEWS, deadline.DEADLINE_PASSED, program.NO_CONTACT, *_EVERY_MESSAGE),
    "interest": (
        timing.INTEREST_WAIT,
        timing.INTEREST_WINDOW,
        timing.INTEREST_ONCE,
        timing.INTEREST_LIMIT,
        deadline.DEADLINE_PASSED,
        program.NO_CONTACT,
        *_EVERY_MESSAGE,
    ),
    "intent": (
        intent.INTENT_SINGLE,
        intent.INTENT_AFTER,
        intent.INTENT_WINDOW,
        intent.INTENT_HONESTY,
        deadline.DEADLINE_PASSED,
        program.NO_CONTACT,
        *_EVERY_MESSAGE,
    ),
}
"""Each action of DESIGN §4 and the rules that judge it."""

EVENT_RULES: Mapping[str, tuple[Rule, ...]] = {
    "applied": (visa.VISA_MISMATCH,),
    "signal_sent": (signals.SIGNALS_LIMIT,),
    "rank_certified": (visa.VISA_MISMATCH, intent.INTENT_CERTIFY, program.NON_NRMP),
    "program_contacted": (program.ASKED_RANK,),
    "offer_received": (program.ALL_IN, program.OUTSIDE_MATCH),
    "call_held": (spam.SPAM_CALLS, program.SOAP_INITIATION),
    "advocate_contacted": (program.SOAP_INITIATION,),
    "interview_cancelled": (interview.CANCEL_NOTICE,),
    "interview_rescheduled": (interview.CANCEL_NOTICE,),
}
"""Events that are not messages but still draw findings (in audit, and at ``certify``)."""

SEASON_RULES: Mapping[str, tuple[Rule, ...]] = {
    "intent": (
        intent.INTENT_SINGLE,
        intent.INTENT_AFTER,
        intent.INTENT_SEASON_WINDOW,
        deadline.DEADLINE_PASSED,
    ),
    "checklist": (checklist.UNTHANKED, checklist.NEWS_UNTOLD),
}
"""Season-wide questions (asked with no program): the season's one letter of intent, and
the checklist of what is still undone (each finding names its program), which ``now``
shows and an audit reports at its instant."""

RULE_IDS: frozenset[str] = frozenset(
    r.id
    for rules in (*ACTION_RULES.values(), *EVENT_RULES.values(), *SEASON_RULES.values())
    for r in rules
)
"""Every rule id the rulebook can report (the contract ids of DESIGN §5, minus content.*)."""


_Checks = tuple[tuple[Check, str, str], ...]
"""The rules judging a recorded event, unpacked: (check, rule id, source) each."""


class Rulebook:
    """The rules of DESIGN §5 (``content.*`` excepted, see :mod:`prematch.policies._content`).

    ``disable`` switches rules off by id (to see what a season would look like
    without one, and to prove that the tests guarding a rule fail without it). It
    holds only the rule tables, so it pickles small (``audit --jobs`` sends it to
    each worker); what depends on a season lives in its :class:`SeasonJudge`.
    """

    def __init__(self, *, disable: Collection[str] = ()):
        unknown = set(disable) - RULE_IDS
        if unknown:
            raise ValueError(f"unknown rule ids: {', '.join(sorted(unknown))}")
        self.disabled = frozenset(disable)
        self._asked = self._enabled({**ACTION_RULES, **EVENT_RULES})
        self._season = self._enabled(SEASON_RULES)
        self._due = (_due(self._asked), _due(self._season))
        # A recorded event is judged without advice, as the action it records (a message)
        # or as itself; an event no rule judges is left out.
        recorded = {
            event: (action, ACTION_RULES[action]) for event, action in MESSAGE_EVENTS.items()
        }
        recorded.update((event, (event, rules)) for event, rules in EVENT_RULES.items())
        self._recorded: dict[str, tuple[str, _Checks]] = {}
        for event, (action, rules) in recorded.items():
            kept = tuple(
                (r.check, r.id, r.source)
                for r in rules
                if r.id not in self.disabled and not r.advice
            )
            if kept:
                self._recorded[event] = (action, kept)

    def _enabled(self, table: Mapping[str, tuple[Rule, ...]]) -> dict[str, tuple[Rule, ...]]:
        """Per question, its enabled rules."""
        return {
            name: tuple(r for r in rules if r.id not in self.disabled)
            for name, rules in table.items()
        }

    def for_season(self, state: SeasonState) -> SeasonJudge:
        """The judge of one season: its :class:`~prematch.policies._context.Frame`, computed
        once (unknown policy overrides or bad values: ``InputError``)."""
        return SeasonJudge(Frame.of(state), self._asked, self._season, self._recorded, self._due)

    def fingerprint(self) -> str:
        """What this rulebook's findings depend on beside the events, as one digest: the
        rules switched off, the source of :mod:`prematch.policies`, and the data as loaded
        (the parameters of ``defaults.toml``, every signal table, the specialty defaults).
        A changed rule module or data file changes it."""
        return hashlib.sha256(f"{sorted(self.disabled)!r}\0{_data_digest()}".encode()).hexdigest()


class SeasonJudge:
    """The rulebook bound to one season: its frame and the enabled rules by action or event
    (by season-wide question, asked with no program; and by recorded event type)."""

    __slots__ = ("_asked", "_due", "_recorded", "_season", "frame")

    def __init__(
        self,
        frame: Frame,
        asked: Mapping[str, tuple[Rule, ...]],
        season: Mapping[str, tuple[Rule, ...]],
        recorded: Mapping[str, tuple[str, _Checks]],
        due: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    ):
        self.frame = frame
        self._asked = asked
        self._season = season
        self._recorded = recorded
        self._due = due

    def may_be_due(self, action: str, season_wide: bool = False) -> bool:
        """Whether a verdict of :meth:`judge` on ``action`` (for a program, or with
        ``season_wide`` asked with no program) may carry a ``due_by``: whether an enabled
        rule judging it gives deadlines (:attr:`Rule.due`); see :class:`prematch.engine.Judge`."""
        asked, season = self._due
        if season_wide and action in self._season:
            return action in season
        return action in asked

    def judge(
        self,
        state: SeasonState,
        program: str | None,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """The verdict on ``action`` (an action, or an event type with rules of its own)
        for ``program`` at ``at``; see :class:`prematch.engine.Judge`."""
        if program is None and action in self._season:
            rules = self._season[action]
        else:
            rules = self._asked.get(action, ())
        target = None if program is None else state.program(program)
        parts, closed = _run(rules, Ask(state, target, action, at, self.frame, detail or {}))
        return Verdict.combine(program, action, parts, closed=closed)

    def findings(
        self,
        state: SeasonState,
        program: str | None,
        event: str,
        at: dt.datetime,
        detail: Mapping[str, Any],
    ) -> tuple[Finding, ...]:
        """What the rules find about a recorded ``event`` (audit, admission); see
        :class:`prematch.engine.Judge`. The windows the rules also give are dropped."""
        judged = self._recorded.get(event)
        if judged is None:  # most events: no rule judges them
            return ()
        action, checks = judged
        target = None
        if program is not None:  # an unknown program: UnknownProgramError
            target = state.programs.get(program) or state.program(program)
        ask = _new_tuple(Ask, (state, target, action, at, self.frame, detail))
        found: list[Finding] | None = None  # most events: no finding, no list
        for check, rule, source in checks:
            for out in check(ask):
                if type(out) is Say:
                    if found is None:
                        found = []
                    found.append(
                        Finding(
                            rule,
                            out.severity,
                            out.message,
                            out.source or source,
                            out.program,
                            out.seq,
                        )
                    )
        return () if found is None else tuple(found)

    def turns(self, state: SeasonState, action: str) -> tuple[dt.datetime, ...] | None:
        """When the season-wide question ``action`` may be answered differently for
        ``state``: every enabled rule's :attr:`~Rule.turns`, together and in order
        (``None`` if one of them cannot say); see :class:`prematch.engine.Judge`."""
        found: set[dt.datetime] = set()
        for rule in self._season.get(action, ()):
            if rule.turns is None:
                return None
            found.update(rule.turns(state, self.frame))
        return tuple(sorted(found))

    def signals_provisional(self) -> str | None:
        """Why the signal numbers of the season's Match year (``fixtures/signals``) are
        provisional, or ``None``; see :class:`prematch.engine.Judge`."""
        table = signals.signal_table(self.frame.calendar.match_year)
        return table.provisional_because if table is not None and table.provisional else None


@cache
def _data_digest() -> str:
    """The digest of the policies' source and of the data they load (once per process,
    as the loaders cache what they read)."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(repr(sorted(default_params().items())).encode())
    for path in sorted((fixtures_dir() / "signals").glob("*.toml")):
        digest.update(repr(signals.signal_table(int(path.stem))).encode())
    digest.update(repr(program.specialty_table()).encode())
    return digest.hexdigest()


_new_tuple = tuple.__new__  # skips Ask.__new__'s argument handling: one per judged event


def _run(rules: Sequence[Rule], ask: Ask) -> tuple[list[Finding | Window], bool]:
    """The findings and windows of ``rules``, and whether a block is final."""
    parts: list[Finding | Window] = []
    closed = False
    for rule in rules:
        for out in rule.check(ask):
            if isinstance(out, Say):
                parts.append(
                    Finding(
                        rule.id,
                        out.severity,
                        out.message,
                        out.source or rule.source,
                        out.program,
                        out.seq,
                    )
                )
                closed = closed or out.final
            else:
                if out.due_by is not None and not rule.due:
                    raise PrematchError(f"internal: rule {rule.id} gave a due_by without due=True")
                parts.append(out)
    return parts, closed


def _due(table: Mapping[str, tuple[Rule, ...]]) -> frozenset[str]:
    """The questions of ``table`` some rule of which gives deadlines (:attr:`Rule.due`)."""
    return frozenset(name for name, rules in table.items() if any(r.due for r in rules))
