"""The rulebook: one table from each action (and event) to the rules that judge it.

Adding a rule is one module function, one :class:`~prematch.policies._context.Rule`, and one
line in :data:`ACTION_RULES` or :data:`EVENT_RULES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from prematch.engine import MESSAGE_EVENTS, Finding, Record, SeasonState, Verdict, Window
from prematch.policies import _deadline as deadline
from prematch.policies import _inquiry as inquiry
from prematch.policies import _intent as intent
from prematch.policies import _program as program
from prematch.policies import _spam as spam
from prematch.policies import _timing as timing
from prematch.policies import _updates as updates
from prematch.policies import _visa as visa
from prematch.policies._context import Ask, FrameCache, Rule, Say

__all__ = ["ACTION_RULES", "EVENT_RULES", "RULE_IDS", "Rulebook"]

_EVERY_MESSAGE = (spam.SPAM_GAP, spam.SPAM_CAP, program.SOAP_INITIATION)

ACTION_RULES: Mapping[str, tuple[Rule, ...]] = {
    "inquiry": (
        inquiry.INQUIRY_WINDOW,
        inquiry.INQUIRY_ONCE,
        inquiry.INQUIRY_CONNECTION,
        inquiry.INQUIRY_MASS,
        *_EVERY_MESSAGE,
    ),
    "thank_you": (timing.THANKS_WINDOW, timing.THANKS_ONCE, program.NO_CONTACT, *_EVERY_MESSAGE),
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
    "rank_certified": (visa.VISA_MISMATCH, intent.INTENT_CERTIFY),
    "program_contacted": (program.ASKED_RANK,),
    "offer_received": (program.ALL_IN,),
}
"""Events that are not messages but still draw findings (in audit, and at ``certify``)."""

RULE_IDS: frozenset[str] = frozenset(
    r.id for rules in (*ACTION_RULES.values(), *EVENT_RULES.values()) for r in rules
)
"""Every rule id the rulebook can report (the contract ids of DESIGN §5, minus content.*)."""


class Rulebook:
    """The rules of DESIGN §5 (``content.*`` excepted, see :mod:`prematch.policies._content`).

    ``disable`` switches rules off by id (to see what a season would look like
    without one, and to prove that the tests guarding a rule fail without it).
    """

    def __init__(self, *, disable: Collection[str] = ()):
        unknown = set(disable) - RULE_IDS
        if unknown:
            raise ValueError(f"unknown rule ids: {', '.join(sorted(unknown))}")
        self.disabled = frozenset(disable)
        self._frame = FrameCache()
        self._action_rules = {a: self._enabled(rules) for a, rules in ACTION_RULES.items()}
        self._event_rules = {e: self._enabled(rules) for e, rules in EVENT_RULES.items()}

    def _enabled(self, rules: Sequence[Rule]) -> tuple[Rule, ...]:
        return tuple(r for r in rules if r.id not in self.disabled)

    @staticmethod
    def _run(rules: Sequence[Rule], ask: Ask) -> list[Finding | Window]:
        parts: list[Finding | Window] = []
        for rule in rules:
            for out in rule.check(ask):
                if isinstance(out, Say):
                    parts.append(Finding(rule.id, out.severity, out.message, rule.source))
                else:
                    parts.append(out)
        return parts

    @staticmethod
    def _findings(rules: Sequence[Rule], ask: Ask) -> list[Finding]:
        # The audit path: findings only, the windows rules also yield are dropped.
        found: list[Finding] = []
        for rule in rules:
            for out in rule.check(ask):
                if isinstance(out, Say):
                    found.append(Finding(rule.id, out.severity, out.message, rule.source))
        return found

    def judge(
        self,
        state: SeasonState,
        program: str,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """The verdict on sending ``action`` to ``program`` at ``at``."""
        ask = Ask(state, state.program(program), action, at, self._frame(state), detail or {})
        return Verdict.combine(program, action, self._run(self._action_rules[action], ask))

    def judge_event(self, state: SeasonState, record: Record) -> Sequence[Finding]:
        """Findings about a record, judged against the state just before it."""
        action = MESSAGE_EVENTS.get(record.type)
        if action is not None and record.program is not None:
            target = state.programs.get(record.program)
            if target is None:
                return ()  # the fold reports the unknown program
            ask = Ask(
                state,
                target,
                action,
                record.occurred_at,
                self._frame(state),
                record.payload,
            )
            return self._findings(self._action_rules[action], ask)
        rules = self._event_rules.get(record.type)
        if not rules:
            return ()
        target = state.programs.get(record.program) if record.program else None
        if record.program and target is None:
            return ()
        ask = Ask(
            state, target, record.type, record.occurred_at, self._frame(state), record.payload
        )
        return self._findings(rules, ask)

    def validate(self, state: SeasonState) -> None:
        """Check the season's policy overrides (unknown names, bad values: ``InputError``)."""
        self._frame(state)
