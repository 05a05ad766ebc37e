"""The per-program state machine of DESIGN §3, declared once with ``transitions``.

:data:`TRANSITIONS` is the single declaration. :func:`machine` builds one shared
``transitions.Machine(model=None)`` from it: the reference the compiled table is
tested against (the diagram, :func:`mermaid`, reads the declaration itself); :data:`TABLE` is the
``(state, trigger) -> next state`` table compiled from the same declaration, used
on the replay hot path.

A trigger is the event's type, except where one event type may lead to two places:
``interview_cancelled`` fires ``interview_cancelled_by_applicant`` or
``interview_cancelled_by_program`` (see :func:`trigger_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

__all__ = [
    "END_STATES",
    "INITIAL",
    "STATES",
    "TABLE",
    "TRANSITIONS",
    "allowed_triggers",
    "machine",
    "mermaid",
    "needs",
    "next_state",
    "sources_of",
    "trigger_of",
]

STATES: Final = (
    "listed",
    "applied",
    "waitlisted",
    "invited",
    "interviewed",
    "ranked",
    "rejected",
    "declined",
    "withdrawn",
)
"""Every state a program can be in."""

INITIAL: Final = "listed"
END_STATES: Final = frozenset({"rejected", "declined", "withdrawn"})
_LIVE = [s for s in STATES if s not in END_STATES]

TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": "applied", "source": ["listed"], "dest": "applied"},
    {"trigger": "waitlisted", "source": ["applied"], "dest": "waitlisted"},
    {"trigger": "invited", "source": ["listed", "applied", "waitlisted"], "dest": "invited"},
    {"trigger": "interviewed", "source": ["invited"], "dest": "interviewed"},
    {"trigger": "rejected", "source": ["listed", "applied", "waitlisted"], "dest": "rejected"},
    {"trigger": "declined", "source": ["invited"], "dest": "declined"},
    {"trigger": "withdrawn", "source": _LIVE, "dest": "withdrawn"},
    # The applicant cancels: the interview is declined. The program cancels: back to
    # applied, where it may invite again.
    {"trigger": "interview_cancelled_by_applicant", "source": ["invited"], "dest": "declined"},
    {"trigger": "interview_cancelled_by_program", "source": ["invited"], "dest": "applied"},
    # A certified rank order list puts a program on it (rank) or takes it off (unrank).
    {"trigger": "rank", "source": ["interviewed", "ranked"], "dest": "ranked"},
    {"trigger": "unrank", "source": ["ranked"], "dest": "interviewed"},
    # Communication events are internal transitions (dest=None): allowed, state unchanged.
    {"trigger": "inquiry_sent", "source": ["listed", "applied", "waitlisted"], "dest": None},
    {"trigger": "interview_rescheduled", "source": ["invited"], "dest": None},
    {"trigger": "thanked", "source": ["interviewed", "ranked"], "dest": None},
    {"trigger": "interest_sent", "source": ["interviewed", "ranked"], "dest": None},
    {"trigger": "intent_sent", "source": ["interviewed", "ranked"], "dest": None},
    {
        "trigger": "update_sent",
        "source": ["applied", "waitlisted", "invited", "interviewed", "ranked"],
        "dest": None,
    },
    {"trigger": "call_held", "source": list(STATES), "dest": None},
    {"trigger": "program_contacted", "source": list(STATES), "dest": None},
    {"trigger": "offer_received", "source": list(STATES), "dest": None},
    {"trigger": "connection_recorded", "source": list(STATES), "dest": None},
    {"trigger": "program_updated", "source": list(STATES), "dest": None},
    {"trigger": "note_added", "source": list(STATES), "dest": None},
    # A signal goes with the application, so before any answer to it.
    {"trigger": "signal_sent", "source": ["listed", "applied"], "dest": None},
    {"trigger": "advocate_contacted", "source": list(STATES), "dest": None},
]
"""The declaration: every trigger, the states it may fire from, and where it leads."""


def _compile() -> dict[tuple[str, str], str]:
    table: dict[tuple[str, str], str] = {}
    for t in TRANSITIONS:
        for source in t["source"]:
            table[(source, t["trigger"])] = t["dest"] or source
    return table


TABLE: Final = _compile()
"""``(state, trigger) -> next state``, compiled from :data:`TRANSITIONS`."""


_BY_INITIATOR: Final = frozenset({"interview_cancelled"})
"""Event types whose trigger depends on who initiated them (``initiated_by``)."""


def trigger_of(event_type: str, payload: Mapping[str, Any]) -> str:
    """The trigger an event of ``event_type`` with ``payload`` fires."""
    if event_type in _BY_INITIATOR:
        return f"{event_type}_by_{payload['initiated_by']}"
    return event_type


def next_state(state: str, trigger: str) -> str | None:
    """The state after ``trigger`` fires in ``state``, or ``None`` if it may not."""
    return TABLE.get((state, trigger))


def sources_of(trigger: str) -> list[str]:
    """The states ``trigger`` may fire from, in declaration order."""
    return [s for t in TRANSITIONS if t["trigger"] == trigger for s in t["source"]]


def needs(event: str, trigger: str | None = None) -> str:
    """What ``event`` (firing ``trigger``, by default its own type) needs, as a refusal
    says it: ``"thanked needs one of: interviewed, ranked"``."""
    return f"{event} needs one of: {', '.join(sources_of(trigger or event))}"


def allowed_triggers(state: str) -> list[str]:
    """Every trigger the machine allows from ``state``, in declaration order."""
    return [t["trigger"] for t in TRANSITIONS if state in t["source"]]


@cache
def machine() -> Any:
    """The one shared ``transitions.Machine`` (``model=None``) built from the declaration:
    the reference :data:`TABLE` is tested against (replay never builds it)."""
    from transitions import Machine

    return Machine(
        model=None,
        states=list(STATES),
        transitions=TRANSITIONS,
        initial=INITIAL,
        auto_transitions=False,
        send_event=False,
    )


def mermaid() -> str:
    """The state diagram as Mermaid ``stateDiagram-v2`` text, derived from the declaration."""
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL}"]
    loops: dict[str, list[str]] = {}
    for t in TRANSITIONS:
        for source in t["source"]:
            if t["dest"] is None:
                loops.setdefault(source, []).append(t["trigger"])
            else:
                lines.append(f"    {source} --> {t['dest']}: {t['trigger']}")
    for state in STATES:
        if state in loops:
            lines.append(f"    {state} --> {state}: {', '.join(loops[state])}")
    lines.extend(f"    {state} --> [*]" for state in sorted(END_STATES))
    return "\n".join(lines) + "\n"
