"""Run ``prematch`` commands in this process, with a pinned clock: the suite's one CLI runner.

:class:`Script` invokes the click group (``from prematch.cli import main``) through
click's ``CliRunner``, in the script's folder and with the environment the console script
would get (``PREMATCH_DB``, ``PREMATCH_NOW``, ``NO_COLOR=1``, a private ``HOME``), so a
command costs milliseconds instead of a process start::

    script = Script(tmp_path)
    script.ok("init", ...)
    result = script("lint", "letter.txt", "--action", "interest")
    assert result.returncode == 1 and "content.rank_question" in result.stdout

A command's intended exit (``sys.exit``, a click usage error) is its ``returncode``; any
other exception escapes into the test and fails it, as a traceback of the real script
would. The commands that record a season come from :meth:`history.History.argv`. The
few tests where the process itself is the point (the wheel, concurrent
writers, SIGKILL, the console script's smoke test) start real processes instead.

Every JSON document a command prints (``--json`` of ``now``, ``status``, ``check``,
``audit``, ``history``, ``verify``, ``import`` and ``demo``; each line of ``export``) is validated
against its ``prematch schema --for`` shape (DESIGN §6), whatever the test asks of it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from prematch.cli import main
from prematch.engine import json_schema

NOW = "2027-01-15T09:00:00-05:00"
"""The default pinned clock: a January morning of the 2027 Match (New York time)."""


@dataclass(frozen=True)
class Ran:
    """What one command did, shaped like :class:`subprocess.CompletedProcess`."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def shown(self) -> str:
        """The command and both of its streams, for an assertion message."""
        return (
            f"prematch {' '.join(self.args)} (exit {self.returncode})\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


@contextlib.contextmanager
def _umask(mask: int | None) -> Iterator[None]:
    if mask is None:
        yield
        return
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


class Script:
    """``prematch`` against a database in ``tmp_path`` (or ``db``), run in ``tmp_path``.

    The environment is this process's minus every ``PREMATCH_*`` variable, plus
    ``PREMATCH_DB``, ``PREMATCH_NOW`` (``now``), ``NO_COLOR=1``, ``COLUMNS=200`` and a
    ``HOME`` / ``XDG_DATA_HOME`` inside ``tmp_path`` (the default database lands there).
    """

    def __init__(self, tmp_path: Path, *, now: str = NOW, db: Path | None = None) -> None:
        self.tmp = tmp_path
        self.db = db or tmp_path / "season.db"
        self.now = now

    def env(self) -> dict[str, str]:
        """The variables every command gets on top of this process's environment."""
        return {
            "PREMATCH_DB": str(self.db),
            "PREMATCH_NOW": self.now,
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "HOME": str(self.tmp / "home"),
            "XDG_DATA_HOME": str(self.tmp / "data"),
        }

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        unset: Sequence[str] = (),
        umask: int | None = None,
        code: int | None = None,
    ) -> Ran:
        """Run ``prematch ARGS``; ``env`` adds or replaces variables, ``unset`` removes
        some, ``umask`` applies while it runs; with ``code``, require that exit code."""
        variables: dict[str, str | None] = {
            name: None for name in os.environ if name.startswith("PREMATCH_")
        }
        variables.update(self.env())
        variables.update(env or {})
        variables.update(dict.fromkeys(unset))
        with contextlib.chdir(self.tmp), _umask(umask):
            result = CliRunner(catch_exceptions=False).invoke(
                main, list(args), input=stdin, env=variables, prog_name="prematch"
            )
        ran = Ran(tuple(args), result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in ran.stdout + ran.stderr, ran.shown()
        if ran.returncode in (0, 1, 3):
            for shape, document in json_documents(args, ran.stdout):
                problem = jsonschema.exceptions.best_match(validator(shape).iter_errors(document))
                assert problem is None, f"{shape} schema: {problem}\n{ran.shown()}"
        if code is not None:
            assert ran.returncode == code, f"expected exit {code}: {ran.shown()}"
        return ran

    def ok(self, *args: str, **kwargs: Any) -> Ran:
        """Run and require exit 0."""
        return self(*args, code=0, **kwargs)

    def json(self, *args: str, code: int | None = 0, **kwargs: Any) -> Any:
        """Run a command (exit ``code``, 0 unless told) and parse its output as one JSON
        document."""
        return json.loads(self(*args, code=code, **kwargs).stdout)

    def setup(self, steps: Sequence[Sequence[str]]) -> None:
        """Run each command of ``steps``, each required to succeed."""
        for step in steps:
            self.ok(*step)

    def copy_of(self, template: Path) -> Script:
        """This script, its database now a copy of ``template`` (and of its write-ahead
        log, if any): a season recorded once, for tests that each change it."""
        for suffix in ("", "-wal"):
            source = template.with_name(template.name + suffix)
            if source.exists():
                shutil.copy2(source, self.db.with_name(self.db.name + suffix))
        return self


GLOBAL_OPTIONS = frozenset({"--db", "--season"})
"""The group's options that take a value (they come before the command)."""

JSON_COMMANDS = frozenset({"now", "status", "check", "audit", "history", "verify", "import"})
"""The commands whose ``--json`` output is one document of the shape of their name."""


@functools.cache
def validator(shape: str) -> jsonschema.protocols.Validator:
    """A validator of ``prematch schema --for SHAPE`` (the schema itself checked once)."""
    schema = json_schema(shape)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def json_documents(args: Sequence[str], stdout: str) -> Iterator[tuple[str, Any]]:
    """The JSON documents ``prematch ARGS`` printed, each with its schema shape."""
    rest = list(args)
    while rest and rest[0] in GLOBAL_OPTIONS:
        del rest[:2]
    if not rest:
        return
    command, options = rest[0], rest[1:]
    as_json = "--json" in options or (
        command == "audit" and "--format" in options and "json" in options
    )
    if command == "export" and "--out" not in options and "--format" not in options:
        for line in stdout.splitlines():
            yield "export-line", json.loads(line)
    elif command == "demo" and as_json:
        both = json.loads(stdout)
        yield "now", both["now"]
        yield "audit", both["audit"]
    elif command == "audit" and as_json and "--summary" in options:
        yield "audit-summary", json.loads(stdout)
    elif command == "audit" and as_json and "--all" in options:
        for line in stdout.splitlines():
            yield "audit", json.loads(line)
    elif command in JSON_COMMANDS and as_json:
        yield command, json.loads(stdout)


def built(folder: Path, steps: Sequence[Sequence[str]], *, now: str = NOW) -> Path:
    """A database in ``folder`` holding what ``steps`` record (each must succeed), to
    copy into each test with :meth:`Script.copy_of`."""
    script = Script(folder, now=now)
    script.setup(steps)
    return script.db
