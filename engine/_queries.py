"""The three questions prematch answers, as typed results: now, check, audit."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from prematch.engine._actions import ACTION_EVENTS
from prematch.engine._admission import blocks_by_seq, caused_blocks
from prematch.engine._bulk import check_pickles, chunks, jobs_for, paused_gc
from prematch.engine._errors import PrematchError
from prematch.engine._records import Record, utc_iso
from prematch.engine._replay import fold, live_records, replay_key, retracted_seqs
from prematch.engine._rulebook import Judge, RulebookProtocol
from prematch.engine._state import SeasonState
from prematch.engine._statemachine import allowed_triggers, needs
from prematch.engine._store import Store
from prematch.engine._verdicts import AuditFinding, Finding, Verdict

__all__ = [
    "CHECKLIST",
    "SEASONS_PER_TASK",
    "SEASON_ACTIONS",
    "STATE_SOURCE",
    "AuditParts",
    "AuditReport",
    "NowItem",
    "NowReport",
    "NowStatus",
    "SeasonSummary",
    "StatusReport",
    "StatusRow",
    "audit_jobs",
    "audit_parts",
    "audit_records",
    "audit_store",
    "checklist_findings",
    "deadlines",
    "judge_action",
    "program_status",
    "season_summary",
    "summarize",
    "what_now",
]

STATE_SOURCE = "prematch state machine (docs/states.md)"

_OVERRIDE = operator.attrgetter("override")


def judge_action(
    state: SeasonState, program: str, action: str, at: dt.datetime, judge: Judge
) -> Verdict:
    """The verdict on one action, ``state.invalid`` when the machine forbids it, else the
    ``judge``'s (the season's, from :meth:`~RulebookProtocol.for_season`)."""
    p = state.program(program)
    event = ACTION_EVENTS[action]
    if event not in allowed_triggers(p.state):
        finding = Finding(
            rule="state.invalid",
            severity="block",
            message=(f"{action} is not possible while {p.name} is {p.state!r} ({needs(event)})"),
            source=STATE_SOURCE,
        )
        return Verdict(program=program, action=action, outcome="blocked", findings=(finding,))
    return judge.judge(state, program, action, at)


NowStatus = Literal["due", "allowed", "warn", "opens_later", "blocked"]


@dataclass(frozen=True, slots=True)
class NowItem:
    """One (program, action) verdict and what it means for the applicant right now.

    ``status`` is ``due`` (allowed, with a ``due_by`` still ahead), ``allowed``,
    ``warn``, ``opens_later`` (blocked now, allowed at ``opens_at``) or ``blocked``.
    """

    verdict: Verdict
    status: NowStatus

    @property
    def late(self) -> bool:
        """Whether it is still open (allowed, warned) though its ``due_by`` has gone by."""
        return _is_late(self.verdict, self.status)

    def to_json(self) -> dict[str, Any]:
        """An element of ``now``'s ``actions``: :meth:`Verdict.to_json` and ``status``."""
        return {**self.verdict.to_json(), "status": self.status}


SEASON_ACTIONS = ("intent",)
"""Actions that are one choice per season (DESIGN §5): ``now`` shows each once, judged for
the certified first choice when there is one, else as the soonest of the programs it may
go to (with no program named)."""

CHECKLIST = "checklist"
"""The season-wide question of what is still undone (asked with no program)."""


