"""The wheel, installed into a fresh venv, runs on its own (bundled fixtures, console script).

Builds the project's wheel with ``python -m build``, installs it into a new virtual
environment (its dependencies come from the package registry), and runs the installed
``prematch`` from a folder outside the repository, so nothing of the source tree is used.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from prematch.engine import _chain

REPO = Path(__file__).resolve().parent.parent


def run(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, stderr: Path | None = None
) -> str:
    """Run a command; on failure, fail the test with its output. Its standard error goes
    to ``stderr`` too, when given."""
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
            f"\n--- stderr\n{proc.stderr}"
        )
    if stderr is not None:
        stderr.write_text(proc.stderr)
    return proc.stdout


def clean_env(home: Path | None = None) -> dict[str, str]:
    """The environment minus anything that could point back at the repository or its venv.

    With ``home``, the user's folders move there too (for running ``prematch``); without,
    they stay (``build`` and ``pip`` keep the user's registry configuration).
    """
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PREMATCH_")}
    if home is not None:
        env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    env.update(NO_COLOR="1", COLUMNS="200")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the freshly built wheel installed; returns its bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    env = clean_env()
    run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        cwd=REPO,
        env=env,
        stderr=root / "build.stderr",
    )
    wheels = sorted(dist.glob("prematch-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {dist}: {wheels}"
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=root, env=env)
    bin_dir = venv / "bin"
    run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            str(wheels[0]),
        ],
        cwd=root,
        env=env,
    )
    return bin_dir


def test_installed_wheel_runs_help_and_demo(
    installed: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = clean_env(tmp_path_factory.mktemp("home"))
    env["PATH"] = f"{installed}{os.pathsep}{env.get('PATH', '')}"
    assert not tmp_path.resolve().is_relative_to(REPO)

    # The code that runs is the installed copy, not the source tree.
    where = run(
        [
            str(installed / "python"),
            "-c",
            "import prematch.cli as c, prematch.engine as e, prematch.policies as p; "
            "print(e.__file__); print(c.__file__); print(p.__file__)",
        ],
        cwd=tmp_path,
        env=env,
    )
    for line in where.splitlines():
        assert Path(line).resolve().is_relative_to(installed.parent.resolve()), line
        assert not Path(line).resolve().is_relative_to(REPO), line

    prematch = str(installed / "prematch")
    help_text = run([prematch, "--help"], cwd=tmp_path, env=env)
    assert "Usage:" in help_text and "demo" in help_text

    demo = run([prematch, "demo"], cwd=tmp_path, env=env)
    assert "Audit of" in demo

    # The demo uses a temporary database: nothing is left in the working folder.
    assert list(tmp_path.iterdir()) == []


def test_the_wheel_installs_one_top_level_package(installed: Path) -> None:
    """Only ``prematch`` lands in site-packages: no ``engine``, ``cli`` or ``policies``
    to collide with another package or an embedder's own modules."""
    (wheel,) = sorted((installed.parent.parent / "dist").glob("prematch-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {
        name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")
    }
    assert top == {"prematch"}
    for part in ("engine", "policies", "cli"):
        assert f"prematch/{part}/__init__.py" in names
        assert f"prematch/{part}/py.typed" in names or part == "cli"
    assert "prematch/fixtures/calendars/2027.toml" in names
    assert "prematch/fixtures/rulebook/defaults.toml" in names


def test_the_wheel_carries_verifys_compiled_pass_built_not_its_source(
    installed: Path, tmp_path: Path
) -> None:
    """Where this machine compiles it (as ``make test``'s install did), the wheel carries
    verify's quick pass, and the installed package uses it; the C source stays out."""
    if not _chain.ACCELERATED:
        pytest.skip("this machine built prematch without the compiled quick pass")
    (wheel,) = sorted((installed.parent.parent / "dist").glob("prematch-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    built = sorted(n for n in names if n.startswith("prematch/engine/_chain_accel"))
    module = f"prematch/engine/_chain_accel{sysconfig.get_config_var('EXT_SUFFIX')}"
    assert built == sorted([module, "prematch/engine/_chain_accel.pyi"])
    used = run(
        [
            str(installed / "python"),
            "-c",
            "from prematch.engine import _chain; print(_chain.ACCELERATED)",
        ],
        cwd=tmp_path,
        env=clean_env(),
    )
    assert used.strip() == "True"


def test_the_build_warns_of_nothing(installed: Path) -> None:
    """setuptools packs every folder of fixtures without a warning (a data folder left out
    of ``packages`` in pyproject.toml makes it warn, and a later setuptools may drop it)."""
    said = (installed.parent.parent / "build.stderr").read_text()
    # The backend's warnings, as build prints them (not distutils' "warning: … byte-
    # compiling is disabled", which PYTHONDONTWRITEBYTECODE brings).
    assert not [line for line in said.splitlines() if line.startswith("WARNING")], said


def test_the_version_is_the_distributions(installed: Path, tmp_path: Path) -> None:
    out = run(
        [str(installed / "python"), "-c", "import prematch; print(prematch.__version__)"],
        cwd=tmp_path,
        env=clean_env(),
    )
    from importlib.metadata import version

    assert out.strip() == version("prematch")


def test_the_installed_wheel_syncs_its_bundled_sheets(
    installed: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The column table and the sample sheets ship in the wheel, and openpyxl comes with it."""
    env = clean_env(tmp_path_factory.mktemp("home"))
    env.update(PREMATCH_DB=str(tmp_path / "season.db"), PREMATCH_NOW="2027-01-15T09:00:00-05:00")
    prematch = str(installed / "prematch")
    assert "Thank you sent" in run([prematch, "sync", "--columns"], cwd=tmp_path, env=env)
    sample = run(
        [
            str(installed / "python"),
            "-c",
            "from prematch.engine import fixtures_dir; "
            "print(fixtures_dir() / 'sheets' / 'tracker.xlsx')",
        ],
        cwd=tmp_path,
        env=env,
    ).strip()
    assert not Path(sample).resolve().is_relative_to(REPO)
    init = ["init", "--match-year", "2027", "--specialty", "Internal Medicine"]
    init += ["--timezone", "America/New_York", "--visa", "j1", "--name", "Test Applicant"]
    run([prematch, *init, "--at", "2026-09-20"], cwd=tmp_path, env=env)
    synced = run([prematch, "sync", sample], cwd=tmp_path, env=env)
    assert "Synced tracker.xlsx into test-applicant-2027: 9 events written." in synced


# -- an embedder's examples (issue 17 item 7), run by the installed wheel --------------------

EXAMPLES = REPO / "examples"
SERVICE_CLIENTS = 8
SERVICE_SECONDS = 2.0
"""8 clients for 2 s in ``make test``; ``tests/bench.py --service`` runs them for 20 s."""


def test_the_examples_use_no_private_name() -> None:
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert {p.name for p in scripts} >= {"service.py", "analysis.py", "whatif.py"}
    for path in scripts:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prematch"):
                parts = (node.module or "").split(".")
                assert not any(p.startswith("_") for p in parts), f"{path.name}: {node.module}"
                for alias in node.names:
                    assert not alias.name.startswith("_"), f"{path.name}: {alias.name}"
                    imported.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("prematch"), f"{path.name}: import it by name"
        assert imported, f"{path.name} uses nothing of prematch"


def _example_store(installed: Path, folder: Path, env: dict[str, str]) -> Path:
    """A store with the demo season, made by the installed ``prematch``."""
    db = folder / "season.db"
    demo = run(
        [
            str(installed / "python"),
            "-c",
            "from prematch.engine import fixtures_dir; "
            "print(fixtures_dir() / 'demo' / 'season.jsonl')",
        ],
        cwd=folder,
        env=env,
    ).strip()
    run(
        [str(installed / "prematch"), "import", demo],
        cwd=folder,
        env={**env, "PREMATCH_DB": str(db), "PREMATCH_NOW": "2027-01-20T09:00:00-05:00"},
    )
    return db


def docstring_command(path: Path) -> list[str]:
    """The command an example's docstring shows (its indented ``python examples/...`` line,
    with the lines a trailing ``\\`` continues), as its words."""
    text = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    command = re.search(r"^ +(python examples/.*?[^\\])$", text, re.MULTILINE | re.DOTALL)
    assert command is not None, f"{path.name} shows no command"
    return shlex.split(command[1].replace("\\\n", " "))


def test_the_analysis_and_what_if_examples_run_on_the_installed_wheel(
    installed: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = clean_env(tmp_path_factory.mktemp("home"))
    _example_store(installed, tmp_path, env)  # season.db, the demo season, as they say
    (tmp_path / "examples").mkdir()
    commands = {}
    for name in ("analysis.py", "whatif.py"):
        shutil.copy(EXAMPLES / name, tmp_path / "examples" / name)
        # The command each docstring shows, run as written (by the wheel's python).
        _, *words = docstring_command(EXAMPLES / name)
        commands[name] = [str(installed / "python"), *words]
    rows = run(commands["analysis.py"], cwd=tmp_path, env=env)
    assert "season=demo-2027" in rows and "events=90" in rows and "last_seq=90" in rows
    shown = run(commands["whatif.py"], cwd=tmp_path, env=env)
    assert "block: thanks.once" in shown  # marlow-im was thanked already
    assert shown.count("then, as of 2027-02-01T23:00:00.000000+00:00") == 1
    # The what-if wrote nothing.
    assert "events=90" in run(commands["analysis.py"], cwd=tmp_path, env=env)


def test_the_service_example_under_eight_clients_loses_nothing(
    installed: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from service_load import call, hammer, service

    env = clean_env(tmp_path_factory.mktemp("home"))
    db = tmp_path / "season.db"
    prematch = str(installed / "prematch")
    cli_env = {**env, "PREMATCH_DB": str(db)}
    init = ["init", "--match-year", "2027", "--specialty", "Internal Medicine", "--at"]
    init += ["2026-09-20", "--timezone", "America/New_York", "--visa", "j1", "--name", "Ana Ruiz"]
    run([prematch, *init], cwd=tmp_path, env=cli_env)
    run([prematch, "program", "add", "mercy", "--name", "Mercy IM"], cwd=tmp_path, env=cli_env)
    with service(installed / "python", db, cwd=tmp_path, env=env) as url:
        (summary,) = call(f"{url}/seasons")[1]["seasons"]
        season = summary["season"]
        assert summary["events"] == 2
        load = hammer(url, season, "mercy", clients=SERVICE_CLIENTS, seconds=SERVICE_SECONDS)
        assert load.failures == []
        assert len(load.recorded) >= SERVICE_CLIENTS and load.reads == len(load.recorded)
        # Errors come back as JSON with their code, and write nothing.
        assert call(f"{url}/seasons/nobody/now")[0] == 404
        status, refused = call(f"{url}/seasons/{season}/events", {"type": "interviewed"})
        assert status == 400 and refused["error"]["field"] == "program"
    with sqlite3.connect(db) as conn:
        texts = [
            json.loads(p)["text"]
            for (p,) in conn.execute("SELECT payload FROM events WHERE type = 'note_added'")
        ]
    assert sorted(texts) == sorted(load.recorded)  # every note once: nothing lost, none twice
    verified = json.loads(run([prematch, "verify", "--json"], cwd=tmp_path, env=cli_env))
    assert verified == {
        "events": 2 + len(texts),
        "ok": True,
        "problem": None,
        "head": verified["head"],
    }
    assert verified["head"].startswith(f"{2 + len(texts)}:")
