"""Commands about the messages themselves: ``draft``, ``lint`` and ``calendar``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from prematch.cli import _render as render
from prematch.cli._app import Ctx, at_option, json_option, pass_ctx
from prematch.cli._errors import handles_errors
from prematch.cli._text import visible
from prematch.engine import ACTIONS, InputError, SeasonState

__all__ = ["COMMANDS", "calendar", "draft", "lint"]


@click.command()
@click.argument("action", type=click.Choice(ACTIONS))
@click.argument("program_id", metavar="PROGRAM")
@click.option("--edit", is_flag=True, help="Open the draft in $EDITOR, then lint what you wrote.")
@at_option("Evaluate as of")
@json_option()
@pass_ctx
@handles_errors
def draft(
    obj: Ctx, action: str, program_id: str, edit: bool, at: str | None, as_json: bool
) -> None:
    """Write a draft of ACTION to PROGRAM, filled from your season (refused if blocked now).

    The draft goes to standard output, what the rulebook and lint say to standard error.
    Replace the [bracketed] parts with your own specifics before sending: lint blocks a
    message that still holds one (content.placeholder). Exit 3 when the action is blocked
    now, 1 when an edited draft breaks a content rule (a blank left unfilled included).
    """
    from prematch.policies import draft_message, lint_message

    with obj.store(readonly=True) as store:
        season = obj.open_season(store)
        moment = season.instant(at)
        verdict = season.check(action, program_id, moment)
        state = season.state(moment)
    head = verdict.check_json(season.id, moment)
    if verdict.outcome == "blocked":
        if as_json:
            render.dump_json({**head, "text": None, "lint": []})
        click.echo(
            click.style(
                f"error: {action} to {program_id} is blocked now, so there is no draft:", fg="red"
            ),
            err=True,
        )
        render.findings_text(verdict.findings, err=True)
        sys.exit(3)
    result = draft_message(state, action, program_id)
    text, findings = result.text, list(result.findings)
    if edit:
        edited = click.edit(text, extension=".txt", require_save=True)
        if edited is not None:
            text, findings = edited, lint_message(edited, action, state, program_id)
    if as_json:
        render.dump_json({**head, "text": text, "lint": [f.to_json() for f in findings]})
    else:
        click.echo(visible(text), nl=not text.endswith("\n"))
        if verdict.findings:
            render.findings_text(verdict.findings, err=True)
        if findings:
            render.lint_text(findings, "draft", err=True)
    # A fresh draft is meant to hold blanks: only what --edit leaves can fail.
    sys.exit(1 if edit and any(f.severity == "block" for f in findings) else 0)


def _decoded(data: bytes, name: str) -> str:
    """The message as UTF-8 text; any other bytes are an input error that says where."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            f"{name} is not UTF-8: byte 0x{data[e.start]:02x} at offset {e.start} (column "
            f"{column}) cannot be read; save the message as UTF-8 and lint it "
            "again",
            field="file",
            line=line,
        ) from e


def _lint_state(obj: Ctx, program_id: str | None, at: str | None) -> SeasonState | None:
    """The season to lint against: required with --program, else used when there is one."""
    if program_id is None and isinstance(obj.db, Path) and (not obj.db.exists() or obj.db.is_dir()):
        return None
    with obj.store(readonly=True) as store:
        if program_id is None and store.latest_season() is None:
            return None
        season = obj.open_season(store)
        return season.state(season.instant(at))


@click.command()
@click.argument("file", type=click.File("rb"), metavar="FILE")
@click.option("--action", type=click.Choice(ACTIONS), required=True, help="What the message is.")
@click.option(
    "--program",
    "program_id",
    metavar="PROGRAM",
    help="Who it goes to (checks the log: has another program been told 'first choice'?).",
)
@at_option("Evaluate as of")
@json_option()
@pass_ctx
@handles_errors
def lint(
    obj: Ctx, file: IO[bytes], action: str, program_id: str | None, at: str | None, as_json: bool
) -> None:
    """Check a message (FILE, or - for standard input) against the content rules.

    Shows each offending phrase, the sentence it is in and its line. Exit 1 when a
    block-level rule is broken, 2 when the file is not UTF-8 text.
    """
    from prematch.policies import lint_message

    name = getattr(file, "name", "-")
    name = "-" if name in ("<stdin>", "-") else str(name)
    text = _decoded(file.read(), name)
    state = _lint_state(obj, program_id, at)
    findings = lint_message(text, action, state, program_id)
    if as_json:
        render.dump_json(
            {
                "file": name,
                "action": action,
                "program": program_id,
                "season": state.id if state else None,
                "findings": [f.to_json() for f in findings],
                "summary": render.lint_summary(findings),
            }
        )
    else:
        render.lint_text(findings, name)
    sys.exit(1 if any(f.severity == "block" for f in findings) else 0)


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The .ics file to write (import it into your calendar; re-import to update).",
)
@at_option("Evaluate as of")
@pass_ctx
@handles_errors
def calendar(obj: Ctx, out: Path, at: str | None) -> None:
    """Write the season's dates to an iCalendar file, in your timezone.

    Interviews (in the program's timezone), messages sent (on their dates), thank-you
    due times (an alarm 12 h before), letter of interest / intent windows opening, the
    rank list deadline (alarms 48 h and 2 h before), Match Week and Match Day. Event ids
    are stable: re-running updates them.
    """
    from prematch.cli._ics import calendar_entries, season_ics
    from prematch.engine.io import write_file

    with obj.store(readonly=True) as store:
        season = obj.open_season(store)
        moment = season.instant(at)
        state = season.state(moment)
        report = season.what_now(moment)
    entries = list(calendar_entries(state, report))
    write_file(out, season_ics(state, entries, stamp=obj.clock()))
    wrote = render.counted(len(entries), "event")
    click.echo(f"Wrote {wrote} to {out} (times in {state.timezone}).", err=True)


COMMANDS: tuple[click.Command, ...] = (draft, lint, calendar)
"""The commands of this module, for :mod:`prematch.cli` to add to the group."""
