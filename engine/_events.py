"""Events: the facts of a season, as frozen pydantic models (DESIGN §2, contract).

Each event type has a payload model; :data:`Event` is the discriminated union of
all of them, keyed by ``type``. Validation happens here, at the boundary (``log``,
``import``); replay reads stored rows as light :class:`~prematch.engine._records.Record`
tuples and never rebuilds these models.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from prematch.engine._errors import InputError

__all__ = [
    "EVENT_TYPES",
    "PROGRAM_SCOPE",
    "SCHEMA_VERSION",
    "Event",
    "Identifier",
    "Payload",
    "event_json_schema",
    "validate_event",
    "validate_payload",
]

from prematch.engine._records import SCHEMA_VERSION

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", strip_whitespace=True)
]
"""Season and program ids: letters, digits, ``.``, ``_`` and ``-``; at most 64 characters."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Visa = Literal["none", "j1", "h1b", "undecided"]


class Payload(BaseModel):
    """Base of every payload: frozen, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SeasonStartedPayload(Payload):
    """Who the applicant is and which Match the season is for."""

    match_year: Annotated[int, Field(ge=2000, le=2100)]
    specialty: Text
    timezone: str
    visa: Visa
    applicant_name: Text
    aamc_id: Text | None = None
    ecfmg_id: Text | None = None
    calendar: dict[str, AwareDatetime] | None = None
    """Per-season overrides of calendar dates (key = calendar field)."""
    policy: dict[str, float | int] | None = None
    """Per-season overrides of rulebook parameters (key = parameter name)."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. America/New_York)") from e
        return value


class ProgramAddedPayload(Payload):
    """A residency program joins the season."""

    name: Text
    specialty: Text | None = None
    nrmp_participating: bool = True
    no_post_interview_contact: bool | None = None
    """``None`` means: use the specialty default."""
    sponsors_visas: tuple[Visa, ...] | None = None
    contacts: tuple[Text, ...] | None = None


class AppliedPayload(Payload):
    """Application submitted."""

    via: Literal["eras", "residencycas"] | None = None


class ConnectionRecordedPayload(Payload):
    """A genuine tie to the program."""

    kind: Literal["observership", "research", "employment", "mentor", "rotation"]
    detail: Text | None = None


class InquirySentPayload(Payload):
    """A pre-interview note of interest or status inquiry."""

    note: Text | None = None


class InvitedPayload(Payload):
    """Interview invitation received."""

    interview_on: dt.date | None = None


class EmptyPayload(Payload):
    """Events whose meaning is all in their type, program and time."""


class ThankedPayload(Payload):
    """Thank-you message sent."""

    recipients: tuple[Text, ...] | None = None


class NewsRecordedPayload(Payload):
    """A real change in the applicant's file."""

    kind: Literal["exam", "visa", "publication", "letter", "clinical", "other"]
    detail: Text


class UpdateSentPayload(Payload):
    """News told to a program; the store always records the resolved ``news_seq``."""

    news_seq: Annotated[int, Field(ge=1)] | None = None


class CallHeldPayload(Payload):
    """A phone or video call outside interviews."""

    initiated_by: Literal["applicant", "program"]


class ProgramContactedPayload(Payload):
    """The program reached out."""

    asked_rank: bool = False
    offered_commitment: bool = False
    during_soap: bool = False


class OfferReceivedPayload(Payload):
    """An offer outside the Match."""

    kind: Literal["pre_match_contract", "soap_offer"]


class RankCertifiedPayload(Payload):
    """A certified rank order list, most preferred first."""

    order: Annotated[tuple[Identifier, ...], Field(min_length=1)]

    @field_validator("order")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a program appears twice in the rank order list")
        return value


class EventRetractedPayload(Payload):
    """A correction: the retracted event is skipped on replay."""

    retracts: Annotated[int, Field(ge=1)]
    reason: Text


EVENT_TYPES: dict[str, type[Payload]] = {
    "season_started": SeasonStartedPayload,
    "program_added": ProgramAddedPayload,
    "applied": AppliedPayload,
    "connection_recorded": ConnectionRecordedPayload,
    "inquiry_sent": InquirySentPayload,
    "invited": InvitedPayload,
    "interviewed": EmptyPayload,
    "thanked": ThankedPayload,
    "news_recorded": NewsRecordedPayload,
    "update_sent": UpdateSentPayload,
    "interest_sent": EmptyPayload,
    "intent_sent": EmptyPayload,
    "call_held": CallHeldPayload,
    "program_contacted": ProgramContactedPayload,
    "offer_received": OfferReceivedPayload,
    "rejected": EmptyPayload,
    "declined": EmptyPayload,
    "withdrawn": EmptyPayload,
    "rank_certified": RankCertifiedPayload,
    "event_retracted": EventRetractedPayload,
}
"""Every event type of DESIGN §2 and the model of its payload."""

Scope = Literal["required", "forbidden", "optional"]
_REQUIRED: Scope = "required"
PROGRAM_SCOPE: dict[str, Scope] = {name: _REQUIRED for name in EVENT_TYPES} | {
    "season_started": "forbidden",
    "news_recorded": "forbidden",
    "rank_certified": "forbidden",
    "event_retracted": "optional",
}
"""Whether each event type names a program."""


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int | None = None
    season: Identifier
    program: Identifier | None = None
    schema_version: int = SCHEMA_VERSION
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime | None = None
    override: Text | None = None
    hash: str | None = None


class SeasonStarted(_EventBase):
    """``season_started`` (see DESIGN §2)."""

    type: Literal["season_started"] = "season_started"
    payload: SeasonStartedPayload


class ProgramAdded(_EventBase):
    """``program_added``."""

    type: Literal["program_added"] = "program_added"
    payload: ProgramAddedPayload


