"""The ``prematch`` command line (DESIGN §6: commands, exit codes, JSON shapes).

In process: every test drives the click group through :class:`prematch_script.Script`,
against a database in ``tmp_path`` and a clock pinned by ``PREMATCH_NOW``; the tests on
the standard season each start from their own copy of it, recorded once. Every call,
whatever its exit code, must be free of Python tracebacks: errors are one clear line,
never a crash. One smoke test runs the installed console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import synth
from db_bytes import db_files
from history import History
from prematch_script import NOW, Ran, Script, built

from prematch.engine import NoRules, Store, fixed_clock, import_lines

NOW_UTC = datetime(2027, 1, 15, 14, tzinfo=UTC)
INTERVIEW = "2027-01-14T09:00:00-05:00"
INTERVIEW_UTC = datetime(2027, 1, 14, 14, tzinfo=UTC)

SEASON = "test-applicant-2027"
"""The id ``init`` derives from ``--name "Test Applicant" --match-year 2027``."""

ACTIONS = {"inquiry", "thank_you", "update", "interest", "intent"}
VERDICTS = {"allowed", "warn", "blocked"}
SEVERITIES = {"block", "warn", "info"}
ACTION_KEYS = {"program", "action", "verdict", "opens_at", "due_by", "closes_at", "findings"}
FINDING_KEYS = {"rule", "severity", "message", "source"}
EVENT_KEYS = {
    "seq",
    "type",
    "program",
    "occurred_at",
    "recorded_at",
    "payload",
    "override",
    "retracted",
}

INIT_ARGS = History().init_argv()

SEASON_SETUP = (
    History()
    .added_and_applied("mercy", "oak")
    .invite("mercy", at="2026-11-02T10:00:00-05:00", interview_on="2027-01-14")
    .interview("mercy", INTERVIEW)
    .argv()
)
"""mercy: interviewed yesterday (thank-you due, interest not yet); oak: applied only."""


def instant(value: str | None) -> datetime | None:
    """Parse an ISO instant of the JSON output (must carry an offset)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{value!r} has no UTC offset"
    return parsed


