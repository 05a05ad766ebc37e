"""The findings projection: ``audit --all`` judges again only the seasons that changed.

A season's findings depend only on its events and on the rulebook (its rules, their
parameters, the data they read); the log is append-only, so the seq of a season's newest
record names the version of its events. Beside the log, a store keeps one row per season
(:meth:`~prematch.engine._store.Store.project`): that seq, the :func:`projection_key` the
season was judged under, and its findings. :func:`audit_range` takes a season's findings
from its row when both still match, and judges the others from their records (a stale or
missing row, a store without the projection's table, ``rebuild``), keeping what it found.

**Time.** An audit as of ``at`` adds the rulebook's checklist on the season's final state
(:func:`~prematch.engine._queries.audit_records`), which depends on ``at``. The rulebook
says, for that state, at which instants the checklist's answer may change
(:meth:`~prematch.engine._rulebook.Judge.turns`); between two of them it is the same. The
row keeps the checklist's findings for every such span, so the findings of any ``at`` are
exact, and the engine knows nothing of any rule. A rulebook that cannot say when (``turns``
is ``None``) gets its seasons judged afresh by every audit with an instant.

**Writing.** Lazily, by the audit, never in a write of the log: a write would pay for a
whole audit of its season, and only an audit knows which rulebook judges. The projection is
a cache, not the log: keeping it never touches events or heads, waits briefly (a busy
store is skipped, and the next audit judges again what was not kept), and a store opened
read-only (or a file this user cannot write) is read, never written: its stale seasons are
judged every time. Whoever can edit the database can edit this table as well as the log;
``audit --all --rebuild`` judges every season from its events.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from prematch import __version__
from prematch.engine._bulk import paused_gc
from prematch.engine._calendar import load_calendar
from prematch.engine._queries import (
    CHECKLIST,
    AuditParts,
    AuditReport,
    audit_parts,
    checklist_findings,
)
from prematch.engine._recorder import ProjectedRow
from prematch.engine._records import utc_iso
from prematch.engine._resources import fixtures_dir
from prematch.engine._rulebook import RulebookProtocol
from prematch.engine._store import Store
from prematch.engine._verdicts import AuditFinding

__all__ = [
    "KEEP_BATCH",
    "PROJECTION_FORMAT",
    "Keeper",
    "audit_range",
    "judged",
    "judged_runs",
    "kept",
    "projection_key",
    "stale_count",
]

PROJECTION_FORMAT = 1
"""The shape of a projection row's findings (a row of another shape is never read)."""

_BEFORE = dt.timedelta(microseconds=1)


def projection_key(rulebook: RulebookProtocol) -> str:
    """The key of the findings that ``rulebook`` gives under this prematch: a digest of
    :data:`PROJECTION_FORMAT`, the prematch version, the source of the engine (the fold,
    the state machine, the audit), every bundled calendar as loaded, and the rulebook's
    own :meth:`~prematch.engine._rulebook.RulebookProtocol.fingerprint`."""
    text = f"{PROJECTION_FORMAT}\0{__version__}\0{_engine_digest()}\0{rulebook.fingerprint()}"
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _engine_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in sorted((fixtures_dir() / "calendars").glob("*.toml")):
        digest.update(repr(load_calendar(int(path.stem))).encode())
    return digest.hexdigest()


def _row(f: AuditFinding) -> list[Any]:
    return [f.rule, f.severity, f.program, f.seq, f.message, f.source, f.override]


