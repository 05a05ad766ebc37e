"""The public surface (DESIGN §1): what each package exports, and who may import what.

- Each public module's ``__all__`` is exactly the set written here: an export added or
  dropped by accident fails, and a deliberate one is a visible change of this file.
  Every exported name resolves, and every exported module, class, function or command
  has a docstring.
- Every other module of ``engine/``, ``policies/`` and ``cli/`` is private (``_name.py``).
- ``cli`` imports only public names: from ``prematch.engine``, ``prematch.engine.io`` and
  ``prematch.policies``, and only names in their ``__all__``.
- ``policies`` imports only the engine's public names; ``engine`` imports neither
  ``policies`` nor ``cli``.
- The module-level imports of the three packages (``if TYPE_CHECKING:`` blocks included)
  form no cycle.

The import rules are read from the source with :mod:`ast`, so an import inside a
function counts as much as one at the top (except for the cycle check, which is about
what runs at import time).
"""

from __future__ import annotations

import ast
import graphlib
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"engine": "prematch.engine", "policies": "prematch.policies", "cli": "prematch.cli"}

EXPORTS: dict[str, set[str]] = {
    "prematch": {"__version__"},
    "prematch.engine": {
        "ACTIONS",
        "ACTION_EVENTS",
        "CALENDAR_DATES",
        "END_STATES",
        "EVENT_TYPES",
        "MESSAGE_EVENTS",
        "PROGRAM_SCOPE",
        "SCHEMA_SHAPES",
        "SCHEMA_VERSION",
        "STATES",
        "TRANSITIONS",
        "UPCASTERS",
        "AuditFinding",
        "AuditReport",
        "Calendar",
        "Clock",
        "Event",
        "Finding",
        "HistoryEntry",
        "ImportResult",
        "InputError",
        "IntegrityError",
        "Message",
        "News",
        "NoRules",
        "NowItem",
        "NowReport",
        "NowStatus",
        "StatusReport",
        "StatusRow",
        "PolicyRefusal",
        "PrematchError",
        "Preview",
        "ProgramState",
        "Record",
        "RecordedHook",
        "Judge",
        "Judged",
        "RulebookProtocol",
        "Season",
        "SeasonOverview",
        "SeasonSnapshot",
        "SeasonSummary",
        "SeasonState",
        "StoredSeason",
        "Severity",
        "Store",
        "StoreBusyError",
        "StoreError",
        "StoreReadonlyError",
        "StructuralError",
        "Tamper",
        "TimeReading",
        "UnknownProgramError",
        "UnknownSeasonError",
        "Verdict",
        "Verification",
        "Window",
        "admit",
        "allowed_triggers",
        "audit_jobs",
        "audit_records",
        "audit_store",
        "event_json_schema",
        "evolve",
        "export_lines",
        "fixed_clock",
        "fixtures_dir",
        "fold",
        "import_lines",
        "judge_action",
        "json_schema",
        "live_records",
        "calendar_for",
        "load_calendar",
        "read_calendar_file",
        "mermaid",
        "normalize_event_type",
        "parse_instant",
        "program_status",
        "replay",
        "season_overviews",
        "season_summary",
        "system_clock",
        "utc_iso",
        "validate_event",
        "validate_payload",
        "verify_jobs",
        "what_now",
        "worst",
    },
    "prematch.engine.io": {
        "MAX_LINE_BYTES",
        "Change",
        "ImportResult",
        "SheetProblems",
        "SyncResult",
        "Unshown",
        "csv_text",
        "export_lines",
        "import_lines",
        "import_tracker",
        "program_id",
        "season_slug",
        "sheet_columns",
        "sheet_table",
        "sync_sheet",
        "write_file",
        "write_sheet",
    },
    "prematch.policies": {
        "ACTION_RULES",
        "CONTENT_RULES",
        "EVENT_RULES",
        "GUIDE",
        "NRMP",
        "RULE_IDS",
        "SEASON_RULES",
        "Ask",
        "Draft",
        "Frame",
        "LintFinding",
        "Params",
        "Rule",
        "Rulebook",
        "Say",
        "SeasonJudge",
        "default_params",
        "draft_message",
        "lint_message",
        "params_for",
    },
    "prematch.cli": {"main", "run"},
}
"""Every public module and its exports, written out."""

CLI_MAY_IMPORT = ("prematch.engine", "prematch.engine.io", "prematch.policies")
POLICIES_MAY_IMPORT = ("prematch.engine", "prematch.engine.io")


