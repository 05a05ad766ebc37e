"""Events: the facts of a season, as frozen pydantic models (DESIGN §2, contract).

Each event type is declared once, in :data:`_REGISTRY`: its name, the model of its
payload and whether it names a program. :data:`EVENT_TYPES`, :data:`PROGRAM_SCOPE`,
one event model per type and :data:`Event` (their union, discriminated by ``type``)
are derived from it. Validation happens at the boundary (``log``, ``import``, see
:mod:`prematch.engine._intake`); replay reads stored rows as light
:class:`~prematch.engine._records.Record` tuples and never rebuilds these models.

The values every event shares are checked by plain functions, :func:`check_identifier`,
:func:`check_text` and :func:`check_line`, which the payload models call and the intake
calls on the common fields: one message for one bad value, whichever path it came in by.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)

from prematch.engine._errors import InputError
from prematch.engine._records import SCHEMA_VERSION

__all__ = [
    "EVENT_TYPES",
    "ID_PATTERN",
    "PROGRAM_SCOPE",
    "SCHEMA_VERSION",
    "TEXT_LIMIT",
    "Event",
    "Identifier",
    "Payload",
    "Scope",
    "check_identifier",
    "check_line",
    "check_text",
    "event_json_schema",
    "validate_event",
    "validate_payload",
]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""What a season or program id looks like (also in the JSON schema)."""

TEXT_LIMIT = 2000
"""The most characters any text field holds (after surrounding whitespace is dropped)."""

_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")
_TEXT_CONTROL = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
"""Control characters (and lone surrogates, which no UTF-8 text holds). The bidi
embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) count as control
characters everywhere: they reorder what a terminal shows after them ("Trojan source").
The line and paragraph separators (U+2028, U+2029) are line breaks: a one-line field
refuses them, free text keeps them."""


def _codepoint(char: str) -> str:
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"{kind} (U+{ord(char):04X})"


def check_identifier(value: str) -> str:
    """``value`` if it is an id (season, program); otherwise ``ValueError`` saying why.

    An id is 1 to 64 letters, digits, ``.``, ``_`` and ``-``, beginning with a letter or
    a digit; it is taken exactly as given (surrounding spaces are an error, not trimmed).
    """
    if _ID.fullmatch(value):
        return value
    if len(value) > 64:
        raise ValueError(f"an id has at most 64 characters; this one has {len(value):,}")
    control = _CONTROL.search(value)
    if control:
        raise ValueError(f"an id cannot hold {_codepoint(control[0])}")
    raise ValueError(
        f"{value!r} is not an id: use letters, digits, '.', '_' and '-', "
        "beginning with a letter or a digit"
    )


def _text(value: str, controls: re.Pattern[str], allowed: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"has {len(text):,} characters; at most {TEXT_LIMIT:,} are allowed")
    control = controls.search(text)
    if control:
        raise ValueError(f"holds {_codepoint(control[0])}; {allowed}")
    return text


def check_text(value: str) -> str:
    """Free text (a detail, a note, a reason, an override), stripped of surrounding spaces.

    It must not be blank, holds at most :data:`TEXT_LIMIT` characters and no control
    character but tab and line break (a reason may run over several lines); a bidi
    override or isolate (U+202A-U+202E, U+2066-U+2069) counts as a control character.
    """
    return _text(value, _TEXT_CONTROL, "free text may hold tabs and line breaks, no other")


def check_line(value: str) -> str:
    """One line of text (a name, a specialty, a contact), stripped of surrounding spaces.

    As :func:`check_text`, but no control character at all: a name never breaks a line
    (nor holds U+2028 or U+2029, the line and paragraph separators).
    """
    return _text(value, _CONTROL, "this field is one line of text, without tabs")


Identifier = Annotated[
    str, AfterValidator(check_identifier), WithJsonSchema({"type": "string", "pattern": ID_PATTERN})
]
"""Season and program ids: see :func:`check_identifier`."""

