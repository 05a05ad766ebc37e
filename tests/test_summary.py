"""The advisor's views of every season (``audit --all --summary``, ``audit --all --format
html``) read each season once, in runs, as ``audit --all`` does: the same output in one
process or many, the findings from the findings projection while it holds them (and kept
there once judged), a season that changed judged again; a read-only store keeps nothing.
That the rows equal those of each season's whole ``now`` report, at random instants, is
a property of ``test_projection.py``'s state machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import synth
from history import LATE, History
from prematch_script import Script

import prematch.engine._overview
import prematch.engine._queries
from prematch.cli._html import advisor_row
from prematch.engine import (
    InputError,
    NoRules,
    PrematchError,
    Season,
    SeasonOverview,
    Store,
    audit_records,
    audit_store,
    fixed_clock,
    import_lines,
    season_overviews,
)
from prematch.engine import _projection as projection
from prematch.policies import Rulebook
from prematch.policies import _registry as registry
from prematch.policies._context import GUIDE, Rule

AT = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)  # thank-yous are due: next deadlines


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six synthetic seasons, two of them with an overridden letter of interest."""
    lines = list(synth.lines(6))
    extra = json.loads(next(x for x in lines if '"interest_sent"' in x))
    extra["at"] = "2027-02-25T10:00:00-05:00"
    extra["override"] = "asked by the program"
    lines.append(json.dumps(extra))
    path = tmp_path_factory.mktemp("summary") / "six.db"
    with Store.open(path) as store:
        import_lines(store, lines, rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK))
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copyfile(template, tmp_path / "six.db"))


def rows(db: Path) -> dict[str, tuple[int, str]]:
    """The findings projection's rows (season: last seq, findings), read behind the store."""
    conn = sqlite3.connect(db)
    try:
        found = conn.execute("SELECT season, last_seq, findings FROM prematch_findings")
        return {season: (seq, text) for season, seq, text in found}
    except sqlite3.OperationalError:  # no table: nothing was ever kept
        return {}
    finally:
        conn.close()


def per_season(store: Store, at: dt.datetime) -> list[tuple[object, ...]]:
    """Each season's summary and audit as a :class:`Season` gives them, one by one."""
    out: list[tuple[object, ...]] = []
    for season_id in sorted(store.seasons()):
        season = Season.open(store, season_id, rulebook=Rulebook(), clock=fixed_clock(at))
        out.append(season.summary_and_audit(at))
    return out


def both(overview: SeasonOverview) -> tuple[object, ...]:
    """An overview's summary and audit (a worker sends them back)."""
    return overview.summary(), overview.audit


@pytest.mark.parametrize("per_task", [250, 1])  # 1: more runs than workers keep in flight
def test_jobs_give_the_same_rows_in_the_same_order(db, monkeypatch, per_task):
    for module in (prematch.engine._queries, prematch.engine._overview):
        monkeypatch.setattr(module, "SEASONS_PER_TASK", per_task)
    with Store.open(db) as store:
        expected = per_season(store, AT)
        assert any(summary.next_due is not None for summary, _ in expected)
        assert any(audit.findings for _, audit in expected)
        one = list(season_overviews(store, Rulebook(), both, at=AT))
        three = list(season_overviews(store, Rulebook(), both, at=AT, jobs=3, rebuild=True))
        two = list(season_overviews(store, Rulebook(), both, at=AT, jobs=2))  # the projection
        pages = list(season_overviews(store, Rulebook(), advisor_row, at=AT))
        pages_two = list(season_overviews(store, Rulebook(), advisor_row, at=AT, jobs=2))
        workers = set(season_overviews(store, Rulebook(), worker, at=AT, jobs=2))
    assert one == three == two == expected
    assert pages == pages_two and [s for s, _ in pages] == [s for s, _ in expected]
    assert os.getpid() not in workers if per_task == 1 else workers == {os.getpid()}


def worker(overview: SeasonOverview) -> int:
    """The process that read the season."""
    return os.getpid()


def test_with_jobs_what_workers_get_must_pickle_whatever_the_size_of_the_store(db):
    # Six seasons are judged in this process; a large store's go to workers, pickled:
    # a lambda is refused here as it would be there, before any season is read.
    class Local(NoRules):
        """A rulebook no worker can get (a class defined in a function)."""

    with Store.open(db) as store:
        assert len(list(season_overviews(store, Rulebook(), lambda o: o.at, at=AT))) == 6
        with pytest.raises(InputError, match="module-level function") as each:
            list(season_overviews(store, Rulebook(), lambda o: o.at, at=AT, jobs=2))
        with pytest.raises(InputError, match="picklable") as rulebook:
            list(audit_store(store, Local(), jobs=2))
    assert (each.value.field, rulebook.value.field) == ("each", "rulebook")