@dataclass(frozen=True)
class Import:
    """One import statement's target module and the names it takes from it."""

    source: str
    line: int
    module: str
    names: tuple[str, ...]

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.source}:{self.line}: {self.module}{taken}"


def modules() -> dict[str, Path]:
    """Every module of the three packages, by its dotted name."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _import_time(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run when the module is imported: its body, ``if``/``try`` blocks
    included (``if TYPE_CHECKING:`` too: the type checker follows those imports)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _import_time(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            handlers = [statement for handler in node.handlers for statement in handler.body]
            yield from _import_time(node.body + handlers + node.orelse + node.finalbody)


def imports(path: Path, *, nested: bool = True) -> list[Import]:
    """The imports of one file: all of them, or only those run at import time."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    source = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree) if nested else _import_time(tree.body):
        if isinstance(node, ast.Import):
            found += [Import(source, node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{source}:{node.lineno}: relative import"
            names = tuple(alias.name for alias in node.names)
            found.append(Import(source, node.lineno, node.module or "", names))
    return found


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def has_docstring(value: object) -> bool:
    if isinstance(value, click.Command):
        return bool((value.help or "").strip())
    return bool((inspect.getdoc(value) or "").strip())


# -- the exports ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_all_is_exactly_what_we_export(name: str) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) == EXPORTS[name]
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_every_export_resolves_and_is_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert has_docstring(module), f"{name} has no docstring"
    undocumented = []
    for export in module.__all__:
        value = getattr(module, export)  # raises if it does not resolve
        documentable = (
            inspect.ismodule(value)
            or inspect.isclass(value)
            or inspect.isroutine(value)
            or isinstance(value, click.Command)
        )
        if documentable and not has_docstring(value):
            undocumented.append(export)
    assert not undocumented, f"{name}: no docstring on {undocumented}"


def test_every_other_module_is_private() -> None:
    public = {
        name
        for name in modules()
        if name in PACKAGES.values() or not name.rpartition(".")[2].startswith("_")
    }
    assert public == set(EXPORTS) - {"prematch"}


# -- who imports what -------------------------------------------------------------------


def _public_only(found: Import, allowed: tuple[str, ...]) -> str | None:
    """Why ``found`` reaches past the public API (``None`` when it does not)."""
    if found.module not in allowed:
        return f"{found}: not one of {', '.join(allowed)}"
    exported = set(importlib.import_module(found.module).__all__)
    private = [name for name in found.names if name not in exported]
    return f"{found}: not in its __all__: {private}" if private else None


def test_cli_imports_only_public_names() -> None:
    problems = []
    for name, path in modules().items():
        if not in_package(name, "prematch.cli"):
            continue
        for found in imports(path):
            if in_package(found.module, "prematch.cli") or not found.module.startswith("prematch"):
                continue
            problems.append(_public_only(found, CLI_MAY_IMPORT))
    assert [p for p in problems if p] == []


def test_policies_import_only_public_engine_names() -> None:
    problems = []
    for name, path in modules().items():
        if not in_package(name, "prematch.policies"):
            continue
        for found in imports(path):
            if in_package(found.module, "prematch.policies") or not found.module.startswith(
                "prematch"
            ):
                continue
            problems.append(_public_only(found, POLICIES_MAY_IMPORT))
    assert [p for p in problems if p] == []


def test_engine_imports_neither_policies_nor_cli() -> None:
    reached = [
        str(found)
        for name, path in modules().items()
        if in_package(name, "prematch.engine")
        for found in imports(path)
        if in_package(found.module, "prematch.policies") or in_package(found.module, "prematch.cli")
    ]
    assert reached == []


def import_graph() -> dict[str, set[str]]:
    """Each module's import-time imports of other modules of the three packages.

    ``from package import name`` is an edge to the submodule ``package.name`` when there is
    one (the package itself is already being imported then), else to the package.
    """
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for found in imports(path, nested=False):
            for taken in found.names or ("",):
                sub = f"{found.module}.{taken}"
                targets.add(sub if sub in known else found.module)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def test_no_import_cycle() -> None:
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def test_the_cli_app_module_knows_no_command_module() -> None:
    graph = import_graph()
    commands = {"prematch.cli._record", "prematch.cli._read", "prematch.cli._messages"}
    assert not graph["prematch.cli._app"] & commands
    for command in commands:
        assert "prematch.cli._app" in graph[command]
