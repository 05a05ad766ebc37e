"""prematch's rulebook: one module per rule family, one registry table.

Pass :class:`Rulebook` to :class:`engine.Season`; it judges every action and event
with the rules of DESIGN §5, each finding carrying its rule id and its source.
Numbers come from ``defaults.toml``, overridable per season.
"""

from typing import TYPE_CHECKING, Any

from policies.context import GUIDE, NRMP, Ask, Frame, Rule, Say
from policies.params import Params, default_params, params_for
from policies.registry import ACTION_RULES, EVENT_RULES, RULE_IDS, Rulebook

if TYPE_CHECKING:
    from policies.content import CONTENT_RULES, LintFinding, lint_message

__all__ = [
    "ACTION_RULES",
    "CONTENT_RULES",
    "EVENT_RULES",
    "GUIDE",
    "NRMP",
    "RULE_IDS",
    "Ask",
    "Frame",
    "LintFinding",
    "Params",
    "Rule",
    "Rulebook",
    "Say",
    "default_params",
    "lint_message",
    "params_for",
]


def __getattr__(name: str) -> Any:
    # The content rules (lint, drafts) load on first use: `prematch now` never needs them.
    if name in {"CONTENT_RULES", "LintFinding", "lint_message"}:
        from policies import content

        return getattr(content, name)
    raise AttributeError(f"module 'policies' has no attribute {name!r}")
