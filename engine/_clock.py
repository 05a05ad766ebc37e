"""The injectable clock, and how prematch reads instants typed by people (DESIGN §2).

A time typed with a UTC offset is exact. One typed without is a wall-clock time in a
zone the caller chooses (the intake: the program's or the season's, see
:data:`~prematch.engine._intake.AT_THE_PROGRAM`); a wall time that does not exist there
(the clocks jumped over it) or exists twice (the clocks went back over it) is an
:class:`InputError` that shows both readings and how to write each. A date alone is
"during that day" in the zone: :class:`TimeReading` keeps the day, and where the season's
records are at hand the event is placed within it
(:func:`~prematch.engine._intake.place_dates`).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from prematch.engine._errors import InputError

__all__ = [
    "Clock",
    "TimeReading",
    "checked_clock",
    "fixed_clock",
    "local_instant",
    "parse_instant",
    "read_instant",
    "read_time",
    "system_clock",
]

Clock = Callable[[], dt.datetime]
"""A function returning the current aware instant. Embedders and tests pass their own."""

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LAST_MICROSECOND = dt.time(23, 59, 59, 999_999)


def system_clock() -> dt.datetime:
    """The real current instant, in UTC."""
    return dt.datetime.now(dt.UTC)


def checked_clock(clock: Clock) -> Clock:
    """``clock``, its every answer checked: an aware datetime, or :class:`InputError` (an
    embedder's clock without an offset failed later, comparing naive with aware times)."""
    if clock is system_clock:
        return clock

    def now() -> dt.datetime:
        moment = clock()
        if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
            raise InputError(
                f"the clock gave {moment!r}: it must give an aware datetime (with a UTC offset)"
            )
        return moment

    return now


def fixed_clock(moment: dt.datetime) -> Clock:
    """A clock that always answers ``moment`` (which must be aware)."""
    if moment.tzinfo is None:
        raise InputError("a clock needs an aware datetime (with a UTC offset)")
    return lambda: moment


@dataclass(frozen=True, slots=True)
class TimeReading:
    """How a typed time was read: the instant, and the zone and day when the text named none.

    ``zone`` is ``None`` when the text carried its own UTC offset. ``day`` is set when the
    text was a date alone: then ``instant`` is the start of that day in ``zone``, and the
    event belongs anywhere in the day up to :attr:`day_end`.
    """

    text: str
    instant: dt.datetime
    zone: str | None = None
    day: dt.date | None = None
    whose: str = "the season's"
    """Whose timezone ``zone`` is, as the output says it ("the program's", "the season's")."""

    @property
    def day_end(self) -> dt.datetime | None:
        """The last instant (microsecond) of :attr:`day` in :attr:`zone`, or ``None``."""
        if self.day is None or self.zone is None:
            return None
        last = dt.datetime.combine(self.day, _LAST_MICROSECOND, zoneinfo.ZoneInfo(self.zone))
        return last.replace(fold=1)  # the later one, where the clocks go back over midnight

    def describe(self, placed: dt.datetime | None = None, *, refused: bool = False) -> str | None:
        """One line saying how the text was read (``None`` if it carried its offset).

        ``placed`` is where a date alone landed in its day, when it was recorded;
        ``refused``: nothing was recorded (the line says when that day begins).
        """
        if self.zone is None:
            return None
        zone = zoneinfo.ZoneInfo(self.zone)
        if self.day is None:
            local = self.instant.astimezone(zone)
            return (
                f"read {self.text} as {_clock_text(local)} {self.zone} ({_offset(local)}), "
                f"{self.whose} timezone"
            )
        local = (placed or self.instant).astimezone(zone)
        if refused:
            return (
                f"read {self.text} as that day in {self.zone}, {self.whose} timezone "
                f"(from {_clock_text(local)}, {_offset(local)})"
            )
        # A date placed after the same day's earlier event sits a microsecond after it:
        # say so in words rather than print the microsecond.
        when = (
            f"just after {_clock_text(local.replace(microsecond=0))}"
            if local.microsecond
            else f"at {_clock_text(local)}"
        )
        return (
            f"read {self.text} as during that day in {self.zone}, {self.whose} timezone: "
            f"recorded {when} ({_offset(local)})"
        )


def _clock_text(local: dt.datetime) -> str:
    if local.microsecond:
        return local.strftime("%H:%M:%S.%f")
    return local.strftime("%H:%M:%S" if local.second else "%H:%M")


def _offset(moment: dt.datetime) -> str:
    total = int((moment.utcoffset() or dt.timedelta()).total_seconds()) // 60
    hours, minutes = divmod(abs(total), 60)
    return f"{'-' if total < 0 else '+'}{hours:02d}:{minutes:02d}"


def local_instant(wall: dt.datetime, timezone: str, *, text: str, field: str) -> dt.datetime:
    """The aware instant of the naive ``wall`` time in ``timezone``.

    A wall time the clocks skipped (a DST gap) or passed twice (a DST fall-back) is an
    :class:`InputError` that shows both readings, each written with its offset.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    readings = [_exact(wall, moment) for moment in (first, second)]
    round_trip = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip == wall:
        raise InputError(
            f"{text!r} happens twice in {timezone} (the clocks go back over it): "
            f"{readings[0]} is the first time, {readings[1]} an hour later; "
            "write the one you mean with its offset",
            field=field,
        )
    raise InputError(
        f"{text!r} does not exist in {timezone} (the clocks skip over it): with the offset "
        f"before the change it is {readings[0]} (= {_in_zone(first, zone)}), with the offset "
        f"after it {readings[1]} (= {_in_zone(second, zone)}); write the one you mean",
        field=field,
    )


def _exact(wall: dt.datetime, moment: dt.datetime) -> str:
    whole_minutes = not wall.second and not wall.microsecond
    return wall.isoformat(timespec="minutes" if whole_minutes else "auto") + _offset(moment)


def _in_zone(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(dt.UTC).astimezone(zone)
    return f"{_clock_text(local)} {local.tzname()}"


EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
"""The years an instant may fall in: outside them a date is a typo (and near year 1 or
9999 a conversion between timezones would overflow)."""


def _in_range(moment: dt.datetime | dt.date, text: str, field: str) -> None:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise InputError(
            f"{text!r} is out of range: give a date between the years {EARLIEST_YEAR} and "
            f"{LATEST_YEAR}",
            field=field,
        )


def read_time(
    text: str, timezone: str | None, *, whose: str = "the season's", field: str = "at"
) -> TimeReading:
    """Read ``text``: an ISO datetime with offset (exact), or without one, or a date alone
    (both in ``timezone``, which is ``whose`` timezone). Without a ``timezone`` only a
    datetime with offset is accepted."""
    value = text.strip()
    try:
        if len(value) == 10 and _DATE_ONLY.match(value):
            day = dt.date.fromisoformat(value)
            _in_range(day, value, field)
            if timezone is None:
                raise InputError(
                    f"{value!r} is a date; give a datetime with offset (no season timezone known)",
                    field=field,
                )
            # The day's first instant: midnight, or when the clocks jump past a missing one.
            start = dt.datetime.combine(day, dt.time(), zoneinfo.ZoneInfo(timezone))
            return TimeReading(value, start, timezone, day, whose)
        moment = dt.datetime.fromisoformat(value)  # also reads a trailing Z (Python 3.11)
    except ValueError:
        raise InputError(
            f"{text!r} is not an ISO date or datetime (e.g. 2027-01-05T14:30 or "
            "2027-01-05T14:30:00-05:00)",
            field=field,
        ) from None
    _in_range(moment, value, field)
    if moment.tzinfo is not None:
        return TimeReading(value, moment)
    if timezone is None:
        raise InputError(
            f"{text!r} has no UTC offset; write it like 2027-01-05T14:30:00-05:00", field=field
        )
    return TimeReading(
        value, local_instant(moment, timezone, text=value, field=field), timezone, None, whose
    )


def parse_instant(text: str, timezone: str | None = None, *, field: str = "at") -> dt.datetime:
    """Read an ISO datetime with offset, or without one or a bare date in ``timezone``
    (a date is its first instant, midnight where the day has one).

    Without a ``timezone``, a datetime without an offset is refused.
    """
    return read_time(text, timezone, field=field).instant


def read_instant(
    value: dt.datetime | str, timezone: str | None = None, *, field: str = "at"
) -> dt.datetime:
    """``value`` as an aware instant: a datetime (which must be aware) as it is, text as
    :func:`parse_instant` reads it (in ``timezone``)."""
    if isinstance(value, str):
        return parse_instant(value, timezone, field=field)
    if value.tzinfo is None:
        raise InputError(
            "naive datetime: give an aware datetime (with a UTC offset), or the time as text "
            "(read in the season's or the program's timezone)",
            field=field,
        )
    _in_range(value, value.isoformat(), field)
    return value
