"""The one exception tree of prematch.

::

    PrematchError
    ├── InputError          malformed or impossible input          input.invalid
    │   ├── UnknownSeasonError                                      season.unknown
    │   └── UnknownProgramError                                     program.unknown
    ├── StructuralError     the state machine does not allow it     state.invalid
    ├── PolicyRefusal       the rulebook blocks it (override possible) policy.blocked
    └── StoreError          the database cannot be used as asked   store.error
        │   (store.missing, store.directory: no store at the path;
        │    store.full: the disk is full; else store.error)
        ├── StoreBusyError      another writer held the lock too long   store.busy
        ├── StoreReadonlyError  the store was opened read-only      store.readonly
        └── IntegrityError      not a prematch store, or a newer one  store.integrity
                                or one changed behind its back     (store.newer,
                                                                    store.tampered)

Each class has a stable :attr:`PrematchError.code` (the right column) for a service to
map to its responses, and :meth:`PrematchError.to_json`. Messages are about the season
and the input: they give no command-line advice and no file path (the CLI adds both;
a store error carries its ``path`` as an attribute).

Any of them may say where it happened (the record's ``seq``, the input ``line``, the
``field``): code that knows the place wraps the work in :func:`located`, which attaches
it to whatever error comes out, without changing the error's type. The exit codes of
the command line are the CLI's business (``prematch.cli.errors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prematch.engine._verdicts import Finding

__all__ = [
    "InputError",
    "IntegrityError",
    "PolicyRefusal",
    "PrematchError",
    "StoreBusyError",
    "StoreError",
    "StoreReadonlyError",
    "StructuralError",
    "UnknownProgramError",
    "UnknownSeasonError",
    "located",
    "newer_store",
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
    code: str = "error"
    """A stable, machine-readable name of the kind of error (``input.invalid``, ...)."""

    @property
    def message(self) -> str:
        """The message without its location."""
        return super().__str__()

    def to_json(self) -> dict[str, Any]:
        """``code``, ``message`` and the location (``seq``, ``line``, ``field``; ``null``
        when unknown), plus what the subclass adds (a refusal's ``findings``)."""
        return {
            "code": self.code,
            "message": self.message,
            "seq": self.seq,
            "line": self.line,
            "field": self.field,
        }

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

    code = "input.invalid"


class UnknownProgramError(InputError):
    """An event or query names a program the season does not have."""

    code = "program.unknown"


class UnknownSeasonError(InputError):
    """The store holds no season of that id (or no season at all)."""

    code = "season.unknown"

    def __init__(self, message: str, *, season: str | None = None):
        self.season = season
        """The season id asked for (``None``: the most recent, in a store without seasons)."""
        super().__init__(message, field="season")


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

    code = "state.invalid"


class PolicyRefusal(PrematchError):
    """The rulebook blocks the action; ``findings`` says which rules and why."""

    def __init__(self, message: str, findings: Sequence[Finding]):
        self.findings = tuple(findings)
        super().__init__(message)

    code = "policy.blocked"

    def to_json(self) -> dict[str, Any]:
        """As :meth:`PrematchError.to_json`, with the ``findings`` (DESIGN §6 shape)."""
        return {
            **super().to_json(),
            "findings": [f.to_json() for f in self.findings],
        }


class StoreError(PrematchError):
    """The database cannot be opened, read or written as asked."""

    code = "store.error"
    path: str | None = None
    """The database file it is about, when it is a file (not part of the message)."""

    def __init__(self, message: str, *, path: object = None, code: str | None = None):
        self.path = None if path is None else str(path)
        if code is not None:
            self.code = code
        super().__init__(message)


class StoreBusyError(StoreError):
    """Another writer kept the database locked longer than the busy timeout."""

    code = "store.busy"


class StoreReadonlyError(StoreError):
    """A write was asked of a store opened read-only (or of a file this user cannot write)."""

    code = "store.readonly"


class IntegrityError(StoreError):
    """The file is not a prematch store, was written by a newer schema, or was changed
    behind prematch's back so that an event cannot be read as written."""

    code = "store.integrity"


def newer_store(found: int, reads: int, path: object) -> IntegrityError:
    """The error for a store whose format (``found``) is newer than the ``reads`` this
    prematch reads."""
    return IntegrityError(
        f"the store was written by a newer prematch (store format {found}, "
        f"this one reads up to {reads}); upgrade prematch",
        path=path,
        code="store.newer",
    )
