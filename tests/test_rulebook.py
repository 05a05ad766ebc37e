"""The rulebook of DESIGN §5, rule by rule, at its boundaries.

Each test reads as a season (a :class:`history.History` of a few events), then a
question: ``season.check`` for a verdict, or ``season.record`` refused with
:class:`engine.PolicyRefusal`. In process, the library only, on a memory store (no disk).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from history import (
    DAY,
    DEADLINE,
    HOUR,
    KOLKATA,
    LA,
    LATE,
    MINUTE,
    NY,
    History,
    finding,
    iso,
    local,
    rules,
)

from prematch import engine, policies
from prematch.cli import main as cli_main
from prematch.engine import (
    ACTION_EVENTS,
    PolicyRefusal,
    Season,
    Store,
    StructuralError,
    fixed_clock,
)

DESIGN_RULE_IDS = {
    "thanks.window",
    "thanks.once",
    "interest.wait",
    "interest.window",
    "interest.once",
    "interest.limit",
    "intent.single",
    "intent.after_interviews",
    "intent.window",
    "intent.honesty",
    "deadline.passed",
    "spam.gap",
    "spam.cap",
    "inquiry.once",
    "inquiry.connection",
    "inquiry.window",
    "inquiry.mass",
    "update.news",
    "program.no_contact",
    "nrmp.soap_initiation",
    "nrmp.program_asked_rank",
    "nrmp.all_in",
    "visa.mismatch",
    # the second edition (issue 14)
    "checklist.unthanked",
    "checklist.news_untold",
    "rank.non_nrmp",
    "offer.outside_match",
    "spam.calls",
    "interview.cancel_notice",
    "signals.limit",
    "program.thanks_discouraged",
}

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo" / "season.jsonl"
DEMO_NOW = dt.datetime(2027, 1, 15, 14, tzinfo=dt.UTC)


def test_the_rulebook_reports_exactly_the_rule_ids_of_the_design():
    assert policies.RULE_IDS == DESIGN_RULE_IDS


def test_a_refused_record_writes_nothing():
    when = local("2026-11-10T09:00")
    season = History().interviewed("p", when).season()
    season.record("thanked", "p", at=when + HOUR)
    before = len(season.records())
    with pytest.raises(PolicyRefusal):
        season.record("thanked", "p", at=when + 2 * HOUR)
    assert len(season.records()) == before


# -- thanks.window ----------------------------------------------------------------------

INTERVIEW = local("2026-11-10T09:00")  # EST, two weeks clear of any DST change


# Family medicine: internal medicine's thank-you note (program.thanks_discouraged, issue 14)
# is not what these tests are about.
AFTER_INTERVIEW = History(specialty="Family Medicine").interviewed("p", INTERVIEW)


@pytest.fixture
def after_interview():
    return AFTER_INTERVIEW.season()


def test_thank_you_47h59m_after_interview_is_allowed(after_interview):
    verdict = after_interview.check("thank_you", "p", at=INTERVIEW + 48 * HOUR - MINUTE)
    assert verdict.outcome == "allowed"
    assert verdict.findings == ()


def test_thank_you_window_opens_at_the_interview_and_is_due_48h_later(after_interview):
    verdict = after_interview.check("thank_you", "p", at=INTERVIEW + HOUR)
    assert verdict.opens_at == INTERVIEW
    assert verdict.due_by == INTERVIEW + 48 * HOUR


def test_thank_you_exactly_48h_after_interview_is_still_on_time(after_interview):
    assert after_interview.check("thank_you", "p", at=INTERVIEW + 48 * HOUR).outcome == "allowed"


def test_thank_you_48h01m_after_interview_warns_late(after_interview):
    verdict = after_interview.check("thank_you", "p", at=INTERVIEW + 48 * HOUR + MINUTE)
    assert verdict.outcome == "warn"
    assert rules(verdict) == {"thanks.window"}
    assert "late" in finding(verdict, "thanks.window").message


@pytest.mark.parametrize(
    ("after", "says"),
    [
        pytest.param(13 * DAY, "late", id="13d-late"),
        pytest.param(14 * DAY, "late", id="14d-still-late"),
        pytest.param(14 * DAY + MINUTE, "fold", id="14d01m-stale"),
        pytest.param(40 * DAY, "fold", id="40d-stale"),
    ],
)
def test_thank_you_is_late_for_14_days_then_stale(after_interview, after, says):
    verdict = after_interview.check("thank_you", "p", at=INTERVIEW + after)
    assert verdict.outcome == "warn"
    assert says in finding(verdict, "thanks.window").message
    assert finding(verdict, "thanks.window").severity == "warn"


def test_thank_you_before_the_interview_is_structurally_blocked():
    season = History().invited("p").season()
    verdict = season.check("thank_you", "p", at=INTERVIEW)
    assert verdict.outcome == "blocked"
    assert rules(verdict) == {"state.invalid"}


DST_INTERVIEW = iso("2026-10-31T10:00:00-04:00")  # clocks go back on 1 November 2026


def test_thank_you_due_by_is_48_real_hours_across_the_end_of_dst():
    season = History().interviewed("p", DST_INTERVIEW).season()
    verdict = season.check("thank_you", "p", at=DST_INTERVIEW + HOUR)
    assert verdict.due_by == iso("2026-11-02T09:00:00-05:00")


@pytest.mark.parametrize(
    ("at", "verdict"),
    [("2026-11-02T08:59:00-05:00", "allowed"), ("2026-11-02T09:01:00-05:00", "warn")],
)
def test_thank_you_lateness_across_the_end_of_dst(at, verdict):
    season = History().interviewed("p", DST_INTERVIEW).season()
    assert season.check("thank_you", "p", at=iso(at)).outcome == verdict


@pytest.mark.parametrize(
    ("at", "says"),
    [
        # 14 x 24 real hours have passed at 09:00 EST, but 14 calendar days end at 10:00.
        ("2026-11-14T09:30:00-05:00", "late"),
        ("2026-11-14T10:00:00-05:00", "late"),
        ("2026-11-14T10:01:00-05:00", "fold"),
    ],
)
def test_thank_you_goes_stale_after_14_calendar_days_across_dst(at, says):
    season = History().interviewed("p", DST_INTERVIEW).season()
    assert says in finding(season.check("thank_you", "p", at=iso(at)), "thanks.window").message


def test_add_hours_counts_real_hours_for_a_zoneinfo_datetime():
    from prematch.policies._context import add_hours

    moment = dt.datetime(2026, 10, 31, 10, tzinfo=ZoneInfo(NY))
    assert add_hours(moment, 48) == iso("2026-11-02T09:00:00-05:00")


def _late_thanks_then_interest(interview_at: str) -> list[str]:
    lines = [
        {
            "type": "season_started",
            "season": "s",
            "at": "2026-09-20T10:00:00-04:00",
            "match_year": 2027,
            "specialty": "Internal Medicine",
            "timezone": NY,
            "visa": "j1",
            "applicant_name": "Test",
        },
        {"type": "program_added", "program": "p", "at": "2026-09-21", "name": "P"},
        {"type": "invited", "program": "p", "at": "2026-10-01"},
        {"type": "interviewed", "program": "p", "at": interview_at},
        # 48.5 real hours after midnight EDT on 31 October: late, so not exempt from spam.gap
        {"type": "thanked", "program": "p", "at": "2026-11-01T23:30:00-05:00"},
        # 13.5 days after that thank-you
        {"type": "interest_sent", "program": "p", "at": "2026-11-15T12:00:00-05:00"},
    ]
    return [json.dumps(line) for line in lines]


def test_import_refuses_a_letter_within_14_days_of_a_late_thank_you_across_dst_with_offsets(
    store,
):
    with pytest.raises(PolicyRefusal) as refused:
        engine.import_lines(
            store,
            _late_thanks_then_interest("2026-10-31T00:00:00-04:00"),
            rulebook=policies.Rulebook(),
            clock=fixed_clock(LATE),
        )
    assert rules(refused.value, "block") == {"spam.gap"}
    assert store.seasons() == []


def test_import_refuses_a_letter_within_14_days_of_a_late_thank_you_across_dst(store):
    with pytest.raises(PolicyRefusal):
        engine.import_lines(
            store,
            _late_thanks_then_interest("2026-10-31"),  # a bare date: midnight EDT
            rulebook=policies.Rulebook(),
            clock=fixed_clock(LATE),
        )


# -- thanks.once ------------------------------------------------------------------------


def test_first_thank_you_is_not_judged_by_thanks_once(after_interview):
    assert "thanks.once" not in rules(after_interview.check("thank_you", "p", at=INTERVIEW))


def test_second_thank_you_to_a_program_is_blocked(after_interview):
    after_interview.record("thanked", "p", at=INTERVIEW + HOUR)
    verdict = after_interview.check("thank_you", "p", at=INTERVIEW + 2 * HOUR)
    assert verdict.outcome == "blocked"
    assert rules(verdict, "block") == {"thanks.once"}
    with pytest.raises(PolicyRefusal) as refused:
        after_interview.record("thanked", "p", at=INTERVIEW + 2 * HOUR)
    assert rules(refused.value) == {"thanks.once"}


def test_a_thank_you_to_another_program_is_not_a_second_one():
    season = AFTER_INTERVIEW.interviewed("q", INTERVIEW).season()
    season.record("thanked", "p", at=INTERVIEW + HOUR)
    assert season.check("thank_you", "q", at=INTERVIEW + HOUR).outcome == "allowed"


# -- interest.wait ----------------------------------------------------------------------

JAN_INTERVIEW = local("2027-01-05T10:00")  # letters from the 19th, inside the window


@pytest.fixture
def january():
    season = History().interviewed("p", JAN_INTERVIEW).season()
    return season


def test_interest_13_days_after_interview_is_blocked(january):
    verdict = january.check("interest", "p", at=JAN_INTERVIEW + 13 * DAY)
    assert verdict.outcome == "blocked"
    assert rules(verdict, "block") == {"interest.wait"}


def test_interest_one_minute_before_14_days_is_blocked(january):
    verdict = january.check("interest", "p", at=JAN_INTERVIEW + 14 * DAY - MINUTE)
    assert rules(verdict, "block") == {"interest.wait"}


def test_interest_14_days_after_interview_is_allowed(january):
    verdict = january.check("interest", "p", at=JAN_INTERVIEW + 14 * DAY)
    assert verdict.outcome == "allowed"
    assert "interest.wait" not in rules(verdict)


def test_interest_opens_at_interview_plus_14_days(january):
    verdict = january.check("interest", "p", at=JAN_INTERVIEW + DAY)
    assert verdict.opens_at == JAN_INTERVIEW + 14 * DAY


def test_interest_opens_14_calendar_days_after_the_interview_across_dst():
    season = History().interviewed("p", iso("2026-10-25T10:00:00-04:00")).season()
    opens = iso("2026-11-08T10:00:00-05:00")  # same wall-clock time: 14 days and 1 hour
    assert season.check("interest", "p", at=opens - 30 * MINUTE).opens_at == opens
    assert "interest.wait" in rules(season.check("interest", "p", at=opens - 30 * MINUTE))
    assert "interest.wait" not in rules(season.check("interest", "p", at=opens))


def test_interest_wait_is_measured_in_the_seasons_timezone():
    season = History(timezone=KOLKATA).interviewed("p", local("2027-01-05T10:00", KOLKATA)).season()
    verdict = season.check("interest", "p", at=local("2027-01-06T10:00", KOLKATA))
    assert verdict.opens_at == local("2027-01-19T10:00", KOLKATA)


# -- interest.window --------------------------------------------------------------------


@pytest.mark.parametrize("timezone", [NY, KOLKATA, LA])
def test_interest_a_minute_before_2_january_local_midnight_warns(timezone):
    season = (
        History(timezone=timezone).interviewed("p", local("2026-12-01T10:00", timezone)).season()
    )
    verdict = season.check("interest", "p", at=local("2027-01-01T23:59", timezone))
    assert verdict.outcome == "warn"
    assert rules(verdict) == {"interest.window"}


@pytest.mark.parametrize("timezone", [NY, KOLKATA, LA])
def test_interest_at_2_january_local_midnight_is_allowed(timezone):
    season = (
        History(timezone=timezone).interviewed("p", local("2026-12-01T10:00", timezone)).season()
    )
    verdict = season.check("interest", "p", at=local("2027-01-02T00:00", timezone))
    assert verdict.outcome == "allowed"
    assert verdict.findings == ()


def test_interest_window_opening_follows_the_seasons_timezone_not_new_york():
    season = History(timezone=KOLKATA).interviewed("p", local("2026-12-01T10:00", KOLKATA)).season()
    # Midnight in Kolkata is still 1 January (13:30) in New York.
    assert season.check("interest", "p", at=local("2027-01-02T00:00", KOLKATA)).findings == ()


@pytest.mark.parametrize(
    ("at", "verdict"),
    [
        pytest.param(iso("2027-02-24T21:00:00-05:00"), "allowed", id="deadline-minus-7d"),
        pytest.param(iso("2027-02-24T21:01:00-05:00"), "warn", id="a-minute-later"),
        pytest.param(DEADLINE, "warn", id="at-the-deadline"),
    ],
)
def test_interest_window_closes_7_days_before_the_deadline(at, verdict):
    season = History().interviewed("p", local("2026-12-01T10:00")).season()
    got = season.check("interest", "p", at=at)
    assert got.outcome == verdict
    assert rules(got) == ({"interest.window"} if verdict == "warn" else set())


def test_interest_window_closes_at_the_deadline():
    season = History().interviewed("p", local("2026-12-01T10:00")).season()
    assert season.check("interest", "p", at=local("2027-01-20T10:00")).closes_at == DEADLINE


# -- interest.once and interest.limit -----------------------------------------------------


def test_second_letter_of_interest_to_a_program_is_blocked(january):
    january.record("interest_sent", "p", at=JAN_INTERVIEW + 14 * DAY)
    verdict = january.check("interest", "p", at=JAN_INTERVIEW + 30 * DAY)
    assert rules(verdict, "block") == {"interest.once"}


def test_first_letter_of_interest_is_not_judged_by_interest_once(january):
    assert "interest.once" not in rules(january.check("interest", "p", at=JAN_INTERVIEW + 20 * DAY))


def _letters_of_interest(count, *, policy=None):
    history = History(policy=policy)
    for n in range(6):
        history = history.interviewed(f"p{n}", local("2026-12-01T10:00"))
    for n in range(count):
        history = history.event("interest_sent", f"p{n}", local(f"2027-01-{5 + n:02d}T10:00"))
    return history.season()


def test_fourth_program_may_get_a_letter_of_interest():
    season = _letters_of_interest(3)
    assert season.check("interest", "p3", at=local("2027-01-20T10:00")).outcome == "allowed"


def test_fifth_program_to_get_a_letter_of_interest_is_blocked():
    season = _letters_of_interest(4)
    verdict = season.check("interest", "p4", at=local("2027-01-20T10:00"))
    assert rules(verdict, "block") == {"interest.limit"}
    with pytest.raises(PolicyRefusal) as refused:
        season.record("interest_sent", "p4", at=local("2027-01-20T10:00"))
    assert rules(refused.value) == {"interest.limit"}


def test_a_program_that_has_its_letter_is_blocked_by_interest_once_not_the_limit():
    season = _letters_of_interest(4)
    verdict = season.check("interest", "p0", at=local("2027-01-25T10:00"))
    assert rules(verdict, "block") == {"interest.once"}


# -- intent.single ----------------------------------------------------------------------


@pytest.fixture
def two_interviews():
    season = (
        History()
        .interviewed("a", local("2026-12-01T10:00"))
        .interviewed("b", local("2026-12-02T10:00"))
        .season()
    )
    return season


def test_first_letter_of_intent_is_allowed(two_interviews):
    assert two_interviews.check("intent", "a", at=local("2027-01-05T10:00")).outcome == "allowed"


def test_second_letter_of_intent_is_blocked(two_interviews):
    two_interviews.record("intent_sent", "a", at=local("2027-01-05T10:00"))
    verdict = two_interviews.check("intent", "b", at=local("2027-01-20T10:00"))
    assert rules(verdict, "block") == {"intent.single"}
    with pytest.raises(PolicyRefusal) as refused:
        two_interviews.record("intent_sent", "b", at=local("2027-01-20T10:00"))
    assert rules(refused.value) == {"intent.single"}


def test_second_letter_of_intent_to_the_same_program_is_blocked(two_interviews):
    two_interviews.record("intent_sent", "a", at=local("2027-01-05T10:00"))
    verdict = two_interviews.check("intent", "a", at=local("2027-01-25T10:00"))
    assert "intent.single" in rules(verdict, "block")


def test_an_overridden_second_intent_is_recorded_and_audited_with_its_reason(two_interviews):
    two_interviews.record("intent_sent", "a", at=local("2027-01-05T10:00"))
    recorded = two_interviews.record(
        "intent_sent", "b", at=local("2027-01-20T10:00"), override="my advisor agreed"
    )
    assert recorded.record.override == "my advisor agreed"
    assert "intent.single" in rules(recorded, "block")
    report = two_interviews.audit()
    (found,) = [f for f in report.findings if f.rule == "intent.single"]
    assert (found.severity, found.program, found.seq) == ("block", "b", recorded.record.seq)
    assert found.override == "my advisor agreed"
    assert report.summary["block"] == 1
    assert report.has_blocks


def test_a_retracted_intent_no_longer_counts(two_interviews):
    first = two_interviews.record("intent_sent", "a", at=local("2027-01-05T10:00"))
    two_interviews.retract(first.record.seq, "sent by mistake", at=local("2027-01-06T10:00"))
    assert two_interviews.check("intent", "b", at=local("2027-01-20T10:00")).outcome == "allowed"


# -- intent.after_interviews ------------------------------------------------------------


def test_intent_while_an_interview_is_still_to_come_warns():
    season = History().interviewed("a", local("2026-12-01T10:00")).invited("b").season()
    verdict = season.check("intent", "a", at=local("2027-01-05T10:00"))
    assert verdict.outcome == "warn"
    assert rules(verdict) == {"intent.after_interviews"}
    assert "b" in finding(verdict, "intent.after_interviews").message


@pytest.mark.parametrize("ending", ["interviewed", "declined", "withdrawn"])
def test_intent_once_no_interview_is_to_come_does_not_warn(ending):
    season = History().interviewed("a", local("2026-12-01T10:00")).invited("b").season()
    season.record(ending, "b", at=local("2026-12-20T10:00"))
    verdict = season.check("intent", "a", at=local("2027-01-05T10:00"))
    assert verdict.outcome == "allowed"


def test_intent_is_not_held_back_by_programs_that_never_invited():
    season = History().interviewed("a", local("2026-12-01T10:00")).applied("b").season()
    assert season.check("intent", "a", at=local("2027-01-05T10:00")).outcome == "allowed"


# -- intent.window ----------------------------------------------------------------------


def test_intent_13_days_after_the_interview_is_blocked(january):
    verdict = january.check("intent", "p", at=JAN_INTERVIEW + 13 * DAY)
    assert rules(verdict, "block") == {"intent.window"}
    assert verdict.opens_at == JAN_INTERVIEW + 14 * DAY


def test_intent_14_days_after_the_interview_is_allowed(january):
    assert january.check("intent", "p", at=JAN_INTERVIEW + 14 * DAY).outcome == "allowed"


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(local("2027-01-01T23:59"), id="before-2-january"),
        pytest.param(iso("2027-02-24T21:01:00-05:00"), id="in-the-last-week"),
    ],
)
def test_intent_outside_the_recommended_window_warns(at):
    season = History().interviewed("p", local("2026-12-01T10:00")).season()
    verdict = season.check("intent", "p", at=at)
    assert verdict.outcome == "warn"
    assert rules(verdict) == {"intent.window"}


def test_intent_at_2_january_local_midnight_is_allowed():
    season = History(timezone=KOLKATA).interviewed("p", local("2026-12-01T10:00", KOLKATA)).season()
    assert season.check("intent", "p", at=local("2027-01-02T00:00", KOLKATA)).outcome == "allowed"


# -- intent.honesty ---------------------------------------------------------------------


def test_intent_to_a_program_the_certified_list_does_not_put_first_is_blocked(two_interviews):
    two_interviews.certify(["b", "a"], at=local("2027-02-10T10:00"))
    verdict = two_interviews.check("intent", "a", at=local("2027-02-12T10:00"))
    assert rules(verdict, "block") == {"intent.honesty"}


def test_intent_to_the_first_program_of_the_certified_list_is_allowed(two_interviews):
    two_interviews.certify(["b", "a"], at=local("2027-02-10T10:00"))
    assert two_interviews.check("intent", "b", at=local("2027-02-12T10:00")).outcome == "allowed"


def test_intent_before_any_certified_list_is_not_judged_by_honesty(two_interviews):
    assert "intent.honesty" not in rules(
        two_interviews.check("intent", "a", at=local("2027-01-20T10:00"))
    )


def test_intent_follows_the_last_certified_list(two_interviews):
    two_interviews.certify(["b", "a"], at=local("2027-02-10T10:00"))
    two_interviews.certify(["a", "b"], at=local("2027-02-11T10:00"))
    assert two_interviews.check("intent", "a", at=local("2027-02-12T10:00")).outcome == "allowed"


@pytest.mark.parametrize("order", [["b", "a"], ["b"]])
def test_certifying_a_list_that_does_not_put_the_intent_program_first_is_refused(
    two_interviews, order
):
    two_interviews.record("intent_sent", "a", at=local("2027-01-20T10:00"))
    with pytest.raises(PolicyRefusal) as refused:
        two_interviews.certify(order, at=local("2027-02-10T10:00"))
    assert rules(refused.value) == {"intent.honesty"}


def test_certifying_a_list_that_puts_the_intent_program_first_is_accepted(two_interviews):
    two_interviews.record("intent_sent", "a", at=local("2027-01-20T10:00"))
    recorded = two_interviews.certify(["a", "b"], at=local("2027-02-10T10:00"))
    assert recorded.findings == ()


def test_an_overridden_dishonest_list_is_a_block_finding_in_audit(two_interviews):
    two_interviews.record("intent_sent", "a", at=local("2027-01-20T10:00"))
    recorded = two_interviews.certify(
        ["b", "a"], at=local("2027-02-10T10:00"), override="b offered more support"
    )
    found = [f for f in two_interviews.audit().findings if f.rule == "intent.honesty"]
    assert [(f.severity, f.seq, f.override) for f in found] == [
        ("block", recorded.record.seq, "b offered more support")
    ]


# -- deadline.passed --------------------------------------------------------------------


@pytest.fixture
def before_deadline():
    season = History().interviewed("p", local("2026-12-01T10:00")).season()
    season.record("news_recorded", at=local("2027-01-10T10:00"), kind="exam", detail="Step 3")
    return season


@pytest.mark.parametrize("action", ["interest", "intent", "update"])
@pytest.mark.parametrize(
    ("at", "blocked"),
    [
        pytest.param(DEADLINE - MINUTE, False, id="20h59"),
        pytest.param(DEADLINE, False, id="21h00"),
        pytest.param(DEADLINE + MINUTE, True, id="21h01"),
    ],
)
def test_deadline_passed_blocks_letters_and_updates_after_the_deadline_minute(
    before_deadline, action, at, blocked
):
    verdict = before_deadline.check(action, "p", at=at)
    assert ("deadline.passed" in rules(verdict, "block")) is blocked
    assert (verdict.outcome == "blocked") is blocked


def test_interest_a_minute_after_the_deadline_is_refused(before_deadline):
    with pytest.raises(PolicyRefusal) as refused:
        before_deadline.record("interest_sent", "p", at=DEADLINE + MINUTE)
    assert rules(refused.value) == {"deadline.passed"}


def test_thank_you_after_the_deadline_is_not_blocked_by_the_deadline():
    when = local("2027-03-05T10:00")
    season = History().interviewed("p", when).season()
    assert season.check("thank_you", "p", at=when + HOUR).outcome == "allowed"


def test_the_deadline_follows_a_season_calendar_override():
    season = (
        History(calendar={"rank_list_deadline": "2027-02-20T21:00:00-05:00"})
        .interviewed("p", local("2026-12-01T10:00"))
        .season()
    )
    verdict = season.check("interest", "p", at=local("2027-02-21T10:00"))
    assert rules(verdict, "block") == {"deadline.passed"}


# -- spam.gap ---------------------------------------------------------------------------

GAP_INTERVIEW = local("2027-01-04T10:00")
LATE_THANKS = local("2027-01-07T10:00")  # 72 h after the interview: not exempt


THANKED_LATE = History().interviewed("p", GAP_INTERVIEW).event("thanked", "p", LATE_THANKS)


@pytest.fixture
def thanked_late():
    return THANKED_LATE.season()


def test_letter_13_days_after_a_counted_message_is_blocked_by_spam_gap(thanked_late):
    verdict = thanked_late.check("interest", "p", at=LATE_THANKS + 13 * DAY)
    assert rules(verdict, "block") == {"spam.gap"}


def test_letter_a_minute_before_14_days_after_a_counted_message_is_blocked(thanked_late):
    verdict = thanked_late.check("interest", "p", at=LATE_THANKS + 14 * DAY - MINUTE)
    assert rules(verdict, "block") == {"spam.gap"}
    assert verdict.opens_at == LATE_THANKS + 14 * DAY


def test_letter_14_days_after_a_counted_message_is_allowed(thanked_late):
    assert thanked_late.check("interest", "p", at=LATE_THANKS + 14 * DAY).outcome == "allowed"


def test_a_thank_you_inside_its_window_does_not_start_a_gap():
    season = History().interviewed("p", GAP_INTERVIEW).season()
    season.record("thanked", "p", at=GAP_INTERVIEW + 48 * HOUR)  # the last on-time minute
    verdict = season.check("interest", "p", at=GAP_INTERVIEW + 14 * DAY)  # 12 days later
    assert verdict.outcome == "allowed"


def test_a_thank_you_inside_its_window_needs_no_gap():
    season = History().applied("p").season()
    season.record("inquiry_sent", "p", at=local("2026-10-20T10:00"))
    season.record("invited", "p", at=local("2026-10-22T10:00"))
    when = local("2026-10-26T10:00")
    season.record("interviewed", "p", at=when)
    assert "spam.gap" not in rules(season.check("thank_you", "p", at=when + HOUR))


def test_a_late_thank_you_needs_the_gap():
    season = History().applied("p").season()
    season.record("inquiry_sent", "p", at=local("2026-10-20T10:00"))
    season.record("invited", "p", at=local("2026-10-22T10:00"))
    when = local("2026-10-26T10:00")
    season.record("interviewed", "p", at=when)
    verdict = season.check("thank_you", "p", at=when + 72 * HOUR)
    assert rules(verdict, "block") == {"spam.gap"}


def test_an_update_carrying_untold_news_needs_no_gap(thanked_late):
    thanked_late.record("news_recorded", at=LATE_THANKS + DAY, kind="exam", detail="Step 3 passed")
    verdict = thanked_late.check("update", "p", at=LATE_THANKS + 2 * DAY)
    assert "spam.gap" not in rules(verdict)
    assert verdict.outcome == "allowed"
    thanked_late.record("update_sent", "p", at=LATE_THANKS + 2 * DAY)


def test_an_update_with_news_does_not_restart_the_gap(thanked_late):
    thanked_late.record("news_recorded", at=LATE_THANKS + DAY, kind="exam", detail="Step 3 passed")
    thanked_late.record("update_sent", "p", at=LATE_THANKS + 2 * DAY)
    assert thanked_late.check("interest", "p", at=LATE_THANKS + 14 * DAY).outcome == "allowed"


def test_an_update_without_untold_news_is_not_exempt_from_the_gap(thanked_late):
    verdict = thanked_late.check("update", "p", at=LATE_THANKS + DAY)
    assert rules(verdict, "block") == {"spam.gap", "update.news"}


def test_the_gap_is_per_program():
    season = THANKED_LATE.interviewed("q", GAP_INTERVIEW).season()
    assert season.check("interest", "q", at=LATE_THANKS + 13 * DAY).outcome == "allowed"


def test_an_update_that_retold_old_news_still_starts_a_gap():
    season = History().interviewed("p", GAP_INTERVIEW).season()
    season.record("interest_sent", "p", at=local("2027-01-20T10:00"))
    news = season.record("news_recorded", at=local("2027-01-21T10:00"), kind="exam", detail="S3")
    season.record("update_sent", "p", at=local("2027-01-22T10:00"))
    season.record(
        "update_sent",
        "p",
        at=local("2027-01-23T10:00"),
        news_seq=news.record.seq,
        override="resent by mistake",
    )
    verdict = season.check("intent", "p", at=local("2027-02-05T10:00"))  # 13 days later
    assert "spam.gap" in rules(verdict, "block")


# -- spam.cap ---------------------------------------------------------------------------


def _messages(count, *, policy=None):
    """``count`` messages to ``p`` (gap switched off so only the cap speaks)."""
    when = local("2026-12-01T10:00")
    history = History(policy={"spam.gap_days": 0, **(policy or {})}).interviewed("p", when)
    history = history.event("thanked", "p", when + HOUR)
    for n in range(count - 1):
        history = history.event(
            "news_recorded", at=local(f"2027-01-{2 + n:02d}T09:00"), kind="other", detail=f"n{n}"
        )
        history = history.event("update_sent", "p", local(f"2027-01-{2 + n:02d}T10:00"))
    return history.event("news_recorded", at=local("2027-01-19T09:00"), kind="other", detail="more")


@pytest.mark.parametrize("action", ["update", "interest", "intent"])
def test_fifth_message_to_a_program_is_allowed(action):
    season = _messages(4).season()
    verdict = season.check(action, "p", at=local("2027-01-20T10:00"))
    assert "spam.cap" not in rules(verdict)
    assert verdict.outcome == "allowed"


@pytest.mark.parametrize("action", ["update", "interest", "intent"])
def test_sixth_message_to_a_program_is_blocked(action):
    season = _messages(5).season()
    verdict = season.check(action, "p", at=local("2027-01-20T10:00"))
    assert rules(verdict, "block") == {"spam.cap"}


def test_the_cap_counts_exempt_messages_too():
    season = _messages(5).season()
    with pytest.raises(PolicyRefusal) as refused:
        season.record("update_sent", "p", at=local("2027-01-20T10:00"))
    assert rules(refused.value) == {"spam.cap"}


def test_the_cap_is_per_program():
    season = _messages(5).interviewed("q", local("2026-12-01T10:00")).season()
    assert season.check("interest", "q", at=local("2027-01-20T10:00")).outcome == "allowed"


# -- inquiry.* --------------------------------------------------------------------------


def test_inquiry_with_a_connection_in_season_is_allowed():
    season = History().applied("p").season()
    verdict = season.check("inquiry", "p", at=local("2026-10-20T10:00"))
    assert verdict.outcome == "allowed"
    assert verdict.findings == ()


def test_second_inquiry_to_a_program_is_blocked():
    season = History().applied("p").season()
    season.record("inquiry_sent", "p", at=local("2026-10-20T10:00"))
    verdict = season.check("inquiry", "p", at=local("2026-11-10T10:00"))
    assert rules(verdict, "block") == {"inquiry.once"}


def test_inquiry_without_a_recorded_connection_is_blocked():
    season = History().applied("p", connection=False).season()
    verdict = season.check("inquiry", "p", at=local("2026-10-20T10:00"))
    assert rules(verdict, "block") == {"inquiry.connection"}
    with pytest.raises(PolicyRefusal) as refused:
        season.record("inquiry_sent", "p", at=local("2026-10-20T10:00"))
    assert rules(refused.value) == {"inquiry.connection"}


def test_a_connection_to_another_program_does_not_count():
    season = History().applied("p", connection=False).applied("q").season()
    assert "inquiry.connection" in rules(season.check("inquiry", "p", at=local("2026-10-20")))


@pytest.mark.parametrize("timezone", [NY, KOLKATA])
@pytest.mark.parametrize(
    ("wall", "verdict"),
    [
        ("2026-10-14T23:59", "blocked"),
        ("2026-10-15T00:00", "allowed"),
        ("2026-11-30T23:59", "allowed"),
        ("2026-12-01T00:00", "warn"),
        ("2027-01-31T23:59", "warn"),
        ("2027-02-01T00:00", "blocked"),
    ],
)
def test_inquiry_window_boundaries_in_local_time(timezone, wall, verdict):
    season = History(timezone=timezone).applied("p").season()
    got = season.check("inquiry", "p", at=local(wall, timezone))
    assert got.outcome == verdict
    assert rules(got) == (set() if verdict == "allowed" else {"inquiry.window"})


def test_inquiry_window_bounds_are_reported():
    season = History().applied("p").season()
    verdict = season.check("inquiry", "p", at=local("2026-10-20T10:00"))
    assert verdict.opens_at == local("2026-10-15T00:00")
    assert verdict.closes_at == local("2027-02-01T00:00")


def test_inquiry_once_invited_is_blocked():
    season = History().applied("p").season()
    season.record("invited", "p", at=local("2026-10-18T10:00"))
    verdict = season.check("inquiry", "p", at=local("2026-10-20T10:00"))
    assert verdict.outcome == "blocked"
    with pytest.raises(StructuralError):
        season.record("inquiry_sent", "p", at=local("2026-10-20T10:00"))


def test_inquiry_after_a_rejection_is_blocked():
    season = History().applied("p").season()
    season.record("rejected", "p", at=local("2026-10-18T10:00"))
    assert season.check("inquiry", "p", at=local("2026-10-20T10:00")).outcome == "blocked"


def _inquiries(count, *, policy=None):
    history = History(policy=policy)
    for n in range(7):
        history = history.applied(f"p{n}")
    for n in range(count):
        history = history.event("inquiry_sent", f"p{n}", local(f"2026-10-{16 + n:02d}T10:00"))
    return history.season()


def test_fifth_inquiry_of_the_season_is_not_mass_mailing():
    season = _inquiries(4)
    assert season.check("inquiry", "p4", at=local("2026-10-25T10:00")).outcome == "allowed"


def test_sixth_inquiry_of_the_season_warns_of_mass_mailing():
    season = _inquiries(5)
    verdict = season.check("inquiry", "p5", at=local("2026-10-25T10:00"))
    assert verdict.outcome == "warn"
    assert rules(verdict) == {"inquiry.mass"}
    recorded = season.record("inquiry_sent", "p5", at=local("2026-10-25T10:00"))
    assert rules(recorded) == {"inquiry.mass"}


# -- update.news ------------------------------------------------------------------------


def test_update_without_any_news_is_blocked(january):
    verdict = january.check("update", "p", at=JAN_INTERVIEW + DAY)
    assert rules(verdict, "block") == {"update.news"}


def test_update_with_untold_news_is_allowed_and_names_it(january):
    january.record("news_recorded", at=JAN_INTERVIEW + DAY, kind="exam", detail="Step 3 passed")
    verdict = january.check("update", "p", at=JAN_INTERVIEW + 2 * DAY)
    assert verdict.outcome == "allowed"
    assert finding(verdict, "update.news").severity == "info"
    assert "Step 3 passed" in finding(verdict, "update.news").message


def test_update_once_the_news_was_told_is_blocked(january):
    january.record("news_recorded", at=JAN_INTERVIEW + DAY, kind="exam", detail="Step 3 passed")
    january.record("update_sent", "p", at=JAN_INTERVIEW + 2 * DAY)
    verdict = january.check("update", "p", at=JAN_INTERVIEW + 3 * DAY)
    assert "update.news" in rules(verdict, "block")
    with pytest.raises(PolicyRefusal) as refused:
        january.record("update_sent", "p", at=JAN_INTERVIEW + 20 * DAY)
    assert rules(refused.value) == {"update.news"}


def test_news_recorded_later_does_not_count_as_of_earlier(january):
    january.record("news_recorded", at=JAN_INTERVIEW + 5 * DAY, kind="exam", detail="Step 3")
    assert january.check("update", "p", at=JAN_INTERVIEW + DAY).outcome == "blocked"
    assert january.check("update", "p", at=JAN_INTERVIEW + 5 * DAY).outcome == "allowed"


def test_update_naming_news_already_told_is_refused(january):
    news = january.record("news_recorded", at=JAN_INTERVIEW + DAY, kind="exam", detail="S3")
    january.record("news_recorded", at=JAN_INTERVIEW + DAY, kind="letter", detail="new letter")
    january.record("update_sent", "p", at=JAN_INTERVIEW + 2 * DAY)  # the oldest: S3
    with pytest.raises(PolicyRefusal) as refused:
        january.record("update_sent", "p", at=JAN_INTERVIEW + 3 * DAY, news_seq=news.record.seq)
    assert "update.news" in rules(refused.value)


def test_now_offers_an_update_to_every_interviewed_program_not_yet_told():
    history = History()
    for pid in ("a", "b", "c"):
        history = history.interviewed(pid, local("2026-12-01T10:00"))
    season = history.season()
    season.record("news_recorded", at=local("2027-01-10T10:00"), kind="exam", detail="Step 3")
    season.record("update_sent", "a", at=local("2027-01-11T10:00"))
    report = season.what_now(local("2027-01-12T10:00"))
    updates = {v.program: v.outcome for v in report.actions if v.action == "update"}
    assert updates == {"a": "blocked", "b": "allowed", "c": "allowed"}


# -- program.no_contact -----------------------------------------------------------------


def _no_contact_season(*, specialty="Internal Medicine", **program_fields):
    history = History(specialty=specialty).interviewed(
        "p", local("2027-01-04T10:00"), **program_fields
    )
    return history.event(
        "news_recorded", at=local("2027-01-05T10:00"), kind="exam", detail="Step 3"
    )


NO_CONTACT_CASES = [
    ("thank_you", local("2027-01-04T11:00"), "blocked"),
    ("interest", local("2027-01-20T10:00"), "blocked"),
    ("intent", local("2027-01-20T10:00"), "blocked"),
    ("update", local("2027-01-06T10:00"), "warn"),
]


@pytest.mark.parametrize(("action", "at", "verdict"), NO_CONTACT_CASES)
def test_a_program_that_asked_for_no_contact(action, at, verdict):
    season = _no_contact_season(no_post_interview_contact=True).season()
    got = season.check(action, "p", at=at)
    assert got.outcome == verdict
    severity = "block" if verdict == "blocked" else "warn"
    assert finding(got, "program.no_contact").severity == severity
    assert rules(got, severity) == {"program.no_contact"}


@pytest.mark.parametrize(("action", "at", "verdict"), NO_CONTACT_CASES)
def test_plastic_surgery_programs_default_to_no_contact_case_insensitively(action, at, verdict):
    season = _no_contact_season(specialty="plastic surgery").season()
    assert season.check(action, "p", at=at).outcome == verdict
    assert "program.no_contact" in rules(season.check(action, "p", at=at))


@pytest.mark.parametrize("specialty", ["plastic surgery", "PLASTIC SURGERY", " Plastic Surgery "])
def test_a_plastic_surgery_program_in_an_im_season_defaults_to_no_contact(specialty):
    season = (
        _no_contact_season(specialty="Internal Medicine").add("ps", specialty=specialty).season()
    )
    season.record("invited", "ps", at=local("2026-12-01T10:00"))
    when = local("2027-01-04T10:00")
    season.record("interviewed", "ps", at=when)
    verdict = season.check("thank_you", "ps", at=when + HOUR)
    assert rules(verdict, "block") == {"program.no_contact"}


def test_a_plastic_surgery_program_that_allows_contact_overrides_the_default():
    season = _no_contact_season(
        specialty="Plastic Surgery", no_post_interview_contact=False
    ).season()
    assert season.check("thank_you", "p", at=local("2027-01-04T11:00")).outcome == "allowed"


def test_an_internal_medicine_program_has_no_contact_ban_by_default():
    season = _no_contact_season().season()
    assert season.check("thank_you", "p", at=local("2027-01-04T11:00")).outcome == "allowed"


def test_no_contact_does_not_apply_before_the_interview():
    season = History().invited("p", no_post_interview_contact=True).season()
    season.record("news_recorded", at=local("2026-10-05T10:00"), kind="exam", detail="Step 3")
    verdict = season.check("update", "p", at=local("2026-10-06T10:00"))
    assert "program.no_contact" not in rules(verdict)


# -- nrmp.soap_initiation ---------------------------------------------------------------

MATCH_WEEK = iso("2027-03-15T10:00:00-04:00")
SOAP_END = iso("2027-03-18T17:00:00-04:00")


MATCH_WEEK_SEASON = History().interviewed("p", iso("2027-03-14T12:00:00-04:00"))


@pytest.fixture
def match_week():
    return MATCH_WEEK_SEASON.season()


def test_thank_you_a_minute_before_match_week_is_allowed(match_week):
    assert match_week.check("thank_you", "p", at=MATCH_WEEK - MINUTE).outcome == "allowed"


def test_thank_you_at_the_start_of_match_week_is_blocked(match_week):
    verdict = match_week.check("thank_you", "p", at=MATCH_WEEK)
    assert rules(verdict, "block") == {"nrmp.soap_initiation"}
    with pytest.raises(PolicyRefusal) as refused:
        match_week.record("thanked", "p", at=MATCH_WEEK)
    assert rules(refused.value, "block") == {"nrmp.soap_initiation"}


def test_thank_you_after_the_program_contacted_during_soap_is_allowed(match_week):
    match_week.record("program_contacted", "p", at=MATCH_WEEK + HOUR, during_soap=True)
    assert match_week.check("thank_you", "p", at=MATCH_WEEK + 2 * HOUR).outcome == "allowed"


def test_thank_you_before_the_program_contacted_during_soap_is_still_blocked(match_week):
    match_week.record("program_contacted", "p", at=MATCH_WEEK + HOUR, during_soap=True)
    verdict = match_week.check("thank_you", "p", at=MATCH_WEEK + 30 * MINUTE)
    assert rules(verdict, "block") == {"nrmp.soap_initiation"}


def test_a_contact_outside_soap_does_not_open_match_week(match_week):
    match_week.record("program_contacted", "p", at=MATCH_WEEK + HOUR, during_soap=False)
    verdict = match_week.check("thank_you", "p", at=MATCH_WEEK + 2 * HOUR)
    assert rules(verdict, "block") == {"nrmp.soap_initiation"}


def test_a_soap_contact_from_another_program_does_not_count():
    season = MATCH_WEEK_SEASON.interviewed("q", iso("2027-03-14T12:00:00-04:00")).season()
    season.record("program_contacted", "q", at=MATCH_WEEK + HOUR, during_soap=True)
    verdict = season.check("thank_you", "p", at=MATCH_WEEK + 2 * HOUR)
    assert rules(verdict, "block") == {"nrmp.soap_initiation"}


@pytest.mark.parametrize(("at", "verdict"), [(SOAP_END - MINUTE, "blocked"), (SOAP_END, "allowed")])
def test_soap_initiation_ends_when_soap_ends(at, verdict):
    season = History().interviewed("p", iso("2027-03-17T09:00:00-04:00")).season()
    assert season.check("thank_you", "p", at=at).outcome == verdict


def test_soap_initiation_blocks_a_letter_when_the_deadline_is_moved_into_match_week():
    season = (
        History(calendar={"rank_list_deadline": "2027-03-16T21:00:00-04:00"})
        .interviewed("p", local("2027-01-05T10:00"))
        .season()
    )
    verdict = season.check("interest", "p", at=MATCH_WEEK + 2 * HOUR)
    assert rules(verdict, "block") == {"nrmp.soap_initiation"}


def test_a_soap_contact_counts_even_after_an_earlier_mislabelled_one(match_week):
    match_week.record("program_contacted", "p", at=MATCH_WEEK - 2 * DAY, during_soap=True)
    match_week.record("program_contacted", "p", at=MATCH_WEEK + HOUR, during_soap=True)
    assert match_week.check("thank_you", "p", at=MATCH_WEEK + 2 * HOUR).outcome == "allowed"


# -- nrmp.program_asked_rank ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "warned"),
    [
        ({"asked_rank": True}, True),
        ({"offered_commitment": True}, True),
        ({"asked_rank": True, "offered_commitment": True}, True),
        ({}, False),
        ({"during_soap": True}, False),
    ],
)
def test_a_program_asking_how_you_will_rank_it_is_an_audit_warning(after_interview, fields, warned):
    recorded = after_interview.record("program_contacted", "p", at=INTERVIEW + DAY, **fields)
    expected = [("warn", recorded.record.seq)] if warned else []
    assert [f.severity for f in recorded.findings] == (["warn"] if warned else [])
    found = [f for f in after_interview.audit().findings if f.rule == "nrmp.program_asked_rank"]
    assert [(f.severity, f.seq) for f in found] == expected
    assert rules(recorded) == ({"nrmp.program_asked_rank"} if warned else set())


# -- nrmp.all_in ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "participating", "warned"),
    [
        ("pre_match_contract", True, True),
        ("pre_match_contract", False, False),
        ("soap_offer", True, False),
    ],
)
def test_a_pre_match_contract_from_a_match_program_warns(kind, participating, warned):
    season = History().applied("p", nrmp_participating=participating).season()
    recorded = season.record("offer_received", "p", at=local("2026-11-01T10:00"), kind=kind)
    # offer.outside_match (issue 14) speaks about the other two: see test_rulebook_2
    assert rules(recorded) - {"offer.outside_match"} == ({"nrmp.all_in"} if warned else set())
    assert all(f.severity == "warn" for f in recorded.findings)
    audited = {f.rule for f in season.audit().findings}
    assert ("nrmp.all_in" in audited) is warned


# -- visa.mismatch ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visa", "sponsors", "warned"),
    [
        ("j1", ["h1b"], True),
        ("h1b", ["j1"], True),
        ("j1", [], True),
        ("j1", ["j1"], False),
        ("j1", ["j1", "h1b"], False),
        ("j1", None, False),
        ("none", ["h1b"], False),
        ("none", [], False),
    ],
)
def test_applying_to_a_program_that_does_not_sponsor_your_visa_warns(visa, sponsors, warned):
    fields = {} if sponsors is None else {"sponsors_visas": sponsors}
    season = History(visa=visa).add("p", **fields).season()
    recorded = season.record("applied", "p", at=local("2026-09-24T10:00"))
    assert rules(recorded) == ({"visa.mismatch"} if warned else set())
    assert all(f.severity == "warn" for f in recorded.findings)


def test_ranking_a_program_that_does_not_sponsor_your_visa_warns():
    season = (
        History(visa="j1")
        .interviewed("ok", local("2026-12-01T10:00"), sponsors_visas=["j1"])
        .interviewed("h1b-only", local("2026-12-02T10:00"), sponsors_visas=["h1b"])
        .season()
    )
    recorded = season.certify(["ok", "h1b-only"], at=local("2027-02-10T10:00"))
    assert rules(recorded) == {"visa.mismatch"}
    (found,) = recorded.findings
    assert found.severity == "warn"
    assert "h1b-only" in found.message


# -- every number is a parameter --------------------------------------------------------


def test_interest_limit_of_2_blocks_the_third_letter():
    season = _letters_of_interest(2, policy={"interest.limit": 2})
    verdict = season.check("interest", "p2", at=local("2027-01-20T10:00"))
    assert rules(verdict, "block") == {"interest.limit"}


def test_the_default_interest_limit_allows_the_third_letter():
    season = _letters_of_interest(2)
    assert season.check("interest", "p2", at=local("2027-01-20T10:00")).outcome == "allowed"


@pytest.mark.parametrize(
    ("policy", "action", "at", "rule", "default_has_it"),
    [
        # thank-you 30 h after the interview: on time by default, late within 24 h
        ({"thanks.due_hours": 24}, "thank_you", JAN_INTERVIEW + 30 * HOUR, "thanks.window", False),
        # letter 8 days after the interview: too soon by default, fine after 7 days
        ({"interest.wait_days": 7}, "interest", JAN_INTERVIEW + 8 * DAY, "interest.wait", True),
        ({"intent.wait_days": 7}, "intent", JAN_INTERVIEW + 8 * DAY, "intent.window", True),
        # window opening on 25 January instead of the 2nd
        (
            {"interest.window_open_day": 25},
            "interest",
            local("2027-01-20T10:00"),
            "interest.window",
            False,
        ),
        ({"intent.limit": 0}, "intent", JAN_INTERVIEW + 14 * DAY, "intent.single", False),
        ({"interest.limit": 0}, "interest", JAN_INTERVIEW + 14 * DAY, "interest.limit", False),
        ({"spam.cap": 0}, "interest", JAN_INTERVIEW + 14 * DAY, "spam.cap", False),
    ],
)
def test_every_number_is_a_season_parameter(policy, action, at, rule, default_has_it):
    def ask(history):
        season = history.interviewed("p", JAN_INTERVIEW).season()
        return rules(season.check(action, "p", at=at))

    assert (rule in ask(History(season_id="default"))) is default_has_it
    assert (rule in ask(History(season_id="tuned", policy=policy))) is not default_has_it


def test_window_close_days_is_a_parameter():
    at = DEADLINE - 3 * DAY
    default = History(season_id="default").interviewed("p", JAN_INTERVIEW).season()
    tuned = (
        History(season_id="tuned", policy={"interest.window_close_days": 1})
        .interviewed("p", JAN_INTERVIEW)
        .season()
    )
    assert "interest.window" in rules(default.check("interest", "p", at=at))
    assert "interest.window" not in rules(tuned.check("interest", "p", at=at))


def test_spam_gap_days_is_a_parameter():
    season = History(policy={"spam.gap_days": 3}).interviewed("p", GAP_INTERVIEW).season()
    season.record("thanked", "p", at=LATE_THANKS)
    assert "spam.gap" in rules(season.check("update", "p", at=LATE_THANKS + 2 * DAY))
    assert "spam.gap" not in rules(season.check("update", "p", at=LATE_THANKS + 3 * DAY))


@pytest.mark.parametrize(
    ("policy", "month_day", "verdict"),
    [
        ({"inquiry.open_day": 1}, "2026-10-05T10:00", "allowed"),
        ({"inquiry.late_month": 10, "inquiry.late_day": 31}, "2026-11-05T10:00", "warn"),
        ({"inquiry.close_month": 1, "inquiry.close_day": 5}, "2027-01-10T10:00", "blocked"),
    ],
)
def test_inquiry_dates_are_parameters(policy, month_day, verdict):
    season = History(policy=policy).applied("p").season()
    assert season.check("inquiry", "p", at=local(month_day)).outcome == verdict


def test_inquiry_mass_limit_is_a_parameter():
    season = _inquiries(2, policy={"inquiry.mass_limit": 2})
    assert rules(season.check("inquiry", "p2", at=local("2026-10-25T10:00"))) == {"inquiry.mass"}


def test_thanks_stale_days_is_a_parameter():
    season = History(policy={"thanks.stale_days": 3}).interviewed("p", INTERVIEW).season()
    verdict = season.check("thank_you", "p", at=INTERVIEW + 3 * DAY + MINUTE)
    assert "fold" in finding(verdict, "thanks.window").message


def test_a_thank_you_is_never_stale_while_it_is_still_on_time():
    season = History(policy={"thanks.stale_days": 1}).interviewed("p", INTERVIEW).season()
    assert season.check("thank_you", "p", at=INTERVIEW + 30 * HOUR).outcome == "allowed"
    late = season.check("thank_you", "p", at=INTERVIEW + 48 * HOUR + MINUTE)
    assert "fold" in finding(late, "thanks.window").message


def test_an_unknown_policy_key_is_refused_when_the_season_starts(store):
    with pytest.raises(engine.InputError) as error:
        History(policy={"interest.limt": 2}).season(store)
    assert error.value.field == "policy"
    assert "interest.limit" in str(error.value)  # the known keys are listed
    assert store.seasons() == []


@pytest.mark.parametrize("value", [-1, 1.5])
def test_a_policy_value_must_be_a_whole_number(store, value):
    with pytest.raises(engine.InputError):
        History(policy={"interest.limit": value}).season(store)
    assert store.seasons() == []


# -- sources ----------------------------------------------------------------------------


def _all_rules():
    for table in (policies.ACTION_RULES, policies.EVENT_RULES):
        for rule_set in table.values():
            yield from rule_set


def test_every_rule_names_its_source():
    for rule in _all_rules():
        assert rule.source.strip(), rule.id


def test_nrmp_rules_cite_the_nrmp():
    nrmp = [r for r in _all_rules() if r.id.startswith("nrmp.")]
    assert {r.id for r in nrmp} == {
        "nrmp.soap_initiation",
        "nrmp.program_asked_rank",
        "nrmp.all_in",
    }
    assert all("NRMP" in r.source for r in nrmp)


def test_every_finding_of_a_busy_season_carries_a_source():
    season = (
        History()
        .applied("p", sponsors_visas=["h1b"], connection=False)
        .event("offer_received", "p", local("2026-10-01T10:00"), kind="pre_match_contract")
        .event("program_contacted", "p", local("2026-10-02T10:00"), asked_rank=True)
        .interviewed("q", iso("2027-03-14T12:00:00-04:00"), no_post_interview_contact=True)
        .season()
    )
    findings = [
        *season.audit().findings,
        *season.check("inquiry", "p", at=local("2027-03-16T10:00")).findings,
        *season.check("thank_you", "q", at=local("2027-03-16T10:00")).findings,
        *season.check("interest", "q", at=local("2027-03-16T10:00")).findings,
        *season.check("intent", "q", at=local("2027-03-16T10:00")).findings,
        *season.check("update", "q", at=local("2027-03-16T10:00")).findings,
    ]
    seen = {f.rule for f in findings}
    assert {"nrmp.soap_initiation", "nrmp.program_asked_rank", "nrmp.all_in"} <= seen
    assert len(seen) >= 10
    for f in findings:
        assert f.source.strip(), f.rule
        if f.rule.startswith("nrmp."):
            assert "NRMP" in f.source


# -- now and check agree (the demo season) ----------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    store = Store.open(path)
    with DEMO.open("rb") as lines:
        engine.import_lines(store, lines, rulebook=policies.Rulebook(), clock=fixed_clock(DEMO_NOW))
    store.close()
    return path


def _copy(source: Path, target: Path) -> Path:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def _open(path: Path) -> tuple[Store, Season]:
    store = Store.open(path)
    return store, Season.open(store, rulebook=policies.Rulebook(), clock=fixed_clock(DEMO_NOW))


def _demo_actions(demo_db):
    store, season = _open(demo_db)
    try:
        return [(v.program, v.action, v.outcome) for v in season.what_now(DEMO_NOW).actions]
    finally:
        store.close()


def test_the_demo_season_audits_clean(demo_db):
    store, season = _open(demo_db)
    try:
        report = season.audit()
    finally:
        store.close()
    assert report.summary["block"] == 0
    assert report.summary["warn"] == 0


def test_now_and_check_agree_on_the_demo_season(demo_db):
    store, season = _open(demo_db)
    try:
        for v in season.what_now(DEMO_NOW).actions:
            again = season.check(v.action, v.program, at=DEMO_NOW)
            assert (again.outcome, again.findings) == (v.outcome, v.findings)
    finally:
        store.close()


def test_what_now_allows_is_what_log_records_on_the_demo_season(demo_db, tmp_path):
    actions = _demo_actions(demo_db)
    assert {verdict for _, _, verdict in actions} == {"allowed", "warn", "blocked"}
    for n, (program, action, verdict) in enumerate(actions):
        store, season = _open(_copy(demo_db, tmp_path / f"copy{n}.db"))
        try:
            before = len(season.records())
            event = ACTION_EVENTS[action]
            if verdict in ("allowed", "warn"):
                recorded = season.record(event, program, at=DEMO_NOW)
                assert recorded.record.override is None
                assert len(season.records()) == before + 1, (program, action)
            else:
                with pytest.raises((PolicyRefusal, StructuralError)):
                    season.record(event, program, at=DEMO_NOW)
                assert len(season.records()) == before, (program, action)
        finally:
            store.close()


def test_now_json_lists_every_action_the_state_machine_allows(demo_db, monkeypatch):
    monkeypatch.setenv("PREMATCH_NOW", DEMO_NOW.isoformat())
    monkeypatch.delenv("PREMATCH_SEASON", raising=False)
    result = CliRunner().invoke(cli_main, ["--db", str(demo_db), "now", "--json"])
    assert result.exit_code == 0, result.output
    listed: dict[str, set[str]] = {}
    for item in json.loads(result.output)["actions"]:
        listed.setdefault(item["program"], set()).add(item["action"])
    store, season = _open(demo_db)
    try:
        state = season.state(DEMO_NOW)
    finally:
        store.close()
    expected = {
        pid: {a for a, e in ACTION_EVENTS.items() if e in engine.allowed_triggers(p.state)}
        for pid, p in state.programs.items()
    }
    assert listed == {pid: acts for pid, acts in expected.items() if acts}
    assert any(p.state in engine.END_STATES for p in state.programs.values())
