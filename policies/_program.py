"""Program wishes and NRMP rules (``program.*``, ``nrmp.*``, ``rank.non_nrmp``,
``offer.outside_match``)."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from functools import cache

from prematch.engine import ProgramState, SeasonState, Window, fixtures_dir
from prematch.policies._context import (
    GUIDE,
    NRMP,
    Ask,
    Rule,
    Say,
    block,
    info,
    specialty_of,
    warn,
)

__all__ = [
    "ALL_IN",
    "ASKED_RANK",
    "NON_NRMP",
    "NO_CONTACT",
    "OUTSIDE_MATCH",
    "SOAP_INITIATION",
    "SPECIALTY_SOURCE",
    "THANKS_DISCOURAGED",
    "no_contact_reason",
    "specialty_allows_contact",
    "specialty_expects_thanks",
    "specialty_table",
]


SPECIALTY_SOURCE = "the specialty's recommendations, as fixtures/specialties.toml names them"
"""The source of ``program.thanks_discouraged``: each finding cites the specialty's own
(its ``source`` there), this only where an entry names none."""


@cache
def specialty_table() -> dict[str, dict[str, object]]:
    """The specialty defaults of ``fixtures/specialties.toml``, by casefolded name."""
    with (fixtures_dir() / "specialties.toml").open("rb") as f:
        data = tomllib.load(f)
    return {name.casefold(): entry for name, entry in data.get("specialties", {}).items()}


@cache
def specialty_allows_contact(specialty: str) -> bool:
    """The specialty default from ``fixtures/specialties.toml`` (matched case-insensitively)."""
    entry = specialty_table().get(specialty.strip().casefold(), {})
    return bool(entry.get("post_interview_contact", True))


@cache
def specialty_expects_thanks(specialty: str) -> tuple[bool, str]:
    """Whether the specialty expects thank-you notes (``thank_you_expected`` in
    ``fixtures/specialties.toml``, default true), and the source that says so."""
    entry = specialty_table().get(specialty.strip().casefold(), {})
    return bool(entry.get("thank_you_expected", True)), str(entry.get("source", ""))


def no_contact_reason(state: SeasonState, p: ProgramState) -> str | None:
    """Why ``p`` wants no contact after the interview (its own word, else its specialty's
    default), or ``None`` if it does not say so."""
    if p.no_post_interview_contact is None:
        specialty = specialty_of(state, p)
        if specialty_allows_contact(specialty):
            return None
        return f"{specialty} programs ask for no post-interview contact by default"
    if p.no_post_interview_contact:
        return f"{p.name} asked for no contact after the interview"
    return None


def _no_contact(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    if p.interviewed_at is None:
        return ()
    why = no_contact_reason(ask.state, p)
    if why is None:
        return ()
    if ask.action == "update":
        return (warn(f"{why}; send an update only if the news could change their decision"),)
    return (block(f"{why}; respect it", final=True),)


def _soap(ask: Ask) -> Sequence[Say | Window]:
    cal = ask.frame.calendar
    if not cal.match_week_start <= ask.at < cal.soap_end:
        return ()
    if ask.detail.get("initiated_by") == "program":  # a call the program started
        return ()
    if any(at >= cal.match_week_start for at in ask.target.soap_contacts):
        return ()
    who = (
        f"{ask.detail['advocate']} may not start contact for you"
        if ask.action == "advocate_contacted"
        else "you may not start contact"
    )
    return (
        block(
            f"Match Week: until SOAP ends ({ask.when(cal.soap_end)}) {who} "
            f"with a program unless it contacted you first during SOAP"
        ),
    )


def _asked_rank(ask: Ask) -> Sequence[Say | Window]:
    d = ask.detail
    if not (d.get("asked_rank") or d.get("offered_commitment")):
        return ()
    what = "asked how you will rank it" if d.get("asked_rank") else "asked for a commitment"
    return (
        warn(f"{ask.target.name} {what}: you need not answer, and you may report it to the NRMP"),
    )


def _all_in(ask: Ask) -> Sequence[Say | Window]:
    if ask.detail.get("kind") != "pre_match_contract" or not ask.target.nrmp_participating:
        return ()
    return (
        warn(
            f"{ask.target.name} takes part in the Match: under the All In policy it may "
            "not offer a contract outside it; seek advice (advisor, ECFMG, NRMP) before "
            "signing anything"
        ),
    )


def _non_nrmp(ask: Ask) -> Sequence[Say | Window]:
    programs = ask.state.programs
    listed = [programs[pid] for pid in ask.detail.get("order", ()) if pid in programs]
    return [
        block(
            f"{p.name} does not take part in the NRMP Match, so it cannot be on your rank "
            "list; take it off (its offers come outside the Match)",
            program=p.id,
        )
        for p in listed
        if not p.nrmp_participating
    ]


def _outside_match(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    kind = ask.detail.get("kind")
    if kind == "pre_match_contract" and not p.nrmp_participating:
        return (
            warn(
                f"{p.name} is outside the Match: verify that it really does not take part, "
                "read your Match Participation Agreement, and seek advice (advisor, ECFMG) "
                "before signing; a binding contract conflicts with the Match if you stay in it"
            ),
        )
    cal = ask.frame.calendar
    if kind != "soap_offer" or cal.match_week_start <= ask.at <= cal.soap_end:
        return ()
    return (
        warn(
            f"a SOAP offer outside Match Week (SOAP runs {ask.when(cal.match_week_start)} "
            f"to {ask.when(cal.soap_end)}): check the date, and that it came through the "
            "NRMP's system"
        ),
    )


def _thanks_discouraged(ask: Ask) -> Sequence[Say | Window]:
    specialty = specialty_of(ask.state, ask.target)
    expected, source = specialty_expects_thanks(specialty)
    if expected:
        return ()
    return (
        info(
            f"{specialty} programs are asked to tell interviewees that thank-you notes are "
            "not expected; one short note is fine, none is fine too",
            source=source,
        ),
    )


NO_CONTACT = Rule("program.no_contact", GUIDE, _no_contact)
SOAP_INITIATION = Rule("nrmp.soap_initiation", NRMP, _soap)
ASKED_RANK = Rule("nrmp.program_asked_rank", NRMP, _asked_rank)
ALL_IN = Rule("nrmp.all_in", NRMP, _all_in)
NON_NRMP = Rule("rank.non_nrmp", NRMP, _non_nrmp)
OUTSIDE_MATCH = Rule("offer.outside_match", NRMP, _outside_match)
THANKS_DISCOURAGED = Rule(
    "program.thanks_discouraged", SPECIALTY_SOURCE, _thanks_discouraged, advice=True
)
