"""The one exception tree of prematch.

::

    PrematchError
    ├── InputError          malformed or impossible input (CLI exit 2)
    │   └── UnknownProgramError
    ├── StructuralError     the state machine does not allow the event (exit 3, no override)
    ├── PolicyRefusal       the rulebook blocks the action (exit 3, override possible)
    └── StoreError          the database cannot be used as asked (exit 2)
        ├── StoreBusyError      another writer held the lock past the busy timeout
        └── IntegrityError      the file is not a prematch store, or is of a newer schema
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prematch.engine._verdicts import Finding

__all__ = [
    "InputError",
    "IntegrityError",
    "PolicyRefusal",
    "PrematchError",
    "StoreBusyError",
    "StoreError",
    "StructuralError",
    "UnknownProgramError",
]


class PrematchError(Exception):
    """Root of every error prematch raises on purpose."""

    exit_code = 2
    seq: int | None = None
    """The seq of the record being applied when replay raised it, when known."""


class InputError(PrematchError):
    """Input that cannot be understood: bad field, naive datetime, date after the clock."""

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None):
        self.field = field
        self.line = line
        super().__init__(message)

    def at_line(self, line: int) -> InputError:
        """Return a copy of this error that names the input line it came from."""
        return type(self)(str(self.args[0]), field=self.field, line=line)

    def __str__(self) -> str:
        text = super().__str__()
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {text}" if where else text


class UnknownProgramError(InputError):
    """An event or query names a program the season does not have."""


class StructuralError(PrematchError):
    """The per-program state machine does not allow this event from the current state."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        program: str | None = None,
        state: str | None = None,
        event: str | None = None,
        line: int | None = None,
    ):
        self.program = program
        self.state = state
        self.event = event
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        return f"line {self.line}: {text}" if self.line is not None else text


class PolicyRefusal(PrematchError):
    """The rulebook blocks the action; ``findings`` says which rules and why."""

    exit_code = 3

    def __init__(self, message: str, findings: Sequence[Finding], *, line: int | None = None):
        self.findings = tuple(findings)
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        return f"line {self.line}: {text}" if self.line is not None else text


class StoreError(PrematchError):
    """The database cannot be opened, read or written as asked."""

    exit_code = 2


class StoreBusyError(StoreError):
    """Another process kept the database locked longer than the busy timeout."""


class IntegrityError(StoreError):
    """The file is not a prematch store, or was written by a newer schema."""