@dataclass(frozen=True, slots=True)
class NowReport:
    """Every (program, action) the machine allows now, with its verdict, soonest deadline first.

    ``season_items`` holds the season-level choices (:data:`SEASON_ACTIONS`: the one letter
    of intent), ``checklist`` what the rulebook's checklist finds undone (each finding
    names its program). ``calendar_provisional`` and ``signals_provisional`` say that the
    season's calendar dates, or the preference-signal numbers of its Match year, are not
    verified; ``calendar_source`` and ``signals_provisional_because`` say why.
    """

    season: str
    as_of: dt.datetime
    calendar_provisional: bool
    calendar_source: str
    signals_provisional: bool
    signals_provisional_because: str
    timezone: str
    items: tuple[NowItem, ...]
    program_names: dict[str, str]
    season_items: tuple[NowItem, ...] = ()
    checklist: tuple[Finding, ...] = ()

    @property
    def actions(self) -> tuple[Verdict, ...]:
        """The verdicts, in report order."""
        return tuple(i.verdict for i in self.items)

    def to_json(self) -> dict[str, Any]:
        """The ``now`` JSON shape of DESIGN §6, plus the season's ``timezone``,
        ``signals_provisional``, its ``programs`` (each ``{"program", "name"}``, in the order
        they were added), each action's ``status``, ``season_actions`` (each season-level
        choice once, in the shape of an ``actions`` element; ``program`` is the certified
        first choice or null) and ``checklist`` (findings, each with its ``program``)."""
        return {
            "season": self.season,
            "as_of": utc_iso(self.as_of),
            "timezone": self.timezone,
            "calendar_provisional": self.calendar_provisional,
            "signals_provisional": self.signals_provisional,
            "programs": [{"program": p, "name": n} for p, n in self.program_names.items()],
            "actions": [i.to_json() for i in self.items],
            "season_actions": [i.to_json() for i in self.season_items],
            "checklist": [{**f.to_json(), "program": f.program} for f in self.checklist],
        }


def _urgency(v: Verdict) -> tuple[int, dt.datetime, str, str]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    deadline = min((d for d in (v.due_by, v.closes_at) if d is not None), default=far)
    order = 1 if v.outcome == "blocked" else 0
    return order, deadline, v.program or "", v.action


def _ask(
    state: SeasonState, pid: str | None, action: str, at: dt.datetime, judge: Judge
) -> Verdict:
    if pid is None:  # a season-level choice
        return judge.judge(state, None, action, at)
    return judge_action(state, pid, action, at, judge)


def _status(
    state: SeasonState, pid: str | None, v: Verdict, at: dt.datetime, judge: Judge
) -> NowStatus:
    if v.outcome != "blocked":
        return "due" if v.due_by is not None and v.due_by >= at else v.outcome
    if v.opens_at is not None and v.opens_at > at:
        # Blocked only by time? Ask again at the opening instant, on today's state.
        later = _ask(state, pid, v.action, v.opens_at, judge)
        if later.outcome != "blocked":
            return "opens_later"
    return "blocked"


_STATUS_RANK = {"due": 0, "allowed": 0, "warn": 1, "opens_later": 2, "blocked": 3}


def _season_item(
    state: SeasonState, action: str, at: dt.datetime, judge: Judge, items: list[NowItem]
) -> NowItem:
    """The season's one ``action``: for the certified first choice when there is one; else
    the best of the programs it may go to (soonest open), shown with no program; else (no
    program yet) what the rulebook says of it season-wide."""
    if state.rank_order:
        first = state.rank_order[0]
        verdict = _ask(state, first, action, at, judge)
        return NowItem(verdict, _status(state, first, verdict, at, judge))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    candidates = sorted(
        (i for i in items if i.verdict.action == action),
        key=lambda i: (_STATUS_RANK[i.status], i.verdict.opens_at or far, i.verdict.program or ""),
    )
    if candidates:
        best = candidates[0]
        return NowItem(replace(best.verdict, program=None), best.status)
    verdict = _ask(state, None, action, at, judge)
    return NowItem(verdict, _status(state, None, verdict, at, judge))


