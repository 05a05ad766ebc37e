"""What a sentence does: the roles of ``roles.toml`` behind the block-level content rules.

A rule is met when one sentence holds all the roles it needs (the table at the top of
``fixtures/rulebook/roles.toml``): ``content.rank_question`` an ask + the applicant's
standing; ``content.negotiation`` the program's ranking + the applicant's (or a bargain
on its own); ``content.first_choice`` a claim of first place for the program written to;
``content.commitment`` something outside the Match + a commitment. ``content.placeholder``
reads the text as typed: a template blank left in it. Each :class:`Hit` names the
sentence and the words that met the rule.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from prematch.engine import fixtures_dir
from prematch.policies._sentences import Normaliser, Sentence, sentence_at

__all__ = ["ROLE_RULES", "Hit", "Roles", "find_roles", "load_roles", "merged"]

ROLE_RULES = (
    "content.rank_question",
    "content.negotiation",
    "content.first_choice",
    "content.commitment",
    "content.placeholder",
)
"""The content rules this module finds, in the order of ``roles.toml``."""

_Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule met: the words that met it (``start``/``end`` in the message) and where."""

    rule: str
    start: int
    end: int
    sentence: str
    """The sentence they are in, as typed, on one line."""


def _compile(table: str, text: str, vocab: Mapping[str, str], flags: int = 0) -> re.Pattern[str]:
    for name, value in vocab.items():
        text = text.replace("{" + name + "}", value)
    try:
        return re.compile(text, flags)
    except re.error as e:
        raise ValueError(f"roles.toml [{table}]: bad pattern {text!r}: {e}") from e


@dataclass(frozen=True, slots=True)
class Roles:
    """The compiled contents of ``roles.toml``."""

    normaliser: Normaliser
    advice: Mapping[str, str]
    """Rule id -> the message its findings carry."""
    patterns: Mapping[tuple[str, str], tuple[re.Pattern[str], ...]]
    """(rule family, role) -> its patterns."""
    addressee: re.Pattern[str]
    allowed: tuple[re.Pattern[str], ...]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Roles:
        """Compile the tables of ``roles.toml``."""
        vocab: dict[str, str] = {}
        for name, value in data["vocab"].items():
            vocab[name] = _compile("vocab", str(value), vocab).pattern
        patterns: dict[tuple[str, str], tuple[re.Pattern[str], ...]] = {}
        advice: dict[str, str] = {}
        for rule in ROLE_RULES:
            family = rule.removeprefix("content.")
            table = data[family]
            advice[rule] = str(table["advice"])
            for role, texts in table.items():
                if isinstance(texts, list) and role != "allowed":
                    patterns[family, role] = tuple(_compile(family, str(t), vocab) for t in texts)
        return cls(
            normaliser=Normaliser.from_table(data["normalise"]),
            advice=advice,
            patterns=patterns,
            addressee=_compile("first_choice", str(data["first_choice"]["addressee"]), vocab),
            allowed=tuple(
                _compile("placeholder", str(t), vocab) for t in data["placeholder"]["allowed"]
            ),
        )

    def find(self, family: str, role: str, reading: str, *, merge: bool = True) -> list[_Span]:
        """The spans of ``reading`` where ``role`` of ``family`` is found (group ``p`` if
        named), overlapping ones merged unless ``merge`` is false."""
        out: list[_Span] = []
        for pattern in self.patterns[family, role]:
            for m in pattern.finditer(reading):
                group = "p" if "p" in pattern.groupindex and m.group("p") is not None else 0
                out.append((m.start(group), m.end(group)))
        return merged(out) if merge else sorted(out)


@cache
def load_roles(path: Path | None = None) -> Roles:
    """The roles (default: ``fixtures/rulebook/roles.toml``), compiled once."""
    with (path or fixtures_dir() / "rulebook" / "roles.toml").open("rb") as f:
        return Roles.parse(tomllib.load(f))


