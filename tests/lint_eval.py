"""How well ``prematch lint`` judges the labelled corpus (``make lint-eval``, issue 15).

Every message of ``tests/corpus/messages`` is linted without a season as the action its
label in ``expected.toml`` gives. Per block-level rule: the recall (of the messages
labelled with the rule, how many lint blocks with it). Over the clean messages (labelled
with no block-level rule): how many lint blocks anyway. Plus every finding that was not
expected (a wrong rule id on a bad message, a warning on a clean one) and every expected
finding that was missed, so a change of the rules shows what it cost.
``tests/test_content.py`` holds the goals; this module only measures and prints.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from prematch.policies import CONTENT_RULES, lint_message

CORPUS = Path(__file__).parent / "corpus" / "messages"
GOAL_RULES = (
    "content.rank_question",
    "content.negotiation",
    "content.first_choice",
    "content.commitment",
    "content.placeholder",
)
"""The rules issue 15 sets a recall goal for (95 %)."""


def labels() -> dict[str, dict[str, object]]:
    """``expected.toml``: each message's action and expected ``"<severity> <rule>"`` list."""
    return tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))


@dataclass
class Evaluation:
    """What lint said about the corpus, against what the labels expect."""

    messages: int = 0
    labelled: dict[str, list[str]] = field(default_factory=dict)
    """rule -> the messages labelled with it."""
    caught: dict[str, list[str]] = field(default_factory=dict)
    """rule -> the labelled messages lint reported it on."""
    clean: list[str] = field(default_factory=list)
    """The messages labelled with no block-level rule."""
    false_blocks: list[tuple[str, str, str]] = field(default_factory=list)
    """(message, rule, phrase) of each block on a message not labelled with that rule."""
    unexpected: list[tuple[str, str]] = field(default_factory=list)
    """(message, "<severity> <rule>") found but not labelled (any severity)."""
    missed: list[tuple[str, str]] = field(default_factory=list)
    """(message, "<severity> <rule>") labelled but not found."""

    def recall(self, rule: str) -> float:
        """The share of the messages labelled with ``rule`` that lint reported it on."""
        total = len(self.labelled.get(rule, []))
        return len(self.caught.get(rule, [])) / total if total else 1.0

    def clean_blocked(self) -> list[str]:
        """The clean messages lint blocked (each once)."""
        clean = set(self.clean)
        return sorted({name for name, _, _ in self.false_blocks if name in clean})


def evaluate() -> Evaluation:
    """Lint every corpus message and compare with its label."""
    ev = Evaluation()
    for name, case in sorted(labels().items()):
        expected = {str(e) for e in case["expect"]}  # type: ignore[attr-defined]
        text = (CORPUS / f"{name}.txt").read_text(encoding="utf-8")
        findings = lint_message(text, str(case["action"]), None, None)
        found = {f"{f.severity} {f.rule}" for f in findings}
        ev.messages += 1
        rules = {e.split()[1] for e in expected}
        if not any(e.startswith("block ") for e in expected):
            ev.clean.append(name)
        for rule in rules:
            ev.labelled.setdefault(rule, []).append(name)
            if any(f.rule == rule for f in findings):
                ev.caught.setdefault(rule, []).append(name)
        for f in findings:
            if f.severity == "block" and f.rule not in rules:
                ev.false_blocks.append((name, f.rule, f.phrase or ""))
        ev.unexpected.extend((name, e) for e in sorted(found - expected))
        ev.missed.extend((name, e) for e in sorted(expected - found))
    return ev


def report(ev: Evaluation) -> str:
    """The table ``make lint-eval`` prints."""
    out = [f"{ev.messages} messages, {len(ev.clean)} clean (no block-level rule expected)", ""]
    out.append(f"{'rule':<24} {'severity':<8} {'labelled':>8} {'caught':>7} {'recall':>7}")
    for rule, (severity, _) in CONTENT_RULES.items():
        total = len(ev.labelled.get(rule, []))
        caught = len(ev.caught.get(rule, []))
        goal = "  (goal 95 %)" if rule in GOAL_RULES else ""
        out.append(f"{rule:<24} {severity:<8} {total:>8} {caught:>7} {ev.recall(rule):>7.1%}{goal}")
    blocked = ev.clean_blocked()
    out += ["", f"false blocks on clean messages: {len(blocked)} of {len(ev.clean)} (goal 0)"]
    on_clean = [b for b in ev.false_blocks if b[0] in set(blocked)]
    elsewhere = [b for b in ev.false_blocks if b[0] not in set(blocked)]
    out += [f"  {n}: {r} {p!r}" for n, r, p in on_clean]
    out += [f"wrong rule blocked on other messages: {len(elsewhere)}"]
    out += [f"  {n}: {r} {p!r}" for n, r, p in elsewhere]
    out += ["", f"missed ({len(ev.missed)}):"] + [f"  {n}: {e}" for n, e in ev.missed]
    out += ["", f"unexpected ({len(ev.unexpected)}):"] + [f"  {n}: {e}" for n, e in ev.unexpected]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(report(evaluate()) + "\n")
