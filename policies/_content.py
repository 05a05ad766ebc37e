"""The content rules (``content.*``, DESIGN §5): what a message says, not when it is sent.

:func:`lint_message` reads a message the applicant is about to send and returns
findings that name the rule, the line (1-based), the sentence and the offending phrase.
The block-level rules judge what a sentence *does* (:mod:`prematch.policies._roles`, with
its roles in ``fixtures/rulebook/roles.toml``): asks for rank, bargains, claims first
place, commits outside the Match, or still holds a template blank. Flattery and the
parts of a letter are phrase lists in ``fixtures/rulebook/phrases.toml``; the numbers
(word and paragraph limits) in the ``[content]`` table of ``defaults.toml``, overridable
per season like every rulebook number.

``content.first_choice`` also reads the season: "first choice" is allowed only in
the one letter of intent, and only while no *other* program has been told so (the
log's live ``intent_sent`` events, :meth:`engine.SeasonState.intents`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from prematch.engine import ACTIONS, InputError, SeasonState, Severity, fixtures_dir
from prematch.policies._context import GUIDE, NRMP, local
from prematch.policies._params import Params, default_params, params_for
from prematch.policies._roles import Hit, find_roles, load_roles, merged
from prematch.policies._sentences import Sentence, sentence_at, sentences

__all__ = [
    "CONTENT_RULES",
    "LintFinding",
    "Phrases",
    "is_img",
    "lint_message",
    "load_phrases",
]

CONTENT_RULES: Mapping[str, tuple[Severity, str]] = {
    "content.rank_question": ("block", NRMP),
    "content.negotiation": ("block", NRMP),
    "content.first_choice": ("block", GUIDE),
    "content.commitment": ("block", NRMP),
    "content.placeholder": ("block", GUIDE),
    "content.flattery": ("warn", GUIDE),
    "content.length": ("warn", GUIDE),
    "content.ids": ("info", GUIDE),
}
"""Each content rule id (contract), its severity and its source."""

_FLAGS = re.IGNORECASE | re.DOTALL
_WORD = re.compile(r"\w[\w'’-]*")
_SPACE = re.compile(r"\s+")

_ACTION_LABEL = {
    "inquiry": "pre-interview inquiry",
    "thank_you": "thank-you",
    "update": "update",
    "interest": "letter of interest",
    "intent": "letter of intent",
}


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One content finding: the rule, how bad, why, where (``line``, ``sentence``) and what
    (``phrase``, the words that triggered it as typed)."""

    rule: str
    severity: Severity
    message: str
    source: str
    line: int
    phrase: str | None = None
    sentence: str | None = None
    """The sentence the phrase is in, on one line (none for length and ids)."""

    def to_json(self) -> dict[str, Any]:
        """The finding shape of DESIGN §6, plus ``line``, ``phrase`` and ``sentence``."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
            "line": self.line,
            "phrase": self.phrase,
            "sentence": self.sentence,
        }


@dataclass(frozen=True, slots=True)
class _PhraseRule:
    advice: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class Phrases:
    """The compiled contents of ``phrases.toml``."""

    flattery: _PhraseRule
    aamc: re.Pattern[str]
    ecfmg: re.Pattern[str]
    ids_advice: str
    subject: re.Pattern[str]
    salutation: re.Pattern[str]
    closing: re.Pattern[str]


def _compile(table: str, text: str, flags: int) -> re.Pattern[str]:
    try:
        return re.compile(text, flags)
    except re.error as e:
        raise ValueError(f"phrases.toml [{table}]: bad pattern {text!r}: {e}") from e


def _parse_phrases(data: Mapping[str, Any]) -> Phrases:
    table = data["flattery"]
    flattery = _PhraseRule(
        advice=str(table["advice"]),
        patterns=tuple(_compile("flattery", str(p), _FLAGS) for p in table["patterns"]),
    )
    ids, shape = data["ids"], data["structure"]
    return Phrases(
        flattery=flattery,
        aamc=_compile("ids", str(ids["aamc"]), re.IGNORECASE),
        ecfmg=_compile("ids", str(ids["ecfmg"]), re.IGNORECASE),
        ids_advice=str(ids["advice"]),
        subject=_compile("structure", str(shape["subject"]), re.IGNORECASE),
        salutation=_compile("structure", str(shape["salutation"]), re.IGNORECASE),
        closing=_compile("structure", str(shape["closing"]), re.IGNORECASE),
    )


@cache
def load_phrases(path: Path | None = None) -> Phrases:
    """The phrase lists (default: ``fixtures/rulebook/phrases.toml``), compiled once."""
    with (path or fixtures_dir() / "rulebook" / "phrases.toml").open("rb") as f:
        return _parse_phrases(tomllib.load(f))


def is_img(state: SeasonState) -> bool:
    """Whether the applicant is treated as an IMG: an ECFMG id, or a J-1/H-1B visa."""
    return bool(state.ecfmg_id) or state.visa in ("j1", "h1b")


# -- the parts of a letter ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Paragraph:
    line: int
    """1-based line of its first line."""
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Letter:
    body: tuple[_Paragraph, ...]
    signature: str
    """The closing and what follows it; the whole text when no closing line was found."""
    last_line: int


def _blocks(lines: Sequence[str]) -> list[_Paragraph]:
    out: list[_Paragraph] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            out.append(_Paragraph(start, tuple(current)))
            current = []
    if current:
        out.append(_Paragraph(start, tuple(current)))
    return out


def _split(text: str, phrases: Phrases) -> _Letter:
    lines = text.splitlines()
    blocks = _blocks(lines)
    last_line = max((b.line + len(b.lines) - 1 for b in blocks), default=1)
    # Drop a subject line, then a salutation line, from the front.
    for pattern in (phrases.subject, phrases.salutation):
        if blocks and pattern.match(blocks[0].lines[0]):
            first = blocks.pop(0)
            if len(first.lines) > 1:
                blocks.insert(0, _Paragraph(first.line + 1, first.lines[1:]))
    # Everything from the closing line on is the signature.
    for i, block in enumerate(blocks):
        for j, line in enumerate(block.lines):
            if phrases.closing.match(line):
                body = blocks[:i] + ([_Paragraph(block.line, block.lines[:j])] if j else [])
                tail = [*block.lines[j:]] + [ln for b in blocks[i + 1 :] for ln in b.lines]
                return _Letter(tuple(body), "\n".join(tail), last_line)
    return _Letter(tuple(blocks), text, last_line)


def _words(letter: _Letter) -> list[tuple[int, str]]:
    """Every word of the body with its line number."""
    return [
        (p.line + k, w.group(0))
        for p in letter.body
        for k, line in enumerate(p.lines)
        for w in _WORD.finditer(line)
    ]


# -- the rules ---------------------------------------------------------------------------


def _finding(
    rule: str, message: str, line: int, phrase: str | None = None, sentence: str | None = None
) -> LintFinding:
    severity, source = CONTENT_RULES[rule]
    return LintFinding(rule, severity, message, source, line, phrase, sentence)


def _quoted(text: str, start: int, end: int) -> tuple[int, str]:
    """(line, phrase on one line) of ``text[start:end]``."""
    return text.count("\n", 0, start) + 1, _SPACE.sub(" ", text[start:end]).strip()


def _flattery(text: str, rule: _PhraseRule, read: Sequence[Sentence]) -> Iterator[LintFinding]:
    """One warning per match; overlapping (or touching) matches merge into one phrase."""
    hits = [(m.start(), m.end()) for pattern in rule.patterns for m in pattern.finditer(text)]
    for start, end in merged(hits):
        line, phrase = _quoted(text, start, end)
        where = sentence_at(read, start)
        yield _finding("content.flattery", rule.advice, line, phrase, where)


def _others_told_first(state: SeasonState | None, program: str | None) -> list[str]:
    """Programs other than ``program`` that already had a letter of intent."""
    if state is None:
        return []
    return sorted({pid for pid, _ in state.intents() if pid != program})


def _told(state: SeasonState, pid: str) -> str:
    program = state.programs[pid]
    return f"{program.name} on {local(program.sent('intent')[0].at, state.timezone)}"


def _first_choice(
    text: str,
    action: str,
    state: SeasonState | None,
    program: str | None,
    hits: Sequence[Hit],
    advice: str,
) -> Iterator[LintFinding]:
    others = _others_told_first(state, program) if action == "intent" else []
    for hit in hits:
        line, phrase = _quoted(text, hit.start, hit.end)
        if action != "intent":
            why = f"not in a {_ACTION_LABEL[action]}: {advice}"
        elif others and state is not None:
            told = "; ".join(_told(state, pid) for pid in others)
            if program is None:
                why = (
                    f"a letter of intent already went to {told}; unless this letter is for "
                    "that program (name it with --program), a second program would be told "
                    "'first choice'"
                )
            else:
                why = (
                    f"another program was already told it is your first choice ({told}); "
                    f"saying it to {state.programs[program].name} as well would be dishonest"
                )
        else:
            continue
        yield _finding("content.first_choice", why, line, phrase, hit.sentence)


def _length(letter: _Letter, action: str, params: Params) -> Iterator[LintFinding]:
    words = _words(letter)
    count = len(words)
    first_line = letter.body[0].line if letter.body else 1
    if action == "thank_you":
        most = params["content.thank_you_max_words"]
        if count > most:
            yield _finding(
                "content.length",
                f"a thank-you of {count} words; keep it under {most} (a few lines with one "
                "or two specific details)",
                words[most][0],
            )
    elif action == "interest":
        fewest, most = params["content.interest_min_words"], params["content.interest_max_words"]
        if count < fewest:
            yield _finding(
                "content.length",
                f"a letter of interest of {count} words; {fewest}–{most} gives room for "
                "specific reasons without losing the reader",
                first_line,
            )
        elif count > most:
            yield _finding(
                "content.length",
                f"a letter of interest of {count} words; keep it within {fewest}–{most}",
                words[most][0],
            )
    limit = params["content.max_paragraphs"]
    if len(letter.body) > limit:
        yield _finding(
            "content.length",
            f"{len(letter.body)} paragraphs; at most {limit} short ones keep a message easy "
            "to read",
            letter.body[limit].line,
        )


def _ids(letter: _Letter, state: SeasonState | None, phrases: Phrases) -> Iterator[LintFinding]:
    wanted = [("AAMC ID", phrases.aamc, state.aamc_id if state else None)]
    if state is not None and is_img(state):
        wanted.append(("ECFMG ID", phrases.ecfmg, state.ecfmg_id))
    missing = [
        name
        for name, pattern, own in wanted
        if not pattern.search(letter.signature) and not (own and own in letter.signature)
    ]
    if missing:
        yield _finding(
            "content.ids",
            f"the signature lacks your {' and '.join(missing)}; {phrases.ids_advice}",
            letter.last_line,
        )


def lint_message(
    text: str, action: str, state: SeasonState | None, program: str | None
) -> list[LintFinding]:
    """The content findings about ``text`` sent as ``action`` (to ``program`` of ``state``).

    Without a season (``state`` is ``None``) the log check of ``content.first_choice``
    and the ECFMG part of ``content.ids`` are skipped, and the default numbers apply.
    Findings come in order of line, worst first on a line.
    """
    if action not in ACTIONS:
        raise InputError(
            f"unknown action {action!r}; actions: {', '.join(ACTIONS)}", field="action"
        )
    if state is not None and program is not None:
        state.program(program)  # an unknown program is an input error
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    phrases = load_phrases()
    params = params_for(state.policy) if state is not None else default_params()
    letter = _split(text, phrases)
    roles = load_roles()
    read = sentences(text, roles.normaliser)
    hits = find_roles(text, read, roles)
    found: list[LintFinding] = []
    for hit in hits:
        if hit.rule != "content.first_choice":
            line, phrase = _quoted(text, hit.start, hit.end)
            found.append(_finding(hit.rule, roles.advice[hit.rule], line, phrase, hit.sentence))
    first = [h for h in hits if h.rule == "content.first_choice"]
    found.extend(
        _first_choice(text, action, state, program, first, roles.advice["content.first_choice"])
    )
    found.extend(_flattery(text, phrases.flattery, read))
    found.extend(_length(letter, action, params))
    found.extend(_ids(letter, state, phrases))
    rank = {"block": 0, "warn": 1, "info": 2}
    found.sort(key=lambda f: (f.line, rank[f.severity], f.rule))
    return found
