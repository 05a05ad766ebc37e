"""``docs/`` is the contract (DESIGN §1); these tests hold it equal to the code.

- ``events.md``: one section per event type of ``EVENT_TYPES``, with its program scope and
  exactly its payload fields; every snake_case name in backticks is a name the code knows;
  the events read in the program's timezone are ``AT_THE_PROGRAM``.
- ``rules.md``: every rule id the rulebook reports, and every rulebook parameter with its
  default; no other ``family.name`` in backticks; each rule's source as the code gives it.
- ``cli.md``: one section per command of the click group, holding every option it takes;
  no section or option row the group lacks.
- ``states.md``: its Mermaid block is ``mermaid()``.
- ``json.md``: each ``json`` example, marked ``<!-- shape: NAME -->``, has exactly the keys
  (at every level) of what the command prints for the demo season.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from prematch_script import Script

from prematch.cli import main
from prematch.engine import (
    EVENT_TYPES,
    PROGRAM_SCOPE,
    STATES,
    fixtures_dir,
    mermaid,
    validate_payload,
)
from prematch.engine._intake import AT_THE_PROGRAM
from prematch.engine._queries import OVERRIDE_RULE, STATE_SOURCE
from prematch.policies import (
    ACTION_RULES,
    CONTENT_RULES,
    EVENT_RULES,
    GUIDE,
    NRMP,
    RULE_IDS,
    SEASON_RULES,
    default_params,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"
TICKED = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^(#{2,3}) (.*)$", re.MULTILINE)
ROW_NAME = re.compile(r"^\| `([^`]+)`", re.MULTILINE)


def read(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Each ``## `` or ``### `` heading of ``text`` (backticks dropped) and its body, up to
    the next such heading."""
    marks = list(HEADING.finditer(text))
    out: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        title = mark[2].strip().strip("`")
        assert title not in out, f"two sections named {title!r}"
        out[title] = text[mark.end() : end]
    return out


def under(text: str, parent: str) -> dict[str, str]:
    """The ``### `` sections of ``text`` inside its ``## parent`` section."""
    start = text.index(f"\n## {parent}\n")
    end = text.find("\n## ", start + 1)
    return sections(text[start : end if end != -1 else len(text)].split("\n", 2)[2])


# --- events.md ---------------------------------------------------------------------


def literal_values(annotation: Any) -> Iterator[str]:
    """The strings of every ``Literal`` inside a type annotation."""
    if typing.get_origin(annotation) is typing.Literal:
        yield from (a for a in typing.get_args(annotation) if isinstance(a, str))
    for arg in typing.get_args(annotation):
        yield from literal_values(arg)


def test_every_event_type_has_a_section_and_no_other() -> None:
    assert set(under(read("events.md"), "Event types")) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_an_event_section_gives_its_scope_and_exactly_its_payload_fields(event_type: str) -> None:
    body = under(read("events.md"), "Event types")[event_type]
    scope = re.search(r"Program: \*\*(\w+)\*\*", body)
    assert scope and scope[1] == PROGRAM_SCOPE[event_type], body
    documented = ROW_NAME.findall(body)
    assert sorted(documented) == sorted(EVENT_TYPES[event_type].model_fields), body
    if not documented:
        assert "No payload fields." in " ".join(body.split()), body


def test_events_page_names_no_snake_case_name_the_code_lacks() -> None:
    known = set(EVENT_TYPES) | set(STATES)
    for payload in EVENT_TYPES.values():
        for name, field in payload.model_fields.items():
            known.add(name)
            known.update(literal_values(field.annotation))
    common = sections(read("events.md"))["Fields every stored event has"]
    known.update(ROW_NAME.findall(common))
    snake = {
        t for t in TICKED.findall(read("events.md")) if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", t)
    }
    assert snake - known == set()