def what_now(state: SeasonState, at: dt.datetime, judge: Judge) -> NowReport:
    """Judge every action the state machine allows, per program, as of ``at``; each
    season-level choice once; and the season's checklist."""
    items = []
    for pid, program in state.programs.items():
        triggers = set(allowed_triggers(program.state))
        for action, event in ACTION_EVENTS.items():
            if event in triggers:
                verdict = judge_action(state, pid, action, at, judge)
                items.append(NowItem(verdict, _status(state, pid, verdict, at, judge)))
    items.sort(key=lambda i: _urgency(i.verdict))
    season_items = tuple(_season_item(state, a, at, judge, items) for a in SEASON_ACTIONS)
    checklist = judge.judge(state, None, CHECKLIST, at).findings
    signals = judge.signals_provisional()
    return NowReport(
        season=state.id,
        as_of=at,
        calendar_provisional=state.calendar.provisional,
        calendar_source=state.calendar.source,
        signals_provisional=signals is not None,
        signals_provisional_because=signals or "",
        timezone=state.timezone,
        items=tuple(items),
        program_names={pid: p.name for pid, p in state.programs.items()},
        season_items=season_items,
        checklist=checklist,
    )


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every finding over a season's history, each tied to the event that caused it."""

    season: str
    findings: tuple[AuditFinding, ...]

    @property
    def summary(self) -> dict[str, int]:
        """How many findings of each severity."""
        counts = {"block": 0, "warn": 0, "info": 0}
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    @property
    def has_blocks(self) -> bool:
        """Whether any finding is block-level (``audit`` then exits 1)."""
        return self.summary["block"] > 0

    def to_json(self) -> dict[str, Any]:
        """The ``audit`` JSON shape of DESIGN §6."""
        return {
            "season": self.season,
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary,
        }


OVERRIDE_RULE = "override.recorded"


def audit_records(
    season: str,
    records: Iterable[Record],
    rulebook: RulebookProtocol,
    *,
    at: dt.datetime | None = None,
) -> AuditReport:
    """Fold the whole history and collect every finding, overrides always included.

    With ``at`` (the instant of the audit), the season's :data:`CHECKLIST` is asked too,
    on the final state: what is still undone by then (a finding of it is reported at the
    event it is about, such as the interview never thanked). See :func:`audit_parts`.
    """
    return audit_parts(season, records, rulebook).report(at)


@dataclass(frozen=True, slots=True)
class AuditParts:
    """A season's audit as far as it does not depend on the instant of the audit: the
    findings before the checklist's, the final state the checklist is asked about (and
    the season's judge, the fold's, that asks it), and the findings after (overrides of
    retracted events, and of retractions)."""

    season: str
    history: tuple[AuditFinding, ...]
    state: SeasonState | None
    """The state after every live record (``None``: the season has none)."""
    judge: Judge | None
    """The rulebook bound to the season by the fold (``None`` with no state)."""
    after: tuple[AuditFinding, ...]

    def report(self, at: dt.datetime | None) -> AuditReport:
        """The audit as of ``at`` (no checklist without one), as :func:`audit_records`."""
        if at is None or self.state is None or self.judge is None:
            return AuditReport(self.season, (*self.history, *self.after))
        middle = checklist_findings(self.state, self.judge, at)
        return AuditReport(self.season, (*self.history, *middle, *self.after))


class _Binding:
    """A rulebook that keeps the judge it last bound to a season: the fold's, which
    :meth:`AuditParts.report` asks the checklist again (binding once more would compute
    the season's frame again)."""

    __slots__ = ("judge", "rulebook")

    def __init__(self, rulebook: RulebookProtocol):
        self.rulebook = rulebook
        self.judge: Judge | None = None

    def for_season(self, state: SeasonState) -> Judge:
        """The rulebook's judge of the season, kept."""
        self.judge = self.rulebook.for_season(state)
        return self.judge

    def fingerprint(self) -> str:
        """The rulebook's."""
        return self.rulebook.fingerprint()


