"""After the rank list deadline (``deadline.passed``)."""

from __future__ import annotations

from collections.abc import Sequence

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, block

__all__ = ["DEADLINE_PASSED"]

_WHAT = {"update": "an update", "interest": "a letter of interest", "intent": "a letter of intent"}


def _passed(ask: Ask) -> Sequence[Say | Window]:
    deadline = ask.frame.deadline
    window = Window(None, None, deadline)
    if ask.at <= deadline:
        return (window,)
    return (
        window,
        block(
            f"the rank list deadline passed ({ask.when(deadline)}); lists are locked, so "
            f"{_WHAT.get(ask.action, ask.action)} now can only read as pressure"
        ),
    )


DEADLINE_PASSED = Rule("deadline.passed", GUIDE, _passed)
