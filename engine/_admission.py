"""Admission: may these new records join a season's log?

One function decides it for ``log``, ``certify``, ``retract`` and ``import``: the
new records are merged into the season's history in replay order and folded. The
merge must stay structurally valid; each new record is judged against the state
just before it (blocked without an override: refused). A new record that lands
before existing ones in replay order (a back-filled event), or a retraction, may
make an existing record break a rule it did not break before: the new record that
caused it must then carry an override, like a blocked record of its own (DESIGN §4:
every finding but ``state.invalid`` can be overridden, on every path).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from prematch.engine._errors import (
    InputError,
    PolicyRefusal,
    PrematchError,
    StructuralError,
    UnknownProgramError,
    located,
)
from prematch.engine._records import Record
from prematch.engine._replay import fold, live_records, replay, replay_key, retracted_seqs
from prematch.engine._rulebook import Judge, RulebookProtocol
from prematch.engine._state import SeasonState, evolve
from prematch.engine._verdicts import Finding, Judged

__all__ = [
    "admit",
    "admit_next",
    "blocks_by_seq",
    "caused_blocks",
    "goes_last",
    "retraction_problem",
    "successor",
]


def retraction_problem(
    season: str, seq: int, target: Record | None, retracted: set[int]
) -> str | None:
    """Why retracting ``seq`` (the event ``target``, ``None`` if the season has no such
    event before the retraction) cannot be recorded, or ``None`` if it can."""
    if target is None:
        return f"season {season!r} has no event with seq {seq}"
    if target.type in ("season_started", "event_retracted"):
        article = "an" if target.type[0] in "aeiou" else "a"
        return f"{article} {target.type} event cannot be retracted"
    if seq in retracted:
        return f"event seq {seq} is already retracted"
    return None


def _check_retractions(existing: Sequence[Record], new: Sequence[Record]) -> None:
    """Each new retraction names an earlier event of the season (stored, or before it in
    ``new``) that can be retracted and is not yet: a retraction of a seq still to come
    would take the next event written with it."""
    if not any(r.type == "event_retracted" for r in new):
        return
    earlier = {r.seq: r for r in existing}
    retracted = retracted_seqs(existing)
    for r in new:
        if r.type == "event_retracted":
            seq = r.payload["retracts"]
            target = earlier.get(seq) if seq < r.seq else None
            problem = retraction_problem(r.season, seq, target, retracted)
            if problem is not None:
                raise InputError(problem, field="retracts")
            retracted.add(seq)
        earlier[r.seq] = r


def successor(state: SeasonState, record: Record) -> SeasonState:
    """The state after ``record`` is applied to ``state``, leaving ``state`` as it was
    (a cached snapshot stays exact). Raises as :func:`~prematch.engine._state.evolve` does.

    It copies what :func:`evolve` may change in place for this record: the season's
    containers, and the program the record is about (every program, for a rank list,
    which moves programs in and out of ``ranked``). Far cheaper than replaying the season.
    """
    after = copy.copy(state)
    after.policy = dict(state.policy)
    after.news = list(state.news)
    after.sent_counts = dict(state.sent_counts)
    after.programs = dict(state.programs)
    touched = state.programs if record.type == "rank_certified" else (record.program,)
    for pid in touched:
        program = state.programs.get(pid) if pid is not None else None
        if program is not None:
            mine = after.programs[program.id] = copy.copy(program)
            mine.connections = list(program.connections)
            mine.messages = list(program.messages)
            mine.told_news = set(program.told_news)
            mine.soap_contacts = list(program.soap_contacts)
    with located(seq=record.seq):
        evolve(after, record)
    return after


def goes_last(existing_last: tuple[int, dt.datetime, int] | None, record: Record) -> bool:
    """Whether ``record`` is judged by :func:`admit_next`: it is not a retraction, and it
    lands after every existing record (whose greatest replay key is ``existing_last``) in
    replay order, so it cannot change how any of them is judged."""
    return (
        existing_last is not None
        and record.type != "event_retracted"
        and replay_key(record) > existing_last
    )


def admit_next(state: SeasonState, judge: Judge, record: Record) -> tuple[Judged, SeasonState]:
    """:func:`admit` for one record that :func:`goes_last`, judged against ``state`` (the
    season after every existing record) alone: only the new record is judged, as
    :func:`admit` would judge it. Returns it admitted and the state after it; raises
    :class:`PolicyRefusal` or :class:`StructuralError` as :func:`admit` does."""
    record = _news_told(state, record)
    program, kind = record.program, record.type
    findings: tuple[Finding, ...] = ()
    if program is None or program in state.programs:
        with located(seq=record.seq):
            findings = judge.findings(state, program, kind, record.occurred_at, record.payload)
    blocks = [f for f in findings if f.severity == "block"]
    if blocks and record.override is None:
        with located(seq=record.seq):
            raise PolicyRefusal(_refusal_text(record, blocks), findings)
    return Judged(record, findings), successor(state, record)


def blocks_by_seq(
    history: Sequence[Record], rulebook: RulebookProtocol
) -> dict[int, frozenset[str]]:
    """The block-level rules each record of ``history`` breaks (records without override)."""
    out: dict[int, frozenset[str]] = {}
    for _, judged in fold(live_records(history), rulebook, found_only=True):
        rules = frozenset(f.rule for f in judged.findings if f.severity == "block")
        if rules and judged.record.override is None:
            out[judged.record.seq] = rules
    return out


def caused_blocks(
    before: dict[int, frozenset[str]], after: dict[int, frozenset[str]], below: int
) -> dict[int, frozenset[str]]:
    """The rules that records with a seq under ``below`` break in ``after`` and did not
    in ``before`` (two results of :func:`blocks_by_seq`): what a new record made them break."""
    out: dict[int, frozenset[str]] = {}
    for seq, rules in after.items():
        if seq < below:
            fresh = rules - before.get(seq, frozenset())
            if fresh:
                out[seq] = fresh
    return out


def admit(
    existing: Sequence[Record],
    new: Sequence[Record],
    rulebook: RulebookProtocol,
    *,
    blocked_override: str | None = None,
    resolve_news: bool = True,
) -> list[Judged]:
    """Check ``new`` records (provisional seqs above every existing one) against ``existing``.

    Raises :class:`StructuralError` or :class:`PolicyRefusal`; returns the admitted
    records in the order given, with what the rulebook found about each. A new record
    that makes an existing record break a rule needs an override; it is admitted with
    one block finding per rule so broken (the message names the existing record). A
    batch is judged as if recorded one record at a time, in seq order: a record blocked
    only by a later record of the batch (a program's "no contact" learned later, dated
    before it) is admitted, and the later record needs the override, as it did when the
    season was first recorded (an export imports as it was). With ``blocked_override``,
    a new record without an override that would be refused is admitted with that reason
    as its override instead. ``resolve_news=False`` keeps an ``update_sent`` without
    ``news_seq`` as it is (records restored from an export are facts already decided,
    not new updates).
    """
    _check_retractions(existing, new)
    new_seqs = {r.seq for r in new}
    last = max((replay_key(r) for r in existing), default=None)
    # Inserting before later events, or retracting one, can change how those are judged.
    inserts_into_past = last is not None and any(
        replay_key(r) < last or r.type == "event_retracted" for r in new
    )
    before = blocks_by_seq(existing, rulebook) if inserts_into_past else {}
    merged = [*existing, *new]
    judging = None if inserts_into_past else new_seqs
    live = live_records(merged)
    bare = _bare_updates(new) if resolve_news else set()
    admitted: dict[int, Judged] = {}
    broken: dict[int, tuple[Record, list[Finding]]] = {}
    blocked: dict[int, tuple[Judged, list[Finding]]] = {}  # new records, settled below
    try:
        for _, judged in fold(live, rulebook, judging=judging, amend=_news_told, amending=bare):
            record, findings = judged
            blocks = [f for f in findings if f.severity == "block"] if findings else None
            if record.seq in new_seqs:
                if blocks and record.override is None:
                    blocked[record.seq] = (judged, blocks)
                else:
                    admitted[record.seq] = judged
            elif blocks and record.override is None:
                fresh = {f.rule for f in blocks} - before.get(record.seq, frozenset())
                if fresh:
                    broken[record.seq] = (record, [f for f in blocks if f.rule in fresh])
    except (StructuralError, UnknownProgramError) as e:
        if e.seq is None or e.seq in new_seqs:
            raise
        # A new record (a retraction, a back-filled event) broke an existing one; that
        # one names no program if the new record retracted the program's addition.
        needing = _dependents(merged, e.seq, new_seqs)
        listed = ", ".join(map(str, needing[:_NAMED_DEPENDENTS]))
        if len(needing) > _NAMED_DEPENDENTS:
            listed += f" and {len(needing) - _NAMED_DEPENDENTS} more"
        then = (
            "they depend on this), then log them again if they still hold"
            if len(needing) > 1
            else "it depends on this), then log it again if it still holds"
        )
        message = (
            f"recording this would make the existing event seq {e.seq} impossible: "
            f"{e.message}; retract seq {listed} first ({then}"
        )
        if isinstance(e, StructuralError):
            raise StructuralError(message, program=e.program, state=e.state, event=e.event) from e
        raise StructuralError(message) from e
    except InputError as e:
        late = _news_after(live, e)
        if late is None:
            raise
        with located(seq=e.seq):
            raise late from e
    for seq in sorted(blocked):
        judged, blocks = blocked[seq]
        record, findings = judged
        if len(new) > 1 and not _blocked_in_turn(existing, new, seq, rulebook):
            broken[seq] = (record, blocks)  # a later record of the batch broke it
            admitted[seq] = Judged(record, tuple(f for f in findings if f.severity != "block"))
        elif blocked_override is not None:
            admitted[seq] = Judged(record._replace(override=blocked_override), findings)
        else:
            with located(seq=seq):
                raise PolicyRefusal(_refusal_text(record, blocks), findings)
    # Records outside the live set (a retraction, or retracted in the same batch) pass as is.
    out = [admitted.get(r.seq) or Judged(r, ()) for r in new]
    if broken:
        out = _cover(existing, out, broken, before, rulebook, blocked_override)
    return out


def _blocked_in_turn(
    existing: Sequence[Record], new: Sequence[Record], seq: int, rulebook: RulebookProtocol
) -> bool:
    """Whether the new record ``seq`` is blocked when recorded in its turn: after the
    existing records and the batch's earlier ones, before its later ones."""
    try:
        turn = blocks_by_seq([*existing, *(r for r in new if r.seq <= seq)], rulebook)
    except PrematchError:
        return True  # the batch's part up to it does not stand alone: refuse it as found
    return seq in turn


