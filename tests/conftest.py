"""Shared fixtures: a fixed clock, a real SQLite store in tmp_path, and a season built from
events (:func:`history.build_season`), plus the Hypothesis profiles.

``CI=1`` selects the ``ci`` profile (derandomized, bounded); ``HYPOTHESIS_PROFILE`` picks
one by name; otherwise ``dev`` (more examples, random).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from history import NOW, build_season
from hypothesis import settings

from prematch import engine
from prematch.engine import Season, Store

settings.register_profile("ci", derandomize=True, max_examples=50, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


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
