"""The findings projection (issue 20): ``audit --all`` from the store's findings projection
is exactly a cold audit, whatever changed and whatever the instant.

A property (a Hypothesis state machine) writes random seasons into a SQLite file (appends,
back-fills, retractions, overrides, per-season checklist parameters) and audits it at
random instants, under two rulebooks, against a cold audit of every season (and the
advisor's summary, read from the same projection, against one from each season's whole
``now`` report; and the summary's next deadline at random instants); then one test
per promise: a changed fingerprint judges again, ``--rebuild``, a read-only store, a store
of an older prematch, a busy store, and every backend (memory, PostgreSQL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from history import DEADLINE, LATE, SCRATCH, STARTED, History
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from prematch_script import Script

from prematch import policies
from prematch.engine import (
    AuditReport,
    Finding,
    InputError,
    Judge,
    NoRules,
    PolicyRefusal,
    Season,
    SeasonOverview,
    SeasonState,
    SeasonSummary,
    Store,
    StructuralError,
    Verdict,
    audit_records,
    audit_store,
    fixed_clock,
    replay,
    season_overviews,
    season_summary,
    what_now,
)
from prematch.engine import _projection as projection
from prematch.engine._queries import deadlines
from prematch.policies import _registry as registry

NEWS = {"kind": "exam", "detail": "Step 3 passed"}
PROGRAMS = ("mercy", "oak", "pine")
SEASONS = ("a-2027", "b-2027", "c-2027")
SPECIALTIES = ("Family Medicine", "Internal Medicine", "Family Medicine")
KINDS = (
    "applied",
    "connection_recorded",
    "inquiry_sent",
    "invited",
    "interviewed",
    "thanked",
    "news_recorded",
    "update_sent",
    "interest_sent",
    "intent_sent",
    "rejected",
)
FIELDS = {"connection_recorded": {"kind": "research"}, "news_recorded": NEWS}
SPAN = (LATE - dt.datetime.fromisoformat(STARTED)).total_seconds()


def cold(store: Store, rulebook: policies.Rulebook, at: dt.datetime | None) -> list[AuditReport]:
    """Every season audited from its records: what the projection must equal."""
    return [
        audit_records(s, store.season_records(s), rulebook, at=at) for s in sorted(store.seasons())
    ]


def slow_summaries(
    store: Store, rulebook: policies.Rulebook, at: dt.datetime
) -> list[SeasonSummary]:
    """Every season's summary from its whole ``now`` report (what ``audit --all --summary``
    showed before it read the seasons in runs): what the overviews must equal."""
    out = []
    for season_id in sorted(store.seasons()):
        records = store.season_records(season_id)
        state = replay(records, at)
        assert state is not None
        now = what_now(state, at, rulebook.for_season(state))
        out.append(season_summary(state, now, audit_records(season_id, records, rulebook, at=at)))
    return out


EMPTY = AuditReport("", ())


def deadlines_of(summary: SeasonSummary) -> tuple[Verdict | None, tuple[Verdict, ...]]:
    """A summary's next deadline and what is late, as :func:`deadlines` gives them."""
    return summary.next_due, summary.late


class Unhinted:
    """A judge that does not say which actions can be due (a rulebook of an embedder)."""

    def __init__(self, judge: Judge):
        self._judge = judge

    def judge(self, *args: Any) -> Verdict:
        """The wrapped judge's."""
        return self._judge.judge(*args)

    def findings(self, *args: Any) -> tuple[Finding, ...]:
        """The wrapped judge's."""
        return self._judge.findings(*args)

    def turns(self, state: SeasonState, action: str) -> tuple[dt.datetime, ...] | None:
        """The wrapped judge's."""
        return self._judge.turns(state, action)

    def signals_provisional(self) -> str | None:
        """The wrapped judge's."""
        return self._judge.signals_provisional()


class Deadlined(Unhinted):
    """A judge whose every verdict carries a deadline (the rulebook's gives only the
    thank-you one): one day per letter of the program id after the instant asked, or the
    window's close, if it has one; and ``may_be_due`` says so. ``overdue``: one day per
    letter before the instant asked (late, but for the season's choice: due right then)."""

    def __init__(self, judge: Judge, *, overdue: bool = False):
        super().__init__(judge)
        self._overdue = overdue

    def judge(self, *args: Any) -> Verdict:
        """The wrapped judge's verdict, with a ``due_by``."""
        verdict = self._judge.judge(*args)
        program, at = args[1], args[3]
        days = dt.timedelta(days=len(program or ""))
        due = at - days if self._overdue else verdict.closes_at or at + days
        return dataclasses.replace(verdict, due_by=due)

    def may_be_due(self, action: str, season_wide: bool = False) -> bool:
        """Every verdict may be due."""
        return True


