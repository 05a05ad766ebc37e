"""Facts that change, the invitation's life, notes (issue 12 items 2, 7 and 8; DESIGN §2-§3).

Seasons in the library (judged by the full rulebook, clock pinned after SOAP) and, at the end,
the same stories through the command line (:class:`prematch_script.Script`).
"""

from __future__ import annotations

import json

import pytest
from history import History, finding, local, rules
from prematch_script import Script

from prematch import policies
from prematch.engine import (
    InputError,
    Season,
    Store,
    StructuralError,
    event_json_schema,
    fixed_clock,
)
from prematch.engine.io import import_lines

INTERVIEW = "2026-11-12T09:00"
"""Interview day at the program (New York time)."""


INTERVIEW_DAY = (
    History()
    .interviewed("mercy", local(INTERVIEW))
    .invited("oak")
    .event(
        "interview_rescheduled",
        "oak",
        local("2026-10-02T10:00"),
        interview_on="2027-01-20",
        initiated_by="program",
    )
)
"""One interview (mercy, 12 November 09:00 New York) and one program still invited (oak,
interview moved to 20 January)."""


def interview_day(store: Store) -> Season:
    """:data:`INTERVIEW_DAY`, recorded in ``store``."""
    return INTERVIEW_DAY.season(store)


# -- program_updated: a fact learned later, true from its instant -------------------------


def test_a_no_contact_request_made_on_interview_day_blocks_only_what_follows_it(store):
    season = interview_day(store)
    season.record(
        "program_updated", "mercy", at=local("2026-11-12T15:00"), no_post_interview_contact=True
    )
    before = season.check("thank_you", "mercy", at=local("2026-11-12T12:00"))
    after = season.check("thank_you", "mercy", at=local("2026-11-12T18:00"))
    assert before.outcome == "allowed"
    assert after.outcome == "blocked"
    assert rules(after, "block") == {"program.no_contact"}
    assert "asked for no contact" in finding(after, "program.no_contact").message


def test_a_thank_you_sent_before_the_request_stays_clean_in_the_audit(store):
    season = interview_day(store)
    season.record("thanked", "mercy", at=local("2026-11-12T12:00"))
    season.record(
        "program_updated", "mercy", at=local("2026-11-12T15:00"), no_post_interview_contact=True
    )
    assert not [f for f in season.audit().findings if f.rule == "program.no_contact"]
    assert season.check("interest", "mercy", at=local("2027-01-05T10:00")).outcome == "blocked"


def test_contact_allowed_again_lifts_the_block_from_then_on(store):
    season = interview_day(store)
    season.record(
        "program_updated", "mercy", at=local("2026-11-12T15:00"), no_post_interview_contact=True
    )
    season.record(
        "program_updated", "mercy", at=local("2026-11-13T09:00"), no_post_interview_contact=False
    )
    assert season.check("thank_you", "mercy", at=local("2026-11-12T18:00")).outcome == "blocked"
    assert season.check("thank_you", "mercy", at=local("2026-11-13T10:00")).outcome != "blocked"


def test_each_fact_replaces_the_old_one_and_the_rest_stay(store):
    season = History().invited("mercy", sponsors_visas=["j1"], specialty="Pediatrics").season(store)
    season.record(
        "program_updated",
        "mercy",
        at=local("2026-10-05T10:00"),
        name="Mercy General Internal Medicine",
        sponsors_visas=["h1b"],
        nrmp_participating=False,
        timezone="America/Los_Angeles",
        code="1234140C0",
        contacts=["coordinator@mercy.example"],
    )
    program = season.state().programs["mercy"]
    assert program.name == "Mercy General Internal Medicine"
    assert program.sponsors_visas == ("h1b",)
    assert program.nrmp_participating is False
    assert program.timezone == "America/Los_Angeles"
    assert program.specialty == "Pediatrics"  # not named in the update: kept
    assert season.state(at=local("2026-10-05T09:00")).programs["mercy"].sponsors_visas == ("j1",)


