"""Program wishes and NRMP rules (``program.no_contact``, ``nrmp.*``)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from functools import cache

from prematch.engine import Window, fixtures_dir
from prematch.policies._context import GUIDE, NRMP, Ask, Rule, Say, block, warn

__all__ = ["ALL_IN", "ASKED_RANK", "NO_CONTACT", "SOAP_INITIATION", "specialty_allows_contact"]


@cache
def _specialties() -> dict[str, bool]:
    with (fixtures_dir() / "specialties.toml").open("rb") as f:
        data = tomllib.load(f)
    return {
        name.casefold(): bool(entry.get("post_interview_contact", True))
        for name, entry in data.get("specialties", {}).items()
    }


@cache
def specialty_allows_contact(specialty: str) -> bool:
    """The specialty default from ``fixtures/specialties.toml`` (matched case-insensitively)."""
    return _specialties().get(specialty.strip().casefold(), True)


def _no_contact(ask: Ask) -> Iterator[Say | Window]:
    p = ask.target
    if p.interviewed_at is None:
        return
    if p.no_post_interview_contact is None:
        specialty = p.specialty or ask.state.specialty
        forbidden = not specialty_allows_contact(specialty)
        why = f"{specialty} programs ask for no post-interview contact by default"
    else:
        forbidden = p.no_post_interview_contact
        why = f"{p.name} asked for no contact after the interview"
    if not forbidden:
        return
    if ask.action == "update":
        yield warn(f"{why}; send an update only if the news could change their decision")
    else:
        yield block(f"{why}; respect it")


def _soap(ask: Ask) -> Iterator[Say | Window]:
    cal = ask.frame.calendar
    if not cal.match_week_start <= ask.at < cal.soap_end:
        return
    if not any(at >= cal.match_week_start for at in ask.target.soap_contacts):
        yield block(
            f"Match Week: until SOAP ends ({ask.when(cal.soap_end)}) you may not start contact "
            f"with a program unless it contacted you first during SOAP"
        )


def _asked_rank(ask: Ask) -> Iterator[Say | Window]:
    d = ask.detail
    if d.get("asked_rank") or d.get("offered_commitment"):
        what = "asked how you will rank it" if d.get("asked_rank") else "asked for a commitment"
        yield warn(
            f"{ask.target.name} {what}: you need not answer, and you may report it to the NRMP"
        )


def _all_in(ask: Ask) -> Iterator[Say | Window]:
    if ask.detail.get("kind") == "pre_match_contract" and ask.target.nrmp_participating:
        yield warn(
            f"{ask.target.name} takes part in the Match: under the All In policy it may "
            "not offer a contract outside it; seek advice (advisor, ECFMG, NRMP) before "
            "signing anything"
        )


NO_CONTACT = Rule("program.no_contact", GUIDE, _no_contact)
SOAP_INITIATION = Rule("nrmp.soap_initiation", NRMP, _soap)
ASKED_RANK = Rule("nrmp.program_asked_rank", NRMP, _asked_rank)
ALL_IN = Rule("nrmp.all_in", NRMP, _all_in)
