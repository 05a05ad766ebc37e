"""Timing of thank-yous and letters of interest (``thanks.*``, ``interest.*``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, add_days, add_hours, block, warn

__all__ = [
    "INTEREST_LIMIT",
    "INTEREST_ONCE",
    "INTEREST_WAIT",
    "INTEREST_WINDOW",
    "THANKS_ONCE",
    "THANKS_WINDOW",
    "opens_after",
    "opens_after_interview",
    "recommended_window",
]


def _thanks_window(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    interviewed = p.interviewed_at
    if interviewed is None or (p.messages and p.sent("thank_you")):
        return ()  # thanks.once speaks about a second one; "late" would judge the first again
    due = add_hours(interviewed, ask.params["thanks.due_hours"])
    window = Window(interviewed, due)
    if ask.at <= due:
        return (window,)
    # Late; and stale (a stronger warning) once the stale days have passed as well.
    stale = add_days(interviewed, ask.params["thanks.stale_days"], ask.frame.timezone)
    if ask.at > stale:
        return (
            window,
            warn(
                f"the interview was more than {ask.params['thanks.stale_days']} days ago; "
                "a thank-you now reads as an afterthought: fold your thanks into a letter of "
                "interest"
            ),
        )
    return (
        window,
        warn(
            f"late: a thank-you is expected within {ask.params['thanks.due_hours']} h of the "
            f"interview (it was due by {ask.when(due)}); keep it short if you still send it"
        ),
    )


def _thanks_once(ask: Ask) -> Sequence[Say | Window]:
    sent = ask.target.sent("thank_you")
    if not sent:
        return ()
    return (
        block(
            f"{ask.target.name} was already thanked on {ask.when(sent[0].at)}; one is enough",
            final=True,
        ),
    )


def opens_after(
    ask: Ask, start: dt.datetime, days: int, too_soon: Callable[[dt.datetime], str]
) -> tuple[Say | Window, ...]:
    """A window that opens ``days`` calendar days after ``start`` (in the season's zone),
    and before it a block saying ``too_soon(opens)``."""
    opens = add_days(start, days, ask.frame.timezone)
    window = Window(opens)
    if ask.at >= opens:
        return (window,)
    return (window, block(too_soon(opens)))


def opens_after_interview(
    ask: Ask, interviewed: dt.datetime, letter: str, wait: str
) -> Sequence[Say | Window]:
    """A ``letter`` opens ``ask.params[wait]`` calendar days after the interview at
    ``interviewed``: the window's opening, and a block before it."""
    days = ask.params[wait]
    return opens_after(
        ask,
        interviewed,
        days,
        lambda opens: (
            f"too soon after the interview: {letter} opens {days} days after it, "
            f"on {ask.when(opens)}"
        ),
    )


def _interest_wait(ask: Ask) -> Sequence[Say | Window]:
    interviewed = ask.target.interviewed_at
    if interviewed is None:
        return ()
    return opens_after_interview(ask, interviewed, "a letter of interest", "interest.wait_days")


def recommended_window(ask: Ask) -> Sequence[Say | Window]:
    """Warn outside the recommended window for letters: from the day of the Match year
    set by ``interest.window_open_month`` and ``interest.window_open_day``, to
    ``interest.window_close_days`` before the rank list deadline.

    Letters are optional, so the window has no ``due_by``; it closes at the deadline.
    """
    f = ask.frame
    window = Window(None, None, f.deadline)
    if ask.at > f.deadline:
        return (window,)  # deadline.passed speaks then
    if ask.at < f.interest_opens:
        return (
            window,
            warn(
                f"earlier than recommended: letters land best from "
                f"{ask.when(f.interest_opens)}, after the interview season"
            ),
        )
    if ask.at > f.interest_closes:
        return (
            window,
            warn(
                f"later than recommended: aim for before {ask.when(f.interest_closes)}, "
                f"{ask.params['interest.window_close_days']} days before the rank list deadline"
            ),
        )
    return (window,)


def _interest_once(ask: Ask) -> Sequence[Say | Window]:
    sent = ask.target.sent("interest")
    if not sent:
        return ()
    return (
        block(
            f"{ask.target.name} already has your letter of interest ({ask.when(sent[0].at)}); "
            "a second one weakens the first",
            final=True,
        ),
    )


def _interest_limit(ask: Ask) -> Sequence[Say | Window]:
    limit = ask.params["interest.limit"]
    if ask.state.sent_counts.get("interest", 0) < limit:
        return ()  # fewer letters than the limit: fewer programs too
    written = sorted(p.id for p in ask.state.programs.values() if p.sent("interest"))
    if ask.target.id in written or len(written) < limit:
        return ()
    return (
        block(
            f"{len(written)} programs already have a letter of interest ({', '.join(written)}); "
            f"keep them for at most {limit} programs so each stays credible",
            final=True,
        ),
    )


THANKS_WINDOW = Rule("thanks.window", GUIDE, _thanks_window, due=True)
THANKS_ONCE = Rule("thanks.once", GUIDE, _thanks_once)
INTEREST_WAIT = Rule("interest.wait", GUIDE, _interest_wait)
INTEREST_WINDOW = Rule("interest.window", GUIDE, recommended_window)
INTEREST_ONCE = Rule("interest.once", GUIDE, _interest_once)
INTEREST_LIMIT = Rule("interest.limit", GUIDE, _interest_limit)
