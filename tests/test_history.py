"""The one history builder (``history.History``): its three forms record the same season.

A history becomes a season on a memory store, a season in a given store, and the
``prematch`` command lines that record it; the records must agree, field for field, or a
CLI test and a library test of "the same season" would be about different seasons.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from history import PROFILE, History, local
from prematch_script import Script

from prematch.engine import NoRules, Record, Store

BUSY = (
    PROFILE.add("mercy", name="Mercy General IM", sponsors_visas=["j1", "h1b"])
    .add("oak", at="2026-09-21T10:05:00-04:00", name="Oak Valley IM", nrmp_participating=False)
    .add("pine", at="2026-09-21T10:10:00-04:00", no_post_interview_contact=True, contacts=["PD"])
    .apply("mercy", via="eras")
    .connect("mercy")
    .apply("oak", at="2026-09-24T11:00:00-04:00")
    .invite("mercy", at="2026-10-01T10:00:00-04:00", interview_on="2026-11-10")
    .interview("mercy", local("2026-11-10T09:00"))
    .event("thanked", "mercy", local("2026-11-10T15:00"), recipients=["Dr. Marsh", "Dr. Lee"])
    .event("news_recorded", at="2026-12-01T10:00:00-05:00", kind="exam", detail="Step 3")
    .event("update_sent", "mercy", "2026-12-02T10:00:00-05:00", news_seq=11)
    .event("rank_certified", at="2027-01-10T10:00:00-05:00", order=["mercy"])
)
"""Every kind of helper, option and field the CLI form has to spell."""


def facts(records: list[Record]) -> list[tuple[object, ...]]:
    """What a record says, less where and when it was written."""
    return [(r.type, r.program, r.occurred_at, r.payload, r.override) for r in records]


def test_the_cli_records_what_the_library_records(tmp_path: Path) -> None:
    library = BUSY.season(rulebook=NoRules())
    script = Script(tmp_path)
    script.setup(BUSY.argv())
    with Store.open(script.db, create=False) as store:
        (season_id,) = store.seasons()
        by_cli = store.season_records(season_id)
    assert facts(by_cli) == facts(library.records())


def test_a_history_records_the_same_season_in_any_store(tmp_path: Path) -> None:
    in_memory = BUSY.season(rulebook=NoRules()).records()
    with Store.open(tmp_path / "season.db") as store:
        on_disk = BUSY.season(store, rulebook=NoRules()).records()
    assert facts(on_disk) == facts(in_memory)
    assert [r.hash for r in on_disk] == [r.hash for r in in_memory]


def test_a_helper_leaves_the_history_it_was_called_on_unchanged() -> None:
    base = History().applied("mercy")
    longer = base.interviewed("oak", local("2026-12-01T10:00"))
    assert len(base.events) == 3 and len(longer.events) == 6
    assert base.season().state().programs.keys() == {"mercy"}


def test_a_season_with_overrides_has_no_command_line() -> None:
    with pytest.raises(ValueError, match="policy or calendar"):
        History(policy={"spam.gap_days": 0}).argv()


def test_the_pure_judge_agrees_with_the_season() -> None:
    history = History().interviewed("p", local("2026-12-01T10:00"))
    state = history.state()
    assert state.programs["p"].state == "interviewed"
    at = local("2026-12-04T10:00")  # a late thank-you: a finding to agree on
    verdict = history.judge().judge(state, "p", "thank_you", at)
    assert verdict.outcome == "warn"
    assert verdict == history.season().check("thank_you", "p", at=at)
