"""No spam (``spam.gap``, ``spam.cap``): few messages, well spaced, per program."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prematch.engine import Message, ProgramState, Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, add_days, add_hours, block

__all__ = ["SPAM_CAP", "SPAM_GAP", "is_exempt"]


def _timely_thanks(program: ProgramState, at: dt.datetime, due_hours: int) -> bool:
    interviewed = program.interviewed_at
    return interviewed is not None and at <= add_hours(interviewed, due_hours)


def is_exempt(program: ProgramState, message: Message, due_hours: int) -> bool:
    """A thank-you inside its window and an update carrying news need no gap."""
    if message.action == "thank_you":
        return _timely_thanks(program, message.at, due_hours)
    return message.action == "update" and message.news_seq is not None and not message.retold


def _asked_is_exempt(ask: Ask) -> bool:
    p = ask.target
    if ask.action == "thank_you":
        return _timely_thanks(p, ask.at, ask.params["thanks.due_hours"])
    if ask.action == "update":
        news = ask.detail.get("news_seq")
        if news is not None:
            return news not in p.told_news
        return bool(ask.state.untold_news(p.id))
    return False


def _gap(ask: Ask) -> Iterator[Say | Window]:
    if _asked_is_exempt(ask):
        return
    p = ask.target
    due_hours = ask.params["thanks.due_hours"]
    counted = [m for m in p.messages if not is_exempt(p, m, due_hours)]
    if not counted:
        return
    last = max(counted, key=lambda m: m.at)
    days = ask.params["spam.gap_days"]
    opens = add_days(last.at, days, ask.frame.timezone)
    yield Window(opens_at=opens)
    if ask.at < opens:
        yield block(
            f"your last message to {p.name} ({last.action}) went on {ask.when(last.at)}; "
            f"leave {days} days between messages, until {ask.when(opens)}"
        )


def _cap(ask: Ask) -> Iterator[Say | Window]:
    cap = ask.params["spam.cap"]
    if len(ask.target.messages) >= cap:
        yield block(
            f"{ask.target.name} has already had {len(ask.target.messages)} messages from you; "
            f"the season's limit is {cap} per program"
        )


SPAM_GAP = Rule("spam.gap", GUIDE, _gap)
SPAM_CAP = Rule("spam.cap", GUIDE, _cap)
