"""The rulebook: one table from each action (and event) to the rules that judge it.

Adding a rule is one module function, one :class:`~prematch.policies._context.Rule`, and one
line in :data:`ACTION_RULES`, :data:`EVENT_RULES` or :data:`SEASON_RULES`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from prematch.engine import Finding, SeasonState, Verdict, Window, fixtures_dir, worst
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
from prematch.policies._context import Ask, Frame, Rule, Say
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
    "checklist": (checklist.UNTHANKED, checklist.NEWS_UNTOLD, signals.SIGNALS_NOTE),
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


_Both = tuple[tuple[Rule, ...], tuple[Rule, ...]]
_NONE: _Both = ((), ())


class Rulebook:
    """The rules of DESIGN §5 (``content.*`` excepted, see :mod:`prematch.policies._content`).

    ``disable`` switches rules off by id (to see what a season would look like
    without one, and to prove that the tests guarding a rule fail without it). It
    holds only the rule tables, so it pickles small (``audit --jobs`` sends it to
    each worker); what depends on a season lives in its :class:`SeasonJudge`.
    """

    def _enabled(self, table: Mapping[str, tuple[Rule, ...]]) -> dict[str, _Both]:
        """Per name: the enabled rules for a question, and those for a recorded event
        (advice left out), indexed by ``findings_only``."""
        out: dict[str, _Both] = {}
        for name, rules in table.items():
            asked = tuple(r for r in rules if r.id not in self.disabled)
            out[name] = (asked, tuple(r for r in asked if not r.advice))
        return out

    def __init__(self, *, disable: Collection[str] = ()):
        unknown = set(disable) - RULE_IDS
        if unknown:
            raise ValueError(f"unknown rule ids: {', '.join(sorted(unknown))}")
        self.disabled = frozenset(disable)
        self._rules = self._enabled({**ACTION_RULES, **EVENT_RULES})
        self._season = self._enabled(SEASON_RULES)

    def for_season(self, state: SeasonState) -> SeasonJudge:
        """The judge of one season: its :class:`~prematch.policies._context.Frame`, computed
        once (unknown policy overrides or bad values: ``InputError``)."""
        return SeasonJudge(Frame.of(state), self._rules, self._season)

    def fingerprint(self) -> str:
        """What this rulebook's findings depend on beside the events, as one digest: the
        rules switched off, the source of :mod:`prematch.policies`, and the data as loaded
        (the parameters of ``defaults.toml``, every signal table, the specialty defaults).
        A changed rule module or data file changes it."""
        return hashlib.sha256(f"{sorted(self.disabled)!r}\0{_data_digest()}".encode()).hexdigest()


class SeasonJudge:
    """The rulebook bound to one season: its frame and the enabled rules by action or event
    (and by season-wide question, asked with no program)."""

    __slots__ = ("_rules", "_season", "frame")

    def __init__(
        self,
        frame: Frame,
        rules: Mapping[str, _Both],
        season: Mapping[str, _Both],
    ):
        self.frame = frame
        self._rules = rules
        self._season = season

    def judge(
        self,
        state: SeasonState,
        program: str | None,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
        *,
        findings_only: bool = False,
    ) -> Verdict:
        """The verdict on ``action`` (an action, or an event type with rules of its own)
        for ``program`` at ``at``; see :class:`prematch.engine.Judge`."""
        if program is None and action in self._season:
            rules = self._season[action][findings_only]
        else:
            rules = self._rules.get(action, _NONE)[findings_only]
        if not findings_only or rules:
            target = None if program is None else state.program(program)
            ask = Ask(state, target, action, at, self.frame, detail or {})
            if not findings_only:
                parts, closed = _run(rules, ask)
                return Verdict.combine(program, action, parts, closed=closed)
            # The audit path: findings only (the windows rules also yield are dropped).
            found = _findings(rules, ask)
            if found:
                return Verdict(program, action, worst(found), tuple(found))
        return _nothing_found(program, action)

    def turns(self, state: SeasonState, action: str) -> tuple[dt.datetime, ...] | None:
        """When the season-wide question ``action`` may be answered differently for
        ``state``: every enabled rule's :attr:`~Rule.turns`, together and in order
        (``None`` if one of them cannot say); see :class:`prematch.engine.Judge`."""
        found: set[dt.datetime] = set()
        for rule in self._season.get(action, _NONE)[1]:
            if rule.turns is None:
                return None
            found.update(rule.turns(state, self.frame))
        return tuple(sorted(found))


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


@lru_cache(maxsize=4096)
def _nothing_found(program: str | None, action: str) -> Verdict:
    # Shared by every season: most judged events draw no finding, and seasons are short.
    return Verdict(program, action, "allowed")


def _run(rules: Sequence[Rule], ask: Ask) -> tuple[list[Finding | Window], bool]:
    """The findings and windows of ``rules``, and whether a block is final."""
    parts: list[Finding | Window] = []
    closed = False
    for rule in rules:
        for out in rule.check(ask):
            if isinstance(out, Say):
                parts.append(
                    Finding(rule.id, out.severity, out.message, rule.source, out.program, out.seq)
                )
                closed = closed or out.final
            else:
                parts.append(out)
    return parts, closed


def _findings(rules: Sequence[Rule], ask: Ask) -> list[Finding]:
    found: list[Finding] = []
    for rule in rules:
        for out in rule.check(ask):
            if isinstance(out, Say):
                found.append(
                    Finding(rule.id, out.severity, out.message, rule.source, out.program, out.seq)
                )
    return found
