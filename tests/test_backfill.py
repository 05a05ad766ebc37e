"""A real season taken in as it happened (issue 12, items 1, 3, 4).

An applicant who finds prematch in January runs ``init`` and ``program add`` now, then
back-fills September to December in whatever order memory serves; every finding but
``state.invalid`` can be overridden on every path (``log``, ``import``, ``retract``), the
audit shows the override at the event it affects, and a refusal shows the exact command
that records a fact that already happened. The user's path runs through the CLI
(:class:`prematch_script.Script`); the property test drives the library.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path
from typing import Any

import pytest
from history import SCRATCH, History
from hypothesis import given
from hypothesis import strategies as st
from prematch_script import Script

from prematch.engine import PolicyRefusal, Store

START = "2027-01-15T09:00:00-05:00"
"""When the late starter runs init: January, with the fall still to back-fill."""

LATE_STARTER = History(season_id="s", name="Late Starter", started=START)
"""Her season as the library records it (the full rulebook, the clock after SOAP)."""

INIT_NOW = (
    "init",
    "--match-year",
    "2027",
    "--specialty",
    "Internal Medicine",
    "--timezone",
    "America/New_York",
    "--visa",
    "j1",
    "--name",
    "Late Starter",
)
"""``prematch init`` as a newcomer types it in January: no ``--at``, so it starts now."""

PROGRAMS = ("p1", "p2", "p3", "p4", "p5")


def newcomer(tmp_path: Path) -> Script:
    """``init`` and ``program add`` run today (15 January 2027), nothing back-filled yet."""
    script = Script(tmp_path)
    script.ok(*INIT_NOW)
    for pid in PROGRAMS:
        script.ok("program", "add", pid, "--name", f"Program {pid.upper()}")
    return script


def interviewed_in_the_fall(script: Script, *programs: str) -> None:
    """Back-fill applied (September), invited (October) and interviewed (November)."""
    for n, pid in enumerate(programs):
        script.ok("log", "applied", pid, "--at", f"2026-09-25T10:0{n}:00-04:00")
        script.ok("log", "invited", pid, "--at", f"2026-10-0{n + 1}T10:00:00-04:00")
        script.ok("log", "interviewed", pid, "--at", f"2026-11-1{n}T09:00:00-05:00")


def suggested(ran: Any) -> list[str]:
    """The command a refusal shows to record the fact anyway, as arguments after ``prematch``."""
    line = ran.stderr.strip().splitlines()[-1].strip()
    words = shlex.split(line)
    assert words[0] == "prematch", ran.shown()
    return words[1:]


def audit_at(script: Script, seq: int) -> list[dict[str, Any]]:
    """The audit's findings at one event seq."""
    report = script.json("audit", "--json", code=None)
    return [f for f in report["findings"] if f["seq"] == seq]


def seq_of(ran: Any) -> int:
    """The seq a write command says it recorded."""
    return int(ran.stdout.split("(seq ")[1].split(")")[0])


# -- 1. starting mid-season ------------------------------------------------------------------


def test_a_newcomer_back_fills_the_fall_after_init_and_program_add_ran_today(tmp_path):
    script = newcomer(tmp_path)
    # The fall in the order memory serves: p2's interview before p1's application.
    script.ok("log", "applied", "p2", "--at", "2026-09-26T10:00:00-04:00")
    script.ok("log", "invited", "p2", "--at", "2026-10-03T10:00:00-04:00")
    script.ok("log", "interviewed", "p2", "--at", "2026-11-12T09:00:00-05:00")
    script.ok("log", "applied", "p1", "--at", "2026-09-25T10:00:00-04:00")

    history = script.json("history", "--json")["events"]
    assert [(e["type"], e["program"]) for e in history] == [
        ("season_started", None),
        *(("program_added", pid) for pid in PROGRAMS),
        ("applied", "p1"),
        ("applied", "p2"),
        ("invited", "p2"),
        ("interviewed", "p2"),
    ]
    # As of an instant before init and program add ran, the season and programs exist.
    statuses = {
        a["program"]: a for a in script.json("now", "--json", "--at", "2026-10-01")["actions"]
    }
    assert "p1" in statuses and "p2" in statuses
    assert script.json("check", "thank_you", "p2", "--json", "--at", "2026-11-12T12:00:00-05:00")[
        "verdict"
    ] in ("allowed", "warn")
    assert script.ok("history", "--at", "2026-10-01").stdout.count("program_added") == 5