def assert_one_clear_line(proc: Ran, *needles: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{proc.stderr}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


def check_action_shape(item: dict[str, Any]) -> None:
    assert set(item) == ACTION_KEYS, item
    assert isinstance(item["program"], str)
    assert item["action"] in ACTIONS
    assert item["verdict"] in VERDICTS
    for key in ("opens_at", "due_by", "closes_at"):
        instant(item[key])
    assert isinstance(item["findings"], list)
    for finding in item["findings"]:
        assert set(finding) == FINDING_KEYS, finding
        assert isinstance(finding["rule"], str) and finding["rule"]
        assert finding["severity"] in SEVERITIES
        assert isinstance(finding["message"], str) and finding["message"]
        assert isinstance(finding["source"], str)
    # The verdict is the worst severity among the findings (DESIGN §4).
    severities = {f["severity"] for f in item["findings"]}
    worst = "blocked" if "block" in severities else "warn" if "warn" in severities else "allowed"
    assert item["verdict"] == worst, item


def history(cli: Script, *args: str) -> list[dict[str, Any]]:
    doc = cli.json("history", "--json", *args)
    assert set(doc) == {"season", "events"}
    events: list[dict[str, Any]] = doc["events"]
    return events


@pytest.fixture
def cli(tmp_path: Path) -> Script:
    return Script(tmp_path)


@pytest.fixture(scope="module")
def season_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard season (see ``SEASON_SETUP``), recorded once for the module."""
    return built(tmp_path_factory.mktemp("cli-season"), SEASON_SETUP)


@pytest.fixture
def season(cli: Script, season_db: Path) -> Script:
    """``cli`` on its own copy of the standard season."""
    return cli.copy_of(season_db)


# -- basics -----------------------------------------------------------------------------


def test_the_installed_console_script_runs(tmp_path: Path) -> None:
    """The one real process: the venv's ``prematch`` script, its exit codes, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREMATCH_")}
    env.update(PREMATCH_DB=str(tmp_path / "s.db"), PREMATCH_NOW=NOW, NO_COLOR="1")
    prematch = Path(sys.executable).parent / "prematch"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(prematch), *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
        return proc

    assert SEASON in run(*INIT_ARGS).stdout
    assert json.loads(run("now", "--json").stdout)["season"] == SEASON
    proc = run("check", "interest", "nowhere")
    assert proc.returncode == 2
    assert "nowhere" in proc.stderr


def test_a_reader_that_stops_early_ends_the_command_as_for_other_tools(tmp_path: Path) -> None:
    """``prematch export | head -1``: the real script ends by SIGPIPE, silently (a shell
    shows 141), not with exit 1, which means "a block" or "a broken chain" here."""
    db = tmp_path / "s.db"
    with Store.open(db) as store:  # an export far larger than a pipe's buffer
        import_lines(store, synth.lines(20), rulebook=NoRules(), clock=fixed_clock(synth.CLOCK))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREMATCH_")}
    prematch = Path(sys.executable).parent / "prematch"
    proc = subprocess.Popen(
        [str(prematch), "--db", str(db), "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader stops
    said = proc.stderr.read()
    assert proc.wait(timeout=60) == -signal.SIGPIPE, said
    assert json.loads(first)["seq"] == 1 and said == b""


def test_help_lists_the_commands(cli: Script) -> None:
    out = cli.ok("--help").stdout
    for command in ("init", "program", "log", "now", "check", "audit", "history", "verify"):
        assert command in out


def test_init_and_program_add_report_what_they_did(cli: Script) -> None:
    assert SEASON in cli.ok(*INIT_ARGS).stdout
    assert cli.db.exists()
    out = cli.ok(
        "program", "add", "mercy", "--name", "Mercy General IM", "--at", "2026-09-21"
    ).stdout
    assert "mercy" in out and "seq 2" in out


def test_init_makes_a_season_id_from_any_name(cli: Script) -> None:
    """Accents fold to their letters; a name without Latin letters gets an id of its own
    (a second such applicant is not told that an id they never typed exists)."""
    started = {}
    for name in ("José Núñez", "محمد علي", "أحمد حسن", "山田 太郎"):
        out = cli.ok(*History(name=name).init_argv()).stdout
        started[name] = out.split()[1]
    assert started["José Núñez"] == "jose-nunez-2027"
    others = [started[n] for n in ("محمد علي", "أحمد حسن", "山田 太郎")]
    assert len(set(others)) == 3
    assert all(sid.startswith("season-") and sid.endswith("-2027") for sid in others)

    again = cli(*History(name="أحمد حسن").init_argv(), code=2)
    assert f"season {started['أحمد حسن']!r} already exists" in again.stderr
    assert "choose another with --id" in again.stderr


def test_default_db_lives_in_the_data_folder_with_mode_0600(cli: Script, tmp_path: Path) -> None:
    cli.ok(*INIT_ARGS, unset=["PREMATCH_DB"])
    default = tmp_path / "data" / "prematch" / "prematch.db"
    assert default.is_file()
    assert default.stat().st_mode & 0o777 == 0o600
    assert not cli.db.exists()
    assert cli.json("history", "--json", unset=["PREMATCH_DB"])["season"] == SEASON


def test_explicit_db_is_created_private(cli: Script) -> None:
    cli.ok(*INIT_ARGS)
    assert cli.db.stat().st_mode & 0o777 == 0o600


# -- now / check ------------------------------------------------------------------------


def test_now_says_the_signal_numbers_are_provisional_apart_from_the_findings(
    season: Script,
) -> None:
    out = season.ok("now").stdout
    said = "The preference-signal numbers of this Match are provisional (the ERAS 2025 numbers"
    assert said in out and "signals.limit" not in out


def test_now_json_matches_the_contract(season: Script) -> None:
    season.ok("log", "thanked", "mercy")
    doc = season.json("now", "--json")
    assert set(doc) == {
        "season",
        "as_of",
        "calendar_provisional",
        "actions",
        "season_actions",  # issue 14: the one letter of intent, once
        "checklist",
        "timezone",  # issue 17: what the text view shows times in
        "programs",  # issue 17: each program's name
        "signals_provisional",  # issue 20: not a finding in the checklist
    }
    assert doc["season"] == SEASON
    assert instant(doc["as_of"]) == NOW_UTC
    assert doc["calendar_provisional"] is True  # the 2027 calendar is provisional
    assert doc["signals_provisional"] is True  # so are the 2027 signal numbers
    assert "signals.limit" not in {f["rule"] for f in doc["checklist"]}
    for item in doc["actions"]:
        assert item.pop("status") in {"due", "allowed", "warn", "opens_later", "blocked"}
        check_action_shape(item)
    # Every (program, action) pair the state machine allows from the current state.
    pairs = {(a["program"], a["action"]) for a in doc["actions"]}
    assert pairs == {
        ("mercy", "thank_you"),
        ("mercy", "interest"),
        ("mercy", "intent"),
        ("mercy", "update"),
        ("oak", "inquiry"),
        ("oak", "update"),
    }
    assert len(doc["actions"]) == len(pairs)
    by_pair = {(a["program"], a["action"]): a for a in doc["actions"]}
    thanks = by_pair["mercy", "thank_you"]
    assert thanks["verdict"] == "blocked"
    assert "thanks.once" in {f["rule"] for f in thanks["findings"]}


def test_now_text_shows_the_actionable(season: Script) -> None:
    out = season.ok("now").stdout
    assert SEASON in out
    assert "1 due (next: thank-you to Mercy General IM by Sat 16 Jan 09:00)" in out


def test_check_thank_you_allowed_after_interview(season: Script) -> None:
    doc = season.json("check", "thank_you", "mercy", "--json")
    assert set(doc) == ACTION_KEYS | {"season", "as_of"}
    check_action_shape({k: v for k, v in doc.items() if k not in {"season", "as_of"}})
    assert doc["season"] == SEASON
    assert instant(doc["as_of"]) == NOW_UTC
    assert (doc["program"], doc["action"]) == ("mercy", "thank_you")
    assert doc["verdict"] in {"allowed", "warn"}
    assert instant(doc["due_by"]) == INTERVIEW_UTC + timedelta(hours=48)
    season.ok("check", "thank_you", "mercy")  # text form, exit 0 too


def test_check_interest_blocked_until_fourteen_days(season: Script) -> None:
    proc = season("check", "interest", "mercy", code=3)
    assert "interest.wait" in proc.stdout
    doc = season.json("check", "interest", "mercy", "--json", code=3)
    assert doc["verdict"] == "blocked"
    assert ("interest.wait", "block") in {(f["rule"], f["severity"]) for f in doc["findings"]}
    assert instant(doc["opens_at"]) == INTERVIEW_UTC + timedelta(days=14)
    # As of the day it opens, the wait is over.
    later = season.json(
        "check",
        "interest",
        "mercy",
        "--json",
        code=None,
        env={"PREMATCH_NOW": "2027-01-29T09:00:00-05:00"},
    )
    assert "interest.wait" not in {f["rule"] for f in later["findings"]}


def test_check_as_of_an_earlier_instant(season: Script) -> None:
    """``--at`` evaluates with only the events that occurred by then: no interview yet."""
    proc = season("check", "thank_you", "mercy", "--json", "--at", "2027-01-10", code=3)
    doc = json.loads(proc.stdout)
    assert "state.invalid" in {f["rule"] for f in doc["findings"]}


def test_a_mistyped_season_gets_the_closest_ids_not_every_season(tmp_path: Path) -> None:
    """An advisor's store of a thousand seasons named each one after a typo (12 KB)."""
    db = tmp_path / "office.db"
    with Store.open(db) as store:
        import_lines(store, synth.lines(12), rulebook=NoRules(), clock=fixed_clock(synth.CLOCK))
    script = Script(tmp_path, db=db)
    typo = script("--season", "SYN-00007", "now")
    assert typo.returncode == 2
    assert "no season 'SYN-00007'" in typo.stderr and "did you mean syn-000007" in typo.stderr
    other = script("--season", "amira-2027", "now")
    assert other.returncode == 2 and "its 12 seasons include syn-000000," in other.stderr
    assert "syn-000009;" in other.stderr and "syn-000010" not in other.stderr
    assert "`prematch audit --all --summary` lists them all" in other.stderr


def test_a_refused_init_leaves_no_database_behind(tmp_path: Path) -> None:
    script = Script(tmp_path)
    args = ["init", "--match-year", "2027", "--specialty", "Internal Medicine"]
    ran = script(*args, "--timezone", "Mars/Olympus", "--visa", "none", "--name", "A B")
    assert ran.returncode == 2 and "unknown IANA timezone" in ran.stderr
    assert not script.db.exists() and list(tmp_path.glob(f"{script.db.name}*")) == []


def test_check_unknown_program_is_an_input_error(season: Script) -> None:
    proc = season("check", "interest", "nowhere", code=2)
    assert "nowhere" in proc.stderr


# -- log: blocked, override, structurally invalid ---------------------------------------


def test_blocked_log_is_refused_and_writes_nothing(season: Script) -> None:
    before = db_files(season.db)
    events_before = history(season)
    proc = season("log", "interest-sent", "mercy", code=3)
    assert "interest.wait" in proc.stderr
    assert "--override" in proc.stderr
    assert db_files(season.db) == before
    assert history(season) == events_before


def test_override_records_and_every_audit_shows_it(season: Script) -> None:
    reason = "The program director asked me to write"
    out = season.ok("log", "interest-sent", "mercy", "--override", reason).stdout
    assert "interest_sent" in out
    recorded = history(season)[-1]
    assert recorded["type"] == "interest_sent"
    assert recorded["override"] == reason

    audit = season.json("audit", "--json", code=1)
    assert set(audit) == {"season", "findings", "summary"}
    assert audit["season"] == SEASON
    assert set(audit["summary"]) == SEVERITIES
    assert audit["summary"]["block"] >= 1
    for finding in audit["findings"]:
        assert {"rule", "severity", "program", "seq", "message", "source"} <= set(finding)
    wait = [f for f in audit["findings"] if f["rule"] == "interest.wait"]
    assert len(wait) == 1
    assert wait[0]["severity"] == "block"
    assert wait[0]["program"] == "mercy"
    assert wait[0]["seq"] == recorded["seq"]
    assert wait[0]["override"] == reason

    text = season("audit", code=1).stdout
    assert "interest.wait" in text and reason in text


def test_thanks_to_a_program_never_interviewed_is_structurally_invalid(season: Script) -> None:
    before = db_files(season.db)
    proc = season("log", "thanked", "oak", code=3)
    assert "oak" in proc.stderr
    assert "applied" in proc.stderr  # its state
    assert "thanked" in proc.stderr  # the event
    assert "--override" not in proc.stderr  # no override can record it
    # ... and --override does not help.
    season("log", "thanked", "oak", "--override", "but I want to", code=3)
    assert db_files(season.db) == before


def test_unknown_event_is_a_usage_error(season: Script) -> None:
    proc = season("log", "serenaded", "mercy", code=2)
    assert "serenaded" in proc.stderr


def test_at_in_a_dst_gap_is_refused(season: Script) -> None:
    # A time without an offset is read in the season's zone (tests/test_times.py); this
    # one never happened in New York: the clocks skipped 02:00-03:00 that night.
    before = db_files(season.db)
    proc = season("log", "applied", "mercy", "--at", "2026-03-08T02:30", code=2)
    assert "does not exist" in proc.stderr and "offset" in proc.stderr
    assert db_files(season.db) == before


def test_event_after_the_clock_is_refused(season: Script) -> None:
    before = db_files(season.db)
    proc = season("log", "thanked", "mercy", "--at", "2027-01-15T09:00:01-05:00", code=2)
    assert "after now" in proc.stderr
    assert db_files(season.db) == before


def test_log_accepts_event_names_with_dash_or_underscore(season: Script) -> None:
    season.ok("log", "connection_recorded", "oak", "--kind", "research", "--detail", "2 papers")
    season.ok("log", "connection-recorded", "oak", "--kind", "mentor", "--detail", "Dr. A")
    kinds = [e["type"] for e in history(season)]
    assert kinds.count("connection_recorded") == 2


def test_news_then_update_then_nothing_left_to_tell(season: Script) -> None:
    season("check", "update", "mercy", code=3)  # no news yet
    out = season.ok("news", "exam", "Passed USMLE Step 3", "--at", "2027-01-10").stdout
    assert "seq 8" in out
    doc = season.json("check", "update", "mercy", "--json")
    assert doc["verdict"] in {"allowed", "warn"}
    season.ok("log", "update-sent", "mercy")
    sent = history(season)[-1]
    assert (sent["type"], sent["payload"].get("news_seq")) == ("update_sent", 8)
    proc = season("log", "update-sent", "mercy", code=3)
    assert "update.news" in proc.stderr


def test_update_about_news_that_does_not_exist_is_an_input_error(season: Script) -> None:
    proc = season("log", "update-sent", "mercy", "--news", "9999")
    assert "9999" in proc.stderr
    assert "not possible from there" not in proc.stderr
    assert proc.returncode == 2


def test_certify_against_the_letter_of_intent(season: Script) -> None:
    later = {"PREMATCH_NOW": "2027-02-10T09:00:00-05:00"}
    season.ok("log", "intent-sent", "mercy", env=later)
    season("log", "intent-sent", "mercy", env=later, code=3)  # intent.single
    season.ok("log", "invited", "oak", "--at", "2026-12-01", env=later)
    season.ok("log", "interviewed", "oak", "--at", "2027-01-20T09:00:00-05:00", env=later)
    proc = season("certify", "oak", "mercy", env=later, code=3)
    assert "intent.honesty" in proc.stderr
    season.ok("certify", "mercy", "oak", env=later)
    season.ok("certify", "oak", "mercy", "--override", "changed my mind", env=later)
    audit = season.json("audit", "--json", env=later, code=1)
    honesty = [f for f in audit["findings"] if f["rule"] == "intent.honesty"]
    assert [f["override"] for f in honesty] == ["changed my mind"]


# -- history / retract ------------------------------------------------------------------


def test_history_json_shape_and_replay_order(season: Script) -> None:
    # Back-filled: recorded last, but it happened before the season's applications.
    season.ok("log", "connection-recorded", "oak", "--kind", "observership", "--at", "2026-09-22")
    events = history(season)
    assert [e["seq"] for e in events] != sorted(e["seq"] for e in events)
    for event in events:
        assert set(event) == EVENT_KEYS, event
        assert isinstance(event["seq"], int)
        assert isinstance(event["payload"], dict)
        assert event["retracted"] is False
        assert event["override"] is None
        instant(event["occurred_at"])
        instant(event["recorded_at"])
    order = [(instant(e["occurred_at"]), e["seq"]) for e in events]
    assert order == sorted(order)  # replay order is (occurred_at, seq)
    assert events[0]["type"] == "season_started"
    assert events[0]["program"] is None
    backfilled = max(events, key=lambda e: e["seq"])
    assert backfilled["type"] == "connection_recorded"
    assert events.index(backfilled) == 3  # after the two program_added, before any applied
    assert [e["seq"] for e in events] == [1, 2, 3, 8, 4, 5, 6, 7]
    assert instant(events[0]["recorded_at"]) == NOW_UTC


def test_history_text(season: Script) -> None:
    out = season.ok("history").stdout
    assert SEASON in out and "interviewed" in out


def test_retract_marks_the_event_and_replay_skips_it(season: Script) -> None:
    applied_oak = next(
        e for e in history(season) if e["type"] == "applied" and e["program"] == "oak"
    )
    out = season.ok("retract", str(applied_oak["seq"]), "--reason", "wrong program").stdout
    assert f"seq {applied_oak['seq']}" in out
    events = history(season)
    marked = {e["seq"]: e["retracted"] for e in events}
    assert marked[applied_oak["seq"]] is True
    assert sum(marked.values()) == 1
    retraction = events[-1]
    assert retraction["type"] == "event_retracted"
    assert retraction["payload"]["retracts"] == applied_oak["seq"]
    assert retraction["payload"]["reason"] == "wrong program"
    # oak is back to `listed`: applying again is possible, twice is not.
    season.ok("log", "applied", "oak")
    season("log", "applied", "oak", code=3)
    # A retraction is not retracted twice.
    season("retract", str(applied_oak["seq"]), "--reason", "again", code=2)
    season("retract", "999", "--reason", "no such event", code=2)


def test_queries_as_of_before_a_retraction_still_work(season: Script) -> None:
    applied_oak = next(
        e for e in history(season) if e["type"] == "applied" and e["program"] == "oak"
    )
    season.ok("retract", str(applied_oak["seq"]), "--reason", "wrong date")
    season.ok("log", "applied", "oak", "--at", "2026-09-23T10:00:00-04:00")
    season.ok("now", "--json")  # as of now: fine
    season.ok("now", "--json", "--at", "2026-12-01")
    season("check", "inquiry", "oak", "--json", "--at", "2026-12-01")


# -- verify -----------------------------------------------------------------------------


def test_verify_detects_an_edit_behind_the_engines_back(season: Script) -> None:
    out = season.ok("verify").stdout
    assert "OK" in out
    assert season.json("verify", "--json")["ok"] is True

    with sqlite3.connect(season.db) as conn:
        # The append-only trigger stops a plain UPDATE ...
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("UPDATE events SET payload = '{}' WHERE seq = 3")
        conn.rollback()
        # ... so a tamperer drops it first.
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute(
            "UPDATE events SET payload = ? WHERE seq = 3",
            (json.dumps({"name": "Somewhere Else IM", "nrmp_participating": True}),),
        )
    conn.close()

    proc = season("verify", code=1)
    assert "seq 3" in proc.stdout + proc.stderr
    doc = season.json("verify", "--json", code=1)
    assert doc["ok"] is False
    assert doc["problem"]["seq"] == 3
    assert doc["head"] is None  # nothing to note: the chain does not hold


def test_a_script_notes_the_head_verify_json_gives_and_checks_against_it(
    season: Script, tmp_path: Path
) -> None:
    first = season.json("verify", "--json")["head"]
    assert f"Head: {first} " in season.ok("verify").stdout  # the head the text shows
    season.ok("log", "thanked", "mercy")
    noted = season.json("verify", "--json")["head"]
    season.ok("verify", "--head", first)  # events added since: still holds

    # Someone cuts off the newest event together with its head row (and puts the guards
    # back): alone, the store looks intact; the head the script noted finds the cut.
    with sqlite3.connect(season.db) as conn:
        for table in ("events", "heads"):
            conn.execute(f"DROP TRIGGER {table}_no_delete")
            conn.execute(f"DELETE FROM {table} WHERE seq = (SELECT MAX(seq) FROM {table})")
            conn.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'append-only'); END"
            )
    conn.close()
    assert season.json("verify", "--json")["head"] == first
    cut = season.json("verify", "--json", "--head", noted, code=1)
    assert (cut["ok"], cut["head"]) == (False, None)

    (tmp_path / "empty").mkdir()
    empty = Script(tmp_path / "empty")
    empty.ok("migrate")
    assert empty.json("verify", "--json")["head"] is None  # nothing to note yet


# -- export / import --------------------------------------------------------------------


def test_export_then_import_reproduces_the_same_export(season: Script, tmp_path: Path) -> None:
    season.ok("log", "thanked", "mercy")
    season.ok("log", "interest-sent", "mercy", "--override", "asked to write")
    season.ok("retract", "5", "--reason", "never applied there")
    out_file = tmp_path / "season.jsonl"
    season.ok("export", "--out", str(out_file))
    original = season.ok("export").stdout
    assert out_file.read_text(encoding="utf-8") == original
    lines = original.splitlines()
    assert len(lines) == 10
    for line in lines:
        json.loads(line)

    copy_db = tmp_path / "copy.db"
    season.ok("--db", str(copy_db), "import", str(out_file))
    assert season.ok("--db", str(copy_db), "export").stdout == original
    assert season.ok("--db", str(copy_db), "verify").returncode == 0
    assert season.json("--db", str(copy_db), "history", "--json") == season.json(
        "history", "--json"
    )


BROKEN_LINE_3 = [
    '{"type": "season_started", "season": "other-2027", "at": "2026-09-20T10:00:00-04:00", '
    '"match_year": 2027, "specialty": "Internal Medicine", "timezone": "America/New_York", '
    '"visa": "j1", "applicant_name": "Other Applicant"}',
    '{"type": "program_added", "program": "pine", "at": "2026-09-21", "name": "Pine IM"}',
]


@pytest.mark.parametrize(
    ("line3", "needle", "code"),
    [
        ('{"type": "applied", "program": "pine", "at": "2026-09-22"', "line 3", 2),
        ('{"type": "applied", "program": "pine", "at": "2026-09-22", "bogus": 1}', "bogus", 2),
        ('{"type": "waved", "program": "pine", "at": "2026-09-22"}', "waved", 2),
        # Same checks as `log`: refused (3), and still nothing is written.
        ('{"type": "thanked", "program": "pine", "at": "2026-09-22"}', "thanked", 3),
    ],
    ids=["not-json", "unknown-field", "unknown-type", "structurally-invalid"],
)
def test_import_is_all_or_nothing(
    season: Script, tmp_path: Path, line3: str, needle: str, code: int
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*BROKEN_LINE_3, line3, ""]), encoding="utf-8")
    before = db_files(season.db)
    export_before = season.ok("export").stdout
    proc = season("import", str(bad), code=code)
    assert "line 3" in proc.stderr
    assert needle in proc.stderr
    assert db_files(season.db) == before
    assert season.ok("export").stdout == export_before