_TEXT_SCHEMA = WithJsonSchema({"type": "string", "minLength": 1, "maxLength": TEXT_LIMIT})
Text = Annotated[str, AfterValidator(check_text), _TEXT_SCHEMA]
Line = Annotated[str, AfterValidator(check_line), _TEXT_SCHEMA]
Visa = Literal["none", "j1", "h1b", "undecided"]
Initiator = Literal["applicant", "program"]


def _known_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as e:  # OSError: too long
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. America/New_York)") from e
    return value


Timezone = Annotated[str, AfterValidator(_known_timezone)]
"""An IANA timezone name (``America/Los_Angeles``)."""

NRMP_CODE_PATTERN = r"^[0-9]{7}[A-Za-z][0-9]$"
"""An NRMP program code: institution (4 digits), specialty (3), track letter, a digit."""


def _nrmp_code(value: str) -> str:
    if re.fullmatch(NRMP_CODE_PATTERN, value):
        return value
    raise ValueError(
        f"{value!r} is not an NRMP program code: 7 digits, a track letter and a digit "
        "(e.g. 1234140C0)"
    )


NrmpCode = Annotated[
    str,
    AfterValidator(_nrmp_code),
    WithJsonSchema({"type": "string", "pattern": NRMP_CODE_PATTERN}),
]
"""An NRMP program code: see :data:`NRMP_CODE_PATTERN`."""


class Payload(BaseModel):
    """Base of every payload: frozen, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    needs_a_field: ClassVar[bool] = False
    """Whether the payload must hold at least one field although none is required."""


class SeasonStartedPayload(Payload):
    """Who the applicant is and which Match the season is for."""

    match_year: Annotated[int, Field(ge=2000, le=2100)]
    specialty: Line
    timezone: Timezone
    visa: Visa
    applicant_name: Line
    aamc_id: Line | None = None
    ecfmg_id: Line | None = None
    calendar: dict[str, AwareDatetime] | None = None
    """Per-season overrides of calendar dates (key = calendar field)."""
    policy: dict[str, float | int] | None = None
    """Per-season overrides of rulebook parameters (key = parameter name)."""


class ProgramAddedPayload(Payload):
    """A residency program joins the season."""

    name: Line
    specialty: Line | None = None
    nrmp_participating: bool = True
    no_post_interview_contact: bool | None = None
    """``None`` means: use the specialty default."""
    sponsors_visas: tuple[Visa, ...] | None = None
    contacts: tuple[Line, ...] | None = None
    timezone: Timezone | None = None
    """Where the program is: times at the program typed without an offset are read here."""
    code: NrmpCode | None = None
    """The program's NRMP code (``1234140C0``)."""


class ProgramUpdatedPayload(Payload):
    """Facts about a program learned after it was added, effective from the event's instant.

    Each field given replaces the program's fact; a field left out keeps it. At least one
    field is needed (an update that changes nothing is a typo).
    """

    needs_a_field: ClassVar[bool] = True

    name: Line | None = None
    specialty: Line | None = None
    nrmp_participating: bool | None = None
    no_post_interview_contact: bool | None = None
    """``True``: the program asked for no contact after the interview; ``False``: it allows it."""
    sponsors_visas: tuple[Visa, ...] | None = None
    contacts: tuple[Line, ...] | None = None
    timezone: Timezone | None = None
    """Where the program is (IANA), for times typed without an offset."""
    code: NrmpCode | None = None
    """The program's NRMP code (``1234140C0``)."""

    @model_validator(mode="after")
    def _some_fact(self) -> ProgramUpdatedPayload:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            fields = ", ".join(type(self).model_fields)
            raise ValueError(f"name at least one fact to change ({fields})")
        return self


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


class InterviewRescheduledPayload(Payload):
    """The interview moved to another day."""

    interview_on: dt.date
    initiated_by: Initiator


