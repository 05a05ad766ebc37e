"""Commands about the store itself: ``migrate`` (make prematch's tables) and ``copy`` (the
whole log into another store, a SQLite file or a PostgreSQL database, every hash
reproduced)."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from prematch.cli import _render as render
from prematch.cli._app import Ctx, database, json_option, pass_ctx, removed_if_failed
from prematch.cli._errors import handles_errors
from prematch.engine import InputError, IntegrityError, NoRules, Store

__all__ = ["COMMANDS", "copy", "migrate"]


@click.command()
@json_option("Print the store and how many events it holds as JSON.")
@pass_ctx
@handles_errors
def migrate(obj: Ctx, as_json: bool) -> None:
    """Create prematch's tables in --db (an empty PostgreSQL database, or a new file) if
    they are missing; an existing store is left as it is."""
    with obj.store(create=True) as store:
        events, _ = store.head()
        where = store.path
    if as_json:
        render.dump_json({"db": str(where), "events": events})
        return
    click.echo(f"{where}: a prematch store, up to date, with {render.counted(events, 'event')}.")


@click.command()
@click.option(
    "--from",
    "source",
    metavar="PATH|URL",
    required=True,
    help="The store to copy: a database file or a postgresql:// URL (only read).",
)
@click.option(
    "--to",
    "target",
    metavar="PATH|URL",
    required=True,
    help="An empty store to copy into (a new file, or a database without events).",
)
@json_option("Print the events copied and the head as JSON.")
@pass_ctx
@handles_errors
def copy(obj: Ctx, source: str, target: str, as_json: bool) -> None:
    """Copy every event of one store into an empty one (SQLite to PostgreSQL or back):
    the same seqs and hashes, checked with verify; all of it, or nothing."""
    from prematch.engine.io import export_lines, import_lines

    origin, destination = database(source), database(target)
    if _same(origin, destination):
        raise InputError("--from and --to name the same store; --to needs another one")
    timeout = obj.busy_timeout
    with (
        removed_if_failed(destination),
        Store.open(origin, create=False, busy_timeout=timeout, readonly=True) as src,
        Store.open(destination, create=True, busy_timeout=timeout) as dst,
    ):
        held, _ = dst.head()
        if held:
            raise InputError(
                f"{dst.path} already holds {render.counted(held, 'event')}; copy into a new file "
                "or an empty database",
                field="to",
            )
        head = src.head()
        # The log as it is: no rulebook re-judges what was recorded (or overridden) then,
        # and no clock of this machine judges when it happened.
        result = import_lines(
            dst, export_lines(src), rulebook=NoRules(), clock=obj.clock, restore=True
        )
        checked, tamper = dst.verify(head)
        if tamper is not None or dst.head() != head:
            # Restored into an empty store, the first event that does not give the hash
            # its source holds is where the source was changed behind prematch's back.
            seq = result.changed_from_line or (tamper.seq if tamper else None)
            where = f" from seq {seq} on" if seq else ""
            verify = f"prematch --db {shlex.quote(str(src.path))} verify"
            raise IntegrityError(
                f"its events do not give the hashes it holds{where}: it was changed behind "
                f"prematch's back, and nothing was copied (`{verify}` says what is wrong)",
                path=src.path,
                code="store.tampered",
            )
        src_label, dst_label = src.path, dst.path
    seq, digest = head
    if as_json:
        render.dump_json(
            {
                "events": result.events,
                "seasons": list(result.seasons),
                "head": f"{seq}:{digest}",
                "from": str(src_label),
                "to": str(dst_label),
            }
        )
        return
    click.echo(
        f"Copied {render.counted(result.events, 'event')} of "
        f"{render.counted(len(result.seasons), 'season')} from {src_label} to {dst_label}; "
        f"every hash reproduced, verified ({render.counted(checked, 'event')}). Head: "
        f"{seq}:{digest}"
    )


def _same(first: Path | str, second: Path | str) -> bool:
    if isinstance(first, Path) and isinstance(second, Path):
        return first.expanduser().resolve() == second.expanduser().resolve()
    return first == second


COMMANDS: tuple[click.Command, ...] = (migrate, copy)
"""This module's commands, as the group adds them."""
