"""The one exception tree of prematch.

::

    PrematchError
    ├── InputError          malformed or impossible input
    │   └── UnknownProgramError
    ├── StructuralError     the state machine does not allow the event (no override)
    ├── PolicyRefusal       the rulebook blocks the action (override possible)
    └── StoreError          the database cannot be used as asked
        ├── StoreBusyError      another writer held the lock past the busy timeout
        └── IntegrityError      the file is not a prematch store, or is of a newer schema

Any of them may say where it happened (the record's ``seq``, the input ``line``, the
``field``): code that knows the place wraps the work in :func:`located`, which attaches
it to whatever error comes out, without changing the error's type. The exit codes of
the command line are the CLI's business (``prematch.cli.errors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
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
    "located",
]


class PrematchError(Exception):
    """Root of every error prematch raises on purpose.

    Its location (``seq``, ``line``, ``field``) is attached by :func:`located`; the
    line and field, when known, lead its message.
    """

    seq: int | None = None
    """The seq of the record being applied when it was raised, when known."""
    line: int | None = None
    """The input line (JSONL, CSV) it is about, when known."""
    field: str | None = None
    """The input field it is about, when known."""

    def __str__(self) -> str:
        text = super().__str__()
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {text}" if where else text


class located:  # a context manager, named as the call reads: `with located(...)`
    """Attach a location to any :class:`PrematchError` raised inside the block.

    Each location given replaces the one the error carries: the code that wraps
    knows the input better than the code it calls (the CSV line a JSONL line was
    made from). Locations not given (``None``) are left as they are. A small class
    rather than a generator: import enters one per input line.
    """

    __slots__ = ("field", "line", "seq")

    def __init__(
        self, *, seq: int | None = None, line: int | None = None, field: str | None = None
    ):
        self.seq, self.line, self.field = seq, line, field

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, PrematchError):
            if self.seq is not None:
                error.seq = self.seq
            if self.line is not None:
                error.line = self.line
            if self.field is not None:
                error.field = self.field


class InputError(PrematchError):
    """Input that cannot be understood: bad field, naive datetime, date after the clock."""

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None):
        self.field = field
        self.line = line
        super().__init__(message)


class UnknownProgramError(InputError):
    """An event or query names a program the season does not have."""


class StructuralError(PrematchError):
    """The per-program state machine does not allow this event from the current state."""

    def __init__(
        self,
        message: str,
        *,
        program: str | None = None,
        state: str | None = None,
        event: str | None = None,
    ):
        self.program = program
        self.state = state
        self.event = event
        super().__init__(message)


class PolicyRefusal(PrematchError):
    """The rulebook blocks the action; ``findings`` says which rules and why."""

    def __init__(self, message: str, findings: Sequence[Finding]):
        self.findings = tuple(findings)
        super().__init__(message)


class StoreError(PrematchError):
    """The database cannot be opened, read or written as asked."""


class StoreBusyError(StoreError):
    """Another process kept the database locked longer than the busy timeout."""


class IntegrityError(StoreError):
    """The file is not a prematch store, or was written by a newer schema."""
