"""Timing of thank-yous and letters of interest (``thanks.*``, ``interest.*``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, add_days, add_hours, block, warn

__all__ = [
    "INTEREST_LIMIT",
    "INTEREST_ONCE",
    "INTEREST_WAIT",
    "INTEREST_WINDOW",
    "THANKS_ONCE",
    "THANKS_WINDOW",
    "opens_after_interview",
    "recommended_window",
]


def _thanks_window(ask: Ask) -> Iterator[Say | Window]:
    p = ask.target
    interviewed = p.interviewed_at
    if interviewed is None or (p.messages and p.sent("thank_you")):
        return  # thanks.once speaks about a second one; "late" would judge the first again
    due = add_hours(interviewed, ask.params["thanks.due_hours"])
    yield Window(opens_at=interviewed, due_by=due)
    if ask.at <= due:
        return
    # Late; and stale (a stronger warning) once the stale days have passed as well.
    stale = add_days(interviewed, ask.params["thanks.stale_days"], ask.frame.timezone)
    if ask.at > stale:
        yield warn(
            f"the interview was more than {ask.params['thanks.stale_days']} days ago; "
            "a thank-you now reads as an afterthought: fold your thanks into a letter of interest"
        )
    else:
        yield warn(
            f"late: a thank-you is expected within {ask.params['thanks.due_hours']} h of the "
            f"interview (it was due by {ask.when(due)}); keep it short if you still send it"
        )


def _thanks_once(ask: Ask) -> Iterator[Say | Window]:
    sent = ask.target.sent("thank_you")
    if sent:
        yield block(
            f"{ask.target.name} was already thanked on {ask.when(sent[0].at)}; one is enough",
            final=True,
        )


def opens_after_interview(
    ask: Ask, interviewed: dt.datetime, letter: str, wait: str
) -> Iterator[Say | Window]:
    """A ``letter`` opens ``ask.params[wait]`` calendar days after the interview at
    ``interviewed``: the window's opening, and a block before it."""
    days = ask.params[wait]
    opens = add_days(interviewed, days, ask.frame.timezone)
    yield Window(opens_at=opens)
    if ask.at < opens:
        yield block(
            f"too soon after the interview: {letter} opens {days} days after it, "
            f"on {ask.when(opens)}"
        )


def _interest_wait(ask: Ask) -> Iterator[Say | Window]:
    interviewed = ask.target.interviewed_at
    if interviewed is not None:
        yield from opens_after_interview(
            ask, interviewed, "a letter of interest", "interest.wait_days"
        )


def recommended_window(ask: Ask) -> Iterator[Say | Window]:
    """Warn outside the recommended window for letters: from the day of the Match year
    set by ``interest.window_open_month`` and ``interest.window_open_day``, to
    ``interest.window_close_days`` before the rank list deadline.

    Letters are optional, so the window has no ``due_by``; it closes at the deadline.
    """
    f = ask.frame
    yield Window(closes_at=f.deadline)
    if ask.at > f.deadline:
        return  # deadline.passed speaks then
    if ask.at < f.interest_opens:
        yield warn(
            f"earlier than recommended: letters land best from {ask.when(f.interest_opens)}, "
            "after the interview season"
        )
    elif ask.at > f.interest_closes:
        yield warn(
            f"later than recommended: aim for before {ask.when(f.interest_closes)}, "
            f"{ask.params['interest.window_close_days']} days before the rank list deadline"
        )


def _interest_once(ask: Ask) -> Iterator[Say | Window]:
    sent = ask.target.sent("interest")
    if sent:
        yield block(
            f"{ask.target.name} already has your letter of interest ({ask.when(sent[0].at)}); "
            "a second one weakens the first",
            final=True,
        )


def _interest_limit(ask: Ask) -> Iterator[Say | Window]:
    limit = ask.params["interest.limit"]
    if ask.state.sent_counts.get("interest", 0) < limit:
        return  # fewer letters than the limit: fewer programs too
    written = sorted(p.id for p in ask.state.programs.values() if p.sent("interest"))
    if ask.target.id not in written and len(written) >= limit:
        yield block(
            f"{len(written)} programs already have a letter of interest ({', '.join(written)}); "
            f"keep them for at most {limit} programs so each stays credible",
            final=True,
        )


THANKS_WINDOW = Rule("thanks.window", GUIDE, _thanks_window, due=True)
THANKS_ONCE = Rule("thanks.once", GUIDE, _thanks_once)
INTEREST_WAIT = Rule("interest.wait", GUIDE, _interest_wait)
INTEREST_WINDOW = Rule("interest.window", GUIDE, recommended_window)
INTEREST_ONCE = Rule("interest.once", GUIDE, _interest_once)
INTEREST_LIMIT = Rule("interest.limit", GUIDE, _interest_limit)