def checklist_findings(state: SeasonState, judge: Judge, at: dt.datetime) -> list[AuditFinding]:
    """What the season's :data:`CHECKLIST` finds undone at ``at``, as audit findings (a
    note about the season, tied to no event, is for ``now`` only)."""
    return [
        AuditFinding(f.rule, f.severity, f.program, f.seq, f.message, f.source)
        for f in judge.judge(state, None, CHECKLIST, at).findings
        if f.seq is not None
    ]


def audit_parts(season: str, records: Iterable[Record], rulebook: RulebookProtocol) -> AuditParts:
    """The :class:`AuditParts` of a season: every finding of its history.

    Every record with an override gets it shown: its own block findings carry it, and
    when none of its findings is a block an ``override.recorded`` info says why it was
    overridden. A record with an override that was recorded after events it precedes in
    replay order (a back-filled event), or a retraction with an override, may have made
    those earlier-recorded events break a rule; the exact rule is the one admission
    applied: a block finding of rule R at event X (X without an override of its own) is
    *covered* by the override of record O when X did not break R in the log of the
    records before O (by seq) and did in that log plus O. A covered finding is reported
    at X with O's override and a message naming O; the note at O names X. Only records
    with an override that precede earlier-recorded ones (or retract) cost the two extra
    folds this needs; an audit of a season without them costs nothing more. (A log whose
    records before O do not fold on their own, possible only inside an imported batch,
    leaves that O's findings uncovered.)
    """
    records = list(records)
    covered = _covered(records, rulebook)
    caused: dict[int, list[tuple[int, str]]] = {}
    out: list[AuditFinding] = []
    notes: list[tuple[int, Record]] = []  # (index in out, record): written once all is known
    state: SeasonState | None = None
    binding = _Binding(rulebook)
    live = live_records(records)
    for after, judged in fold(live, binding, found_only=True):
        state = after  # one object, changed in place by the fold
        r = judged.record
        for f in judged.findings:
            by = covered.get((r.seq, f.rule)) if covered and r.override is None else None
            if by is None:
                program = r.program if f.program is None else f.program
                out.append(
                    AuditFinding(
                        f.rule, f.severity, program, r.seq, f.message, f.source, r.override
                    )
                )
                continue
            caused.setdefault(by.seq, []).append((r.seq, f.rule))
            what = f"{by.type} for {by.program}" if by.program else by.type
            message = (
                f"{f.message} (allowed by the override on seq {by.seq}, {what}, "
                f"recorded after this event: {by.override})"
            )
            out.append(
                AuditFinding(f.rule, f.severity, r.program, r.seq, message, f.source, by.override)
            )
        if r.override is not None and not any(f.severity == "block" for f in judged.findings):
            notes.append((len(out), r))
            out.append(_override_note(r, "no rule blocks it on replay"))
    for index, r in notes:
        if r.seq in caused:
            out[index] = _override_note(r, _why(r, caused, ""))
    last: list[AuditFinding] = []
    # Without a retraction, every record is live (a pass over the records spared).
    gone = retracted_seqs(records) if len(live) != len(records) else set()
    if gone:  # an override is kept in every audit, also once its event was retracted
        for r in records:
            if r.override is None:
                continue
            if r.seq in gone:
                last.append(_override_note(r, "later retracted"))
            elif r.type == "event_retracted":
                last.append(
                    _override_note(r, _why(r, caused, "it makes no event break a rule on replay"))
                )
    return AuditParts(season, tuple(out), state, binding.judge, tuple(last))


def _why(record: Record, caused: dict[int, list[tuple[int, str]]], otherwise: str) -> str:
    made = caused.get(record.seq)
    if not made:
        return otherwise
    broken = "; ".join(f"seq {seq} break {rule}" for seq, rule in made)
    return f"it makes the earlier-recorded {broken}"


def _override_note(record: Record, why: str) -> AuditFinding:
    return AuditFinding(
        OVERRIDE_RULE,
        "info",
        record.program,
        record.seq,
        f"{record.type} was recorded with an override ({record.override}); {why}",
        "prematch",
        record.override,
    )


