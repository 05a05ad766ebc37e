"""Replay: fold a season's records, in ``(occurred_at, seq)`` order, into its state.

:func:`live_records` picks the records that count as of an instant (retractions
honoured); :func:`fold` applies them one by one with :func:`~prematch.engine._state.evolve`
and yields what a rulebook says about each record against the state
just before it. Audit, enforcement and queries are all built on this one fold.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Collection, Iterable, Iterator

from prematch.engine._actions import MESSAGE_EVENTS
from prematch.engine._errors import PrematchError, StructuralError, located
from prematch.engine._records import Record
from prematch.engine._rulebook import NoRules, RulebookProtocol
from prematch.engine._state import SeasonState, evolve
from prematch.engine._verdicts import Finding, Judged

__all__ = ["fold", "live_records", "replay", "retracted_seqs"]


_order = operator.attrgetter("occurred_at", "seq")  # replay order: (occurred_at, seq)


def retracted_seqs(records: Iterable[Record]) -> set[int]:
    """The seqs retracted by ``event_retracted`` records among ``records``."""
    return {r.payload["retracts"] for r in records if r.type == "event_retracted"}


def live_records(records: Iterable[Record], at: dt.datetime | None = None) -> list[Record]:
    """Records that occurred at or before ``at``, minus retracted ones, in replay order.

    A retraction corrects the record, it is not a fact of the season: the retracted
    event is skipped for every instant, also those before the retraction was made
    (so a date fixed by retract-and-relog never shows both versions).
    """
    records = list(records)
    gone = retracted_seqs(records)
    live = [
        r
        for r in records
        if (at is None or r.occurred_at <= at) and r.seq not in gone and r.type != "event_retracted"
    ]
    live.sort(key=_order)
    return live


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
) -> Iterator[tuple[SeasonState, Judged]]:
    """Fold ``live`` (in replay order) and yield ``(state after, judged record)`` per record.

    The rulebook is bound to the season once (:meth:`~RulebookProtocol.for_season`, which
    checks its settings); its findings are computed for the records whose seq is in
    ``judging`` (every record when ``None``), each against the state just before it.
    An error is raised located at the seq of the record that could not be applied.
    """
    if not live:
        return
    record = live[0]
    state = _start(record)
    with located(seq=record.seq):
        judge = rulebook.for_season(state)
    yield state, Judged(record, ())
    judged_by, action_of, programs = judge.judge, MESSAGE_EVENTS.get, state.programs  # hot
    try:
        for record in live[1:]:
            findings: tuple[Finding, ...] = ()
            program = record.program
            # An unknown program is not judged: applying the record reports it.
            if (judging is None or record.seq in judging) and (
                program is None or program in programs
            ):
                kind = record.type
                findings = judged_by(
                    state,
                    program,
                    action_of(kind, kind),
                    record.occurred_at,
                    record.payload,
                    findings_only=True,
                ).findings
            evolve(state, record)
            yield state, Judged(record, findings)
    except PrematchError:
        with located(seq=record.seq):  # one block per fold: the hot path pays nothing
            raise


def replay(records: Iterable[Record], at: dt.datetime | None = None) -> SeasonState | None:
    """The season's state as of ``at`` (all records when ``None``); ``None`` if not started."""
    state: SeasonState | None = None
    for after, _ in fold(live_records(records, at), NoRules(), judging=()):
        state = after
    return state
