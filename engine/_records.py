"""The stored form of an event, as replay reads it.

A :class:`Record` is a plain named tuple: building one costs a fraction of a
pydantic model, and replay over tens of thousands of seasons needs that. Records
come from the store (already validated when written, mapped from their stored form
by :func:`prematch.engine._mapper.row_to_record`) or are built by the season and
the importer from validated events, to be appended.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from json.encoder import encode_basestring as _quote
from json.scanner import make_scanner
from typing import Any, NamedTuple, cast

__all__ = [
    "SCHEMA_VERSION",
    "Record",
    "canonical_json",
    "parse_json",
    "parse_utc",
    "utc_iso",
]

SCHEMA_VERSION = 1
"""Current ``schema_version`` of newly written events."""


class Record(NamedTuple):
    """One stored event (DESIGN §2 common fields)."""

    seq: int
    season: str
    program: str | None
    type: str
    schema_version: int
    occurred_at: dt.datetime
    recorded_at: str
    payload: dict[str, Any]
    override: str | None
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The stored event as JSON (``prematch schema --for event``): every common field
        of DESIGN §2, ``occurred_at`` in UTC, the payload as stored."""
        return {
            "seq": self.seq,
            "season": self.season,
            "program": self.program,
            "type": self.type,
            "schema_version": self.schema_version,
            "occurred_at": utc_iso(self.occurred_at),
            "recorded_at": self.recorded_at,
            "payload": self.payload,
            "override": self.override,
            "hash": self.hash,
        }


def utc_iso(moment: dt.datetime) -> str:
    """An aware datetime as the stored UTC ISO string (``2027-01-05T14:00:00+00:00``)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    # isoformat(timespec="microseconds") gives the same text at three times the cost (it
    # asks the timezone for its offset), an f-string at twice: an import formats each event's.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


def parse_utc(text: str) -> dt.datetime:
    """Parse a stored UTC ISO string back into an aware datetime."""
    return dt.datetime.fromisoformat(text)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# One encoder for every call: json.dumps with options builds a new one each time.


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept as is."""
    if value.__class__ is not dict:
        return _CANONICAL.encode(value)
    # Most payloads are a few texts and integers: joined here at 40 % of the encoder's
    # cost, with the string encoder it uses (the same text); anything else goes to it.
    try:
        keys = sorted(value)
    except TypeError:  # keys of different types: the encoder says so
        return _CANONICAL.encode(value)
    parts = []
    for key in keys:
        item = value[key]
        if key.__class__ is not str:
            return _CANONICAL.encode(value)
        if item.__class__ is str:
            parts.append(f"{_quote(key)}:{_quote(item)}")
        elif item.__class__ is int:
            parts.append(f"{_quote(key)}:{item}")
        else:
            return _CANONICAL.encode(value)
    return "{" + ",".join(parts) + "}"


# The scanner JSONDecoder.raw_decode calls (typeshed types make_scanner's argument as itself).
_SCAN = make_scanner(cast(Any, json.JSONDecoder()))


def parse_json(text: str, scan: Callable[[str, int], tuple[Any, int]] = _SCAN) -> Any:
    """``json.loads`` for text without surrounding whitespace, at a fraction of its cost.

    Stored payloads and stripped import lines are such text; ``json.loads`` spends
    most of its time on checks for whitespace and byte-order marks around the value,
    and ``raw_decode`` on a call of its own around the scanner, called here directly.
    ``scan`` is the scanner of another decoder (``make_scanner(decoder)``, with its hooks).
    Errors are the same :class:`json.JSONDecodeError`.
    """
    try:
        value, end = scan(text, 0)
    except StopIteration as e:  # what raw_decode turns into this error
        raise json.JSONDecodeError("Expecting value", text, e.value) from None
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value