def _covered(records: list[Record], rulebook: RulebookProtocol) -> dict[tuple[int, str], Record]:
    """``(seq, rule)`` of each covered block finding, and the record whose override covers
    it (see :func:`audit_records`)."""
    if all(map(operator.is_, map(_OVERRIDE, records), itertools.repeat(None))):
        return {}  # no override (most seasons): a pass over the records in C
    by_seq = sorted(records, key=operator.attrgetter("seq"))
    candidates: list[Record] = []
    latest: tuple[int, dt.datetime, int] | None = None
    for r in by_seq:
        key = replay_key(r)
        if r.override is not None and (
            r.type == "event_retracted" or (latest is not None and key < latest)
        ):
            candidates.append(r)
        if latest is None or key > latest:
            latest = key
    if not candidates:
        return {}
    blocks: dict[int, dict[int, frozenset[str]] | None] = {}

    def up_to(seq: int) -> dict[int, frozenset[str]] | None:  # the blocks of seqs <= seq
        if seq not in blocks:
            try:
                blocks[seq] = blocks_by_seq([r for r in by_seq if r.seq <= seq], rulebook)
            except PrematchError:
                blocks[seq] = None
        return blocks[seq]

    out: dict[tuple[int, str], Record] = {}
    for o in candidates:
        before, after = up_to(o.seq - 1), up_to(o.seq)
        if before is None or after is None:
            continue
        for seq, rules in caused_blocks(before, after, o.seq).items():
            for rule in rules:
                out.setdefault((seq, rule), o)
    return out


SEASONS_PER_TASK = 250
"""Seasons one worker audits per task: enough to pay for opening the file again."""


