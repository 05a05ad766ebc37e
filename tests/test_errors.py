"""Errors say where they happened one way (``located``), and the CLI alone picks exit codes."""

from __future__ import annotations

import pickle

import pytest

from prematch.cli._errors import exit_code
from prematch.engine import (
    InputError,
    IntegrityError,
    PolicyRefusal,
    PrematchError,
    StoreBusyError,
    StructuralError,
    UnknownProgramError,
)
from prematch.engine._errors import located
from prematch.policies import Rulebook


def test_located_attaches_the_place_and_keeps_the_error() -> None:
    error = StructuralError("not possible", program="mercy", state="invited", event="thanked")
    with pytest.raises(StructuralError) as caught, located(seq=7, line=3):
        raise error
    assert caught.value is error
    assert (error.seq, error.line, error.field, error.program) == (7, 3, None, "mercy")
    assert str(error) == "line 3: not possible"


def _from_jsonl_line_2() -> None:
    with located(line=2):
        raise InputError("unreadable date", field="at")


def test_the_outer_block_names_the_line_and_keeps_the_inner_field() -> None:
    with pytest.raises(InputError) as caught, located(line=12):  # the CSV line it came from
        _from_jsonl_line_2()
    assert (caught.value.line, caught.value.field) == (12, "at")
    assert str(caught.value) == "line 12, field 'at': unreadable date"


def test_other_exceptions_pass_through_unlocated() -> None:
    with pytest.raises(KeyError), located(seq=1):
        raise KeyError("x")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("bad"), 2),
        (UnknownProgramError("who"), 2),
        (IntegrityError("not a store"), 2),
        (StoreBusyError("busy"), 2),
        (PrematchError("other"), 2),
        (StructuralError("impossible"), 3),
        (PolicyRefusal("blocked", []), 3),
    ],
)
def test_the_cli_maps_error_classes_to_exit_codes(error: PrematchError, code: int) -> None:
    assert exit_code(error) == code
    assert not hasattr(error, "exit_code")


def test_the_rulebook_pickles_without_any_season_in_it() -> None:
    """``audit --jobs`` sends it to each worker: rule tables only, no per-season cache."""
    rulebook = Rulebook(disable={"spam.gap"})
    copy = pickle.loads(pickle.dumps(rulebook))
    assert copy.disabled == rulebook.disabled
    assert set(vars(copy)) == {"disabled", "_asked", "_season", "_recorded", "_due"}