def test_events_read_at_the_program_are_those_of_the_code() -> None:
    text = " ".join(read("events.md").split())
    listed = text.split("*at the program* (", 1)[1].split("AT_THE_PROGRAM", 1)[0]
    assert set(TICKED.findall(listed)) == AT_THE_PROGRAM


# --- rules.md ----------------------------------------------------------------------

ENGINE_RULES = {"state.invalid": STATE_SOURCE, OVERRIDE_RULE: "prematch"}
DOTTED = re.compile(r"[a-z_]+\.[a-z_]+")


def rule_sources() -> dict[str, set[str]]:
    """Each rule id and the source(s) the code gives it."""
    out: dict[str, set[str]] = {}
    for rules in (*ACTION_RULES.values(), *EVENT_RULES.values(), *SEASON_RULES.values()):
        for rule in rules:
            out.setdefault(rule.id, set()).add(rule.source)
    for rule_id, (_, source) in CONTENT_RULES.items():
        out.setdefault(rule_id, set()).add(source)
    for rule_id, source in ENGINE_RULES.items():
        out.setdefault(rule_id, set()).add(source)
    return out


def test_rules_page_names_every_rule_and_parameter_and_nothing_else() -> None:
    ticked = {t for t in TICKED.findall(read("rules.md")) if DOTTED.fullmatch(t)}
    rules = set(RULE_IDS) | set(CONTENT_RULES) | set(ENGINE_RULES)
    params = set(default_params())
    assert rules - ticked == set(), "rule ids missing from docs/rules.md"
    assert params - ticked == set(), "parameters missing from docs/rules.md"
    assert ticked - rules - params == set(), "unknown rule ids or parameters in docs/rules.md"


def test_rules_page_gives_each_parameter_its_default() -> None:
    stated = re.findall(r"`([a-z_]+\.[a-z_]+)` = (\d+)", read("rules.md"))
    defaults = default_params()
    assert {name for name, _ in stated} == set(defaults)
    for name, value in stated:
        assert float(value) == defaults[name], name


def test_rules_page_gives_each_rule_its_source_and_content_severity() -> None:
    named = {"guide": GUIDE, "NRMP": NRMP}
    sources = rule_sources()
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|(.*)\|$", read("rules.md"), re.MULTILINE)
    assert {rule for rule, _ in rows} == set(sources)
    for rule, rest in rows:
        cells = [c.strip() for c in rest.split("|")]
        source = named.get(cells[-1], cells[-1].strip('"'))
        assert sources[rule] == {source}, rule
        if rule in CONTENT_RULES:
            assert cells[0] == CONTENT_RULES[rule][0], rule


# --- cli.md ------------------------------------------------------------------------


def commands(group: click.Group, path: str = "prematch") -> Iterator[tuple[str, click.Command]]:
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


CLI = dict(commands(main))


def test_every_command_has_a_section_and_no_other() -> None:
    assert set(under(read("cli.md"), "Commands")) == set(CLI)


@pytest.mark.parametrize("path", sorted(CLI))
def test_a_command_section_holds_exactly_its_options(path: str) -> None:
    body = under(read("cli.md"), "Commands")[path]
    options = [p for p in CLI[path].params if isinstance(p, click.Option)]
    rows = re.findall(r"^\| (`--.*?) \|", body, re.MULTILINE)
    documented = {t.split()[0] for row in rows for t in TICKED.findall(row) if t.startswith("--")}
    spelled = {o for p in options for o in (*p.opts, *p.secondary_opts)}
    assert documented == spelled, body


def test_cli_page_names_the_environment_variables() -> None:
    text = read("cli.md")
    group_envs = {p.envvar for p in main.params if isinstance(p, click.Option) and p.envvar}
    for name in (*group_envs, "PREMATCH_NOW", "PREMATCH_BUSY_TIMEOUT"):
        assert f"`{name}`" in text, name


# --- states.md ---------------------------------------------------------------------


def test_states_diagram_is_what_prematch_diagram_prints() -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", read("states.md"), re.DOTALL)
    assert blocks == [mermaid().strip() + "\n"]


