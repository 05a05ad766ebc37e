"""One real season, end to end through the CLI (issue 12): the story a user lives.

Asha Rao applies from Kolkata (Asia/Kolkata, +05:30) to the 2027 Internal Medicine Match.
She finds prematch on 12 January 2027, runs ``init`` and ``program add`` that evening,
then back-fills September to December in the order memory serves, typing times as the
programs gave them: Harbor and Bayview are in Los Angeles, Hudson in New York (Cedar,
Dune and Elm, remembered a week later, in either). Hudson
said "no contact after the interview" on interview day; a fifth letter of interest
had already gone out; a connection she recorded turns out to be wrong. After each
chapter she asks what a user would ask (``now``, ``check``, ``draft``, ``calendar``,
``history``, ``audit``), and the test checks what she would check.

The clock (``PREMATCH_NOW``) is pinned per step and moves forward with the story.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path
from typing import Any

import icalendar
from prematch_script import Ran, Script

KOLKATA, LA, NY = "Asia/Kolkata", "America/Los_Angeles", "America/New_York"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def seq_of(ran: Ran) -> int:
    """The seq a write command says it recorded."""
    return int(ran.stdout.split("(seq ")[1].split(")")[0])


def suggested(ran: Ran) -> list[str]:
    """The command a refusal shows to record the fact anyway, as arguments after ``prematch``."""
    words = shlex.split(ran.stderr.strip().splitlines()[-1])
    assert words[0] == "prematch", ran.shown()
    return words[1:]


def verdict(script: Script, action: str, program: str, at: str) -> dict[str, Any]:
    """``check ACTION PROGRAM --at AT --json`` (exit 0 or 3, as the verdict says)."""
    result = script.json("check", action, program, "--at", at, "--json", code=None)
    assert isinstance(result, dict)
    return result


def rules(findings: list[dict[str, Any]]) -> list[str]:
    return [f["rule"] for f in findings]


def instant(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def events(script: Script) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = script.json("history", "--json")["events"]
    return found


def audit_findings(script: Script) -> list[tuple[str, str, str | None, int, str | None]]:
    """Each audit finding as (rule, severity, program, seq, override)."""
    report = script.json("audit", "--json", code=None)
    return [
        (f["rule"], f["severity"], f["program"], f["seq"], f.get("override"))
        for f in report["findings"]
    ]


def letters_allowed(script: Script) -> set[str]:
    """The programs ``now --json`` says may get a letter of interest now."""
    actions = script.json("now", "--json")["actions"]
    return {
        a["program"] for a in actions if a["action"] == "interest" and a["verdict"] != "blocked"
    }


def interviewed_in_december(script: Script, program: str, day: int) -> None:
    """Back-fill the plain part of a program's fall: applied, invited, interviewed."""
    script.ok("log", "applied", program, "--at", "2026-09-27")
    script.ok(
        "log",
        "invited",
        program,
        "--at",
        "2026-11-05 09:00",
        "--interview-on",
        f"2026-12-{day:02d}",
    )
    script.ok("log", "interviewed", program, "--at", f"2026-12-{day:02d} 09:00")


