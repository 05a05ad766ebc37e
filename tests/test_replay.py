"""Replay (DESIGN §2, §3): order, retractions, "as of", and refusals that write nothing.

In process: the library only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from db_bytes import db_files, settled_db_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prematch.engine import InputError, StructuralError, UnknownProgramError, replay
from prematch.engine._records import Record
from prematch.engine._replay import in_replay_order, replay_key

MERCY = ("program_added", "mercy", "2026-09-21", {"name": "Mercy Hospital Internal Medicine"})
OAK = (
    "program_added",
    "oak",
    "2026-09-21T12:00:00-04:00",
    {"name": "Oak Valley Internal Medicine"},
)
INTERVIEW = "2026-10-20T09:00:00-04:00"


def ny(text: str) -> datetime:
    """An instant written with its New York offset, as a UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


# -- replay order ----------------------------------------------------------------------------


def test_a_back_filled_event_lands_where_it_happened(store, clock, season_of):
    season = season_of(store, [MERCY, ("invited", "mercy", "2026-10-05")], clock)

    # Remembered later: the application went in before the invitation came.
    late = season.record("applied", "mercy", at="2026-10-01")

    assert late.record.seq == 4
    history = [(h.record.seq, h.record.type) for h in season.history()]
    assert history == [(1, "season_started"), (2, "program_added"), (4, "applied"), (3, "invited")]
    mercy = season.state().programs["mercy"]
    assert mercy.state == "invited"
    assert mercy.applied_at == ny("2026-10-01T00:00:00-04:00")


def test_a_back_filled_event_that_breaks_what_followed_is_refused(store, clock, season_of):
    season = season_of(
        store,
        [MERCY, ("invited", "mercy", "2026-10-05"), ("interviewed", "mercy", INTERVIEW)],
        clock,
    )
    with pytest.raises(StructuralError, match="interviewed"):
        season.record("declined", "mercy", at="2026-10-10")  # declined, then interviewed?
    assert [r.type for r in season.records()][-1] == "interviewed"


def test_events_at_the_same_instant_replay_in_the_order_they_were_recorded(store, clock, season_of):
    same = "2026-10-05T12:00:00-04:00"
    season = season_of(
        store, [MERCY, ("applied", "mercy", same), ("invited", "mercy", same)], clock
    )
    assert [h.record.type for h in season.history()][-2:] == ["applied", "invited"]
    assert season.state().programs["mercy"].state == "invited"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_replay_does_not_depend_on_the_order_records_are_read_in(store, clock, season_of, data):
    if not store.seasons():
        season_of(
            store,
            [
                MERCY,
                OAK,
                ("applied", "mercy", "2026-09-22"),
                ("applied", "oak", "2026-09-22"),
                ("invited", "mercy", "2026-10-05"),
                ("rejected", "oak", "2026-10-06"),
                ("interviewed", "mercy", INTERVIEW),
                ("news_recorded", None, "2026-11-01", {"kind": "exam", "detail": "Step 3 passed"}),
                ("thanked", "mercy", "2026-10-21"),
                ("update_sent", "mercy", "2026-11-02"),
            ],
            clock,
        )
    records = store.season_records("im-2027")
    shuffled = data.draw(st.permutations(records))
    assert replay(shuffled) == replay(records)


_TYPES = ("season_started", "program_added", "applied", "note_added")


@given(
    st.lists(
        st.tuples(st.sampled_from(_TYPES), st.integers(0, 3)), min_size=1, max_size=12
    ).flatmap(lambda kinds: st.tuples(st.just(kinds), st.permutations(range(1, len(kinds) + 1))))
)
def test_replay_order_is_phase_then_instant_then_seq(case):
    """The sort replay uses (by seq, by instant, founding records moved first, or left in
    place when already first) is the order of :func:`replay_key`, ties and all."""
    kinds, seqs = case
    start = datetime(2026, 9, 1, tzinfo=UTC)
    records = [
        Record(seq, "s", "p", kind, 1, start + timedelta(days=day), "", {}, None, "")
        for (kind, day), seq in zip(kinds, seqs, strict=True)
    ]
    assert in_replay_order(list(records)) == sorted(records, key=replay_key)


