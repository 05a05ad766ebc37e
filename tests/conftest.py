"""Shared fixtures: a fixed clock, a real SQLite store in tmp_path, and a season built from
events (:class:`history.History`), plus the Hypothesis profiles.

``CI=1`` selects the ``ci`` profile (derandomized, bounded); ``HYPOTHESIS_PROFILE`` picks
one by name; otherwise ``dev`` (more examples, random).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from history import NOW, SEASON_ID, EventSpec, History
from hypothesis import settings

from prematch import engine
from prematch.engine import Season, Store

settings.register_profile("ci", derandomize=True, max_examples=50, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


PG_ENV = "PREMATCH_TEST_PG"
"""The URL of the PostgreSQL database the tests make their schemas in (`.ci/postgres.sh`
starts a server and sets it; `make test` runs it)."""


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The test database's URL: a test that needs PostgreSQL fails (never skips) without it."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(
            f"{PG_ENV} is not set: run the tests with `make test` (it starts a PostgreSQL "
            f"server), or `.ci/postgres.sh pytest ...`, or set {PG_ENV} to a postgresql:// "
            "URL of a database the tests may create schemas in"
        )
    return url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh, empty schema (dropped after the test)."""
    import uuid

    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


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
    return History().season(store, rulebook=engine.NoRules(), clock=clock)


@pytest.fixture
def season_of() -> Callable[..., Season]:
    """``season_of(store, events, clock)``: the standard :class:`~history.History` and a
    list of ``(type, program, at[, fields])`` events, recorded in ``store`` and judged by
    no rules (only the state machine)."""

    def season_of(
        store: Store, events: Sequence[EventSpec], clock: engine.Clock, season_id: str = SEASON_ID
    ) -> Season:
        history = History(season_id=season_id).then(events)
        return history.season(store, rulebook=engine.NoRules(), clock=clock)

    return season_of
