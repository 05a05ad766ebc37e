"""``make bench``'s measurements on tiny stores, so the bench cannot rot between runs: every
piece of the scale curve runs and reports figures that hang together. No timing is
asserted (these machines are shared; the bench reports, it does not judge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bench
import bench_scale

from prematch.engine import Store


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The scale curve of two stores (2 and 4 seasons), two rounds, no eventsourcing."""
    return bench.scale_figures(
        tmp_path_factory.mktemp("bench"), [200, 400], rounds=2, now_runs=1, es_seasons=None
    )


def test_the_scale_curve_measures_each_store_once_per_round(figures: dict[str, Any]) -> None:
    assert list(figures["import"]) == list(figures["audit"]) == list(figures["verify"])
    for size, imported in figures["import"].items():
        assert imported["events"] == figures["audit"][size]["events"] > int(size) // 2
        assert len(imported["cpu_s"]) == len(figures["audit"][size]["audit_cpu_s"]) == 2
        assert len(figures["audit"][size]["floor_cpu_s"]) == 2
        assert len(figures["verify"][size]["cpu_s"]) == 2
        assert imported["peak_mb"] > 0
    assert figures["import_into_biggest"]["events"] > 9_000  # the fixed batch, 100 seasons
    assert figures["import_into_biggest"]["store_events"] == figures["import"]["400"]["events"]
    assert figures["audit_memory"]["jobs"] == 1 and figures["audit_memory"]["seasons"] == 4
    assert figures["audit_parallel"]["seasons"] == 4
    assert set(figures["now"]["stores"]) == {"200", "400"}


def test_the_reaudit_changes_one_season_in_a_hundred_and_audits_it_again(
    figures: dict[str, Any],
) -> None:
    reaudit = figures["reaudit"]
    assert reaudit["events"] == 400 and reaudit["seasons_changed"] == 1
    assert reaudit["ratio"] == reaudit["again_s"] / reaudit["cold_s"]


def test_the_change_is_one_event_in_every_hundredth_season(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    bench_scale.write_jsonl(tmp_path / "in.jsonl", 101)
    bench_scale.child_json(["import", str(path), str(tmp_path / "in.jsonl")])
    with Store.open(path) as store:
        before = {s: len(store.season_records(s)) for s in store.seasons()}
    assert bench_scale._change(path, 101) == 2
    with Store.open(path) as store:
        after = {s: len(store.season_records(s)) for s in store.seasons()}
    grown = {s for s in after if after[s] != before[s]}
    assert grown == {"syn-000000", "syn-000100"}
    assert all(after[s] == before[s] + 1 for s in grown)


def test_every_budget_row_gets_a_verdict_and_the_results_are_json(
    figures: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = bench.print_rows(bench.scale_rows(figures))
    budgeted = [r for r in rows if r[2]]
    assert len(budgeted) >= 9 and all(isinstance(r[3], bool) for r in budgeted)
    assert all(r[3] is None for r in rows if not r[2])
    printed = capsys.readouterr().out
    assert printed.count("✓") + printed.count("✗") == len(budgeted)
    json.dumps({**figures, "rows": rows})


@pytest.mark.parametrize(
    ("value", "budget", "met"),
    [
        ("2.50×", "≤ 3×", True),
        ("3.01×", "≤ 3×", False),
        ("+30 %", "≤ 25 %", False),
        ("-4 %", "≤ 25 %", True),
        ("1,234", "≥ 1,000", True),
        ("0.9×", "≥ 1.1×", False),
        ("0", "0", True),
        ("3", "0", False),
        ("yes | NO", "yes", False),
        ("yes | yes", "yes", True),
        ("12.0", "", None),
    ],
)
def test_a_value_meets_its_budget(value: str, budget: str, met: bool | None) -> None:
    assert bench.verdict(value, budget) is met


def test_eventsourcing_stores_and_replays_the_same_events(tmp_path: Path) -> None:
    pytest.importorskip("eventsourcing", reason="installed by `make bench` only")
    es = bench_scale.es_runs(tmp_path, seasons=2, rounds=1)
    assert es["events"] > 150
    assert all(len(runs) == 1 for runs in es["cpu_s"].values())
    assert {r[2] for r in bench._es_rows(es)} == {"", "≥ 1.1×", "≥ 3×"}
