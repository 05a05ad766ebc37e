"""The one table from the actions an applicant may take to the events that record them.

:data:`ACTION_EVENTS` is the declaration (DESIGN §4); every other view of it
(:data:`ACTIONS`, :data:`MESSAGE_EVENTS`) is derived here.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["ACTIONS", "ACTION_EVENTS", "MESSAGE_EVENTS"]

ACTION_EVENTS: Final = MappingProxyType(
    {
        "inquiry": "inquiry_sent",
        "thank_you": "thanked",
        "update": "update_sent",
        "interest": "interest_sent",
        "intent": "intent_sent",
    }
)
"""Each action an applicant may take, and the event ``log`` records for it."""

ACTIONS: Final[tuple[str, ...]] = tuple(ACTION_EVENTS)
"""The actions, in the order of DESIGN §4."""

MESSAGE_EVENTS: Final = MappingProxyType({event: action for action, event in ACTION_EVENTS.items()})
"""The applicant-initiated message events, and the action each one records."""
