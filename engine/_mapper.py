"""Stored events <-> :class:`Record`: the stored row, upcasters, and the hashed-fields encoder.

A recorder keeps a :class:`StoredEvent` per event (the column values as written);
replay reads :class:`Record`. :func:`row_to_record` maps one way (upcasting old
payload shapes), :func:`stored_fields` the other, and :func:`hashed_json` is the
one encoding of the fields the chain hash covers, used by append and by verify.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from prematch.engine._records import (
    SCHEMA_VERSION,
    Record,
    canonical_json,
    parse_json,
    utc_iso,
)

__all__ = [
    "EVENT_COLUMNS",
    "RECORD_COLUMNS",
    "REPLAY_COLUMNS",
    "UPCASTERS",
    "StoredEvent",
    "Upcaster",
    "hashed_json",
    "replay_row_to_record",
    "replay_rows_to_records",
    "row_to_record",
    "rows_to_records",
    "stored_fields",
    "stored_hashed_json",
]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""A function turning one event type's payload into the next schema version's."""

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""``(event type, schema_version) -> function`` turning that payload into the next version's.

Empty while every stored event is at version 1; each future schema change adds
an entry here (and a frozen database in ``fixtures/compat/``).
"""


class StoredEvent(NamedTuple):
    """One event as a recorder keeps it: the record's fields in their stored (text) form,
    the chain hash, and the stream (``season/program``) with its version in that stream."""

    seq: int
    season: str
    program: str | None
    type: str
    schema_version: int
    occurred_at: str
    """UTC ISO text (:func:`~prematch.engine._records.utc_iso`)."""
    recorded_at: str
    payload: str
    """Canonical JSON of the payload (``{}`` when empty)."""
    override: str | None
    hash: str
    stream: str
    version: int


_new_tuple = tuple.__new__


def _upcast(kind: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    while version < SCHEMA_VERSION:
        step = UPCASTERS.get((kind, version))
        if step is not None:
            payload = step(payload)
        version += 1
    return version, payload


RECORD_COLUMNS = ", ".join(StoredEvent._fields[:10])
"""The columns a :class:`Record` is read from, in :func:`row_to_record` order (the first
ten of :class:`StoredEvent`), for a backend's ``SELECT``."""
REPLAY_COLUMNS = ", ".join(f for f in StoredEvent._fields[:10] if f not in ("recorded_at", "hash"))
"""The columns replay reads, in :func:`replay_row_to_record` order: :data:`RECORD_COLUMNS`
but ``recorded_at`` and ``hash``, which no fold, rule or audit reads."""
EVENT_COLUMNS = ", ".join(StoredEvent._fields)
"""Every stored column, in :class:`StoredEvent` order, for a backend's ``INSERT``."""

_parse_utc = dt.datetime.fromisoformat  # parse_utc without its call: this runs for every row read


def row_to_record(row: tuple[Any, ...]) -> Record:
    """Turn the first ten fields of a :class:`StoredEvent` (``seq`` to ``hash``, as a plain
    tuple) into a :class:`Record`, upcasting old payload shapes."""
    seq, season, program, kind, version, occurred, recorded, payload, override, digest = row
    data = {} if payload == "{}" else parse_json(payload)
    if version != SCHEMA_VERSION:
        version, data = _upcast(kind, version, data)
    # tuple.__new__ skips Record.__new__'s argument handling: this runs for every row read.
    return _new_tuple(
        Record,
        (
            seq,
            season,
            program,
            kind,
            version,
            _parse_utc(occurred),
            recorded,
            data,
            override,
            digest,
        ),
    )


def replay_row_to_record(row: tuple[Any, ...]) -> Record:
    """Turn a row of :data:`REPLAY_COLUMNS` into a :class:`Record` for replay, upcasting old
    payload shapes; its ``recorded_at`` and ``hash`` are empty (``""``): they were not read."""
    seq, season, program, kind, version, occurred, payload, override = row
    data = {} if payload == "{}" else parse_json(payload)
    if version != SCHEMA_VERSION:
        version, data = _upcast(kind, version, data)
    return _new_tuple(
        Record, (seq, season, program, kind, version, _parse_utc(occurred), "", data, override, "")
    )


_new_record = functools.partial(tuple.__new__, Record)  # a C call per record, no frame