class InterviewCancelledPayload(Payload):
    """The interview will not happen: cancelled by the applicant (the program is then
    ``declined``) or by the program (back to ``applied``: it may invite again)."""

    initiated_by: Initiator


class NoteAddedPayload(Payload):
    """A free note, about the season or one program: kept and shown, never judged."""

    text: Text


class SignalSentPayload(Payload):
    """A preference signal sent with the application (ERAS or ResidencyCAS)."""

    tier: Literal["gold", "silver", "signal"]
    """``gold`` or ``silver`` where the specialty has tiers, ``signal`` where it has one kind."""


class AdvocateContactedPayload(Payload):
    """A mentor or other representative contacted the program for the applicant."""

    advocate: Line
    """Who made the contact (e.g. "Dr. Rao, my research mentor")."""
    detail: Text | None = None


class EmptyPayload(Payload):
    """Events whose meaning is all in their type, program and time."""


class ThankedPayload(Payload):
    """Thank-you message sent."""

    recipients: tuple[Line, ...] | None = None


class NewsRecordedPayload(Payload):
    """A real change in the applicant's file."""

    kind: Literal["exam", "visa", "publication", "letter", "clinical", "other"]
    detail: Text


class UpdateSentPayload(Payload):
    """News told to a program; the store always records the resolved ``news_seq``."""

    news_seq: Annotated[int, Field(ge=1)] | None = None


class CallHeldPayload(Payload):
    """A phone or video call outside interviews."""

    initiated_by: Initiator


class ProgramContactedPayload(Payload):
    """The program reached out."""

    asked_rank: bool = False
    offered_commitment: bool = False
    during_soap: bool = False


class OfferReceivedPayload(Payload):
    """An offer outside the Match."""

    kind: Literal["pre_match_contract", "soap_offer"]
    detail: Text | None = None
    """Its terms as the applicant noted them (position, deadline to answer)."""


class RankCertifiedPayload(Payload):
    """A certified rank order list, most preferred first."""

    order: Annotated[tuple[Identifier, ...], Field(min_length=1)]

    @field_validator("order")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for position, program in enumerate(value, start=1):
            if program in seen:
                raise ValueError(
                    f"program {program!r} appears twice in the rank order list (again at "
                    f"position {position}); list each program once"
                )
            seen.add(program)
        return value


class EventRetractedPayload(Payload):
    """A correction: the retracted event is skipped on replay."""

    retracts: Annotated[int, Field(ge=1)]
    reason: Text


Scope = Literal["required", "forbidden", "optional"]
"""Whether an event type names a program: it must, it must not, or it may."""

_REGISTRY: tuple[tuple[str, type[Payload], Scope], ...] = (
    ("season_started", SeasonStartedPayload, "forbidden"),
    ("program_added", ProgramAddedPayload, "required"),
    ("applied", AppliedPayload, "required"),
    ("connection_recorded", ConnectionRecordedPayload, "required"),
    ("inquiry_sent", InquirySentPayload, "required"),
    ("invited", InvitedPayload, "required"),
    ("interviewed", EmptyPayload, "required"),
    ("thanked", ThankedPayload, "required"),
    ("news_recorded", NewsRecordedPayload, "forbidden"),
    ("update_sent", UpdateSentPayload, "required"),
    ("interest_sent", EmptyPayload, "required"),
    ("intent_sent", EmptyPayload, "required"),
    ("call_held", CallHeldPayload, "required"),
    ("program_contacted", ProgramContactedPayload, "required"),
    ("offer_received", OfferReceivedPayload, "required"),
    ("rejected", EmptyPayload, "required"),
    ("declined", EmptyPayload, "required"),
    ("withdrawn", EmptyPayload, "required"),
    ("rank_certified", RankCertifiedPayload, "forbidden"),
    ("event_retracted", EventRetractedPayload, "optional"),
    ("program_updated", ProgramUpdatedPayload, "required"),
    ("waitlisted", EmptyPayload, "required"),
    ("interview_rescheduled", InterviewRescheduledPayload, "required"),
    ("interview_cancelled", InterviewCancelledPayload, "required"),
    ("note_added", NoteAddedPayload, "optional"),
    ("signal_sent", SignalSentPayload, "required"),
    ("advocate_contacted", AdvocateContactedPayload, "required"),
)
"""Every event type of DESIGN §2, once: its name, its payload model, whether it names a
program. Adding an event type is one line here (and its payload model above)."""

