"""JSON Schemas of every JSON shape prematch writes (DESIGN §6): ``prematch schema --for``.

The event shapes are discriminated unions: one ``$defs`` entry per event type (its ``type``
a ``const``), chosen by ``type`` with ``if``/``then`` (and named in OpenAPI's
``discriminator``), and one entry per payload model
(from pydantic, shared by the event shapes). The query shapes are written out here, beside
the ``to_json`` methods they describe. The pydantic models load only when a schema of
events is asked for (``prematch now`` never builds them).
"""

from __future__ import annotations

from typing import Any, get_args

from prematch.engine._actions import ACTIONS
from prematch.engine._chain import TAMPER_KINDS
from prematch.engine._errors import InputError
from prematch.engine._queries import NowStatus
from prematch.engine._statemachine import STATES
from prematch.engine._verdicts import Severity, VerdictName

__all__ = ["SCHEMA_SHAPES", "json_schema"]

SCHEMA_SHAPES = (
    "event",
    "export-line",
    "now",
    "status",
    "check",
    "audit",
    "audit-summary",
    "history",
    "import",
    "verify",
)
"""The shapes :func:`json_schema` knows (``prematch schema --for SHAPE``)."""

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_INSTANT: dict[str, Any] = {"type": "string", "format": "date-time"}
_MAYBE_INSTANT: dict[str, Any] = {"anyOf": [_INSTANT, {"type": "null"}]}
_NULL: dict[str, Any] = {"type": "null"}
_HASH: dict[str, Any] = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_SEQ: dict[str, Any] = {"type": "integer", "minimum": 1}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}


def _choice(values: Any) -> dict[str, Any]:
    return {"enum": list(values)}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A closed object: these properties, all required unless ``required`` says which."""
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


def _payloads() -> tuple[dict[str, str], dict[str, Any]]:
    """Each event type's payload ``$defs`` name, and the ``$defs`` of every payload model."""
    from pydantic.json_schema import models_json_schema

    from prematch.engine._events import _REGISTRY

    models = list(dict.fromkeys(payload for _, payload, _ in _REGISTRY))
    refs, top = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/$defs/{model}"
    )
    names = {
        name: refs[(payload, "validation")]["$ref"].rsplit("/", 1)[1]
        for name, payload, _ in _REGISTRY
    }
    defs: dict[str, Any] = top.get("$defs", {})
    return names, defs


