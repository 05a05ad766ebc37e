"""The injectable clock, and how prematch reads instants typed by people."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable

from prematch.engine._errors import InputError

__all__ = ["Clock", "fixed_clock", "parse_instant", "read_instant", "system_clock"]

Clock = Callable[[], dt.datetime]
"""A function returning the current aware instant. Embedders and tests pass their own."""

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def system_clock() -> dt.datetime:
    """The real current instant, in UTC."""
    return dt.datetime.now(dt.UTC)


def fixed_clock(moment: dt.datetime) -> Clock:
    """A clock that always answers ``moment`` (which must be aware)."""
    if moment.tzinfo is None:
        raise InputError("a clock needs an aware datetime (with a UTC offset)")
    return lambda: moment


def parse_instant(text: str, timezone: str | None = None, *, field: str = "at") -> dt.datetime:
    """Read an ISO datetime with offset, or a bare date (midnight in ``timezone``).

    A datetime without an offset is refused: prematch never guesses a zone for an instant.
    """
    value = text.strip()
    try:
        if len(value) == 10 and _DATE_ONLY.match(value):
            day = dt.date.fromisoformat(value)
            if timezone is None:
                raise InputError(
                    f"{value!r} is a date; give a datetime with offset (no season timezone known)",
                    field=field,
                )
            return dt.datetime.combine(day, dt.time(), zoneinfo.ZoneInfo(timezone))
        moment = dt.datetime.fromisoformat(value)  # also reads a trailing Z (Python 3.11)
    except ValueError:
        raise InputError(
            f"{text!r} is not an ISO date or datetime (e.g. 2027-01-05T14:30:00-05:00)",
            field=field,
        ) from None
    if moment.tzinfo is None:
        raise InputError(
            f"{text!r} has no UTC offset; write it like 2027-01-05T14:30:00-05:00", field=field
        )
    return moment


def read_instant(
    value: dt.datetime | str, timezone: str | None = None, *, field: str = "at"
) -> dt.datetime:
    """``value`` as an aware instant: a datetime (which must be aware) as it is, text as
    :func:`parse_instant` reads it (a bare date is midnight in ``timezone``)."""
    if isinstance(value, str):
        return parse_instant(value, timezone, field=field)
    if value.tzinfo is None:
        raise InputError("naive datetime: give an aware datetime (with a UTC offset)", field=field)
    return value
