"""The ``prematch`` app: the click group, its context object and the shared option bundles.

Command modules (:mod:`prematch.cli._record`, :mod:`prematch.cli._read`,
:mod:`prematch.cli._messages`) import this module; :mod:`prematch.cli` adds their
commands to :data:`main`. Nothing here imports a command module.

Exit codes (DESIGN §6): 0 ok, 1 audit/lint found block-level findings,
2 usage or input error, 3 refused or blocked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from prematch.cli._errors import ARGV, fail
from prematch.engine import (
    Clock,
    InputError,
    PrematchError,
    Season,
    Store,
    UnknownSeasonError,
    fixed_clock,
    parse_instant,
    system_clock,
)

__all__ = [
    "Ctx",
    "at_option",
    "database",
    "default_db",
    "json_option",
    "main",
    "override_option",
    "pass_ctx",
    "removed_if_failed",
    "run",
]

F = TypeVar("F", bound=Callable[..., Any])


def default_db() -> Path:
    """The default database: ``prematch.db`` in the user's data directory."""
    import platformdirs

    return Path(platformdirs.user_data_path("prematch")) / "prematch.db"


def database(text: str) -> Path | str:
    """``--db`` as :meth:`Store.open <prematch.engine.Store.open>` takes it: a URL as
    typed, anything else a file path."""
    return text if "://" in text else Path(text)


@dataclass
class Ctx:
    """What the group options give every command."""

    db: Path | str
    """The database file, or a ``postgresql://`` URL."""
    season: str | None
    clock: Clock
    busy_timeout: float = 10.0
    local_now: str | None = None
    """``PREMATCH_NOW`` when it names no UTC offset (a date, or a wall time): read in the
    season's timezone once the command knows it (:meth:`in_zone`); until then
    :attr:`clock` says what to write instead."""

    def in_zone(self, timezone: str) -> Clock:
        """The clock, ``PREMATCH_NOW`` without an offset read in ``timezone`` (a date is
        its midnight there), as ``--at`` reads a question's time; kept for the rest of the
        command."""
        if self.local_now is not None:
            try:
                moment = parse_instant(self.local_now, timezone, field="PREMATCH_NOW")
            except (KeyError, ValueError, OSError):
                # No such zone (init --timezone mistyped): the command refuses it anyway,
                # and that is the error to show, not one about the clock.
                moment = parse_instant(self.local_now, "UTC", field="PREMATCH_NOW")
            self.clock, self.local_now = fixed_clock(moment), None
        return self.clock

    def store(self, *, create: bool = False, readonly: bool = False) -> Store:
        """Open the database: creating it only for commands that start something, and
        ``readonly`` for the commands that only read (DESIGN §7: reads never write)."""
        return Store.open(self.db, create=create, busy_timeout=self.busy_timeout, readonly=readonly)

    def open_season(self, store: Store) -> Season:
        """The season chosen by ``--season``, or the most recent one."""
        from prematch.policies import Rulebook

        try:
            season = Season.open(store, self.season, rulebook=Rulebook(), clock=self.clock)
        except UnknownSeasonError as e:
            known = store.seasons()
            if not known:
                raise UnknownSeasonError(
                    f"{self.db} holds no season yet; run `prematch init` first", season=e.season
                ) from e
            raise UnknownSeasonError(
                f"no season {e.season!r} in {self.db}; {seasons_hint(known, e.season)}",
                season=e.season,
            ) from e
        if self.local_now is not None:
            season.clock = self.in_zone(season.timezone)
        return season


SEASONS_NAMED = 10
"""Up to how many of a store's seasons an error names (an advisor's store holds thousands)."""


def seasons_hint(known: list[str], wanted: str | None) -> str:
    """What to say of a store's seasons after ``wanted`` was not one of them: the closest
    ids (case aside), else the first few, and where to see them all."""
    import difflib

    by_case = {season.casefold(): season for season in known}
    close = difflib.get_close_matches((wanted or "").casefold(), list(by_case), n=3, cutoff=0.8)
    guess = f"did you mean {' or '.join(by_case[c] for c in close)}?" if close else ""
    named = ", ".join(known[:SEASONS_NAMED])
    if len(known) <= SEASONS_NAMED:
        return f"{guess} its seasons: {named}".lstrip()
    return guess or (
        f"its {len(known):,} seasons include {named}; "
        "`prematch audit --all --summary` lists them all"
    )