def rows_to_records(rows: Iterable[tuple[Any, ...]]) -> list[Record]:
    """:func:`row_to_record` of every row (a season's, as a backend reads them), built a
    column at a time: C loops over each column instead of a Python call per row (which
    cost a cold audit 0.3 µs an event, 7 % of it)."""
    columns = list(zip(*rows, strict=True))
    return _records(columns) if columns else []


def replay_rows_to_records(rows: Iterable[tuple[Any, ...]]) -> list[Record]:
    """:func:`replay_row_to_record` of every row, a column at a time as
    :func:`rows_to_records` (``recorded_at`` and ``hash`` empty)."""
    columns = list(zip(*rows, strict=True))
    if not columns:
        return []
    seqs, seasons, programs, kinds, versions, occurred, payloads, overrides = columns
    blank = ("",) * len(seqs)
    return _records(
        [seqs, seasons, programs, kinds, versions, occurred, blank, payloads, overrides, blank]
    )


def _records(columns: Sequence[Sequence[Any]]) -> list[Record]:
    """The records of the ten columns :func:`row_to_record` reads (``seq`` .. ``hash``)."""
    seqs, seasons, programs, kinds, versions, occurred, recorded, payloads, overrides, digests = (
        columns
    )
    if versions.count(SCHEMA_VERSION) != len(versions):  # old payload shapes: upcast row by row
        return list(map(row_to_record, zip(*columns, strict=True)))
    data = [{} if p == "{}" else parse_json(p) for p in payloads]
    return list(
        map(
            _new_record,
            zip(
                seqs,
                seasons,
                programs,
                kinds,
                versions,
                map(_parse_utc, occurred),
                recorded,
                data,
                overrides,
                digests,
                strict=True,
            ),
        )
    )


def stored_fields(
    r: Record, seq: int, recorded_at: str
) -> tuple[int, str, str | None, str, int, str, str, str, str | None]:
    """The hashed fields of ``r`` in stored form and :func:`hashed_json` order, with the
    ``seq`` and ``recorded_at`` the recorder assigns. The payload is serialized here, once."""
    payload = canonical_json(r.payload) if r.payload else "{}"
    return (
        seq,
        r.season,
        r.program,
        r.type,
        r.schema_version,
        utc_iso(r.occurred_at),
        recorded_at,
        payload,
        r.override,
    )


def hashed_json(
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
    """The canonical JSON the chain hash covers: an object of the nine stored fields
    (``seq`` .. ``override``, ``type`` for ``kind``) with sorted keys and no spaces,
    built from parts with the payload already encoded as canonical JSON.

    Appending a million events serializes each payload once; a test holds this equal to
    :func:`~prematch.engine._records.canonical_json` of the same fields as a dict.
    """
    # The C string encoder json.dumps(ensure_ascii=False) itself uses, called inline (a
    # helper per field cost verify a fifth of this function's time); None is JSON null.
    q = encode_basestring
    return (
        f'{{"occurred_at":{"null" if occurred_at is None else q(occurred_at)},'
        f'"override":{"null" if override is None else q(override)},'
        f'"payload":{payload_json},"program":{"null" if program is None else q(program)},'
        f'"recorded_at":{"null" if recorded_at is None else q(recorded_at)},'
        f'"schema_version":{schema_version},"season":{"null" if season is None else q(season)},'
        f'"seq":{seq},"type":{"null" if kind is None else q(kind)}}}'
    )


def stored_hashed_json(event: Sequence[Any], seq: int | None = None) -> str | None:
    """:func:`hashed_json` of an event as found in the log (its payload re-encoded
    canonically), optionally as if it stood at ``seq``; None when a field no longer has
    its stored type (a payload that is not JSON, a number where text belongs).

    ``event`` is a :class:`StoredEvent`, or any row whose first nine values are its
    ``seq`` .. ``override``.
    """
    stored, season, program, kind, schema_version, occurred, recorded, payload, override = event[:9]
    try:
        canonical = canonical_json(parse_json(payload))
        if not isinstance(schema_version, int):
            return None
        return hashed_json(
            stored if seq is None else seq,
            season,
            program,
            kind,
            schema_version,
            occurred,
            recorded,
            canonical,
            override,
        )
    except (TypeError, ValueError):
        return None
