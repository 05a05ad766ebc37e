"""Findings and verdicts: what the rulebook says about an action (DESIGN §4, contract)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from prematch.engine._records import Record, utc_iso

__all__ = [
    "SEVERITY_RANK",
    "AuditFinding",
    "Finding",
    "Judged",
    "Severity",
    "Verdict",
    "VerdictName",
    "Window",
    "worst",
]

Severity = Literal["block", "warn", "info"]
VerdictName = Literal["allowed", "warn", "blocked"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warn": 1, "block": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's judgement: ``rule`` id, ``severity``, a message, and its ``source``.

    ``program`` and ``seq`` name the program and the event the finding is about when
    the judged event has no program of its own (``rank_certified``) or the question is
    season-wide (the checklist); the audit reports them. ``None`` otherwise.
    """

    rule: str
    severity: Severity
    message: str
    source: str
    program: str | None = None
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of DESIGN §6."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
        }


class Judged(NamedTuple):
    """A record and what the rulebook found about it, against the state just before it.

    The fold yields one per record; admission returns the new records so (an
    ``update_sent``'s news resolved); :meth:`Season.record` returns the record as
    written, with the warnings and overridden blocks it was recorded with. A named
    tuple: replay makes one per record.
    """

    record: Record
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"event": the record (:meth:`Record.to_json`), "verdict", "findings"}``: what
        was written and what the rulebook said of it (``verdict`` the worst finding)."""
        return {
            "event": self.record.to_json(),
            "verdict": worst(self.findings),
            "findings": [f.to_json() for f in self.findings],
        }


class Window(NamedTuple):
    """A time window a rule contributes to a verdict (any bound may be ``None``).

    A named tuple: rules build several per judged event, also where only findings
    are wanted (an audit), and a tuple costs half a frozen dataclass.
    """

    opens_at: dt.datetime | None = None
    due_by: dt.datetime | None = None
    closes_at: dt.datetime | None = None


def worst(findings: Iterable[Finding]) -> VerdictName:
    """The verdict of a set of findings: block > warn > info (info alone is allowed)."""
    rank = max((SEVERITY_RANK[f.severity] for f in findings), default=0)
    return "blocked" if rank == 2 else "warn" if rank == 1 else "allowed"


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else utc_iso(moment)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one (program, action, instant).

    ``program`` is ``None`` only for a season-level event judged in an audit
    (``rank_certified``); every action has a program.
    """

    program: str | None
    action: str
    outcome: VerdictName
    """``allowed``, ``warn`` or ``blocked`` (the ``verdict`` key of the JSON)."""
    findings: tuple[Finding, ...] = ()
    opens_at: dt.datetime | None = None
    due_by: dt.datetime | None = None
    closes_at: dt.datetime | None = None

    @classmethod
    def combine(
        cls,
        program: str | None,
        action: str,
        parts: Iterable[Finding | Window],
        *,
        closed: bool = False,
    ) -> Verdict:
        """Fold the findings and windows the rules produced into one verdict.

        ``closed``: a block that no later instant lifts was found, so the verdict shows
        no window (DESIGN §4: a window only where it can still open).
        """
        findings: list[Finding] = []
        opens: list[dt.datetime] = []
        dues: list[dt.datetime] = []
        closes: list[dt.datetime] = []
        for part in parts:
            if isinstance(part, Finding):
                findings.append(part)
                continue
            if part.opens_at is not None:
                opens.append(part.opens_at)
            if part.due_by is not None:
                dues.append(part.due_by)
            if part.closes_at is not None:
                closes.append(part.closes_at)
        findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.rule))
        return cls(
            program=program,
            action=action,
            outcome=worst(findings),
            findings=tuple(findings),
            opens_at=None if closed else max(opens, default=None),
            due_by=None if closed else min(dues, default=None),
            closes_at=None if closed else min(closes, default=None),
        )

    def check_json(self, season: str, as_of: dt.datetime) -> dict[str, Any]:
        """The ``check`` JSON shape of DESIGN §6: :meth:`to_json` with the ``season`` and
        the instant (``as_of``) it was asked at."""
        return {"season": season, "as_of": utc_iso(as_of), **self.to_json()}

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The block-level findings."""
        return tuple(f for f in self.findings if f.severity == "block")

    def to_json(self) -> dict[str, Any]:
        """One element of ``now``'s ``actions`` (DESIGN §6)."""
        return {
            "program": self.program,
            "action": self.action,
            "verdict": self.outcome,
            "opens_at": _iso(self.opens_at),
            "due_by": _iso(self.due_by),
            "closes_at": _iso(self.closes_at),
            "findings": [f.to_json() for f in self.findings],
        }


class AuditFinding(NamedTuple):
    """A finding tied to the event (``seq``) that caused it.

    A named tuple (immutable, as a frozen dataclass): an audit answered from the findings
    projection builds tens of thousands of them, at a third of a dataclass's cost each."""

    rule: str
    severity: Severity
    program: str | None
    seq: int
    message: str
    source: str
    override: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of ``audit`` (DESIGN §6), plus the override reason if any."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "program": self.program,
            "seq": self.seq,
            "message": self.message,
            "source": self.source,
            "override": self.override,
        }
