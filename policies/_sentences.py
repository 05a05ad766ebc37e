"""A message read sentence by sentence, each sentence as a line of lemmas (issue 15).

:func:`sentences` splits a text into :class:`Sentence` objects; each keeps where it is in
the text and its *reading*: lower case, contractions spelled out, British spellings made
American, "#1" / "No. 1" / "number one" / "1st" read as "first", every word reduced to
its lemma by simplemma (offline, its English dictionary ships in the wheel). The content
rules match their roles against the reading (:mod:`prematch.policies._roles`) and quote
the applicant's own words back through :meth:`Sentence.span`.

simplemma is imported on the first lemma, so only ``lint`` and ``draft`` load it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["Normaliser", "Sentence", "sentence_at", "sentences"]

_ABBREVIATIONS = frozenset(
    ("dr", "mr", "mrs", "ms", "st", "no", "prof", "jr", "sr", "vs", "etc", "e.g", "i.e")
)
"""Words a period follows without ending the sentence ("Dr. Lee", "No. 1")."""
_END = re.compile(r"[.?!]+[\"”’')\]]*(?=\s|$)|\n[ \t]*\n")
_WORD_BEFORE = re.compile(r"([\w.]+)[.?!]*$")
_WORD_REACH = 40
"""How far back (characters) to look for the word a period follows."""
_SPACE = re.compile(r"\s+")
_NEWLINE = re.compile(r"\n(?=[ \t]*[^\sa-z])")
_LABEL_WORDS = 4
"""A line of this many words or fewer is a label ("With appreciation,", a name), not prose."""


@cache
def _lemmatize() -> Callable[[str], str]:
    import simplemma  # the dictionary loads here, on the first lemma of a lint or a draft

    def lemma(word: str) -> str:
        return str(simplemma.lemmatize(word, lang="en")).lower()

    return cache(lemma)


@dataclass(frozen=True, slots=True)
class Normaliser:
    """How words become lemmas: the ``[normalise]`` table of ``roles.toml``."""

    keep: frozenset[str]
    first: re.Pattern[str]
    contractions: Mapping[str, str]
    suffixes: Mapping[str, str]
    is_before: frozenset[str]
    spelling: Mapping[str, str]

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Normaliser:
        """Compile the ``[normalise]`` table."""
        return cls(
            keep=frozenset(table["keep"]),
            first=re.compile("|".join(f"(?:{p})" for p in table["first"]), re.IGNORECASE),
            contractions=dict(table["contractions"]),
            suffixes=dict(table["suffixes"]),
            is_before=frozenset(table["is_before"]),
            spelling=dict(table["spelling"]),
        )

    def token_pattern(self) -> re.Pattern[str]:
        """One token: a "first" form, a word (with its apostrophes) or a punctuation mark."""
        return re.compile(
            rf"(?P<first>{self.first.pattern})|[A-Za-z0-9]+(?:['’][A-Za-z]+)*|[?!.,;:]",
            re.IGNORECASE,
        )

    def words(self, token: str) -> list[str]:
        """The reading of one token: one or two lemmas."""
        word = token.lower().replace("’", "'")
        if word in self.contractions:
            return self.contractions[word].split()
        if "'" not in word:
            return self._one(word)
        for suffix, spelled in self.suffixes.items():
            if word.endswith(suffix):
                return [*self._one(word[: -len(suffix)]), spelled]
        if word.endswith("'s"):
            base = word[:-2]
            return [*self._one(base), "be"] if base in self.is_before else self._one(base)
        return self._one(word.replace("'", ""))

    def _one(self, word: str) -> list[str]:
        word = self.spelling.get(word, word)
        if word in self.keep or not word.isalpha():
            return [word]
        return [self.spelling.get(lemma := _lemmatize()(word), lemma)]


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a message: where it is, and how it reads."""

    start: int
    """Offset of its first character in the message."""
    text: str
    """The sentence as typed."""
    reading: str
    """Its lemmas and punctuation, one space apart."""
    spans: tuple[tuple[int, int, int, int], ...]
    """(reading start, reading end, text start, text end) of each reading word."""

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The text offsets (in the message) of the words behind ``reading[start:end]``."""
        inside = [s for s in self.spans if s[0] < end and s[1] > start]
        if not inside:
            return self.start, self.start
        return self.start + inside[0][2], self.start + inside[-1][3]

    @property
    def quoted(self) -> str:
        """The sentence as typed, on one line."""
        return _SPACE.sub(" ", self.text).strip()


def _read(text: str, start: int, normaliser: Normaliser) -> Sentence:
    parts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    at = 0
    for m in normaliser.token_pattern().finditer(text):
        words = ["first"] if m.group("first") else normaliser.words(m.group(0))
        for word in words:
            spans.append((at, at + len(word), m.start(), m.end()))
            parts.append(word)
            at += len(word) + 1
    return Sentence(start, text, " ".join(parts), tuple(spans))


def _line_ends(text: str) -> Iterator[int]:
    """Line breaks that end a sentence without a period: after a line of a signature or a
    closing (at most a few words, or no word in lower case: a name, an id) when the next
    line does not go on in lower case."""
    for m in _NEWLINE.finditer(text):
        words = text[text.rfind("\n", 0, m.start()) + 1 : m.start()].split()
        if len(words) <= _LABEL_WORDS or not any(w[0].islower() for w in words):
            yield m.end()


def _ends(text: str) -> Iterator[int]:
    yield from _line_ends(text)
    for m in _END.finditer(text):
        if m.group(0).startswith("."):
            before = _WORD_BEFORE.search(text, max(0, m.start() - _WORD_REACH), m.end())
            if before and before.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
            if before and len(before.group(1)) == 1 and before.group(1).isupper():
                continue  # an initial: "A. Applicant"
        yield m.end()
    yield len(text)


def sentences(text: str, normaliser: Normaliser) -> Sequence[Sentence]:
    """The sentences of ``text``, in order (blank lines end a sentence too)."""
    out: list[Sentence] = []
    begin = 0
    for end in sorted(set(_ends(text))):
        chunk = text[begin:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append(_read(chunk.strip(), begin + lead, normaliser))
        begin = end
    return out


def sentence_at(read: Sequence[Sentence], start: int, end: int | None = None) -> str:
    """The sentence of ``read`` that holds message offset ``start`` (the sentences that hold
    ``start`` up to ``end``, when given), on one line."""
    stop = start + 1 if end is None else max(end, start + 1)
    return " ".join(s.quoted for s in read if s.start < stop and start < s.start + len(s.text))