def test_the_command_gives_the_same_output_whatever_the_jobs(template, tmp_path):
    script = Script(tmp_path).copy_of(template)
    now = {"PREMATCH_NOW": AT.isoformat()}
    for view in (("--summary", "--json"), ("--summary",), ("--format", "html")):
        first = script("audit", "--all", *view, "--jobs", "1", env=now)
        again = script("audit", "--all", *view, "--jobs", "2", env=now)
        rebuilt = script("audit", "--all", *view, "--rebuild", env=now)
        assert first.returncode == again.returncode == rebuilt.returncode, first.shown()
        assert first.stdout == again.stdout == rebuilt.stdout
        assert "--json" not in view or '"due_by"' in first.stdout  # a next deadline


def test_the_summary_keeps_the_projection_and_reads_it_back(db):
    rulebook = Rulebook()
    key = projection.projection_key(rulebook)
    with Store.open(db) as store:
        seasons = sorted(store.seasons())
        assert projection.stale_count(store, key, [seasons]) == len(seasons)
        first = list(season_overviews(store, rulebook, SeasonOverview.summary, at=AT))
        assert projection.stale_count(store, key, [seasons]) == 0  # kept, as audit --all
        kept = rows(db)
        # What audit --all takes from those rows is a cold audit.
        for season_id in seasons:
            (_, _, text) = next(iter(store.projected(key, [season_id])))
            assert text is not None
            cold = audit_records(season_id, store.season_records(season_id), rulebook, at=AT)
            assert projection.kept(season_id, text, AT) == cold
        # The second summary judges nothing: its findings come from the rows.
        second = list(season_overviews(store, rulebook, SeasonOverview.summary, at=AT))
        assert second == first
    assert rows(db) == kept


def test_a_season_that_changed_is_judged_again(db, monkeypatch):
    rulebook = Rulebook()
    with Store.open(db) as store:
        list(season_overviews(store, rulebook, SeasonOverview.summary, at=LATE))
        before = rows(db)
        changed = sorted(store.seasons())[2]
        season = Season.open(store, changed, rulebook=rulebook, clock=fixed_clock(LATE))
        program = next(p for p, s in season.state().programs.items() if s.state == "applied")
        season.record("withdrawn", program, at="2027-03-10T10:00:00-05:00")
        judged: list[str] = []
        real = prematch.engine._overview.audit_parts

        def counted(season_id, records, rules):
            judged.append(season_id)
            return real(season_id, records, rules)

        monkeypatch.setattr(prematch.engine._overview, "audit_parts", counted)
        summaries = list(season_overviews(store, rulebook, SeasonOverview.summary, at=LATE))
        assert judged == [changed]
        assert summaries == [s for s, _ in per_season(store, LATE)]
        assert "withdrawn" in next(s for s in summaries if s.season == changed).states
    after = rows(db)
    assert after[changed][0] > before[changed][0]
    assert {s: r for s, r in after.items() if s != changed} == {
        s: r for s, r in before.items() if s != changed
    }


def test_a_read_only_store_is_summarized_and_keeps_nothing(db):
    with Store.open(db, create=False, readonly=True) as store:
        summaries = list(season_overviews(store, Rulebook(), SeasonOverview.summary, at=AT))
        assert summaries == [s for s, _ in per_season(store, AT)]
    assert rows(db) == {}


def test_a_memory_store_is_summarized_in_one_process():
    with Store.memory() as store:
        import_lines(store, synth.lines(2), rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK))
        summaries = list(season_overviews(store, Rulebook(), SeasonOverview.summary, at=AT, jobs=4))
        assert summaries == [s for s, _ in per_season(store, AT)]


def test_a_deadline_from_a_rule_not_declared_due_is_an_error(monkeypatch):
    undeclared = Rule(registry.timing.THANKS_WINDOW.id, GUIDE, registry.timing.THANKS_WINDOW.check)
    assert not undeclared.due and registry.timing.THANKS_WINDOW.due
    monkeypatch.setitem(registry.ACTION_RULES, "thank_you", (undeclared,))
    season = History().interviewed("mercy", "2026-11-10T09:00:00-05:00").season()
    with pytest.raises(PrematchError, match="gave a due_by without due=True"):
        season.check("thank_you", "mercy", at="2026-11-10T12:00:00-05:00")
