"""Admission: may these new records join a season's log?

One function decides it for ``log``, ``certify``, ``retract`` and ``import``: the
new records are merged into the season's history in replay order and folded. The
merge must stay structurally valid; each new record is judged against the state
just before it (blocked without an override: refused); and no record already in
the log may become newly blocked by what is inserted before it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from prematch.engine._errors import PolicyRefusal, PrematchError, StructuralError, located
from prematch.engine._records import Record
from prematch.engine._replay import fold, live_records
from prematch.engine._rulebook import RulebookProtocol
from prematch.engine._state import SeasonState, evolve
from prematch.engine._verdicts import Finding, Judged

__all__ = ["admit", "blocks_by_seq"]


def blocks_by_seq(
    history: Sequence[Record], rulebook: RulebookProtocol
) -> dict[int, frozenset[str]]:
    """The block-level rules each record of ``history`` breaks (records without override)."""
    out: dict[int, frozenset[str]] = {}
    for _, judged in fold(live_records(history), rulebook):
        rules = frozenset(f.rule for f in judged.findings if f.severity == "block")
        if rules and judged.record.override is None:
            out[judged.record.seq] = rules
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
    records in the order given, with what the rulebook found about each. With
    ``blocked_override``, a blocked new record without an override is admitted with
    that reason as its override instead of being refused. ``resolve_news=False``
    keeps an ``update_sent`` without ``news_seq`` as it is (records restored from an
    export are facts already decided, not new updates).
    """
    new_seqs = {r.seq for r in new}
    latest = max((r.occurred_at for r in existing), default=None)
    # Inserting before later events, or retracting one, can change how those are judged.
    inserts_into_past = latest is not None and any(
        r.occurred_at < latest or r.type == "event_retracted" for r in new
    )
    before = blocks_by_seq(existing, rulebook) if inserts_into_past else {}
    merged = [*existing, *new]
    judging = None if inserts_into_past else new_seqs
    live = live_records(merged)
    if resolve_news:
        live = _with_news_told(live, new_seqs)
    admitted: dict[int, Judged] = {}
    try:
        for _, judged in fold(live, rulebook, judging=judging):
            record = judged.record
            blocks = [f for f in judged.findings if f.severity == "block"]
            if record.seq in new_seqs:
                if blocks and record.override is None and blocked_override is not None:
                    record = record._replace(override=blocked_override)
                if blocks and record.override is None:
                    with located(seq=record.seq):
                        raise PolicyRefusal(_refusal_text(record, blocks), judged.findings)
                admitted[record.seq] = Judged(record, judged.findings)
            elif blocks and record.override is None:
                fresh = {f.rule for f in blocks} - before.get(record.seq, frozenset())
                if fresh:
                    raise PolicyRefusal(
                        f"recording this would make the existing event seq {record.seq} "
                        f"({record.type}) break {', '.join(sorted(fresh))}",
                        [f for f in blocks if f.rule in fresh],
                    )
    except StructuralError as e:
        if e.seq is not None and e.seq not in new_seqs:
            raise StructuralError(
                f"recording this would make the existing event seq {e.seq} impossible: {e}",
                program=e.program,
                state=e.state,
                event=e.event,
            ) from e
        raise
    # Records outside the live set (a retraction, or retracted in the same batch) pass as is.
    return [admitted.get(r.seq) or Judged(r, ()) for r in new]


def _with_news_told(live: list[Record], new_seqs: Collection[int]) -> list[Record]:
    """``live`` (in replay order) with each new ``update_sent`` that names no ``news_seq``
    given the oldest news its program had not been told just before it.

    It replays ``live`` as far as the last such update; a record that cannot be
    applied ends it early (the fold of the admission then reports it, located).
    """
    bare = {
        n
        for n, r in enumerate(live)
        if r.type == "update_sent" and r.seq in new_seqs and r.payload.get("news_seq") is None
    }
    if not bare or live[0].type != "season_started":
        return live
    live = list(live)
    try:
        state = SeasonState.start(live[0])
        for n in range(1, max(bare) + 1):
            record = live[n]
            if n in bare and record.program in state.programs:
                untold = state.untold_news(record.program)
                if untold:
                    record = live[n] = record._replace(
                        payload={**record.payload, "news_seq": untold[0].seq}
                    )
            evolve(state, record)
    except PrematchError:
        pass  # not swallowed: the admission's fold meets the same record and raises
    return live


def _refusal_text(record: Record, blocks: Sequence[Finding]) -> str:
    what = f"{record.type} for {record.program}" if record.program else record.type
    rules = ", ".join(f.rule for f in blocks)
    return f"{what} is blocked by the rulebook ({rules}); nothing was written"
