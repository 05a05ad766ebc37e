"""Import streams its input (DESIGN §9): a long file is written season by season as it is
read, an export's lines in seq order, and every line is still checked before anything
is committed. The window is made small here so that short files take the long path."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from history import History

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


def _as_one_batch(tmp_path: Path, lines: list[str], rulebook=None) -> tuple[list[str], object]:
    """What importing ``lines`` gives when every line is read before any is written (the
    file is shorter than the window): the store's export, and the result."""
    window, held = _transfer.WINDOW, _transfer.HOLD
    _transfer.WINDOW = _transfer.HOLD = len(lines)
    try:
        with Store.open(tmp_path / "one-batch.db") as store:
            result = _import(store, lines, rulebook)
            return list(export_lines(store)), result
    finally:
        _transfer.WINDOW, _transfer.HOLD = window, held


def _sources(tmp_path: Path, lines: list[str]) -> dict[str, object]:
    """The same lines as each kind of input: a list, a seekable file, a generator."""
    path = tmp_path / "input.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"list": lines, "file": path, "generator": (x for x in lines)}


def _imports_exactly(tmp_path: Path, lines: list[str], rulebook=None) -> None:
    """Importing ``lines`` (read as a list, a file, a generator) gives the records, seqs,
    hashes and findings of a one-batch import."""
    expected, result = _as_one_batch(tmp_path, lines, rulebook)
    for kind, source in _sources(tmp_path, lines).items():
        with Store.open(tmp_path / f"{kind}.db") as store:
            if isinstance(source, Path):
                with source.open("rb") as f:
                    got = _import(store, f, rulebook)
            else:
                got = _import(store, source, rulebook)
            assert list(export_lines(store)) == expected, kind
            assert got == result, kind


def _late_news(first: list[str]) -> str:
    late = json.loads(first[-1])
    late.update(type="news_recorded", at="2027-02-25T10:00:00-05:00", kind="other", detail="x")
    del late["order"]
    return json.dumps(late)


def test_a_season_named_again_after_it_was_written_is_imported_as_one(tmp_path, window):
    """The season was written when the window passed; the import starts again from the
    first line, and writes nothing before the last: the seqs of a one-batch import."""
    first, rest = _seasons(1), _seasons(3)[len(_seasons(1)) :]
    lines = [*first, *rest, _late_news(first)]
    window(50)
    _imports_exactly(tmp_path, lines, Rulebook())


@pytest.mark.parametrize(
    ("lines", "held"),
    [(40, 100), (3, 10_000), (3, 100)],
    ids=["held past memory", "written, read again", "written, read again past memory"],
)
def test_a_file_sorted_by_date_is_imported_as_one_batch(tmp_path, window, monkeypatch, lines, held):
    """An advisor's file of many applicants sorted by date: the seasons interleave all
    along, past the window (written, then read again) and past what is held in memory
    (a temporary file); seasons get their seqs in the order of their first lines."""
    window(lines)
    monkeypatch.setattr(_transfer, "HOLD", held)
    lines = sorted(_seasons(6), key=lambda x: dt.datetime.fromisoformat(json.loads(x)["at"]))
    _imports_exactly(tmp_path, lines, Rulebook())
    with Store.open(tmp_path / "list.db") as store:
        assert store.seasons() == [f"syn-{n:06d}" for n in range(6)]
        assert [r.seq for r in store.records("syn-000000")] == list(range(1, 101))


def test_seasons_interleaved_within_the_window_keep_the_order_of_their_first_lines(
    tmp_path, window
):
    """The first season's last line comes after the second season's: the first season
    is still written first."""
    first, second, third = (_seasons(3)[n * 100 : (n + 1) * 100] for n in range(3))
    lines = [*first[:50], *second, *first[50:], *third]
    window(120)
    _imports_exactly(tmp_path, lines, Rulebook())


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


@pytest.mark.parametrize("held", [40_000, 50])
def test_an_export_is_restored_in_seq_order_batches_with_every_hash(
    tmp_path, window, monkeypatch, held
):
    with Store.open(tmp_path / "source.db") as source:
        exported = _export_with_references(source)
    window(100)
    monkeypatch.setattr(_transfer, "HOLD", held)
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


@pytest.mark.parametrize("held", [40_000, 50])
def test_an_export_line_out_of_place_in_a_long_file_is_imported_as_one(
    tmp_path, window, monkeypatch, held
):
    """After lines of an export were written in seq order, a line without seq (the file
    is grouped by season after all) or with a seq far behind: read again, as one batch
    (its lines held in memory, or in a temporary file)."""
    with Store.open(tmp_path / "source.db") as source:
        exported = _export_with_references(source)
    window(100)
    monkeypatch.setattr(_transfer, "HOLD", held)
    news = {"season": "syn-000000", "type": "news_recorded", "at": "2027-02-26T11:00:00-05:00"}
    without_seq = json.dumps({**news, "kind": "other", "detail": "x"})
    # A file that is not all an export keeps its seqs as written here: no reference to one.
    unreferenced = [
        json.dumps({k: v for k, v in json.loads(x).items() if k != "news_seq"})
        for x in exported[:250]
    ]
    cases = {
        "no seq": [*unreferenced, without_seq],
        "seq far behind": [*exported[:150], *exported[151:], exported[150]],
    }
    for name, lines in cases.items():
        (tmp_path / name).mkdir()
        _imports_exactly(tmp_path / name, lines)


def test_a_season_spilled_while_restoring_keeps_the_place_of_its_first_line(tmp_path, monkeypatch):
    """Export lines held past HOLD go to the temporary file; then lines without seq end
    the restoring: each season is still written in the order of its first line."""
    monkeypatch.setattr(_transfer, "HOLD", 50)
    with Store.open(tmp_path / "source.db") as source:
        exported = _export_with_references(source)
    news = {"type": "news_recorded", "at": "2027-02-26T11:00:00-05:00", "kind": "other"}
    lines = [
        *exported[:102],  # the first season, and two lines of the second: in the file
        json.dumps({**news, "season": "syn-000001", "detail": "second"}),
        json.dumps({**news, "season": "syn-000000", "detail": "first"}),
    ]
    _imports_exactly(tmp_path, lines)


def test_a_refused_season_named_again_is_judged_with_its_late_line(tmp_path, window):
    """The first season, written without its line that comes last in the file, was
    impossible (thanked before the interview); with it, it is not: imported as one."""
    lines = _seasons(3)
    interviewed = next(n for n, x in enumerate(lines) if '"interviewed"' in x)
    lines.append(lines.pop(interviewed))
    window(50)
    _imports_exactly(tmp_path, lines, Rulebook())


@pytest.mark.parametrize("held", [40_000, 2])
def test_a_season_waiting_for_a_later_line_is_held_until_the_end(
    tmp_path, window, monkeypatch, held
):
    """A time at a program typed without an offset is read in the program's timezone as
    the whole file leaves it, however far the line that sets it (and when the lines held
    go to a temporary file, the line waiting stays in memory until then)."""
    window(3)
    monkeypatch.setattr(_transfer, "HOLD", held)
    lines = [
        History(season_id="amira-2027", name="Amira").start_line(),
        {"type": "program_added", "program": "mercy", "at": "2026-09-21", "name": "Mercy IM"},
        {"type": "applied", "program": "mercy", "at": "2026-09-22"},
        {
            "type": "invited",
            "program": "mercy",
            "at": "2026-10-01T09:00:00",
            "interview_on": "2026-10-20",
        },
        History(season_id="bilal-2027", name="Bilal").start_line(),
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
