"""The seam between the engine and the policies: what a rulebook must answer.

The engine asks a :class:`Rulebook` two questions and never contains rule logic
itself. ``policies.Rulebook`` is the real one; :class:`NoRules` judges nothing
(an embedder that only wants the log and the state machine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from prematch.engine._records import Record
from prematch.engine._state import SeasonState
from prematch.engine._verdicts import Finding, Verdict

__all__ = ["NoRules", "Rulebook"]


class Rulebook(Protocol):
    """What the rulebook says about an action or an event, given the state before it."""

    def judge(
        self,
        state: SeasonState,
        program: str,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """The verdict on sending ``action`` to ``program`` at ``at``.

        ``detail`` is the payload of the event about to be recorded (empty for a
        question such as ``check``).
        """
        ...

    def judge_event(self, state: SeasonState, record: Record) -> Sequence[Finding]:
        """Findings about ``record`` (any type), judged against the state just before it."""
        ...

    def validate(self, state: SeasonState) -> None:
        """Raise :class:`~prematch.engine._errors.InputError` if the season's own settings (its
        policy overrides) make no sense to this rulebook; called when a season starts."""
        ...


class NoRules:
    """A rulebook with no rules: every structurally valid action is allowed."""

    def judge(
        self,
        state: SeasonState,
        program: str,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """Always ``allowed``."""
        return Verdict(program=program, action=action, verdict="allowed")

    def judge_event(self, state: SeasonState, record: Record) -> Sequence[Finding]:
        """Never a finding."""
        return ()

    def validate(self, state: SeasonState) -> None:
        """Any settings will do."""
