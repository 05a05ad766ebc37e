"""Letters of intent (``intent.*``): one per season, honest, after the interviews."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, block, warn
from prematch.policies._timing import opens_after_interview, recommended_window

__all__ = [
    "INTENT_AFTER",
    "INTENT_CERTIFY",
    "INTENT_HONESTY",
    "INTENT_SEASON_WINDOW",
    "INTENT_SINGLE",
    "INTENT_WINDOW",
]


def _single(ask: Ask) -> Sequence[Say | Window]:
    if ask.state.sent_counts.get("intent", 0) < ask.params["intent.limit"]:
        return ()
    intents = ask.state.intents()
    names = ", ".join(sorted({ask.state.programs[pid].name for pid, _ in intents}))
    return (
        block(
            f"a letter of intent already went to {names}; telling a second program it is "
            "your first choice would be dishonest",
            final=True,
        ),
    )


def _after_interviews(ask: Ask) -> Sequence[Say | Window]:
    # Invited programs only: a declined, cancelled or rejected interview is not to come, and
    # a rescheduled one is judged by its new date.
    to_come: list[str] = []
    unrecorded: list[str] = []
    for p in sorted(ask.state.programs.values(), key=lambda p: p.id):
        if p.state != "invited":
            continue
        today = ask.at.astimezone(ZoneInfo(p.timezone or ask.frame.timezone)).date()
        if p.interview_on is not None and p.interview_on < today:
            unrecorded.append(f"{p.id} on {p.interview_on.isoformat()}")
        else:
            to_come.append(p.id)
    found: list[Say | Window] = []
    if to_come:
        count = f"{len(to_come)} interview" + ("s" if len(to_come) > 1 else "")
        found.append(
            warn(
                f"{count} still to come ({', '.join(to_come)}); a letter of intent "
                "is a promise best made once every interview is done"
            )
        )
    if unrecorded:
        found.append(
            warn(
                f"an interview date has passed with nothing recorded ({', '.join(unrecorded)}): "
                "log interviewed, interview-rescheduled or interview-cancelled for it, so the "
                "season shows which interviews are still to come"
            )
        )
    return found


def _window(ask: Ask) -> Sequence[Say | Window]:
    interviewed = ask.target.interviewed_at
    if interviewed is None:
        return recommended_window(ask)
    return (
        *opens_after_interview(ask, interviewed, "a letter of intent", "intent.wait_days"),
        *recommended_window(ask),
    )


def _season_window(ask: Ask) -> Sequence[Say | Window]:
    """The season's one letter of intent: it opens ``intent.wait_days`` after the first
    interview (to whichever program it goes), in the recommended window of letters."""
    done = [p.interviewed_at for p in ask.state.programs.values() if p.interviewed_at is not None]
    if not done:
        return (
            block("a letter of intent follows an interview; none has taken place yet"),
            *recommended_window(ask),
        )
    return (
        *opens_after_interview(ask, min(done), "a letter of intent", "intent.wait_days"),
        *recommended_window(ask),
    )


def _honesty_at_intent(ask: Ask) -> Sequence[Say | Window]:
    order = ask.state.rank_order
    if not order or order[0] == ask.target.id:
        return ()
    first = ask.state.programs[order[0]].name
    return (
        block(
            f"your certified rank list puts {first} first; a letter of intent to "
            f"{ask.target.name} must match it (re-certify first if it is really your #1)"
        ),
    )


def _honesty_at_certify(ask: Ask) -> Sequence[Say | Window]:
    order = ask.detail.get("order") or []
    return [
        block(
            f"your letter of intent promised {ask.state.programs[pid].name} the first "
            "place; this list does not rank it first"
        )
        for pid, _ in ask.state.intents()
        if not order or order[0] != pid
    ]


INTENT_SINGLE = Rule("intent.single", GUIDE, _single)
INTENT_AFTER = Rule("intent.after_interviews", GUIDE, _after_interviews)
INTENT_WINDOW = Rule("intent.window", GUIDE, _window)
INTENT_SEASON_WINDOW = Rule("intent.window", GUIDE, _season_window)
INTENT_HONESTY = Rule("intent.honesty", GUIDE, _honesty_at_intent)
INTENT_CERTIFY = Rule("intent.honesty", GUIDE, _honesty_at_certify)
