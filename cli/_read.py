"""Commands that read a season: ``now``, ``check``, ``audit``, ``history``, ``verify``,
``export``, ``diagram``, ``schema`` and ``demo``. They open the store read-only (DESIGN §7),
except ``audit --all`` (its ``--summary`` and ``--format html`` too): it never writes the
log either, but keeps its findings projection (:mod:`prematch.engine._projection`) when
the store lets it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from prematch.cli import _render as render
from prematch.cli._app import Ctx, at_option, json_option, pass_ctx
from prematch.cli._errors import handles_errors
from prematch.engine import (
    ACTIONS,
    SCHEMA_SHAPES,
    InputError,
    Season,
    SeasonOverview,
    SeasonSummary,
    Store,
    fixed_clock,
    parse_instant,
)

__all__ = [
    "COMMANDS",
    "DEMO_INSTANT",
    "audit",
    "check",
    "demo",
    "diagram",
    "export",
    "history",
    "now",
    "schema",
    "status",
    "verify",
]

DEMO_INSTANT = "2027-01-15T09:00:00-05:00"
"""The demo season is shown as of this instant (a January morning of the 2027 Match)."""


@click.command()
@at_option()
@json_option()
@click.option("--all", "show_all", is_flag=True, help="Also show what is blocked, and why.")
@pass_ctx
@handles_errors
def now(obj: Ctx, at: str | None, as_json: bool, show_all: bool) -> None:
    """What you may send now, per program: due soon, allowed, opening later (--all: blocked)."""
    with obj.store(readonly=True) as store:
        report = obj.open_season(store).what_now(at)
    if as_json:
        render.dump_json(report.to_json())
    else:
        render.now_table(report, show_all)


@click.command()
@at_option("Evaluate as of")
@json_option()
@pass_ctx
@handles_errors
def status(obj: Ctx, at: str | None, as_json: bool) -> None:
    """One row per program: state, interview, last message sent, the next thing to do and
    by when, findings; most urgent first (alias: program list)."""
    with obj.store(readonly=True) as store:
        report = obj.open_season(store).status(at)
    if as_json:
        render.dump_json(report.to_json())
    else:
        render.status_table(report)


@click.command()
@click.argument("action", metavar=f"{{{'|'.join(ACTIONS)}}}")
@click.argument("program_id", metavar="PROGRAM")
@at_option()
@json_option()
@pass_ctx
@handles_errors
def check(obj: Ctx, action: str, program_id: str, at: str | None, as_json: bool) -> None:
    """May I send ACTION to PROGRAM now? Exit 0 allowed or warn, 3 blocked."""
    with obj.store(readonly=True) as store:
        season = obj.open_season(store)
        moment = season.instant(at)
        verdict = season.check(action, program_id, moment)
        tz = season.timezone
    if as_json:
        render.dump_json(verdict.check_json(season.id, moment))
    else:
        render.verdict_text(verdict, tz, moment)
    sys.exit(3 if verdict.outcome == "blocked" else 0)


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html"]),
    default="text",
    show_default=True,
)
@json_option()
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Audit every season in the store (JSON: one object per line).",
)
@click.option(
    "--summary",
    is_flag=True,
    help="One row per season (with --all: every season): blocks, warns, the next deadline, "
    "programs per state; text or --json.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --format html: write the page to this file (default: standard output).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="With --all (and its --summary, --format html): worker processes (seasons are "
    "audited independently; the output is the same). "
    "Default 0: one per CPU core for a large store, one process for a small one.",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="With --all (and its --summary, --format html): judge every season from its "
    "events, ignoring (and rewriting) the findings kept from earlier audits.",
)
@pass_ctx
@handles_errors
def audit(
    obj: Ctx,
    fmt: str,
    as_json: bool,
    every: bool,
    summary: bool,
    out: Path | None,
    jobs: int,
    rebuild: bool,
) -> None:
    """Every rule the season broke or brushed against, tied to its event. Exit 1 on a block.

    With --all, every season in the store (an advisor's view); --summary gives one row
    per season, and --all --format html one page with a row per applicant, each linking
    to that season's report on the same page. --all (with --summary and --format html
    too) keeps each season's findings in the store (a cache beside the log, never the
    log itself) and judges again only the seasons that changed since, or all of them
    with --rebuild."""
    from prematch.engine import audit_jobs, audit_store
    from prematch.policies import Rulebook

    fmt = "json" if as_json else fmt
    if out is not None and fmt != "html":
        raise InputError("--out goes with --format html; redirect other formats", field="--out")
    if summary and fmt not in ("text", "json"):
        raise InputError("--summary is text or --json", field="--summary")
    if rebuild and not every:
        raise InputError("--rebuild goes with --all", field="--rebuild")
    if jobs and not every:
        raise InputError(
            "--jobs goes with --all (one season is audited in one process)", field="--jobs"
        )
    if summary or (fmt == "html" and every):
        _audit_seasons(obj, fmt, every, summary, out, jobs, rebuild)
        return
    blocked = False
    # --all may keep the findings projection (never the log): it opens a file it may write
    # for that (a file this user cannot write opens read-only, and then keeps nothing).
    with obj.store(readonly=not every) as store:
        rulebook = Rulebook()
        if every:
            seasons = len(store.seasons())
            if not seasons:
                raise InputError(f"{obj.db} holds no season yet", field="season")
            reports = audit_store(
                store,
                rulebook,
                jobs=jobs or audit_jobs(seasons),
                at=obj.clock(),
                rebuild=rebuild,
            )
        else:
            season = obj.open_season(store)
            moment = season.instant(None)
            reports = iter([season.audit(moment)])
        for report in reports:
            blocked |= report.has_blocks
            if fmt == "html":
                from prematch.cli._html import season_page
                from prematch.engine.io import write_file

                page = season_page(season, report, moment)
                if out is None:
                    click.echo(page, nl=False)
                else:
                    write_file(out, page.encode("utf-8"))
            elif fmt == "json":
                if every:
                    click.echo(json.dumps(report.to_json(), ensure_ascii=False))
                else:
                    render.dump_json(report.to_json())
            elif fmt == "markdown":
                click.echo(render.audit_markdown(report))
            else:
                render.audit_text(report)
    sys.exit(1 if blocked else 0)


def _audit_seasons(
    obj: Ctx, fmt: str, every: bool, summary: bool, out: Path | None, jobs: int, rebuild: bool
) -> None:
    """``audit --summary`` (text or JSON) and ``audit --all --format html``: one row per
    season. With ``--all``, every season is read once, in runs, as ``audit --all`` reads
    them (its findings from the projection where it holds them, the others judged and
    kept there), over ``jobs`` processes."""
    from prematch.engine import audit_jobs, season_overviews
    from prematch.policies import Rulebook

    moment = obj.clock()
    rows: list[tuple[SeasonSummary, str]]
    if every:
        from prematch.cli._html import advisor_row

        # As audit --all: a file it may write, to keep the findings projection.
        with obj.store() as store:
            count = len(store.seasons())
            if not count:
                raise InputError(f"{obj.db} holds no season yet", field="season")
            each = advisor_row if fmt == "html" else _summary_row
            rows = list(
                season_overviews(
                    store,
                    Rulebook(),
                    each,
                    at=moment,
                    jobs=jobs or audit_jobs(count),
                    rebuild=rebuild,
                )
            )
    else:
        with obj.store(readonly=True) as store:
            rows = [(obj.open_season(store).summary(moment), "")]
    summaries = [row for row, _ in rows]
    if fmt == "html":
        from prematch.cli._html import advisor_page

        page = advisor_page(rows, moment)
        if out is None:
            click.echo(page, nl=False)
        else:
            from prematch.engine.io import write_file

            write_file(out, page.encode("utf-8"))
    elif fmt == "json":
        from prematch.engine import utc_iso

        render.dump_json({"as_of": utc_iso(moment), "seasons": [r.to_json() for r in summaries]})
    else:
        render.summary_table(summaries)
    sys.exit(1 if any(r.block for r in summaries) else 0)


def _summary_row(overview: SeasonOverview) -> tuple[SeasonSummary, str]:
    """A season's row of ``audit --all --summary`` (no section: text or JSON)."""
    return overview.summary(), ""