def test_the_rules_read_the_facts_as_of_the_instant_they_judge(store):
    season = History().season(store)  # a J-1 applicant
    season.record("program_added", "mercy", at=local("2026-09-21T10:00"), name="Mercy IM")
    season.record("program_updated", "mercy", at=local("2026-09-22T10:00"), sponsors_visas=["h1b"])
    applied = season.record("applied", "mercy", at=local("2026-09-24T10:00"))
    assert rules(applied) == {"visa.mismatch"}
    season.record(
        "program_updated", "mercy", at=local("2026-10-01T10:00"), nrmp_participating=False
    )
    offer = season.record(
        "offer_received", "mercy", at=local("2026-10-02T10:00"), kind="pre_match_contract"
    )
    assert "nrmp.all_in" not in rules(offer)  # no longer in the Match: All In does not apply


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({}, "payload", "name at least one fact"),
        ({"timezone": "Pacific/Nowhere"}, "timezone", "unknown IANA timezone"),
        ({"code": "1234-140"}, "code", "not an NRMP program code"),
        ({"no_contact": True}, "no_contact", "unknown field"),
    ],
)
def test_an_update_that_says_nothing_usable_is_an_input_error(store, fields, field, says):
    season = History().invited("mercy").season(store)
    with pytest.raises(InputError) as caught:
        season.record("program_updated", "mercy", at=local("2026-10-05T10:00"), **fields)
    assert says in str(caught.value)
    assert caught.value.field is not None and caught.value.field.endswith(field)
    assert len(season.records()) == 3  # started, added, invited: nothing written


def test_a_program_fact_can_change_in_every_state(store):
    season = History().invited("mercy").season(store)
    season.record("withdrawn", "mercy", at=local("2026-10-03T10:00"))
    season.record("program_updated", "mercy", at=local("2026-10-04T10:00"), code="1234140C0")
    assert season.state().programs["mercy"].state == "withdrawn"


def test_program_added_keeps_its_nrmp_code(store):
    season = History().season(store)
    season.record(
        "program_added", "mercy", at=local("2026-09-21T10:00"), name="M", code="1234140P0"
    )
    assert season.records()[-1].payload["code"] == "1234140P0"


# -- the invitation's life ----------------------------------------------------------------


def test_a_waitlisted_program_may_still_invite_and_be_asked_about_the_status(store):
    season = History().season(store)
    season.record("program_added", "mercy", at=local("2026-09-21T10:00"), name="Mercy IM")
    season.record("applied", "mercy", at=local("2026-09-24T10:00"))
    season.record("connection_recorded", "mercy", at=local("2026-09-25T10:00"), kind="research")
    season.record("waitlisted", "mercy", at=local("2026-10-20T10:00"))
    assert season.state().programs["mercy"].state == "waitlisted"
    inquiry = season.check("inquiry", "mercy", at=local("2026-10-25T10:00"))
    assert "state.invalid" not in rules(inquiry)
    season.record("inquiry_sent", "mercy", at=local("2026-10-25T10:00"))
    season.record("invited", "mercy", at=local("2026-11-01T10:00"), interview_on="2026-12-01")
    assert season.state().programs["mercy"].state == "invited"


def test_a_waitlisted_program_has_not_interviewed_you(store):
    season = History().season(store)
    season.record("program_added", "mercy", at=local("2026-09-21T10:00"), name="Mercy IM")
    season.record("applied", "mercy", at=local("2026-09-24T10:00"))
    season.record("waitlisted", "mercy", at=local("2026-10-20T10:00"))
    with pytest.raises(StructuralError, match="'waitlisted': 'thanked' is not possible"):
        season.record("thanked", "mercy", at=local("2026-10-21T10:00"))
    season.record("rejected", "mercy", at=local("2026-12-20T10:00"))
    assert season.state().programs["mercy"].state == "rejected"


def test_a_rescheduled_interview_moves_its_date(store):
    season = interview_day(store)
    assert season.state().programs["oak"].interview_on.isoformat() == "2027-01-20"
    assert season.state(at=local("2026-10-01T12:00")).programs["oak"].interview_on is None
    with pytest.raises(StructuralError, match="'interviewed': 'interview_rescheduled'"):
        season.record(
            "interview_rescheduled",
            "mercy",
            at=local("2026-11-13T10:00"),
            interview_on="2026-11-20",
            initiated_by="applicant",
        )