# -- retraction ------------------------------------------------------------------------------


def test_a_retracted_event_is_skipped_on_replay_and_flagged_in_history(store, clock, season_of):
    season = season_of(store, [MERCY, ("applied", "mercy", "2026-09-22")], clock)
    mistake = season.record("invited", "mercy", at="2026-10-05").record  # it was Oak, not Mercy

    fix = season.retract(mistake.seq, "logged against the wrong program", at="2026-10-06").record

    assert season.state().programs["mercy"].state == "applied"
    flags = {h.record.seq: h.retracted for h in season.history()}
    assert flags == {1: False, 2: False, 3: False, mistake.seq: True, fix.seq: False}
    # The mistake is fixed, so the real invitation can now be recorded.
    season.record("invited", "mercy", at="2026-10-20")
    assert season.state().programs["mercy"].state == "invited"


def test_a_retraction_corrects_every_instant_even_before_it_was_made(store, clock, season_of):
    season = season_of(store, [MERCY, ("applied", "mercy", "2026-09-22")], clock)
    mistake = season.record("withdrawn", "mercy", at="2026-10-05").record
    season.retract(mistake.seq, "clicked the wrong button", at="2026-10-08")

    assert season.state(at="2026-10-06").programs["mercy"].state == "applied"
    assert season.state(at="2026-10-09").programs["mercy"].state == "applied"
    assert [h.retracted for h in season.history(at="2026-10-06")][-1] is True


def test_a_retraction_that_would_make_a_later_event_impossible_is_refused(
    store, db_path, clock, season_of
):
    season = season_of(
        store,
        [
            MERCY,
            ("invited", "mercy", "2026-10-05"),
            ("interviewed", "mercy", INTERVIEW),
            ("thanked", "mercy", "2026-10-21T09:00:00-04:00"),
        ],
        clock,
    )
    interviewed, thanked = season.records()[3:5]
    before = settled_db_files(db_path)

    with pytest.raises(StructuralError) as excinfo:
        season.retract(interviewed.seq, "wrong date", at="2026-10-22")

    error = excinfo.value
    assert (error.program, error.state, error.event) == ("mercy", "invited", "thanked")
    assert f"seq {thanked.seq}" in str(error)
    assert db_files(db_path) == before


@pytest.mark.parametrize("target", ["next", "far", "itself"])
def test_a_retraction_names_an_earlier_event_on_every_path(store, clock, season_of, target):
    """Through ``record`` (as a service or an import would), a retraction of a seq not yet
    written was accepted and took the next event written with it."""
    season = season_of(store, [MERCY], clock)
    head = season.records()[-1].seq
    seq = {"next": head + 2, "far": 999, "itself": head + 1}[target]
    with pytest.raises(InputError) as excinfo:
        season.record("event_retracted", retracts=seq, reason="typo", at="2026-09-25")
    assert (excinfo.value.field, excinfo.value.message) == (
        "retracts",
        f"season {season.id!r} has no event with seq {seq}",
    )
    applied = season.record("applied", "mercy", at="2026-09-22").record
    assert season.state().programs["mercy"].state == "applied"
    assert not any(h.retracted for h in season.history()), applied


def test_retracting_a_program_that_has_events_is_refused_as_impossible(store, clock, season_of):
    season = season_of(store, [MERCY, ("applied", "mercy", "2026-09-22")], clock)
    added, applied = season.records()[1:3]
    with pytest.raises(StructuralError) as excinfo:
        season.retract(added.seq, "added by mistake", at="2026-09-25")
    assert f"the existing event seq {applied.seq} impossible" in str(excinfo.value)
    assert "has no program 'mercy'" in str(excinfo.value)
    assert f"retract seq {applied.seq} first (it depends on this)" in str(excinfo.value)


