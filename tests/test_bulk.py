"""Bulk paths: audit of a whole store (also across processes), the fast hash input,
and the synthetic seasons the benchmark uses. In process: the library only (the
audit across processes starts the engine's own worker pool)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import prematch.engine._queries
from prematch.engine import Store, audit_jobs, audit_store, fixed_clock, import_lines
from prematch.engine._bulk import chunks
from prematch.engine._mapper import hashed_json
from prematch.engine._queries import SEASONS_PER_TASK
from prematch.engine._records import canonical_json, parse_json
from prematch.policies import Rulebook

sys.path.insert(0, str(Path(__file__).parent))
import synth

text = st.text(max_size=20)


@given(
    seq=st.integers(min_value=1, max_value=10**9),
    season=text,
    program=st.none() | text,
    kind=text,
    occurred=text,
    recorded=text,
    payload=st.dictionaries(text, st.none() | st.integers() | text | st.lists(text), max_size=4),
    override=st.none() | text,
)
def test_the_fast_hash_input_is_the_canonical_json_of_the_stored_fields(
    seq, season, program, kind, occurred, recorded, payload, override
):
    fields = {
        "seq": seq,
        "season": season,
        "program": program,
        "type": kind,
        "schema_version": 1,
        "occurred_at": occurred,
        "recorded_at": recorded,
        "payload": payload,
        "override": override,
    }
    fast = hashed_json(
        seq, season, program, kind, 1, occurred, recorded, canonical_json(payload), override
    )
    assert fast == canonical_json(fields)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@given(value=json_values, spaced=st.booleans())
def test_the_fast_json_reader_reads_what_json_loads_reads(value, spaced):
    encoded = json.dumps(value) if spaced else canonical_json(value)
    assert parse_json(encoded) == json.loads(encoded)


@given(garbage=st.text(max_size=30))
def test_the_fast_json_reader_refuses_what_json_loads_refuses(garbage):
    try:
        expected = json.loads(garbage)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            parse_json(garbage)
        return
    if garbage == garbage.strip(" \t\n\r"):  # the reader is given stripped text
        assert repr(parse_json(garbage)) == repr(expected)  # (repr: NaN is not equal to itself)


@given(items=st.lists(st.integers(), max_size=50), parts=st.integers(min_value=1, max_value=8))
def test_chunks_keep_every_item_in_order(items, parts):
    runs = chunks(items, parts)
    assert [x for run in runs for x in run] == items
    assert len(runs) <= parts and all(runs)
    if runs:
        assert max(map(len, runs)) - min(map(len, runs)) <= 1


def test_synthetic_seasons_are_valid_under_the_rulebook(tmp_path):
    with Store.open(tmp_path / "synth.db") as store:
        result = import_lines(
            store, synth.lines(5), rulebook=Rulebook(), clock=fixed_clock(synth.CLOCK)
        )
        reports = list(audit_store(store, Rulebook()))
    assert result.events > 450 and result.overridden == 0
    assert [r.summary for r in reports] == [{"block": 0, "warn": 0, "info": 0}] * 5


@pytest.mark.parametrize("per_task", [250, 1])  # 1: more runs than workers keep in flight
def test_audit_across_processes_gives_the_same_reports_in_the_same_order(
    tmp_path, monkeypatch, per_task
):
    monkeypatch.setattr(prematch.engine._queries, "SEASONS_PER_TASK", per_task)
    lines = list(synth.lines(6))
    # Give two seasons something to find: a letter of interest sent twice (overridden).
    extra = json.loads(next(x for x in lines if '"interest_sent"' in x))
    extra["at"] = "2027-02-25T10:00:00-05:00"
    extra["override"] = "asked by the program"
    lines.append(json.dumps(extra))
    rulebook = Rulebook()  # used by the import first: its cached frames stay behind
    with Store.open(tmp_path / "all.db") as store:
        import_lines(store, lines, rulebook=rulebook, clock=fixed_clock(synth.CLOCK))
        one = [r.to_json() for r in audit_store(store, rulebook)]
        # Judged again by the workers (rebuild), then from the findings projection.
        three = [r.to_json() for r in audit_store(store, rulebook, jobs=3, rebuild=True)]
        two = [r.to_json() for r in audit_store(store, Rulebook(), jobs=2)]
    assert one == three == two
    assert [r["season"] for r in one] == sorted(r["season"] for r in one)
    assert any(f["override"] == "asked by the program" for r in one for f in r["findings"])


def test_audit_uses_every_cpu_only_for_a_store_large_enough_to_gain():
    assert audit_jobs(10, cpus=8) == 1
    assert audit_jobs(3 * SEASONS_PER_TASK, cpus=8) == 3
    assert audit_jobs(10_000, cpus=2) == 2
    usable = len(os.sched_getaffinity(0))  # the CPUs this process may run on
    assert audit_jobs(10_000) == min(usable, 10_000 // SEASONS_PER_TASK)
