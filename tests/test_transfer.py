"""Export and import (DESIGN §6): round trips, all-or-nothing, any order of ``at``, many seasons."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from db_bytes import db_files, settled_db_files
from history import History

from prematch.engine import (
    InputError,
    NoRules,
    PolicyRefusal,
    PrematchError,
    Season,
    Store,
    StructuralError,
    UnknownSeasonError,
    export_lines,
    fixed_clock,
    fixtures_dir,
    import_lines,
    parse_instant,
)
from prematch.policies import Rulebook

DEMO = (fixtures_dir() / "demo" / "season.jsonl").read_text(encoding="utf-8").splitlines()

SEASON = [
    (
        "program_added",
        "mercy",
        "2026-09-21",
        {"name": "Mercy Hospital Internal Medicine", "contacts": ["Dr. Zoë Ñúñez"]},
    ),
    (
        "program_added",
        "oak",
        "2026-09-21",
        {"name": "Oak Valley Internal Medicine", "sponsors_visas": ["j1", "h1b"]},
    ),
    ("connection_recorded", "oak", "2026-09-21T18:00:00-04:00", {"kind": "observership"}),
    ("applied", "mercy", "2026-09-22", {"via": "eras"}),
    ("applied", "oak", "2026-09-22"),
    ("invited", "mercy", "2026-10-01", {"interview_on": "2026-10-20"}),
    ("interviewed", "mercy", "2026-10-20T09:00:00-04:00"),
    ("thanked", "mercy", "2026-10-21T09:00:00-04:00", {"recipients": ["program director"]}),
    ("news_recorded", None, "2026-11-02", {"kind": "exam", "detail": "Passed Step 3"}),
    ("update_sent", "mercy", "2026-11-03"),
    ("withdrawn", "oak", "2026-11-04"),
]
"""A season touching most payload shapes (unicode, lists, dates, news) — 12 events with start."""


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator:
    """``open_store(name)``: another real store file in tmp_path, closed at teardown."""
    opened: list[Store] = []

    def open_(name: str) -> Store:
        store = Store.open(tmp_path / name)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def program_states(store: Store, season: str, clock) -> dict[str, str]:
    state = Season.open(store, season, rulebook=NoRules(), clock=clock).state()
    return {pid: p.state for pid, p in state.programs.items()}


def replay_view(store: Store, season: str, clock) -> list[tuple]:
    """What happened in a season, without seqs: (when, type, program, payload) in replay order."""
    entries = Season.open(store, season, rulebook=NoRules(), clock=clock).history()
    return [
        (h.record.occurred_at, h.record.type, h.record.program, json.dumps(h.record.payload))
        for h in entries
    ]


# -- round trip ------------------------------------------------------------------------------


def test_export_then_import_reproduces_every_event_and_hash(store, clock, season_of, open_store):
    season = season_of(store, SEASON, clock)
    season.record("call_held", "oak", at="2026-11-05", initiated_by="program")
    exported = list(export_lines(store))

    copy = open_store("copy.db")
    result = import_lines(copy, exported, rulebook=NoRules(), clock=clock)

    assert result.events == len(exported)
    assert result.hashes_reproduced == result.events
    assert list(export_lines(copy)) == exported
    assert copy.verify() == (len(exported), None)


def test_export_then_import_keeps_retractions_and_overrides(store, clock, season_of, open_store):
    season = season_of(store, SEASON, clock)
    mistake = season.record("interest_sent", "mercy", at="2026-11-10", override="advisor said so")
    season.retract(mistake.record.seq, "sent to the wrong program", at="2026-11-11")
    exported = list(export_lines(store))

    copy = open_store("copy.db")
    result = import_lines(copy, exported, rulebook=NoRules(), clock=clock)

    assert result.hashes_reproduced == result.events == len(exported)
    assert result.overridden == 1
    history = Season.open(copy, rulebook=NoRules(), clock=clock).history()
    assert [h.record.seq for h in history if h.retracted] == [mistake.record.seq]
    assert history[-2].record.override == "advisor said so"


def test_an_export_changed_by_hand_is_restored_with_the_line_it_changes_from_named(
    store, clock, season_of, open_store
):
    season_of(store, SEASON, clock)
    exported = list(export_lines(store))
    whole = import_lines(open_store("whole.db"), exported, rulebook=NoRules(), clock=clock)
    assert (whole.changed_from_line, whole.hashes_reproduced) == (None, len(exported))

    edited = [line.replace("Passed Step 3", "Passed Step 2") for line in exported]
    changed = next(n for n, line in enumerate(edited, 1) if line != exported[n - 1])
    restored = import_lines(open_store("edited.db"), edited, rulebook=NoRules(), clock=clock)
    assert restored.changed_from_line == changed
    assert restored.to_json()["changed_from_line"] == changed

    crowded = open_store("crowded.db")  # other events first: no hash can be given again
    season_of(crowded, SEASON[:3], clock, season_id="someone-else")
    moved = import_lines(crowded, edited, rulebook=NoRules(), clock=clock)
    assert (moved.changed_from_line, moved.hashes_reproduced) == (None, 0)


def test_a_rule_learned_later_with_its_override_imports_as_it_was_recorded(
    store, clock, season_of, open_store
):
    """A thank-you, then the program's "no contact after the interview", dated before it
    and recorded with an override (the thank-you was already sent): the export imports as
    it was, the override on the program's update and none on the thank-you, the same head.
    Judged as one batch, the thank-you was refused (its override was on a later line)."""
    season = History().then(SEASON).season(store, rulebook=Rulebook(), clock=clock)
    thanked = next(r for r in season.records() if r.type == "thanked")
    update = season.record(
        "program_updated",
        "mercy",
        at="2026-10-20T08:00:00-04:00",
        no_post_interview_contact=True,
        override="already sent",
    )
    assert any(f"seq {thanked.seq}" in f.message for f in update.findings)
    exported = list(export_lines(store))

    copy = open_store("copy.db")
    result = import_lines(copy, exported, rulebook=Rulebook(), clock=clock)

    assert (result.events, result.overridden) == (len(exported), 1)
    assert list(export_lines(copy)) == exported
    assert copy.head() == store.head()
    without = [line.replace(',"override":"already sent"', "") for line in exported]
    with pytest.raises(PolicyRefusal) as refused:
        import_lines(open_store("refused.db"), without, rulebook=Rulebook(), clock=clock)
    assert refused.value.line == len(exported)
    assert f"the existing event seq {thanked.seq} (thanked) break" in str(refused.value)


def test_importing_an_export_after_other_seasons_keeps_references_between_events(
    store, clock, season_of, open_store
):
    season = season_of(store, SEASON, clock)
    mistake = season.record("call_held", "mercy", at="2026-11-05", initiated_by="applicant")
    season.retract(mistake.record.seq, "it was Oak that called", at="2026-11-06")
    exported = list(export_lines(store))

    crowded = open_store("crowded.db")
    season_of(crowded, SEASON[:3], clock, season_id="someone-else")  # seqs 1..4 are taken
    import_lines(crowded, exported, rulebook=NoRules(), clock=clock)

    imported = Season.open(crowded, "im-2027", rulebook=NoRules(), clock=clock)
    records = {r.seq: r for r in imported.records()}
    retracted = [h.record for h in imported.history() if h.retracted]
    assert [(r.type, r.program) for r in retracted] == [("call_held", "mercy")]
    update = next(r for r in records.values() if r.type == "update_sent")
    assert records[update.payload["news_seq"]].type == "news_recorded"
    assert crowded.verify() == (4 + len(exported), None)


def test_several_seasons_export_and_import_together(store, clock, season_of, open_store):
    season_of(store, SEASON, clock, season_id="amira-2027")
    season_of(store, SEASON[:5], clock, season_id="bilal-2027")
    exported = list(export_lines(store))

    copy = open_store("copy.db")
    result = import_lines(copy, exported, rulebook=NoRules(), clock=clock)

    assert result.seasons == ("amira-2027", "bilal-2027")
    assert copy.seasons() == ["amira-2027", "bilal-2027"]
    assert list(export_lines(copy)) == exported
    assert list(export_lines(copy, "bilal-2027")) == list(export_lines(store, "bilal-2027"))


def test_a_restored_export_is_not_judged_against_the_clock(store, clock, season_of, open_store):
    season_of(store, SEASON, clock)
    exported = list(export_lines(store))
    earlier = fixed_clock(parse_instant("2026-10-01T00:00:00Z"))  # this machine's clock lags

    with pytest.raises(InputError, match="is after now"):
        import_lines(open_store("imported.db"), exported, rulebook=NoRules(), clock=earlier)
    copy = open_store("copy.db")
    import_lines(copy, exported, rulebook=NoRules(), clock=earlier, restore=True)
    assert list(export_lines(copy)) == exported


def test_export_of_a_season_the_store_does_not_hold_is_refused(store, clock, season_of):
    season_of(store, SEASON, clock, season_id="amira-2027")
    with pytest.raises(UnknownSeasonError, match="no season 'amira2027'"):
        export_lines(store, "amira2027")  # at the call, not when the lines are read


def test_a_hand_written_file_may_hold_several_seasons(open_store, clock):
    lines = [
        History(season_id="amira-2027", name="Amira").start_line(),
        {"type": "program_added", "program": "mercy", "at": "2026-09-21", "name": "Mercy IM"},
        History(season_id="bilal-2027", name="Bilal", timezone="Europe/Berlin").start_line(),
        {"type": "program_added", "program": "mercy", "at": "2026-09-21", "name": "Mercy IM"},
        {"type": "applied", "program": "mercy", "at": "2026-09-22", "season": "amira-2027"},
        {"type": "rejected", "program": "mercy", "at": "2026-09-25"},  # Bilal's, still current
    ]
    store = open_store("two.db")
    import_lines(store, [json.dumps(line) for line in lines], rulebook=NoRules(), clock=clock)

    assert store.seasons() == ["amira-2027", "bilal-2027"]
    assert program_states(store, "amira-2027", clock) == {"mercy": "applied"}
    assert program_states(store, "bilal-2027", clock) == {"mercy": "rejected"}
    bilal_added = Season.open(store, "bilal-2027", rulebook=NoRules(), clock=clock).records()[1]
    assert bilal_added.occurred_at.isoformat() == "2026-09-20T22:00:00+00:00"  # Berlin midnight


def test_each_imported_season_gets_consecutive_seqs_in_replay_order(open_store, clock):
    demo = [{**json.loads(line), "season": "demo-2027"} for line in DEMO]
    other = [{**line, "season": "copy-2027"} for line in demo]
    other[0]["applicant_name"] = "Copy"
    interleaved = [line for pair in zip(demo, other, strict=True) for line in pair]
    store = open_store("two.db")
    import_lines(store, [json.dumps(line) for line in interleaved], rulebook=NoRules(), clock=clock)

    rows = list(store.records())
    assert [r.season for r in rows] == ["demo-2027"] * len(DEMO) + ["copy-2027"] * len(DEMO)
    for season in ("demo-2027", "copy-2027"):
        mine = [r for r in rows if r.season == season]
        assert [r.occurred_at for r in mine] == sorted(r.occurred_at for r in mine)
    assert program_states(store, "copy-2027", clock) == program_states(store, "demo-2027", clock)
    assert store.verify() == (2 * len(DEMO), None)


# -- any order of `at` -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_lines_in_any_order_of_at_import_as_if_in_order(open_store, clock, seed):
    in_order = open_store("in-order.db")
    import_lines(in_order, DEMO, rulebook=NoRules(), clock=clock)
    head, rest = DEMO[0], DEMO[1:]  # each season begins with its season_started line
    random.Random(seed).shuffle(rest)

    shuffled = open_store("shuffled.db")
    result = import_lines(shuffled, [head, *rest], rulebook=NoRules(), clock=clock)

    assert result.events == len(DEMO)
    assert replay_view(shuffled, "demo-2027", clock) == replay_view(in_order, "demo-2027", clock)
    assert program_states(shuffled, "demo-2027", clock) == program_states(
        in_order, "demo-2027", clock
    )
    stored = list(shuffled.records())
    assert [r.occurred_at for r in stored] == sorted(r.occurred_at for r in stored)
    assert shuffled.verify() == (len(DEMO), None)


# -- all or nothing --------------------------------------------------------------------------

BAD_FIFTH_LINE = {
    "broken-json": ('{"type": "program_added", "program": "x-im", "at": "2026-09-21"', None),
    "unknown-field": (
        '{"type": "program_added", "program": "x-im", "at": "2026-09-21", "name": "X",'
        ' "colour": "red"}',
        "colour",
    ),
    "unknown-type": ('{"type": "program_exploded", "program": "x-im", "at": "2026-09-21"}', "type"),
    "nonexistent-local-time": (  # the clocks of America/New_York skip 02:00-03:00 that day
        '{"type": "program_added", "program": "x-im", "at": "2026-03-08T02:30:00", "name": "X"}',
        "at",
    ),
}


@pytest.fixture
def target(store, clock, season_of) -> Store:
    """A store that already holds a season the import must not disturb."""
    season_of(store, SEASON, clock)
    return store


@pytest.mark.parametrize("case", sorted(BAD_FIFTH_LINE))
def test_one_bad_line_and_nothing_is_written(target, db_path, clock, case):
    bad, field = BAD_FIFTH_LINE[case]
    lines = [*DEMO[:4], bad, *DEMO[5:]]
    before = settled_db_files(db_path)

    with pytest.raises(InputError) as excinfo:
        import_lines(target, lines, rulebook=NoRules(), clock=clock)

    assert excinfo.value.line == 5
    assert excinfo.value.field == field
    assert "line 5" in str(excinfo.value)
    assert db_files(db_path) == before
    assert target.seasons() == ["im-2027"]


def test_a_structurally_impossible_line_names_its_line_and_writes_nothing(target, db_path, clock):
    thanks = '{"type": "thanked", "program": "marlow-im", "at": "2026-09-20T13:00:00-04:00"}'
    lines = [*DEMO[:4], thanks, *DEMO[5:]]
    before = settled_db_files(db_path)

    with pytest.raises(StructuralError) as excinfo:
        import_lines(target, lines, rulebook=NoRules(), clock=clock)

    assert excinfo.value.line == 5
    assert (excinfo.value.program, excinfo.value.event) == ("marlow-im", "thanked")
    assert db_files(db_path) == before


def test_a_line_after_the_clock_names_its_line_and_writes_nothing(target, db_path, clock):
    late = '{"type": "applied", "program": "marlow-im", "at": "2027-02-01"}'
    before = settled_db_files(db_path)

    with pytest.raises(InputError, match="after now") as excinfo:
        import_lines(target, [*DEMO[:2], late], rulebook=NoRules(), clock=clock)

    assert (excinfo.value.line, excinfo.value.field) == (3, "at")
    assert db_files(db_path) == before


def test_an_import_error_names_the_field_once(target, clock):
    bad, _ = BAD_FIFTH_LINE["unknown-field"]
    with pytest.raises(InputError) as excinfo:
        import_lines(target, [*DEMO[:4], bad], rulebook=NoRules(), clock=clock)
    assert str(excinfo.value) == "line 5, field 'colour': unknown field"


# -- season_started --------------------------------------------------------------------------

OTHER_START = DEMO[0].replace('"demo-2027"', '"other-2027"')

DUPLICATES = {
    "right-after-itself": ([DEMO[0], DEMO[1], DEMO[0]], 3),
    "after-another-season": ([DEMO[0], DEMO[1], OTHER_START, DEMO[0]], 4),
}


@pytest.mark.parametrize("case", sorted(DUPLICATES))
def test_a_season_started_twice_in_a_file_is_an_input_error(open_store, clock, case):
    lines, line = DUPLICATES[case]
    store = open_store("dup.db")
    with pytest.raises(InputError) as excinfo:
        import_lines(store, lines, rulebook=NoRules(), clock=clock)
    assert (excinfo.value.line, excinfo.value.field) == (line, "season")
    assert store.seasons() == []


@pytest.mark.parametrize("case", sorted(DUPLICATES))
def test_a_season_started_twice_in_a_file_is_refused(open_store, clock, case):
    lines, line = DUPLICATES[case]
    store = open_store("dup.db")
    with pytest.raises(PrematchError) as excinfo:
        import_lines(store, lines, rulebook=NoRules(), clock=clock)
    assert excinfo.value.line == line
    assert store.seasons() == []
    assert store.verify() == (0, None)


def test_a_season_already_in_the_store_cannot_be_imported_again(open_store, db_path, clock):
    store = open_store("twice.db")
    import_lines(store, DEMO, rulebook=NoRules(), clock=clock)

    with pytest.raises(InputError, match="demo-2027") as excinfo:
        import_lines(store, DEMO, rulebook=NoRules(), clock=clock)

    assert (excinfo.value.line, excinfo.value.field) == (1, "season")
    assert store.verify() == (len(DEMO), None)
