"""verify's compiled quick pass (``engine/_chain_accel.c``) never changes a verdict.

The quick pass only skips rows that plainly hold and hands every other row to the Python
walk. These tests hold the two walks equal on chains of rows as a backend returns them,
honest or changed in any field (text that needs JSON escapes, ``None``, numbers, bytes,
bools, huge integers, forged and upper-case hashes, wrong heads), and check that the pass
really passes plain rows, so that ``verify`` gains its rate (DESIGN §9) and not just a
detour. ``tests/test_tamper.py`` runs every hand edit through both walks as well.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prematch.engine import _chain
from prematch.engine._chain import GENESIS_HASH, link_hash
from prematch.engine._mapper import hashed_json

accel = pytest.importorskip(
    "prematch.engine._chain_accel", reason="built without a C compiler or OpenSSL's headers"
)

Row = tuple[Any, ...]

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
"""Any text a backend can give back: quotes, backslashes, control characters, non-ASCII."""
_PLAIN = st.text(
    st.characters(min_codepoint=0x20, exclude_characters='"\\', exclude_categories=("Cs",)),
    max_size=12,
)
"""Text whose JSON is itself between quotes (the rows the quick pass takes on itself)."""
_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.binary(max_size=4),
    _TEXT,
)
"""A value that may stand in any column after a hand edit."""


def chain(fields: list[list[Any]], start: int = 0, previous: str = GENESIS_HASH) -> list[Row]:
    """The rows of honest appends of ``fields`` (season .. override, without seq), each
    hashed over its predecessor, numbered from ``start`` + 1."""
    rows = []
    for seq, (season, program, kind, version, occurred, recorded, payload, override) in enumerate(
        fields, start + 1
    ):
        text = hashed_json(
            seq, season, program, kind, version, occurred, recorded, payload, override
        )
        previous = link_hash(previous, text)
        rows.append(
            (seq, season, program, kind, version, occurred, recorded, payload, override, previous)
        )
    return rows


def _event(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[Any]]:
    payload = st.dictionaries(text, st.one_of(text, st.integers(), st.booleans()), max_size=3)
    return st.lists(
        st.tuples(
            text,
            st.none() | text,
            text,
            st.integers(1, 3),
            text,
            text,
            payload.map(
                lambda p: json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            ),
            st.none() | text,
        ).map(list),
        min_size=1,
        max_size=6,
    )


@st.composite
def changed_chain(draw: st.DrawFn) -> tuple[list[Row], int, dict[int, str], int]:
    """Rows of an honest chain, some then changed; the seq before the first; noted heads;
    the newest committed seq."""
    start = draw(st.integers(0, 3))
    rows = [list(r) for r in chain(draw(_event(_TEXT)), start)]
    for _ in range(draw(st.integers(0, 3))):
        where, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, 9))
        change = draw(st.sampled_from(["value", "upper", "rehash"]))
        if change == "value":
            rows[where][column] = draw(_ODD)
        elif change == "upper" and isinstance(rows[where][9], str):
            rows[where][9] = rows[where][9].upper()
        elif change == "rehash":  # a forger's hash over the row as it now stands
            previous = rows[where - 1][9] if where else GENESIS_HASH
            with contextlib.suppress(TypeError):  # a field hashed_json cannot write
                rows[where][9] = link_hash(previous, hashed_json(*rows[where][:9]))
    seqs = range(start + 1, start + len(rows) + 1)
    heads = {
        seq: draw(st.sampled_from([rows[seq - start - 1][9], "f" * 64]))
        for seq in draw(st.lists(st.sampled_from(seqs), max_size=3))
    }
    committed = start + len(rows) + draw(st.integers(-2, 1))
    return [tuple(r) for r in rows], start, heads, committed


@given(changed_chain())
def test_the_quick_pass_gives_the_python_walks_verdict(
    case: tuple[list[Row], int, dict[int, str], int],
) -> None:
    rows, start, heads, committed = case
    walked = _chain._walk(rows, start, GENESIS_HASH, heads, committed)
    assert walked == _chain._walk_each(rows, start, GENESIS_HASH, heads, committed)


@given(changed_chain())
def test_every_row_the_quick_pass_passes_holds_in_python(
    case: tuple[list[Row], int, dict[int, str], int],
) -> None:
    rows, start, heads, committed = case
    count, previous, stopped = accel.skip_holding(iter(rows), start, GENESIS_HASH, heads, committed)
    passed = rows[: count - start]
    assert _chain._walk_each(passed, start, GENESIS_HASH, heads, committed) == (
        count,
        previous,
        None,
        True,
    )
    assert stopped == (rows[count - start] if count - start < len(rows) else None)


@given(_event(_PLAIN), st.integers(0, 5))
def test_the_quick_pass_takes_plain_rows_on_itself(fields: list[list[Any]], start: int) -> None:
    """Rows whose text needs no escapes are passed in C, to the end: none goes to Python."""
    rows = chain(fields, start)
    heads = {rows[-1][0]: rows[-1][9]}
    got = accel.skip_holding(iter(rows), start, GENESIS_HASH, heads, rows[-1][0])
    assert got == (rows[-1][0], rows[-1][9], None)


def test_the_quick_pass_hands_back_a_row_that_needs_escapes() -> None:
    """A quote in a field: the pass stops there, and the Python walk passes the row."""
    rows = chain(
        [
            ["s-2027", None, "season_started", 1, "2026-09-20", "2026-09-20", "{}", None],
            [
                "s-2027",
                'St. Mary\'s "North"',
                "program_added",
                1,
                "2026-09-21",
                "2026-09-21",
                "{}",
                None,
            ],
            ["s-2027", "p", "news_recorded", 1, "2026-09-22", "2026-09-22", '{"a":"\\n"}', None],
        ]
    )
    assert accel.skip_holding(iter(rows), 0, GENESIS_HASH, {}, 3) == (1, rows[0][9], rows[1])
    assert _chain._walk(rows, 0, GENESIS_HASH, {}, 3) == (3, rows[2][9], None, True)


def test_verify_uses_the_quick_pass_when_it_is_built() -> None:
    assert _chain.ACCELERATED and _chain._skip_holding is accel.skip_holding
