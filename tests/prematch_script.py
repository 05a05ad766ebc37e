"""Run the installed ``prematch`` console script for real, with a pinned clock.

Used by the tests of issue 6 (draft, lint, calendar, tracker import, html audit)::

    script = Script(tmp_path)
    script.ok("init", ...)
    result = script("lint", "letter.txt", "--action", "interest")
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PREMATCH = Path(sys.executable).parent / "prematch"

NOW = "2027-01-15T09:00:00-05:00"
"""The default pinned clock: a January morning of the 2027 Match (New York time)."""


def init_args(
    name: str = "Test Applicant",
    *extra: str,
    timezone: str = "America/New_York",
    at: str = "2026-09-20T10:00:00-04:00",
) -> tuple[str, ...]:
    """``prematch init`` of a 2027 Internal Medicine J-1 season (New York, started on
    20 September 2026, unless told otherwise); ``extra`` options go before ``--at``."""
    return (
        "init",
        "--match-year",
        "2027",
        "--specialty",
        "Internal Medicine",
        "--timezone",
        timezone,
        "--visa",
        "j1",
        "--name",
        name,
        *extra,
        "--at",
        at,
    )


INIT = init_args("Test Applicant", "--aamc-id", "12345678", "--ecfmg-id", "0-123-456-7")
"""The default season: ids included, as an applicant's profile would have them."""

PROGRAM_NAMES = {"mercy": "Mercy General IM", "oak": "Oak Valley IM", "pine": "Pine Ridge IM"}


def added_and_applied(*programs: str) -> tuple[tuple[str, ...], ...]:
    """Steps adding each program (21 September) and applying to it (25 September),
    five minutes apart, in New York time; names from :data:`PROGRAM_NAMES`."""
    added = tuple(
        (
            "program",
            "add",
            pid,
            "--name",
            PROGRAM_NAMES[pid],
            "--at",
            f"2026-09-21T10:{5 * n:02d}:00-04:00",
        )
        for n, pid in enumerate(programs)
    )
    applied = tuple(
        ("log", "applied", pid, "--at", f"2026-09-25T10:{5 * n:02d}:00-04:00")
        for n, pid in enumerate(programs)
    )
    return added + applied


class Script:
    """The ``prematch`` script against a database in ``tmp_path``."""

    def __init__(self, tmp_path: Path, *, now: str = NOW) -> None:
        self.tmp = tmp_path
        self.db = tmp_path / "season.db"
        self.now = now

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREMATCH_")}
        env.update(PREMATCH_DB=str(self.db), PREMATCH_NOW=self.now, NO_COLOR="1", **extra)
        return env

    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(PREMATCH), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env or self.env(),
            timeout=120,
            cwd=self.tmp,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def ok(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run and require exit 0."""
        result = self(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def setup(self, steps: Sequence[Sequence[str]]) -> None:
        """Run each command of ``steps``, each required to succeed."""
        for step in steps:
            self.ok(*step)