def _union(kind: str, defs: dict[str, Any], shapes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One object of ``shapes`` (by ``type``): ``type`` is required and names the entry."""
    defs = {**defs, **shapes}
    return {
        "$schema": _DRAFT,
        "title": kind,
        "type": "object",
        "required": ["type"],
        "properties": {"type": _choice(shapes)},
        "discriminator": {  # OpenAPI's spelling, for code generators; validators skip it
            "propertyName": "type",
            "mapping": {name: f"#/$defs/{name}" for name in shapes},
        },
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}},
                "then": {"$ref": f"#/$defs/{name}"},
            }
            for name in shapes
        ],
        "$defs": defs,
    }


def _registry() -> tuple[tuple[str, str], ...]:
    """Each event type and whether it names a program."""
    from prematch.engine._events import _REGISTRY

    return tuple((name, scope) for name, _, scope in _REGISTRY)


def _texts() -> tuple[dict[str, Any], dict[str, Any]]:
    """The schemas of an identifier and of a text field."""
    from pydantic import TypeAdapter

    from prematch.engine._events import Identifier, Text

    return TypeAdapter(Identifier).json_schema(), TypeAdapter(Text).json_schema()


def _program(scope: str, ident: dict[str, Any]) -> dict[str, Any]:
    if scope == "required":
        return ident
    if scope == "forbidden":
        return _NULL
    return {"anyOf": [ident, _NULL]}


def _event_schema() -> dict[str, Any]:
    ident, text = _texts()
    names, defs = _payloads()
    shapes = {
        name: _obj(
            {
                "seq": _SEQ,
                "season": ident,
                "program": _program(scope, ident),
                "type": {"const": name},
                "schema_version": _SEQ,
                "occurred_at": _INSTANT,
                "recorded_at": _INSTANT,
                "payload": {"$ref": f"#/$defs/{names[name]}"},
                "override": {"anyOf": [text, _NULL]},
                "hash": _HASH,
            }
        )
        for name, scope in _registry()
    }
    return _union("prematch event (Record.to_json)", defs, shapes)


def _export_line_schema() -> dict[str, Any]:
    ident, text = _texts()
    names, defs = _payloads()
    common = {"seq": _SEQ, "season": ident, "type": None, "at": _INSTANT}
    stamps = {"override": text, "recorded_at": _INSTANT, "schema_version": _SEQ, "hash": _HASH}
    shapes: dict[str, dict[str, Any]] = {}
    for name, scope in _registry():
        payload = defs[names[name]]
        fields: dict[str, Any] = payload.get("properties", {})
        clash = set(fields) & {*common, *stamps, "program"}
        if clash:  # an export line is flat: a payload field may not take a common key
            raise InputError(f"{name}'s payload fields {sorted(clash)} clash with common keys")
        props = {**common, "type": {"const": name}}
        if scope != "forbidden":
            props["program"] = ident
        props.update(fields)
        props.update(stamps)
        required = ["seq", "season", "type", "at", *payload.get("required", [])]
        if scope == "required":
            required.append("program")
        shapes[name] = _obj(props, [*required, "recorded_at", "schema_version", "hash"])
    return _union("prematch export line", defs, shapes)


def _finding(**more: Any) -> dict[str, Any]:
    return _obj(
        {
            "rule": {"type": "string"},
            "severity": _choice(get_args(Severity)),
            "message": {"type": "string"},
            "source": {"type": "string"},
            **more,
        }
    )


_NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}


def _verdict(**more: Any) -> dict[str, Any]:
    return _obj(
        {
            "program": _NULLABLE_TEXT,
            "action": _choice(ACTIONS),
            "verdict": _choice(get_args(VerdictName)),
            "opens_at": _MAYBE_INSTANT,
            "due_by": _MAYBE_INSTANT,
            "closes_at": _MAYBE_INSTANT,
            "findings": {"type": "array", "items": _finding()},
            **more,
        }
    )


def _shape(title: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": _DRAFT, "title": title, **body}


def _now_schema() -> dict[str, Any]:
    action = _verdict(status=_choice(get_args(NowStatus)))
    return _shape(
        "prematch now --json (NowReport.to_json)",
        _obj(
            {
                "season": {"type": "string"},
                "as_of": _INSTANT,
                "timezone": {"type": "string"},
                "calendar_provisional": {"type": "boolean"},
                "signals_provisional": {"type": "boolean"},
                "programs": {
                    "type": "array",
                    "items": _obj({"program": {"type": "string"}, "name": {"type": "string"}}),
                },
                "actions": {"type": "array", "items": action},
                "season_actions": {"type": "array", "items": action},
                "checklist": {"type": "array", "items": _finding(program=_NULLABLE_TEXT)},
            }
        ),
    )


def _status_schema() -> dict[str, Any]:
    nxt = _obj(
        {
            "action": _choice(ACTIONS),
            "status": _choice(s for s in get_args(NowStatus) if s != "blocked"),
            "at": _MAYBE_INSTANT,
        }
    )
    row = _obj(
        {
            "program": {"type": "string"},
            "name": {"type": "string"},
            "state": _choice(STATES),
            "timezone": {"type": ["string", "null"]},
            "interview_on": {"anyOf": [{"type": "string", "format": "date"}, _NULL]},
            "interview_at": _MAYBE_INSTANT,
            "last_message": {"anyOf": [_obj({"action": _choice(ACTIONS), "at": _INSTANT}), _NULL]},
            "next": {"anyOf": [nxt, _NULL]},
            "findings": _obj({"block": _COUNT, "warn": _COUNT}),
        }
    )
    return _shape(
        "prematch status --json (StatusReport.to_json)",
        _obj(
            {
                "season": {"type": "string"},
                "as_of": _INSTANT,
                "programs": {"type": "array", "items": row},
            }
        ),
    )


def _history_schema() -> dict[str, Any]:
    names, defs = _payloads()
    event = _obj(
        {
            "seq": _SEQ,
            "type": _choice(names),
            "program": _NULLABLE_TEXT,
            "occurred_at": _INSTANT,
            "recorded_at": _INSTANT,
            "payload": {"type": "object"},
            "override": _NULLABLE_TEXT,
            "retracted": {"type": "boolean"},
        }
    )
    event["allOf"] = [
        {
            "if": {"properties": {"type": {"const": name}}},
            "then": {"properties": {"payload": {"$ref": f"#/$defs/{ref}"}}},
        }
        for name, ref in names.items()
    ]
    body = _obj({"season": {"type": "string"}, "events": {"type": "array", "items": event}})
    return _shape("prematch history --json", {**body, "$defs": defs})


def _audit_schema() -> dict[str, Any]:
    finding = _finding(program=_NULLABLE_TEXT, seq=_SEQ, override=_NULLABLE_TEXT)
    return _shape(
        "prematch audit --json (AuditReport.to_json)",
        _obj(
            {
                "season": {"type": "string"},
                "findings": {"type": "array", "items": finding},
                "summary": _obj({"block": _COUNT, "warn": _COUNT, "info": _COUNT}),
            }
        ),
    )


def _audit_summary_schema() -> dict[str, Any]:
    deadline = _obj({"program": _NULLABLE_TEXT, "action": {"type": "string"}, "due_by": _INSTANT})
    maybe = {"anyOf": [deadline, _NULL]}
    season = _obj(
        {
            "season": {"type": "string"},
            "applicant": {"type": "string"},
            "block": _COUNT,
            "warn": _COUNT,
            "next_deadline": maybe,
            "late": _COUNT,
            "most_overdue": maybe,
            "states": {"type": "object", "additionalProperties": _COUNT},
        }
    )
    return _shape(
        "prematch audit --summary --json (SeasonSummary.to_json in seasons)",
        _obj({"as_of": _INSTANT, "seasons": {"type": "array", "items": season}}),
    )


def json_schema(shape: str = "event") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one of :data:`SCHEMA_SHAPES`."""
    if shape == "event":
        return _event_schema()
    if shape == "export-line":
        return _export_line_schema()
    if shape == "now":
        return _now_schema()
    if shape == "status":
        return _status_schema()
    if shape == "check":
        return _shape(
            "prematch check --json (Verdict.check_json)",
            _verdict(season={"type": "string"}, as_of=_INSTANT),
        )
    if shape == "audit":
        return _audit_schema()
    if shape == "audit-summary":
        return _audit_summary_schema()
    if shape == "history":
        return _history_schema()
    if shape == "import":
        return _shape(
            "prematch import --json (ImportResult.to_json)",
            _obj(
                {
                    "events": _COUNT,
                    "seasons": {"type": "array", "items": {"type": "string"}},
                    "overridden": _COUNT,
                    "warnings": _COUNT,
                    "changed_from_line": {"type": ["integer", "null"], "minimum": 1},
                }
            ),
        )
    if shape == "verify":
        problem = _obj(
            {
                "seq": {"type": "integer"},
                "kind": _choice(TAMPER_KINDS),
                "detail": {"type": "string"},
            }
        )
        return _shape(
            "prematch verify --json (Verification.to_json)",
            _obj(
                {
                    "events": _COUNT,
                    "ok": {"type": "boolean"},
                    "problem": {"anyOf": [problem, _NULL]},
                    "head": {
                        "anyOf": [
                            {"type": "string", "pattern": "^[1-9][0-9]*:[0-9a-f]{64}$"},
                            _NULL,
                        ]
                    },
                }
            ),
        )
    raise InputError(f"no JSON shape {shape!r}; shapes: {', '.join(SCHEMA_SHAPES)}", field="for")