def test_an_impossible_event_says_what_it_needs(store, clock, season_of):
    """``log``, ``import`` and ``sync`` said only that the event was not possible; ``check``
    said what it needs."""
    season = season_of(store, [MERCY], clock)
    with pytest.raises(StructuralError) as excinfo:
        season.record("thanked", "mercy", at="2026-09-25")
    assert excinfo.value.message == (
        "program 'mercy' is 'listed': 'thanked' is not possible from there "
        "(thanked needs one of: interviewed, ranked)"
    )
    with pytest.raises(StructuralError) as excinfo:
        season.record("interview_cancelled", "mercy", at="2026-09-25", initiated_by="program")
    assert excinfo.value.message.endswith("(interview_cancelled needs one of: invited)")


def test_a_retraction_that_breaks_later_events_names_each_to_retract_first(store, clock, season_of):
    """The refusal named the first event it broke and gave no next step."""
    season = season_of(
        store,
        [
            MERCY,
            ("invited", "mercy", "2026-10-05"),
            ("interviewed", "mercy", INTERVIEW),
            ("thanked", "mercy", "2026-10-20T18:00:00-04:00"),
            ("interest_sent", "mercy", "2026-11-20"),
        ],
        clock,
    )
    interviewed, thanked, interest = season.records()[-3:]
    with pytest.raises(StructuralError) as excinfo:
        season.retract(interviewed.seq, "wrong time", at="2026-11-25")
    assert excinfo.value.message.startswith(
        f"recording this would make the existing event seq {thanked.seq} impossible: "
        "program 'mercy' is 'invited': 'thanked' is not possible from there"
    )
    assert excinfo.value.message.endswith(
        f"; retract seq {thanked.seq}, {interest.seq} first (they depend on this), "
        "then log them again if they still hold"
    )


# -- "as of" ---------------------------------------------------------------------------------


def test_state_as_of_an_instant_uses_only_events_at_or_before_it(store, clock, season_of):
    season = season_of(
        store,
        [
            MERCY,
            ("applied", "mercy", "2026-09-22"),
            ("invited", "mercy", "2026-10-01"),
            ("interviewed", "mercy", INTERVIEW),
        ],
        clock,
    )
    interview = ny(INTERVIEW)

    assert season.state(at="2026-09-30").programs["mercy"].state == "applied"
    assert season.state(at=interview - timedelta(microseconds=1)).programs["mercy"].state == (
        "invited"
    )
    assert season.state(at=interview).programs["mercy"].state == "interviewed"
    assert season.state(at=INTERVIEW).programs["mercy"].state == "interviewed"
    # A program exists at every instant of the season (DESIGN §2), listed before its events.
    assert season.state(at="2026-09-20T23:00:00-04:00").programs["mercy"].state == "listed"
    assert [h.record.type for h in season.history(at="2026-09-30")] == [
        "season_started",
        "program_added",
        "applied",
    ]


def test_state_before_init_ran_is_the_season_as_it_stood_then(season):
    # The season exists at every instant (DESIGN §2): init after the facts is back-filling.
    season.add_program("mercy", "Mercy IM", at="2026-10-01")
    state = season.state(at="2026-09-01")
    assert state.id == season.id
    assert state.programs["mercy"].state == "listed"


# -- the clock and time zones ----------------------------------------------------------------


def test_an_event_after_the_clock_is_refused(season, clock):
    now = clock()
    season.add_program("mercy", "Mercy IM", at=now)  # exactly now is fine

    with pytest.raises(InputError, match="after now") as excinfo:
        season.record("applied", "mercy", at=now + timedelta(microseconds=1))
    assert excinfo.value.field == "at"
    with pytest.raises(InputError, match="after now"):
        season.record("applied", "mercy", at="2027-01-16")
    assert [r.type for r in season.records()] == ["season_started", "program_added"]