def merged(spans: Sequence[_Span]) -> list[_Span]:
    """``spans`` (start, end) in order, those that overlap or touch merged into one."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def _overlaps(a: _Span, b: _Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _rank_question(s: Sentence, roles: Roles) -> list[_Span]:
    """The shortest object of each run of overlapping ones, when the sentence asks."""
    objects = roles.find("rank_question", "object", s.reading, merge=False)
    if not objects or not (
        s.reading.endswith("?") or roles.find("rank_question", "ask", s.reading)
    ):
        return []
    runs = merged(objects)
    return [
        min((o for o in objects if run[0] <= o[0] and o[1] <= run[1]), key=lambda o: o[1] - o[0])
        for run in runs
    ]


def _progressive(s: Sentence, span: _Span) -> bool:
    """Whether ``span`` of the reading ends in ``be`` + a verb typed in ``-ing``: the
    reading has one lemma for "I will be ranked" (the program ranks) and "I will be
    ranking" (the applicant does)."""
    last = next((w for w in reversed(s.spans) if w[1] <= span[1]), None)
    if last is None or not s.reading[: last[0]].endswith("be "):
        return False
    return s.text[last[2] : last[3]].lower().endswith("ing")


def _negotiation(s: Sentence, roles: Roles) -> list[_Span]:
    bargains = roles.find("negotiation", "bargain", s.reading)
    theirs = [
        t for t in roles.find("negotiation", "program_ranks", s.reading) if not _progressive(s, t)
    ]
    mine = [
        m
        for m in roles.find("negotiation", "applicant_ranks", s.reading)
        if not any(_overlaps(m, t) for t in theirs)
    ]
    if theirs and mine:
        start, end = min(theirs[0][0], mine[0][0]), max(theirs[-1][1], mine[-1][1])
        before = [c for c in roles.find("negotiation", "condition", s.reading) if c[1] <= start]
        bargains.append((before[-1][0] if before else start, end))
    return merged(bargains)


def _first_choice(s: Sentence, roles: Roles) -> list[_Span]:
    claims = roles.find("first_choice", "claim", s.reading)
    if roles.addressee.search(s.reading):
        claims += roles.find("first_choice", "addressed", s.reading)
    innocent = roles.find("first_choice", "innocent", s.reading)
    return merged([c for c in claims if not any(i[0] <= c[0] and c[1] <= i[1] for i in innocent)])


def _commitment(s: Sentence, roles: Roles) -> list[_Span]:
    outside = roles.find("commitment", "outside", s.reading)
    acts = roles.find("commitment", "act", s.reading)
    for o in outside:
        free = [a for a in acts if not _overlaps(a, o)]
        if free:
            return [(min(o[0], free[0][0]), max(o[1], free[-1][1]))]
    return []


_SENTENCE_RULES = {
    "content.negotiation": _negotiation,
    "content.rank_question": _rank_question,
    "content.first_choice": _first_choice,
    "content.commitment": _commitment,
}


def _placeholders(text: str, roles: Roles) -> Iterator[_Span]:
    spans = [
        (m.start(), m.end())
        for pattern in roles.patterns["placeholder", "patterns"]
        for m in pattern.finditer(text)
        if not any(a.match(m.group(0)) for a in roles.allowed)
    ]
    yield from merged(spans)


def find_roles(text: str, read: Sequence[Sentence], roles: Roles) -> list[Hit]:
    """Every rule of :data:`ROLE_RULES` met in ``text`` (split into ``read``), in text order.

    A sentence that bargains is a negotiation, not also a rank question.
    """
    hits: list[Hit] = []
    for s in read:
        negotiates = False
        for rule, judge in _SENTENCE_RULES.items():
            if rule == "content.rank_question" and negotiates:
                continue
            for start, end in judge(s, roles):
                begin, finish = s.span(start, end)
                hits.append(Hit(rule, begin, finish, s.quoted))
                negotiates = negotiates or rule == "content.negotiation"
    for start, end in _placeholders(text, roles):
        hits.append(Hit("content.placeholder", start, end, sentence_at(read, start, end)))
    hits.sort(key=lambda h: (h.start, ROLE_RULES.index(h.rule)))
    return hits