def stale(store: Store, key: str) -> int:
    """How many seasons of ``store`` the projection does not hold under ``key``."""
    return projection.stale_count(store, key, [sorted(store.seasons())])


def rows(db: Path) -> dict[str, tuple[int, str, str]]:
    """The projection's rows, read behind the store's back."""
    conn = sqlite3.connect(db)
    try:
        found = conn.execute("SELECT season, last_seq, key, findings FROM prematch_findings")
        return {season: (seq, key, text) for season, seq, key, text in found}
    finally:
        conn.close()


def instant(fraction: float) -> dt.datetime:
    """An instant of the season: 0 is its start, 1 the clock (after SOAP)."""
    return dt.datetime.fromisoformat(STARTED) + dt.timedelta(seconds=int(fraction * SPAN))


def recorded(season: Season, kind: str, program: str | None, at: dt.datetime) -> None:
    """Record the event if the machine allows it, with an override if a rule blocks it."""
    fields = FIELDS.get(kind, {})
    with contextlib.suppress(StructuralError, InputError):  # not possible then: not written
        try:
            season.record(kind, program, at=at, **fields)
        except PolicyRefusal:
            season.record(kind, program, at=at, override="sent anyway", **fields)


class ProjectionMachine(RuleBasedStateMachine):
    """Seasons in a SQLite file, changed at random, audited at random instants: each audit
    from the projection equals the cold audit, and leaves every season projected."""

    @initialize(days=st.lists(st.sampled_from([0, 7, 30]), min_size=3, max_size=3))
    def start(self, days: list[int]) -> None:
        self.folder = Path(tempfile.mkdtemp(dir=SCRATCH))
        self.store = Store.open(self.folder / "p.db")
        self.rulebooks = (policies.Rulebook(), policies.Rulebook(disable={"thanks.window"}))
        self.turns = [DEADLINE]
        self.seasons: list[Season] = []
        clock = fixed_clock(LATE)
        for season_id, n, specialty in zip(SEASONS, days, SPECIALTIES, strict=True):
            history = dataclasses.replace(
                History(),
                season_id=season_id,
                specialty=specialty,
                policy={"checklist.days_before_deadline": n},
            )
            for pid in PROGRAMS:
                history = history.add(pid)
            self.seasons.append(history.season(self.store, clock=clock))
            self.turns.append(DEADLINE - dt.timedelta(days=n))

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder)

    @rule(
        which=st.integers(0, 2),
        program=st.sampled_from(PROGRAMS),
        when=st.floats(0, 0.5),
        stage=st.integers(1, 3),
    )
    def story(self, which: int, program: str, when: float, stage: int) -> None:
        """A program's application, invitation and interview, as far as ``stage``."""
        at = instant(when)
        steps = (("applied", 0), ("invited", 7), ("interviewed", 30))[:stage]
        for kind, days in steps:
            recorded(self.seasons[which], kind, program, at + dt.timedelta(days=days))

    @rule(
        which=st.integers(0, 2),
        events=st.lists(
            st.tuples(st.sampled_from(KINDS), st.sampled_from(PROGRAMS), st.floats(0, 1)),
            min_size=2,
            max_size=10,
        ),
    )
    def record(self, which: int, events: list[tuple[str, str, float]]) -> None:
        """Events at random instants of the season: the earlier ones are back-fills."""
        for kind, program, when in events:
            pid = None if kind == "news_recorded" else program
            recorded(self.seasons[which], kind, pid, instant(when))

    @rule(which=st.integers(0, 2), when=st.floats(0.5, 1), data=st.data())
    def certify(self, which: int, when: float, data: st.DataObject) -> None:
        season = self.seasons[which]
        ranked = [p for p, s in season.state().programs.items() if s.state == "interviewed"]
        if ranked:
            order = data.draw(st.permutations(ranked), "order")
            with contextlib.suppress(StructuralError, InputError):
                try:
                    season.certify(order, at=instant(when))
                except PolicyRefusal:
                    season.certify(order, at=instant(when), override="certified anyway")

    @rule(which=st.integers(0, 2), index=st.integers(1, 40))
    def retract(self, which: int, index: int) -> None:
        season = self.seasons[which]
        records = season.records()
        target = records[index % len(records)]
        if target.type in ("season_started", "program_added", "event_retracted"):
            return
        with contextlib.suppress(StructuralError, InputError):
            try:
                season.retract(target.seq, "a mistake")
            except PolicyRefusal:
                season.retract(target.seq, "a mistake", override="it was a mistake")

    @rule(
        near=st.one_of(
            st.none(),
            st.tuples(
                st.integers(0, 3),
                st.sampled_from([0, 1, 86_400_000_000]),  # microseconds
                st.sampled_from([-1, 1]),
            ),
        ),
        when=st.one_of(st.none(), st.floats(0, 1.2)),
        book=st.integers(0, 1),
        rebuild=st.sampled_from([False] * 4 + [True]),
    )
    def audit_all(
        self, near: tuple[int, int, int] | None, when: float | None, book: int, rebuild: bool
    ) -> None:
        """At (or just around) an instant where a checklist's answer changes, or any
        instant of the season, or with none."""
        at = None if when is None else instant(when)
        if near is not None:
            which, micros, sign = near
            at = self.turns[which] + sign * dt.timedelta(microseconds=micros)
        self.audit(at, book, rebuild)

    def audit(self, at: dt.datetime | None, book: int, rebuild: bool) -> None:
        rulebook = self.rulebooks[book]
        # The advisor's summary first, when the projection may be stale (it keeps rows too).
        summaries = season_overviews(
            self.store, rulebook, SeasonOverview.summary, at=at or LATE, rebuild=rebuild
        )
        assert list(summaries) == slow_summaries(self.store, rulebook, at or LATE)
        assert list(audit_store(self.store, rulebook, at=at, rebuild=rebuild)) == cold(
            self.store, rulebook, at
        )
        key = projection.projection_key(rulebook)
        assert stale(self.store, key) == 0  # every season is kept now
        # From the projection alone, at every instant where a checklist's answer changes
        # and on either side of it.
        tick = dt.timedelta(microseconds=1)
        for probe in (t + d for t in self.turns for d in (-tick, dt.timedelta(0), tick)):
            assert list(audit_store(self.store, rulebook, at=probe)) == cold(
                self.store, rulebook, probe
            )

    @rule(when=st.floats(0, 1.2), book=st.integers(0, 1))
    def next_deadline(self, when: float, book: int) -> None:
        """The summary's next deadline and what is late (:func:`deadlines`, with the
        rulebook's hint of which actions can be due and without it) are the ones of the
        whole ``now`` report."""
        at = instant(when)
        for season in self.seasons:
            state = season.state(at)
            judge = self.rulebooks[book].for_season(state)
            expected = deadlines_of(season_summary(state, what_now(state, at, judge), EMPTY))
            assert deadlines(state, at, judge) == expected
            assert deadlines(state, at, Unhinted(judge)) == expected
            # Every action with deadlines (ties too), under the rules and under none (then
            # the season's letter of intent is allowed, asked of the season or of a program).
            for deadlined in (
                Deadlined(judge),
                Deadlined(NoRules().for_season(state)),
                Deadlined(judge, overdue=True),
                Deadlined(NoRules().for_season(state), overdue=True),
            ):
                now = what_now(state, at, deadlined)
                assert deadlines(state, at, deadlined) == deadlines_of(
                    season_summary(state, now, EMPTY)
                )

    @invariant()
    def no_row_is_newer_than_its_season(self) -> None:
        for season, (seq, _, _) in rows(self.folder / "p.db").items():
            assert seq <= self.store.season_records(season)[-1].seq


