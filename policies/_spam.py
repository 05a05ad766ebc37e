"""No spam (``spam.gap``, ``spam.cap``, ``spam.calls``): few contacts, well spaced, per program."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from prematch.engine import Message, ProgramState, Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, add_hours, block
from prematch.policies._timing import opens_after

__all__ = ["SPAM_CALLS", "SPAM_CAP", "SPAM_GAP", "is_exempt"]


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


def _gap(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    if not p.messages and not p.calls:  # the common case in an audit: nothing before
        return ()
    if _asked_is_exempt(ask):
        return ()
    last = _last_contact(p, ask.params["thanks.due_hours"])
    return () if last is None else _gap_after(ask, *last, "messages")


def _last_contact(p: ProgramState, due_hours: int) -> tuple[str, dt.datetime] | None:
    """The latest applicant-initiated contact that needs a gap after it: a message that is
    not exempt, or a call (``spam.calls``)."""
    counted = [m for m in p.messages if not is_exempt(p, m, due_hours)]
    last = max(counted, key=_at) if counted else None
    if p.calls and (last is None or p.calls[-1] > last.at):  # spam.calls: calls count too
        return "call", p.calls[-1]
    return None if last is None else (last.action, last.at)


def _at(message: Message) -> dt.datetime:
    return message.at


def _gap_after(ask: Ask, kind: str, at: dt.datetime, what: str) -> tuple[Say | Window, ...]:
    days = ask.params["spam.gap_days"]
    return opens_after(
        ask,
        at,
        days,
        lambda opens: (
            f"{_last_words(ask.target.name, kind)} {ask.when(at)}; "
            f"leave {days} days between {what}, until {ask.when(opens)}"
        ),
    )


def _last_words(name: str, kind: str) -> str:
    if kind == "call":
        return f"you last called {name} on"
    return f"your last message to {name} ({kind}) went on"


def _cap_reached(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    cap = ask.params["spam.cap"]
    contacts = len(p.messages) + len(p.calls)
    if contacts < cap:
        return ()
    calls = f" and calls ({len(p.calls)} calls)" if p.calls else ""
    return (
        block(
            f"{p.name} has already had {contacts} messages{calls} from you; "
            f"the season's limit is {cap} per program",
            final=True,
        ),
    )


def _calls(ask: Ask) -> Sequence[Say | Window]:
    """An applicant-initiated call counts as contact: the gap after the last one, and the cap."""
    if ask.detail.get("initiated_by") != "applicant":
        return ()
    p = ask.target
    last = _last_contact(p, ask.params["thanks.due_hours"])
    gap = () if last is None else _gap_after(ask, *last, "calls")
    return (*gap, *_cap_reached(ask))


SPAM_GAP = Rule("spam.gap", GUIDE, _gap)
SPAM_CAP = Rule("spam.cap", GUIDE, _cap_reached)
SPAM_CALLS = Rule("spam.calls", GUIDE, _calls)