def test_a_naive_datetime_is_refused(season):
    # Text without an offset is read in a timezone (tests/test_times.py); a naive datetime
    # object is not: Python code means too many things by one.
    season.add_program("mercy", "Mercy IM", at="2026-09-21")
    with pytest.raises(InputError) as excinfo:
        season.record("applied", "mercy", at=datetime(2026, 12, 1, 10))
    assert excinfo.value.field == "at"
    assert len(season.records()) == 2


def test_a_naive_time_is_refused_in_a_question_too(season):
    with pytest.raises(InputError):
        season.state(at=datetime(2026, 12, 1, 10))


# -- structural refusals write nothing -------------------------------------------------------

SETUP = [
    MERCY,
    OAK,
    ("applied", "mercy", "2026-09-22"),
    ("applied", "oak", "2026-09-22"),
    ("rejected", "oak", "2026-10-02"),
]

REFUSALS = {
    "thank-a-program-never-interviewed": (
        lambda s: s.record("thanked", "mercy", at="2026-10-05"),
        ("mercy", "applied", "thanked"),
    ),
    "invite-a-rejected-program": (
        lambda s: s.record("invited", "oak", at="2026-10-05"),
        ("oak", "rejected", "invited"),
    ),
    "add-a-program-twice": (
        lambda s: s.add_program("mercy", "Mercy again", at="2026-10-05"),
        ("mercy", "listed", "program_added"),  # programs are added before any event (phase 1)
    ),
    "certify-a-program-not-interviewed": (
        lambda s: s.certify(["mercy"], at="2026-10-05"),
        ("mercy", "applied", "rank_certified"),
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_structural_refusal_leaves_the_file_byte_for_byte_unchanged(
    store, db_path, clock, season_of, case
):
    season = season_of(store, SETUP, clock)
    attempt, _ = REFUSALS[case]
    before = settled_db_files(db_path)

    with pytest.raises(StructuralError):
        attempt(season)

    assert db_files(db_path) == before
    assert len(season.records()) == 1 + len(SETUP)


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_structural_refusal_names_the_program_its_state_and_the_event(
    store, clock, season_of, case
):
    season = season_of(store, SETUP, clock)
    attempt, (program, state, event) = REFUSALS[case]

    with pytest.raises(StructuralError) as excinfo:
        attempt(season)

    error = excinfo.value
    assert (error.program, error.state, error.event) == (program, state, event)
    message = str(error)
    assert repr(program) in message
    assert repr(state) in message
    assert event in message


@pytest.mark.parametrize(
    "attempt",
    [
        lambda s: s.record("applied", "nowhere-im", at="2026-10-05"),
        lambda s: s.certify(["nowhere-im"], at="2026-10-05"),
    ],
    ids=["log", "certify"],
)
def test_an_unknown_program_is_refused_and_leaves_the_file_unchanged(
    store, db_path, clock, season_of, attempt
):
    season = season_of(store, SETUP, clock)
    before = settled_db_files(db_path)

    with pytest.raises(UnknownProgramError) as excinfo:
        attempt(season)

    assert excinfo.value.field == "program"
    assert "'nowhere-im'" in str(excinfo.value)
    assert db_files(db_path) == before


def test_an_update_naming_news_dated_after_it_says_so(store, clock, season_of):
    """It said the season had no such news, though ``history`` showed it."""
    season = season_of(
        store,
        [
            MERCY,
            ("applied", "mercy", "2026-09-22"),
            ("news_recorded", None, "2026-11-10", {"kind": "exam", "detail": "Step 3 passed"}),
        ],
        clock,
    )
    news = season.records()[-1].seq
    with pytest.raises(InputError) as excinfo:
        season.record("update_sent", "mercy", at="2026-11-05", news_seq=news)
    assert (excinfo.value.field, excinfo.value.message) == (
        "news_seq",
        f"the news seq {news} is dated 2026-11-10T00:00:00-05:00, after this update "
        "(2026-11-05T00:00:00-05:00): an update tells only news recorded before it; "
        "date the update after the news",
    )
    with pytest.raises(InputError, match="has no recorded news with seq 999"):
        season.record("update_sent", "mercy", at="2026-11-05", news_seq=999)