@click.command()
@at_option()
@json_option()
@pass_ctx
@handles_errors
def history(obj: Ctx, at: str | None, as_json: bool) -> None:
    """Every event in replay order (retracted ones marked)."""
    with obj.store(readonly=True) as store:
        season = obj.open_season(store)
        entries = season.history(at)
    if as_json:
        render.dump_json({"season": season.id, "events": [e.to_json() for e in entries]})
    else:
        render.history_table(season.id, entries)


@click.command()
@json_option()
@click.option(
    "--head",
    "noted",
    metavar="SEQ:SHA256",
    help="A head printed by an earlier verify: also catches events cut off the end.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes that check spans of the store at once (same verdict). "
    "Default 0: one per CPU core for a large store, one process for a small one.",
)
@pass_ctx
@handles_errors
def verify(obj: Ctx, as_json: bool, noted: str | None, jobs: int) -> None:
    """Check the hash chain for edits, deletions or reordering. Exit 1 if broken."""
    from prematch.engine import verify_jobs

    expected = None
    if noted is not None:
        seq_text, _, digest = noted.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            raise InputError("--head takes SEQ:SHA256, as verify printed it", field="--head")
        expected = (int(seq_text), digest)
    with obj.store(readonly=True) as store:
        stored = store.head()
        verification = store.verify(expected, jobs=jobs or verify_jobs(stored[0]))
    count, problem = verification
    if as_json:
        render.dump_json(verification.to_json())
    elif problem is None:
        # The head this run checked, as --json gives it (an empty store's: the chain's start).
        head_seq, head_hash = verification.head or stored
        click.echo(f"OK: {render.counted(count, 'event')}, seq gapless, hash chain intact.")
        click.echo(f"Head: {head_seq}:{head_hash} (note it; `verify --head` checks against it)")
    else:
        click.echo(
            click.style(f"BROKEN at seq {problem.seq}: {problem.kind} ({problem.detail})", fg="red")
        )
    sys.exit(0 if problem is None else 1)


