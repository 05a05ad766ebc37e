"""Where the bundled data (calendars, specialty defaults, demo season) lives."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["fixtures_dir"]


@cache
def fixtures_dir() -> Path:
    """The ``fixtures/`` folder: inside the installed wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "fixtures", here.parent / "fixtures"):
        if (candidate / "calendars").is_dir():
            return candidate
    raise FileNotFoundError(f"prematch's fixtures/ folder is missing (looked beside {here})")
