"""Replay: fold a season's records, in replay order, into its state.

Replay order is ``(phase, occurred_at, seq)`` (DESIGN §2): phase 0 is ``season_started``,
phase 1 ``program_added``, phase 2 everything else. The season and its programs exist
at every instant of the season, so a season started in January can be back-filled with
September's events, in any order. :func:`live_records` picks the records that count as
of an instant (retractions honoured); :func:`fold` applies them one by one with
:func:`~prematch.engine._state.evolve` and yields what a rulebook says about each record
against the state just before it. Audit, enforcement and queries are all built on this one fold.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Collection, Iterable, Iterator

from prematch.engine._errors import PrematchError, StructuralError, located
from prematch.engine._records import Record
from prematch.engine._rulebook import NoRules, RulebookProtocol
from prematch.engine._state import SeasonState, evolve
from prematch.engine._verdicts import Finding, Judged

__all__ = [
    "FOUNDING",
    "fold",
    "in_replay_order",
    "live_records",
    "phase",
    "replay",
    "replay_key",
    "retracted_seqs",
]

FOUNDING = {"season_started": 0, "program_added": 1}
"""The event types that exist at every instant, with their replay phase (others: 2)."""

_AT, _SEQ, _TYPE = (operator.attrgetter(name) for name in ("occurred_at", "seq", "type"))
_new_tuple = tuple.__new__  # skips Judged.__new__'s argument handling: one per record folded


def phase(event_type: str) -> int:
    """The replay phase of an event type: 0 ``season_started``, 1 ``program_added``, 2 others."""
    return FOUNDING.get(event_type, 2)


def replay_key(record: Record) -> tuple[int, dt.datetime, int]:
    """Where a record goes in replay order: ``(phase, occurred_at, seq)``."""
    return phase(record.type), record.occurred_at, record.seq


def in_replay_order(records: list[Record]) -> list[Record]:
    """``records`` sorted by :func:`replay_key` (the list is sorted in place and returned).

    Sorts by ``seq`` and then, stably, by ``occurred_at`` (so by ``(occurred_at, seq)``
    without a key tuple per record), and then moves the few founding records to the
    front, keeping their order: the same order as sorting by the key, at less cost.
    Most seasons need no move: their ``season_started`` and every ``program_added``
    already come first.
    """
    records.sort(key=_SEQ)
    records.sort(key=_AT)
    types = list(map(_TYPE, records))
    founded = 1 + types.count("program_added")
    if (
        types[:1] == ["season_started"]
        and types.count("season_started") == 1
        and types[1:founded].count("program_added") == founded - 1
    ):
        return records
    founding = [r for r in records if r.type in FOUNDING]
    founding.sort(key=replay_key)
    if founding != records[: len(founding)]:
        records[:] = [*founding, *(r for r in records if r.type not in FOUNDING)]
    return records


def retracted_seqs(records: Iterable[Record]) -> set[int]:
    """The seqs retracted by ``event_retracted`` records among ``records``."""
    return {r.payload["retracts"] for r in records if r.type == "event_retracted"}


def live_records(records: Iterable[Record], at: dt.datetime | None = None) -> list[Record]:
    """Records that count as of ``at``, minus retracted ones, in replay order.

    Those that occurred at or before ``at`` count, and the season's founding records
    (``season_started``, ``program_added``) at every instant. A retraction corrects the
    record, it is not a fact of the season: the retracted event is skipped for every
    instant, also those before the retraction was made (so a date fixed by
    retract-and-relog never shows both versions).
    """
    records = list(records)
    if at is None and "event_retracted" not in map(_TYPE, records):
        return in_replay_order(records)  # every record counts (an audit, most often)
    gone = retracted_seqs(records)
    live = [
        r
        for r in records
        if (at is None or r.occurred_at <= at or r.type in FOUNDING)
        and r.seq not in gone
        and r.type != "event_retracted"
    ]
    return in_replay_order(live)


def _start(first: Record) -> SeasonState:
    if first.type != "season_started":
        raise StructuralError(
            f"season {first.season!r} must begin with season_started, not {first.type!r} "
            f"(seq {first.seq})",
            event=first.type,
        )
    return SeasonState.start(first)


def fold(
    live: list[Record],
    rulebook: RulebookProtocol,
    *,
    judging: Collection[int] | None = None,
    amend: Callable[[SeasonState, Record], Record] | None = None,
    amending: Collection[int] = (),
    found_only: bool = False,
) -> Iterator[tuple[SeasonState, Judged]]:
    """Fold ``live`` (in replay order) and yield ``(state after, judged record)`` per record.

    The rulebook is bound to the season once (:meth:`~RulebookProtocol.for_season`, which
    checks its settings); its findings are computed for the records whose seq is in
    ``judging`` (every record when ``None``), each against the state just before it.
    A record whose seq is in ``amending`` is first replaced by ``amend(state just
    before it, record)`` (admission tells an update which news it carries), and judged
    and yielded so. With ``found_only`` (an audit, a replay), only the first record and
    those with a finding or an override are yielded: the state is one object, changed in
    place, so the first yield already gives the final state once the fold is over. An
    error is raised located at the seq of the record that could not be applied.
    """
    if not live:
        return
    record = live[0]
    state = _start(record)
    with located(seq=record.seq):
        judge = rulebook.for_season(state)
    yield state, Judged(record, ())
    found_by, programs, every = judge.findings, state.programs, not found_only  # hot
    try:
        for record in live[1:]:
            if amend is not None and record.seq in amending:
                record = amend(state, record)
            findings: tuple[Finding, ...] = ()
            program = record.program
            # An unknown program is not judged: applying the record reports it.
            if (judging is None or record.seq in judging) and (
                program is None or program in programs
            ):
                findings = found_by(state, program, record.type, record.occurred_at, record.payload)
            evolve(state, record)
            if every or findings or record.override is not None:
                yield state, _new_tuple(Judged, (record, findings))
    except PrematchError:
        with located(seq=record.seq):  # one block per fold: the hot path pays nothing
            raise


def replay(records: Iterable[Record], at: dt.datetime | None = None) -> SeasonState | None:
    """The season's state as of ``at`` (all records when ``None``); ``None`` if not started."""
    state: SeasonState | None = None
    for after, _ in fold(live_records(records, at), NoRules(), judging=(), found_only=True):
        state = after
    return state
