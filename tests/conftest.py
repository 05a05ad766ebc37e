"""Shared fixtures: a fixed clock, a real SQLite store in tmp_path, and a season built from events.

Tests read as a season: a list of ``(type, program, at, fields)`` events, then a question::

    def test_thanks_after_interview(store, clock, season_of):
        season = season_of(store, [
            ("program_added", "mercy", "2026-09-21", {"name": "Mercy IM"}),
            ("invited", "mercy", "2026-10-01", {}),
            ("interviewed", "mercy", "2026-10-20T09:00-04:00", {}),
        ], clock)
        assert season.state().programs["mercy"].state == "interviewed"
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from prematch import engine
from prematch.engine import Season, Store

settings.register_profile("ci", derandomize=True, max_examples=50, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

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


@pytest.fixture
def clock() -> engine.Clock:
    """A clock fixed at 2027-01-15T14:00Z."""
    return engine.fixed_clock(NOW)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the season database lives (not created yet)."""
    return tmp_path / "season.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A fresh store on a real SQLite file, closed at teardown."""
    opened = Store.open(db_path)
    yield opened
    opened.close()


@pytest.fixture
def season(store: Store, clock: engine.Clock) -> Season:
    """An Internal Medicine 2027 season (J-1 visa, New York time) with no rulebook."""
    return build_season(store, [], clock, rulebook=engine.NoRules())


@pytest.fixture
def season_of() -> Callable[..., Season]:
    """``season_of(store, events, clock)``: a season built from a list of events, judged by
    no rules (only the state machine)."""
    return functools.partial(build_season, rulebook=engine.NoRules())
