"""Data out and in for an embedder (issue 17 items 4 and 6): ``to_json()`` on every result,
each validating against its ``prematch schema --for`` shape; the event schema a proper
discriminated union; season summaries, ``after_seq`` and the ``on_recorded`` hook."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import re
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest
from history import History
from prematch_script import Script, validator

from prematch import policies
from prematch.engine import (
    EVENT_TYPES,
    SCHEMA_SHAPES,
    InputError,
    NoRules,
    Record,
    Season,
    Store,
    UnknownSeasonError,
    fixed_clock,
    fixtures_dir,
    import_lines,
    json_schema,
    judge_action,
    parse_instant,
    what_now,
)

DEMO = fixtures_dir() / "demo" / "season.jsonl"
DEMO_AT = parse_instant("2027-01-20T09:00:00-05:00")
NOW_UTC = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)


def errors(shape: str, document: object) -> list[str]:
    return [e.message for e in validator(shape).iter_errors(document)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Script:
    script = Script(tmp_path_factory.mktemp("demo"), now="2027-01-20T09:00:00-05:00")
    script.ok("import", str(DEMO))
    return script


# -- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SCHEMA_SHAPES)
def test_every_shape_has_a_valid_schema_printed_by_the_cli(shape: str, demo: Script) -> None:
    printed = demo.json("schema", "--for", shape)
    assert printed == json_schema(shape)
    jsonschema.validators.validator_for(printed).check_schema(printed)


def test_the_event_schema_is_one_entry_per_type_type_and_payload_required() -> None:
    schema = json_schema("event")
    events = {k: v for k, v in schema["$defs"].items() if k in EVENT_TYPES}
    assert set(events) == set(EVENT_TYPES)
    payloads = set(schema["$defs"]) - set(events)
    assert len(payloads) <= len(EVENT_TYPES)  # shared models once each, no near-duplicates
    for name, entry in events.items():
        assert entry["properties"]["type"] == {"const": name}
        assert {"type", "payload"} <= set(entry["required"])
    assert schema["required"] == ["type"]
    # A wrong payload for its type, an unknown type, a missing payload: each refused.
    good = {
        "seq": 3,
        "season": "s-2027",
        "program": "mercy",
        "type": "call_held",
        "schema_version": 1,
        "occurred_at": "2027-01-20T14:00:00.000000+00:00",
        "recorded_at": "2027-01-20T14:00:00.000000+00:00",
        "payload": {"initiated_by": "program"},
        "override": None,
        "hash": "0" * 64,
    }
    assert errors("event", good) == []
    assert errors("event", {**good, "payload": {"initiated_by": "nobody"}})
    assert errors("event", {**good, "payload": {"via": "eras"}})
    assert errors("event", {**good, "type": "nonsense"})
    assert errors("event", {k: v for k, v in good.items() if k != "payload"})
    assert errors("event", {k: v for k, v in good.items() if k != "type"})
    assert errors("event", {**good, "type": "rank_certified"})  # its payload, its program


def test_every_export_line_and_every_record_validates(demo: Script) -> None:
    lines = demo.ok("export").stdout.splitlines()
    assert len(lines) == 90
    for line in lines:
        assert errors("export-line", json.loads(line)) == [], line
    with Store.open(demo.db, readonly=True) as store:
        records = list(store.records())
    assert {r.type for r in records} >= {"season_started", "program_added", "thanked"}
    for r in records:
        assert errors("event", r.to_json()) == [], r
    # The flat form refuses what its type does not hold.
    first = json.loads(lines[1])
    assert errors("export-line", {**first, "note": "x"})
    assert errors("export-line", {k: v for k, v in first.items() if k != "at"})


def test_schema_for_an_unknown_shape_is_a_usage_error(demo: Script) -> None:
    demo("schema", "--for", "nonsense", code=2)
    with pytest.raises(InputError, match="no JSON shape 'nonsense'"):
        json_schema("nonsense")


# -- to_json on every result -----------------------------------------------------------------


def test_every_result_of_the_library_has_a_to_json_of_its_shape(tmp_path: Path) -> None:
    rulebook = policies.Rulebook()
    clock = fixed_clock(DEMO_AT)
    with Store.open(tmp_path / "s.db") as store:
        with DEMO.open("rb") as f:
            imported = import_lines(store, f, rulebook=rulebook, clock=clock)
        assert errors("import", imported.to_json()) == []
        assert imported.to_json()["events"] == 90
        season = Season.open(store, rulebook=rulebook, clock=clock)
        assert errors("now", season.what_now().to_json()) == []
        verdict = season.check("thank_you", "marlow-im")
        check = verdict.check_json(season.id, season.instant(None))
        assert errors("check", check) == []
        assert check["verdict"] == "blocked" and check["season"] == season.id
        assert errors("audit", season.audit().to_json()) == []
        verification = store.verify()
        assert errors("verify", verification.to_json()) == []
        count, problem = verification  # still unpacks as (events, problem)
        assert (count, problem, verification.ok) == (90, None, True)
        # The head it checked, to note and give back (a copy or a pickle keeps it).
        assert verification.head == store.head() == copy.copy(verification).head
        assert pickle.loads(pickle.dumps(verification)).head == store.head()
        assert store.verify(verification.head).ok
        judged = season.record("note_added", "marlow-im", text="asked about visas")
        out = judged.to_json()
        assert errors("event", out["event"]) == []
        assert out["event"]["payload"] == {"text": "asked about visas"}
        assert out["verdict"] == "allowed"
        state = season.state().to_json()
        assert state["season"] == season.id and state["timezone"] == "America/New_York"
        marlow = next(p for p in state["programs"] if p["program"] == "marlow-im")
        assert marlow["state"] == season.state().programs["marlow-im"].state
        assert json.loads(json.dumps(state)) == state
        preview = season.preview([{"type": "thanked", "program": "marlow-im"}]).to_json()
        assert preview["findings"][0][0]["rule"] == "thanks.once"
        assert errors("now", preview["now"]) == []
        assert json.loads(json.dumps(preview)) == preview


def test_now_json_keeps_status_program_names_and_timezone(demo: Script) -> None:
    now = demo.json("now", "--json")
    assert now["timezone"] == "America/New_York"
    names = {p["program"]: p["name"] for p in now["programs"]}
    assert names["marlow-im"] == "Marlow County Hospital Internal Medicine"
    assert {a["program"] for a in now["actions"]} <= set(names)
    statuses = {a["status"] for a in now["actions"]}
    assert statuses <= {"due", "allowed", "warn", "opens_later", "blocked"}
    assert all(
        (a["status"] == "blocked") == (a["verdict"] == "blocked")
        for a in now["actions"]
        if a["status"] != "opens_later"
    )


# -- listing and subscribing -----------------------------------------------------------------


def _two_seasons(store: Store) -> None:
    History(season_id="ana-2027").added_and_applied("mercy").season(
        store, rulebook=NoRules(), now=NOW_UTC
    )
    History(season_id="ben-2027").season(store, rulebook=NoRules(), now=NOW_UTC)


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_season_summaries(tmp_path: Path, kind: str) -> None:
    store = Store.open(tmp_path / "s.db") if kind == "file" else Store.memory()
    with store:
        _two_seasons(store)
        summaries = store.season_summaries()
        assert [s.id for s in summaries] == store.seasons() == ["ana-2027", "ben-2027"]
        ana = summaries[0]
        records = store.season_records("ana-2027")
        assert (ana.events, ana.last_seq) == (len(records), records[-1].seq)
        state = Season.open(store, "ana-2027", rulebook=NoRules()).state(NOW_UTC)
        assert (ana.specialty, ana.visa, ana.match_year) == (
            state.specialty,
            state.visa,
            state.match_year,
        )
        assert ana.to_json()["season"] == "ana-2027"
        # after_seq: a projection reads only what it has not seen.
        assert store.season_records("ana-2027", after_seq=ana.last_seq) == []
        assert store.season_records("ana-2027", after_seq=records[0].seq) == records[1:]


def test_on_recorded_hooks_see_each_commit_once_after_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        _two_seasons(store)
        seen: list[tuple[int, ...]] = []
        visible: list[int] = []

        def hook(records: Sequence[Record]) -> None:
            seen.append(tuple(r.seq for r in records))
            # Called after the commit: another connection sees the records already.
            with Store.open(tmp_path / "s.db", readonly=True) as other:
                visible.append(other.head()[0])

        store.on_recorded.append(hook)
        season = Season.open(store, "ana-2027", rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
        judged = season.record("note_added", "mercy", text="one")
        assert seen == [(judged.record.seq,)] and visible == [judged.record.seq]
        # A refused write commits nothing and calls no hook.
        with pytest.raises(InputError):
            season.record("note_added", "mercy")
        assert seen == [(judged.record.seq,)]


def test_a_failing_hook_does_not_undo_the_commit_nor_stop_the_others(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        _two_seasons(store)
        after: list[int] = []

        def broken(records: Sequence[Record]) -> None:
            raise RuntimeError("the projection is down")

        store.on_recorded.extend([broken, lambda records: after.append(records[-1].seq)])
        season = Season.open(store, "ben-2027", rulebook=NoRules(), clock=fixed_clock(NOW_UTC))
        before = store.head()[0]
        with pytest.raises(ExceptionGroup) as caught:
            season.record("note_added", text="kept")
        assert [str(e) for e in caught.value.exceptions] == ["the projection is down"]
        assert "the records are stored" in str(caught.value)
        assert after == [before + 1] == [store.head()[0]]
        assert store.season_records("ben-2027")[-1].payload == {"text": "kept"}


# -- docs/embedding.md -----------------------------------------------------------------------


def test_the_python_blocks_of_the_embedding_page_run_in_order() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "embedding.md").read_text("utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", page, re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/embedding.md", "exec"), namespace)
    assert namespace["seen"]


def test_questions_asked_from_the_cached_snapshot_answer_as_a_replay(tmp_path: Path) -> None:
    """``now`` and ``check`` use the store's snapshot when no event is later than the
    question (a service replays nothing per request): the same answers as a replay,
    before, between and after the events, and the snapshot is left as it was."""
    rulebook = policies.Rulebook()
    with Store.open(tmp_path / "s.db") as store:
        with DEMO.open("rb") as f:
            import_lines(store, f, rulebook=rulebook, clock=fixed_clock(DEMO_AT))
        season = Season.open(store, rulebook=rulebook, clock=fixed_clock(DEMO_AT))
        for at in ("2026-10-01T12:00", "2027-01-20T09:00", "2027-03-01T12:00"):
            moment = season.instant(at)
            state = season.state(moment)
            judge = rulebook.for_season(state)
            assert season.what_now(at) == what_now(state, moment, judge)
            for program in ("marlow-im", "kestrelpoint-im"):
                assert season.check("interest", program, at) == judge_action(
                    state, program, "interest", moment, judge
                )
        assert store.snapshot(season.id).state.to_json() == season.state("2027-03-01").to_json()


def test_a_season_object_of_no_stored_season_says_so() -> None:
    with Store.memory() as store:
        _two_seasons(store)
        with pytest.raises(UnknownSeasonError):
            Season(store, "nobody-2027", rulebook=NoRules()).timezone  # noqa: B018
        assert Season(store, "ben-2027", rulebook=NoRules()).timezone == "America/New_York"
