"""A season as a list of events: the builder the library tests share.

Tests read as a season: a list of ``(type, program, at, fields)`` events, then a question::

    season = build_season(store, [
        ("program_added", "mercy", "2026-09-21", {"name": "Mercy IM"}),
        ("invited", "mercy", "2026-10-01", {}),
        ("interviewed", "mercy", "2026-10-20T09:00-04:00", {}),
    ], clock)
    assert season.state().programs["mercy"].state == "interviewed"

The ``season_of`` fixture of ``conftest.py`` hands out :func:`build_season`; modules that
call it directly import it from here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from prematch import engine
from prematch.engine import Season, Store

SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
"""Where throwaway season files go (``tempfile``'s ``dir``): real SQLite files, on a RAM
disk where there is one (fsync is most of the cost of a write, and the property tests
write thousands of times)."""

NOW = datetime(2027, 1, 15, 14, tzinfo=UTC)
"""What the fixed clock answers: mid-January of the 2027 Match season."""

SEASON_ID = "im-2027"
SEASON_START = "2026-09-20T10:00:00-04:00"
SEASON_FIELDS: dict[str, Any] = {
    "match_year": 2027,
    "specialty": "Internal Medicine",
    "timezone": "America/New_York",
    "visa": "j1",
    "applicant_name": "Test Applicant",
}

EventSpec = tuple[Any, ...]
"""``(type, program, at, fields)``; ``fields`` may be left off when empty."""


def build_season(
    store: Store,
    events: Sequence[EventSpec],
    clock: engine.Clock,
    *,
    rulebook: engine.RulebookProtocol,
    season_id: str = SEASON_ID,
) -> Season:
    """Start the standard test season in ``store`` and record ``events`` in the order given."""
    season = Season.start(
        store, season_id, at=SEASON_START, clock=clock, rulebook=rulebook, **SEASON_FIELDS
    )
    for kind, program, at, *rest in events:
        fields: dict[str, Any] = rest[0] if rest else {}
        season.record(kind, program, at=at, **fields)
    return season