class Applied(_EventBase):
    """``applied``."""

    type: Literal["applied"] = "applied"
    payload: AppliedPayload = AppliedPayload()


class ConnectionRecorded(_EventBase):
    """``connection_recorded``."""

    type: Literal["connection_recorded"] = "connection_recorded"
    payload: ConnectionRecordedPayload


class InquirySent(_EventBase):
    """``inquiry_sent``."""

    type: Literal["inquiry_sent"] = "inquiry_sent"
    payload: InquirySentPayload = InquirySentPayload()


class Invited(_EventBase):
    """``invited``."""

    type: Literal["invited"] = "invited"
    payload: InvitedPayload = InvitedPayload()


class Interviewed(_EventBase):
    """``interviewed``."""

    type: Literal["interviewed"] = "interviewed"
    payload: EmptyPayload = EmptyPayload()


class Thanked(_EventBase):
    """``thanked``."""

    type: Literal["thanked"] = "thanked"
    payload: ThankedPayload = ThankedPayload()


class NewsRecorded(_EventBase):
    """``news_recorded``."""

    type: Literal["news_recorded"] = "news_recorded"
    payload: NewsRecordedPayload


class UpdateSent(_EventBase):
    """``update_sent``."""

    type: Literal["update_sent"] = "update_sent"
    payload: UpdateSentPayload = UpdateSentPayload()


class InterestSent(_EventBase):
    """``interest_sent``."""

    type: Literal["interest_sent"] = "interest_sent"
    payload: EmptyPayload = EmptyPayload()


class IntentSent(_EventBase):
    """``intent_sent``."""

    type: Literal["intent_sent"] = "intent_sent"
    payload: EmptyPayload = EmptyPayload()


class CallHeld(_EventBase):
    """``call_held``."""

    type: Literal["call_held"] = "call_held"
    payload: CallHeldPayload


class ProgramContacted(_EventBase):
    """``program_contacted``."""

    type: Literal["program_contacted"] = "program_contacted"
    payload: ProgramContactedPayload = ProgramContactedPayload()


class OfferReceived(_EventBase):
    """``offer_received``."""

    type: Literal["offer_received"] = "offer_received"
    payload: OfferReceivedPayload


class Rejected(_EventBase):
    """``rejected``."""

    type: Literal["rejected"] = "rejected"
    payload: EmptyPayload = EmptyPayload()


class Declined(_EventBase):
    """``declined``."""

    type: Literal["declined"] = "declined"
    payload: EmptyPayload = EmptyPayload()


class Withdrawn(_EventBase):
    """``withdrawn``."""

    type: Literal["withdrawn"] = "withdrawn"
    payload: EmptyPayload = EmptyPayload()


class RankCertified(_EventBase):
    """``rank_certified``."""

    type: Literal["rank_certified"] = "rank_certified"
    payload: RankCertifiedPayload


class EventRetracted(_EventBase):
    """``event_retracted``."""

    type: Literal["event_retracted"] = "event_retracted"
    payload: EventRetractedPayload


Event = Annotated[
    SeasonStarted
    | ProgramAdded
    | Applied
    | ConnectionRecorded
    | InquirySent
    | Invited
    | Interviewed
    | Thanked
    | NewsRecorded
    | UpdateSent
    | InterestSent
    | IntentSent
    | CallHeld
    | ProgramContacted
    | OfferReceived
    | Rejected
    | Declined
    | Withdrawn
    | RankCertified
    | EventRetracted,
    Field(discriminator="type"),
]
"""Any event, discriminated by ``type``."""

_EVENT_ADAPTER: TypeAdapter[Any] | None = None


def _adapter() -> TypeAdapter[Any]:
    global _EVENT_ADAPTER
    if _EVENT_ADAPTER is None:
        _EVENT_ADAPTER = TypeAdapter(Event)
    return _EVENT_ADAPTER


def event_json_schema() -> dict[str, Any]:
    """JSON Schema of :data:`Event` (what ``prematch`` stores and exports)."""
    schema: dict[str, Any] = _adapter().json_schema()
    return schema


def _input_error(error: ValidationError, prefix: str = "") -> InputError:
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"] if not isinstance(p, int) or p != 0)
    if prefix and field.startswith(prefix + "."):
        field = field[len(prefix) + 1 :]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    elif first["type"] == "missing":
        msg = "required field is missing"
    return InputError(msg, field=field or None)


_EMPTY_OK = frozenset(
    name
    for name, model in EVENT_TYPES.items()
    if not any(f.is_required() for f in model.model_fields.values())
)
"""Event types whose payload may be empty (then it is ``{}``)."""


def validate_payload(event_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Validate ``fields`` as the payload of ``event_type``; return its canonical JSON form."""
    model = EVENT_TYPES.get(event_type)
    if model is None:
        known = ", ".join(EVENT_TYPES)
        raise InputError(f"unknown event type {event_type!r}; known: {known}", field="type")
    if not fields and event_type in _EMPTY_OK:
        return {}  # most events carry no payload: skip the model round trip
    # The model's core validator and serializer, called directly: model_validate and
    # model_dump add half the cost again, and an import calls this once per line.
    try:
        payload = model.__pydantic_validator__.validate_python(fields)
    except ValidationError as e:
        raise _input_error(e) from None
    dumped: dict[str, Any] = model.__pydantic_serializer__.to_python(
        payload, mode="json", exclude_none=True
    )
    return dumped


def validate_event(data: dict[str, Any]) -> Any:
    """Validate a whole event (common fields plus ``payload``) into its frozen model."""
    try:
        return _adapter().validate_python(data)
    except ValidationError as e:
        raise _input_error(e, prefix=str(data.get("type", ""))) from None
