"""Preference signals (``signals.limit``): no more of a tier than the specialty allows.

The numbers live in ``fixtures/signals/<match-year>.toml`` (per specialty: the service,
the signals of each tier, the source); a year whose numbers are not verified is
``provisional``: a block says so, and ``now`` reports it (``signals_provisional``, from
:meth:`~prematch.policies.SeasonJudge.signals_provisional`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from prematch.engine import Window, fixtures_dir
from prematch.policies._context import Ask, Rule, Say, block, info, specialty_of

__all__ = ["SIGNALS_LIMIT", "SignalTable", "signal_table"]

TIERS = ("gold", "silver", "signal")


class SignalTable(NamedTuple):
    """The signal numbers of one Match year: per specialty (casefolded), tier -> count."""

    year: int
    provisional: bool
    provisional_because: str
    """Why the numbers are not verified (the file's ``provisional_because``)."""
    specialties: Mapping[str, Mapping[str, Any]]


@cache
def signal_table(match_year: int) -> SignalTable | None:
    """The table of ``match_year`` from ``fixtures/signals``, or ``None`` if none ships."""
    path = fixtures_dir() / "signals" / f"{match_year}.toml"
    if not path.exists():
        return None
    with path.open("rb") as f:
        data = tomllib.load(f)
    base = data.get("carried_over_from")
    if base is not None:  # an unverified year: an earlier year's numbers, marked as such
        earlier = signal_table(int(base))
        if earlier is None:
            raise FileNotFoundError(f"{path} carries over {base}, which is not in {path.parent}")
        note = f"; carried over to {match_year} unverified"
        data["specialties"] = {
            name: {**entry, "source": entry["source"] + note}
            for name, entry in earlier.specialties.items()
        }
    return SignalTable(
        match_year,
        bool(data.get("provisional", False)),
        str(data.get("provisional_because", "not verified")),
        {name.casefold(): entry for name, entry in data.get("specialties", {}).items()},
    )


def _limit(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    tier = ask.detail.get("tier", "signal")
    specialty = specialty_of(ask.state, p)
    key = specialty.strip().casefold()
    found: list[Say | Window] = []
    if p.signals:
        found.append(
            block(f"{p.name} already has your {p.signals[0]} signal; one per program", final=True)
        )
    table = signal_table(ask.state.match_year)
    entry = None if table is None else table.specialties.get(key)
    if table is None or entry is None:
        found.append(
            info(
                f"no signal numbers for {specialty} in the {ask.state.match_year} cycle are on "
                "file; check the application service's table"
            )
        )
        return found
    if tier not in entry:
        kinds = [t for t in TIERS if t in entry]
        tiers = ", ".join(f"{entry[t]} {t}" for t in kinds)
        found.append(
            block(
                f"{specialty} allows no {tier} signals in the {table.year} cycle "
                f"({entry['service']}: {tiers}); record which one this was "
                f"(--tier {'|'.join(kinds)})",
                final=True,
            )
        )
        return found
    allowed = int(entry[tier])
    sent = sum(
        q.signals.count(tier)
        for q in ask.state.programs.values()
        if specialty_of(ask.state, q).strip().casefold() == key
    )
    if sent >= allowed:
        tiers = ", ".join(f"{entry[t]} {t}" for t in TIERS if t in entry)
        caveat = " (provisional numbers: verify them)" if table.provisional else ""
        what = f"{allowed} {tier} signal" + ("s" if allowed != 1 else "")
        found.append(
            block(
                f"{specialty} allows {what} in the {table.year} cycle ({entry['service']}: "
                f"{tiers}){caveat}; you have sent {sent}. Source: {entry['source']}",
                final=True,
            )
        )
    return found


SIGNALS_LIMIT = Rule("signals.limit", "AAMC ERAS / ResidencyCAS preference signaling", _limit)
