"""NRMP calendars (DESIGN §8): one TOML file per Match year, with per-season overrides."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from prematch.engine._errors import InputError
from prematch.engine._resources import fixtures_dir

__all__ = ["CALENDAR_DATES", "Calendar", "load_calendar"]

CALENDAR_DATES = (
    "applications_open",
    "rank_list_opens",
    "rank_list_deadline",
    "match_week_start",
    "soap_end",
    "match_day",
)
"""The dated fields of a calendar, each an aware datetime in UTC.

UTC, whatever offset the file or an override wrote: rules compare these with
event instants, which are UTC, and comparing datetimes of two different
``tzinfo`` objects costs about fifteen times as much.
"""


@dataclass(frozen=True, slots=True)
class Calendar:
    """The key instants of one Match year."""

    match_year: int
    applications_open: dt.datetime
    rank_list_opens: dt.datetime
    rank_list_deadline: dt.datetime
    match_week_start: dt.datetime
    soap_end: dt.datetime
    match_day: dt.datetime
    provisional: bool
    source: str

    def with_overrides(self, overrides: Mapping[str, dt.datetime] | None) -> Calendar:
        """This calendar with some dates replaced (a season's own overrides)."""
        if not overrides:
            return self
        unknown = set(overrides) - set(CALENDAR_DATES)
        if unknown:
            raise InputError(
                f"unknown calendar date {sorted(unknown)[0]!r}; known: {', '.join(CALENDAR_DATES)}",
                field="calendar",
            )
        changes: dict[str, Any] = {k: v.astimezone(dt.UTC) for k, v in overrides.items()}
        return replace(self, **changes)


@cache
def load_calendar(match_year: int) -> Calendar:
    """The calendar of ``match_year`` from ``fixtures/calendars/<year>.toml``."""
    path = fixtures_dir() / "calendars" / f"{match_year}.toml"
    if not path.exists():
        have = sorted(p.stem for p in path.parent.glob("*.toml"))
        raise InputError(
            f"no NRMP calendar for the {match_year} Match (have: {', '.join(have)}); "
            f"add fixtures/calendars/{match_year}.toml or give the dates in the season",
            field="match_year",
        )
    with path.open("rb") as f:
        data = tomllib.load(f)
    values: dict[str, dt.datetime] = {}
    for name in CALENDAR_DATES:
        value = data.get(name)
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise InputError(f"{path}: {name} must be a datetime with an offset", field=name)
        values[name] = value.astimezone(dt.UTC)
    return Calendar(
        match_year=match_year,
        provisional=bool(data.get("provisional", False)),
        source=str(data.get("source", "")),
        **values,
    )
