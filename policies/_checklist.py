"""The guide's final checklist (``checklist.unthanked``, ``checklist.news_untold``).

Both judge what has *not* been done, so they answer a season-wide question (the
registry's ``checklist``, asked by ``now`` and at the end of an audit) rather than an
event: from ``checklist.days_before_deadline`` days before the rank list deadline, each
finding names its program and the event it is about (the interview, the news).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence

from prematch.engine import ProgramState, SeasonState, Window
from prematch.policies._context import GUIDE, Ask, Frame, Rule, Say, specialty_of, warn
from prematch.policies._program import no_contact_reason, specialty_expects_thanks

__all__ = ["NEWS_UNTOLD", "UNTHANKED"]


def _turns(state: SeasonState, frame: Frame) -> tuple[dt.datetime]:
    return (frame.checklist_opens,)  # before it nothing is due; from it on, the state alone decides


_asked: list[tuple[Ask, list[ProgramState]]] = []
"""The last ask and its :func:`_interviewed` programs: both rules read them, in turn."""


def _interviewed(ask: Ask) -> list[ProgramState]:
    """The programs that interviewed the applicant and take contact after it, in id order,
    once the checklist is due (else none). Both rules get the same ask, one after the
    other: the second takes the first's list (one ask kept, so none holds on to a state
    for long)."""
    if _asked and _asked[0][0] is ask:
        return _asked[0][1]
    programs: list[ProgramState] = []
    if ask.at >= ask.frame.checklist_opens:
        state = ask.state
        programs = [p for p in state.interviewed() if no_contact_reason(state, p) is None]
    _asked[:] = [(ask, programs)]
    return programs


_ACTION = operator.attrgetter("action")


def _unthanked(ask: Ask) -> Sequence[Say | Window]:
    state = ask.state
    return [
        warn(
            f"{p.name} was never thanked for the interview; the final checklist: a short "
            "thank-you now, or fold your thanks into a letter of interest",
            program=p.id,
            seq=p.interviewed_seq,
        )
        for p in _interviewed(ask)
        if "thank_you" not in map(_ACTION, p.messages)
        and specialty_expects_thanks(specialty_of(state, p))[0]
    ]


def _news_untold(ask: Ask) -> Sequence[Say | Window]:
    news = ask.state.news
    if not news:
        return ()
    return [
        warn(
            f"{p.name} has not heard your news ({n.detail}); the final checklist: "
            f"send it an update before the deadline (`prematch log update-sent {p.id}`)",
            program=p.id,
            seq=n.seq,
        )
        for p in _interviewed(ask)
        for n in news
        if n.seq not in p.told_news
    ]


UNTHANKED = Rule("checklist.unthanked", GUIDE, _unthanked, turns=_turns)
NEWS_UNTOLD = Rule("checklist.news_untold", GUIDE, _news_untold, turns=_turns)