def test_import_into_a_new_database_writes_nothing_on_error(cli: Script, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*BROKEN_LINE_3, "{oops", ""]), encoding="utf-8")
    fresh = tmp_path / "new" / "folder" / "fresh.db"
    proc = cli("--db", str(fresh), "import", str(bad), code=2)
    assert "line 3" in proc.stderr
    # The store was created before the file was read, and removed with its folders.
    assert not (tmp_path / "new").exists()


def test_import_reads_a_file_saved_with_a_byte_order_mark(season: Script, tmp_path: Path) -> None:
    exported = season.ok("export").stdout
    saved = tmp_path / "saved.jsonl"
    saved.write_text(exported, encoding="utf-8-sig")  # "UTF-8 with BOM", as some editors save
    fresh = tmp_path / "fresh.db"
    season.ok("--db", str(fresh), "import", str(saved))
    assert season.ok("--db", str(fresh), "export").stdout == exported


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank-lines"])
def test_import_of_a_file_without_events_is_refused_and_creates_nothing(
    cli: Script, tmp_path: Path, content: str
) -> None:
    (tmp_path / "nothing.jsonl").write_text(content, encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    proc = cli("import", "nothing.jsonl", code=2)
    assert_one_clear_line(proc, "nothing.jsonl holds no events; nothing was written")
    assert sorted(tmp_path.iterdir()) == before  # no database (nor its sidecars)


def test_import_of_a_season_already_in_the_store_is_refused(season: Script, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    season.ok("export", "--out", str(dump))
    before = db_files(season.db)
    proc = season("import", str(dump), code=2)
    assert SEASON in proc.stderr
    assert db_files(season.db) == before


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--season", "jose2027", "export", "--out", "backup.jsonl"), {}),
        (("--season", "jose2027", "export"), {}),
        (("export", "--out", "backup.jsonl"), {"PREMATCH_SEASON": "jose2027"}),
        (("--season", "jose2027", "export", "--format", "csv", "--out", "backup.jsonl"), {}),
    ],
    ids=["jsonl-out", "jsonl-stdout", "env", "csv-out"],
)
def test_export_of_a_mistyped_season_is_refused_and_writes_no_file(
    season: Script, args: tuple[str, ...], env: dict[str, str]
) -> None:
    proc = season(*args, env=env, code=2)
    assert_one_clear_line(proc, "no season 'jose2027'", SEASON)
    assert proc.stdout == ""
    assert not (season.tmp / "backup.jsonl").exists()


