"""Every season of a store as of one instant, each read and folded once: the advisor's
views (``audit --all --summary``, ``audit --all --format html``).

:func:`season_overviews` reads the seasons as ``audit --all`` does (contiguous runs of
about :data:`~prematch.engine._queries.SEASONS_PER_TASK` seasons, each run with one
query), takes each season's findings from the findings projection when its row holds
them (:mod:`prematch.engine._projection`) and judges the others (keeping their rows, by
the projection's rules); the state as of the instant is the audit's own fold when no
event happened after it, else a replay up to it (without rules). A caller's function
turns each :class:`SeasonOverview` into what it shows, in the worker process that
read the season, so nothing of a season outlives its run.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from prematch.engine._bulk import check_pickles, chunks, paused_gc
from prematch.engine._errors import UnknownSeasonError
from prematch.engine._projection import judged, judged_runs, kept, projection_key
from prematch.engine._queries import (
    SEASONS_PER_TASK,
    AuditReport,
    SeasonSummary,
    audit_jobs,
    audit_parts,
    judge_action,
    summarize,
)
from prematch.engine._recorder import ProjectedRow
from prematch.engine._records import Record
from prematch.engine._replay import FOUNDING, replay
from prematch.engine._rulebook import Judge, RulebookProtocol
from prematch.engine._season import HistoryEntry, history_entries
from prematch.engine._state import SeasonState
from prematch.engine._store import Store
from prematch.engine._verdicts import Verdict

__all__ = ["SeasonOverview", "season_overviews"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SeasonOverview:
    """One season as of :attr:`at`, from one read of its records: its state then, the
    rulebook's judge of it, and its audit (what :meth:`Season.state`, :meth:`Season.audit`
    and the like give for that instant)."""

    at: dt.datetime
    records: tuple[Record, ...]
    """Every record of the season in ``seq`` order, as replay reads them (their
    ``recorded_at`` and ``hash`` are empty)."""
    state: SeasonState
    """The state as of :attr:`at` (shared: only read it)."""
    judge: Judge
    """The rulebook bound to the season."""
    audit: AuditReport
    """Every finding of the season's history, and its checklist as of :attr:`at`."""

    @property
    def season(self) -> str:
        """The season's id."""
        return self.state.id

    def summary(self) -> SeasonSummary:
        """:meth:`Season.summary` as of :attr:`at`."""
        return summarize(self.state, self.at, self.judge, self.audit)

    def history(self) -> list[HistoryEntry]:
        """:meth:`Season.history` as of :attr:`at`."""
        return history_entries(self.records, self.at)

    def check(self, action: str, program: str) -> Verdict:
        """:meth:`Season.check` of ``action`` to ``program`` at :attr:`at`."""
        return judge_action(self.state, program, action, self.at, self.judge)


def season_overviews(
    store: Store,
    rulebook: RulebookProtocol,
    each: Callable[[SeasonOverview], T],
    *,
    at: dt.datetime,
    jobs: int = 1,
    rebuild: bool = False,
) -> Iterator[T]:
    """``each`` of the :class:`SeasonOverview` of every season of ``store`` as of ``at``,
    in season-id order.

    The findings come from the store's findings projection where its row matches the
    season's newest seq and the rulebook (as :func:`~prematch.engine._queries.audit_store`
    takes them; ``rebuild`` judges every season); a season judged gets its row kept,
    lazily, unless the store is read-only or busy (:class:`~prematch.engine._projection.
    Keeper`). With ``jobs`` > 1 (and seasons enough, see :func:`audit_jobs`) runs of
    seasons go to that many worker processes, each opening the store again; ``each`` is
    then called in the worker (pass a module-level function: it is pickled, and so is
    what it returns). At most two runs per worker are in flight: memory stays flat
    however many seasons the store holds. Whether workers are used depends on the
    store, so with ``jobs`` > 1 ``each`` and ``rulebook`` must always pickle: one that
    does not raises :class:`InputError` (its ``field`` names it) before any season is read.
    """
    if jobs > 1:
        check_pickles(each, "each", "a module-level function (or a partial of one)")
        check_pickles(rulebook, "rulebook", "picklable")
    key = projection_key(rulebook)
    with paused_gc():
        seasons = sorted(store.seasons())
        if store.reopen_target() is None:  # memory, an embedder's connection
            jobs = 1
        jobs = audit_jobs(len(seasons), jobs) if jobs > 1 else 1
        runs = chunks(seasons, max(jobs, -(-len(seasons) // SEASONS_PER_TASK)))
        judge = functools.partial(
            _overview_range, rulebook=rulebook, key=key, at=at, each=each, rebuild=rebuild
        )
        yield from judged_runs(store, runs, jobs, judge)


def _overview_range(
    store: Store,
    rulebook: RulebookProtocol,
    key: str,
    seasons: Sequence[str],
    at: dt.datetime,
    each: Callable[[SeasonOverview], T],
    *,
    rebuild: bool,
    keep: bool,
) -> tuple[list[T], list[ProjectedRow]]:
    """``each`` of the overviews of ``seasons`` (a contiguous run of ids, in order), read
    with one query; and (``keep``) the projection rows of the seasons judged."""
    texts = {s: (last, text) for s, last, text in store.projected(key, seasons)}
    shown: dict[str, T] = {}
    rows: list[ProjectedRow] = []
    for season, records in store.seasons_records(seasons[0], seasons[-1], replay=True):
        if season not in texts:  # started since ``seasons`` were listed
            continue
        last, text = texts[season]
        # The row holds the findings of the season's newest seq when it was looked up: a
        # season written since (its records read after) is judged.
        stored = not rebuild and text is not None and records[-1].seq == last
        report = kept(season, text, at) if stored and text is not None else None
        audited: SeasonState | None = None
        if report is None:
            parts = audit_parts(season, records, rulebook)
            audited = parts.state
            if keep:
                text, report = judged(parts, at)
                rows.append((season, records[-1].seq, key, text))
            else:
                report = parts.report(at)
        state = _state_as_of(season, records, at, audited)
        overview = SeasonOverview(at, tuple(records), state, rulebook.for_season(state), report)
        shown[season] = each(overview)
    return [shown[s] for s in seasons if s in shown], rows


def _state_as_of(
    season: str, records: list[Record], at: dt.datetime, folded: SeasonState | None
) -> SeasonState:
    """The state as of ``at``: ``folded`` (the state after every live record, when the
    audit just folded them) if no event of the season happened after ``at`` (then the two
    are the same, as :meth:`Season._state_to_ask` has it), else a replay up to ``at``."""
    if folded is not None and not any(
        r.occurred_at > at and r.type not in FOUNDING for r in records
    ):
        return folded
    state = replay(records, at)
    if state is None:
        raise UnknownSeasonError(f"season {season!r} holds no events", season=season)
    return state