def test_a_cancelled_interview_ends_with_whoever_cancelled_it(store):
    season = INTERVIEW_DAY.invited("pine").season(store)
    season.record(
        "interview_cancelled", "oak", at=local("2026-12-01T10:00"), initiated_by="program"
    )
    season.record(
        "interview_cancelled", "pine", at=local("2026-12-02T10:00"), initiated_by="applicant"
    )
    oak, pine = (season.state().programs[p] for p in ("oak", "pine"))
    assert (oak.state, oak.interview_on, oak.invited_at) == ("applied", None, None)
    assert (pine.state, pine.ended_at) == ("declined", local("2026-12-02T10:00"))


def test_a_program_that_cancelled_may_invite_again(store):
    season = interview_day(store)
    season.record(
        "interview_cancelled", "oak", at=local("2026-12-01T10:00"), initiated_by="program"
    )
    season.record("invited", "oak", at=local("2026-12-05T10:00"), interview_on="2027-01-25")
    assert season.state().programs["oak"].interview_on.isoformat() == "2027-01-25"


# -- intent.after_interviews: only interviews really to come ------------------------------


def test_an_interview_still_to_come_is_counted_once_and_named(store):
    season = interview_day(store)
    verdict = season.check("intent", "mercy", at=local("2027-01-05T10:00"))
    message = finding(verdict, "intent.after_interviews").message
    assert message.startswith("1 interview still to come (oak)")


@pytest.mark.parametrize("initiated_by", ["applicant", "program"])
def test_a_cancelled_interview_is_not_still_to_come(store, initiated_by):
    season = interview_day(store)
    season.record(
        "interview_cancelled", "oak", at=local("2026-12-01T10:00"), initiated_by=initiated_by
    )
    verdict = season.check("intent", "mercy", at=local("2027-01-05T10:00"))
    assert "intent.after_interviews" not in rules(verdict)


def test_an_interview_date_past_with_nothing_recorded_asks_for_the_record(store):
    season = interview_day(store)
    verdict = season.check("intent", "mercy", at=local("2027-01-21T10:00"))
    (found,) = [f for f in verdict.findings if f.rule == "intent.after_interviews"]
    assert "oak on 2027-01-20" in found.message
    assert "interview-cancelled" in found.message
    assert "still to come" not in found.message.split(":")[0]


# -- notes, offers ----------------------------------------------------------------------------


def test_notes_are_kept_and_never_judged(store):
    season = interview_day(store)
    season.record("thanked", "mercy", at=local("2026-11-12T12:00"))
    for day in range(13, 20):  # a note a day: no message, so no spam rule counts them
        season.record("note_added", "mercy", at=local(f"2026-11-{day}T10:00"), text=f"day {day}")
    note = season.record("note_added", at=local("2026-11-20T10:00"), text="Step 3 booked\n\tMarch")
    assert note.findings == () and note.record.program is None
    assert note.record.payload == {"text": "Step 3 booked\n\tMarch"}
    mercy = season.state().programs["mercy"]
    assert [m.action for m in mercy.messages] == ["thank_you"]
    assert season.check("interest", "mercy", at=local("2027-01-05T10:00")).outcome == "allowed"


def test_an_offer_keeps_its_terms(store):
    season = interview_day(store)
    done = season.record(
        "offer_received",
        "oak",
        at=local("2026-12-01T10:00"),
        kind="soap_offer",
        detail="PGY-1, answer by Friday",
    )
    assert done.record.payload["detail"] == "PGY-1, answer by Friday"


# -- the contract: import and schema ----------------------------------------------------------


