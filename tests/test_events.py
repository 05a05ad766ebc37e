"""Events (DESIGN §2, contract): the types, their models, the JSON schema, validation."""

from __future__ import annotations

import json
import typing
from datetime import datetime

import pydantic
import pytest
from history import History

from prematch.engine import (
    EVENT_TYPES,
    PROGRAM_SCOPE,
    InputError,
    NoRules,
    event_json_schema,
    validate_event,
    validate_payload,
)
from prematch.engine._events import _LISTS, Event

DESIGN_TYPES = [
    "season_started",
    "program_added",
    "applied",
    "connection_recorded",
    "inquiry_sent",
    "invited",
    "interviewed",
    "thanked",
    "news_recorded",
    "update_sent",
    "interest_sent",
    "intent_sent",
    "call_held",
    "program_contacted",
    "offer_received",
    "rejected",
    "declined",
    "withdrawn",
    "rank_certified",
    "event_retracted",
    "program_updated",
    "waitlisted",
    "interview_rescheduled",
    "interview_cancelled",
    "note_added",
    "signal_sent",
    "advocate_contacted",
]
"""The event types of DESIGN §2, in the order of its table."""

START = {
    "match_year": 2027,
    "specialty": "Internal Medicine",
    "timezone": "America/New_York",
    "visa": "j1",
    "applicant_name": "Test Applicant",
}

EXAMPLE_PAYLOADS: dict[str, dict[str, typing.Any]] = {
    "season_started": START,
    "program_added": {"name": "Mercy IM", "sponsors_visas": ["j1"]},
    "connection_recorded": {"kind": "mentor"},
    "invited": {"interview_on": "2026-10-20"},
    "thanked": {"recipients": ["program director"]},
    "news_recorded": {"kind": "exam", "detail": "Passed Step 3"},
    "update_sent": {"news_seq": 3},
    "call_held": {"initiated_by": "program"},
    "program_contacted": {"asked_rank": True},
    "offer_received": {"kind": "soap_offer"},
    "rank_certified": {"order": ["mercy", "oak"]},
    "event_retracted": {"retracts": 3, "reason": "logged twice"},
    "program_updated": {"no_post_interview_contact": True},
    "interview_rescheduled": {"interview_on": "2026-10-27", "initiated_by": "program"},
    "interview_cancelled": {"initiated_by": "applicant"},
    "note_added": {"text": "PD mentioned a research track"},
    "signal_sent": {"tier": "gold"},
    "advocate_contacted": {"advocate": "Dr. Rao, research mentor", "detail": "called the PD"},
}
"""A valid payload per type (types missing here take an empty payload)."""


def example(kind: str, **common: typing.Any) -> dict[str, typing.Any]:
    """A whole valid event of type ``kind``."""
    data: dict[str, typing.Any] = {
        "type": kind,
        "season": "im-2027",
        "occurred_at": "2026-10-01T10:00:00-04:00",
        "payload": EXAMPLE_PAYLOADS.get(kind, {}),
    }
    if PROGRAM_SCOPE[kind] == "required":
        data["program"] = "mercy"
    data.update(common)
    return data


def union_models() -> dict[str, type[pydantic.BaseModel]]:
    """The models of the discriminated union ``Event``, by their ``type`` tag."""
    union, *_ = typing.get_args(Event)
    return {model.model_fields["type"].default: model for model in typing.get_args(union)}


# -- the types -------------------------------------------------------------------------------


def test_the_event_types_are_those_of_the_design():
    assert list(EVENT_TYPES) == DESIGN_TYPES


def test_every_event_type_has_a_model_in_the_union_with_its_payload():
    models = union_models()
    assert set(models) == set(EVENT_TYPES)
    for kind, model in models.items():
        assert model.model_fields["payload"].annotation is EVENT_TYPES[kind], kind