_NAMED_DEPENDENTS = 5
"""Up to how many existing events a refusal names that a new record would make impossible."""


def _dependents(merged: Sequence[Record], first: int, new_seqs: set[int]) -> list[int]:
    """The existing events that ``merged`` cannot apply, ``first`` (the first of them)
    and those that still fail once it and the others found are left out, in the order
    found: what must be retracted before the new records can be."""
    found = [first]
    while True:
        try:
            replay(r for r in merged if r.seq not in found)
        except (StructuralError, UnknownProgramError) as e:
            if e.seq is None or e.seq in new_seqs or e.seq in found:
                return found
            found.append(e.seq)
        else:
            return found


def _news_after(live: Sequence[Record], error: InputError) -> InputError | None:
    """What ``error`` (an update naming news the state had not seen) means when the news
    is recorded, but dated after the update; ``None`` when it is not so."""
    if error.field != "news_seq" or error.seq is None:
        return None
    update = next((r for r in live if r.seq == error.seq), None)
    seq = update.payload.get("news_seq") if update is not None else None
    news = next((r for r in live if r.seq == seq and r.type == "news_recorded"), None)
    if update is None or news is None or replay_key(news) < replay_key(update):
        return None
    zone = ZoneInfo(live[0].payload["timezone"])
    return InputError(
        f"the news seq {seq} is dated {news.occurred_at.astimezone(zone).isoformat()}, after "
        f"this update ({update.occurred_at.astimezone(zone).isoformat()}): an update tells "
        "only news recorded before it; date the update after the news",
        field="news_seq",
    )


