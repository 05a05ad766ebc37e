"""``prematch``: the command line. Each command parses, calls the library, renders.

Exit codes (DESIGN §6): 0 ok, 1 audit/lint found block-level findings,
2 usage or input error, 3 refused or blocked.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from prematch.cli import render
from prematch.cli.errors import fail, handles_errors
from prematch.engine import (
    ACTIONS,
    Clock,
    InputError,
    PrematchError,
    Season,
    Store,
    fixed_clock,
    parse_instant,
    system_clock,
)

DEMO_INSTANT = "2027-01-15T09:00:00-05:00"
"""The demo season is shown as of this instant (a January morning of the 2027 Match)."""


def default_db() -> Path:
    """The default database: ``prematch.db`` in the user's data directory."""
    import platformdirs

    return Path(platformdirs.user_data_path("prematch")) / "prematch.db"


@dataclass
class Ctx:
    """What the group options give every command."""

    db: Path
    season: str | None
    clock: Clock
    busy_timeout: float = 10.0

    def store(self, *, create: bool = False) -> Store:
        """Open the database (creating it only for commands that start something)."""
        return Store.open(self.db, create=create, busy_timeout=self.busy_timeout)

    def open_season(self, store: Store) -> Season:
        """The season chosen by ``--season``, or the most recent one."""
        from prematch.policies import Rulebook

        return Season.open(store, self.season, rulebook=Rulebook(), clock=self.clock)


def _clock() -> Clock:
    raw = os.environ.get("PREMATCH_NOW")
    if not raw:
        return system_clock
    try:
        return fixed_clock(parse_instant(raw, field="PREMATCH_NOW"))
    except InputError as e:
        fail(e)


def _busy() -> float:
    raw = os.environ.get("PREMATCH_BUSY_TIMEOUT", "10")
    try:
        return max(0.0, float(raw))
    except ValueError:
        fail(InputError(f"PREMATCH_BUSY_TIMEOUT must be seconds, got {raw!r}"))