# -- copy -------------------------------------------------------------------------------


@pytest.mark.parametrize("now", ["2026-12-01T00:00:00Z", "2030-01-01T00:00:00Z"])
def test_copy_restores_the_log_whatever_the_clock_says(season: Script, now: str) -> None:
    # Written on a machine whose clock was ahead of this one's (or copied later): the
    # events are recorded facts, not judged against now.
    ran = season("copy", "--from", str(season.db), "--to", "copy.db", env={"PREMATCH_NOW": now})
    assert ran.returncode == 0, ran.shown()
    assert " events of 1 season from " in ran.stdout
    copied = season.tmp / "copy.db"
    assert season.ok("--db", str(copied), "export").stdout == season.ok("export").stdout
    assert season.ok("--db", str(copied), "verify").returncode == 0


def test_copy_fills_only_an_empty_store_and_counts_in_words(season: Script) -> None:
    # README "Sharing one database": a season started there is not overwritten by a copy.
    started = Script(season.tmp, db=season.tmp / "shared.db")
    started.ok(*INIT_ARGS)
    ran = season("copy", "--from", str(season.db), "--to", "shared.db", code=2)
    assert_one_clear_line(ran, "shared.db already holds 1 event; copy into a new file")
    assert started.ok("verify").stdout.startswith("OK: 1 event, ")