def _cover(
    existing: Sequence[Record],
    new: list[Judged],
    broken: dict[int, tuple[Record, list[Finding]]],
    before: dict[int, frozenset[str]],
    rulebook: RulebookProtocol,
    blocked_override: str | None,
) -> list[Judged]:
    """``new``, each record that made existing ones break a rule given an override (or
    refused) and those findings. In a batch, the record blamed is the first (by seq)
    whose admission, with the batch's earlier records, breaks the rule."""
    blamed: dict[int, dict[int, frozenset[str]]] = {}
    if len(new) == 1:
        blamed[new[0].record.seq] = {
            seq: frozenset(f.rule for f in fs) for seq, (_, fs) in broken.items()
        }
    else:
        left = {seq: frozenset(f.rule for f in fs) for seq, (_, fs) in broken.items()}
        known = before
        for n in range(len(new)):
            if not left:
                break
            prefix = [*existing, *(j.record for j in new[: n + 1])]
            try:
                now = blocks_by_seq(prefix, rulebook)
            except PrematchError:
                continue  # a part of the batch that does not stand alone: blame a later record
            fresh = caused_blocks(known, now, new[n].record.seq)
            mine = {s: rules & left[s] for s, rules in fresh.items() if rules & left.get(s, set())}
            if mine:
                blamed[new[n].record.seq] = mine
                left = {s: rules - mine.get(s, set()) for s, rules in left.items()}
                left = {s: rules for s, rules in left.items() if rules}
            known = now
    out = []
    for judged in new:
        made = blamed.get(judged.record.seq)
        if not made:
            out.append(judged)
            continue
        record = judged.record
        findings = [
            _at(broken[seq][0], f)
            for seq in sorted(made)
            for f in broken[seq][1]
            if f.rule in made[seq]
        ]
        if record.override is None and blocked_override is not None:
            record = record._replace(override=blocked_override)
        if record.override is None:
            first = min(made)
            existing_record = broken[first][0]
            with located(seq=record.seq):
                raise PolicyRefusal(
                    f"recording this would make the existing event seq {first} "
                    f"({existing_record.type}) break {', '.join(sorted(made[first]))}; "
                    "nothing was written",
                    [f for f in broken[first][1] if f.rule in made[first]],
                )
        out.append(Judged(record, (*judged.findings, *findings)))
    return out


