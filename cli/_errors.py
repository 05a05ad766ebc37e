"""How the command line reports library errors: one clear line, and the exit code.

Exit codes (DESIGN §6): 2 usage or input error, 3 refused or blocked.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from prematch.cli import _render as render
from prematch.engine import PolicyRefusal, PrematchError

F = TypeVar("F", bound=Callable[..., Any])


def fail(error: PrematchError) -> NoReturn:
    """Print a library error as one clear line (plus findings) and exit with its code."""
    click.echo(click.style(f"error: {error}", fg="red"), err=True)
    if isinstance(error, PolicyRefusal):
        render.findings_text(error.findings, err=True)
        if any(f.rule != "state.invalid" for f in error.findings):
            click.echo(
                'To record it anyway, repeat with --override "your reason" '
                "(kept in the log and shown in every audit).",
                err=True,
            )
    sys.exit(error.exit_code)


def handles_errors(fn: F) -> F:
    """Turn library errors into an error line and the exit code of DESIGN §6."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PrematchError as e:
            fail(e)

    return wrapper  # type: ignore[return-value]