_LINES_PER_WRITE = 1000
"""How many lines ``export`` writes at a time."""


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output); a sheet is created 0600.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "xlsx"]),
    default="jsonl",
    show_default=True,
    help="jsonl: every event, re-importable; csv or xlsx: the season as a sheet (prematch sync).",
)
@pass_ctx
@handles_errors
def export(obj: Ctx, out: Path | None, fmt: str) -> None:
    """Export events as JSONL (every season, or only --season), re-importable as is; or,
    with --format csv|xlsx, one season as a sheet with the columns sync reads."""
    from prematch.engine.io import csv_text, export_lines, sheet_table, write_file, write_sheet

    if fmt == "xlsx" and out is None:
        raise InputError("--format xlsx writes a workbook: give --out FILE.xlsx")
    with obj.store(readonly=True) as store:
        if fmt == "jsonl":  # streamed: a whole store's export is never held
            if obj.season is not None:
                obj.open_season(store)  # an unknown season is refused, not exported as nothing
            events = 0

            def chunks() -> Iterator[str]:
                nonlocal events
                lines: list[str] = []
                for line in export_lines(store, obj.season):
                    lines.append(line)
                    if len(lines) == _LINES_PER_WRITE:
                        events += len(lines)
                        yield "\n".join(lines) + "\n"
                        lines = []
                if lines:
                    events += len(lines)
                    yield "\n".join(lines) + "\n"

            if out is None:
                for chunk in chunks():
                    click.echo(chunk, nl=False)
                return
            write_file(out, (chunk.encode("utf-8") for chunk in chunks()))
            click.echo(f"Wrote {render.counted(events, 'event')} to {out}.", err=True)
            return
        season = obj.open_season(store)
        header, rows = sheet_table(season)
    if out is None:
        click.echo(csv_text(header, rows), nl=False)
        return
    write_sheet(out, header, rows, xlsx=fmt == "xlsx")
    click.echo(f"Wrote {render.counted(len(rows), 'program')} of {season.id} to {out}.", err=True)


@click.command()
def diagram() -> None:
    """The per-program state machine as a Mermaid diagram."""
    from prematch.engine import mermaid

    click.echo(mermaid(), nl=False)


@click.command()
@click.option(
    "--for",
    "shape",
    type=click.Choice(list(SCHEMA_SHAPES)),
    default="event",
    show_default=True,
    help="Which JSON shape: a stored event, an export line, or a command's --json output.",
)
def schema(shape: str) -> None:
    """The JSON Schema of a JSON shape prematch writes (every --json output validates)."""
    from prematch.engine import json_schema

    render.dump_json(json_schema(shape))


@click.command()
@json_option("Print now and audit as JSON.")
def demo(as_json: bool) -> None:
    """Load a realistic IMG season into a temporary database and show it."""
    import tempfile

    from prematch.engine import fixtures_dir
    from prematch.engine.io import import_lines
    from prematch.policies import Rulebook

    moment = parse_instant(DEMO_INSTANT)
    clock = fixed_clock(moment)
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "demo.db") as store:
        rulebook = Rulebook()
        with (fixtures_dir() / "demo" / "season.jsonl").open("rb") as f:
            result = import_lines(store, f, rulebook=rulebook, clock=clock)
        season = Season.open(store, result.seasons[0], rulebook=rulebook, clock=clock)
        report = season.what_now()
        audit_report = season.audit()
    if as_json:
        render.dump_json({"now": report.to_json(), "audit": audit_report.to_json()})
        return
    click.echo(
        f"Demo: {result.events} events of an internal-medicine IMG on a J-1, "
        f"shown as of {DEMO_INSTANT}.\n"
    )
    render.now_table(report, show_all=False)
    click.echo()
    render.audit_text(audit_report)


COMMANDS: tuple[click.Command, ...] = (
    now,
    status,
    check,
    audit,
    history,
    verify,
    export,
    diagram,
    schema,
    demo,
)
"""The commands of this module, for :mod:`prematch.cli` to add to the group."""
