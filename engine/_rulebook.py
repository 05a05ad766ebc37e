"""The seam between the engine and the policies: what a rulebook must answer.

The engine never contains rule logic. It hands a season's state to a
:class:`RulebookProtocol` once (:meth:`~RulebookProtocol.for_season`), and asks the
:class:`Judge` it gets back one question, for an action someone considers sending
and for an event about to be recorded or replayed alike. ``policies.Rulebook`` is
the real rulebook; :class:`NoRules` is the explicit choice of none (an embedder
that only wants the log and the state machine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from prematch.engine._state import SeasonState
from prematch.engine._verdicts import Finding, Verdict

__all__ = ["Judge", "NoRules", "RulebookProtocol"]


class Judge(Protocol):
    """A rulebook bound to one season (its settings checked, its constants computed).

    A judge may also have ``may_be_due(action, season_wide) -> bool``: whether a verdict
    of :meth:`judge` on ``action`` (for a program, or with ``season_wide`` the question
    asked with no program) may carry a ``due_by``. A summary's next deadline then asks
    only those; without it, it asks every action that may be sent.
    """

    def judge(
        self,
        state: SeasonState,
        program: str | None,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """The verdict on ``action`` for ``program`` at ``at``, given ``state`` just before.

        ``action`` is an action of :data:`~prematch.engine._actions.ACTIONS` (a question
        such as ``check``), or the type of another event with rules of its own
        (``applied``, ``rank_certified``: ``program`` is ``None`` for a season-level one).
        ``detail`` is the payload of the event being judged (empty for a question).
        """
        ...

    def findings(
        self,
        state: SeasonState,
        program: str | None,
        event: str,
        at: dt.datetime,
        detail: Mapping[str, Any],
    ) -> tuple[Finding, ...]:
        """What the rules find about an event of type ``event`` recorded for ``program``
        at ``at`` with payload ``detail``, against ``state`` just before it (the fold of
        audit and admission): the findings in the order the rules gave them, without the
        windows or the advice a question gets; a message event is judged as the action it
        records. ``()`` for an event no rule judges.
        """
        ...

    def turns(self, state: SeasonState, action: str) -> tuple[dt.datetime, ...] | None:
        """The instants at which the verdict on the season-wide question ``action`` (asked
        with no program, such as the checklist) may change while ``state`` stays as it is,
        in order: the verdict is the same at every instant from one of them to the next
        (and before the first). ``None`` when the rulebook cannot say (it may change at
        any instant). A projection of findings uses them to stay exact at every ``at``.
        """
        ...

    def signals_provisional(self) -> str | None:
        """Why the preference-signal numbers this judge holds for the season's Match year
        are provisional (not verified, such as "the ERAS 2025 numbers carried over"), or
        ``None`` when they are verified or it holds none; ``now`` reports it."""
        ...


class RulebookProtocol(Protocol):
    """What the engine needs of a rulebook: a :class:`Judge` per season.

    It is sent to the worker processes of a parallel audit, so it must pickle (and
    should be cheap to).
    """

    def for_season(self, state: SeasonState) -> Judge:
        """The judge of the season that ``state`` (as it started) belongs to.

        Raises :class:`~prematch.engine._errors.InputError` if the season's own
        settings (its policy overrides) make no sense to this rulebook.
        """
        ...

    def fingerprint(self) -> str:
        """A text that changes whenever this rulebook may judge the same events
        differently: its rules and their code, the parameters it loaded, the data it reads
        (signal tables, specialty defaults...). Stored findings judged under another
        fingerprint are judged again (the findings projection, ``audit --all``)."""
        ...


class _AllowEverything:
    """The judge of :class:`NoRules`."""

    def judge(
        self,
        state: SeasonState,
        program: str | None,
        action: str,
        at: dt.datetime,
        detail: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """Always ``allowed``."""
        return Verdict(program=program, action=action, outcome="allowed")

    def findings(
        self,
        state: SeasonState,
        program: str | None,
        event: str,
        at: dt.datetime,
        detail: Mapping[str, Any],
    ) -> tuple[Finding, ...]:
        """Never any."""
        return ()

    def turns(self, state: SeasonState, action: str) -> tuple[dt.datetime, ...]:
        """None: the verdict never changes."""
        return ()

    def signals_provisional(self) -> str | None:
        """``None``: no signal numbers."""
        return None


class NoRules:
    """A rulebook with no rules: every structurally valid action is allowed."""

    def for_season(self, state: SeasonState) -> Judge:
        """A judge that allows everything; any settings will do."""
        return _AllowEverything()

    def fingerprint(self) -> str:
        """Always the same: no rule, no data."""
        return "prematch.NoRules"
