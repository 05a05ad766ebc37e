"""The guide's final checklist (``checklist.unthanked``, ``checklist.news_untold``).

Both judge what has *not* been done, so they answer a season-wide question (the
registry's ``checklist``, asked by ``now`` and at the end of an audit) rather than an
event: from ``checklist.days_before_deadline`` days before the rank list deadline, each
finding names its program and the event it is about (the interview, the news).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prematch.engine import ProgramState, SeasonState, Window
from prematch.policies._context import GUIDE, Ask, Frame, Rule, Say, add_days, specialty_of, warn
from prematch.policies._program import no_contact_reason, specialty_expects_thanks

__all__ = ["NEWS_UNTOLD", "UNTHANKED"]

_AFTER_INTERVIEW = ("interviewed", "ranked")


def _from(frame: Frame) -> dt.datetime:
    """When the checklist starts: ``checklist.days_before_deadline`` before the deadline."""
    days = frame.params["checklist.days_before_deadline"]
    return add_days(frame.deadline, -days, frame.timezone)


def _due(ask: Ask) -> bool:
    return ask.at >= _from(ask.frame)


def _turns(state: SeasonState, frame: Frame) -> tuple[dt.datetime]:
    return (_from(frame),)  # before it nothing is due; from it on, the state alone decides


def _interviewed(state: SeasonState) -> Iterator[ProgramState]:
    for p in sorted(state.programs.values(), key=lambda p: p.id):
        if p.state in _AFTER_INTERVIEW and no_contact_reason(state, p) is None:
            yield p


def _unthanked(ask: Ask) -> Iterator[Say | Window]:
    if not _due(ask):
        return
    for p in _interviewed(ask.state):
        if p.sent("thank_you") or not specialty_expects_thanks(specialty_of(ask.state, p))[0]:
            continue
        yield warn(
            f"{p.name} was never thanked for the interview; the final checklist: a short "
            "thank-you now, or fold your thanks into a letter of interest",
            program=p.id,
            seq=p.interviewed_seq,
        )


def _news_untold(ask: Ask) -> Iterator[Say | Window]:
    if not _due(ask):
        return
    for p in _interviewed(ask.state):
        for news in ask.state.untold_news(p.id):
            yield warn(
                f"{p.name} has not heard your news ({news.detail}); the final checklist: "
                f"send it an update before the deadline (`prematch log update-sent {p.id}`)",
                program=p.id,
                seq=news.seq,
            )


UNTHANKED = Rule("checklist.unthanked", GUIDE, _unthanked, turns=_turns)
NEWS_UNTOLD = Rule("checklist.news_untold", GUIDE, _news_untold, turns=_turns)