# -- audit ------------------------------------------------------------------------------


def test_audit_of_a_clean_season(season: Script) -> None:
    doc = season.json("audit", "--json")
    assert doc["summary"] == {"block": 0, "warn": 0, "info": 0}
    assert doc["findings"] == []
    assert "Audit of" in season.ok("audit").stdout


def test_audit_markdown_starts_with_a_heading(season: Script) -> None:
    out = season.ok("audit", "--format", "markdown").stdout
    assert out.startswith("# ")
    assert SEASON in out.splitlines()[0]
    season.ok("log", "interest-sent", "mercy", "--override", "asked to write")
    out = season("audit", "--format", "markdown", code=1).stdout
    assert out.startswith("# ")
    assert "interest.wait" in out


SECOND_INIT = (
    "init",
    "--id",
    "second-2027",
    "--match-year",
    "2027",
    "--specialty",
    "Pediatrics",
    "--timezone",
    "America/Chicago",
    "--visa",
    "h1b",
    "--name",
    "Second Applicant",
    "--at",
    "2026-09-20T09:00:00-05:00",
)
"""A second season in the same file (another applicant, specialty and zone)."""


def test_audit_all_json_prints_one_object_per_season(season: Script) -> None:
    season.ok(*SECOND_INIT)
    season.ok("--season", SEASON, "log", "interest-sent", "mercy", "--override", "asked to write")
    proc = season("audit", "--all", "--json", code=1)  # one season has a block
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert {d["season"] for d in docs} == {SEASON, "second-2027"}
    by_id = {d["season"]: d for d in docs}
    assert by_id[SEASON]["summary"]["block"] == 1
    assert by_id["second-2027"]["summary"] == {"block": 0, "warn": 0, "info": 0}
    for doc in docs:
        assert set(doc) == {"season", "findings", "summary"}
    # Worker processes give the same lines in the same order, and the same exit code.
    assert season("audit", "--all", "--json", "--jobs", "2", code=1).stdout == proc.stdout


