"""After the rank list deadline (``deadline.passed``)."""

from __future__ import annotations

from collections.abc import Iterator

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, block

__all__ = ["DEADLINE_PASSED"]

_WHAT = {"update": "an update", "interest": "a letter of interest", "intent": "a letter of intent"}


def _passed(ask: Ask) -> Iterator[Say | Window]:
    deadline = ask.frame.deadline
    yield Window(closes_at=deadline)
    if ask.at > deadline:
        yield block(
            f"the rank list deadline passed ({ask.when(deadline)}); lists are locked, so "
            f"{_WHAT.get(ask.action, ask.action)} now can only read as pressure"
        )


DEADLINE_PASSED = Rule("deadline.passed", GUIDE, _passed)