# -- 3 and 4: overrides on every path, and "I already sent it" -------------------------------


def test_a_fifth_letter_already_sent_is_refused_with_the_command_that_records_it(tmp_path):
    script = newcomer(tmp_path)
    interviewed_in_the_fall(script, *PROGRAMS)
    for n, pid in enumerate(PROGRAMS[:4]):
        script.ok("log", "interest-sent", pid, "--at", f"2027-01-0{n + 3}T10:00:00-05:00")

    refused = script("log", "interest-sent", "p5", code=3)
    assert "interest.limit" in refused.stderr
    assert refused.stderr.strip().endswith(
        "prematch log interest-sent p5 --override 'already sent'"
    )

    recorded = script.ok(*suggested(refused))
    assert "interest.limit" in recorded.stdout
    assert "(overridden: already sent)" in recorded.stdout
    (limit,) = [f for f in audit_at(script, seq_of(recorded)) if f["rule"] == "interest.limit"]
    assert limit["override"] == "already sent"


def test_the_suggested_command_keeps_what_was_typed_quoted_for_the_shell(tmp_path):
    script = newcomer(tmp_path)
    interviewed_in_the_fall(script, "p1")
    script.ok("log", "thanked", "p1", "--at", "2026-11-10T18:00:00-05:00")

    refused = script(
        "--season", "late-starter-2027", "log", "thanked", "p1", "--recipient", "Dr. O'Neil", code=3
    )
    assert suggested(refused) == [
        "--season",
        "late-starter-2027",
        "log",
        "thanked",
        "p1",
        "--recipient",
        "Dr. O'Neil",
        "--override",
        "already sent",
    ]


def test_a_refusal_by_the_state_machine_offers_no_override(tmp_path):
    script = newcomer(tmp_path)
    refused = script("log", "thanked", "p1", code=3)
    assert "--override" not in refused.stderr


def test_a_back_filled_second_intent_with_override_is_recorded_and_audited_at_the_first(
    tmp_path,
):
    script = newcomer(tmp_path)
    interviewed_in_the_fall(script, "p1", "p2")
    later = seq_of(script.ok("log", "intent-sent", "p1", "--at", "2027-01-10T10:00:00-05:00"))

    # It turns out an intent went to p2 on 5 January: back-filled, it makes p1's the second.
    refused = script("log", "intent-sent", "p2", "--at", "2027-01-05T10:00:00-05:00", code=3)
    assert f"existing event seq {later}" in refused.stderr
    assert "intent.single" in refused.stderr
    assert suggested(refused)[-2:] == ["--override", "already sent"]

    recorded = script.ok(*suggested(refused))
    earlier = seq_of(recorded)
    assert f"existing event seq {later}" in recorded.stdout
    assert "(overridden: already sent)" in recorded.stdout

    (single,) = [f for f in audit_at(script, later) if f["rule"] == "intent.single"]
    assert single["severity"] == "block"
    assert single["override"] == "already sent"
    assert f"override on seq {earlier}" in single["message"]
    (note,) = audit_at(script, earlier)
    assert note["rule"] == "override.recorded"
    assert f"seq {later} break intent.single" in note["message"]


def test_a_back_filled_second_thank_you_with_override(tmp_path):
    script = newcomer(tmp_path)
    interviewed_in_the_fall(script, "p1")
    later = seq_of(script.ok("log", "thanked", "p1", "--at", "2026-11-11T08:00:00-05:00"))
    earlier = seq_of(
        script.ok(
            "log", "thanked", "p1", "--at", "2026-11-10T18:00:00-05:00", "--override", "two notes"
        )
    )
    once = [f for f in audit_at(script, later) if f["rule"] == "thanks.once"]
    assert [(f["severity"], f["override"]) for f in once] == [("block", "two notes")]
    assert f"seq {earlier}" in once[0]["message"]