def judged(parts: AuditParts, at: dt.datetime | None) -> tuple[str, AuditReport]:
    """The projection's text of a season just judged, and its report as of ``at`` (what
    :func:`~prematch.engine._queries.audit_records` gives).

    The text holds the history's findings, those after the checklist, and the checklist's
    findings for every span between the instants the rulebook names (``null`` when it
    cannot name them); each span is judged at its first instant (the first span, just
    before the first turn), the span holding ``at`` at ``at`` itself."""
    spans: list[list[Any]] | None = [[None, []]]
    now: list[AuditFinding] = []
    judge = parts.judge
    if parts.state is not None and judge is not None:
        turns = judge.turns(parts.state, CHECKLIST)
        if at is not None:
            now = checklist_findings(parts.state, judge, at)
        if turns is None:
            spans = None
        else:
            starts: list[dt.datetime | None] = [None, *turns]
            spans = []
            for i, start in enumerate(starts):
                end = starts[i + 1] if i + 1 < len(starts) else None
                holds_at = (
                    at is not None and (start is None or start <= at) and (end is None or at < end)
                )
                if holds_at:
                    found = now
                else:
                    instant = turns[0] - _BEFORE if start is None else start
                    found = checklist_findings(parts.state, judge, instant)
                spans.append([None if start is None else utc_iso(start), [_row(f) for f in found]])
    text = json.dumps(
        [[_row(f) for f in parts.history], [_row(f) for f in parts.after], spans],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return text, AuditReport(parts.season, (*parts.history, *now, *parts.after))


def kept(season: str, text: str, at: dt.datetime | None) -> AuditReport | None:
    """The report as of ``at`` from a projection text (``None`` when it cannot tell: the
    rulebook named no turns of its checklist and ``at`` asks for it, or the text is not
    one :func:`judged` wrote, a hand edit of the cache)."""
    try:
        return _kept(season, text, at)
    except (ValueError, TypeError, IndexError):
        return None


def _kept(season: str, text: str, at: dt.datetime | None) -> AuditReport | None:
    history, after, spans = json.loads(text)
    middle: Sequence[list[Any]] = ()
    if at is not None:
        if spans is None:
            return None
        for start, rows in spans:
            if start is None or dt.datetime.fromisoformat(start) <= at:
                middle = rows
            else:
                break
    # _make refuses a row of another length (a hand edit): the season is judged again.
    return AuditReport(season, tuple(map(AuditFinding._make, chain(history, middle, after))))


def audit_range(
    store: Store,
    rulebook: RulebookProtocol,
    key: str,
    seasons: Sequence[str],
    at: dt.datetime | None,
    *,
    rebuild: bool = False,
    keep: bool = True,
) -> tuple[list[AuditReport], list[ProjectedRow]]:
    """The audits of ``seasons`` (ids in order), in that order: from the projection rows
    that match ``key``, the others judged from their records (all of them with
    ``rebuild``), each contiguous run of them read with one query; and (``keep``) the
    rows to keep for the seasons judged (:class:`Keeper`)."""
    reports: dict[str, AuditReport] = {}
    stale: list[list[str]] = []  # contiguous runs of ``seasons``
    previous_stale = False
    for season, _, text in store.projected(key, seasons):
        report = None if rebuild or text is None else kept(season, text, at)
        if report is not None:
            reports[season] = report
        elif previous_stale:
            stale[-1].append(season)
        else:
            stale.append([season])
        previous_stale = report is None
    rows: list[ProjectedRow] = []
    for run in stale:
        wanted = set(run)
        for season, records in store.seasons_records(run[0], run[-1], replay=True):
            if season not in wanted:  # started since ``seasons`` were listed
                continue
            parts = audit_parts(season, records, rulebook)
            if keep:
                text, reports[season] = judged(parts, at)
                rows.append((season, records[-1].seq, key, text))
            else:  # a store that keeps nothing: no checklist span but ``at``'s is judged
                reports[season] = parts.report(at)
    return [reports[s] for s in seasons if s in reports], rows


KEEP_BATCH = 1000
"""How many judged seasons :class:`Keeper` keeps in one transaction (a full audit writes
a transaction per this many; a re-audit of a few changed seasons, one)."""


class Keeper:
    """Keeps projection rows in ``store``, :data:`KEEP_BATCH` at a time; gives up for the
    rest of the audit once the store refuses (read-only, or busy: nothing waits twice)."""

    def __init__(self, store: Store):
        self._store = store
        self._rows: list[ProjectedRow] = []
        self.trying = not store.readonly
        """Whether rows are still kept (``False`` once the store refused them)."""

    def add(self, rows: Sequence[ProjectedRow]) -> None:
        """Keep ``rows`` (now, once a batch is full)."""
        if self.trying:
            self._rows.extend(rows)
            if len(self._rows) >= KEEP_BATCH:
                self.flush()

    def flush(self) -> None:
        """Keep the rows added so far."""
        if self.trying and self._rows:
            self.trying = self._store.project(self._rows)
        self._rows = []


def stale_count(store: Store, key: str, runs: Sequence[Sequence[str]]) -> int:
    """How many of the seasons of ``runs`` the projection does not hold under ``key`` for
    their newest seq (a run at a time)."""
    return sum(1 for run in runs for _, _, text in store.projected(key, run) if text is None)


T = TypeVar("T")

RunJudge = Callable[..., tuple[list[T], list[ProjectedRow]]]
"""What to make of one run of seasons: called as ``judge(store, seasons=…, keep=…)``, it
returns what it made of each season, in order, and (``keep``) the projection rows of the
seasons it judged (:func:`audit_range`, or a partial of a function like it)."""


def judged_runs(
    store: Store, runs: Sequence[Sequence[str]], jobs: int, judge: RunJudge[T]
) -> Iterator[T]:
    """What ``judge`` makes of each run of seasons, in order, keeping the rows it returns
    (:class:`Keeper`): in this process, or with ``jobs`` > 1 in that many worker
    processes, each opening the store again (:meth:`Store.reopen_target`; ``judge`` is
    pickled: a module-level function or a partial of one). At most two runs per worker
    are in flight, so memory stays flat however many seasons the store holds."""
    target = store.reopen_target()
    if jobs <= 1 or target is None:
        keeper = Keeper(store)
        try:
            for run in runs:
                made, rows = judge(store, seasons=run, keep=keeper.trying)
                keeper.add(rows)
                yield from made
        finally:
            keeper.flush()
        return
    from concurrent.futures import Future, ProcessPoolExecutor

    readonly = store.readonly
    with ProcessPoolExecutor(max_workers=min(jobs, len(runs))) as pool:
        pending: collections.deque[Future[list[T]]] = collections.deque()
        for run in runs:
            pending.append(pool.submit(_judged_run, target, readonly, judge, list(run)))
            if len(pending) >= 2 * jobs:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _judged_run(target: str, readonly: bool, judge: RunJudge[T], seasons: list[str]) -> list[T]:
    with Store.open(target, create=False, readonly=readonly) as store, paused_gc():
        keeper = Keeper(store)
        made, rows = judge(store, seasons=seasons, keep=keeper.trying)
        keeper.add(rows)
        keeper.flush()
        return made
