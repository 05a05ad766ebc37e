"""The stored form of an event, as replay reads it.

A :class:`Record` is a plain named tuple: building one costs a fraction of a
pydantic model, and replay over tens of thousands of seasons needs that. Records
come from the store (already validated when written) or from :func:`to_record`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from json.encoder import encode_basestring
from typing import Any, NamedTuple

__all__ = [
    "GENESIS_HASH",
    "SCHEMA_VERSION",
    "Record",
    "canonical_event_json",
    "canonical_json",
    "chain_hash",
    "chain_hash_text",
    "parse_json",
    "parse_utc",
    "utc_iso",
]

SCHEMA_VERSION = 1
"""Current ``schema_version`` of newly written events."""

GENESIS_HASH = "0" * 64
"""The ``previous hash`` of the first event in a store."""


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

    def stored_fields(self) -> dict[str, Any]:
        """The fields covered by the hash, in their stored (JSON) form."""
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
        }


def utc_iso(moment: dt.datetime) -> str:
    """An aware datetime as the stored UTC ISO string (``2027-01-05T14:00:00+00:00``)."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    return moment.isoformat(timespec="microseconds")


def parse_utc(text: str) -> dt.datetime:
    """Parse a stored UTC ISO string back into an aware datetime."""
    return dt.datetime.fromisoformat(text)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# One encoder for every call: json.dumps with options builds a new one each time.


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL.encode(value)


_DECODER = json.JSONDecoder()


def parse_json(text: str) -> Any:
    """``json.loads`` for text without surrounding whitespace, at a fraction of its cost.

    Stored payloads and stripped import lines are such text; ``json.loads`` spends
    most of its time on checks for whitespace and byte-order marks around the value.
    Errors are the same :class:`json.JSONDecodeError`.
    """
    value, end = _DECODER.raw_decode(text)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def chain_hash(previous: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous event's hash and this event's canonical JSON."""
    return chain_hash_text(previous, canonical_json(fields))


def chain_hash_text(previous: str, canonical: str) -> str:
    """:func:`chain_hash` when the canonical JSON is already at hand."""
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def _encode(text: str | None) -> str:
    # The C string encoder json.dumps(ensure_ascii=False) itself uses.
    return "null" if text is None else encode_basestring(text)


def canonical_event_json(
    seq: int,
    season: str,
    program: str | None,
    kind: str,
    schema_version: int,
    occurred_at: str,
    recorded_at: str,
    payload_json: str,
    override: str | None,
) -> str:
    """``canonical_json(stored_fields)`` built from parts, with the payload already encoded.

    Appending a million events serializes each payload once instead of twice; a
    test holds this equal to :func:`canonical_json` of the same fields.
    """
    return (
        f'{{"occurred_at":{_encode(occurred_at)},"override":{_encode(override)},'
        f'"payload":{payload_json},"program":{_encode(program)},'
        f'"recorded_at":{_encode(recorded_at)},"schema_version":{schema_version},'
        f'"season":{_encode(season)},"seq":{seq},"type":{_encode(kind)}}}'
    )
