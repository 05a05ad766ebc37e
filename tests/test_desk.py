"""The applicant's desk (issue 16): several programs in one ``log``, ``status``, the
short ``now`` and the text views at 80 and 150 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from history import History
from prematch_script import Script, built

SETUP = (
    History()
    .added_and_applied("mercy", "oak", "pine")
    .invite("mercy", at="2026-11-02T10:00:00-05:00", interview_on="2027-01-14")
    .interview("mercy", "2027-01-14T09:00:00-05:00")
    .invite("pine", at="2026-11-03T10:00:00-05:00", interview_on="2027-01-05")
    .interview("pine", "2027-01-05T10:00:00-05:00")
    .argv()
)
"""mercy: interviewed yesterday; pine: interviewed ten days ago; oak: applied only."""


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("desk"), SETUP)


@pytest.fixture
def desk(tmp_path: Path, desk_db: Path) -> Script:
    return Script(tmp_path).copy_of(desk_db)


def events(script: Script) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = script.json("history", "--json")["events"]
    return found


# -- several programs in one log ----------------------------------------------------------


def test_log_several_programs_records_one_event_each_in_one_transaction(desk: Script) -> None:
    desk.ok("news", "exam", "Passed USMLE Step 3", "--at", "2027-01-10")
    before = len(events(desk))
    out = desk.ok("log", "update-sent", "mercy", "oak", "--at", "2027-01-15T08:00").stdout
    assert "Recorded 2 update_sent events in one transaction" in out
    added = events(desk)[before:]
    assert [(e["type"], e["program"]) for e in added] == [
        ("update_sent", "mercy"),
        ("update_sent", "oak"),
    ]
    assert {e["payload"]["news_seq"] for e in added} == {added[0]["payload"]["news_seq"]}


def test_log_several_programs_writes_nothing_when_one_is_refused(desk: Script) -> None:
    before = events(desk)
    proc = desk("log", "thanked", "mercy", "oak", code=3)  # oak never interviewed
    assert "oak" in proc.stderr
    assert events(desk) == before


def test_log_names_a_program_once(desk: Script) -> None:
    proc = desk("log", "thanked", "mercy", "mercy", code=2)
    assert "named twice: mercy" in proc.stderr


def test_all_interviewed_chooses_the_interviewed_programs_with_news_untold(desk: Script) -> None:
    desk.ok("news", "exam", "Passed USMLE Step 3", "--at", "2027-01-10")
    desk.ok("log", "update-sent", "--all-interviewed")
    sent = [e["program"] for e in events(desk) if e["type"] == "update_sent"]
    assert sent == ["mercy", "pine"]  # not oak, which only applied
    proc = desk("log", "update-sent", "--all-interviewed", code=2)  # nothing left to tell
    assert "news untold" in proc.stderr


def test_all_interviewed_with_named_programs_is_a_usage_error(desk: Script) -> None:
    proc = desk("log", "thanked", "mercy", "--all-interviewed", code=2)
    assert "--all-interviewed" in proc.stderr