def _at(record: Record, finding: Finding) -> Finding:
    """``finding`` about an existing ``record``, told as a finding of the new record."""
    what = f"{record.type} for {record.program}" if record.program else record.type
    return Finding(
        finding.rule,
        finding.severity,
        f"the existing event seq {record.seq} ({what}) now breaks it: {finding.message}",
        finding.source,
    )


def _bare_updates(new: Sequence[Record]) -> set[int]:
    """The seqs of the ``update_sent`` records among ``new`` that name no ``news_seq``."""
    return {r.seq for r in new if r.type == "update_sent" and r.payload.get("news_seq") is None}


def _news_told(state: SeasonState, record: Record) -> Record:
    """``record`` with, for an ``update_sent`` that names no news, the oldest news its
    program had not been told in ``state`` (the state just before it)."""
    if record.type != "update_sent" or record.payload.get("news_seq") is not None:
        return record
    if record.program not in state.programs:
        return record
    untold = state.untold_news(record.program)
    if not untold:
        return record
    return record._replace(payload={**record.payload, "news_seq": untold[0].seq})


def _refusal_text(record: Record, blocks: Sequence[Finding]) -> str:
    what = f"{record.type} for {record.program}" if record.program else record.type
    rules = ", ".join(f.rule for f in blocks)
    return f"{what} is blocked by the rulebook ({rules}); nothing was written"
