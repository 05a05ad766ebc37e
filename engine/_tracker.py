"""A tracking sheet taken in once (``prematch import tracker.csv``), and the program ids a
sheet's names give.

A sheet is read by one reader, sync's (:mod:`prematch.engine._sheet` and
:mod:`prematch.engine._sync`): the same columns and synonyms, the same dates (``--dayfirst``
/ ``--monthfirst`` when a column does not tell), ``.csv`` or ``.xlsx``, every bad cell at
once. :func:`import_tracker` is :func:`~prematch.engine._sync.sync_sheet` into a season,
all or nothing, with an import's result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from prematch.engine._intake import name_slug
from prematch.engine._transfer import ImportResult

if TYPE_CHECKING:
    from prematch.engine._season import Season
    from prematch.engine._sheet import Order

__all__ = ["import_tracker", "program_id"]


def program_id(name: str, existing: Mapping[str, str] | None = None) -> str:
    """A program id from its name: lowercase words joined by ``-``, accents dropped, at
    most 64 characters (see :func:`name_slug`): ``Hôpital Général`` -> ``hopital-general``.

    ``existing`` maps a season's program ids to their names: a program there keeps the id
    that earlier versions made from the same name (they dropped every letter but a-z:
    ``h-pital-g-n-ral``, and ``program`` for a name without any).
    """
    earlier = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-") or "program"
    if existing and earlier in existing and (earlier != "program" or existing[earlier] == name):
        return earlier
    return name_slug(name, 64, "program")


def import_tracker(
    season: Season,
    source: str | Path,
    *,
    allow_violations: bool = False,
    order: Order | None = None,
    sheet: str | None = None,
) -> ImportResult:
    """Take a tracking sheet (``.csv`` or ``.xlsx``) into ``season``, read as ``sync``
    reads it: what the season does not hold yet, or (on any problem) nothing.

    Raises what :func:`~prematch.engine._sync.sync_sheet` raises (every bad cell by row
    and column; every refused row)."""
    from prematch.engine._sync import sync_sheet  # it uses program_id

    done = sync_sheet(
        season, Path(source), sheet=sheet, order=order, allow_violations=allow_violations
    )
    return done.imported or ImportResult(0, (season.id,), 0, 0)