# -- season selection -------------------------------------------------------------------


def test_season_selection_env_and_option(season: Script) -> None:
    season.ok(*SECOND_INIT)
    # Default: the most recent season.
    assert season.json("history", "--json")["season"] == "second-2027"
    # PREMATCH_SEASON picks one.
    picked = season.json("history", "--json", env={"PREMATCH_SEASON": SEASON})
    assert picked["season"] == SEASON
    assert len(picked["events"]) == len(SEASON_SETUP)
    assert season.json("now", "--json", env={"PREMATCH_SEASON": SEASON})["season"] == SEASON
    # --season too, and it wins over the environment.
    doc = season.json(
        "--season", "second-2027", "history", "--json", env={"PREMATCH_SEASON": SEASON}
    )
    assert doc["season"] == "second-2027"
    # Writes go to the selected season.
    season.ok("log", "thanked", "mercy", env={"PREMATCH_SEASON": SEASON})
    season("log", "thanked", "mercy", code=2)  # the other season has no program mercy
    proc = season("now", env={"PREMATCH_SEASON": "nope-2027"}, code=2)
    assert "nope-2027" in proc.stderr
    assert SEASON in proc.stderr  # lists the seasons there are


def test_a_write_in_a_store_of_several_seasons_names_its_season(season: Script) -> None:
    """A write without --season goes to the most recent season; its confirmation did not
    say which."""
    alone = season.ok("log", "note-added", "mercy", "--set", "text=hi").stdout
    assert alone.startswith("Recorded note_added for mercy (seq ") and alone.endswith(").\n")
    season.ok(*SECOND_INIT)
    added = season.ok("program", "add", "oak", "--name", "Oak").stdout
    assert added.startswith("Added oak (seq ") and added.endswith(" in second-2027).\n")
    ran = season.ok("--season", SEASON, "log", "note-added", "mercy", "--set", "text=hi")
    assert ran.stdout.startswith("Recorded note_added for mercy (seq ")
    assert ran.stdout.endswith(f" in {SEASON}).\n")
    news = season.ok("news", "exam", "Step 3 passed").stdout
    assert news.startswith("Recorded news: Step 3 passed (seq ")
    assert news.endswith(" in second-2027).\n")