TestProjectionEqualsColdAudit = ProjectionMachine.TestCase
TestProjectionEqualsColdAudit.settings = settings(
    settings.default, stateful_step_count=40, max_examples=min(settings.default.max_examples, 40)
)


# -- one promise each ------------------------------------------------------------------------

AT = DEADLINE  # the checklist speaks: findings depend on the instant


def unthanked(season_id: str = "fm-2027") -> History:
    """An interview never thanked, in a specialty that expects thanks: the checklist's
    ``checklist.unthanked`` from 7 days before the deadline."""
    history = dataclasses.replace(History(), season_id=season_id, specialty="Family Medicine")
    return history.interviewed("mercy", "2026-11-10T09:00:00-05:00")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "p.db"
    with Store.open(path) as store:
        for n in range(3):
            unthanked(f"s{n}-2027").season(store)
    return path


def test_a_second_audit_takes_every_season_from_the_projection(db):
    rulebook = policies.Rulebook()
    with Store.open(db) as store:
        first = list(audit_store(store, rulebook, at=AT))
        assert all(f.rule == "checklist.unthanked" for r in first for f in r.findings)
        assert [len(r.findings) for r in first] == [1, 1, 1]
        kept = rows(db)
        assert set(kept) == {"s0-2027", "s1-2027", "s2-2027"}
        assert list(audit_store(store, rulebook, at=AT)) == first == cold(store, rulebook, AT)
    assert rows(db) == kept  # nothing judged again, nothing written again


