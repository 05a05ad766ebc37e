"""Turning engine results into text for people (rich tables) or JSON for scripts."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from prematch.cli._text import escape, visible
from prematch.engine import AuditReport, Finding, HistoryEntry, NowItem, NowReport, Verdict

if TYPE_CHECKING:
    from prematch.policies import LintFinding

__all__ = [
    "audit_markdown",
    "audit_text",
    "console",
    "dump_json",
    "duration",
    "findings_text",
    "history_table",
    "lint_summary",
    "lint_text",
    "local",
    "now_table",
    "relative",
    "verdict_text",
]

_STATUS_LABEL = {
    "due": "DUE",
    "allowed": "allowed",
    "warn": "allowed, read",
    "opens_later": "opens later",
    "blocked": "blocked",
}
_STATUS_STYLE = {
    "due": "bold yellow",
    "allowed": "green",
    "warn": "yellow",
    "opens_later": "cyan",
    "blocked": "red",
}
_SEVERITY_STYLE = {"block": "red", "warn": "yellow", "info": "dim"}


def console() -> Any:
    """A rich console on stdout (imported lazily: ``--json`` never pays for rich)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def dump_json(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def local(moment: dt.datetime | None, timezone: str) -> str:
    """``moment`` in the applicant's timezone, e.g. ``Sat 16 Jan 08:00 EST``."""
    if moment is None:
        return ""
    from zoneinfo import ZoneInfo

    here = moment.astimezone(ZoneInfo(timezone))
    return here.strftime("%a %d %b %Y %H:%M %Z")


def duration(start: dt.datetime, end: dt.datetime) -> str:
    """How long from ``start`` to ``end``, roughly: ``2 d 3 h``, ``5 h 10 min``, ``45 min``."""
    seconds = abs(int((end - start).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        text = f"{minutes} min"
    return text


def relative(as_of: dt.datetime, moment: dt.datetime) -> str:
    """``in 2 d 3 h`` or ``5 h ago``."""
    text = duration(as_of, moment)
    return f"in {text}" if moment >= as_of else f"{text} ago"


def _when(item: NowItem, report: NowReport) -> str:
    v = item.verdict
    tz = report.timezone
    if item.status == "due" and v.due_by is not None:
        return f"by {local(v.due_by, tz)} ({duration(report.as_of, v.due_by)} left)"
    if item.status == "opens_later" and v.opens_at is not None:
        return f"from {local(v.opens_at, tz)} ({relative(report.as_of, v.opens_at)})"
    if v.closes_at is not None and v.closes_at > report.as_of and item.status != "blocked":
        return f"until {local(v.closes_at, tz)}"
    return ""


def _why(findings: Sequence[Finding], status: str) -> str:
    shown = [f for f in findings if status == "blocked" or f.severity != "block"]
    if status == "opens_later":
        shown = [f for f in findings if f.severity != "block"]
    return "\n".join(f"{f.rule}: {f.message}" for f in shown)


def now_table(report: NowReport, show_all: bool) -> None:
    """``prematch now`` for people: one table per program, soonest deadline first."""
    from rich.table import Table

    out = console()
    out.print(f"[bold]Season {report.season}[/] as of {local(report.as_of, report.timezone)}")
    if report.calendar_provisional:
        out.print(
            f"[yellow]The calendar of this Match is provisional ({report.calendar_source}); "
            "verify the dates with NRMP.[/]"
        )
    for f in report.checklist:
        style = _SEVERITY_STYLE[f.severity]
        out.print(f"[{style}]{escape(f.rule)}: {escape(f.message)}[/]")
    # Season-level choices (the one letter of intent) are shown once, after the programs.
    season_actions = {i.verdict.action for i in report.season_items}
    per_program = [i for i in report.items if i.verdict.action not in season_actions]
    order: list[str] = []
    for item in per_program:
        pid = item.verdict.program
        if pid is not None and pid not in order:
            order.append(pid)
    shown = 0
    for pid in order:
        rows = [
            i
            for i in per_program
            if i.verdict.program == pid and (show_all or i.status != "blocked")
        ]
        if not rows:
            continue
        shown += 1
        table = Table(
            title=escape(f"{report.program_names[pid]} ({pid})"),
            title_justify="left",
            expand=False,
            show_lines=False,
        )
        table.add_column("action")
        table.add_column("status")
        table.add_column("when")
        table.add_column("why / note", overflow="fold", max_width=70)
        for item in rows:
            style = _STATUS_STYLE[item.status]
            table.add_row(
                item.verdict.action,
                f"[{style}]{_STATUS_LABEL[item.status]}[/]",
                _when(item, report),
                escape(_why(item.verdict.findings, item.status)),
            )
        out.print(table)
    for item in report.season_items:
        if item.status == "blocked" and not show_all:
            continue
        shown += 1
        out.print(_season_table(item, report))
    if not shown:
        out.print(
            "Nothing to send right now." + ("" if show_all else " (--all shows what is blocked)")
        )
    elif not show_all:
        hidden = sum(1 for i in (*per_program, *report.season_items) if i.status == "blocked")
        if hidden:
            noun = "action" if hidden == 1 else "actions"
            out.print(f"[dim]{hidden} blocked {noun} hidden; --all shows them and why.[/]")


_SEASON_TITLES = {"intent": "A letter of intent: to one program, once all interviews are done"}


def _season_table(item: NowItem, report: NowReport) -> Any:
    from rich.table import Table

    v = item.verdict
    table = Table(title=_SEASON_TITLES.get(v.action, v.action), title_justify="left")
    table.add_column("action")
    table.add_column("to")
    table.add_column("status")
    table.add_column("when")
    table.add_column("why / note", overflow="fold", max_width=70)
    to = (
        f"{report.program_names[v.program]} ({v.program}), your certified first choice"
        if v.program is not None
        else "one program of your choice"
    )
    style = _STATUS_STYLE[item.status]
    table.add_row(
        v.action,
        escape(to),
        f"[{style}]{_STATUS_LABEL[item.status]}[/]",
        _when(item, report),
        escape(_why(v.findings, item.status)),
    )
    return table


def verdict_text(verdict: Verdict, timezone: str, as_of: dt.datetime) -> None:
    """``prematch check`` for people."""
    out = console()
    style = {"allowed": "green", "warn": "yellow", "blocked": "red"}[verdict.outcome]
    out.print(f"{verdict.action} → {verdict.program}: [bold {style}]{verdict.outcome}[/]")
    for label, moment in (
        ("opens", verdict.opens_at),
        ("due by", verdict.due_by),
        ("closes", verdict.closes_at),
    ):
        if moment is not None:
            out.print(f"  {label:7} {local(moment, timezone)} ({relative(as_of, moment)})")
    findings_text(verdict.findings)


def findings_text(
    findings: Iterable[Finding], *, err: bool = False, overridden: str | None = None
) -> None:
    """One line per finding: severity, rule, message, source; with ``overridden`` (the
    override reason a record was written with), block findings say they were overridden."""
    for f in findings:
        line = f"  {f.severity:5}  {f.rule}: {visible(f.message)}  [{f.source}]"
        if overridden is not None and f.severity == "block":
            line += f"  (overridden: {visible(overridden)})"
        click.echo(
            click.style(line, fg={"block": "red", "warn": "yellow"}.get(f.severity)), err=err
        )


def audit_text(report: AuditReport) -> None:
    """``prematch audit`` for people (messages and overrides shown as typed, not markup)."""
    from rich.table import Table

    out = console()
    s = report.summary
    out.print(
        f"[bold]Audit of {report.season}[/]: {s['block']} block, {s['warn']} warn, {s['info']} info"
    )
    if not report.findings:
        out.print("[green]No rule was broken.[/]")
        return
    table = Table(show_lines=False)
    for name in ("seq", "program", "severity", "rule", "message", "override"):
        table.add_column(name, overflow="fold")
    for f in report.findings:
        table.add_row(
            str(f.seq),
            f.program or "—",
            f"[{_SEVERITY_STYLE[f.severity]}]{f.severity}[/]",
            f.rule,
            escape(f.message),
            escape(f.override or ""),
        )
    out.print(table)


_MARKDOWN = {
    **{c: f"\\{c}" for c in "\\`*_[]~|#!"},
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\r\n": "<br>",
    "\r": "<br>",
    "\n": "<br>",
}
_MARKDOWN_SPECIAL = re.compile("|".join(map(re.escape, sorted(_MARKDOWN, key=len, reverse=True))))


def _cell(text: str) -> str:
    """``text`` as one Markdown table cell that shows it as typed: no HTML, no markup,
    no row break, no control character."""
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN[m[0]], visible(text))


def audit_markdown(report: AuditReport) -> str:
    """``prematch audit --format markdown`` (every cell escaped: text as typed, no HTML)."""
    s = report.summary
    lines = [
        f"# Audit of season {_cell(report.season)}",
        "",
        f"{s['block']} block, {s['warn']} warn, {s['info']} info.",
        "",
    ]
    if report.findings:
        lines += [
            "| seq | program | severity | rule | message | source | override |",
            "|---:|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {f.seq} | {_cell(f.program or '')} | {_cell(f.severity)} | {_cell(f.rule)} "
            f"| {_cell(f.message)} | {_cell(f.source)} | {_cell(f.override or '')} |"
            for f in report.findings
        ]
    else:
        lines.append("No rule was broken.")
    return "\n".join(lines) + "\n"


def _detail(kind: str, payload: dict[str, Any]) -> str:
    if kind == "note_added":
        return str(payload["text"])  # the note as written
    return ", ".join(f"{k}={v}" for k, v in payload.items())


def history_table(season: str, entries: Sequence[HistoryEntry], timezone: str) -> None:
    """``prematch history`` for people (what the user typed is shown as typed, never read
    as rich markup)."""
    from rich.table import Table

    out = console()
    table = Table(title=f"History of {season} (replay order)", title_justify="left")
    for name in ("seq", "when", "event", "program", "details", "notes"):
        table.add_column(name, overflow="fold")
    for e in entries:
        r = e.record
        notes = []
        if e.retracted:
            notes.append("[red]retracted[/]")
        if r.override:
            notes.append(f"[yellow]override: {escape(r.override)}[/]")
        event = f"[strike]{r.type}[/]" if e.retracted else r.type
        table.add_row(
            str(r.seq),
            local(r.occurred_at, timezone),
            event,
            r.program or "",
            escape(_detail(r.type, r.payload)),
            " ".join(notes),
        )
    out.print(table)


def lint_summary(findings: Sequence[LintFinding]) -> dict[str, int]:
    """How many content findings of each severity."""
    counts = {"block": 0, "warn": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts


def lint_text(findings: Sequence[LintFinding], name: str, *, err: bool = False) -> None:
    """One line per content finding (``file:line: severity rule: message``), the phrase and
    the sentence it is in."""
    colour = {"block": "red", "warn": "yellow"}
    for f in findings:
        click.echo(
            click.style(
                f"{visible(name)}:{f.line}: {f.severity} {f.rule}: {visible(f.message)}  "
                f"[{f.source}]",
                fg=colour.get(f.severity),
            ),
            err=err,
        )
        if f.phrase:
            click.echo(f'    offending phrase: "{visible(f.phrase)}"', err=err)
        if f.sentence and f.sentence != f.phrase:
            click.echo(f'    in the sentence: "{visible(f.sentence)}"', err=err)
    s = lint_summary(findings)
    click.echo(f"{s['block']} block, {s['warn']} warn, {s['info']} info", err=err)