def test_which_events_name_a_program_follows_the_design():
    season_level = {k for k, scope in PROGRAM_SCOPE.items() if scope == "forbidden"}
    assert set(PROGRAM_SCOPE) == set(EVENT_TYPES)
    assert season_level == {"season_started", "news_recorded", "rank_certified"}
    assert PROGRAM_SCOPE["event_retracted"] == "optional"
    assert PROGRAM_SCOPE["note_added"] == "optional"


@pytest.mark.parametrize("kind", DESIGN_TYPES)
def test_every_event_type_validates_into_its_own_model(kind):
    event = validate_event(example(kind))
    assert event.type == kind
    assert type(event) is union_models()[kind]
    assert isinstance(event.payload, EVENT_TYPES[kind])


def test_the_json_schema_is_valid_json_and_covers_every_type():
    schema = event_json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_TYPES)
    for ref in schema["discriminator"]["mapping"].values():
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in schema["$defs"]
    for kind in EVENT_TYPES:
        assert f'"{kind}"' in text


# -- frozen ----------------------------------------------------------------------------------


def test_an_event_refuses_changes():
    event = validate_event(example("applied"))
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        event.program = "oak"
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        event.payload.via = "eras"
    assert (event.program, event.payload.via) == ("mercy", None)


def test_a_certified_rank_list_cannot_be_changed_after_validation():
    event = validate_event(example("rank_certified"))
    with pytest.raises((TypeError, AttributeError, pydantic.ValidationError)):
        event.payload.order.append("pine")
    assert list(event.payload.order) == ["mercy", "oak"]


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    ["2026-10-01T10:00:00", datetime(2026, 10, 1, 10)],
    ids=["iso-without-offset", "naive-datetime"],
)
def test_a_naive_occurred_at_is_refused(occurred_at):
    with pytest.raises(InputError) as excinfo:
        validate_event(example("applied", occurred_at=occurred_at))
    assert excinfo.value.field is not None
    assert excinfo.value.field.endswith("occurred_at")


def test_a_naive_occurred_at_is_reported_as_the_occurred_at_field():
    with pytest.raises(InputError) as excinfo:
        validate_event(example("applied", occurred_at="2026-10-01T10:00:00"))
    assert excinfo.value.field == "occurred_at"


def test_an_unknown_timezone_is_refused():
    with pytest.raises(InputError, match="Mars/Olympus_Mons") as excinfo:
        validate_payload("season_started", {**START, "timezone": "Mars/Olympus_Mons"})
    assert excinfo.value.field == "timezone"

    with pytest.raises(InputError, match="unknown IANA timezone"):
        validate_event(example("season_started", payload={**START, "timezone": "EST5EDTX"}))
    with pytest.raises(InputError, match="unknown IANA timezone"):  # too long for a file name
        validate_payload("season_started", {**START, "timezone": "A" * 300})


def test_a_season_with_an_unknown_timezone_is_not_started(store, clock):
    with pytest.raises(InputError) as excinfo:
        History(timezone="America/Nowhere").season(store, rulebook=NoRules(), clock=clock)
    assert excinfo.value.field == "timezone"
    assert store.seasons() == []


def test_an_unknown_event_type_is_refused():
    with pytest.raises(InputError, match="unknown event type") as excinfo:
        validate_payload("thank_you_sent", {})
    assert excinfo.value.field == "type"
    with pytest.raises(InputError):
        validate_event(example("applied", type="thank_you_sent"))


def test_an_unknown_payload_field_is_refused():
    with pytest.raises(InputError, match="unknown field") as excinfo:
        validate_payload("applied", {"via": "eras", "portal": "eras"})
    assert excinfo.value.field == "portal"


def test_every_list_field_has_a_plain_message_for_a_value_that_is_not_a_list() -> None:
    lists = {
        name
        for model in EVENT_TYPES.values()
        for name, info in model.model_fields.items()
        if "tuple" in str(info.annotation)
    }
    assert lists == set(_LISTS)
