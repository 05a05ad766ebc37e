"""Turning engine results into text for people (wrapped to the terminal, never breaking a
word) or JSON for scripts."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from prematch.cli._text import visible
from prematch.engine import (
    AuditReport,
    Finding,
    HistoryEntry,
    NowItem,
    NowReport,
    SeasonSummary,
    StatusReport,
    StatusRow,
    Verdict,
)

if TYPE_CHECKING:
    from prematch.policies import LintFinding

__all__ = [
    "audit_markdown",
    "audit_text",
    "counted",
    "dump_json",
    "duration",
    "findings_text",
    "grid",
    "history_table",
    "lint_summary",
    "lint_text",
    "local",
    "now_summary",
    "now_table",
    "relative",
    "short",
    "status_table",
    "summary_table",
    "verdict_text",
    "width",
    "wrap",
]

_STATUS_LABEL = {
    "due": "due",
    "allowed": "may send",
    "warn": "may send, see note",
    "opens_later": "opens later",
    "blocked": "not possible now",
}
_ACTION_WORDS = {
    "thank_you": "thank-you",
    "update": "update",
    "interest": "letter of interest",
    "intent": "letter of intent",
    "inquiry": "inquiry",
}


def dump_json(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural but for one: ``1 event``, ``3 events``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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


def width() -> int:
    """The terminal's width in columns (``COLUMNS`` when set), for the text views; 100
    without a terminal.

    ``shutil.get_terminal_size``'s rule, without importing shutil (and the compressors it
    loads): a cold ``prematch now`` pays for every import.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 100