EVENT_TYPES: dict[str, type[Payload]] = {name: payload for name, payload, _ in _REGISTRY}
"""Every event type of DESIGN §2 and the model of its payload."""

PROGRAM_SCOPE: dict[str, Scope] = {name: scope for name, _, scope in _REGISTRY}
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


def _may_be_empty(payload: type[Payload]) -> bool:
    return not payload.needs_a_field and not any(
        f.is_required() for f in payload.model_fields.values()
    )


def _event_model(name: str, payload: type[Payload]) -> type[_EventBase]:
    """The whole-event model of type ``name``: the common fields, ``type`` and ``payload``.

    A payload whose fields are all optional defaults to its empty form, as in the log.
    """
    tag: Any = Literal[name]  # a type built at run time: one Literal per event type
    model: type[_EventBase] = create_model(
        "".join(part.title() for part in name.split("_")),
        __base__=_EventBase,
        __doc__=f"``{name}``.",
        __module__=__name__,
        type=(tag, name),
        payload=(payload, payload() if _may_be_empty(payload) else ...),
    )
    return model


_EVENT_MODELS = {name: _event_model(name, payload) for name, payload, _ in _REGISTRY}

Event: Any = Annotated[Union[tuple(_EVENT_MODELS.values())], Field(discriminator="type")]  # noqa: UP007
"""Any event, discriminated by ``type``."""

_EVENT_ADAPTER: TypeAdapter[Any] | None = None


def _adapter() -> TypeAdapter[Any]:
    global _EVENT_ADAPTER
    if _EVENT_ADAPTER is None:
        _EVENT_ADAPTER = TypeAdapter(Event)
    return _EVENT_ADAPTER


def event_json_schema() -> dict[str, Any]:
    """JSON Schema of a stored event (:meth:`Record.to_json`): ``json_schema("event")``."""
    from prematch.engine._schemas import json_schema

    return json_schema("event")


_LISTS = {
    "recipients": ("names", '["Dr. Rao", "Ms. Lee"]'),
    "contacts": ("contacts", '["Ms. Lee, coordinator, lee@mercy.example"]'),
    "sponsors_visas": ("visas", '["j1", "h1b"]'),
    "order": ("program ids, most preferred first", '["mercy-im", "oak-im"]'),
}
"""What each list field of a payload holds, and an example, for the message about a value
that is not such a list (a lone string, say)."""


def _input_error(error: ValidationError, prefix: str = "", whole: str | None = None) -> InputError:
    """The first error of ``error`` as an :class:`InputError`; ``whole`` names the field of
    an error about the whole model (a payload that names no fact at all)."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"] if not isinstance(p, int) or p != 0)
    if prefix and field.startswith(prefix + "."):
        field = field[len(prefix) + 1 :]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    elif first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "tuple_type" or (
        first["type"] == "string_type" and first["loc"] and isinstance(first["loc"][-1], int)
    ):
        name = next((str(p) for p in reversed(first["loc"]) if isinstance(p, str)), "")
        what, example = _LISTS.get(name, ("values", "[...]"))
        msg = f"must be a list of {what}, e.g. {example}"
    return InputError(msg, field=field or whole)


_EMPTY_OK = frozenset(name for name, payload in EVENT_TYPES.items() if _may_be_empty(payload))
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
        raise _input_error(e, whole="payload") from None
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
