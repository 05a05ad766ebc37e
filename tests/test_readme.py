"""The README's ```console examples are true: run them, compare what they print.

Every fenced block tagged ``console`` in README.md is a transcript: lines starting with
``$ `` are commands (a trailing ``\\`` continues one on the next line), the other lines are
what they print. All blocks run in order, in one shared temporary folder, against one
database (``PREMATCH_DB=<tmp>/readme.db``), as through ``bash -c`` with the
project venv's ``bin`` first on ``PATH``. The clock is pinned by the last
``<!-- PREMATCH_NOW=... -->`` comment before the block (a block with none before it runs
on the real clock). Output is plain (``NO_COLOR=1``) and ``COLUMNS=100`` wide, so tables
wrap as they do in the README.

A plain ``prematch`` command (words only) runs in process through
:class:`prematch_script.Script`, with that same environment; anything with shell syntax
(a redirect, a pipe, ``printf``) runs through ``bash -c`` as a real subprocess.

A command must exit 0, or the code its trailing comment names (``$ prematch check ...  #
exit 3``). Every output line shown under it must appear among the lines it printed
(standard output and error, trailing whitespace ignored); a line that is exactly ``...``
and blank lines are not compared.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prematch_script import Script

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
VENV_BIN = Path(sys.executable).parent
COLUMNS = "100"
"""The terminal width the README's transcripts were taken at (rich tables wrap to it)."""

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*console\b[^`]*$")
SHELL_SYNTAX = set("<>|;&$`*?~(){}[]!\\")
"""Characters that make a command the shell's to run (redirects, pipes, expansions...)."""
_NOW_COMMENT = re.compile(r"<!--\s*PREMATCH_NOW\s*=\s*(?P<now>\S+?)\s*-->")
_EXIT_COMMENT = re.compile(r"(?:^|\s)#\s*exit\s+(?P<code>\d+)\s*$")


@dataclass
class Command:
    """One ``$ `` command of a console block and the output lines shown under it."""

    line: int
    text: str
    code: int = 0
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A ```console block: where it starts, its clock, its commands."""

    line: int
    now: str | None
    commands: list[Command] = field(default_factory=list)


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip()


def console_blocks(text: str) -> list[Block]:
    """Parse every ```console block of a markdown text (see the module docstring)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    now: str | None = None
    i = 0
    while i < len(lines):
        for match in _NOW_COMMENT.finditer(lines[i]):
            now = match.group("now")
        opened = _FENCE_OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence = opened.group("indent"), opened.group("fence")
        block = Block(line=i + 1, now=now)
        i += 1
        current: Command | None = None
        continuing = False
        while i < len(lines):
            raw = _dedent(lines[i], indent)
            if raw.strip().startswith(fence[0] * len(fence)) and not raw.strip().strip(fence[0]):
                break
            if continuing and current is not None:
                part = raw[2:] if raw.startswith("> ") else raw
                current.text += "\n" + part
                continuing = part.rstrip().endswith("\\")
            elif raw.startswith("$ "):
                current = Command(line=i + 1, text=raw[2:])
                block.commands.append(current)
                continuing = raw.rstrip().endswith("\\")
            elif current is None:
                if raw.strip():
                    raise ValueError(
                        f"README.md line {i + 1}: output {raw!r} shown before any `$ ` command"
                    )
            else:
                current.shown.append(raw.rstrip())
            i += 1
        else:
            raise ValueError(f"README.md line {block.line}: ```console block never closed")
        for command in block.commands:
            found = _EXIT_COMMENT.search(command.text.splitlines()[-1])
            if found:
                command.code = int(found.group("code"))
        blocks.append(block)
        i += 1
    return blocks


def compared(shown: list[str]) -> list[str]:
    """The shown lines that are compared: not ``...``, not blank."""
    return [line for line in shown if line.strip() and line != "..."]


def missing_lines(shown: list[str], output: str) -> list[str]:
    """The compared shown lines that are not among the output's lines."""
    actual = {line.rstrip() for line in output.splitlines()}
    return [line for line in compared(shown) if line not in actual]


def readme_blocks() -> list[Block]:
    assert README.is_file(), f"{README} is missing"
    blocks = [b for b in console_blocks(README.read_text(encoding="utf-8")) if b.commands]
    if not blocks:
        pytest.fail(
            "README.md has no ```console block with a `$ ` command; the README must show a "
            "tour as console transcripts (see tests/test_readme.py), e.g.\n"
            "<!-- PREMATCH_NOW=2027-01-15T09:00:00-05:00 -->\n```console\n"
            "$ prematch init --match-year 2027 ...\nSeason ... started.\n```"
        )
    return blocks


# -- the README -------------------------------------------------------------------------


def test_readme_has_console_examples() -> None:
    blocks = readme_blocks()
    assert sum(len(b.commands) for b in blocks) >= 1


def in_process(text: str) -> list[str] | None:
    """The arguments of a plain ``prematch`` command (words only, no shell syntax), to run
    in process; ``None`` for anything the shell must run (redirects, pipes, ``printf``)."""
    text = text.replace("\\\n", "")
    if any(c in text for c in SHELL_SYNTAX):
        return None
    words = shlex.split(text, comments=True)
    return words[1:] if words[:1] == ["prematch"] else None


def test_readme_console_examples_run_as_shown(tmp_path: Path) -> None:
    blocks = readme_blocks()
    work = tmp_path / "work"
    work.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREMATCH_")}
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TERM"):
        base.pop(name, None)
    base.update(
        PREMATCH_DB=str(work / "readme.db"),
        PATH=f"{VENV_BIN}{os.pathsep}{base.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        NO_COLOR="1",
        COLUMNS=COLUMNS,
    )
    script = Script(work, db=work / "readme.db")
    problems: list[str] = []
    for block in blocks:
        env = dict(base)
        if block.now is not None:
            env["PREMATCH_NOW"] = block.now
        for command in block.commands:
            args = in_process(command.text)
            if args is None:
                proc = subprocess.run(
                    ["bash", "-c", command.text],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                code, output = proc.returncode, proc.stdout + proc.stderr
            else:
                unset = [n for n in (*os.environ, "PREMATCH_NOW") if n not in env]
                ran = script(*args, env=env, unset=unset)
                code, output = ran.returncode, ran.stdout + ran.stderr
            wrong: list[str] = []
            if code != command.code:
                wrong.append(f"exit {code}, README says {command.code}")
            if "Traceback" in output:
                wrong.append("printed a Python traceback")
            absent = missing_lines(command.shown, output)
            if absent:
                wrong.append("lines shown in the README but not printed:")
                wrong.extend(f"    | {line}" for line in absent)
            if wrong:
                problems.append(
                    f"README.md line {command.line} (block at line {block.line}, "
                    f"PREMATCH_NOW={block.now}):\n  $ {command.text}\n  "
                    + "\n  ".join(wrong)
                    + "\n  actual output:\n"
                    + "".join(f"    | {line}\n" for line in output.splitlines())
                )
    if problems:
        pytest.fail(
            f"{len(problems)} README command(s) do not behave as shown:\n\n" + "\n".join(problems),
            pytrace=False,
        )


# -- the harness itself -----------------------------------------------------------------

SAMPLE = """\
# Title

<!-- PREMATCH_NOW=2027-01-01T09:00:00-05:00 -->
Some text. <!-- PREMATCH_NOW=2027-01-15T09:00:00-05:00 -->

```console
$ prematch init --match-year 2027 \\
    --name "A B"
Season a-b-2027 started.
...
$ prematch check interest x  # exit 3
interest → x: blocked

```

```sh
$ not a console block
```

- In a list:

  ```console
  $ echo hi
  hi
  ```
"""


def test_parser_reads_commands_continuations_exit_codes_and_clock() -> None:
    first, second = console_blocks(SAMPLE)
    assert first.now == "2027-01-15T09:00:00-05:00"  # the last comment before the block wins
    init, check = first.commands
    assert init.text == 'prematch init --match-year 2027 \\\n    --name "A B"'
    assert init.code == 0
    assert init.shown == ["Season a-b-2027 started.", "..."]
    assert compared(init.shown) == ["Season a-b-2027 started."]
    assert check.code == 3
    assert check.shown == ["interest → x: blocked", ""]
    assert second.now == first.now
    assert [(c.text, c.shown) for c in second.commands] == [("echo hi", ["hi"])]


def test_continuation_runs_as_one_command(tmp_path: Path) -> None:
    (command,) = console_blocks("```console\n$ echo one \\\n> two\none two\n```\n")[0].commands
    proc = subprocess.run(
        ["bash", "-c", command.text], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert missing_lines(command.shown, proc.stdout) == []


def test_only_plain_prematch_commands_run_in_process() -> None:
    plain = "prematch log applied x --at 2026-09-24"
    assert in_process(plain) == ["log", "applied", "x", "--at", "2026-09-24"]
    continued = 'prematch init --name "A B" \\\n    --at 2026-09-20  # exit 3'
    assert in_process(continued) == ["init", "--name", "A B", "--at", "2026-09-20"]
    assert in_process("prematch draft thank_you x > thanks.txt") is None
    assert in_process("printf 'Dear Dr. Lee,\\n' > pushy.txt") is None
    assert in_process("echo hi") is None


def test_comparison_ignores_trailing_spaces_and_ellipsis() -> None:
    shown = ["│ a │ b │", "...", "", "Done."]
    assert missing_lines(shown, "header\n│ a │ b │      \nDone.\n") == []
    assert missing_lines(shown, "│ a │ b │\n") == ["Done."]


def test_parser_rejects_output_before_any_command() -> None:
    with pytest.raises(ValueError, match="before any"):
        console_blocks("```console\nstray output\n```\n")


def test_parser_rejects_an_unclosed_block() -> None:
    with pytest.raises(ValueError, match="never closed"):
        console_blocks("```console\n$ echo hi\n")


def test_readme_state_diagram_is_what_prematch_diagram_prints() -> None:
    from prematch.engine import mermaid

    match = re.search(r"```mermaid\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert match, "README.md has no ```mermaid block with the state diagram"
    assert match.group(1) == mermaid(), "regenerate it with `prematch diagram`"