def cells(text: str) -> int:
    """The columns ``text`` takes in a terminal (wide characters take two): printable ASCII
    is counted here, anything else by rich (imported only then)."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def wrap(text: str, columns: int, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``columns`` terminal columns (:func:`cells`: a wide
    character takes two), never breaking a word, nor at a hyphen, every line starting
    with ``indent``."""
    shown = visible(text)  # user text is shown as typed, never obeyed by the terminal
    if not shown.isascii():  # textwrap counts characters, not columns
        return _wrap_cells(shown, columns, indent)
    import textwrap

    return textwrap.wrap(
        shown,
        columns,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _wrap_cells(text: str, columns: int, indent: str) -> list[str]:
    """:func:`wrap` by terminal columns, as textwrap breaks lines: the spaces inside a
    line kept, those where it breaks dropped, a word longer than a line on its own."""
    lines: list[str] = []
    line = ""
    for chunk in re.findall(r"\s*\S+", text.expandtabs()):
        word = chunk.lstrip()
        gap = " " * (len(chunk) - len(word))
        if line and cells(line + gap + word) > columns:
            lines.append(line)
            line = indent + word
        elif line:
            line += gap + word
        else:
            line = indent + gap + word
    return [*lines, line] if line else [indent.rstrip()]


def grid(headers: Sequence[str], rows: Sequence[Sequence[str]], columns: int) -> list[str] | None:
    """``rows`` under ``headers`` as aligned columns two spaces apart, if every cell fits
    on one line within ``columns``; else ``None`` (the caller shows a list instead)."""
    rows = [[visible(cell) for cell in row] for row in rows]
    widths = [max([cells(h), *(cells(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    if sum(widths) + 2 * (len(widths) - 1) > columns:
        return None

    def line(row: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - cells(c)) for c, w in zip(row, widths, strict=True))

    return [line(headers).rstrip(), *(line(r).rstrip() for r in rows)]


def short(
    moment: dt.datetime, timezone: str, usual: str | None = None, *, weekday: bool = True
) -> str:
    """``moment`` briefly, e.g. ``Sat 16 Jan 09:00`` (``16 Jan 09:00`` without
    ``weekday``), in ``timezone``; its zone is named when it is not ``usual`` (the
    season's, named once at the top of a view)."""
    from zoneinfo import ZoneInfo

    here = moment.astimezone(ZoneInfo(timezone))
    text = here.strftime("%a %d %b %H:%M" if weekday else "%d %b %H:%M")
    return text if timezone == usual else f"{text} {here.strftime('%Z')}"


def _when(item: NowItem, report: NowReport) -> str:
    v = item.verdict
    tz = report.timezone
    if item.status == "due" and v.due_by is not None:
        return f"by {short(v.due_by, tz, tz)} ({duration(report.as_of, v.due_by)} left)"
    if item.status == "opens_later" and v.opens_at is not None:
        return f"from {short(v.opens_at, tz, tz)} ({relative(report.as_of, v.opens_at)})"
    if v.closes_at is not None and v.closes_at > report.as_of and item.status != "blocked":
        return f"until {short(v.closes_at, tz, tz)}"
    return ""


def _notes(findings: Sequence[Finding], status: str, every: bool) -> list[Finding]:
    """What to print under a ``now`` line: why it is blocked; else its warnings (read
    them before sending), and with ``every`` (``--all``) its info notes too."""
    if status == "blocked":
        return list(findings)
    return [f for f in findings if f.severity == "warn" or (every and f.severity == "info")]


def _to(item: NowItem, report: NowReport) -> str:
    pid = item.verdict.program
    if pid is None:
        return "(your choice)"
    name = report.program_names.get(pid, pid)
    return name if item.verdict.action != "intent" else f"{name}, your first choice"


def now_summary(report: NowReport) -> str:
    """The answer first: ``2 due (next: thank-you to Mercy General IM by Sat 16 Jan
    09:00), 3 allowed, 1 opening later``."""
    items = _now_items(report)
    count = collections.Counter(i.status for i in items)
    parts = []
    due = [i for i in items if i.status == "due"]
    if due:
        first = min(due, key=lambda i: i.verdict.due_by or report.as_of)
        v = first.verdict
        by = "" if v.due_by is None else f" by {short(v.due_by, report.timezone, report.timezone)}"
        next_ = f"{_ACTION_WORDS.get(v.action, v.action)} to {_to(first, report)}{by}"
        parts.append(f"{len(due)} due (next: {next_})")
    else:
        parts.append("nothing due")
    late = sum(1 for i in items if i.late)
    allowed = f"{count['allowed'] + count['warn']} allowed"
    parts.append(f"{allowed} ({late} late)" if late else allowed)
    parts.append(f"{count['opens_later']} opening later")
    return ", ".join(parts)


def _now_items(report: NowReport) -> list[NowItem]:
    """The per-program items (season-level actions once, after them), in report order."""
    season_actions = {i.verdict.action for i in report.season_items}
    per_program = [i for i in report.items if i.verdict.action not in season_actions]
    return [*per_program, *report.season_items]


def now_table(report: NowReport, show_all: bool) -> None:
    """``prematch now`` for people: the answer in one line, then one line per thing you
    may do (due first, soonest deadline first), each note below its line; ``show_all``
    adds what is not possible now and why, and every info note."""
    from zoneinfo import ZoneInfo

    columns = width()
    tz = report.timezone
    zone = report.as_of.astimezone(ZoneInfo(tz)).strftime("%Z")
    for line in wrap(f"Season {report.season} as of {local(report.as_of, tz)}", columns):
        click.echo(click.style(line, bold=True))
    for line in wrap(now_summary(report) + ".", columns):
        click.echo(line)
    if report.calendar_provisional:
        text = (
            f"The calendar of this Match is provisional ({report.calendar_source}); "
            "verify the dates with NRMP."
        )
        for line in wrap(text, columns):
            click.echo(click.style(line, fg="yellow"))
    if report.signals_provisional:
        text = (
            f"The preference-signal numbers of this Match are provisional "
            f"({report.signals_provisional_because}); verify them with the AAMC or ResidencyCAS."
        )
        for line in wrap(text, columns):
            click.echo(click.style(line, fg="yellow"))
    for f in report.checklist:
        for line in wrap(f"{f.rule}: {f.message}", columns):
            click.echo(click.style(line, fg=_SEVERITY_FG.get(f.severity)))
    items = _now_items(report)
    rank = {"due": 0, "allowed": 1, "warn": 1, "opens_later": 2, "blocked": 3}
    shown = sorted(
        (i for i in items if show_all or i.status != "blocked"), key=lambda i: rank[i.status]
    )
    if not shown:
        click.echo(
            "Nothing to send right now." + ("" if show_all else " (--all shows what is blocked)")
        )
        return
    click.echo()
    if any(i.verdict.program is not None for i in shown):
        click.echo(f"(times in {zone})")

    def rows(named: bool) -> list[tuple[str, str, str, str]]:
        return [
            (
                _to(i, report) if named or i.verdict.program is None else i.verdict.program,
                _ACTION_WORDS.get(i.verdict.action, i.verdict.action),
                _STATUS_LABEL[i.status],
                _when(i, report),
            )
            for i in shown
        ]

    # The programs' names if they fit, else their ids, else a wrapped line each.
    headers = ("program", "what", "status", "when")
    table = grid(headers, rows(True), columns) or grid(headers, rows(False), columns)
    cells = rows(False)
    for n, item in enumerate(shown):
        if table is not None:
            out = [*table[: 1 if n == 0 else 0], table[n + 1]]
        else:
            to, what, status, when = cells[n]
            out = wrap(f"{to}: {what}, {status}" + (f", {when}" if when else ""), columns)
        for line in out:
            click.echo(click.style(line, fg=_STATUS_FG.get(item.status)))
        for f in _notes(item.verdict.findings, item.status, show_all):
            for line in wrap(f"{f.rule}: {f.message}", columns, "    "):
                click.echo(click.style(line, fg=_SEVERITY_FG.get(f.severity)))
    if not show_all:
        hidden = sum(1 for i in items if i.status == "blocked")
        if hidden:
            noun = "thing is" if hidden == 1 else "things are"
            click.echo(f"{hidden} more {noun} not possible now; --all shows them and why.")


_STATUS_FG = {"due": "yellow", "allowed": "green", "warn": "yellow", "blocked": "red"}
_SEVERITY_FG = {"block": "red", "warn": "yellow"}


def _findings_count(row: StatusRow) -> str:
    parts = [f"{n} {what}" for n, what in ((row.block, "block"), (row.warn, "warn")) if n]
    return ", ".join(parts) or "none"


_SHORT_ACTION = {"thank_you": "thank-you"}
"""Actions as the status view names them (its columns say what they are: sent, next)."""


def _next_text(row: StatusRow, report: StatusReport) -> str:
    if row.next is None:
        return "nothing open"
    what = _SHORT_ACTION.get(row.next.verdict.action, row.next.verdict.action)
    at = row.next_at
    when = "" if at is None else short(at, report.timezone, report.timezone, weekday=False)
    if row.next.status == "due":
        return f"{what} due by {when}"
    if row.next.status == "opens_later":
        return f"{what} from {when}"
    return f"{what} until {when}" if when else f"{what} now"


def _status_cells(row: StatusRow, report: StatusReport, named: bool) -> tuple[str, ...]:
    from zoneinfo import ZoneInfo

    tz = report.timezone
    if row.interview_at is not None:
        interview = short(row.interview_at, row.timezone, tz)
    elif row.interview_on is not None:
        interview = row.interview_on.strftime("%a %d %b")
    else:
        interview = "—"
    last = "—"
    if row.last_message is not None:
        action, at = row.last_message
        day = at.astimezone(ZoneInfo(tz)).strftime("%d %b")
        last = f"{_SHORT_ACTION.get(action, action)} {day}"
    program = f"{row.name} ({row.program})" if named else row.program
    return program, row.state, interview, last, _next_text(row, report), _findings_count(row)


def status_table(report: StatusReport) -> None:
    """``prematch status`` for people: one row per program, most urgent first; aligned
    columns when they fit the terminal, else two short lines per program (its id, state
    and next thing to do; its interview, last message and findings)."""
    from zoneinfo import ZoneInfo

    columns = width()
    zone = report.as_of.astimezone(ZoneInfo(report.timezone)).strftime("%Z")
    head = f"Season {report.season} as of {local(report.as_of, report.timezone)}"
    noun = "program" if len(report.rows) == 1 else "programs"
    for line in wrap(f"{head}: {len(report.rows)} {noun} (times in {zone})", columns):
        click.echo(click.style(line, bold=True))
    if not report.rows:
        click.echo("No program yet: prematch program add ID --name NAME")
        return
    headers = ("program", "state", "interview", "last sent", "next", "findings")
    table = grid(headers, [_status_cells(r, report, True) for r in report.rows], columns)
    table = table or grid(headers, [_status_cells(r, report, False) for r in report.rows], columns)
    if table is not None:
        for line in table:
            click.echo(line)
        return
    for row in report.rows:
        program, state, interview, last, next_, found = _status_cells(row, report, False)
        for line in wrap(f"{program} ({state}): {next_}", columns):
            click.echo(click.style(line, bold=True))
        found = "no findings" if found == "none" else f"findings {found}"
        interview = "no interview yet" if interview == "—" else f"interview {interview}"
        last = "nothing sent yet" if last == "—" else f"last sent {last}"
        text = f"{interview}; {last}; {found}"
        for line in wrap(text, columns, "    "):
            click.echo(line)


def summary_table(summaries: Sequence[SeasonSummary]) -> None:
    """``audit --all --summary`` for people: a row per season (aligned when it fits the
    terminal, else two lines per season); what is late (a deadline gone by, the thing
    still open) counted, with the most overdue."""
    columns = width()
    rows = []
    for r in summaries:
        deadline = _summary_deadline(r.next_due) or "—"
        late = "—"
        if r.late:
            first = _summary_deadline(r.late[0], "was due ")
            late = f"1 ({first})" if len(r.late) == 1 else f"{len(r.late)} (most overdue: {first})"
        states = ", ".join(f"{n} {state}" for state, n in r.states.items()) or "no program"
        rows.append((r.applicant, r.season, str(r.block), str(r.warn), deadline, late, states))
    headers = ("applicant", "season", "block", "warn", "next deadline", "late", "programs")
    table = grid(headers, rows, columns)
    if table is not None:
        for line in table:
            click.echo(line)
        return
    for applicant, season, block, warn, deadline, late, states in rows:
        head = f"{applicant} ({season}): {block} block, {warn} warn; next: {deadline}"
        if late != "—":
            head += f"; late: {late}"
        for line in wrap(head, columns):
            click.echo(click.style(line, bold=True))
        for line in wrap(states, columns, "    "):
            click.echo(line)


def _summary_deadline(verdict: Verdict | None, by: str = "") -> str:
    """``thank-you to mercy-im, 20 Jan 14:00 UTC`` (``by`` before the instant; no program
    for the season's choice); ``""`` without a ``due_by``."""
    if verdict is None or verdict.due_by is None:
        return ""
    what = _SHORT_ACTION.get(verdict.action, verdict.action)
    if verdict.program is not None:  # else the season's choice (a letter of intent)
        what += f" to {verdict.program}"
    return f"{what}, {by}{verdict.due_by.astimezone(dt.UTC):%d %b %H:%M} UTC"


def verdict_text(verdict: Verdict, timezone: str, as_of: dt.datetime) -> None:
    """``prematch check`` for people."""
    fg = _STATUS_FG[verdict.outcome]
    program = visible(verdict.program or "")
    click.echo(f"{verdict.action} → {program}: " + click.style(verdict.outcome, fg=fg))
    for label, moment in (
        ("opens", verdict.opens_at),
        ("due by", verdict.due_by),
        ("closes", verdict.closes_at),
    ):
        if moment is not None:
            text = f"{local(moment, timezone)} ({relative(as_of, moment)})"
            for line in _hang(f"  {label:7} ", text, width()):
                click.echo(line)
    findings_text(verdict.findings)


def findings_text(
    findings: Iterable[Finding], *, err: bool = False, overridden: str | None = None
) -> None:
    """One paragraph per finding: severity, rule, message, source, wrapped to the terminal
    (a word is never broken); with ``overridden`` (the override reason a record was
    written with), block findings say they were overridden."""
    columns = width()
    for f in findings:
        line = f"{f.severity:5}  {f.rule}: {f.message}  [{f.source}]"
        if overridden is not None and f.severity == "block":
            line += f"  (overridden: {overridden})"
        fg = _SEVERITY_FG.get(f.severity)
        for part in _hang("  ", line, columns, 9):
            click.echo(click.style(part, fg=fg), err=err)


def _hang(head: str, text: str, columns: int, under: int | None = None) -> list[str]:
    """``head`` then ``text``, wrapped to ``columns``: the next lines indented by ``under``
    (default: the width of ``head``, when that leaves room; else four spaces)."""
    if under is None:
        under = cells(head) if columns - cells(head) >= 30 else 4
    if columns - cells(head) < 20:  # too little room beside the head: text below it
        return [head.rstrip(), *wrap(text, columns, " " * under)]
    lines = wrap(head + text, columns, "")
    if len(lines) <= 1:
        return lines
    first = lines[0]
    rest = wrap(" ".join(lines[1:]), columns, " " * under)
    return [first, *rest]


def audit_text(report: AuditReport) -> None:
    """``prematch audit`` for people: a line per finding (seq, program, severity, rule),
    its message and override below it, wrapped to the terminal (messages and overrides
    shown as typed)."""
    columns = width()
    s = report.summary
    title = f"Audit of {report.season}: {s['block']} block, {s['warn']} warn, {s['info']} info"
    for line in wrap(title, columns):
        click.echo(click.style(line, bold=True))
    if not report.findings:
        click.echo(click.style("No rule was broken.", fg="green"))
        return
    for f in report.findings:
        head = f"seq {f.seq}  {f.program or '(season)'}  {f.severity}  {f.rule}"
        for line in wrap(head, columns):
            click.echo(click.style(line, fg=_SEVERITY_FG.get(f.severity)))
        for line in wrap(f.message, columns, "    "):
            click.echo(line)
        if f.override:
            for line in wrap(f"override: {f.override}", columns, "    "):
                click.echo(line)


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


def history_table(season: str, entries: Sequence[HistoryEntry]) -> None:
    """``prematch history`` for people: one line per event (seq, when, event, program),
    its details after it, wrapped to the terminal without breaking a word (what the user
    typed is shown as typed). Each time carries its year and zone: the program's for an
    event at the program, else the season's (:attr:`HistoryEntry.timezone`)."""
    columns = width()
    for line in wrap(f"History of {season} (replay order)", columns):
        click.echo(click.style(line, bold=True))
    heads = [
        (str(e.record.seq), local(e.record.occurred_at, e.timezone), e.record.type) for e in entries
    ]
    seq_w = max((len(h[0]) for h in heads), default=1)
    when_w = max((len(h[1]) for h in heads), default=1)
    type_w = max((len(h[2]) for h in heads), default=1)
    for e, (seq, when, kind) in zip(entries, heads, strict=True):
        r = e.record
        head = f"{seq:>{seq_w}}  {when:<{when_w}}  {kind:<{type_w}}  "
        details = [r.program or "", _detail(r.type, r.payload)]
        if e.retracted:
            details.append("(retracted)")
        if r.override:
            details.append(f"(override: {r.override})")
        text = "  ".join(d for d in details if d)
        fg = "red" if e.retracted else None
        for line in _hang(head, text, columns) if text else [head.rstrip()]:
            click.echo(click.style(line, fg=fg))


def lint_summary(findings: Sequence[LintFinding]) -> dict[str, int]:
    """How many content findings of each severity."""
    counts = {"block": 0, "warn": 0, "info": 0}
    for f in findings:
        counts[f.severity] += 1
    return counts


def lint_text(findings: Sequence[LintFinding], name: str, *, err: bool = False) -> None:
    """One line per content finding (``file:line: severity rule: message``), the phrase and
    the sentence it is in."""
    for f in findings:
        click.echo(
            click.style(
                f"{visible(name)}:{f.line}: {f.severity} {f.rule}: {visible(f.message)}  "
                f"[{f.source}]",
                fg=_SEVERITY_FG.get(f.severity),
            ),
            err=err,
        )
        if f.phrase:
            click.echo(f'    offending phrase: "{visible(f.phrase)}"', err=err)
        if f.sentence and f.sentence != f.phrase:
            click.echo(f'    in the sentence: "{visible(f.sentence)}"', err=err)
    s = lint_summary(findings)
    click.echo(f"{s['block']} block, {s['warn']} warn, {s['info']} info", err=err)