at_option = click.option(
    "--at",
    "at",
    metavar="DATETIME",
    help="When it happened / evaluate as of: ISO datetime with offset, or a date "
    "(midnight in the season's timezone). Default: now.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
override_option = click.option(
    "--override",
    metavar="REASON",
    help="Record a blocked action anyway; the reason is kept forever and shown in every audit.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    type=click.Path(path_type=Path),
    envvar="PREMATCH_DB",
    help="Database file (env PREMATCH_DB). Default: prematch.db in your data folder.",
)
@click.option(
    "--season",
    envvar="PREMATCH_SEASON",
    metavar="ID",
    help="Season id (env PREMATCH_SEASON). Default: the most recent season.",
)
@click.version_option(package_name="prematch")
@click.pass_context
def main(ctx: click.Context, db: Path | None, season: str | None) -> None:
    """Keep your residency-Match season as a log, and know what you may send, when.

    \b
    Start:     prematch init --match-year 2027 --specialty "Internal Medicine" \\
                 --timezone America/New_York --visa j1 --name "Your Name"
    Record:    prematch program add mercy-im --name "Mercy General IM"
               prematch log applied mercy-im
    Ask:       prematch now        prematch check interest mercy-im
    Review:    prematch audit      prematch history
    Try it:    prematch demo

    The clock is the real time unless PREMATCH_NOW (an ISO datetime) is set. A write
    waits up to PREMATCH_BUSY_TIMEOUT seconds (default 10) for another writer.
    Exit codes: 0 ok, 1 audit found block-level findings, 2 input error, 3 refused.
    """
    ctx.obj = Ctx(db=db or default_db(), season=season, clock=_clock(), busy_timeout=_busy())


pass_ctx = click.make_pass_decorator(Ctx)


# -- writing ----------------------------------------------------------------------------


@main.command()
@click.option("--match-year", type=int, required=True, help="Year of the Match, e.g. 2027.")
@click.option("--specialty", required=True, help='e.g. "Internal Medicine".')
@click.option("--timezone", required=True, help="Your IANA timezone, e.g. America/New_York.")
@click.option("--visa", type=click.Choice(["none", "j1", "h1b", "undecided"]), required=True)
@click.option("--name", required=True, help="Your name as in your applications.")
@click.option("--aamc-id", help="AAMC ID (used in message signatures).")
@click.option("--ecfmg-id", help="ECFMG ID (IMGs).")
@click.option("--id", "season_id", help="Season id (default: --season, or name-year).")
@at_option
@pass_ctx
@handles_errors
def init(
    obj: Ctx,
    match_year: int,
    specialty: str,
    timezone: str,
    visa: str,
    name: str,
    aamc_id: str | None,
    ecfmg_id: str | None,
    season_id: str | None,
    at: str | None,
) -> None:
    """Start a season (creates the database if needed)."""
    from prematch.engine._transfer import season_slug
    from prematch.policies import Rulebook

    sid = season_id or obj.season or season_slug(name, match_year)
    with obj.store(create=True) as store:
        Season.start(
            store,
            sid,
            at=at,
            rulebook=Rulebook(),
            clock=obj.clock,
            match_year=match_year,
            specialty=specialty,
            timezone=timezone,
            visa=visa,
            applicant_name=name,
            aamc_id=aamc_id,
            ecfmg_id=ecfmg_id,
        )
    click.echo(f"Season {sid} started.")
    click.echo(f"Database: {obj.db}", err=True)


@main.group()
def program() -> None:
    """Programs of the season."""


@program.command("add")
@click.argument("program_id", metavar="ID")
@click.option("--name", required=True, help="The program's name.")
@click.option("--specialty", help="If it differs from the season's.")
@click.option("--no-nrmp", is_flag=True, help="The program does not take part in the NRMP Match.")
@click.option(
    "--no-post-interview-contact",
    "no_contact",
    is_flag=True,
    default=None,
    help="The program asked for no contact after the interview.",
)
@click.option("--sponsors", metavar="VISAS", help="Visas it sponsors, e.g. j1,h1b (or none).")
@click.option("--contact", "contacts", multiple=True, help="A contact (repeatable).")
@at_option
@pass_ctx
@handles_errors
def program_add(
    obj: Ctx,
    program_id: str,
    name: str,
    specialty: str | None,
    no_nrmp: bool,
    no_contact: bool | None,
    sponsors: str | None,
    contacts: tuple[str, ...],
    at: str | None,
) -> None:
    """Add a program to the season."""
    fields: dict[str, Any] = {"nrmp_participating": not no_nrmp}
    if specialty:
        fields["specialty"] = specialty
    if no_contact:
        fields["no_post_interview_contact"] = True
    if sponsors is not None:
        fields["sponsors_visas"] = [v.strip() for v in sponsors.split(",") if v.strip()]
    if contacts:
        fields["contacts"] = list(contacts)
    with obj.store() as store:
        done = obj.open_season(store).add_program(program_id, name, at=at, **fields)
    click.echo(f"Added {program_id} (seq {done.record.seq}).")


_LOG_FIELDS = {
    "via": "via",
    "kind": "kind",
    "detail": "detail",
    "note": "note",
    "interview_on": "interview_on",
    "recipients": "recipients",
    "news": "news_seq",
    "initiated_by": "initiated_by",
    "asked_rank": "asked_rank",
    "offered_commitment": "offered_commitment",
    "during_soap": "during_soap",
}


def _report_recorded(done: Any, what: str) -> None:
    click.echo(f"Recorded {what} (seq {done.record.seq}).")
    warnings = [f for f in done.findings if f.severity != "info"]
    if warnings:
        render.findings_text(warnings)


@main.command()
@click.argument("event", metavar="EVENT")
@click.argument("program_id", metavar="[PROGRAM]", required=False)
@at_option
@override_option
@click.option("--via", help="applied: eras or residencycas.")
@click.option("--kind", help="connection_recorded / offer_received: its kind.")
@click.option("--detail", help="connection_recorded: what the connection is.")
@click.option("--note", help="inquiry_sent: a note.")
@click.option("--interview-on", metavar="DATE", help="invited: the interview date.")
@click.option("--recipient", "recipients", multiple=True, help="thanked: who (repeatable).")
@click.option(
    "--news",
    type=int,
    metavar="SEQ",
    help="update_sent: the news seq told (default: oldest untold).",
)
@click.option("--initiated-by", type=click.Choice(["applicant", "program"]), help="call_held.")
@click.option("--asked-rank/--no-asked-rank", default=None, help="program_contacted.")
@click.option(
    "--offered-commitment/--no-offered-commitment", default=None, help="program_contacted."
)
@click.option("--during-soap/--no-during-soap", default=None, help="program_contacted.")
@click.option(
    "--set",
    "extra",
    multiple=True,
    metavar="KEY=JSON",
    help="Any other payload field, value as JSON (repeatable).",
)
@pass_ctx
@handles_errors
def log(
    obj: Ctx,
    event: str,
    program_id: str | None,
    at: str | None,
    override: str | None,
    extra: tuple[str, ...],
    **options: Any,
) -> None:
    """Record an event (any type: applied, invited, interviewed, thanked, interest-sent, ...).

    \b
    Examples:
      prematch log invited mercy-im --interview-on 2026-11-12
      prematch log interviewed mercy-im --at 2026-11-12T09:00:00-05:00
      prematch log thanked mercy-im
      prematch log interest-sent mercy-im --override "PD asked me to write"
    """
    from prematch.engine import EVENT_TYPES

    kind = event.strip().lower().replace("-", "_")
    if kind not in EVENT_TYPES:
        raise InputError(
            f"unknown event {event!r}; events: {', '.join(EVENT_TYPES)}", field="EVENT"
        )
    fields: dict[str, Any] = {}
    for option, value in options.items():
        if value is None or value == ():
            continue
        fields[_LOG_FIELDS[option]] = list(value) if isinstance(value, tuple) else value
    for item in extra:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--set needs KEY=JSON, got {item!r}", field="--set")
        try:
            fields[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            fields[key.strip()] = raw
    with obj.store() as store:
        done = obj.open_season(store).record(kind, program_id, at=at, override=override, **fields)
    _report_recorded(done, kind + (f" for {program_id}" if program_id else ""))


@main.command()
@click.argument(
    "kind", type=click.Choice(["exam", "visa", "publication", "letter", "clinical", "other"])
)
@click.argument("detail")
@at_option
@pass_ctx
@handles_errors
def news(obj: Ctx, kind: str, detail: str, at: str | None) -> None:
    """Record news in your file (Step 3 passed, a publication...) that programs may hear."""
    with obj.store() as store:
        done = obj.open_season(store).record("news_recorded", at=at, kind=kind, detail=detail)
    _report_recorded(done, f"news: {detail}")


@main.command()
@click.argument("order", nargs=-1, required=True, metavar="P1 P2 ...")
@at_option
@override_option
@pass_ctx
@handles_errors
def certify(obj: Ctx, order: tuple[str, ...], at: str | None, override: str | None) -> None:
    """Record your certified rank order list, most preferred first."""
    with obj.store() as store:
        done = obj.open_season(store).certify(order, at=at, override=override)
    _report_recorded(done, f"rank order list of {len(order)} programs")


@main.command()
@click.argument("seq", type=int)
@click.option("--reason", required=True, help="Why the event was wrong.")
@at_option
@pass_ctx
@handles_errors
def retract(obj: Ctx, seq: int, reason: str, at: str | None) -> None:
    """Retract an event recorded by mistake (it stays in the log, skipped on replay)."""
    with obj.store() as store:
        done = obj.open_season(store).retract(seq, reason, at=at)
    _report_recorded(done, f"retraction of seq {seq}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--allow-violations",
    is_flag=True,
    help='Record lines the rulebook blocks, with the override "imported".',
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
@handles_errors
def import_(obj: Ctx, file: Path, allow_violations: bool, as_json: bool) -> None:
    """Import events from a JSONL file, or a tracking sheet (.csv): all of it, or nothing."""
    from prematch.engine import import_lines
    from prematch.policies import Rulebook

    with obj.store(create=True) as store, file.open("rb") as f:
        if (
            file.suffix.lower() == ".csv"
        ):  # an applicant's tracking sheet (prematch.engine._tracker)
            from prematch.engine._tracker import import_tracker

            result = import_tracker(obj.open_season(store), file, allow_violations=allow_violations)
        else:
            result = import_lines(
                store,
                f,
                default_season=obj.season or next(reversed(store.seasons()), None),
                rulebook=Rulebook(),
                clock=obj.clock,
                allow_violations=allow_violations,
            )
    if as_json:
        render.dump_json(
            {
                "events": result.events,
                "seasons": list(result.seasons),
                "overridden": result.overridden,
                "warnings": result.warnings,
            }
        )
        return
    click.echo(
        f"Imported {result.events} events into {', '.join(result.seasons) or 'no season'}"
        f" ({result.overridden} with an override, {result.warnings} warnings)."
    )


# -- reading ----------------------------------------------------------------------------


@main.command()
@at_option
@json_option
@click.option("--all", "show_all", is_flag=True, help="Also show what is blocked, and why.")
@pass_ctx
@handles_errors
def now(obj: Ctx, at: str | None, as_json: bool, show_all: bool) -> None:
    """What you may send now, per program: due soon, allowed, opening later (--all: blocked)."""
    with obj.store() as store:
        report = obj.open_season(store).what_now(at)
    if as_json:
        render.dump_json(report.to_json())
    else:
        render.now_table(report, show_all)


@main.command()
@click.argument("action", metavar=f"{{{'|'.join(ACTIONS)}}}")
@click.argument("program_id", metavar="PROGRAM")
@at_option
@json_option
@pass_ctx
@handles_errors
def check(obj: Ctx, action: str, program_id: str, at: str | None, as_json: bool) -> None:
    """May I send ACTION to PROGRAM now? Exit 0 allowed or warn, 3 blocked."""
    with obj.store() as store:
        season = obj.open_season(store)
        moment = season.instant(at)
        verdict = season.check(action, program_id, moment)
        tz = season.timezone
    if as_json:
        from prematch.engine import utc_iso

        render.dump_json({"season": season.id, "as_of": utc_iso(moment), **verdict.to_json()})
    else:
        render.verdict_text(verdict, tz, moment)
    sys.exit(3 if verdict.outcome == "blocked" else 0)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html"]),
    default="text",
    show_default=True,
)
@json_option
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Audit every season in the store (JSON: one object per line).",
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
    help="With --all: worker processes (seasons are audited independently). "
    "Default 0: one per CPU core for a large store, one process for a small one.",
)
@pass_ctx
@handles_errors
def audit(obj: Ctx, fmt: str, as_json: bool, every: bool, out: Path | None, jobs: int) -> None:
    """Every rule the season broke or brushed against, tied to its event. Exit 1 on a block."""
    from prematch.engine import audit_jobs, audit_store
    from prematch.policies import Rulebook

    fmt = "json" if as_json else fmt
    if fmt == "html" and every:
        raise InputError("--format html shows one season; choose it with --season", field="--all")
    if out is not None and fmt != "html":
        raise InputError("--out goes with --format html; redirect other formats", field="--out")
    blocked = False
    with obj.store() as store:
        rulebook = Rulebook()
        if every:
            seasons = len(store.seasons())
            if not seasons:
                raise InputError(f"{obj.db} holds no season yet", field="season")
            reports = audit_store(store, rulebook, jobs=jobs or audit_jobs(seasons))
        else:
            season = obj.open_season(store)
            reports = iter([season.audit()])
        for report in reports:
            blocked |= report.has_blocks
            if fmt == "html":
                from prematch.cli.html import season_page

                page = season_page(season, report)
                if out is None:
                    click.echo(page, nl=False)
                else:
                    out.write_text(page, encoding="utf-8")
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


@main.command()
@at_option
@json_option
@pass_ctx
@handles_errors
def history(obj: Ctx, at: str | None, as_json: bool) -> None:
    """Every event in replay order (retracted ones marked)."""
    with obj.store() as store:
        season = obj.open_season(store)
        entries = season.history(at)
        tz = season.timezone
    if as_json:
        render.dump_json({"season": season.id, "events": [e.to_json() for e in entries]})
    else:
        render.history_table(season.id, entries, tz)


@main.command()
@json_option
@click.option(
    "--head",
    "noted",
    metavar="SEQ:SHA256",
    help="A head printed by an earlier verify: also catches events cut off the end.",
)
@pass_ctx
@handles_errors
def verify(obj: Ctx, as_json: bool, noted: str | None) -> None:
    """Check the hash chain for edits, deletions or reordering. Exit 1 if broken."""
    expected = None
    if noted is not None:
        seq_text, _, digest = noted.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            raise InputError("--head takes SEQ:SHA256, as verify printed it", field="--head")
        expected = (int(seq_text), digest)
    with obj.store() as store:
        count, problem = store.verify(expected)
        head_seq, head_hash = store.head()
    if as_json:
        render.dump_json(
            {
                "events": count,
                "ok": problem is None,
                "problem": None
                if problem is None
                else {"seq": problem.seq, "kind": problem.kind, "detail": problem.detail},
            }
        )
    elif problem is None:
        click.echo(f"OK: {count} events, seq gapless, hash chain intact.")
        click.echo(f"Head: {head_seq}:{head_hash} (note it; `verify --head` checks against it)")
    else:
        click.echo(
            click.style(f"BROKEN at seq {problem.seq}: {problem.kind} ({problem.detail})", fg="red")
        )
    sys.exit(0 if problem is None else 1)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
@pass_ctx
@handles_errors
def export(obj: Ctx, out: Path | None) -> None:
    """Export events as JSONL (every season, or only --season), re-importable as is."""
    from prematch.engine import export_lines

    with obj.store() as store:
        lines = list(export_lines(store, obj.season))
    text = "".join(line + "\n" for line in lines)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(lines)} events to {out}.", err=True)


@main.command()
def diagram() -> None:
    """The per-program state machine as a Mermaid diagram."""
    from prematch.engine import mermaid

    click.echo(mermaid(), nl=False)


@main.command()
def schema() -> None:
    """The JSON Schema of every event type."""
    from prematch.engine import event_json_schema

    render.dump_json(event_json_schema())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print now and audit as JSON.")
def demo(as_json: bool) -> None:
    """Load a realistic IMG season into a temporary database and show it."""
    import tempfile

    from prematch.engine import fixtures_dir, import_lines
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


from prematch.cli import messages as _messages  # noqa: E402

_messages.register(main)


def run() -> None:
    """Entry point that also turns stray library errors into clean exits."""
    try:
        main(standalone_mode=True)
    except PrematchError as e:
        fail(e)


if __name__ == "__main__":
    run()


__all__ = ["Ctx", "default_db", "main", "run"]
