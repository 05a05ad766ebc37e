"""prematch's rulebook: one module per rule family, one registry table.

Pass :class:`Rulebook` to :class:`engine.Season`; bound to a season (a :class:`SeasonJudge`)
it judges every action and event
with the rules of DESIGN §5, each finding carrying its rule id and its source.
Numbers come from ``defaults.toml``, overridable per season.
"""

from typing import TYPE_CHECKING, Any

from prematch.policies._context import GUIDE, NRMP, Ask, Frame, Rule, Say
from prematch.policies._params import Params, default_params, params_for
from prematch.policies._registry import ACTION_RULES, EVENT_RULES, RULE_IDS, Rulebook, SeasonJudge

if TYPE_CHECKING:
    from prematch.policies._content import CONTENT_RULES, LintFinding, lint_message

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
    "SeasonJudge",
    "default_params",
    "lint_message",
    "params_for",
]


def __getattr__(name: str) -> Any:
    # The content rules (lint, drafts) load on first use: `prematch now` never needs them.
    if name in {"CONTENT_RULES", "LintFinding", "lint_message"}:
        from prematch.policies import _content as content

        return getattr(content, name)
    raise AttributeError(f"module 'policies' has no attribute {name!r}")