def test_an_appended_event_judges_that_season_again(db):
    rulebook = policies.Rulebook()
    with Store.open(db) as store:
        list(audit_store(store, rulebook, at=AT))
        before = rows(db)
        season = Season.open(store, "s1-2027", rulebook=rulebook, clock=fixed_clock(LATE))
        season.record("thanked", "mercy", at="2026-11-10T12:00:00-05:00")
        assert stale(store, projection.projection_key(rulebook)) == 1
        reports = list(audit_store(store, rulebook, at=AT))
        assert reports == cold(store, rulebook, AT)
        thanked = reports[1].findings
        assert not any(f.rule == "checklist.unthanked" for f in thanked)
    after = rows(db)
    assert after["s0-2027"] == before["s0-2027"] and after["s2-2027"] == before["s2-2027"]
    assert after["s1-2027"][0] > before["s1-2027"][0]


def test_another_rulebook_judges_every_season_again(db):
    with Store.open(db) as store:
        list(audit_store(store, policies.Rulebook(), at=AT))
        other = policies.Rulebook(disable={"checklist.unthanked"})
        reports = list(audit_store(store, other, at=AT))
        assert reports == cold(store, other, AT)
        assert not any(f.rule == "checklist.unthanked" for r in reports for f in r.findings)
    assert {key for _, key, _ in rows(db).values()} == {projection.projection_key(other)}


def test_changed_parameters_or_calendars_change_the_key(monkeypatch):
    rulebook = policies.Rulebook()
    key = projection.projection_key(rulebook)
    changed = {**policies.default_params(), "checklist.days_before_deadline": 8}
    monkeypatch.setattr(registry, "default_params", lambda: changed)
    registry._data_digest.cache_clear()
    assert projection.projection_key(rulebook) != key
    monkeypatch.undo()
    registry._data_digest.cache_clear()
    assert projection.projection_key(rulebook) == key

    real = projection.load_calendar

    def moved(year: int):  # the 2027 deadline a day later, as an edited calendar file
        calendar = real(year)
        later = calendar.rank_list_deadline + dt.timedelta(days=1)
        return dataclasses.replace(calendar, rank_list_deadline=later)

    monkeypatch.setattr(projection, "load_calendar", moved)
    projection._engine_digest.cache_clear()
    assert projection.projection_key(rulebook) != key
    monkeypatch.undo()
    projection._engine_digest.cache_clear()


def test_a_checklist_without_turns_is_judged_at_every_audit(db, monkeypatch):
    rulebook = policies.Rulebook()
    monkeypatch.setattr(registry.SeasonJudge, "turns", lambda self, state, action: None)
    with Store.open(db) as store:
        list(audit_store(store, rulebook, at=AT))
        key = projection.projection_key(rulebook)
        assert stale(store, key) == 0  # kept, and enough without an instant
        assert list(audit_store(store, rulebook)) == cold(store, rulebook, None)
        text = rows(db)["s0-2027"][2]
        assert projection.kept("s0-2027", text, AT) is None  # an instant needs a judgement
        assert list(audit_store(store, rulebook, at=AT)) == cold(store, rulebook, AT)


