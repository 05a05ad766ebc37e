"""Interview changes (``interview.cancel_notice``): cancel or move an interview in good time."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from prematch.engine import Window
from prematch.policies._context import NRMP, Ask, Rule, Say, warn

__all__ = ["CANCEL_NOTICE"]


def _notice(ask: Ask) -> Sequence[Say | Window]:
    if ask.detail.get("initiated_by") != "applicant":
        return ()
    p = ask.target
    day = p.interview_on
    if day is None:
        return ()  # no date on record: nothing to measure the notice against
    today = ask.at.astimezone(ZoneInfo(p.timezone or ask.frame.timezone)).date()
    days = ask.params["interview.notice_days"]
    notice = (day - today).days
    if notice >= days:
        return ()
    what = "cancelling" if ask.action == "interview_cancelled" else "moving"
    given = "1 day's" if notice == 1 else f"{max(notice, 0)} days'"
    return (
        warn(
            f"{what} the {day.isoformat()} interview with {p.name} gives {given} notice; "
            f"give at least {days} days so the place can go to someone else, and apologise"
        ),
    )


CANCEL_NOTICE = Rule("interview.cancel_notice", NRMP, _notice)
