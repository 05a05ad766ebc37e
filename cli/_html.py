"""``prematch audit --format html``: one self-contained page people can look at (and, for
``audit --all``, one page of every season for an advisor).

The page holds a timeline of the season as inline SVG (one row per program, each program
named in full; one mark per event, its shape and colour telling its kind, filled red or
orange when it drew a block or warn finding; the thank-you and letter windows that can
still be used as bands; the NRMP dates as lines), a legend, and the findings table. The
windows are the engine's verdicts as of the page (``opens_at``, ``due_by``,
``closes_at``; none where the action can no longer happen): no rule arithmetic happens
here. Light or dark as the reader's system prefers. No scripts, fonts, images or
stylesheets are fetched: it opens offline and can be mailed as is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import NamedTuple
from zoneinfo import ZoneInfo

from rich.cells import cell_len

from prematch.engine import (
    MESSAGE_EVENTS,
    AuditFinding,
    AuditReport,
    HistoryEntry,
    Season,
    SeasonOverview,
    SeasonState,
    SeasonSummary,
    Verdict,
)

__all__ = [
    "COLORS",
    "Band",
    "advisor_page",
    "advisor_row",
    "overview_section",
    "season_page",
    "season_section",
    "verdict_bands",
]

COLORS = {
    "block": "#d62728",
    "warn": "#ff7f0e",
    "info": "#1f77b4",
    "event": "#4a5568",
    "message": "#2ca02c",
    "interview": "#3182ce",
    "invitation": "#319795",
    "application": "#4a5568",
    "ending": "#805ad5",
    "other": "#a0aec0",
    "thanks_band": "#cfe8cf",
    "letter_band": "#d6e4f5",
    "deadline": "#d62728",
    "nrmp": "#6b46c1",
    "now": "#718096",
}
"""Colours of the timeline: an event's kind (with its shape, :data:`KINDS`), the
findings (a mark with a block or warn finding is filled red or orange; a test looks for
them in a screenshot), the windows and the dates."""

KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "message": ("circle", "message sent", tuple(MESSAGE_EVENTS)),
    "interview": ("square", "interview", ("interviewed",)),
    "invitation": ("diamond", "invitation, interview moved", ("invited", "interview_rescheduled")),
    "application": ("triangle", "application, signal", ("applied", "signal_sent")),
    "ending": (
        "bar",
        "rejected, declined, withdrawn, cancelled",
        ("rejected", "declined", "withdrawn", "interview_cancelled"),
    ),
    "other": ("dot", "anything else (news, calls, notes...)", ()),
}
"""Each kind of event on the timeline: its shape, its legend, and its event types (the
rest are ``other``); its colour is ``COLORS[kind]``."""

_KIND_OF = {t: kind for kind, (_, _, types) in KINDS.items() for t in types}

_TIMELINE = 820
_LABEL = 200
_LABEL_MAX = 560
_CHAR = 6.6
_RIGHT = 20
_TOP = 46
_ROW = 26
_SEVERITY_RANK = {"info": 0, "warn": 1, "block": 2}


@dataclass(frozen=True, slots=True)
class _Scale:
    start: dt.datetime
    end: dt.datetime
    left: float

    @property
    def width(self) -> float:
        return self.left + _TIMELINE

    def x(self, moment: dt.datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        frac = (moment - self.start).total_seconds() / span
        return round(self.left + min(max(frac, 0.0), 1.0) * (_TIMELINE - _RIGHT), 1)


def _shape(shape: str, cx: float, cy: float, r: float, attrs: str) -> str:
    """An SVG mark of ``shape`` centred on (``cx``, ``cy``), ``r`` its half-size."""
    if shape == "square":
        r *= 0.85
        return f'<rect x="{cx - r}" y="{cy - r}" width="{2 * r}" height="{2 * r}" {attrs}'
    if shape == "diamond":
        return f'<polygon points="{cx},{cy - r} {cx + r},{cy} {cx},{cy + r} {cx - r},{cy}" {attrs}'
    if shape == "triangle":
        return (
            f'<polygon points="{cx},{cy - r} {cx + r},{cy + r * 0.8} {cx - r},{cy + r * 0.8}" '
            f"{attrs}"
        )
    if shape == "bar":
        return f'<rect x="{cx - r * 0.4}" y="{cy - r}" width="{r * 0.8}" height="{2 * r}" {attrs}'
    radius = r * 0.6 if shape == "dot" else r
    return f'<circle cx="{cx}" cy="{cy}" r="{radius}" {attrs}'


def _tag(shape: str) -> str:
    return {"square": "rect", "bar": "rect", "diamond": "polygon", "triangle": "polygon"}.get(
        shape, "circle"
    )


def _month_starts(scale: _Scale, zone: ZoneInfo) -> list[dt.datetime]:
    local = scale.start.astimezone(zone)
    month = dt.datetime(local.year, local.month, 1, tzinfo=zone)
    out = []
    while month <= scale.end:
        if month >= scale.start:
            out.append(month)
        month = dt.datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=zone)
    return out


def _worst(findings: Sequence[AuditFinding]) -> str | None:
    if not findings:
        return None
    return max(findings, key=lambda f: _SEVERITY_RANK[f.severity]).severity


class Band(NamedTuple):
    """A window drawn behind a program's row, from ``start`` to ``end``; ``kind`` is
    ``thanks_band`` or ``letter_band`` (its key in :data:`COLORS`)."""

    start: dt.datetime
    end: dt.datetime
    kind: str


_BAND_LABELS = {"thanks_band": "thank-you window", "letter_band": "letter of interest window"}


def verdict_bands(
    season: Season, state: SeasonState, at: dt.datetime | None = None
) -> dict[str, list[Band]]:
    """The thank-you and letter of interest windows of each program interviewed in
    ``state`` that can still be used as of ``at`` (default: the season's clock), as the
    engine's verdicts give them then (DESIGN §4: a window only where the action can still
    happen): the thank-you from its ``opens_at`` to its ``due_by``, the letter from its
    ``opens_at`` to its ``closes_at``. A message already sent, or barred for good, has none."""
    moment = season.instant(at)
    return _bands(state, lambda action, pid: season.check(action, pid, moment))


def _bands(state: SeasonState, check: Callable[[str, str], Verdict]) -> dict[str, list[Band]]:
    """:func:`verdict_bands`, each verdict from ``check(action, program)``."""
    bands: dict[str, list[Band]] = {}
    for pid, program in state.programs.items():
        if program.interviewed_at is None:
            continue
        thanks = check("thank_you", pid)
        letter = check("interest", pid)
        found: list[Band] = []
        bands[pid] = found
        if thanks.opens_at is not None and thanks.due_by is not None:
            found.append(Band(thanks.opens_at, thanks.due_by, "thanks_band"))
        opens, closes = letter.opens_at, letter.closes_at
        if opens is not None and closes is not None and opens < closes:
            found.append(Band(opens, closes, "letter_band"))
    return bands


def _svg(
    state: SeasonState,
    entries: Sequence[HistoryEntry],
    by_seq: dict[int, list[AuditFinding]],
    bands: Mapping[str, Sequence[Band]],
    as_of: dt.datetime,
) -> str:
    zone = ZoneInfo(state.timezone)
    cal = state.calendar
    moments = [e.record.occurred_at for e in entries] + [cal.match_day, as_of]
    rows: list[tuple[str | None, str]] = [(None, "Season (news, rank list)")]
    rows += [(pid, p.name) for pid, p in state.programs.items()]
    longest = max(cell_len(name) + (cell_len(pid) + 3 if pid else 0) for pid, name in rows)
    left = min(max(_LABEL, longest * _CHAR + 24), _LABEL_MAX)  # every label whole, if it fits
    room = int((left - 24) / _CHAR)  # a longer label is cut (whole in its tooltip)
    scale = _Scale(min(moments) - dt.timedelta(days=3), max(moments) + dt.timedelta(days=5), left)
    width = scale.width
    height = _TOP + _ROW * len(rows) + 52
    bottom = _TOP + _ROW * len(rows)
    out = [
        f'<svg class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="season timeline">'
    ]
    for i, _ in enumerate(rows):
        if i % 2:
            out.append(
                f'<rect class="stripe" x="0" y="{_TOP + i * _ROW}" width="{width}" '
                f'height="{_ROW}" fill="#f7f7f9"/>'
            )
    for month in _month_starts(scale, zone):
        x = scale.x(month)
        out.append(
            f'<line class="grid" x1="{x}" y1="{_TOP - 6}" x2="{x}" y2="{bottom}" stroke="#e2e8f0"/>'
        )
        out.append(f'<text x="{x + 3}" y="{_TOP - 10}" class="tick">{month:%b %Y}</text>')
    for i, (pid, _) in enumerate(rows):
        if pid is None:
            continue
        y = _TOP + i * _ROW + 4
        for band in bands.get(pid, ()):
            x1, x2 = scale.x(band.start), scale.x(band.end)
            out.append(
                f'<rect class="band" x="{x1}" y="{y}" width="{max(x2 - x1, 2.0)}" '
                f'height="{_ROW - 8}" fill="{COLORS[band.kind]}">'
                f"<title>{escape(_BAND_LABELS[band.kind])}</title></rect>"
            )
    markers = (
        (as_of, "as of", COLORS["now"]),
        (cal.rank_list_deadline, "rank list deadline", COLORS["deadline"]),
        (cal.match_week_start, "Match Week", COLORS["nrmp"]),
        (cal.match_day, "Match Day", COLORS["nrmp"]),
    )
    for k, (moment, label, colour) in enumerate(markers):
        x = scale.x(moment)
        near_end = x > width - 160
        anchor = ' text-anchor="end"' if near_end else ""
        out.append(
            f'<line class="marker" x1="{x}" y1="{_TOP - 4}" x2="{x}" y2="{bottom + 12 * k + 4}" '
            f'stroke="{colour}" stroke-width="2" stroke-dasharray="5 3"/>'
        )
        out.append(
            f'<text x="{x - 3 if near_end else x + 3}" y="{bottom + 12 * k + 14}" class="tick" '
            f'style="fill:{colour}"{anchor}>{escape(label)}</text>'
        )
    index = {pid: i for i, (pid, _) in enumerate(rows)}
    for e in entries:
        r = e.record
        if r.type == "event_retracted":
            continue
        row = index.get(r.program, 0)
        cx, cy = scale.x(r.occurred_at), _TOP + row * _ROW + _ROW / 2
        worst = _worst(by_seq.get(r.seq, []))
        kind = _KIND_OF.get(r.type, "other")
        shape = KINDS[kind][0]
        fill = COLORS[kind]
        radius = 6
        if worst in ("block", "warn"):
            fill, radius = COLORS[worst], 8
        here = r.occurred_at.astimezone(ZoneInfo(e.timezone))  # the zone history shows
        tip = f"seq {r.seq} · {r.type} · {here:%a %d %b %Y %H:%M %Z}"
        for f in by_seq.get(r.seq, []):
            tip += f"\n{f.severity} {f.rule}: {f.message}"
        if e.retracted:
            tip += "\n(retracted)"
        cls = f"mark {kind} {worst or 'ok'}" + (" retracted" if e.retracted else "")
        opacity = ' fill-opacity="0.3"' if e.retracted else ""
        ring = f' stroke="{COLORS["info"]}" stroke-width="2"' if worst == "info" else ""
        attrs = f'class="{cls}" data-seq="{r.seq}" fill="{fill}"{opacity}{ring}>'
        out.append(
            _shape(shape, cx, cy, radius, attrs) + f"<title>{escape(tip)}</title></{_tag(shape)}>"
        )
    for i, (pid, name) in enumerate(rows):
        shown = _cut(name, room - (cell_len(pid) + 3 if pid else 0))
        label = escape(shown) + (f' <tspan class="pid">({escape(pid)})</tspan>' if pid else "")
        out.append(
            f'<text class="row" data-program="{escape(pid or "")}" x="8" '
            f'y="{_TOP + i * _ROW + _ROW / 2 + 4}">{label}<title>{escape(name)}</title></text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _cut(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` terminal-like cells (wide characters count two),
    ending with "…" when cut."""
    if cell_len(text) <= cells:
        return text
    out, used = [], 1
    for char in text:
        used += cell_len(char)
        if used > cells:
            break
        out.append(char)
    return "".join(out) + "…"


