"""How the command line reports library errors: one clear line, and the exit code.

Exit codes (DESIGN §6): 2 usage, input or store error, 3 refused or blocked. The
library's errors carry no exit code: this module maps each error class to one.
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from prematch.cli import _render as render
from prematch.engine import PolicyRefusal, PrematchError, StoreError, StructuralError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES: tuple[tuple[type[PrematchError], int], ...] = (
    (StructuralError, 3),
    (PolicyRefusal, 3),
    (PrematchError, 2),
)
"""Each library error class and its exit code; the first class that matches decides."""


ARGV = "prematch.argv"
"""The key in ``click.Context.meta`` of the arguments the group was given, as typed."""

_ANYWAY_REASON = {"certify": "already certified"}
"""The reason a refusal's suggested command gives, by command (default: "already sent")."""


def anyway_command() -> str | None:
    """The command line the user typed, with what records a refused fact anyway appended
    (``--override 'already sent'``, or ``--allow-violations`` for ``import``), shell-quoted;
    ``None`` outside a command that takes either option."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ARGV not in ctx.meta:
        return None
    options = {p.name for p in ctx.command.params}
    if "override" in options:
        extra = ["--override", _ANYWAY_REASON.get(ctx.command.name or "", "already sent")]
    elif "allow_violations" in options:
        extra = ["--allow-violations"]
    else:
        return None
    return shlex.join([ctx.find_root().info_name or "prematch", *ctx.meta[ARGV], *extra])


ADVICE: dict[str, str] = {
    "store.missing": "; run `prematch init` first",
    "store.directory": "; --db needs a database file path",
    "store.integrity": " (is --db right?)",
    "store.tampered": "; `prematch verify` names the event",
    "program.unknown": "; add it with `prematch program add`",
}
"""What the command line adds to a library error's message, by the error's code."""


def error_line(error: PrematchError) -> str:
    """The library's message as the command line tells it: after the database file, when
    the error is about one, and with the command line's advice (:data:`ADVICE`)."""
    text = str(error)
    if isinstance(error, StoreError) and error.path is not None:
        text = f"{error.path}: {text}"
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.command.name == "copy" and error.code.startswith("store."):
        return text  # its stores are --from and --to, not --db: the message says it all
    return text + ADVICE.get(error.code, "")


def exit_code(error: PrematchError) -> int:
    """The exit code of DESIGN §6 for a library error."""
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


def fail(error: PrematchError) -> NoReturn:
    """Print a library error as one clear line (plus findings) and exit with its code."""
    click.echo(click.style(f"error: {error_line(error)}", fg="red"), err=True)
    if isinstance(error, PolicyRefusal):
        render.findings_text(error.findings, err=True)
        command = anyway_command()
        if command is not None and any(f.rule != "state.invalid" for f in error.findings):
            why = (
                'with the override "imported"'
                if command.endswith("--allow-violations")
                else "say why in the reason"
            )
            click.echo(
                f"If it already happened, this records it anyway ({why}; "
                f"it is kept in the log and shown in every audit):\n  {command}",
                err=True,
            )
    sys.exit(exit_code(error))


def handles_errors(fn: F) -> F:
    """Turn library errors into an error line and the exit code of DESIGN §6."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PrematchError as e:
            fail(e)

    return wrapper  # type: ignore[return-value]