def test_import_accepts_every_new_event_and_the_schema_describes_them(store):
    lines = [
        {
            "type": "season_started",
            "season": "s",
            "at": "2026-09-20T10:00:00-04:00",
            "match_year": 2027,
            "specialty": "Internal Medicine",
            "timezone": "America/New_York",
            "visa": "j1",
            "applicant_name": "Test",
        },
        {
            "type": "program_added",
            "program": "p",
            "at": "2026-09-21",
            "name": "P",
            "code": "1234140C0",
        },
        {"type": "program_added", "program": "q", "at": "2026-09-21", "name": "Q"},
        {"type": "applied", "program": "p", "at": "2026-09-24"},
        {"type": "applied", "program": "q", "at": "2026-09-24"},
        {"type": "waitlisted", "program": "q", "at": "2026-10-20"},
        {"type": "invited", "program": "p", "at": "2026-10-01", "interview_on": "2026-11-10"},
        {
            "type": "interview_rescheduled",
            "program": "p",
            "at": "2026-10-05",
            "interview_on": "2026-11-12",
            "initiated_by": "program",
        },
        {
            "type": "program_updated",
            "program": "p",
            "at": "2026-10-06",
            "timezone": "America/Chicago",
        },
        {
            "type": "interview_cancelled",
            "program": "p",
            "at": "2026-10-07",
            "initiated_by": "applicant",
        },
        {"type": "note_added", "at": "2026-10-08", "text": "a season note"},
        {"type": "note_added", "program": "q", "at": "2026-10-08", "text": "PD is kind"},
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    result = import_lines(
        store,
        text.splitlines(),
        rulebook=policies.Rulebook(),
        clock=fixed_clock(local("2027-01-05T10:00")),
    )
    assert result.events == len(lines)
    state = Season.open(store, "s", rulebook=policies.Rulebook()).state(local("2027-01-05T10:00"))
    assert {p: s.state for p, s in state.programs.items()} == {"p": "declined", "q": "waitlisted"}
    mapping = event_json_schema()["discriminator"]["mapping"]
    for kind in (
        "program_updated",
        "waitlisted",
        "interview_rescheduled",
        "interview_cancelled",
        "note_added",
    ):
        assert kind in mapping


# -- the command line -------------------------------------------------------------------------

SETUP = (
    *History().added_and_applied("mercy", "oak").argv(),
    (
        "log",
        "invited",
        "mercy",
        "--interview-on",
        "2026-11-12",
        "--at",
        "2026-10-01T10:00:00-04:00",
    ),
    ("log", "interviewed", "mercy", "--at", "2026-11-12T09:00:00-05:00"),
)


def test_program_set_on_interview_day_blocks_the_thank_you_after_it(tmp_path):
    script = Script(tmp_path)
    script.setup(SETUP)
    out = script.ok(
        "program",
        "set",
        "mercy",
        "--no-post-interview-contact",
        "--at",
        "2026-11-12T15:00:00-05:00",
    )
    assert "Recorded program_updated for mercy" in out.stdout
    blocked = script("check", "thank_you", "mercy", "--at", "2026-11-12T18:00:00-05:00", code=3)
    assert "program.no_contact" in blocked.stdout + blocked.stderr
    script.ok("check", "thank_you", "mercy", "--at", "2026-11-12T12:00:00-05:00")


def test_program_set_without_a_fact_is_a_usage_error(tmp_path):
    script = Script(tmp_path)
    script.setup(SETUP)
    refused = script("program", "set", "mercy", code=2)
    assert "nothing to change" in refused.stderr
    bad = script("program", "set", "mercy", "--timezone", "Mars/Olympus", code=2)
    assert "unknown IANA timezone 'Mars/Olympus'" in bad.stderr


def test_program_facts_and_codes_show_in_history(tmp_path):
    script = Script(tmp_path)
    script.setup(SETUP)
    script.ok(
        "program",
        "add",
        "pine",
        "--name",
        "Pine Ridge IM",
        "--code",
        "1234140C0",
        "--at",
        "2026-09-21T11:00:00-04:00",
    )
    script.ok(
        "program",
        "set",
        "oak",
        "--no-nrmp",
        "--sponsors",
        "j1,h1b",
        "--contact",
        "pd@oak",
        "--timezone",
        "America/Chicago",
        "--at",
        "2026-10-02T10:00:00-04:00",
    )
    events = script.json("history", "--json")["events"]
    (pine,) = [e for e in events if e["type"] == "program_added" and e["program"] == "pine"]
    (update,) = [e for e in events if e["type"] == "program_updated"]
    assert pine["payload"]["code"] == "1234140C0"
    assert update["payload"] == {
        "nrmp_participating": False,
        "sponsors_visas": ["j1", "h1b"],
        "contacts": ["pd@oak"],
        "timezone": "America/Chicago",
    }


def test_the_invitations_life_and_notes_through_log(tmp_path):
    script = Script(tmp_path)
    script.setup(SETUP)
    script.ok("log", "waitlisted", "oak", "--at", "2026-10-10T10:00:00-04:00")
    script.ok("log", "invited", "oak", "--interview-on", "2026-12-01", "--at", "2026-10-20")
    script.ok(
        "log",
        "interview-rescheduled",
        "oak",
        "--interview-on",
        "2026-12-08",
        "--initiated-by",
        "applicant",
        "--at",
        "2026-10-25",
    )
    script.ok(
        "log", "interview-cancelled", "oak", "--initiated-by", "program", "--at", "2026-11-01"
    )
    script.ok("log", "note-added", "oak", "--text", "Coordinator: program  closed  interviews")
    script.ok("log", "note-added", "--text", "Ask Dr. Rao for a letter", "--at", "2026-11-02")
    script.ok(
        "log",
        "offer-received",
        "oak",
        "--kind",
        "soap_offer",
        "--detail",
        "PGY-1 prelim; answer in 2 hours",
        "--at",
        "2026-11-03",
    )
    history = script.ok("history").stdout
    assert "Coordinator: program  closed  interviews" in history  # as typed, not "text=..."
    assert "Ask Dr. Rao for a letter" in history
    events = script.json("history", "--json")["events"]
    types = [e["type"] for e in events if e["program"] == "oak"]
    assert types[-6:] == [
        "waitlisted",
        "invited",
        "interview_rescheduled",
        "interview_cancelled",
        "offer_received",
        "note_added",
    ]
    now = script.json("now", "--json")
    assert not [a for a in now["actions"] if a["program"] == "oak" and a["action"] == "thank_you"]


def test_note_on_log_belongs_to_the_inquiry_and_says_what_to_use_otherwise(tmp_path):
    script = Script(tmp_path)
    script.setup(SETUP)
    refused = script("log", "thanked", "mercy", "--note", "sent by email", code=2)
    assert "prematch log note-added mercy --text TEXT" in refused.stderr
    assert len(script.json("history", "--json")["events"]) == len(SETUP)


def test_text_that_looks_like_markup_is_shown_as_typed(tmp_path):
    script = Script(tmp_path)
    script.setup(SETUP)
    script.ok("log", "note-added", "mercy", "--text", "PD: [bold]call[/bold] me [/x]")
    script.ok("log", "thanked", "mercy", "--at", "2026-11-12T12:00:00-05:00")
    script.ok(
        "log",
        "thanked",
        "mercy",
        "--at",
        "2026-11-12T13:00:00-05:00",
        "--override",
        "sent twice [/y]",
    )
    assert "PD: [bold]call[/bold] me [/x]" in script.ok("history").stdout
    assert "sent twice [/y]" in script("audit").stdout


# -- signals and advocates -------------------------------------------------------------------


def test_a_signal_goes_with_the_application_and_an_advocate_may_call_any_time(tmp_path):
    script = Script(tmp_path)
    script.setup(History().added_and_applied("mercy", "oak").argv())
    script.ok("log", "signal-sent", "mercy", "--tier", "gold", "--at", "2026-09-25T11:00:00-04:00")
    script.ok(
        "log", "invited", "oak", "--interview-on", "2026-11-12", "--at", "2026-10-01T10:00:00-04:00"
    )
    late = script("log", "signal-sent", "oak", "--tier", "silver", "--at", "2026-10-02")
    assert late.returncode == 3
    assert "'invited': 'signal_sent' is not possible" in late.stderr
    script.ok(
        "log",
        "advocate-contacted",
        "oak",
        "--advocate",
        "Dr. Rao [mentor]",
        "--detail",
        "called the PD",
        "--at",
        "2026-10-03T10:00:00-04:00",
    )
    events = script.json("history", "--json")["events"]
    signal, advocate = (e for e in events if e["type"] in {"signal_sent", "advocate_contacted"})
    assert (signal["program"], signal["payload"]) == ("mercy", {"tier": "gold"})
    assert advocate["payload"] == {"advocate": "Dr. Rao [mentor]", "detail": "called the PD"}


def test_a_signal_needs_its_tier(tmp_path):
    script = Script(tmp_path)
    script.setup(History().added_and_applied("mercy").argv())
    refused = script("log", "signal-sent", "mercy", "--at", "2026-09-25T11:00:00-04:00")
    assert refused.returncode == 2
    assert "tier" in refused.stderr
