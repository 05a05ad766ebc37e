"""Import streams its input (DESIGN §9): a long file is written season by season as it is
read, an export's lines in seq order, and every line is still checked before anything
is committed. The window is made small here so that short files take the long path."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prematch.engine import (
    InputError,
    NoRules,
    PolicyRefusal,
    Season,
    Store,
    _transfer,
    export_lines,
    fixed_clock,
    import_lines,
)
from prematch.policies import Rulebook

sys.path.insert(0, str(Path(__file__).parent))
import synth
from prematch_script import Script

CLOCK = fixed_clock(synth.CLOCK)


def _import(store: Store, lines: list[str], rulebook=None):
    return import_lines(store, lines, rulebook=rulebook or NoRules(), clock=CLOCK)


def _seasons(count: int) -> list[str]:
    return list(synth.lines(count))


@pytest.fixture
def window(monkeypatch):
    """``window(n)``: imports write a season once ``n`` lines of others followed it."""

    def set_window(lines: int) -> None:
        monkeypatch.setattr(_transfer, "WINDOW", lines)

    return set_window


def test_a_long_file_is_written_season_by_season_while_it_is_read(tmp_path, window, monkeypatch):
    lines = _seasons(4)
    with Store.open(tmp_path / "whole.db") as whole:  # a file shorter than the window
        _import(whole, lines, Rulebook())
        expected = list(export_lines(whole))

    window(150)
    read = 0
    read_at_writes: list[int] = []

    def counted() -> Iterator[str]:
        nonlocal read
        for line in lines:
            read += 1
            yield line

    write = _transfer._BatchWriter.write

    def noting(self, batch, *, restoring):
        read_at_writes.append(read)
        return write(self, batch, restoring=restoring)

    monkeypatch.setattr(_transfer._BatchWriter, "write", noting)
    with Store.open(tmp_path / "streamed.db") as streamed:
        result = import_lines(streamed, counted(), rulebook=Rulebook(), clock=CLOCK)
        assert list(export_lines(streamed)) == expected
    assert result.seasons == tuple(f"syn-{n:06d}" for n in range(4))
    assert len(read_at_writes) == 4
    assert read_at_writes[0] < len(lines)  # the first season went before the file ended
    assert read_at_writes[-1] == len(lines)


def test_a_season_named_again_after_it_was_written_names_the_line(tmp_path, window):
    first, rest = _seasons(1), _seasons(3)[len(_seasons(1)) :]
    late = json.loads(first[-1])
    late.update(type="news_recorded", at="2027-02-25T10:00:00-05:00", kind="other", detail="x")
    del late["order"]
    lines = [*first, *rest, json.dumps(late)]
    with Store.open(tmp_path / "short.db") as short:  # within the window: imported as is
        assert _import(short, lines).seasons == ("syn-000000", "syn-000001", "syn-000002")

    window(50)
    with Store.open(tmp_path / "long.db") as store, pytest.raises(InputError) as excinfo:
        _import(store, lines)
    assert (excinfo.value.line, excinfo.value.field) == (len(lines), "season")
    assert "syn-000000" in str(excinfo.value) and "sort the file by season" in str(excinfo.value)
    with Store.open(tmp_path / "long.db") as store:
        assert store.seasons() == []


def _blocked_in_first_season() -> tuple[list[str], int]:
    """Three synthetic seasons, the first with a letter of interest sent twice (blocked),
    and the number of that line."""
    lines = _seasons(3)
    first = len(_seasons(1))
    extra = json.loads(next(x for x in lines[:first] if '"interest_sent"' in x))
    extra["at"] = "2027-02-25T10:00:00-05:00"
    lines.insert(first, json.dumps(extra))
    return lines, first + 1


def test_a_refusal_in_a_written_season_names_its_line_and_writes_nothing(tmp_path, window):
    window(150)
    lines, blocked = _blocked_in_first_season()
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(PolicyRefusal) as excinfo:
            _import(store, lines, Rulebook())
        assert excinfo.value.line == blocked
        assert store.seasons() == []


def test_a_bad_line_after_a_refused_season_is_the_error_reported(tmp_path, window):
    """As when every line is read first: an input error anywhere wins over a refusal."""
    window(150)
    lines, _ = _blocked_in_first_season()
    lines.append('{"type": "news_recorded", "at": "2026-12-01"')  # the last line is broken
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(InputError) as excinfo:
            _import(store, lines, Rulebook())
        assert excinfo.value.line == len(lines)
        assert store.seasons() == []


def _export_with_references(store: Store) -> list[str]:
    """Three seasons, then a retraction in the first (seasons interleave in seq order)."""
    _import(store, _seasons(3))
    first = Season.open(store, "syn-000000", rulebook=NoRules(), clock=CLOCK)
    thanked = next(r for r in first.records() if r.type == "thanked")
    first.retract(thanked.seq, "sent to the wrong program", at="2027-02-26T10:00:00-05:00")
    return list(export_lines(store))


def test_an_export_is_restored_in_seq_order_batches_with_every_hash(tmp_path, window):
    with Store.open(tmp_path / "source.db") as source:
        exported = _export_with_references(source)
    window(100)
    with Store.open(tmp_path / "copy.db") as copy:
        result = _import(copy, exported)
        assert result.hashes_reproduced == result.events == len(exported)
        assert list(export_lines(copy)) == exported
        assert copy.verify() == (len(exported), None)


def test_a_restored_export_after_other_events_keeps_its_references(tmp_path, window):
    with Store.open(tmp_path / "source.db") as source:
        exported = _export_with_references(source)
        retracted = [r.payload["retracts"] for r in source.records() if r.type == "event_retracted"]
        (gone,) = (r for r in source.records() if r.seq in retracted)
    window(100)
    with Store.open(tmp_path / "crowded.db") as crowded:
        # Another season of 5 events first: every seq of the export moves by 5.
        _import(crowded, [x.replace('"syn-000000"', '"other"') for x in _seasons(1)[:5]])
        _import(crowded, exported)
        season = Season.open(crowded, "syn-000000", rulebook=NoRules(), clock=CLOCK)
        (retracted_now,) = (h.record for h in season.history() if h.retracted)
        assert retracted_now.seq == gone.seq + 5
        assert (retracted_now.type, retracted_now.program) == (gone.type, gone.program)
        updates = [r for r in crowded.records() if r.type == "update_sent"]
        kinds = {r.seq: r.type for r in crowded.records()}
        assert updates and all(kinds[u.payload["news_seq"]] == "news_recorded" for u in updates)
        assert crowded.verify() == (5 + len(exported), None)


def test_an_export_line_out_of_place_in_a_long_file_names_its_line(tmp_path, window):
    with Store.open(tmp_path / "source.db") as source:
        exported = _export_with_references(source)
    window(100)
    without_seq = json.loads(exported[5])
    del without_seq["seq"]
    cases = {
        "no seq": ([*exported[:250], json.dumps(without_seq)], 251),
        "seq far behind": ([*exported[:250], exported[3]], 251),
    }
    for name, (lines, line) in cases.items():
        with Store.open(tmp_path / f"{name}.db") as store:
            with pytest.raises(InputError) as excinfo:
                _import(store, lines)
            assert (excinfo.value.line, excinfo.value.field) == (line, "seq"), name
            assert store.seasons() == [], name


def test_a_season_waiting_for_a_later_line_is_held_until_the_end(tmp_path, window):
    """A time at a program typed without an offset is read in the program's timezone as
    the whole file leaves it, however far the line that sets it."""
    window(3)
    start = {
        "type": "season_started",
        "at": "2026-09-20T10:00:00-04:00",
        "match_year": 2027,
        "specialty": "Internal Medicine",
        "timezone": "America/New_York",
        "visa": "j1",
    }
    lines = [
        {**start, "season": "amira-2027", "applicant_name": "Amira"},
        {"type": "program_added", "program": "mercy", "at": "2026-09-21", "name": "Mercy IM"},
        {"type": "applied", "program": "mercy", "at": "2026-09-22"},
        {
            "type": "invited",
            "program": "mercy",
            "at": "2026-10-01T09:00:00",
            "interview_on": "2026-10-20",
        },
        {**start, "season": "bilal-2027", "applicant_name": "Bilal"},
        *(
            {"type": "news_recorded", "at": f"2026-10-0{d}", "kind": "other", "detail": "x"}
            for d in range(1, 8)
        ),
        {
            "type": "program_updated",
            "program": "mercy",
            "at": "2026-10-02",
            "season": "amira-2027",
            "timezone": "America/Los_Angeles",
        },
    ]
    with Store.open(tmp_path / "s.db") as store:
        _import(store, [json.dumps(line) for line in lines])
        invited = next(r for r in store.records("amira-2027") if r.type == "invited")
        assert invited.occurred_at.isoformat() == "2026-10-01T16:00:00+00:00"  # 09:00 in LA
        assert store.seasons() == ["amira-2027", "bilal-2027"]


def test_the_command_names_a_few_seasons_and_counts_many(tmp_path):
    script = Script(tmp_path, now=synth.CLOCK.isoformat())
    (tmp_path / "two.jsonl").write_text("\n".join(_seasons(2)) + "\n", encoding="utf-8")
    (tmp_path / "more.jsonl").write_text(
        "\n".join(line.replace('"syn-', '"more-') for line in _seasons(7)) + "\n",
        encoding="utf-8",
    )
    assert "into syn-000000, syn-000001 (" in script.ok("import", "two.jsonl").stdout
    many = script.ok("import", "more.jsonl").stdout
    assert "into 7 seasons (more-000000 to more-000006) (" in many