# -- diagram / demo ---------------------------------------------------------------------


def test_diagram_prints_mermaid(cli: Script) -> None:
    out = cli.ok("diagram").stdout
    assert out.splitlines()[0].strip() == "stateDiagram-v2"
    assert "invited --> interviewed" in out
    assert not cli.db.exists()


def test_demo_prints_now_and_the_audit(cli: Script) -> None:
    proc = cli.ok("demo")
    assert "Audit of" in proc.stdout
    assert not cli.db.exists()  # the demo uses a temporary database


# -- errors: one clear line, exit 2, never a traceback ----------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("now",),
        ("now", "--json"),
        ("audit", "--all", "--json"),
        ("history",),
        ("verify",),
        ("export",),
        ("log", "applied", "mercy"),
        INIT_ARGS,
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_db_that_is_a_directory(cli: Script, tmp_path: Path, args: tuple[str, ...]) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    proc = cli("--db", str(folder), *args, code=2)
    assert_one_clear_line(proc, str(folder))
    assert list(folder.iterdir()) == []


def test_db_that_is_not_sqlite(cli: Script, tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("not a database\n")
    proc = cli("--db", str(junk), "now", code=2)
    assert_one_clear_line(proc, str(junk))
    assert junk.read_text() == "not a database\n"


def test_missing_db_asks_for_init(cli: Script) -> None:
    proc = cli("now", code=2)
    assert_one_clear_line(proc, "init")
    assert not cli.db.exists()


@pytest.mark.parametrize("value", ["garbage", "2027-02-30"], ids=["garbage", "no-such-day"])
def test_bad_prematch_now(season: Script, value: str) -> None:
    proc = season("now", env={"PREMATCH_NOW": value}, code=2)
    assert_one_clear_line(proc, "PREMATCH_NOW")


def test_bad_at_on_a_read_command(season: Script) -> None:
    proc = season("now", "--at", "someday", code=2)
    assert_one_clear_line(proc, "someday")


def test_bad_timezone_on_init(cli: Script) -> None:
    args = list(INIT_ARGS)
    args[args.index("America/New_York")] = "Mars/Olympus_Mons"
    proc = cli(*args, code=2)
    assert_one_clear_line(proc, "Mars/Olympus_Mons")


def test_second_init_of_the_same_season_is_refused(season: Script) -> None:
    proc = season(*INIT_ARGS, code=2)
    assert SEASON in proc.stderr


def test_usage_errors_exit_2(season: Script) -> None:
    season("frobnicate", code=2)
    season("check", "serenade", "mercy", code=2)
    season("retract", "4", code=2)  # --reason is required
    season("import", "no-such-file.jsonl", code=2)
