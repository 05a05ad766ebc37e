"""A write judged against the cached snapshot (``admit_next``) is judged exactly as the
whole-season admission (``admit``) judges it (issue 17 item 2): same findings, same
refusals, same state after it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import synth

from prematch import policies
from prematch.engine import (
    PrematchError,
    Record,
    SeasonState,
    Store,
    fixed_clock,
    fixtures_dir,
    import_lines,
)
from prematch.engine._admission import admit, admit_next, goes_last
from prematch.engine._replay import replay, replay_key

MINUTE = dt.timedelta(minutes=1)


def _seasons() -> list[list[Record]]:
    store = Store.memory()
    rulebook = policies.Rulebook()
    with (fixtures_dir() / "demo" / "season.jsonl").open("rb") as f:
        import_lines(store, f, rulebook=rulebook, clock=fixed_clock(synth.CLOCK))
    import_lines(store, list(synth.lines(2)), rulebook=rulebook, clock=fixed_clock(synth.CLOCK))
    return [store.season_records(s) for s in store.seasons()]


def _outcome(run: object) -> object:
    """What an admission gave: (record, findings) or the error's type and text."""
    try:
        judged = run()  # type: ignore[operator]
    except PrematchError as e:
        return (type(e).__name__, str(e), e.seq)
    return judged


def _candidates(records: list[Record]) -> list[tuple[int, Record]]:
    """(n, a record to admit after the first n): each next record as it was recorded,
    and the one before it recorded again a minute after the latest (often refused)."""
    out = []
    for n in range(2, len(records)):
        out.append((n, records[n]))
        latest = max(r.occurred_at for r in records[:n])
        again = records[n - 1]._replace(seq=records[n].seq, occurred_at=latest + MINUTE)
        out.append((n, again))
    return out


@pytest.mark.parametrize("strip_override", [False, True])
def test_admit_next_judges_as_admit(strip_override: bool) -> None:
    rulebook = policies.Rulebook()
    compared = refused = 0
    for records in _seasons():
        for n, record in _candidates(records):
            existing = records[:n]
            if strip_override:
                record = record._replace(override=None)
            last = max(map(replay_key, existing))
            if not goes_last(last, record):
                continue
            state = replay(existing)
            assert state is not None

            def whole(existing: list[Record] = existing, record: Record = record) -> object:
                (judged,) = admit(existing, [record], rulebook)
                return judged, replay([*existing, judged.record])

            def next_only(record: Record = record, state: SeasonState = state) -> object:
                return admit_next(state, rulebook.for_season(state), record)

            want, got = _outcome(whole), _outcome(next_only)
            if isinstance(want[0], str):  # type: ignore[index]
                refused += 1
                assert got == want
            else:
                assert isinstance(got, tuple)
                assert got[0] == want[0]  # type: ignore[index]
                assert dataclasses.asdict(got[1]) == dataclasses.asdict(want[1])  # type: ignore[index]
            compared += 1
    assert compared > 300
    assert refused > 50
