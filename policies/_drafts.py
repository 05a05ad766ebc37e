"""Drafts of the five messages (DESIGN §4 actions), filled from the season and linted.

The wording lives in ``fixtures/templates/<action>.txt`` (``string.Template``
placeholders such as ``$program_name``) and ``fixtures/templates/fill.toml``; this
module only chooses the values: the applicant's name and ids, the program's name, the
interview date as the program says it (:meth:`ProgramState.interview_day
<prematch.engine.ProgramState.interview_day>`: an applicant abroad thanks a Los Angeles
program for the interview on the Los Angeles date), the news being told, the connection behind an
inquiry. Bracketed parts (``[one specific thing ...]``) are for the applicant to write:
lint reports each as ``content.placeholder`` (block), so a draft is not ready until it
lints clean (:attr:`Draft.blanks`). Whether the action may be sent at all is the
rulebook's question, not this module's.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from prematch.engine import ACTIONS, InputError, News, ProgramState, SeasonState, fixtures_dir
from prematch.policies._content import LintFinding, is_img, lint_message
from prematch.policies._context import specialty_of

__all__ = ["Draft", "draft_message", "draft_values", "templates_dir"]


@dataclass(frozen=True, slots=True)
class Draft:
    """A filled message and what ``lint`` says about it."""

    action: str
    program: str
    text: str
    findings: tuple[LintFinding, ...]

    @property
    def blanks(self) -> tuple[LintFinding, ...]:
        """The template blanks still to fill (``content.placeholder``): the applicant's part."""
        return tuple(f for f in self.findings if f.rule == "content.placeholder")

    @property
    def blocking(self) -> tuple[LintFinding, ...]:
        """Block-level findings besides the blanks (a shipped template must never have one)."""
        return tuple(
            f for f in self.findings if f.severity == "block" and f.rule != "content.placeholder"
        )


def templates_dir() -> Path:
    """``fixtures/templates`` (inside the installed wheel, or in a checkout)."""
    return fixtures_dir() / "templates"


def _fill_table(folder: Path) -> dict[str, Any]:
    with (folder / "fill.toml").open("rb") as f:
        return tomllib.load(f)


def _day(moment: dt.date) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def _news_for(state: SeasonState, program: ProgramState, action: str) -> News | None:
    if action == "update":
        untold = state.untold_news(program.id)
        return untold[0] if untold else None
    if action == "interest" and program.interviewed_at is not None:
        since = [n for n in state.news if n.at > program.interviewed_at]
        return since[-1] if since else None
    return None


def _signature(state: SeasonState, placeholders: dict[str, str]) -> str:
    ids = [f"AAMC ID {state.aamc_id or placeholders['aamc_id']}"]
    if is_img(state):
        ids.append(f"ECFMG ID {state.ecfmg_id or placeholders['ecfmg_id']}")
    return "\n".join((state.applicant_name, " · ".join(ids), placeholders["contact_line"]))


def draft_values(
    state: SeasonState, action: str, program_id: str, fill: dict[str, Any]
) -> dict[str, str]:
    """The placeholder values of one draft."""
    program = state.program(program_id)
    holders: dict[str, str] = fill["placeholders"]
    day = program.interview_day(state.timezone)
    news = _news_for(state, program, action)
    detail = news.detail.strip().rstrip(".") if news else holders["news_detail"]
    kinds = program.connections
    connection = fill["connection"].get(kinds[0] if kinds else "none", fill["connection"]["none"])
    news_paragraph = (
        Template(fill["interest"]["news"]).substitute(news_detail=detail)
        if news
        else fill["interest"]["no_news"]
    )
    return {
        "applicant_name": state.applicant_name,
        "about_me": fill["applicant"]["img" if is_img(state) else "other"],
        "specialty": specialty_of(state, program),
        "program_name": program.name,
        "interview_date": _day(day) if day else holders["interview_date"],
        "connection": connection,
        "news_detail": detail,
        "news_paragraph": news_paragraph,
        "signature": _signature(state, holders),
    }


def draft_message(
    state: SeasonState, action: str, program_id: str, *, templates: Path | None = None
) -> Draft:
    """A draft of ``action`` to ``program_id``, filled from ``state`` and linted."""
    if action not in ACTIONS:
        raise InputError(
            f"unknown action {action!r}; actions: {', '.join(ACTIONS)}", field="action"
        )
    folder = templates or templates_dir()
    values = draft_values(state, action, program_id, _fill_table(folder))
    template = Template((folder / f"{action}.txt").read_text(encoding="utf-8"))
    text = template.substitute(values)
    findings = lint_message(text, action, state, program_id)
    return Draft(action, program_id, text, tuple(findings))
