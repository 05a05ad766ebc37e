"""prematch's rulebook: one module per rule family, one registry table.

Pass :class:`Rulebook` to :class:`engine.Season`; it judges every action and event
with the rules of DESIGN §5, each finding carrying its rule id and its source.
Numbers come from ``defaults.toml``, overridable per season.
"""

from policies.content import CONTENT_RULES, LintFinding, lint_message
from policies.context import GUIDE, NRMP, Ask, Frame, Rule, Say
from policies.params import Params, default_params, params_for
from policies.registry import ACTION_RULES, EVENT_RULES, RULE_IDS, Rulebook

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
