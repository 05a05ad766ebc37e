"""NRMP calendars (DESIGN §8): one TOML file per Match year, with per-season overrides."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from prematch.engine._errors import InputError
from prematch.engine._resources import fixtures_dir

__all__ = [
    "CALENDAR_DATES",
    "Calendar",
    "calendar_for",
    "load_calendar",
    "read_calendar_file",
    "season_margins",
]

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


def _dates(data: Mapping[str, Any], where: str) -> dict[str, dt.datetime]:
    values: dict[str, dt.datetime] = {}
    for name in CALENDAR_DATES:
        value = data.get(name)
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise InputError(
                f"{where}: {name} must be a datetime with an offset "
                "(e.g. 2028-03-01T21:00:00-05:00)",
                field=name,
            )
        values[name] = value.astimezone(dt.UTC)
    return values


@cache
def load_calendar(match_year: int) -> Calendar:
    """The calendar of ``match_year`` from ``fixtures/calendars/<year>.toml``."""
    path = fixtures_dir() / "calendars" / f"{match_year}.toml"
    if not path.exists():
        have = sorted(p.stem for p in path.parent.glob("*.toml"))
        raise InputError(
            f"no NRMP calendar for the {match_year} Match ships with prematch "
            f"(have: {', '.join(have)}); give the six dates ({', '.join(CALENDAR_DATES)}) "
            "with `prematch init --calendar FILE.toml`",
            field="match_year",
        )
    with path.open("rb") as f:
        data = tomllib.load(f)
    return Calendar(
        match_year=match_year,
        provisional=bool(data.get("provisional", False)),
        source=str(data.get("source", "")),
        **_dates(data, str(path)),
    )


SEASON_MARGINS = ("season.opens_days_before", "season.closes_days_after")
"""The policy parameters that widen a season's span (see :func:`season_margins`)."""


@cache
def _default_margins() -> tuple[int, int]:
    with (fixtures_dir() / "rulebook" / "defaults.toml").open("rb") as f:
        table = tomllib.load(f)["season"]
    return int(table["opens_days_before"]), int(table["closes_days_after"])


def season_margins(policy: Mapping[str, float | int]) -> tuple[int, int]:
    """How many days before applications open a season's events may be dated, and how
    many after Match Day: the season's ``policy`` values of :data:`SEASON_MARGINS`, else
    the defaults of ``fixtures/rulebook/defaults.toml``."""
    before, after = _default_margins()
    return int(policy.get(SEASON_MARGINS[0], before)), int(policy.get(SEASON_MARGINS[1], after))


@cache
def _bundled(match_year: int) -> bool:
    """Whether a calendar of ``match_year`` ships with prematch (asked once per year, not
    once per season replayed)."""
    return (fixtures_dir() / "calendars" / f"{match_year}.toml").exists()


def calendar_for(match_year: int, dates: Mapping[str, dt.datetime] | None) -> Calendar:
    """The calendar of a season: the bundled one of ``match_year`` with the season's own
    ``dates`` over it; for a year with none bundled, the season's dates alone, when all
    six are given (marked provisional: nobody checked them against NRMP here)."""
    if _bundled(match_year) or not dates:
        return load_calendar(match_year).with_overrides(dates)
    unknown = sorted(set(dates) - set(CALENDAR_DATES))
    missing = [n for n in CALENDAR_DATES if n not in dates]
    if unknown or missing:
        raise InputError(
            f"no NRMP calendar for the {match_year} Match ships with prematch, so the season "
            f"needs all six dates ({', '.join(CALENDAR_DATES)}); "
            + (f"unknown: {', '.join(unknown)}" if unknown else f"missing: {', '.join(missing)}"),
            field="calendar",
        )
    return Calendar(
        match_year=match_year,
        provisional=True,
        source=f"dates given with the season (no {match_year} calendar ships with prematch)",
        **{n: dates[n].astimezone(dt.UTC) for n in CALENDAR_DATES},
    )


def read_calendar_file(path: Path) -> dict[str, dt.datetime]:
    """The dates of a calendar file for ``init --calendar``: TOML with some or all of the
    keys of :data:`CALENDAR_DATES`, each a datetime with an offset (``provisional`` and
    ``source`` are allowed and ignored: a season's own dates are always provisional)."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: not a readable TOML file ({e})", field="calendar") from e
    dates = {k: v for k, v in data.items() if k not in ("provisional", "source")}
    unknown = sorted(set(dates) - set(CALENDAR_DATES))
    if unknown:
        raise InputError(
            f"{path}: unknown calendar key {unknown[0]!r}; known: {', '.join(CALENDAR_DATES)}",
            field="calendar",
        )
    for name, value in dates.items():
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise InputError(
                f"{path}: {name} must be a datetime with an offset "
                "(e.g. 2028-03-01T21:00:00-05:00)",
                field=name,
            )
    return dates
