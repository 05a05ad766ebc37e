"""prematch's rulebook: one module per rule family, one registry table.

Pass :class:`Rulebook` to :class:`engine.Season`; bound to a season (a :class:`SeasonJudge`)
it judges every action and event
with the rules of DESIGN §5, each finding carrying its rule id and its source.
Numbers come from ``defaults.toml``, overridable per season.
"""

import importlib
from typing import TYPE_CHECKING, Any

from prematch.policies._context import GUIDE, NRMP, Ask, Frame, Rule, Say
from prematch.policies._params import Params, default_params, params_for
from prematch.policies._registry import (
    ACTION_RULES,
    EVENT_RULES,
    RULE_IDS,
    SEASON_RULES,
    Rulebook,
    SeasonJudge,
)

if TYPE_CHECKING:
    from prematch.policies._content import CONTENT_RULES, LintFinding, lint_message
    from prematch.policies._drafts import Draft, draft_message

__all__ = [
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
]


# The content rules (lint, drafts) load on first use (PEP 562): `prematch now` never
# needs them.
_LAZY: dict[str, str] = {
    "CONTENT_RULES": "prematch.policies._content",
    "LintFinding": "prematch.policies._content",
    "lint_message": "prematch.policies._content",
    "Draft": "prematch.policies._drafts",
    "draft_message": "prematch.policies._drafts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'policies' has no attribute {name!r}")