def test_audit_all_rebuild_ignores_and_rewrites_the_projection(tmp_path):
    script = Script(tmp_path)
    script.setup(unthanked().argv())
    at = {"PREMATCH_NOW": "2027-03-01T09:00:00-05:00"}
    first = script("audit", "--all", "--json", env=at)
    assert "checklist.unthanked" in first.stdout, first.shown()
    conn = sqlite3.connect(script.db)
    with conn:  # a hand edit of the cache: it is not the log, and verify does not see it
        conn.execute("UPDATE prematch_findings SET findings = '[[], [], [[null, []]]]'")
    conn.close()
    hidden = script("audit", "--all", "--json", env=at)
    assert hidden.returncode == 0 and "checklist.unthanked" not in hidden.stdout
    for edit in (
        "not json",
        "[[], [], [[1, []]]]",
        '[["x"], [], null]',
        "[[], [], [[null, [[1]]]]]",
    ):
        conn = sqlite3.connect(script.db)
        with conn:  # a row that is not one prematch wrote is judged again
            conn.execute("UPDATE prematch_findings SET findings = ?", (edit,))
        conn.close()
        assert script("audit", "--all", "--json", env=at).stdout == first.stdout, edit
    for column in ("findings", "key"):  # text that is not UTF-8: judged again too
        conn = sqlite3.connect(script.db)
        with conn:
            conn.execute(f"UPDATE prematch_findings SET {column} = CAST(x'ff' AS TEXT)")
        conn.close()
        assert script("audit", "--all", "--json", env=at).stdout == first.stdout, column
    rebuilt = script("audit", "--all", "--json", "--rebuild", env=at)
    assert rebuilt.stdout == first.stdout
    assert script("audit", "--all", "--json", env=at).stdout == first.stdout
    refused = script("audit", "--rebuild")
    assert refused.returncode == 2 and "--rebuild goes with --all" in refused.stderr
    ignored = script("audit", "--jobs", "2")  # was silently one process
    assert ignored.returncode == 2 and "--jobs goes with --all" in ignored.stderr


def test_a_read_only_store_is_audited_and_keeps_nothing(db):
    rulebook = policies.Rulebook()
    with Store.open(db) as store:
        season = Season.open(store, "s0-2027", rulebook=rulebook, clock=fixed_clock(LATE))
        list(audit_store(store, rulebook, at=AT))
        season.record("thanked", "mercy", at="2026-11-10T12:00:00-05:00")
    before = rows(db)
    with Store.open(db, readonly=True) as store:
        assert store.readonly
        assert list(audit_store(store, rulebook, at=AT)) == cold(store, rulebook, AT)
        assert stale(store, projection.projection_key(rulebook)) == 1
    assert rows(db) == before


def test_a_store_of_an_older_prematch_gets_the_table_once_opened_to_write(tmp_path):
    old = tmp_path / "v1.db"
    shutil.copy(Path(__file__).parent.parent / "fixtures" / "compat" / "v1.db", old)
    rulebook = policies.Rulebook()
    with Store.open(old, create=False, readonly=True) as store:
        assert list(audit_store(store, rulebook, at=AT)) == cold(store, rulebook, AT)
    conn = sqlite3.connect(old)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert "prematch_findings" not in tables and version == 1
    with Store.open(old, create=False) as store:
        assert list(audit_store(store, rulebook, at=AT)) == cold(store, rulebook, AT)
    assert set(rows(old)) == {"demo-2027"}


def test_a_busy_store_is_audited_and_keeps_nothing(db):
    rulebook = policies.Rulebook()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock (an import, say)
    try:
        with Store.open(db, busy_timeout=30) as store:
            assert list(audit_store(store, rulebook, at=AT)) == cold(store, rulebook, AT)
            assert stale(store, projection.projection_key(rulebook)) == 3
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize("backend", ["memory", "postgres"])
def test_every_backend_keeps_the_projection(backend, request):
    store = Store.memory() if backend == "memory" else Store.open(request.getfixturevalue("pg_url"))
    rulebook = policies.Rulebook()
    key = projection.projection_key(rulebook)
    with store:
        for n in range(2):
            unthanked(f"s{n}-2027").season(store)
        assert stale(store, key) == 2
        first = list(audit_store(store, rulebook, at=AT))
        assert first == cold(store, rulebook, AT)
        assert stale(store, key) == 0
        season = Season.open(store, "s0-2027", rulebook=rulebook, clock=fixed_clock(LATE))
        season.record("thanked", "mercy", at="2026-11-10T12:00:00-05:00")
        seasons = ["s0-2027", "s1-2027"]
        assert [s for s, _, text in store.projected(key, seasons) if text is None] == ["s0-2027"]
        assert list(audit_store(store, rulebook, at=AT)) == cold(store, rulebook, AT)
        ((season_id, _, text),) = store.projected(key, ["s1-2027"])
        assert season_id == "s1-2027" and text is not None
