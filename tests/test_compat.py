"""A database written by an older prematch still opens and replays (issue 5, DESIGN §2).

``fixtures/compat/v1.db`` is frozen: the demo season written by store format 1 /
schema_version 1, plus an overridden letter of interest and a retracted news item. It is
copied to ``tmp_path`` first (the committed file is never opened in place), then opened
with the current code. A future schema change must keep this test green, through an
upcaster (``engine.UPCASTERS``), never by editing the frozen file. In process: the
library, and ``prematch`` through :class:`prematch_script.Script`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prematch_script import Script

from prematch import policies
from prematch.engine import SCHEMA_VERSION, Season, Store, fixed_clock

FROZEN = Path(__file__).resolve().parent.parent / "fixtures" / "compat" / "v1.db"
AS_OF = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)
SEASON = "demo-2027"
EVENTS = 93
OVERRIDE = "PD asked for an update letter"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def frozen_digest() -> str:
    return sha256(FROZEN)


@pytest.fixture
def copy(tmp_path: Path, frozen_digest: str) -> Iterator[Path]:
    db = tmp_path / "v1.db"
    shutil.copy(FROZEN, db)
    yield db
    assert sha256(FROZEN) == frozen_digest, "the committed fixtures/compat/v1.db was modified"
    assert not Path(f"{FROZEN}-wal").exists() and not Path(f"{FROZEN}-shm").exists()


@pytest.fixture
def store(copy: Path) -> Iterator[Store]:
    opened = Store.open(copy, create=False)
    yield opened
    opened.close()


@pytest.fixture
def season(store: Store) -> Season:
    return Season.open(store, rulebook=policies.Rulebook(), clock=fixed_clock(AS_OF))


def test_frozen_file_is_a_format_1_store() -> None:
    conn = sqlite3.connect(f"file:{FROZEN}?mode=ro&immutable=1", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        versions = {r[0] for r in conn.execute("SELECT DISTINCT schema_version FROM events")}
        assert versions == {1}
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == EVENTS
    finally:
        conn.close()


def test_verify_passes(store: Store) -> None:
    assert store.verify() == (EVENTS, None)


def test_seasons_and_records_are_read_at_the_current_schema(store: Store) -> None:
    assert store.seasons() == [SEASON]
    records = store.season_records(SEASON)
    assert [r.seq for r in records] == list(range(1, EVENTS + 1))
    assert {r.schema_version for r in records} == {SCHEMA_VERSION}
    kinds = Counter(r.type for r in records)
    assert kinds["program_added"] == 21
    assert kinds["interviewed"] == 9
    assert kinds["event_retracted"] == 1
    first = records[0]
    assert first.type == "season_started"
    assert first.payload["applicant_name"] == "Leila Haddad"
    assert first.payload["timezone"] == "America/New_York"
    assert first.occurred_at == dt.datetime(2026, 9, 20, 14, tzinfo=dt.UTC)


def test_replay_gives_the_expected_programs_and_states(season: Season) -> None:
    state = season.state()
    assert state.id == SEASON
    assert state.match_year == 2027
    assert state.visa == "j1"
    assert len(state.programs) == 21
    states = Counter(p.state for p in state.programs.values())
    assert states == Counter(
        interviewed=9, rejected=5, invited=2, applied=2, declined=1, withdrawn=1, listed=1
    )
    expect = {
        "marlow-im": "interviewed",
        "kestrelpoint-im": "interviewed",
        "fenwick-im": "invited",
        "willowmere-im": "declined",
        "corranbay-im": "withdrawn",
        "oakhaven-im": "rejected",
        "halvorsen-im": "listed",
        "merrow-im": "applied",
    }
    assert {pid: state.programs[pid].state for pid in expect} == expect
    assert state.programs["redfern-im"].no_post_interview_contact is True
    assert list(state.programs["halvorsen-im"].sponsors_visas) == ["h1b"]
    # The retracted news (seq 92) is skipped: only the Step 3 news counts.
    assert [n.seq for n in state.news] == [73]
    assert state.intents() == []
    now = season.what_now().to_json()
    assert now["season"] == SEASON
    assert {item["program"] for item in now["actions"]} <= set(state.programs)


def test_the_override_is_kept(season: Season) -> None:
    copperline = season.state().programs["copperline-im"]
    interest = [m for m in copperline.messages if m.action == "interest"]
    assert len(interest) == 1
    assert interest[0].seq == 91
    assert interest[0].override == OVERRIDE


def test_history_flags_the_retracted_event(season: Season) -> None:
    history = season.history()
    assert len(history) == EVENTS
    retracted = [e.record.seq for e in history if e.retracted]
    assert retracted == [92]
    by_seq = {e.record.seq: e for e in history}
    assert by_seq[92].record.type == "news_recorded"
    assert by_seq[93].record.type == "event_retracted"
    assert by_seq[93].record.payload == {"retracts": 92, "reason": "not yet published"}
    assert by_seq[91].record.override == OVERRIDE
    assert by_seq[91].to_json()["override"] == OVERRIDE
    # Replay order is (occurred_at, seq).
    keys = [(e.record.occurred_at, e.record.seq) for e in history]
    assert keys == sorted(keys)


def test_audit_shows_the_override(season: Season) -> None:
    report = season.audit()
    overridden = [f for f in report.findings if f.seq == 91]
    assert overridden, report.findings
    assert all(f.program == "copperline-im" for f in overridden)
    assert any(f.severity == "block" and f.rule == "interest.wait" for f in overridden)
    assert any(OVERRIDE in (f.override or "") for f in overridden)
    assert report.has_blocks


def test_new_events_append_to_the_old_file(copy: Path) -> None:
    with Store.open(copy, create=False) as store:
        season = Season.open(store, rulebook=policies.Rulebook(), clock=fixed_clock(AS_OF))
        done = season.record(
            "news_recorded", at="2027-01-15T08:00:00-05:00", kind="exam", detail="new"
        )
        assert done.record.seq == EVENTS + 1
        assert store.verify() == (EVENTS + 1, None)


def test_cli_reads_the_old_file(copy: Path) -> None:
    script = Script(copy.parent, db=copy)
    verify = script("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"{EVENTS} events" in verify.stdout
    audit = script("audit", "--json")
    assert audit.returncode == 1, audit.stderr  # the overridden block is a block finding
    assert OVERRIDE in audit.stdout


def test_rows_are_mapped_a_season_at_a_time_as_one_at_a_time(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The column-wise readers of a season's rows give the records the per-row mappers
    give, also for rows of an older schema_version (upcast one by one)."""
    from prematch.engine import _mapper

    conn = sqlite3.connect(copy)
    full = conn.execute(f"SELECT {_mapper.RECORD_COLUMNS} FROM events ORDER BY seq").fetchall()
    replay = conn.execute(f"SELECT {_mapper.REPLAY_COLUMNS} FROM events ORDER BY seq").fetchall()
    conn.close()
    assert _mapper.rows_to_records(full) == list(map(_mapper.row_to_record, full))
    assert _mapper.replay_rows_to_records(replay) == list(map(_mapper.replay_row_to_record, replay))
    assert _mapper.rows_to_records([]) == _mapper.replay_rows_to_records([]) == []
    # A schema_version 2 where applied events gained a field: version 1 rows are upcast.
    monkeypatch.setattr(_mapper, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(
        _mapper.UPCASTERS, ("applied", SCHEMA_VERSION), lambda p: {**p, "upcast": True}
    )
    upcast = _mapper.replay_rows_to_records(replay)
    assert upcast == list(map(_mapper.replay_row_to_record, replay))
    assert {r.schema_version for r in upcast} == {SCHEMA_VERSION + 1}
    assert all(r.payload["upcast"] for r in upcast if r.type == "applied")