def test_import_back_fills_a_second_intent_with_an_override_key_or_allow_violations(tmp_path):
    script = newcomer(tmp_path)
    interviewed_in_the_fall(script, "p1", "p2")
    later = seq_of(script.ok("log", "intent-sent", "p1", "--at", "2027-01-10T10:00:00-05:00"))
    line = {"type": "intent_sent", "program": "p2", "at": "2027-01-05T10:00:00-05:00"}
    (tmp_path / "plain.jsonl").write_text(json.dumps(line) + "\n")
    (tmp_path / "keyed.jsonl").write_text(json.dumps({**line, "override": "sent then"}) + "\n")

    refused = script("import", "plain.jsonl", code=3)
    assert "intent.single" in refused.stderr
    assert suggested(refused) == ["import", "plain.jsonl", "--allow-violations"]

    copy = Script(tmp_path / "copy", db=tmp_path / "copy.db")
    (tmp_path / "copy").mkdir()
    copy.copy_of(script.db)
    copy.ok("import", str(tmp_path / "keyed.jsonl"))
    (keyed,) = [f for f in audit_at(copy, later) if f["rule"] == "intent.single"]
    assert keyed["override"] == "sent then"

    script.ok(*suggested(refused))
    (imported,) = [f for f in audit_at(script, later) if f["rule"] == "intent.single"]
    assert imported["override"] == "imported"


def test_a_retraction_that_reveals_a_violation_needs_and_takes_an_override(tmp_path):
    script = newcomer(tmp_path)
    script.ok("log", "applied", "p1", "--at", "2026-09-25T10:00:00-04:00")
    wrong = seq_of(
        script.ok(
            "log",
            "connection-recorded",
            "p1",
            "--kind",
            "mentor",
            "--at",
            "2026-09-26T10:00:00-04:00",
        )
    )
    inquiry = seq_of(script.ok("log", "inquiry-sent", "p1", "--at", "2026-10-20T10:00:00-04:00"))

    refused = script("retract", str(wrong), "--reason", "no such mentor", code=3)
    assert "inquiry.connection" in refused.stderr
    assert suggested(refused) == [
        "retract",
        str(wrong),
        "--reason",
        "no such mentor",
        "--override",
        "already sent",
    ]

    retraction = seq_of(script.ok(*suggested(refused)))
    (found,) = [f for f in audit_at(script, inquiry) if f["rule"] == "inquiry.connection"]
    assert found["override"] == "already sent"
    assert f"seq {retraction}" in found["message"]
    notes = [f["message"] for f in audit_at(script, retraction)]
    assert notes == [
        "event_retracted was recorded with an override (already sent); it makes the "
        f"earlier-recorded seq {inquiry} break inquiry.connection"
    ]


def test_log_prints_the_warnings_it_recorded(tmp_path):
    script = newcomer(tmp_path)
    interviewed_in_the_fall(script, "p1")
    late = script.ok("log", "thanked", "p1", "--at", "2026-11-13T10:00:00-05:00")
    assert late.stdout.splitlines()[1].startswith("  warn   thanks.window: late:")


def test_season_retract_takes_an_override_for_the_violation_it_reveals(store):
    season = LATE_STARTER.season(store)
    season.add_program("p1", "Program P1", at=START)
    season.record("applied", "p1", at="2026-09-25T10:00:00-04:00")
    wrong = season.record("connection_recorded", "p1", at="2026-09-26", kind="mentor")
    inquiry = season.record("inquiry_sent", "p1", at="2026-10-20T10:00:00-04:00")
    written = len(season.records())

    with pytest.raises(PolicyRefusal, match=f"existing event seq {inquiry.record.seq}"):
        season.retract(wrong.record.seq, "no such mentor")
    assert len(season.records()) == written

    done = season.retract(wrong.record.seq, "no such mentor", override="the inquiry was sent")
    assert done.record.override == "the inquiry was sent"
    assert [f.rule for f in done.findings] == ["inquiry.connection"]