@contextlib.contextmanager
def removed_if_failed(db: Path | str) -> Iterator[None]:
    """Remove the store file that the command creates (its folders too), if it fails: a
    failed import or copy into a path where there was nothing leaves nothing there."""
    path = db.expanduser() if isinstance(db, Path) else None
    if path is None or path.exists() or path.is_symlink():
        yield
        return
    made = [folder for folder in path.parents if not folder.exists()]  # deepest first
    try:
        yield
    except BaseException:
        # SQLite's files, and the writers' queue beside them (engine/_writers.py).
        ends = ("-wal", "-shm", "-journal", "-writers")
        for leftover in (path, *(Path(f"{path}{end}") for end in ends)):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                leftover.unlink()
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _clock() -> tuple[Clock, str | None]:
    """The clock ``PREMATCH_NOW`` sets (else the real one), and its text when it names no
    UTC offset (:attr:`Ctx.local_now`)."""
    raw = os.environ.get("PREMATCH_NOW")
    if not raw:
        return system_clock, None
    try:
        return fixed_clock(parse_instant(raw, field="PREMATCH_NOW")), None
    except InputError as e:
        try:
            parse_instant(raw, "UTC", field="PREMATCH_NOW")  # a date or a wall time?
        except InputError:
            fail(e)
    return _unplaced(raw), raw


def _unplaced(raw: str) -> Clock:
    """The clock of a ``PREMATCH_NOW`` without an offset, for a command that knows no
    season (no timezone to read it in): asking it the time is an input error."""

    def clock() -> dt.datetime:
        raise InputError(
            f"{raw!r} has no UTC offset, and this command reads no season's timezone to "
            "read it in; write a full ISO datetime with offset, e.g. "
            "2027-01-12T09:00:00-05:00",
            field="PREMATCH_NOW",
        )

    return clock


_MAX_BUSY = 86400.0
"""The longest wait for another writer PREMATCH_BUSY_TIMEOUT may ask for (a day)."""


def _busy() -> float:
    raw = os.environ.get("PREMATCH_BUSY_TIMEOUT", "10")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= _MAX_BUSY:
        fail(
            InputError(
                f"must be seconds between 0 and {_MAX_BUSY:g}, got {raw!r}",
                field="PREMATCH_BUSY_TIMEOUT",
            )
        )
    return seconds


def at_option(meaning: str = "When it happened / evaluate as of") -> Callable[[F], F]:
    """``--at DATETIME``; ``meaning`` opens its help (commands that only read say
    "Evaluate as of")."""
    return click.option(
        "--at",
        "at",
        metavar="DATETIME",
        help=f'{meaning}: ISO datetime, e.g. 2027-01-10T09:00 or "2027-01-10 09:00". A time '
        "without an offset is read in the season's timezone, or in the program's for its "
        "invitations, interviews and replies, as the output says; with an offset such as "
        "-08:00 it is exact. A date alone: for an event, during that day, after that day's "
        "earlier events; for a question, its midnight. Default: now.",
    )


