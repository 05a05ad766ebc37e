"""The rulebook's second edition (issue 14): the guide's checklist, NRMP's remaining rules,
signals, intent as one choice, and the corrections to windows, names and messages.

Each rule at its boundaries (allowed / warn / block), with a season ``policy`` that moves
the boundary where the rule has a number, and the source on every finding. Seasons are
built with :class:`history.History` in memory, judged by the full rulebook.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from history import DAY, DEADLINE, HOUR, MINUTE, History, local, rules
from prematch_script import Script

from prematch.engine import InputError, PolicyRefusal, Season, fixtures_dir
from prematch.policies import RULE_IDS

FM = History(specialty="Family Medicine")
"""A season of a specialty that expects thank-you notes (internal medicine does not)."""

INTERVIEW = local("2026-11-10T09:00")
CHECKLIST_FROM = DEADLINE - 7 * DAY
MATCH_WEEK = dt.datetime.fromisoformat("2027-03-15T10:00:00-04:00")
SOAP_END = dt.datetime.fromisoformat("2027-03-18T17:00:00-04:00")

CALENDAR_2025 = {
    "applications_open": "2024-09-25T09:00:00-04:00",
    "rank_list_opens": "2025-02-03T12:00:00-05:00",
    "rank_list_deadline": "2025-03-05T21:00:00-05:00",
    "match_week_start": "2025-03-17T10:00:00-04:00",
    "soap_end": "2025-03-20T17:00:00-04:00",
    "match_day": "2025-03-21T12:00:00-04:00",
}


def audited(season: Season, at: dt.datetime, rule: str) -> list[Any]:
    return [f for f in season.audit(at=at).findings if f.rule == rule]


def sources_present(findings: Any) -> None:
    assert findings and all(f.source for f in findings)


def test_every_new_rule_id_is_in_the_rulebook() -> None:
    new = {
        "checklist.unthanked",
        "checklist.news_untold",
        "rank.non_nrmp",
        "offer.outside_match",
        "spam.calls",
        "interview.cancel_notice",
        "signals.limit",
        "program.thanks_discouraged",
    }
    assert new <= RULE_IDS


# -- checklist.unthanked --------------------------------------------------------------


def test_an_unthanked_interview_warns_from_deadline_minus_7_days() -> None:
    season = FM.interviewed("p", INTERVIEW).season()
    assert audited(season, CHECKLIST_FROM - MINUTE, "checklist.unthanked") == []
    (found,) = audited(season, CHECKLIST_FROM, "checklist.unthanked")
    interviewed = next(r for r in season.records() if r.type == "interviewed")
    assert (found.severity, found.program, found.seq) == ("warn", "p", interviewed.seq)
    sources_present([found])
    checklist = season.what_now(CHECKLIST_FROM).checklist
    assert [(f.rule, f.program) for f in checklist if f.rule.startswith("checklist.")] == [
        ("checklist.unthanked", "p")
    ]


def test_a_thanked_interview_is_off_the_checklist() -> None:
    season = FM.interviewed("p", INTERVIEW).event("thanked", "p", INTERVIEW + HOUR).season()
    assert audited(season, DEADLINE, "checklist.unthanked") == []


def test_the_checklist_days_are_a_policy_number() -> None:
    season = FM.__class__(
        specialty="Family Medicine", policy={"checklist.days_before_deadline": 14}
    )
    season = season.interviewed("p", INTERVIEW).season()
    assert audited(season, DEADLINE - 14 * DAY - MINUTE, "checklist.unthanked") == []
    assert len(audited(season, DEADLINE - 14 * DAY, "checklist.unthanked")) == 1


def test_no_unthanked_item_where_no_contact_is_asked_or_thanks_are_not_expected() -> None:
    no_contact = FM.interviewed("p", INTERVIEW, no_post_interview_contact=True).season()
    assert audited(no_contact, DEADLINE, "checklist.unthanked") == []
    internal_medicine = History().interviewed("p", INTERVIEW).season()
    assert audited(internal_medicine, DEADLINE, "checklist.unthanked") == []


# -- checklist.news_untold --------------------------------------------------------------


def test_news_untold_to_an_interviewed_program_warns_at_the_news() -> None:
    history = FM.interviewed("p", INTERVIEW).event(
        "news_recorded", None, INTERVIEW + DAY, kind="exam", detail="Step 3 passed"
    )
    season = history.season()
    assert audited(season, CHECKLIST_FROM - MINUTE, "checklist.news_untold") == []
    (found,) = audited(season, CHECKLIST_FROM, "checklist.news_untold")
    news = next(r for r in season.records() if r.type == "news_recorded")
    assert (found.severity, found.program, found.seq) == ("warn", "p", news.seq)
    assert "Step 3 passed" in found.message
    told = history.event("update_sent", "p", INTERVIEW + 2 * DAY).season()
    assert audited(told, DEADLINE, "checklist.news_untold") == []


# -- rank.non_nrmp ----------------------------------------------------------------------


def test_a_program_outside_the_match_cannot_be_certified() -> None:
    history = FM.interviewed("in", INTERVIEW).interviewed(
        "out", INTERVIEW + DAY, nrmp_participating=False
    )
    season = history.season()
    with pytest.raises(PolicyRefusal) as refused:
        season.certify(["in", "out"], at=local("2027-02-10T10:00"))
    assert rules(refused.value, "block") == {"rank.non_nrmp"}
    assert season.certify(["in"], at=local("2027-02-10T10:00")).findings == ()
    season.certify(["in", "out"], at=local("2027-02-11T10:00"), override="it is in the Match")
    (found,) = [f for f in season.audit().findings if f.rule == "rank.non_nrmp"]
    assert (found.severity, found.program) == ("block", "out")
    sources_present([found])


# -- offer.outside_match ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "participating", "at", "warned"),
    [
        ("pre_match_contract", False, local("2026-11-01T10:00"), True),
        ("pre_match_contract", True, local("2026-11-01T10:00"), False),  # nrmp.all_in's
        ("soap_offer", True, local("2026-11-01T10:00"), True),
        ("soap_offer", True, MATCH_WEEK - MINUTE, True),
        ("soap_offer", True, MATCH_WEEK, False),
        ("soap_offer", True, SOAP_END, False),
        ("soap_offer", True, SOAP_END + MINUTE, True),
    ],
)
def test_offers_outside_the_match(
    kind: str, participating: bool, at: dt.datetime, warned: bool
) -> None:
    season = FM.applied("p", nrmp_participating=participating).season()
    recorded = season.record("offer_received", "p", at=at, kind=kind)
    found = [f for f in recorded.findings if f.rule == "offer.outside_match"]
    assert bool(found) is warned
    assert all(f.severity == "warn" and f.source for f in found)


# -- spam.calls -------------------------------------------------------------------------


def called(history: History, *times: dt.datetime, by: str = "applicant") -> History:
    for at in times:
        history = history.event("call_held", "p", at, initiated_by=by)
    return history


CALL = local("2026-10-05T10:00")


def test_a_second_call_within_the_gap_is_blocked_and_allowed_at_the_gap() -> None:
    season = called(FM.applied("p"), CALL).season()
    with pytest.raises(PolicyRefusal) as refused:
        season.record("call_held", "p", at=CALL + 14 * DAY - MINUTE, initiated_by="applicant")
    assert rules(refused.value, "block") == {"spam.calls"}
    assert all(f.source for f in refused.value.findings)
    at_the_gap = season.record("call_held", "p", at=CALL + 14 * DAY, initiated_by="applicant")
    assert "spam.calls" not in rules(at_the_gap)


def test_calls_the_program_starts_never_count() -> None:
    season = called(FM.applied("p"), *(CALL + n * HOUR for n in range(6)), by="program").season()
    assert season.record("call_held", "p", at=CALL + DAY, initiated_by="applicant").findings == ()


def test_a_call_counts_for_the_gap_before_a_message() -> None:
    season = called(FM.applied("p"), CALL).event(
        "news_recorded", None, CALL, kind="exam", detail="x"
    )
    season = season.season()
    verdict = season.check("inquiry", "p", at=CALL + DAY)
    assert "spam.gap" in rules(verdict, "block")


def test_calls_count_toward_the_cap() -> None:
    history = called(FM.applied("p"), *(CALL + 15 * n * DAY for n in range(5)))
    season = history.season()
    with pytest.raises(PolicyRefusal) as refused:
        season.record("call_held", "p", at=CALL + 80 * DAY, initiated_by="applicant")
    assert rules(refused.value, "block") == {"spam.calls"}
    assert "limit is 5" in refused.value.findings[0].message


def test_the_call_gap_is_the_spam_gap_policy_number() -> None:
    history = History(specialty="Family Medicine", policy={"spam.gap_days": 7})
    season = called(history.applied("p"), CALL).season()
    with pytest.raises(PolicyRefusal):
        season.record("call_held", "p", at=CALL + 7 * DAY - MINUTE, initiated_by="applicant")
    at_the_gap = season.record("call_held", "p", at=CALL + 7 * DAY, initiated_by="applicant")
    assert "spam.calls" not in rules(at_the_gap)


# -- interview.cancel_notice ------------------------------------------------------------


ON = "2026-11-20"


@pytest.mark.parametrize(
    ("event", "days_before", "by", "warned"),
    [
        ("interview_cancelled", 13, "applicant", True),
        ("interview_cancelled", 14, "applicant", False),
        ("interview_cancelled", 2, "program", False),
        ("interview_rescheduled", 13, "applicant", True),
        ("interview_rescheduled", 14, "applicant", False),
    ],
)
def test_cancel_or_move_an_interview_with_14_days_notice(
    event: str, days_before: int, by: str, warned: bool
) -> None:
    season = FM.add("p").apply("p").invite("p", interview_on=ON).season()
    at = local(f"{ON}T09:00") - days_before * DAY
    fields = {"interview_on": "2026-12-04"} if event == "interview_rescheduled" else {}
    recorded = season.record(event, "p", at=at, initiated_by=by, **fields)
    found = [f for f in recorded.findings if f.rule == "interview.cancel_notice"]
    assert bool(found) is warned
    assert all(f.severity == "warn" and f.source for f in found)


def test_the_notice_is_a_policy_number() -> None:
    history = History(specialty="Family Medicine", policy={"interview.notice_days": 3})
    season = history.add("p").apply("p").invite("p", interview_on=ON).season()
    recorded = season.record(
        "interview_cancelled", "p", at=local(f"{ON}T09:00") - 3 * DAY, initiated_by="applicant"
    )
    assert "interview.cancel_notice" not in rules(recorded)


# -- signals.limit ----------------------------------------------------------------------


def signalled(history: History, tiers: list[str], specialty: str | None = None) -> Season:
    extra = {} if specialty is None else {"specialty": specialty}
    for n, _ in enumerate(tiers):
        history = history.add(f"p{n}", **extra)
    for n, tier in enumerate(tiers):
        history = history.event(
            "signal_sent", f"p{n}", local("2026-09-24T10:00") + n * MINUTE, tier=tier
        )
    return history.add("next", **extra).season()


SIGNAL_AT = local("2026-09-24T12:00")


def test_internal_medicine_allows_3_gold_and_12_silver() -> None:
    season = signalled(History(), ["gold"] * 3 + ["silver"] * 11)
    assert "signals.limit" not in rules(
        season.record("signal_sent", "next", at=SIGNAL_AT, tier="silver"), "block"
    )
    season = signalled(History(), ["gold"] * 3)
    with pytest.raises(PolicyRefusal) as refused:
        season.record("signal_sent", "next", at=SIGNAL_AT, tier="gold")
    (found,) = refused.value.findings
    assert found.rule == "signals.limit" and "3 gold" in found.message
    assert "AAMC" in found.source and "provisional" in found.message  # 2027: carried over


def test_a_specialty_with_one_kind_of_signal_has_no_gold() -> None:
    season = signalled(History(specialty="Emergency Medicine"), ["signal"] * 4)
    assert season.record("signal_sent", "next", at=SIGNAL_AT, tier="signal").findings == ()
    with pytest.raises(PolicyRefusal) as refused:
        season.record("signal_sent", "p0", at=SIGNAL_AT, tier="signal")  # a second to p0
    assert rules(refused.value) == {"signals.limit"}
    season = signalled(History(specialty="Emergency Medicine"), [])
    with pytest.raises(PolicyRefusal) as refused:
        season.record("signal_sent", "next", at=SIGNAL_AT, tier="gold")
    assert "no gold signals" in refused.value.findings[0].message


def test_the_2025_cycle_is_verified_and_its_season_starts_with_its_six_dates() -> None:
    history = History(match_year=2025, calendar=CALENDAR_2025, started="2024-09-20T10:00:00-04:00")
    season = history.add("p", at="2024-09-21T10:00:00-04:00").season(
        now=dt.datetime(2024, 10, 1, tzinfo=dt.UTC)
    )
    report = season.what_now()
    assert report.calendar_provisional  # dates given with the season
    assert not report.signals_provisional and report.to_json()["signals_provisional"] is False
    provisional = History().season().what_now(local("2026-10-01T10:00"))
    assert provisional.signals_provisional and provisional.to_json()["signals_provisional"]
    assert provisional.signals_provisional_because == "the ERAS 2025 numbers carried over"
    assert provisional.checklist == ()  # a report's field, not a rule's finding


def test_a_year_without_a_calendar_needs_all_six_dates() -> None:
    dates = {k: v.replace("2025", "2028").replace("2024", "2027") for k, v in CALENDAR_2025.items()}
    history = History(match_year=2028, calendar=dates, started="2027-09-20T10:00:00-04:00")
    assert history.season(now=dt.datetime(2027, 10, 1, tzinfo=dt.UTC)).state().calendar.provisional
    del dates["soap_end"]
    with pytest.raises(InputError, match="missing: soap_end"):
        History(match_year=2028, calendar=dates, started="2027-09-20T10:00:00-04:00").season(
            now=dt.datetime(2027, 10, 1, tzinfo=dt.UTC)
        )


# -- nrmp.soap_initiation on advocate_contacted -----------------------------------------


def test_an_advocate_may_not_start_contact_during_soap() -> None:
    season = FM.applied("p").season()
    assert (
        season.record(
            "advocate_contacted", "p", at=MATCH_WEEK - MINUTE, advocate="Dr. Mentor"
        ).findings
        == ()
    )
    with pytest.raises(PolicyRefusal) as refused:
        season.record("advocate_contacted", "p", at=MATCH_WEEK, advocate="Dr. Mentor")
    assert rules(refused.value) == {"nrmp.soap_initiation"}
    assert "Dr. Mentor" in refused.value.findings[0].message
    season.record("program_contacted", "p", at=MATCH_WEEK + HOUR, during_soap=True)
    assert (
        season.record(
            "advocate_contacted", "p", at=MATCH_WEEK + 2 * HOUR, advocate="Dr. Mentor"
        ).findings
        == ()
    )


# -- program.thanks_discouraged ---------------------------------------------------------


def test_internal_medicine_notes_that_thanks_are_not_expected() -> None:
    verdict = (
        History().interviewed("p", INTERVIEW).season().check("thank_you", "p", INTERVIEW + HOUR)
    )
    assert verdict.outcome == "allowed"
    assert rules(verdict, "info") == {"program.thanks_discouraged"}
    with (fixtures_dir() / "specialties.toml").open("rb") as f:
        internal_medicine = tomllib.load(f)["specialties"]["Internal Medicine"]
    assert verdict.findings[0].source == internal_medicine["source"]  # the data's, not the code's
    assert "AAIM" in verdict.findings[0].source
    season = History().interviewed("p", INTERVIEW).season()
    recorded = season.record("thanked", "p", at=INTERVIEW + HOUR)
    assert recorded.findings == () and season.audit().findings == ()  # advice, not a finding
    other = FM.interviewed("p", INTERVIEW).season().check("thank_you", "p", INTERVIEW + HOUR)
    assert other.findings == ()
    own = History().interviewed("p", INTERVIEW, specialty="Family Medicine").season()
    assert own.check("thank_you", "p", INTERVIEW + HOUR).findings == ()


# -- no window where none can open --------------------------------------------------------


def test_an_inquiry_already_sent_has_no_window() -> None:
    season = FM.applied("p").event("inquiry_sent", "p", local("2026-10-20T10:00")).season()
    verdict = season.check("inquiry", "p", local("2026-11-20T10:00"))
    assert "inquiry.once" in rules(verdict, "block")
    assert (verdict.opens_at, verdict.due_by, verdict.closes_at) == (None, None, None)
    items = season.what_now(local("2026-11-20T10:00")).items
    assert [i.status for i in items if i.verdict.action == "inquiry"] == ["blocked"]


def test_a_second_intent_has_no_window() -> None:
    season = (
        FM.interviewed("p", INTERVIEW)
        .interviewed("q", INTERVIEW + DAY)
        .event("intent_sent", "p", local("2027-01-10T10:00"))
        .season()
    )
    verdict = season.check("intent", "q", local("2027-01-12T10:00"))
    assert "intent.single" in rules(verdict, "block")
    assert (verdict.opens_at, verdict.due_by, verdict.closes_at) == (None, None, None)


def test_a_no_contact_program_shows_no_thank_you_due() -> None:
    season = FM.interviewed("p", INTERVIEW, no_post_interview_contact=True).season()
    verdict = season.check("thank_you", "p", INTERVIEW + HOUR)
    assert verdict.outcome == "blocked" and verdict.due_by is None and verdict.opens_at is None


def test_a_thank_you_in_time_leaves_no_late_note() -> None:
    season = FM.interviewed("p", INTERVIEW).event("thanked", "p", INTERVIEW + 20 * HOUR).season()
    later = season.what_now(INTERVIEW + 5 * DAY)
    (item,) = [i for i in later.items if i.verdict.action == "thank_you"]
    assert rules(item.verdict) == {"thanks.once"}


# -- visa.mismatch names the program at rank time ------------------------------------------


def test_visa_mismatch_at_rank_time_names_each_program() -> None:
    season = (
        History()
        .interviewed("a", INTERVIEW, sponsors_visas=["h1b"])
        .interviewed("b", INTERVIEW + DAY, sponsors_visas=[])
        .event("rank_certified", None, local("2027-02-10T10:00"), order=["a", "b"])
        .season()
    )
    certify = next(r for r in season.records() if r.type == "rank_certified")
    found = [
        f for f in season.audit().findings if f.rule == "visa.mismatch" and f.seq == certify.seq
    ]
    assert sorted(f.program for f in found) == ["a", "b"]


# -- intent is one choice ------------------------------------------------------------------


def test_intent_is_one_season_level_item() -> None:
    history = (
        FM.interviewed("a", INTERVIEW)
        .interviewed("b", INTERVIEW + DAY)
        .invited("c")  # an interview still to come
    )
    season = history.season()
    report = season.what_now(local("2026-11-15T10:00"))
    (item,) = report.season_items
    assert item.verdict.action == "intent" and item.verdict.program is None
    assert item.status == "opens_later"
    doc = report.to_json()
    assert len(doc["season_actions"]) == 1
    assert {a["action"] for a in doc["actions"]} >= {"intent"}  # every pair is still listed
    certified = history.interview("c", local("2026-11-20T10:00")).event(
        "rank_certified", None, local("2027-02-10T10:00"), order=["b", "a", "c"]
    )
    (item,) = certified.season().what_now(local("2027-02-11T10:00")).season_items
    assert item.verdict.program == "b" and item.status == "allowed"


# -- messages read as English --------------------------------------------------------------


def test_after_the_deadline_an_update_reads_as_english() -> None:
    season = (
        FM.interviewed("p", INTERVIEW)
        .event("news_recorded", None, INTERVIEW + DAY, kind="exam", detail="Step 3")
        .season()
    )
    verdict = season.check("update", "p", DEADLINE + HOUR)
    message = next(f.message for f in verdict.findings if f.rule == "deadline.passed")
    assert "so an update now" in message


def test_a_retraction_cannot_be_retracted_in_english() -> None:
    season = FM.applied("p").season()
    retraction = season.retract(season.records()[-1].seq, "typo", at=local("2026-10-01T10:00"))
    with pytest.raises(InputError, match="an event_retracted event cannot be retracted"):
        season.retract(retraction.record.seq, "again", at=local("2026-10-02T10:00"))


# -- the command line: init --calendar, import lists its warnings --------------------------


def test_init_with_a_calendar_file_starts_any_match_year(tmp_path: Path) -> None:
    script = Script(tmp_path, now="2027-10-01T10:00:00-04:00")
    lines = [
        f"{k} = {v.replace('2025', '2028').replace('2024', '2027')}"
        for k, v in CALENDAR_2025.items()
    ]
    (tmp_path / "cal.toml").write_text("\n".join(lines) + "\n")
    init = ("init", "--match-year", "2028", "--specialty", "Internal Medicine")
    rest = ("--timezone", "America/New_York", "--visa", "j1", "--name", "A B")
    (tmp_path / "part.toml").write_text("\n".join(lines[:3]) + "\n")
    refused = script(*init, *rest, "--calendar", "part.toml", code=2)
    assert "missing: match_week_start, soap_end, match_day" in refused.stderr
    script.ok(*init, *rest, "--calendar", "cal.toml")
    assert "calendar of this Match is provisional" in script.ok("now").stdout
    assert script.json("now", "--json")["calendar_provisional"] is True
    assert script.json("now", "--json")["signals_provisional"] is False  # no 2028 numbers


def test_import_lists_each_warning(tmp_path: Path) -> None:
    script = Script(tmp_path, now="2027-01-15T09:00:00-05:00")
    events = [
        {
            "type": "season_started",
            "season": "s",
            "at": "2026-09-20T10:00:00-04:00",
            "match_year": 2027,
            "specialty": "Family Medicine",
            "timezone": "America/New_York",
            "visa": "none",
            "applicant_name": "A B",
        },
        {"type": "program_added", "program": "p", "at": "2026-09-21T10:00:00-04:00", "name": "P"},
        {"type": "applied", "program": "p", "at": "2026-09-24T10:00:00-04:00"},
        {"type": "invited", "program": "p", "at": "2026-10-01T10:00:00-04:00"},
        {"type": "interviewed", "program": "p", "at": "2026-11-10T09:00:00-05:00"},
        {"type": "thanked", "program": "p", "at": "2026-11-14T09:00:00-05:00"},
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    out = script.ok("import", "in.jsonl").stdout
    assert "(0 with an override, 1 warning):" in out
    assert "line 6 p: thanks.window: late" in out