def test_states_page_names_every_state() -> None:
    states = sections(read("states.md"))["States"]
    assert sorted(ROW_NAME.findall(states)) == sorted(STATES)


# --- json.md -----------------------------------------------------------------------


def same_keys(example: Any, actual: Any, where: str = "$") -> None:
    """``example`` has the keys of ``actual`` at every level (lists: each example item
    against the first actual item; ``payload``: validated against its event type)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), where
        assert set(example) == set(actual), where
        for key, value in example.items():
            if key != "payload" and value is not None and actual[key] is not None:
                same_keys(value, actual[key], f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), where
        if example and actual:
            for n, item in enumerate(example):
                same_keys(item, actual[0], f"{where}[{n}]")
    else:
        assert not isinstance(actual, (dict, list)), where


def examples() -> dict[str, str]:
    found = re.findall(r"<!-- shape: ([\w-]+) -->\n```json\n(.*?)```", read("json.md"), re.DOTALL)
    out = dict(found)
    assert len(out) == len(found), "two examples of one shape"
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Script:
    """The demo season on 20 January 2027, with a second thank-you recorded anyway."""
    script = Script(tmp_path_factory.mktemp("docs"), now="2027-01-20T09:00:00-05:00")
    script.ok("import", str(fixtures_dir() / "demo" / "season.jsonl"))
    script.ok("log", "thanked", "marlow-im", "--at", "2027-01-19T10:00", "--override", "again")
    return script


def export_lines(script: Script) -> list[dict[str, Any]]:
    return [json.loads(line) for line in script.ok("export").stdout.splitlines()]


def check_lines(example: str, actual: list[dict[str, Any]]) -> None:
    for line in example.splitlines():
        item = json.loads(line)
        shapes = [set(a) for a in actual if a["type"] == item["type"]]
        assert set(item) in shapes, f"no exported {item['type']} has the keys {sorted(item)}"


def import_lines(example: str, script: Script) -> None:
    fresh = Script(script.tmp / "fresh", now=script.now)
    fresh.tmp.mkdir(exist_ok=True)
    path = fresh.tmp / "lines.jsonl"
    path.write_text(example, encoding="utf-8")
    counted = fresh.json("import", str(path), "--json")
    assert counted["events"] == len(example.splitlines())
    same_keys(json.loads(examples()["import"]), counted)


def lint(script: Script) -> Any:
    (script.tmp / "letter.txt").write_text("Where do I stand on your list?\n", encoding="utf-8")
    return script.json("lint", "letter.txt", "--action", "thank_you", "--json", code=1)


SHAPES: dict[str, Callable[[Script], Any]] = {
    "now": lambda s: s.json("now", "--json"),
    "status": lambda s: s.json("status", "--json"),
    "check": lambda s: s.json("check", "thank_you", "marlow-im", "--json", code=3),
    "audit": lambda s: s.json("audit", "--json", code=1),
    "audit-summary": lambda s: s.json("audit", "--all", "--summary", "--json", code=1),
    "history": lambda s: s.json("history", "--json"),
    "verify": lambda s: s.json("verify", "--json"),
    "lint": lint,
}


def test_json_page_shows_every_shape_and_no_other() -> None:
    assert set(examples()) == {*SHAPES, "export-lines", "import-lines", "import"}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_json_example_has_the_keys_the_command_prints(shape: str, demo: Script) -> None:
    same_keys(json.loads(examples()[shape]), SHAPES[shape](demo))


def test_history_example_payloads_are_payloads_of_their_types() -> None:
    for event in json.loads(examples()["history"])["events"]:
        assert validate_payload(event["type"], event["payload"]) == event["payload"]


def test_export_line_examples_have_the_keys_of_exported_lines(demo: Script) -> None:
    check_lines(examples()["export-lines"], export_lines(demo))


def test_import_line_examples_import(demo: Script) -> None:
    import_lines(examples()["import-lines"], demo)
