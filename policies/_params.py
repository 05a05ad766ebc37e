"""The rulebook's numbers: defaults from ``defaults.toml``, overridden per season."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from prematch.engine import InputError, fixtures_dir

__all__ = ["Params", "default_params", "params_for"]

Params = Mapping[str, int]
"""Flat ``family.name -> number`` mapping, e.g. ``params["spam.gap_days"]``."""


@cache
def default_params() -> Params:
    """The defaults shipped with prematch (``fixtures/rulebook/defaults.toml``)."""
    with (fixtures_dir() / "rulebook" / "defaults.toml").open("rb") as f:
        data = tomllib.load(f)
    flat = {
        f"{family}.{name}": int(value)
        for family, table in data.items()
        for name, value in table.items()
    }
    return MappingProxyType(flat)


@cache
def _merged(overrides: tuple[tuple[str, float | int], ...]) -> Params:
    base = dict(default_params())
    for key, value in overrides:
        if key not in base:
            raise InputError(
                f"unknown policy parameter {key!r}; known: {', '.join(sorted(base))}",
                field="policy",
            )
        if value != int(value) or value < 0:
            raise InputError(f"policy parameter {key!r} must be a whole number ≥ 0", field="policy")
        base[key] = int(value)
    return MappingProxyType(base)


def params_for(overrides: Mapping[str, float | int] | None) -> Params:
    """The defaults with a season's overrides applied."""
    return _merged(tuple(sorted((overrides or {}).items())))