def audit_jobs(seasons: int, cpus: int | None = None) -> int:
    """How many processes ``audit --all`` uses by default: one per CPU this process may
    use, but no more than there are :data:`SEASONS_PER_TASK` runs of seasons (a small
    store is audited faster in one process than it takes to start another)."""
    return jobs_for(seasons // SEASONS_PER_TASK, cpus)


def audit_store(
    store: Store,
    rulebook: RulebookProtocol,
    *,
    jobs: int = 1,
    at: dt.datetime | None = None,
    rebuild: bool = False,
) -> Iterator[AuditReport]:
    """Audit every season of a store (``audit --all``), in season-id order (with ``at``,
    each season's checklist as of that instant, see :func:`audit_records`).

    Seasons whose events and rulebook are those of their row in the store's findings
    projection (:mod:`prematch.engine._projection`) are taken from it; the others are
    judged and kept there (unless the store is read-only or busy). ``rebuild`` judges
    every season again and rewrites its row.

    The seasons are cut into contiguous runs of about :data:`SEASONS_PER_TASK`, each read
    a run at a time. With ``jobs`` > 1 (and seasons enough to judge, see
    :func:`audit_jobs`) the runs go to that many worker processes (each opens the store
    again, a file or a database: :meth:`Store.reopen_target`; a memory store stays in this
    process); the reports still come out in order, and at most two runs per worker are in
    flight, so memory stays flat however many seasons the store holds. Whether workers
    are used depends on the store, so with ``jobs`` > 1 ``rulebook`` must always pickle:
    one that does not raises :class:`InputError` (field ``rulebook``) before any season
    is read.
    """
    from prematch.engine._projection import audit_range, judged_runs, projection_key, stale_count

    if jobs > 1:
        check_pickles(rulebook, "rulebook", "picklable")
    key = projection_key(rulebook)
    with paused_gc():
        seasons = sorted(store.seasons())
        runs = chunks(seasons, max(jobs, -(-len(seasons) // SEASONS_PER_TASK)))
        if jobs > 1 and store.reopen_target() is not None:  # else memory, say
            jobs = audit_jobs(len(seasons) if rebuild else stale_count(store, key, runs), jobs)
            runs = chunks(seasons, max(jobs, -(-len(seasons) // SEASONS_PER_TASK)))
        else:
            jobs = 1
        judge = functools.partial(audit_range, rulebook=rulebook, key=key, at=at, rebuild=rebuild)
        yield from judged_runs(store, runs, jobs, judge)


_NEXT_RANK = {"due": 0, "allowed": 1, "warn": 1, "opens_later": 2}
_ENDED = ("rejected", "declined", "withdrawn")


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One program as ``prematch status`` shows it (DESIGN §6).

    ``interview_on`` is the interview's day as the program gives it; ``interview_at`` the
    instant it took place (when recorded), shown in ``timezone`` (the program's, else the
    season's). ``last_message`` is the latest message sent (action, instant). ``next`` is
    the most urgent thing to do for the program (due, then allowed, then opening later),
    ``None`` when nothing is open; ``block`` and ``warn`` count the audit's findings about it.
    """

    program: str
    name: str
    state: str
    timezone: str
    interview_on: dt.date | None
    interview_at: dt.datetime | None
    last_message: tuple[str, dt.datetime] | None
    next: NowItem | None
    block: int
    warn: int

    @property
    def next_at(self) -> dt.datetime | None:
        """When the next thing is due by (``due``), opens (``opens_later``) or closes."""
        if self.next is None:
            return None
        v = self.next.verdict
        if self.next.status == "due":
            return v.due_by
        if self.next.status == "opens_later":
            return v.opens_at
        return v.closes_at

    def to_json(self) -> dict[str, Any]:
        """One element of the ``status`` JSON's ``programs`` (docs/json.md)."""
        nxt = None
        if self.next is not None:
            at = None if self.next_at is None else utc_iso(self.next_at)
            nxt = {"action": self.next.verdict.action, "status": self.next.status, "at": at}
        return {
            "program": self.program,
            "name": self.name,
            "state": self.state,
            "timezone": self.timezone,
            "interview_on": None if self.interview_on is None else self.interview_on.isoformat(),
            "interview_at": None if self.interview_at is None else utc_iso(self.interview_at),
            "last_message": None
            if self.last_message is None
            else {"action": self.last_message[0], "at": utc_iso(self.last_message[1])},
            "next": nxt,
            "findings": {"block": self.block, "warn": self.warn},
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Every program of a season, one row each, most urgent first (``prematch status``)."""

    season: str
    as_of: dt.datetime
    timezone: str
    rows: tuple[StatusRow, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``status`` JSON shape (docs/json.md)."""
        return {
            "season": self.season,
            "as_of": utc_iso(self.as_of),
            "programs": [r.to_json() for r in self.rows],
        }


def _status_key(row: StatusRow) -> tuple[int, int, dt.datetime, str]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    ended = 1 if row.state in _ENDED else 0
    rank = 3 if row.next is None else _NEXT_RANK[row.next.status]
    return ended, rank, row.next_at or far, row.program


def program_status(state: SeasonState, now: NowReport, audit: AuditReport) -> StatusReport:
    """One :class:`StatusRow` per program of ``state``, from the ``now`` report and the
    ``audit`` of the same instant: programs with something due first (soonest first),
    then those with something allowed, then opening later, then nothing open; programs
    whose story ended (rejected, declined, withdrawn) last."""
    findings: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for f in audit.findings:
        if f.program is not None:
            findings[f.program][f.severity] += 1
    best: dict[str, NowItem] = {}
    for item in now.items:
        pid = item.verdict.program
        if pid is None or item.status not in _NEXT_RANK or item.verdict.action in SEASON_ACTIONS:
            continue  # the one letter of intent is the season's choice, not a program's next
        if pid not in best or _NEXT_RANK[item.status] < _NEXT_RANK[best[pid].status]:
            best[pid] = item  # the items come soonest deadline first
    rows = []
    for pid, p in state.programs.items():
        last = max(p.messages, key=operator.attrgetter("at"), default=None)
        rows.append(
            StatusRow(
                program=pid,
                name=p.name,
                state=p.state,
                timezone=p.timezone or state.timezone,
                interview_on=p.interview_day(state.timezone),
                interview_at=p.interviewed_at,
                last_message=None if last is None else (last.action, last.at),
                next=best.get(pid),
                block=findings[pid]["block"],
                warn=findings[pid]["warn"],
            )
        )
    rows.sort(key=_status_key)
    return StatusReport(state.id, now.as_of, state.timezone, tuple(rows))


@dataclass(frozen=True, slots=True)
class SeasonSummary:
    """One season in a line (``audit --all --summary``, an advisor's view): its block and
    warn findings, its next deadline (the soonest thing due: program, action, due by; or
    ``None``), what is late (:attr:`late`) and how many programs are in each state."""

    season: str
    applicant: str
    as_of: dt.datetime
    block: int
    warn: int
    next_due: Verdict | None
    states: dict[str, int]
    late: tuple[Verdict, ...] = ()
    """What is still open but past its ``due_by`` (a thank-you whose window closed), most
    overdue first: the items ``now`` shows as allowed with a deadline gone by."""

    def to_json(self) -> dict[str, Any]:
        """One element of the summary JSON's ``seasons`` (docs/json.md)."""
        due = self.next_due
        return {
            "season": self.season,
            "applicant": self.applicant,
            "block": self.block,
            "warn": self.warn,
            "next_deadline": _deadline_json(due),
            "late": len(self.late),
            "most_overdue": _deadline_json(self.late[0] if self.late else None),
            "states": self.states,
        }


def _deadline_json(verdict: Verdict | None) -> dict[str, Any] | None:
    """``{"program", "action", "due_by"}`` of a verdict with a ``due_by``, else ``None``."""
    if verdict is None or verdict.due_by is None:
        return None
    return {"program": verdict.program, "action": verdict.action, "due_by": utc_iso(verdict.due_by)}


def season_summary(state: SeasonState, now: NowReport, audit: AuditReport) -> SeasonSummary:
    """The :class:`SeasonSummary` of a season from its ``now`` report and its ``audit``."""
    due = [i.verdict for i in (*now.items, *now.season_items) if i.status == "due"]
    # What is late, as ``now`` lists it: a season-level choice once, not per program.
    shown = (*(i for i in now.items if i.verdict.action not in SEASON_ACTIONS), *now.season_items)
    late = [i.verdict for i in shown if i.late]
    return _summary(state, now.as_of, (_soonest(due), _overdue(late)), audit)


def summarize(
    state: SeasonState, at: dt.datetime, judge: Judge, audit: AuditReport
) -> SeasonSummary:
    """:func:`season_summary` of the state as of ``at`` and the ``audit`` of then, without
    the whole ``now`` report: the next deadline and what is late are :func:`deadlines`'."""
    return _summary(state, at, deadlines(state, at, judge), audit)


def _summary(
    state: SeasonState,
    at: dt.datetime,
    found: tuple[Verdict | None, tuple[Verdict, ...]],
    audit: AuditReport,
) -> SeasonSummary:
    counts = audit.summary
    states = collections.Counter(p.state for p in state.programs.values())
    return SeasonSummary(
        season=state.id,
        applicant=state.applicant_name,
        as_of=at,
        block=counts["block"],
        warn=counts["warn"],
        next_due=found[0],
        states=dict(sorted(states.items())),
        late=found[1],
    )


def _soonest(due: list[Verdict]) -> Verdict | None:
    """The first of ``due`` (each with a ``due_by``) with the soonest ``due_by``."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return min(due, key=lambda v: v.due_by or far, default=None)


def _is_late(verdict: Verdict, status: NowStatus) -> bool:
    """Whether an item of ``now`` is late: open (allowed, warned) though its ``due_by``
    has gone by (else its status would be ``due``)."""
    return status in ("allowed", "warn") and verdict.due_by is not None


def _overdue(late: list[Verdict]) -> tuple[Verdict, ...]:
    """``late`` most overdue first (earliest ``due_by``; then program, action)."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return tuple(sorted(late, key=lambda v: (v.due_by or far, v.program or "", v.action)))


def deadlines(
    state: SeasonState, at: dt.datetime, judge: Judge
) -> tuple[Verdict | None, tuple[Verdict, ...]]:
    """The soonest thing due as of ``at`` (a summary's next deadline) and what is late,
    most overdue first: the same as :func:`season_summary` finds among the items of
    :func:`what_now`'s report, at a fraction of its cost. Only an action allowed now can
    be due or late, so a blocked one is not asked again at its opening instant (what
    tells ``opens_later`` from ``blocked``), and the checklist is not asked; the
    season-level choice is the one ``what_now`` shows (a blocked candidate never ranks
    before an allowed one). A judge that says which actions may carry a ``due_by``
    (``may_be_due``, see :class:`Judge`) is asked only those."""
    hint = getattr(judge, "may_be_due", None)
    asked = ACTION_EVENTS if hint is None else _may_be_due(hint)
    due: list[Verdict] = []
    late: list[Verdict] = []

    def sort_in(verdict: Verdict, status: NowStatus) -> None:
        if status == "due":
            due.append(verdict)
        elif _is_late(verdict, status):
            late.append(verdict)

    chosen: dict[str, list[tuple[NowStatus, Verdict]]] = {a: [] for a in SEASON_ACTIONS}
    for pid, program in state.programs.items():
        triggers = _triggers(program.state)
        for action, event in asked.items():
            if event not in triggers:
                continue
            verdict = judge_action(state, pid, action, at, judge)
            if verdict.outcome == "blocked":
                continue
            status = _open_status(verdict, at)
            if action not in chosen:
                sort_in(verdict, status)
                continue
            chosen[action].append((status, verdict))  # late once, as the season's choice
            if status == "due":
                due.append(verdict)
    due.sort(key=_urgency)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    for action, candidates in chosen.items():
        if state.rank_order:  # the certified first choice's verdict
            if action not in asked:
                continue
            verdict = _ask(state, state.rank_order[0], action, at, judge)
        elif candidates:  # the best of the programs' verdicts not blocked
            status, verdict = min(
                candidates,
                key=lambda c: (_STATUS_RANK[c[0]], c[1].opens_at or far, c[1].program or ""),
            )
            sort_in(replace(verdict, program=None), status)
            continue
        elif _has_trigger(state, ACTION_EVENTS[action]):
            continue  # only blocked candidates (or never due): so is the season's choice
        elif hint is not None and not hint(action, True):
            continue  # the season-wide question, never due
        else:
            verdict = _ask(state, None, action, at, judge)
        if verdict.outcome != "blocked":
            sort_in(verdict, _open_status(verdict, at))
    return _soonest(due), _overdue(late)


def _may_be_due(hint: Callable[[str, bool], bool]) -> Mapping[str, str]:
    """The actions (and their events) whose verdict for a program may carry a ``due_by``."""
    return {a: e for a, e in ACTION_EVENTS.items() if hint(a, False)}


def _open_status(verdict: Verdict, at: dt.datetime) -> NowStatus:
    """The status of a verdict that is not blocked (see :func:`_status`)."""
    if verdict.due_by is not None and verdict.due_by >= at:
        return "due"
    return "allowed" if verdict.outcome == "allowed" else "warn"


def _has_trigger(state: SeasonState, event: str) -> bool:
    """Whether the state machine allows ``event`` for some program of ``state``."""
    return any(event in _triggers(p.state) for p in state.programs.values())


@functools.cache
def _triggers(state: str) -> frozenset[str]:
    """:func:`allowed_triggers` of a program state, as a set (asked once per state)."""
    return frozenset(allowed_triggers(state))