# -- the property: back-filling in any order gives the same season ---------------------------


BACKFILL: list[tuple[str, str | None, str, dict[str, Any]]] = [
    ("applied", "p1", "2026-09-25T10:00:00-04:00", {"via": "eras"}),
    ("applied", "p2", "2026-09-25T11:00:00-04:00", {}),
    ("applied", "p3", "2026-09-26T10:00:00-04:00", {}),
    ("connection_recorded", "p3", "2026-09-27T10:00:00-04:00", {"kind": "research"}),
    ("invited", "p1", "2026-10-02T10:00:00-04:00", {"interview_on": "2026-11-10"}),
    ("inquiry_sent", "p3", "2026-10-20T10:00:00-04:00", {}),
    ("invited", "p2", "2026-10-05T10:00:00-04:00", {}),
    ("news_recorded", None, "2026-10-30T10:00:00-04:00", {"kind": "exam", "detail": "Step 3"}),
    ("interviewed", "p1", "2026-11-10T09:00:00-05:00", {}),
    ("thanked", "p1", "2026-11-10T18:00:00-05:00", {}),
    ("interviewed", "p2", "2026-11-17T09:00:00-05:00", {}),
    ("thanked", "p2", "2026-11-21T09:00:00-05:00", {}),  # late: a warning
    ("thanked", "p2", "2026-12-20T09:00:00-05:00", {"override": "they wrote back"}),
    ("update_sent", "p1", "2026-12-01T10:00:00-05:00", {}),
    ("rejected", "p3", "2026-12-05T10:00:00-05:00", {}),
    ("interest_sent", "p2", "2027-01-05T10:00:00-05:00", {}),
    ("intent_sent", "p1", "2027-01-08T10:00:00-05:00", {}),
]
"""A valid season's fall, to record after ``init`` and ``program add`` ran in January."""


def _after(n: int) -> set[int]:
    """What event ``n`` needs recorded first: the program's earlier events (its state
    machine), and for an update the news it tells."""
    kind, program, at, _ = BACKFILL[n]
    needs = {m for m, (_, p, when, _) in enumerate(BACKFILL) if p == program and when < at}
    if kind == "update_sent":
        needs |= {m for m, e in enumerate(BACKFILL) if e[0] == "news_recorded"}
    return needs


@st.composite
def backfill_orders(draw: st.DrawFn) -> list[int]:
    """A shuffled order of :data:`BACKFILL` in which each event comes after what it needs."""
    done: list[int] = []
    while len(done) < len(BACKFILL):
        ready = [n for n in range(len(BACKFILL)) if n not in done and _after(n) <= set(done)]
        done.append(draw(st.sampled_from(ready)))
    return done


def _season_as_backfilled(order: list[int]) -> tuple[list[Any], list[Any]]:
    with (
        tempfile.TemporaryDirectory(dir=SCRATCH) as folder,
        Store.open(Path(folder) / "s.db") as store,
    ):
        season = LATE_STARTER.season(store)
        for pid in ("p1", "p2", "p3"):
            season.add_program(pid, f"Program {pid}", at=START)
        for n in order:
            kind, program, at, fields = BACKFILL[n]
            season.record(kind, program, at=at, **fields)
        history = [h.to_json() for h in season.history()]
        where = {e["seq"]: (e["type"], e["program"], e["occurred_at"]) for e in history}
        for e in history:
            if "news_seq" in e["payload"]:
                e["payload"] = {**e["payload"], "news_seq": where[e["payload"]["news_seq"]]}
            del e["seq"], e["recorded_at"]
        findings = [{**f.to_json(), "seq": where[f.seq]} for f in season.audit().findings]
        return history, findings


IN_ORDER = sorted(range(len(BACKFILL)), key=lambda n: BACKFILL[n][2])


@given(backfill_orders())
def test_back_filling_in_any_order_gives_the_same_history_and_audit(order):
    assert _season_as_backfilled(order) == _season_as_backfilled(IN_ORDER)
