"""Commands that write to the log: ``init``, ``program add``, ``log``, ``news``, ``certify``,
``retract``, ``import`` and ``sync``. Each parses, calls the library, and says what it recorded."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from prematch.cli import _render as render
from prematch.cli._app import (
    Ctx,
    at_option,
    json_option,
    override_option,
    pass_ctx,
    removed_if_failed,
)
from prematch.cli._errors import handles_errors
from prematch.engine import InputError, Judged, PrematchError, Season, Store

if TYPE_CHECKING:
    from prematch.engine.io import Unshown

__all__ = ["COMMANDS", "certify", "import_", "init", "log", "news", "program", "retract", "sync"]


@click.command()
@click.option("--match-year", type=int, required=True, help="Year of the Match, e.g. 2027.")
@click.option("--specialty", required=True, help='e.g. "Internal Medicine".')
@click.option("--timezone", required=True, help="Your IANA timezone, e.g. America/New_York.")
@click.option("--visa", type=click.Choice(["none", "j1", "h1b", "undecided"]), required=True)
@click.option("--name", required=True, help="Your name as in your applications.")
@click.option("--aamc-id", help="AAMC ID (used in message signatures).")
@click.option("--ecfmg-id", help="ECFMG ID (IMGs).")
@click.option("--id", "season_id", help="Season id (default: --season, or name-year).")
@click.option(
    "--calendar",
    "calendar_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file of calendar dates (applications_open, rank_list_opens, "
    "rank_list_deadline, match_week_start, soap_end, match_day), each with an offset: "
    "some override the bundled calendar; a year without one needs all six (provisional).",
)
@at_option()
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
    calendar_file: Path | None,
    at: str | None,
) -> None:
    """Start a season (creates the database if needed)."""
    from prematch.engine import read_calendar_file
    from prematch.engine.io import season_slug
    from prematch.policies import Rulebook

    calendar = None if calendar_file is None else read_calendar_file(calendar_file)
    sid = season_id or obj.season or season_slug(name, match_year)
    with (
        removed_if_failed(obj.db),
        obj.store(create=True) as store,
        _derived_id_advice(sid != (season_id or obj.season)),
    ):
        season = Season.start(
            store,
            sid,
            at=at,
            rulebook=Rulebook(),
            clock=obj.in_zone(timezone),
            match_year=match_year,
            specialty=specialty,
            timezone=timezone,
            visa=visa,
            applicant_name=name,
            aamc_id=aamc_id,
            ecfmg_id=ecfmg_id,
            **({} if calendar is None else {"calendar": calendar}),
        )
        reading = None if at is None else season.reading("season_started", None, at).describe()
    click.echo(f"Season {sid} started.")
    if reading:
        click.echo(reading)
    click.echo(f"Database: {obj.db}", err=True)


@contextlib.contextmanager
def _derived_id_advice(derived: bool) -> Iterator[None]:
    """An id made from the name may be taken by another season: say how to choose one."""
    try:
        yield
    except InputError as e:
        if not derived or e.field != "season" or not e.message.endswith("already exists"):
            raise
        raise InputError(
            f"{e.message} (the id made from --name and --match-year); choose another with --id",
            field="season",
        ) from e


@click.group()
def program() -> None:
    """Programs of the season."""


def _sponsors(sponsors: str) -> list[str]:
    return [v.strip() for v in sponsors.split(",") if v.strip()]


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
@click.option(
    "--timezone",
    metavar="TZ",
    help="Where the program is (IANA, e.g. America/Los_Angeles): times of its invitations "
    "and interviews typed without an offset are read there.",
)
@click.option("--code", metavar="NRMP-CODE", help="The program's NRMP code, e.g. 1234140C0.")
@at_option()
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
    timezone: str | None,
    code: str | None,
    at: str | None,
) -> None:
    """Add a program to the season."""
    fields: dict[str, Any] = {"nrmp_participating": not no_nrmp}
    if specialty:
        fields["specialty"] = specialty
    if no_contact:
        fields["no_post_interview_contact"] = True
    if sponsors is not None:
        fields["sponsors_visas"] = _sponsors(sponsors)
    if contacts:
        fields["contacts"] = list(contacts)
    if timezone is not None:
        fields["timezone"] = timezone
    if code is not None:
        fields["code"] = code
    with obj.store() as store:
        season = obj.open_season(store)
        done = season.add_program(program_id, name, at=at, **fields)
        reading = _reading(season, done, at)
        where = _which(store, season)
    click.echo(f"Added {program_id} (seq {done.record.seq}{where}).")
    if reading:
        click.echo(reading)


@program.command("set")
@click.argument("program_id", metavar="ID")
@click.option(
    "--no-post-interview-contact/--post-interview-contact-ok",
    "no_contact",
    default=None,
    help="The program asked for no contact after the interview / said contact is fine.",
)
@click.option("--sponsors", metavar="VISAS", help="Visas it sponsors, e.g. j1,h1b (or none).")
@click.option("--nrmp/--no-nrmp", "nrmp", default=None, help="Whether it takes part in the Match.")
@click.option("--specialty", help="Its specialty, if it differs from the season's.")
@click.option(
    "--contact", "contacts", multiple=True, help="A contact (repeatable; replaces the list)."
)
@click.option("--timezone", help="Where the program is (IANA), e.g. America/Los_Angeles.")
@click.option("--code", metavar="NRMP-CODE", help="The program's NRMP code, e.g. 1234140C0.")
@click.option("--name", help="The program's name.")
@at_option()
@override_option()
@pass_ctx
@handles_errors
def program_set(
    obj: Ctx,
    program_id: str,
    no_contact: bool | None,
    sponsors: str | None,
    nrmp: bool | None,
    specialty: str | None,
    contacts: tuple[str, ...],
    timezone: str | None,
    code: str | None,
    name: str | None,
    at: str | None,
    override: str | None,
) -> None:
    """Record a fact about a program learned later (program_updated), true from --at on.

    Rules judge each moment by the facts known then: a no-contact request recorded on
    the interview day blocks a thank-you after it, not one sent before. A fact that makes
    an already-recorded later event break a rule (a thank-you sent after the request) is
    refused unless --override gives the reason.

    \b
    Example:
      prematch program set mercy-im --no-post-interview-contact --at 2026-11-12T16:00:00-05:00
    """
    fields: dict[str, Any] = {
        "no_post_interview_contact": no_contact,
        "sponsors_visas": None if sponsors is None else _sponsors(sponsors),
        "nrmp_participating": nrmp,
        "specialty": specialty,
        "contacts": list(contacts) or None,
        "timezone": timezone,
        "code": code,
        "name": name,
    }
    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        raise InputError(
            "nothing to change: give at least one option (see `prematch program set --help`)",
            field="ID",
        )
    with obj.store() as store:
        season = obj.open_season(store)
        done = season.record("program_updated", program_id, at=at, override=override, **changes)
        reading = _reading(season, done, at)
        where = _which(store, season)
    _report_recorded(done, f"program_updated for {program_id}", reading, where)


_PAYLOAD_NAME = {"news": "news_seq"}
"""``log`` options named otherwise than the payload field they fill (the rest: as named)."""


def _reading(season: Season, done: Judged, at: str | None) -> str | None:
    """How ``--at`` was read, when it named no offset, and a warning when it dates the
    event outside the season (``None`` when there is nothing to say)."""
    if at is None:
        return None
    r = done.record
    lines = [season.reading(r.type, r.program, at).describe(r.occurred_at)]
    if (odd := season.out_of_season(r.occurred_at, r.type)) is not None:
        lines.append(f"warning: {odd}")
    return "\n".join(line for line in lines if line) or None


@contextlib.contextmanager
def _reading_told_if_refused(
    season: Season, kind: str, program: str | None, at: str | None
) -> Iterator[None]:
    """On a refusal, first say how ``--at`` was read (a date is a day in one zone: the
    refusal of a thank-you dated the interview's day in another zone makes sense then)."""
    try:
        yield
    except PrematchError:
        with contextlib.suppress(PrematchError):
            told = None if at is None else season.reading(kind, program, at).describe(refused=True)
            if told:
                click.echo(told, err=True)
        raise


def _which(store: Store, season: Season) -> str:
    """`` in SEASON`` when the store holds more than one season (a write without
    ``--season`` goes to the most recent: the confirmation says which), else ``""``."""
    return f" in {season.id}" if len(store.seasons()) > 1 else ""


def _report_recorded(done: Judged, what: str, reading: str | None = None, where: str = "") -> None:
    """Say what was recorded (``where``: :func:`_which`), how its time was read
    (``reading``, when it named no offset), and every finding recorded with it (a block,
    only there because of an override, shown as overridden)."""
    click.echo(f"Recorded {what} (seq {done.record.seq}{where}).")
    if reading:
        click.echo(reading)
    render.findings_text(done.findings, overridden=done.record.override)


class _LogCommand(click.Command):
    """``log``, whose help lists the event names (read from the registry only for --help:
    the payload models are not built for every command)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The event names after the options, then the epilog if any."""
        from prematch.engine import EVENT_TYPES

        names = [t for t in EVENT_TYPES if t != "season_started"]
        formatter.write_paragraph()
        formatter.write_text("EVENT (with - or _) is one of: " + ", ".join(names) + ".")
        super().format_epilog(ctx, formatter)


@click.command(cls=_LogCommand)
@click.argument("event", metavar="EVENT")
@click.argument("program_ids", metavar="[PROGRAM]...", nargs=-1)
@at_option()
@override_option()
@click.option(
    "--all-interviewed",
    is_flag=True,
    help="Instead of naming programs: every program you interviewed at that is still in "
    "the running (interviewed or ranked); for update-sent, those with news untold. "
    "One event per program, all recorded in one go or none.",
)
@click.option("--via", type=click.Choice(["eras", "residencycas"]), help="applied: the service.")
@click.option(
    "--kind",
    help="connection_recorded: observership, research, employment, mentor or rotation; "
    "offer_received: pre_match_contract or soap_offer.",
)
@click.option(
    "--detail",
    help="connection_recorded: what the connection is; offer_received: its terms, deadline; "
    "advocate_contacted: what was said.",
)
@click.option(
    "--note",
    help="inquiry_sent: what the inquiry said. A note about anything else is an event of "
    "its own: log note-added [PROGRAM] --text TEXT.",
)
@click.option("--text", help="note_added: the note (kept and shown in history, never judged).")
@click.option(
    "--interview-on", metavar="DATE", help="invited / interview_rescheduled: the interview date."
)
@click.option("--recipient", "recipients", multiple=True, help="thanked: who (repeatable).")
@click.option(
    "--news",
    type=int,
    metavar="SEQ",
    help="update_sent: the news seq told (default: oldest untold).",
)
@click.option(
    "--initiated-by",
    type=click.Choice(["applicant", "program"]),
    help="call_held / interview_rescheduled / interview_cancelled: who did it.",
)
@click.option("--asked-rank/--no-asked-rank", default=None, help="program_contacted.")
@click.option(
    "--offered-commitment/--no-offered-commitment", default=None, help="program_contacted."
)
@click.option("--during-soap/--no-during-soap", default=None, help="program_contacted.")
@click.option(
    "--tier", type=click.Choice(["gold", "silver", "signal"]), help="signal_sent: which signal."
)
@click.option("--advocate", metavar="WHO", help="advocate_contacted: who contacted the program.")
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
    /,
    event: str,
    program_ids: tuple[str, ...],
    at: str | None,
    override: str | None,
    all_interviewed: bool,
    extra: tuple[str, ...],
    **options: Any,
) -> None:
    """Record an event (any type: applied, invited, interviewed, thanked, interest-sent, ...).

    \b
    Examples:
      prematch log invited mercy-im --interview-on 2026-11-12
      prematch log interviewed mercy-im --at "2026-11-12 09:00"
      prematch log thanked mercy-im --at 2026-11-12
      prematch log thanked mercy-im
      prematch log interest-sent mercy-im --override "PD asked me to write"
      prematch log interview-cancelled oak-im --initiated-by program
      prematch log note-added mercy-im --text "PD mentioned a research track"
      prematch log update-sent mercy-im oak-im --at 2027-01-20   (one event each)
      prematch log update-sent --all-interviewed
    """
    from prematch.engine import EVENT_TYPES

    kind = event.strip().lower().replace("-", "_")
    if kind not in EVENT_TYPES:
        raise InputError(
            f"unknown event {event!r}; events: {', '.join(EVENT_TYPES)}", field="EVENT"
        )
    if all_interviewed and program_ids:
        raise InputError(
            "--all-interviewed chooses the programs itself: name none, or drop the option",
            field="--all-interviewed",
        )
    if options.get("note") is not None and kind != "inquiry_sent":
        target = f" {program_ids[0]}" if len(program_ids) == 1 else ""
        raise InputError(
            "--note goes with inquiry-sent (what the inquiry said); record a note about "
            f"anything else on its own: prematch log note-added{target} --text TEXT",
            field="--note",
        )
    fields: dict[str, Any] = {}
    for option, value in options.items():
        if value is None or value == ():
            continue
        fields[_PAYLOAD_NAME.get(option, option)] = (
            list(value) if isinstance(value, tuple) else value
        )
    for item in extra:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--set needs KEY=JSON, got {item!r}", field="--set")
        try:
            fields[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            fields[key.strip()] = raw
    with obj.store() as store:
        season = obj.open_season(store)
        if all_interviewed:
            program_ids = _interviewed(season, kind)
        if len(program_ids) > 1:
            many = season.record_many(kind, program_ids, at=at, override=override, **fields)
        else:  # one program (named, or the only one --all-interviewed found), or none
            only = program_ids[0] if program_ids else None
            with _reading_told_if_refused(season, kind, only, at):
                many = (season.record(kind, only, at=at, override=override, **fields),)
        readings = [_reading(season, done, at) for done in many]
        where = _which(store, season)
    if len(many) > 1:
        click.echo(f"Recorded {len(many)} {kind} events in one transaction{where}:")
        where = ""
    for done, reading in zip(many, readings, strict=True):
        whom = done.record.program
        _report_recorded(done, kind + (f" for {whom}" if whom else ""), reading, where)


def _interviewed(season: Season, kind: str) -> tuple[str, ...]:
    """The programs ``log --all-interviewed`` records ``kind`` for: interviewed or ranked
    (for ``update_sent``, only those with news still untold); at least one."""
    state = season.state()
    chosen = tuple(
        p.id for p in state.interviewed() if kind != "update_sent" or state.untold_news(p.id)
    )
    if not chosen:
        untold = " with news untold" if kind == "update_sent" else ""
        raise InputError(
            f"no program you interviewed at is still in the running{untold}; "
            "name the programs instead",
            field="--all-interviewed",
        )
    return chosen


@click.command()
@click.argument(
    "kind", type=click.Choice(["exam", "visa", "publication", "letter", "clinical", "other"])
)
@click.argument("detail")
@at_option()
@pass_ctx
@handles_errors
def news(obj: Ctx, kind: str, detail: str, at: str | None) -> None:
    """Record news in your file (Step 3 passed, a publication...) that programs may hear."""
    with obj.store() as store:
        season = obj.open_season(store)
        done = season.record("news_recorded", at=at, kind=kind, detail=detail)
        reading = _reading(season, done, at)
        where = _which(store, season)
    _report_recorded(done, f"news: {detail}", reading, where)


@click.command()
@click.argument("order", nargs=-1, required=True, metavar="P1 P2 ...")
@at_option()
@override_option()
@pass_ctx
@handles_errors
def certify(obj: Ctx, order: tuple[str, ...], at: str | None, override: str | None) -> None:
    """Record your certified rank order list, most preferred first."""
    with obj.store() as store:
        season = obj.open_season(store)
        done = season.certify(order, at=at, override=override)
        reading = _reading(season, done, at)
        where = _which(store, season)
    _report_recorded(
        done, f"rank order list of {render.counted(len(order), 'program')}", reading, where
    )


@click.command()
@click.argument("seq", type=int)
@click.option("--reason", required=True, help="Why the event was wrong.")
@at_option()
@override_option()
@pass_ctx
@handles_errors
def retract(obj: Ctx, seq: int, reason: str, at: str | None, override: str | None) -> None:
    """Retract an event recorded by mistake (it stays in the log, skipped on replay)."""
    with obj.store() as store:
        season = obj.open_season(store)
        done = season.retract(seq, reason, at=at, override=override)
        reading = _reading(season, done, at)
        where = _which(store, season)
    _report_recorded(done, f"retraction of seq {seq}", reading, where)


_NAMED_SEASONS = 5
"""Up to how many seasons ``import`` names one by one (more: how many, first and last)."""


_SHEETS = (".csv", ".xlsx", ".xlsm")
"""The files ``import`` reads as a tracking sheet, with sync's reader (others: JSONL)."""


def _sheet_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--sheet``, ``--dayfirst`` and ``--monthfirst``: how ``sync`` and ``import`` read a
    sheet."""
    for option in (
        click.option(
            "--monthfirst", "order", flag_value="monthfirst", help="Read 10/11/2026 as 11 October."
        ),
        click.option(
            "--dayfirst", "order", flag_value="dayfirst", help="Read 10/11/2026 as 10 November."
        ),
        click.option("--sheet", help="The workbook's sheet to read (default: the first)."),
    ):
        command = option(command)
    return command


def _order(order: str | None) -> Literal["dayfirst", "monthfirst"] | None:
    return "dayfirst" if order == "dayfirst" else "monthfirst" if order else None


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--allow-violations",
    is_flag=True,
    help='Record lines the rulebook blocks, with the override "imported".',
)
@_sheet_options
@json_option("Print the result as JSON.")
@pass_ctx
@handles_errors
def import_(
    obj: Ctx,
    file: Path,
    allow_violations: bool,
    sheet: str | None,
    order: str | None,
    as_json: bool,
) -> None:
    """Import events from a JSONL file, or a tracking sheet (.csv or .xlsx, read as sync
    reads it): all of it, or nothing."""
    from prematch.engine.io import import_lines, sync_sheet
    from prematch.policies import Rulebook

    with removed_if_failed(obj.db), obj.store(create=True) as store, file.open("rb") as f:
        if file.suffix.lower() in _SHEETS:  # an applicant's tracking sheet
            season = obj.open_season(store)
            done = sync_sheet(
                season, file, sheet=sheet, order=_order(order), allow_violations=allow_violations
            )
            for warning in done.warnings:
                click.echo(f"warning: {warning}", err=True)
            if done.imported is None:
                raise InputError(
                    f"{file} holds nothing {season.id} does not hold already; nothing was written"
                )
            result = done.imported
        else:
            if sheet is not None or order is not None:
                raise InputError(
                    "--sheet, --dayfirst and --monthfirst read a sheet (.csv or .xlsx); "
                    f"{file.name} is read as JSONL"
                )
            result = import_lines(
                store,
                f,
                default_season=obj.season or store.latest_season(),
                rulebook=Rulebook(),
                clock=obj.clock,
                allow_violations=allow_violations,
            )
        if not result.events:  # (and a store this command created is removed)
            raise InputError(f"{file} holds no events; nothing was written")
    if as_json:
        render.dump_json(result.to_json())
        return
    warnings = render.counted(result.warnings, "warning")
    seasons = result.seasons
    into = (
        ", ".join(seasons) or "no season"
        if len(seasons) <= _NAMED_SEASONS
        else f"{len(seasons):,} seasons ({seasons[0]} to {seasons[-1]})"
    )
    click.echo(
        f"Imported {render.counted(result.events, 'event')} into {into}"
        f" ({result.overridden} with an override, {warnings})" + (":" if result.warned else ".")
    )
    for line, found in result.warned:
        where = f"line {line}" if line is not None else f"seq {found.seq}"
        program = f" {found.program}" if found.program else ""
        click.echo(f"  {where}{program}: {found.rule}: {found.message}")
    if result.out_of_season:
        click.echo("Dates outside the season (recorded as given; check them):")
    for line, odd in result.out_of_season:
        click.echo(f"  line {line}: {odd}" if line is not None else f"  {odd}")
    if result.changed_from_line is not None:
        click.echo(
            f"Note: from line {result.changed_from_line} on, the events do not give the hashes "
            "the export wrote: the file was changed after it was exported (this store's chain "
            "is new from there)."
        )


@click.command()
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option(
    "--dry-run", is_flag=True, help="Print the changes (or the refusals they meet); write nothing."
)
@click.option("--strict", is_flag=True, help="Refuse columns sync does not know (else: warn).")
@_sheet_options
@click.option("--columns", "show_columns", is_flag=True, help="Print the columns sync reads.")
@click.option(
    "--allow-violations",
    is_flag=True,
    help='Record facts the rulebook blocks, with the override "imported".',
)
@pass_ctx
@handles_errors
def sync(
    obj: Ctx,
    file: Path | None,
    dry_run: bool,
    strict: bool,
    sheet: str | None,
    order: str | None,
    show_columns: bool,
    allow_violations: bool,
) -> None:
    """Take in your tracking sheet (.csv or .xlsx) again and again: append what is new,
    one line per change; a second sync of the same sheet writes nothing."""
    from prematch.engine.io import sheet_columns, sync_sheet

    if show_columns:
        click.echo(sheet_columns().text())
        return
    if file is None:
        raise InputError("give the sheet to sync (FILE.csv or FILE.xlsx), or --columns")
    with obj.store() as store:
        season = obj.open_season(store)
        result = sync_sheet(
            season,
            file,
            sheet=sheet,
            order=_order(order),
            strict=strict,
            dry_run=dry_run,
            allow_violations=allow_violations,
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for change in result.changes:
        click.echo(f"row {change.row}: {change.text}")
    if not result.changes:
        click.echo(f"Nothing new in {file.name}: {season.id} already holds it; nothing written.")
    elif dry_run:
        count = len(result.changes)
        click.echo(f"Dry run: {render.counted(count, 'change')}; nothing written.")
    else:
        events = render.counted(result.written, "event")
        click.echo(f"Synced {file.name} into {season.id}: {events} written.")
    _report_unshown(result.unshown, file.name)


_UNSHOWN_LISTED = 5
"""Up to how many facts the sheet no longer shows ``sync`` lists (more: how many)."""


def _report_unshown(unshown: Sequence[Unshown], source: str) -> None:
    """Tell the facts the log holds that the sheet no longer shows, and how to correct the
    log if one was a mistake (sync removes nothing)."""
    if not unshown:
        return
    count = render.counted(len(unshown), "fact")
    click.echo(f"{source} no longer shows {count} the log holds (kept; sync removes nothing):")
    for u in unshown[:_UNSHOWN_LISTED]:
        if u.row is None:
            click.echo(f"  {u.program}: no row; the log holds {u.fact} (seq {u.seq})")
            continue
        said = f"says {u.cell!r}" if u.cell else "blank"
        click.echo(f"  row {u.row}, {u.program}, {u.column!r} {said}: {u.fact} (seq {u.seq})")
    if len(unshown) > _UNSHOWN_LISTED:
        click.echo(f"  ... and {len(unshown) - _UNSHOWN_LISTED} more")
    click.echo(
        'If one is a mistake, retract it: prematch retract SEQ --reason "..."; else nothing to do.'
    )


COMMANDS: tuple[click.Command, ...] = (
    init,
    program,
    log,
    news,
    certify,
    retract,
    import_,
    sync,
)
"""The commands of this module, for :mod:`prematch.cli` to add to the group."""