def _legend() -> str:
    def key(mark: str, text: str) -> str:
        return (
            f'<span class="key"><svg width="14" height="14" viewBox="-7 -7 14 14" '
            f'aria-hidden="true">{mark}</svg>{escape(text)}</span>'
        )

    items = [
        key(_shape(shape, 0, 0, 5.5, f'fill="{COLORS[kind]}">') + f"</{_tag(shape)}>", label)
        for kind, (shape, label, _) in KINDS.items()
    ]
    items += [
        key(f'<circle r="6" fill="{COLORS[severity]}"/>', f"{severity} finding (any shape)")
        for severity in ("block", "warn")
    ]
    items += [
        key(f'<rect x="-7" y="-5" width="14" height="10" fill="{COLORS[band]}"/>', text)
        for band, text in (
            ("thanks_band", "thank-you window still open"),
            ("letter_band", "letter of interest window still open"),
        )
    ]
    return " ".join(items)


_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 20px;
       color: #1a202c; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
section { margin-bottom: 40px; }
.summary { margin: 0 0 10px; }
.summary b.block { color: #d62728; } .summary b.warn { color: #c05621; }
.scroll { overflow-x: auto; }
.timeline { width: 100%; min-width: 720px; height: auto; display: block; }
.timeline text { font-size: 11px; fill: #2d3748; }
.timeline text.tick { fill: #718096; }
.timeline .pid { fill: #718096; }
.key { margin-right: 14px; font-size: 12px; white-space: nowrap; display: inline-block; }
.key svg { margin-right: 4px; vertical-align: -2px; }
table { border-collapse: collapse; margin-top: 14px; width: 100%; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 8px; text-align: left;
         vertical-align: top; font-size: 13px; }
th, td code { white-space: nowrap; }
th { background: #edf2f7; }
tr.block td { background: #fde8e8; } tr.warn td { background: #fff1e0; }
td.sev { font-weight: 600; } tr.block td.sev { color: #d62728; } tr.warn td.sev { color: #c05621; }
.none { color: #2f855a; font-weight: 600; } td.late { color: #c05621; font-weight: 600; }
@media (prefers-color-scheme: dark) {
  body { color: #e2e8f0; background: #171923; }
  .timeline text { fill: #e2e8f0; } .timeline text.tick, .timeline .pid { fill: #a0aec0; }
  .timeline rect.stripe { fill: #232736; } .timeline line.grid { stroke: #2d3748; }
  .timeline rect.band { fill-opacity: 0.45; } .timeline .application { fill: #a0aec0; }
  th { background: #2d3748; } th, td { border-color: #4a5568; }
  tr.block td { background: #4a1d1d; } tr.warn td { background: #48341a; }
  .summary b.warn, tr.warn td.sev, td.late { color: #f6ad55; } .none { color: #68d391; }
  a { color: #90cdf4; }
}
"""


def _table(report: AuditReport, state: SeasonState, when: dict[int, dt.datetime]) -> str:
    if not report.findings:
        return '<p class="none">No rule was broken.</p>'
    zone = ZoneInfo(state.timezone)
    head = "".join(
        f"<th>{h}</th>"
        for h in ("seq", "when", "program", "severity", "rule", "message", "source", "override")
    )
    rows = []
    for f in report.findings:
        moment = when.get(f.seq)
        stamp = f"{moment.astimezone(zone):%d %b %Y %H:%M}" if moment else ""
        rows.append(
            f'<tr class="{f.severity}" data-seq="{f.seq}"><td>{f.seq}</td><td>{stamp}</td>'
            f'<td>{escape(f.program or "—")}</td><td class="sev">{f.severity}</td>'
            f"<td><code>{escape(f.rule)}</code></td><td>{escape(f.message)}</td>"
            f"<td>{escape(f.source)}</td><td>{escape(f.override or '')}</td></tr>"
        )
    return f'<table class="findings"><tr>{head}</tr>\n' + "\n".join(rows) + "\n</table>"


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
{body}
</body>
</html>
"""


def _anchor(season: str) -> str:
    return "season-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in season)


def _section(
    report: AuditReport,
    state: SeasonState,
    entries: Sequence[HistoryEntry],
    bands: Mapping[str, Sequence[Band]],
    as_of: dt.datetime,
) -> str:
    by_seq: dict[int, list[AuditFinding]] = {}
    for f in report.findings:
        by_seq.setdefault(f.seq, []).append(f)
    s = report.summary
    when = {e.record.seq: e.record.occurred_at for e in entries}
    zone = ZoneInfo(state.timezone)
    provisional = (
        f'<p class="summary">The {state.calendar.match_year} calendar is provisional '
        f"({escape(state.calendar.source)}); verify the dates with NRMP.</p>"
        if state.calendar.provisional
        else ""
    )
    return f"""<section id="{_anchor(report.season)}">
<h1>Audit of season {escape(report.season)}</h1>
<p class="summary">{escape(state.applicant_name)} · {escape(state.specialty)} ·
{state.calendar.match_year} Match · as of {as_of.astimezone(zone):%a %d %b %Y %H:%M %Z} ·
<b class="block">{s["block"]} block</b>, <b class="warn">{s["warn"]} warn</b>, {s["info"]} info</p>
{provisional}
<p>{_legend()}</p>
<div class="scroll">{_svg(state, entries, by_seq, bands, as_of)}</div>
<h2>Findings</h2>
{_table(report, state, when)}
</section>"""


def season_section(season: Season, report: AuditReport, at: dt.datetime) -> str:
    """The audit of ``season`` as of ``at`` (the instant ``report`` was made for) as one
    ``<section>`` of a page, its id ``season-<id>``."""
    state = season.state(at)
    return _section(report, state, season.history(at), verdict_bands(season, state), at)


def overview_section(overview: SeasonOverview) -> str:
    """:func:`season_section` of a season read by :func:`season_overviews` (its state, its
    history and its windows as of the overview's instant)."""
    state, at = overview.state, overview.at
    bands = _bands(state, overview.check)
    return _section(overview.audit, state, overview.history(), bands, at)


def advisor_row(overview: SeasonOverview) -> tuple[SeasonSummary, str]:
    """A season's row of :func:`advisor_page`: its summary and its section."""
    return overview.summary(), overview_section(overview)


def _deadline_cell(verdict: Verdict | None, by: str = "") -> str:
    """``thank_you to mercy-im, 20 Jan 2027 14:00 UTC`` (``by`` before the instant),
    escaped; ``""`` without a ``due_by``."""
    if verdict is None or verdict.due_by is None:
        return ""
    return (
        f"{escape(verdict.action)} to {escape(verdict.program or '')}, "
        f"{by}{verdict.due_by.astimezone(dt.UTC):%d %b %Y %H:%M} UTC"
    )


def season_page(season: Season, report: AuditReport, at: dt.datetime) -> str:
    """The audit page of ``season`` as of ``at``, given its audit ``report`` for then."""
    return _document(f"Audit of {report.season}", season_section(season, report, at))


def advisor_page(rows: Sequence[tuple[SeasonSummary, str]], as_of: dt.datetime) -> str:
    """An advisor's page of many seasons: a table with a row per applicant (blocks, warns,
    the next deadline, what is late, programs per state), each linking to that season's
    report (its ``section``, from :func:`season_section`) further down the same page."""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "applicant",
            "season",
            "block",
            "warn",
            "next deadline",
            "late",
            "programs by state",
        )
    )
    lines = []
    for summary, _ in rows:
        late = "<td>—</td>"
        if summary.late:
            first = _deadline_cell(summary.late[0], "was due ")
            count = len(summary.late)
            text = f"1 ({first})" if count == 1 else f"{count} (most overdue: {first})"
            late = f'<td class="late">{text}</td>'
        states = ", ".join(f"{n} {escape(state)}" for state, n in summary.states.items())
        worst = "block" if summary.block else "warn" if summary.warn else ""
        lines.append(
            f'<tr class="{worst}"><td><a href="#{_anchor(summary.season)}">'
            f"{escape(summary.applicant)}</a></td><td>{escape(summary.season)}</td>"
            f'<td class="sev">{summary.block}</td><td>{summary.warn}</td>'
            f"<td>{_deadline_cell(summary.next_due) or '—'}</td>{late}"
            f"<td>{states or '—'}</td></tr>"
        )
    table = f'<table class="advisor"><tr>{head}</tr>\n' + "\n".join(lines) + "\n</table>"
    body = (
        f"<h1>Seasons: {len(rows)}</h1>\n"
        f'<p class="summary">As of {as_of.astimezone(dt.UTC):%a %d %b %Y %H:%M} UTC; '
        "each applicant links to the season's report below.</p>\n"
        f"{table}\n" + "\n".join(section for _, section in rows)
    )
    return _document("prematch: every season", body)