def test_a_season_from_kolkata_back_filled_in_january(tmp_path: Path) -> None:
    # -- 12 January, evening in Kolkata: she starts, and adds the programs she knows ---------
    script = Script(tmp_path, now="2027-01-12T19:00:00+05:30")
    script.ok(
        "init",
        "--match-year",
        "2027",
        "--specialty",
        "Internal Medicine",
        "--timezone",
        KOLKATA,
        "--visa",
        "j1",
        "--name",
        "Asha Rao",
        "--aamc-id",
        "12345678",
        "--ecfmg-id",
        "0-123-456-7",
    )
    script.ok("program", "add", "harbor", "--name", "Harbor Internal Medicine", "--timezone", LA)
    script.ok("program", "add", "bayview", "--name", "Bayview IM", "--timezone", LA)
    script.ok("program", "add", "hudson", "--name", "Hudson IM", "--timezone", NY)

    # What now? Nothing recorded yet: an inquiry needs a connection, so nothing is actionable.
    assert [a for a in script.json("now", "--json")["actions"] if a["verdict"] != "blocked"] == []

    # -- the fall, back-filled in the order memory serves -----------------------------------
    # Hudson's December interview first, then Harbor's invitation before its application.
    invited = script.ok(
        "log", "invited", "hudson", "--at", "2026-11-02 09:00", "--interview-on", "2026-12-02"
    )
    assert "read 2026-11-02 09:00 as 09:00 America/New_York (-05:00)" in invited.stdout
    hudson_interview = script.ok("log", "interviewed", "hudson", "--at", "2026-12-02 10:00")
    assert "as 10:00 America/New_York (-05:00), the program's timezone" in hudson_interview.stdout

    invited = script.ok(
        "log", "invited", "harbor", "--at", "2026-10-20 08:00", "--interview-on", "2026-11-20"
    )
    assert "as 08:00 America/Los_Angeles (-07:00), the program's timezone" in invited.stdout
    applied = script.ok("log", "applied", "harbor", "--at", "2026-09-25")
    assert "read 2026-09-25 as during that day in Asia/Kolkata" in applied.stdout
    # 17:00 on 20 November in Los Angeles (standard time by then) is 06:30 on the 21st here.
    interview = script.ok("log", "interviewed", "harbor", "--at", "2026-11-20 17:00")
    assert "as 17:00 America/Los_Angeles (-08:00), the program's timezone" in interview.stdout
    # Her own thank-you is read where she is.
    thanks = script.ok("log", "thanked", "harbor", "--at", "2026-11-21 08:00")
    assert "as 08:00 Asia/Kolkata (+05:30), the season's timezone" in thanks.stdout

    script.ok("log", "applied", "hudson", "--at", "2026-09-26")
    script.ok("log", "applied", "bayview", "--at", "2026-09-26")
    # Typed on the wrong program (the observership was at Bayview): corrected below.
    typo = seq_of(
        script.ok(
            "log", "connection-recorded", "harbor", "--kind", "observership", "--at", "2026-09-28"
        )
    )
    script.ok(
        "log", "connection-recorded", "bayview", "--kind", "observership", "--at", "2026-09-28"
    )
    mentor = seq_of(
        script.ok(
            "log",
            "connection-recorded",
            "hudson",
            "--kind",
            "mentor",
            "--detail",
            "Dr. Iyer, Hudson faculty",
            "--at",
            "2026-09-28",
        )
    )
    inquiry = seq_of(script.ok("log", "inquiry-sent", "hudson", "--at", "2026-10-20 10:00"))

    # Bayview's e-mail came at 01:30 on 1 November, the night Los Angeles turns its clocks
    # back: that wall time happens twice, and she is shown both readings to choose from.
    twice = script(
        "log",
        "invited",
        "bayview",
        "--at",
        "2026-11-01 01:30",
        "--interview-on",
        "2026-12-08",
        code=2,
    )
    assert "happens twice in America/Los_Angeles" in twice.stderr
    assert "2026-11-01T01:30-07:00 is the first time" in twice.stderr
    script.ok(
        "log",
        "invited",
        "bayview",
        "--at",
        "2026-11-01T01:30-07:00",
        "--interview-on",
        "2026-12-08",
    )
    # 09:00 on 8 December in Los Angeles is 22:30 the same day in Kolkata.
    script.ok("log", "interviewed", "bayview", "--at", "2026-12-08 09:00")
    # A date alone: "during that day", so the thank-you follows that day's interview.
    dated = script.ok("log", "thanked", "bayview", "--at", "2026-12-08")
    assert "read 2026-12-08 as during that day in Asia/Kolkata" in dated.stdout
    hudson_thanks = seq_of(script.ok("log", "thanked", "hudson", "--at", "2026-12-03 08:00"))

    # Replay order is (phase, at, seq): the season and its programs, started and added this
    # evening, come first; the fall follows in the order it happened, not as typed.
    history = events(script)
    assert instant(history[0]["occurred_at"]) == dt.datetime(2027, 1, 12, 19, 0, tzinfo=IST)
    fall = [(e["type"], e["program"]) for e in history]
    assert fall == [
        ("season_started", None),
        ("program_added", "harbor"),
        ("program_added", "bayview"),
        ("program_added", "hudson"),
        ("applied", "harbor"),
        ("applied", "hudson"),
        ("applied", "bayview"),
        ("connection_recorded", "harbor"),
        ("connection_recorded", "bayview"),
        ("connection_recorded", "hudson"),
        # 10:00 in Kolkata on 20 October comes before 08:00 that day in Los Angeles.
        ("inquiry_sent", "hudson"),
        ("invited", "harbor"),
        ("invited", "bayview"),
        ("invited", "hudson"),
        ("interviewed", "harbor"),
        ("thanked", "harbor"),
        ("interviewed", "hudson"),
        ("thanked", "hudson"),
        ("interviewed", "bayview"),
        ("thanked", "bayview"),
    ]

    # What now? A letter of interest to each program she interviewed with, until the deadline
    # (3 March, 21:00 in New York: the morning of the 4th in Kolkata).
    assert letters_allowed(script) == {"bayview", "harbor", "hudson"}
    assert "letter of interest  may send  until Thu 04 Mar 07:30" in script.ok("now").stdout

    # -- Hudson asked for no contact after the interview, on interview day ------------------
    # Evening of 2 December in Kolkata is late morning in New York, after the interview.
    before = verdict(script, "thank_you", "hudson", "2026-12-02 23:00")
    # Internal medicine asks programs to say thank-you notes are not expected: advice only.
    assert before["verdict"] == "allowed"
    assert [(f["rule"], f["severity"]) for f in before["findings"]] == [
        ("program.thanks_discouraged", "info")
    ]
    # The thank-you she already recorded (3 December, 08:00 here) came after the request:
    # recording the request is refused, and the refusal shows the command that records it.
    refused = script(
        "program",
        "set",
        "hudson",
        "--no-post-interview-contact",
        "--at",
        "2026-12-02 22:00",
        code=3,
    )
    assert (
        f"existing event seq {hudson_thanks} (thanked) break program.no_contact" in refused.stderr
    )
    assert suggested(refused) == [
        "program",
        "set",
        "hudson",
        "--no-post-interview-contact",
        "--at",
        "2026-12-02 22:00",
        "--override",
        "already sent",
    ]
    request = script.ok(*suggested(refused))
    assert "as 22:00 Asia/Kolkata (+05:30), the season's timezone" in request.stdout
    after = verdict(script, "thank_you", "hudson", "2026-12-02 23:00")
    assert after["verdict"] == "blocked"
    assert rules(after["findings"]) == ["program.no_contact", "program.thanks_discouraged"]
    # Before the request the thank-you was fine, and still is, as of then.
    assert verdict(script, "thank_you", "hudson", "2026-12-02 21:00")["verdict"] == "allowed"
    # The audit flags the thank-you sent after the request, at the thank-you, with the reason.
    assert audit_findings(script) == [
        ("override.recorded", "info", "hudson", seq_of(request), "already sent"),
        ("program.no_contact", "block", "hudson", hudson_thanks, "already sent"),
    ]

    assert letters_allowed(script) == {"bayview", "harbor"}

    # -- wrong connections, corrected by retraction -----------------------------------------
    # Nothing relied on the one typed on Harbor: a plain retraction.
    script.ok("retract", str(typo), "--reason", "the observership was at Bayview")
    # Dr. Iyer had left Hudson before the season: the inquiry relied on that connection.
    refused = script("retract", str(mentor), "--reason", "Dr. Iyer had left Hudson", code=3)
    assert f"existing event seq {inquiry} (inquiry_sent) break inquiry.connection" in refused.stderr
    assert suggested(refused)[-2:] == ["--override", "already sent"]
    retraction = seq_of(script.ok(*suggested(refused)))
    retracted = {e["seq"] for e in events(script) if e["retracted"]}
    assert retracted == {typo, mentor}
    assert "inquiry.connection" in rules(
        verdict(script, "inquiry", "hudson", "2026-10-19")["findings"]
    )
    audit = audit_findings(script)
    assert ("inquiry.connection", "block", "hudson", inquiry, "already sent") in audit
    assert ("override.recorded", "info", "hudson", retraction, "already sent") in audit

    # -- 20 January: three more programs remembered, and letters of interest ----------------
    script.now = "2027-01-20T18:00:00+05:30"
    script.ok("program", "add", "cedar", "--name", "Cedar IM", "--timezone", NY)
    script.ok("program", "add", "dune", "--name", "Dune IM", "--timezone", LA)
    script.ok("program", "add", "elm", "--name", "Elm IM", "--timezone", NY)
    for program, day in (("cedar", 1), ("dune", 4), ("elm", 9)):
        interviewed_in_december(script, program, day)
    for n, program in enumerate(("harbor", "bayview", "cedar", "dune")):
        script.ok("log", "interest-sent", program, "--at", f"2027-01-1{n + 4} 10:00")
    # Four letters: the season's limit. Hudson's no-contact request would block one anyway.
    assert sorted(rules(verdict(script, "interest", "hudson", "2027-01-20")["findings"])) == [
        "interest.limit",
        "program.no_contact",
    ]
    # The fifth letter went out this afternoon: refused, with the command that records it.
    fifth = script("log", "interest-sent", "elm", code=3)
    assert "interest.limit" in fifth.stderr
    assert fifth.stderr.strip().endswith("prematch log interest-sent elm --override 'already sent'")
    recorded = script.ok(*suggested(fifth))
    assert "(overridden: already sent)" in recorded.stdout
    assert ("interest.limit", "block", "elm", seq_of(recorded), "already sent") in audit_findings(
        script
    )
    fifth_seq = seq_of(recorded)

    # -- what she asks on 20 January --------------------------------------------------------
    # Every letter is out and the limit reached: nothing is sendable this evening.
    now = script.json("now", "--json")
    assert instant(now["as_of"]) == dt.datetime(2027, 1, 20, 18, 0, tzinfo=IST)
    assert {a["verdict"] for a in now["actions"]} == {"blocked"}
    hudson = {a["action"]: rules(a["findings"]) for a in now["actions"] if a["program"] == "hudson"}
    assert hudson and all("program.no_contact" in found for found in hudson.values()), hudson
    text = script.ok("now").stdout
    assert text.startswith("Season asha-rao-2027 as of Wed 20 Jan 2027 18:00 IST")
    assert "Hudson IM" not in text  # nothing she may do there, ever
    assert "program.no_contact: Hudson IM asked for no contact" in script.ok("now", "--all").stdout
    refused = script("check", "interest", "elm", code=3)
    assert "interest.once" in refused.stdout

    # Drafts name the interview as the program's date: Harbor's was 20 November in Los
    # Angeles, though the 21st had begun in Kolkata.
    thanks_draft = script.ok("draft", "thank_you", "harbor", "--at", "2026-11-21 07:00").stdout
    assert "Thank you for the interview on November 20, 2026" in thanks_draft
    assert "November 21" not in thanks_draft
    interest_draft = script.ok("draft", "interest", "harbor", "--at", "2027-01-13").stdout
    assert "interviewed on November 20, 2026" in interest_draft
    # Hudson's draft: fine before its no-contact request that evening, refused after it.
    hudson_draft = script.ok("draft", "thank_you", "hudson", "--at", "2026-12-02 21:00").stdout
    assert "on December 2, 2026" in hudson_draft
    script("draft", "thank_you", "hudson", "--at", "2026-12-02 23:00", code=3)
    script("draft", "interest", "elm", code=3)

    # The calendar: entries in her zone, each naming the interview in the program's words.
    ics = tmp_path / "season.ics"
    script.ok("calendar", "--out", str(ics))
    entries = {
        str(e["UID"]).removeprefix("asha-rao-2027-").removesuffix("@prematch"): e
        for e in icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    }
    for program, due, day in (
        # Each thank-you went out, so its entry sits when it was sent (its window is gone).
        ("harbor", dt.datetime(2026, 11, 21, 8, 0, tzinfo=IST), "November 20, 2026"),
        ("hudson", dt.datetime(2026, 12, 3, 8, 0, tzinfo=IST), "December 2, 2026"),
        ("bayview", dt.datetime(2026, 12, 8, 22, 30, tzinfo=IST), "December 8, 2026"),
    ):
        entry = entries[f"{program}-thank_you"]
        start = entry["DTSTART"].dt
        assert (start.replace(microsecond=0), str(start.tzinfo)) == (due, KOLKATA)
        assert f"Interview on {day} (the program's date)." in str(entry["DESCRIPTION"])
    deadline = entries["rank_list_deadline"]["DTSTART"].dt
    assert (deadline, str(deadline.tzinfo)) == (dt.datetime(2027, 3, 4, 7, 30, tzinfo=IST), KOLKATA)

    # History: replay order, the retractions marked, the overrides kept where they were given.
    final = events(script)
    assert [e["seq"] for e in final if e["retracted"]] == [typo, mentor]
    overrides = {e["seq"]: e["override"] for e in final if e["override"]}
    assert overrides == {
        seq_of(request): "already sent",
        retraction: "already sent",
        fifth_seq: "already sent",
    }
    interviews = {
        e["program"]: instant(e["occurred_at"]) for e in final if e["type"] == "interviewed"
    }
    assert interviews["harbor"] == dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)
    assert interviews["hudson"] == dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)

    # The audit: every override at the event it affects; block findings, so exit 1.
    assert script("audit", "--json").returncode == 1
    assert audit_findings(script) == [
        ("inquiry.connection", "block", "hudson", inquiry, "already sent"),
        ("override.recorded", "info", "hudson", seq_of(request), "already sent"),
        ("program.no_contact", "block", "hudson", hudson_thanks, "already sent"),
        ("interest.limit", "block", "elm", fifth_seq, "already sent"),
        ("override.recorded", "info", "hudson", retraction, "already sent"),
    ]