def json_option(help: str = "Print JSON for scripts.") -> Callable[[F], F]:
    """``--json`` (the flag arrives as ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def override_option() -> Callable[[F], F]:
    """``--override REASON``: record a blocked action anyway."""
    return click.option(
        "--override",
        metavar="REASON",
        help="Record a blocked action anyway; the reason is kept forever and shown in every audit.",
    )


_GROUP_OPTIONS = {"--db": "FILE", "--season": "ID"}
"""The options of ``prematch`` itself (which go before the command), and their values."""


class _UsageError(click.UsageError):
    """A click usage error shown with the one prefix every error has (``error:``)."""

    def show(self, file: IO[Any] | None = None) -> None:
        """The usage, where to get help, and ``error: MESSAGE`` (on standard error)."""
        if self.ctx is not None:
            help_names = self.ctx.help_option_names
            hint = (
                f"Try '{self.ctx.command_path} {help_names[0]}' for help.\n" if help_names else ""
            )
            click.echo(f"{self.ctx.get_usage()}\n{hint}", file=file, err=True)
        click.echo(f"error: {self.format_message()}", file=file, err=True)


class _ClickError(click.ClickException):
    """Any other click error, with the ``error:`` prefix."""

    def show(self, file: IO[Any] | None = None) -> None:
        """``error: MESSAGE`` on standard error."""
        click.echo(f"error: {self.format_message()}", file=file, err=True)


def _prefixed(error: click.ClickException) -> click.ClickException:
    """``error`` as one of ours (same message and exit code, the ``error:`` prefix); an
    option of the group given after the command says where it goes."""
    message = error.format_message()
    if isinstance(error, click.NoSuchOption) and error.option_name in _GROUP_OPTIONS:
        ctx = error.ctx
        if ctx is not None and ctx.parent is not None:
            option = f"{error.option_name} {_GROUP_OPTIONS[error.option_name]}"
            message = (
                f"{error.option_name} is an option of prematch itself: put it before the "
                f"command, as in prematch {option} {ctx.info_name} …"
            )
    if isinstance(error, click.UsageError):
        return _UsageError(message, error.ctx)
    return _ClickError(message)


class _Group(click.Group):
    """The ``prematch`` group. It keeps the arguments it was given (``ctx.meta[ARGV]``), so
    that a refusal can show the exact command that records the fact anyway; and it shows
    click's own errors (usage, bad values) with the prefix of every error, ``error:``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[ARGV] = tuple(args)
        return super().parse_args(ctx, args)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """The group's context; a click error in its own options is shown as ours."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except (_UsageError, _ClickError):
            raise
        except click.ClickException as e:
            raise _prefixed(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a click error (in its arguments, or raised by it) is shown as ours."""
        try:
            return super().invoke(ctx)
        except (_UsageError, _ClickError):
            raise
        except click.ClickException as e:
            raise _prefixed(e) from None


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--db",
    metavar="PATH|URL",
    envvar="PREMATCH_DB",
    help="Database file, or a postgresql:// URL (env PREMATCH_DB). "
    "Default: prematch.db in your data folder.",
)
@click.option(
    "--season",
    envvar="PREMATCH_SEASON",
    metavar="ID",
    help="Season id (env PREMATCH_SEASON). Default: the most recent season.",
)
@click.version_option(package_name="prematch")
@click.pass_context
def main(ctx: click.Context, db: str | None, season: str | None) -> None:
    """Keep your residency-Match season as a log, and know what you may send, when.

    \b
    Start:     prematch init --match-year 2027 --specialty "Internal Medicine" \\
                 --timezone America/New_York --visa j1 --name "Your Name"
    Record:    prematch program add mercy-im --name "Mercy General IM"
               prematch log applied mercy-im
    Ask:       prematch now        prematch check interest mercy-im
    Review:    prematch audit      prematch history
    Try it:    prematch demo

    The clock is the real time unless PREMATCH_NOW (an ISO datetime; without an
    offset, or a date alone, in the season's timezone) is set. A write
    waits up to PREMATCH_BUSY_TIMEOUT seconds (default 10) for another writer.
    Exit codes: 0 ok, 1 audit found block-level findings, 2 input error, 3 refused.
    """
    clock, local_now = _clock()
    ctx.obj = Ctx(
        db=database(db) if db else default_db(),
        season=season,
        clock=clock,
        busy_timeout=_busy(),
        local_now=local_now,
    )


pass_ctx = click.make_pass_decorator(Ctx)
"""Passes the :class:`Ctx` the group made to a command, as its first argument."""


def run() -> None:
    """Entry point that also turns stray library errors into clean exits. A reader that
    stops early (``prematch export | head``) ends the command as it ends other tools: by
    SIGPIPE, silently (exit status 141 in a shell), not with an error status of its own."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        main(standalone_mode=True)
    except PrematchError as e:
        fail(e)
