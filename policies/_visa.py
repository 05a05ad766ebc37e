"""Visa fit (``visa.mismatch``): applying to or ranking a program that will not sponsor you."""

from __future__ import annotations

from collections.abc import Sequence

from prematch.engine import ProgramState, SeasonState, Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, warn

__all__ = ["VISA_MISMATCH", "mismatch"]

_NEEDS_SPONSOR = {"j1", "h1b"}


def mismatch(state: SeasonState, program: ProgramState) -> bool:
    """Whether the program's known sponsorship excludes the applicant's visa."""
    return (
        state.visa in _NEEDS_SPONSOR
        and program.sponsors_visas is not None
        and state.visa not in program.sponsors_visas
    )


def _check(ask: Ask) -> Sequence[Say | Window]:
    state = ask.state
    if state.visa not in _NEEDS_SPONSOR:
        return ()  # no sponsorship excludes it (every application of such a season)
    if ask.program is not None:
        programs = [ask.program]
    else:
        programs = [
            state.programs[pid] for pid in ask.detail.get("order", ()) if pid in state.programs
        ]
    found: list[Say | Window] = []
    for p in programs:
        if mismatch(state, p):
            visa = state.visa.upper().replace("J1", "J-1").replace("H1B", "H-1B")
            sponsors = ", ".join(p.sponsors_visas or ()) or "no visas"
            found.append(
                warn(
                    f"{p.name} sponsors {sponsors}, not your {visa}; confirm its policy "
                    "(website, FREIDA, or a short email to the coordinator)",
                    program=None if ask.program is not None else p.id,
                )
            )
    return found


VISA_MISMATCH = Rule("visa.mismatch", GUIDE, _check)
