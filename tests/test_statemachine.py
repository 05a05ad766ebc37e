"""The per-program state machine (DESIGN §3): the fast table, the ``transitions`` machine, the
diagram, and the rules of the design written out once more by hand. In process: the library
only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from transitions import MachineError

from prematch.engine import STATES, mermaid
from prematch.engine._statemachine import (
    INITIAL,
    TABLE,
    TRANSITIONS,
    allowed_triggers,
    machine,
    next_state,
    trigger_of,
)

TRIGGERS = list(dict.fromkeys(t["trigger"] for t in TRANSITIONS))


@given(st.lists(st.sampled_from(TRIGGERS), max_size=30))
def test_the_compiled_table_agrees_with_the_transitions_machine(triggers):
    m = machine()
    program = type("P", (), {})()
    m.add_model(program)
    try:
        assert program.state == INITIAL
        for trigger in triggers:
            before = program.state
            predicted = next_state(before, trigger)
            try:
                m.events[trigger].trigger(program)
            except MachineError:
                assert program.state == before  # a refused trigger changes nothing
                assert predicted is None, f"table allows {trigger} from {before}"
            else:
                assert program.state == predicted, f"{trigger} from {before}"
    finally:
        m.remove_model(program)


def test_the_machine_and_the_table_agree_on_every_state_and_trigger():
    m = machine()
    program = type("P", (), {})()
    m.add_model(program)
    try:
        for state in STATES:
            for trigger in TRIGGERS:
                m.set_state(state, model=program)
                try:
                    m.events[trigger].trigger(program)
                    reached: str | None = program.state
                except MachineError:
                    reached = None
                assert TABLE.get((state, trigger)) == reached, (state, trigger)
    finally:
        m.remove_model(program)
    assert program not in m.models


def test_allowed_triggers_are_exactly_the_table_entries():
    for state in STATES:
        assert allowed_triggers(state) == [t for t in TRIGGERS if (state, t) in TABLE]


def test_the_diagram_shows_every_state():
    diagram = mermaid()
    lines = diagram.splitlines()
    assert lines[0] == "stateDiagram-v2"
    nodes = set()
    for line in lines[1:]:
        source, _, target = line.partition("-->")
        nodes |= {source.strip(), target.split(":")[0].strip()}
    assert nodes - {"[*]"} == set(STATES)
    assert f"[*] --> {INITIAL}" in diagram


# DESIGN §3, written out by hand: the states each event may happen in, and where it leads.
LIVE = {"listed", "applied", "waitlisted", "invited", "interviewed", "ranked"}
ANY = set(STATES)
DESIGN = {
    "applied": ({"listed"}, "applied"),
    "waitlisted": ({"applied"}, "waitlisted"),
    "invited": ({"listed", "applied", "waitlisted"}, "invited"),
    "interviewed": ({"invited"}, "interviewed"),
    "rejected": ({"listed", "applied", "waitlisted"}, "rejected"),
    "declined": ({"invited"}, "declined"),
    "withdrawn": (LIVE, "withdrawn"),
    "interview_rescheduled": ({"invited"}, None),
    "interview_cancelled_by_applicant": ({"invited"}, "declined"),
    "interview_cancelled_by_program": ({"invited"}, "applied"),
    "inquiry_sent": ({"listed", "applied", "waitlisted"}, None),
    "thanked": ({"interviewed", "ranked"}, None),
    "interest_sent": ({"interviewed", "ranked"}, None),
    "intent_sent": ({"interviewed", "ranked"}, None),
    "update_sent": ({"applied", "waitlisted", "invited", "interviewed", "ranked"}, None),
    "call_held": (ANY, None),
    "program_contacted": (ANY, None),
    "offer_received": (ANY, None),
    "connection_recorded": (ANY, None),
    "program_updated": (ANY, None),
    "note_added": (ANY, None),
    "signal_sent": ({"listed", "applied"}, None),
    "advocate_contacted": (ANY, None),
}


@pytest.mark.parametrize("event", sorted(DESIGN))
def test_each_event_is_allowed_exactly_where_the_design_says(event):
    sources, dest = DESIGN[event]
    for state in STATES:
        expected = (dest or state) if state in sources else None
        assert next_state(state, event) == expected, state


def test_every_trigger_is_written_out_above():
    assert set(TRIGGERS) == set(DESIGN) | {"rank", "unrank"}


@pytest.mark.parametrize(
    ("initiated_by", "trigger"),
    [
        ("applicant", "interview_cancelled_by_applicant"),
        ("program", "interview_cancelled_by_program"),
    ],
)
def test_a_cancelled_interview_fires_the_trigger_of_whoever_cancelled(initiated_by, trigger):
    assert trigger_of("interview_cancelled", {"initiated_by": initiated_by}) == trigger
    assert trigger_of("interview_rescheduled", {"initiated_by": initiated_by}) == (
        "interview_rescheduled"
    )


def test_only_interviewed_programs_can_be_ranked():
    assert {s for s in STATES if next_state(s, "rank") is not None} == {"interviewed", "ranked"}
    assert next_state("interviewed", "rank") == "ranked"
