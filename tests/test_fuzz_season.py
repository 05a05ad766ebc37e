"""Whole seasons played by Hypothesis against a real SQLite file (issue 4).

:class:`SeasonMachine` drives the public engine API only: it adds programs, applies,
gets invited and interviewed, thanks, inquires, records news, sends updates and
letters of interest and intent (to one program, or to every program they may go to),
certifies rank lists, retracts earlier events, moves its own clock (minutes to weeks,
to the next opening ``now`` announces, and to the landmarks of the season: the DST end,
the rank list deadline, Match Week) and sometimes records a blocked action with an
override. After every step it checks the invariants of the issue:

1. a season never holds two live letters of intent without an override;
2. every program's messages respect ``thanks.once``, ``interest.once``, ``inquiry.once``,
   ``interest.limit``, ``spam.gap`` and ``spam.cap`` with the default parameters
   (recomputed here, independently of the rulebook).
   Both are checked message by message: a message recorded without an override must
   respect the rule given every live message before it, overridden ones included. In
   a season without overrides that is exactly the invariant of the issue; with
   overrides it still holds for everything the applicant did not override;
3. every override recorded appears in ``audit`` with its seq, reason and rule (also
   once retracted); a season recorded without any override has no block-level finding;
4. ``now``, ``check`` and ``log`` agree at the same instant (checked by the steps that
   write: :meth:`SeasonMachine.send` and :meth:`SeasonMachine.follow_now`);
5. replay is deterministic, independent of the order of appends, and equals the
   season's state;
6. export → import into a new file reproduces the events, hashes, ``now`` and ``audit``
   (a step, since it writes a second file);
7. no preference signal recorded without an override goes beyond the specialty's number
   of its tier (``fixtures/signals/2027.toml``, read here on its own) or to a program
   already signalled (``signals.limit``);
8. no rank list certified without an override holds a program outside the Match as of
   its certification (``rank.non_nrmp``; programs leave the Match by ``program_updated``).

Every write either succeeds (and appends exactly one line to the export) or raises
``PolicyRefusal`` / ``StructuralError`` / ``InputError`` and leaves the file unchanged
(same export lines, same bytes on disk).

``test_invariant_fails_without_rule`` runs the same machine with one rule switched
off and expects Hypothesis to break the invariant that rule guards. In process: the
library only.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import tempfile
import tomllib
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from history import SCRATCH, History
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from prematch import engine
from prematch.engine import (
    ACTION_EVENTS,
    MESSAGE_EVENTS,
    InputError,
    PolicyRefusal,
    Record,
    Season,
    SeasonState,
    Store,
    StructuralError,
)
from prematch.policies import Rulebook, default_params

TZ_NAME = "America/New_York"
TZ = zoneinfo.ZoneInfo(TZ_NAME)
UTC = dt.UTC
SEASON_ID = "fuzz-2027"
SEASON_START = dt.datetime(2026, 9, 20, 10, tzinfo=TZ)
DST_END = dt.datetime(2026, 11, 1, 6, tzinfo=UTC)  # 02:00 EDT becomes 01:00 EST
DEADLINE = dt.datetime(2027, 3, 3, 21, tzinfo=TZ)
TICK = dt.timedelta(minutes=1)
"""Each successful write moves the clock on by at least this much (plus the season's pace),
so that event times stay distinct."""

PROGRAMS = tuple(f"p{i}" for i in range(8))
PARAMS = default_params()
OVERRIDE = "fuzz"
REFUSALS = (PolicyRefusal, StructuralError, InputError)
ONCE = {"thank_you": "thanks.once", "interest": "interest.once", "inquiry": "inquiry.once"}
"""Messages a program gets at most once, and the rule that says so."""

LANDMARKS = tuple(
    sorted(
        m.astimezone(UTC)
        for m in (
            dt.datetime(2026, 10, 15, tzinfo=TZ),  # inquiries open
            DST_END,
            dt.datetime(2026, 12, 1, tzinfo=TZ),  # inquiries late
            dt.datetime(2027, 1, 2, tzinfo=TZ),  # letters' recommended window opens
            dt.datetime(2027, 2, 1, tzinfo=TZ),  # inquiries closed
            DEADLINE - dt.timedelta(days=7),  # recommended window closes
            DEADLINE,
            dt.datetime(2027, 3, 14, 7, tzinfo=UTC),  # DST starts
            dt.datetime(2027, 3, 15, 10, tzinfo=TZ),  # Match Week
        )
    )
)
"""Instants the clock may jump near, so runs cross the DST end and the deadline."""

STRUCTURAL = {
    "applied": ("listed",),
    "invited": ("listed", "applied"),
    "interviewed": ("invited",),
    "inquiry_sent": ("listed", "applied"),
    "thanked": ("interviewed", "ranked"),
    "update_sent": ("applied", "invited", "interviewed", "ranked"),
    "interest_sent": ("interviewed", "ranked"),
    "intent_sent": ("interviewed", "ranked"),
    "signal_sent": ("listed", "applied"),
}
"""Where each event the machine logs is possible (the machine prefers those programs)."""

NEWS_KINDS = ("exam", "visa", "publication", "letter", "clinical", "other")


def _signal_file(year: int | str) -> dict[str, Any]:
    with (engine.fixtures_dir() / "signals" / f"{year}.toml").open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    base = data.get("carried_over_from")  # an unverified year takes an earlier one's numbers
    return data if base is None else _signal_file(base)


SIGNALS = _signal_file(2027)["specialties"]["Internal Medicine"]
"""The signals of each tier the fuzzed (internal medicine, 2027) season may send."""

STAGES = st.sampled_from([3, 2, 1, 0, 3, 3])
"""How far each starting program has got: interviewed, invited, applied or listed."""

advances = st.one_of(
    st.integers(1, 59).map(lambda n: dt.timedelta(minutes=n)),
    st.integers(1, 72).map(lambda n: dt.timedelta(hours=n)),
    st.integers(1, 21).map(lambda n: dt.timedelta(days=n)),
)


def files_size(path: Path) -> int:
    """Bytes of the database file and its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def gap_opens(last: dt.datetime) -> dt.datetime:
    """When the next message may go: ``spam.gap_days`` calendar days later, in the season's
    timezone (computed with pendulum, not with the rulebook's own arithmetic)."""
    moment = pendulum.instance(last).in_timezone(TZ_NAME).add(days=PARAMS["spam.gap_days"])
    return dt.datetime.fromtimestamp(moment.timestamp(), UTC)


def exempt(program: engine.ProgramState, m: engine.Message, earlier: list[engine.Message]) -> bool:
    """Whether ``spam.gap`` lets message ``m`` (after ``earlier``) skip the gap: a thank-you
    within ``thanks.due_hours`` real hours of the interview, or an update telling news the
    program had not heard."""
    if m.action == "thank_you":
        due = dt.timedelta(hours=PARAMS["thanks.due_hours"])
        return program.interviewed_at is not None and m.at <= program.interviewed_at + due
    told = {e.news_seq for e in earlier if e.action == "update"}
    return m.action == "update" and m.news_seq is not None and m.news_seq not in told


def summary(state: SeasonState, seq_map: dict[int, int] | None = None) -> Any:
    """What replay decides, in comparable form; ``seq_map`` renames seqs back."""
    m = seq_map or {}

    def s(seq: int | None) -> int | None:
        return None if seq is None else m.get(seq, seq)

    programs = {
        pid: (
            p.state,
            p.applied_at,
            p.invited_at,
            p.interviewed_at,
            p.ended_at,
            tuple(p.connections),
            tuple((x.action, x.at, s(x.seq), x.override, s(x.news_seq)) for x in p.messages),
            frozenset(s(n) for n in p.told_news),
        )
        for pid, p in state.programs.items()
    }
    news = tuple((s(n.seq), n.kind, n.detail, n.at) for n in state.news)
    return programs, news, state.rank_order, state.rank_certified_at, s(state.rank_certified_seq)


def permuted(records: list[Record], rng: random.Random) -> tuple[list[Record], dict[int, int]]:
    """The same events under shuffled seqs (references remapped), appended in shuffled order.

    Returns the records and the map from new seqs back to the old ones.
    """
    seqs = [r.seq for r in records]
    shuffled = seqs[:]
    rng.shuffle(shuffled)
    forward = dict(zip(seqs, shuffled, strict=True))
    out = []
    for r in records:
        payload = {
            k: forward.get(v, v) if k in ("retracts", "news_seq") else v
            for k, v in r.payload.items()
        }
        out.append(r._replace(seq=forward[r.seq], payload=payload))
    rng.shuffle(out)
    return out, {new: old for old, new in forward.items()}


class SeasonMachine(RuleBasedStateMachine):
    """One applicant's season, played step by step through ``engine.Season``."""

    disabled: frozenset[str] = frozenset()
    """Rules switched off in the rulebook (subclasses prove the invariants need them)."""

    @classmethod
    def make_rulebook(cls) -> Rulebook:
        return Rulebook(disable=cls.disabled)

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="prematch-fuzz-", dir=SCRATCH))
        self.path = self.dir / "season.db"
        self.store = Store.open(self.path)
        self.rulebook = self.make_rulebook()
        self.now = SEASON_START.astimezone(UTC)
        opening = History(season_id=SEASON_ID, name="Fuzz Applicant", started=SEASON_START)
        self.season = opening.season(self.store, rulebook=self.rulebook, clock=self.clock)
        self.now += TICK
        self.last = self.snapshot()
        self.version = 0
        self.checked: dict[str, int] = {}
        self.allow_overrides = False
        self.pace = dt.timedelta(0)
        self.overrides: dict[int, tuple[str, frozenset[str], int]] = {}
        """seq -> (reason, rules that blocked it when recorded, retractions before it)."""
        self.ever_overridden = False
        self.retractions = 0
        self.copies = 0
        self.exported = 0
        self._state: SeasonState | None = None

    def clock(self) -> dt.datetime:
        """The machine's clock, as an aware datetime in the season's timezone."""
        return self.now.astimezone(TZ)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------

    def snapshot(self) -> tuple[list[str], int]:
        """The export and the file size now."""
        return list(engine.export_lines(self.store)), files_size(self.path)

    def write(self, fn: Callable[[], engine.Judged]) -> engine.Judged | None:
        """Run one write: it succeeds and appends one event, or is refused and changes nothing.

        Only the machine writes, so the snapshot taken after one write is the one before
        the next.
        """
        lines, size = self.last
        try:
            out = fn()
        except REFUSALS as e:
            after, after_size = self.snapshot()
            assert after == lines, f"refused write ({e!r}) changed the events"
            assert after_size == size, f"refused write ({e!r}) changed the file size"
            return None
        self.last = after, _ = self.snapshot()
        assert after[:-1] == lines and len(after) == len(lines) + 1, "not one appended event"
        if out.record.override is not None:
            blocks = frozenset(f.rule for f in out.findings if f.severity == "block")
            self.overrides[out.record.seq] = (out.record.override, blocks, self.retractions)
            self.ever_overridden = True
        self.now += TICK + self.pace
        self._state = None
        self.version += 1
        return out

    def changed_since(self, check: str) -> bool:
        """Whether the log changed since invariant ``check`` last looked (all it depends on)."""
        if self.checked.get(check) == self.version:
            return False
        self.checked[check] = self.version
        return True

    def state(self) -> SeasonState:
        """The season's state (replayed once per successful write, then reused)."""
        if self._state is None:
            self._state = self.season.state()
        return self._state

    def fitting(self, kind: str) -> list[str]:
        """Programs from which the state machine allows ``kind``."""
        return [p.id for p in self.state().programs.values() if p.state in STRUCTURAL[kind]]

    def can(self, kind: str) -> bool:
        return bool(self.fitting(kind))

    def send(self, kind: str, program: str, override: str | None = None) -> bool:
        """Log a message event; the outcome must match ``check`` at the same instant."""
        action = MESSAGE_EVENTS[kind]
        verdict = self.season.check(action, program)
        out = self.write(lambda: self.season.record(kind, program, override=override))
        rules = [f.rule for f in verdict.findings if f.severity == "block"]
        if override is None:
            expected = verdict.outcome != "blocked"
        else:
            expected = "state.invalid" not in rules
        assert (out is not None) == expected, (
            f"invariant 4 (check/log agree): check said {verdict.outcome} {rules} for "
            f"{action} to {program}, log {'accepted' if out else 'refused'} it "
            f"(override={override!r})"
        )
        return out is not None

    def event(self, kind: str, index: int, override: str | None = None) -> None:
        """Log ``kind`` for one of the programs where the state machine allows it."""
        state = self.state()
        fitting = self.fitting(kind)
        if kind in MESSAGE_EVENTS:  # programs it may go to now first, then the others
            action = MESSAGE_EVENTS[kind]
            now = self.clock()
            fitting.sort(
                key=lambda pid: (
                    engine.judge_action(
                        state, pid, action, now, self.rulebook.for_season(state)
                    ).outcome
                    == "blocked"
                )
            )
        pid = fitting[index % len(fitting)]
        if kind in MESSAGE_EVENTS:
            self.send(kind, pid, override)
        else:
            self.write(lambda: self.season.record(kind, pid))

    def batch(self, kind: str) -> None:
        """Log ``kind`` for every program it may be logged for, one after the other.

        A message waits until it may go to some program, if ``now`` says it opens later.
        Updates go out until each program has heard all the news (one update per news).
        """
        if kind in MESSAGE_EVENTS:
            items = [
                i for i in self.season.what_now().items if i.verdict.action == MESSAGE_EVENTS[kind]
            ]
            if not any(i.verdict.outcome != "blocked" for i in items):
                later = [i.verdict.opens_at for i in items if i.status == "opens_later"]
                if later:
                    self.now = min(o for o in later if o is not None).astimezone(UTC)
        for pid in self.fitting(kind):
            if kind not in MESSAGE_EVENTS:
                self.write(lambda pid=pid: self.season.record(kind, pid))
                continue
            while self.season.check(MESSAGE_EVENTS[kind], pid).outcome != "blocked":
                assert self.send(kind, pid)
                if kind != "update_sent":
                    break

    # -- steps ---------------------------------------------------------------------------

    @initialize(
        overrides=st.booleans(),
        lead=st.sampled_from([0, 0, 30, 60, 105, 150]),
        pace=st.sampled_from([0, 60, 6 * 60, 24 * 60]),
        shape=st.sampled_from(["mixed", "interviewed", "early"]),
        programs=st.sampled_from(range(len(PROGRAMS), 0, -1)).flatmap(
            lambda n: st.lists(
                st.tuples(
                    st.sampled_from([True, False]), st.sampled_from([False] * 7 + [True]), STAGES
                ),
                min_size=n,
                max_size=n,
            )
        ),
    )
    def begin(
        self,
        overrides: bool,
        lead: int,
        pace: int,
        shape: str,
        programs: list[tuple[bool, bool, int]],
    ) -> None:
        """How this season goes.

        ``overrides``: whether it may record blocked actions with an override. ``lead``:
        how many days after the season started its programs are added (so that every part
        of the season gets played). ``shape``: each program at its own stage (mixed), all
        interviewed, or all still before their interviews (early: listed or applied).
        ``pace``: how many minutes pass after each event, from a busy hour to a slow season.
        """
        self.allow_overrides = overrides
        self.pace = dt.timedelta(minutes=pace)
        self.now += dt.timedelta(days=lead)
        for n, (connection, no_contact, own_stage) in enumerate(programs):
            stage = {"mixed": own_stage, "interviewed": 3, "early": own_stage % 2}[shape]
            self.add_program(False, connection, no_contact)
            for kind in ("applied", "invited", "interviewed")[:stage]:
                self.write(lambda kind=kind, pid=PROGRAMS[n]: self.season.record(kind, pid))

    @precondition(lambda self: len(self.state().programs) < len(PROGRAMS))
    @rule(
        again=st.sampled_from([False] * 5 + [True]),
        connection=st.booleans(),
        no_contact=st.sampled_from([False] * 7 + [True]),
    )
    def add_program(self, again: bool, connection: bool, no_contact: bool) -> None:
        """Add the next program (``again``: add the first one again, and be refused)."""
        known = self.state().programs
        pid = next(p for p in PROGRAMS if p not in known) if not again or not known else "p0"
        fields: dict[str, Any] = {"no_post_interview_contact": True} if no_contact else {}
        added = self.write(lambda: self.season.add_program(pid, f"Program {pid}", **fields))
        if added is not None and connection:
            self.write(lambda: self.season.record("connection_recorded", pid, kind="research"))

    @precondition(lambda self: self.can("applied"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def applied(self, index: int, every: bool) -> None:
        if every:
            self.batch("applied")
        else:
            self.event("applied", index)

    @precondition(lambda self: self.can("invited"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def invited(self, index: int, every: bool) -> None:
        if every:
            self.batch("invited")
        else:
            self.event("invited", index)

    @precondition(lambda self: self.can("interviewed"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def interviewed(self, index: int, every: bool) -> None:
        if every:
            self.batch("interviewed")
        else:
            self.event("interviewed", index)

    @precondition(lambda self: self.can("thanked"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def thanked(self, index: int, every: bool) -> None:
        if every:
            self.batch("thanked")
        else:
            self.event("thanked", index)

    @precondition(lambda self: self.can("inquiry_sent"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def inquiry_sent(self, index: int, every: bool) -> None:
        if every:
            self.batch("inquiry_sent")
        else:
            self.event("inquiry_sent", index)

    @precondition(lambda self: self.can("update_sent"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def update_sent(self, index: int, every: bool) -> None:
        if every:
            self.batch("update_sent")
        else:
            self.event("update_sent", index)

    @precondition(lambda self: self.can("interest_sent"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def interest_sent(self, index: int, every: bool) -> None:
        if every:
            self.batch("interest_sent")
        else:
            self.event("interest_sent", index)

    @precondition(lambda self: self.can("intent_sent"))
    @rule(index=st.integers(0, 7), every=st.sampled_from([True, False]))
    def intent_sent(self, index: int, every: bool) -> None:
        if every:
            self.batch("intent_sent")
        else:
            self.event("intent_sent", index)

    @precondition(lambda self: self.can("signal_sent"))
    @rule(
        index=st.integers(0, 7),
        tier=st.sampled_from(["gold", "gold", "silver", "signal"]),
        override=st.booleans(),
    )
    def signal_sent(self, index: int, tier: str, override: bool) -> None:
        """A preference signal to a program not yet past its application."""
        fitting = self.fitting("signal_sent")
        pid = fitting[index % len(fitting)]
        reason = OVERRIDE if override and self.allow_overrides else None
        self.write(lambda: self.season.record("signal_sent", pid, tier=tier, override=reason))

    @rule(index=st.integers(0, 7))
    def leaves_match(self, index: int) -> None:
        """A program turns out not to take part in the Match (``program_updated``)."""
        programs = sorted(self.state().programs)
        if programs:
            pid = programs[index % len(programs)]
            self.write(lambda: self.season.record("program_updated", pid, nrmp_participating=False))

    @precondition(lambda self: self.allow_overrides)
    @rule(kind=st.sampled_from(sorted(MESSAGE_EVENTS)), index=st.integers(0, 7))
    def message_with_override(self, kind: str, index: int) -> None:
        if self.can(kind):
            self.event(kind, index, OVERRIDE)

    @rule(kind=st.sampled_from(sorted(STRUCTURAL)), index=st.integers(0, 7))
    def wrong_state(self, kind: str, index: int) -> None:
        """An event the state machine forbids: refused, even with an override."""
        wrong = [p.id for p in self.state().programs.values() if p.state not in STRUCTURAL[kind]]
        if not wrong:
            return
        pid = wrong[index % len(wrong)]
        out = self.write(lambda: self.season.record(kind, pid, override=OVERRIDE))
        assert out is None, f"{kind} accepted for {pid} in state {self.state().programs[pid]}"

    @rule(kinds=st.lists(st.sampled_from(NEWS_KINDS), min_size=1, max_size=3))
    def news_recorded(self, kinds: list[str]) -> None:
        """Something changed in the applicant's file (one to three pieces of news)."""
        for kind in kinds:
            self.write(lambda k=kind: self.season.record("news_recorded", kind=k, detail=k))

    @rule(data=st.data(), intent_first=st.booleans(), override=st.booleans())
    def certify(self, data: st.DataObject, intent_first: bool, override: bool) -> None:
        """Certify a rank list of interviewed programs, in a random order."""
        state = self.state()
        pool = [pid for pid, p in state.programs.items() if p.state in ("interviewed", "ranked")]
        if not pool:
            return
        order = data.draw(st.lists(st.sampled_from(pool), min_size=1, unique=True), "order")
        intents = [pid for pid, _ in state.intents()]
        if intent_first and intents:
            order = [intents[0], *(p for p in order if p != intents[0])]
        reason = OVERRIDE if override and self.allow_overrides else None
        self.write(lambda: self.season.certify(order, override=reason))

    @rule(index=st.integers(0, 200))
    def retract(self, index: int) -> None:
        """Retract an earlier event (already retracted ones, and retractions, are refused)."""
        records = self.season.records()[1:]
        if not records:
            return
        target = records[index % len(records)].seq
        if self.write(lambda: self.season.retract(target, "fuzz correction")) is not None:
            self.retractions += 1

    @rule(by=advances)
    def advance(self, by: dt.timedelta) -> None:
        self.now += by

    @precondition(lambda self: self.now < LANDMARKS[-1])
    @rule(skip=st.integers(0, 1), minutes=st.integers(-120, 120))
    def jump(self, skip: int, minutes: int) -> None:
        """Jump to near one of the next landmarks (the DST end, the deadline, Match Week...)."""
        ahead = [m for m in LANDMARKS if m > self.now]
        target = ahead[min(skip, len(ahead) - 1)] + dt.timedelta(minutes=minutes)
        self.now = max(self.now + TICK, target)

    @rule(index=st.integers(0, 3))
    def wait_for_opening(self, index: int) -> None:
        """Wait until something ``now`` says opens later (exactly its ``opens_at``)."""
        report = self.season.what_now()
        openings = sorted({i.verdict.opens_at for i in report.items if i.status == "opens_later"})
        if openings:
            target = openings[min(index, len(openings) - 1)]
            assert target is not None and target > self.now, f"opens in the past: {target}"
            self.now = target.astimezone(UTC)

    @rule(data=st.data(), override=st.booleans())
    def follow_now(self, data: st.DataObject, override: bool, everywhere: bool = False) -> None:
        """Invariant 4: what ``now`` offers, ``check`` confirms and ``log`` accepts or refuses.

        With ``override`` (in a season that allows them), record a blocked one anyway.
        """
        report = self.season.what_now()
        if not report.actions:
            return
        indices = data.draw(
            st.lists(st.integers(0, len(report.actions) - 1), min_size=1, max_size=3, unique=True),
            "pairs",
        )
        chosen = [report.actions[i] for i in indices]
        for v in chosen:
            checked = self.season.check(v.action, v.program)
            assert checked.to_json() == v.to_json(), f"invariant 4: now {v} but check {checked}"
        for v in chosen:
            if v.outcome == "blocked":
                kind = ACTION_EVENTS[v.action]
                out = self.write(lambda v=v, kind=kind: self.season.record(kind, v.program))
                assert out is None, f"invariant 4: now said blocked, log accepted {v}"
        if self.allow_overrides and override:
            blocked = [v for v in chosen if v.outcome == "blocked"]
            if blocked:
                assert self.send(ACTION_EVENTS[blocked[0].action], blocked[0].program, OVERRIDE)
                return
        allowed = [v for v in chosen if v.outcome != "blocked"]
        if allowed:
            v = allowed[0]
            assert self.send(ACTION_EVENTS[v.action], v.program), f"invariant 4: refused {v}"
            if everywhere:
                self.batch(ACTION_EVENTS[v.action])

    @rule(data=st.data())
    def follow_now_everywhere(self, data: st.DataObject) -> None:
        """Like :meth:`follow_now`, then send the same message wherever it may go."""
        self.follow_now(data, override=False, everywhere=True)

    @rule()
    def export_import(self) -> None:
        """Invariant 6: a copy made through export and import is the same season."""
        lines = list(engine.export_lines(self.store))
        if len(lines) == self.exported:
            return  # nothing new since the last copy
        self.exported = len(lines)
        self.copies += 1
        path = self.dir / f"copy-{self.copies}.db"
        copy = Store.open(path)
        try:
            self._compare_copy(copy, lines)
        finally:
            copy.close()
            for leftover in self.dir.glob(f"copy-{self.copies}.db*"):
                os.unlink(leftover)

    def _compare_copy(self, copy: Store, lines: list[str]) -> None:
        result = engine.import_lines(
            copy, lines, rulebook=self.make_rulebook(), clock=engine.fixed_clock(self.clock())
        )
        assert list(engine.export_lines(copy)) == lines, "invariant 6: events differ"
        assert result.hashes_reproduced == len(lines), "invariant 6: hashes differ"
        twin = Season.open(copy, SEASON_ID, rulebook=self.make_rulebook(), clock=self.clock)
        assert twin.what_now().to_json() == self.season.what_now().to_json(), (
            "invariant 6: now differs"
        )
        assert twin.audit().to_json() == self.season.audit().to_json(), "invariant 6: audit differs"

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def single_intent(self) -> None:
        """Invariant 1: a letter of intent recorded without an override is the only one.

        Checked per message, so it holds in seasons with overrides too: a live intent
        without an override never follows another live intent.
        """
        intents = sorted((m for _, m in self.state().intents()), key=lambda m: (m.at, m.seq))
        for n, m in enumerate(intents):
            if m.override is None:
                assert n < PARAMS["intent.limit"], f"invariant 1 (intent.single): {intents}"

    @invariant()
    def no_spam(self) -> None:
        """Invariant 2: every message recorded without an override respects the spam rules.

        Each live message without an override is checked against the live messages before
        it (overridden ones included), with the default parameters; in a season without
        overrides this is: at most one thank-you, interest letter and inquiry per program,
        at most ``interest.limit`` programs with a letter of interest, at most ``spam.cap``
        messages per program, and ``spam.gap`` days between consecutive messages that are
        not exempt (a thank-you within ``thanks.due_hours`` of the interview, or an update
        carrying news the program had not been told).
        """
        state = self.state()
        order = sorted(
            ((pid, m) for pid, p in state.programs.items() for m in p.messages),
            key=lambda pm: (pm[1].at, pm[1].seq),
        )
        written: list[str] = []
        for pid, m in order:
            if m.action != "interest" or pid in written:
                continue
            assert m.override is not None or len(written) < PARAMS["interest.limit"], (
                f"invariant 2 (interest.limit): letters of interest to {[*written, pid]}"
            )
            written.append(pid)
        for pid, p in state.programs.items():
            last: engine.Message | None = None
            for n, m in enumerate(p.messages):
                earlier = p.messages[:n]
                if m.override is None:
                    assert n < PARAMS["spam.cap"], (
                        f"invariant 2 (spam.cap): {pid} got message {n + 1}: {p.messages}"
                    )
                    for action, rule_id in ONCE.items():
                        assert m.action != action or all(e.action != action for e in earlier), (
                            f"invariant 2 ({rule_id}): {pid} got {[m, *earlier]}"
                        )
                    assert exempt(p, m, earlier) or last is None or m.at >= gap_opens(last.at), (
                        f"invariant 2 (spam.gap): {pid} got {last and last.action} at "
                        f"{last and last.at} then {m.action} at {m.at}"
                    )
                if not exempt(p, m, earlier):
                    last = m

    @invariant()
    def overrides_in_audit(self) -> None:
        """Invariant 3: overrides are in every audit; without any, audit blocks nothing."""
        if not self.changed_since("audit"):
            return
        audit = self.season.audit()
        if not self.ever_overridden:
            assert not audit.has_blocks, f"invariant 3: blocks without overrides: {audit}"
            return
        by_seq: dict[int, list[engine.AuditFinding]] = defaultdict(list)
        for f in audit.findings:
            by_seq[f.seq].append(f)
            if f.override is not None:
                assert f.seq in self.overrides, f"invariant 3: unknown override {f}"
        retracted = {
            r.payload["retracts"] for r in self.season.records() if r.type == "event_retracted"
        }
        for seq, (reason, blocks, retractions) in self.overrides.items():
            found = by_seq[seq]
            assert found, f"invariant 3: override seq {seq} missing from audit"
            assert all(f.override == reason for f in found), f"invariant 3: {found}"
            if seq in retracted:
                assert [f.rule for f in found] == ["override.recorded"], f"invariant 3: {found}"
                continue
            if retractions != self.retractions:
                continue  # a retraction since may have changed what blocks it
            rules = {f.rule for f in found if f.severity == "block"}
            if blocks:
                assert rules == blocks, f"invariant 3: seq {seq} blocked by {blocks}, audit {found}"
            else:
                assert not rules and "override.recorded" in {f.rule for f in found}, found

    @invariant()
    def signals_within_limits(self) -> None:
        """Invariant 7: each signal recorded without an override is within its tier's number
        (counting every live signal before it) and goes to a program not yet signalled."""
        if not self.changed_since("signals"):
            return
        sent: dict[str, int] = defaultdict(int)
        signalled: set[str] = set()
        for r in engine.live_records(self.season.records()):
            if r.type != "signal_sent":
                continue
            tier = r.payload["tier"]
            if r.override is None:
                assert sent[tier] < SIGNALS.get(tier, 0) and r.program not in signalled, (
                    f"invariant 7 (signals.limit): {tier} signal to {r.program} after "
                    f"{dict(sent)}, signalled {sorted(signalled)}"
                )
            sent[tier] += 1
            signalled.add(str(r.program))

    @invariant()
    def ranks_only_match_programs(self) -> None:
        """Invariant 8: a rank list certified without an override holds only programs that
        took part in the Match when it was certified."""
        if not self.changed_since("ranks"):
            return
        live = engine.live_records(self.season.records())
        for state, judged in engine.fold(live, engine.NoRules(), judging=()):
            r = judged.record
            if r.type == "rank_certified" and r.override is None:
                outside = [
                    p for p in r.payload["order"] if not state.programs[p].nrmp_participating
                ]
                assert not outside, f"invariant 8 (rank.non_nrmp): {outside} ranked at seq {r.seq}"

    @invariant()
    def replay_is_deterministic(self) -> None:
        """Invariant 5: the same records replay to the same state, whatever their seqs and
        the order they come in (their times are distinct), and it is the season's state."""
        if not self.changed_since("replay"):
            return
        records = self.season.records()
        times = [r.occurred_at for r in records]
        assert len(set(times)) == len(times), "the machine keeps event times distinct"
        first, second = engine.replay(records), engine.replay(records)
        assert first is not None and second is not None
        assert summary(first) == summary(second), "invariant 5: replay is not deterministic"
        assert first == self.season.state(), "invariant 5: full replay differs from the state"
        shuffled, back = permuted(records, random.Random(len(records)))
        other = engine.replay(shuffled)
        assert other is not None
        assert summary(other, back) == summary(first), "invariant 5: append order matters"


STEPS = 40
"""Steps in one season (the ``ci`` profile bounds the number of seasons)."""

SeasonMachine.TestCase.settings = settings(stateful_step_count=STEPS)
TestSeason = SeasonMachine.TestCase


# -- each invariant needs its rule ---------------------------------------------------------

GUARDS = {
    "intent.single": "invariant 1",
    "spam.gap": "invariant 2",
    "spam.cap": "invariant 2",
    "thanks.once": "invariant 2",
    "interest.once": "invariant 2",
    "interest.limit": "invariant 2",
    "inquiry.once": "invariant 2",
    "signals.limit": "invariant 7",
    "rank.non_nrmp": "invariant 8",
}
"""Each rule switched off, and the invariant that must then fail."""


def without(rule_id: str) -> type[SeasonMachine]:
    """The same machine with ``rule_id`` switched off in its rulebook."""
    return type(
        f"Without_{rule_id.replace('.', '_')}",
        (SeasonMachine,),
        {"disabled": frozenset({rule_id})},
    )


def hunt_settings() -> settings:
    """Settings for a hunt, as for ``hypothesis.find``: derandomized, stop at the first
    failure (no shrinking), no example database."""
    return settings(
        max_examples=1000,
        stateful_step_count=STEPS,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


@pytest.mark.parametrize("rule_id", sorted(GUARDS))
def test_invariant_fails_without_rule(rule_id: str) -> None:
    machine = without(rule_id)
    with pytest.raises(AssertionError, match=rf"{GUARDS[rule_id]} \({rule_id}\)"):
        run_state_machine_as_test(machine, settings=hunt_settings())


# -- overrides and updates survive retraction and export ---------------------------


def test_retracted_override_stays_in_audit(tmp_path: Path) -> None:
    clock = engine.fixed_clock(dt.datetime(2027, 1, 15, 14, tzinfo=UTC))
    store = Store.open(tmp_path / "s.db")
    season = (
        History(season_id="s", name="A")
        .add("p", name="P", at="2026-09-21T10:00-04:00")
        .invite("p", at="2026-10-01T10:00-04:00")
        .interview("p", "2026-10-20T10:00-04:00")
        .event("thanked", "p", "2026-10-20T12:00-04:00")
        .season(store, rulebook=Rulebook(), clock=clock)
    )
    second = season.record("thanked", "p", at="2026-10-20T13:00-04:00", override="fuzz")
    assert [f.rule for f in season.audit().findings if f.seq == second.record.seq] == [
        "thanks.once"
    ]
    season.retract(second.record.seq, "sent by mistake", at="2026-10-21T10:00-04:00")
    overrides = [f for f in season.audit().findings if f.override == "fuzz"]
    store.close()
    assert [f.seq for f in overrides] == [second.record.seq]


def test_import_keeps_override_update(tmp_path: Path) -> None:
    clock = engine.fixed_clock(dt.datetime(2027, 1, 15, 14, tzinfo=UTC))
    store = Store.open(tmp_path / "a.db")
    season = (
        History(season_id="s", name="A")
        .add("p", name="P", at="2026-09-21T10:00-04:00")
        .apply("p", at="2026-09-22T10:00-04:00")
        .event("news_recorded", at="2026-10-01T10:00-04:00", kind="exam", detail="Step 2 CK")
        .season(store, rulebook=Rulebook(), clock=clock)
    )
    told = season.record("update_sent", "p", at="2026-10-02T10:00-04:00")
    season.record("update_sent", "p", at="2026-10-03T10:00-04:00", override="sent twice")
    season.retract(told.record.seq, "never sent", at="2026-10-04T10:00-04:00")
    lines = list(engine.export_lines(store))
    copy = Store.open(tmp_path / "b.db")
    result = engine.import_lines(copy, lines, rulebook=Rulebook(), clock=clock)
    copied = list(engine.export_lines(copy))
    store.close()
    copy.close()
    assert result.hashes_reproduced == len(lines)
    assert copied == lines
