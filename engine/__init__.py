"""prematch's engine: the season log, the per-program state machine, replay and queries.

An embedder opens a :class:`Store`, starts or opens a :class:`Season` (passing a
rulebook: ``policies.Rulebook()``, or :class:`NoRules` for the state machine alone),
records events and asks questions::

    from prematch.engine import Season, Store, fixed_clock
    from prematch.policies import Rulebook

    store = Store.open("season.db")
    season = Season.open(store, rulebook=Rulebook())
    print(season.check("thank_you", "mercy-im").outcome)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from prematch.engine._actions import (
    ACTION_EVENTS,
    ACTIONS,
    MESSAGE_EVENTS,
)
from prematch.engine._admission import (
    admit,
)
from prematch.engine._calendar import (
    CALENDAR_DATES,
    Calendar,
    calendar_for,
    load_calendar,
    read_calendar_file,
)
from prematch.engine._clock import (
    Clock,
    TimeReading,
    fixed_clock,
    parse_instant,
    system_clock,
)
from prematch.engine._errors import (
    InputError,
    IntegrityError,
    PolicyRefusal,
    PrematchError,
    StoreBusyError,
    StoreError,
    StoreReadonlyError,
    StructuralError,
    UnknownProgramError,
    UnknownSeasonError,
)
from prematch.engine._overview import (
    SeasonOverview,
    season_overviews,
)
from prematch.engine._queries import (
    AuditReport,
    NowItem,
    NowReport,
    NowStatus,
    SeasonSummary,
    StatusReport,
    StatusRow,
    audit_jobs,
    audit_records,
    audit_store,
    judge_action,
    program_status,
    season_summary,
    what_now,
)
from prematch.engine._records import (
    SCHEMA_VERSION,
    Record,
    utc_iso,
)
from prematch.engine._replay import (
    fold,
    live_records,
    replay,
)
from prematch.engine._resources import (
    fixtures_dir,
)
from prematch.engine._rulebook import (
    Judge,
    NoRules,
    RulebookProtocol,
)
from prematch.engine._schemas import (
    SCHEMA_SHAPES,
    json_schema,
)
from prematch.engine._season import (
    HistoryEntry,
    Preview,
    Season,
    normalize_event_type,
)
from prematch.engine._state import (
    Message,
    News,
    ProgramState,
    SeasonState,
    evolve,
)
from prematch.engine._statemachine import (
    END_STATES,
    STATES,
    TRANSITIONS,
    allowed_triggers,
    mermaid,
)
from prematch.engine._store import (
    UPCASTERS,
    RecordedHook,
    SeasonSnapshot,
    Store,
    StoredSeason,
    Tamper,
    Verification,
    verify_jobs,
)
from prematch.engine._verdicts import (
    AuditFinding,
    Finding,
    Judged,
    Severity,
    Verdict,
    Window,
    worst,
)

if TYPE_CHECKING:
    from prematch.engine._events import (
        EVENT_TYPES,
        PROGRAM_SCOPE,
        Event,
        event_json_schema,
        validate_event,
        validate_payload,
    )
    from prematch.engine._transfer import (
        ImportResult,
        export_lines,
        import_lines,
    )

# The pydantic models (validation, import) load on first use (PEP 562):
# `prematch now` never builds them.
_LAZY: dict[str, str] = {
    "EVENT_TYPES": "prematch.engine._events",
    "PROGRAM_SCOPE": "prematch.engine._events",
    "Event": "prematch.engine._events",
    "event_json_schema": "prematch.engine._events",
    "validate_event": "prematch.engine._events",
    "validate_payload": "prematch.engine._events",
    "ImportResult": "prematch.engine._transfer",
    "export_lines": "prematch.engine._transfer",
    "import_lines": "prematch.engine._transfer",
}

__all__ = [
    "ACTIONS",
    "ACTION_EVENTS",
    "CALENDAR_DATES",
    "END_STATES",
    "EVENT_TYPES",
    "MESSAGE_EVENTS",
    "PROGRAM_SCOPE",
    "SCHEMA_SHAPES",
    "SCHEMA_VERSION",
    "STATES",
    "TRANSITIONS",
    "UPCASTERS",
    "AuditFinding",
    "AuditReport",
    "Calendar",
    "Clock",
    "Event",
    "Finding",
    "HistoryEntry",
    "ImportResult",
    "InputError",
    "IntegrityError",
    "Judge",
    "Judged",
    "Message",
    "News",
    "NoRules",
    "NowItem",
    "NowReport",
    "NowStatus",
    "PolicyRefusal",
    "PrematchError",
    "Preview",
    "ProgramState",
    "Record",
    "RecordedHook",
    "RulebookProtocol",
    "Season",
    "SeasonOverview",
    "SeasonSnapshot",
    "SeasonState",
    "SeasonSummary",
    "Severity",
    "StatusReport",
    "StatusRow",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreReadonlyError",
    "StoredSeason",
    "StructuralError",
    "Tamper",
    "TimeReading",
    "UnknownProgramError",
    "UnknownSeasonError",
    "Verdict",
    "Verification",
    "Window",
    "admit",
    "allowed_triggers",
    "audit_jobs",
    "audit_records",
    "audit_store",
    "calendar_for",
    "event_json_schema",
    "evolve",
    "export_lines",
    "fixed_clock",
    "fixtures_dir",
    "fold",
    "import_lines",
    "json_schema",
    "judge_action",
    "live_records",
    "load_calendar",
    "mermaid",
    "normalize_event_type",
    "parse_instant",
    "program_status",
    "read_calendar_file",
    "replay",
    "season_overviews",
    "season_summary",
    "system_clock",
    "utc_iso",
    "validate_event",
    "validate_payload",
    "verify_jobs",
    "what_now",
    "worst",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
