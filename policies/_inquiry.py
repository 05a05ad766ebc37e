"""Pre-interview inquiries (``inquiry.*``): rare, once, and only with a real connection."""

from __future__ import annotations

from collections.abc import Sequence

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, block, warn

__all__ = ["INQUIRY_CONNECTION", "INQUIRY_MASS", "INQUIRY_ONCE", "INQUIRY_WINDOW"]


def _once(ask: Ask) -> Sequence[Say | Window]:
    sent = ask.target.sent("inquiry")
    if not sent:
        return ()
    return (
        block(
            f"you already wrote to {ask.target.name} before an interview "
            f"({ask.when(sent[0].at)}); one inquiry per program",
            final=True,
        ),
    )


def _connection(ask: Ask) -> Sequence[Say | Window]:
    if ask.target.connections:
        return ()
    return (
        block(
            f"no recorded connection to {ask.target.name} (observership, research, "
            "employment, mentor, rotation); without one an inquiry does not help — record it "
            "with `prematch log connection-recorded` if there is one"
        ),
    )


def _window(ask: Ask) -> Sequence[Say | Window]:
    f = ask.frame
    window = Window(f.inquiry_opens, None, f.inquiry_closes)
    if ask.at < f.inquiry_opens:
        return (
            window,
            block(
                f"too early: inquiries make sense from {ask.when(f.inquiry_opens)}, once "
                "programs have started inviting"
            ),
        )
    if ask.at >= f.inquiry_closes:
        return (
            window,
            block(
                f"the interview season is over (inquiries closed {ask.when(f.inquiry_closes)})",
                final=True,
            ),
        )
    if ask.at >= f.inquiry_late:
        return (
            window,
            warn(
                f"late in the season (after {ask.when(f.inquiry_late)}); most invitations "
                "have gone out"
            ),
        )
    return (window,)


def _mass(ask: Ask) -> Sequence[Say | Window]:
    limit = ask.params["inquiry.mass_limit"]
    count = ask.state.sent_counts.get("inquiry", 0)
    if count < limit:
        return ()
    return (
        warn(
            f"this would be inquiry number {count + 1} this season; more than {limit} "
            "looks like mass mailing and can hurt your reputation"
        ),
    )


INQUIRY_ONCE = Rule("inquiry.once", GUIDE, _once)
INQUIRY_CONNECTION = Rule("inquiry.connection", GUIDE, _connection)
INQUIRY_WINDOW = Rule("inquiry.window", GUIDE, _window)
INQUIRY_MASS = Rule("inquiry.mass", GUIDE, _mass)
