"""Updates (``update.news``): only real news, told once to each program."""

from __future__ import annotations

from collections.abc import Sequence

from prematch.engine import Window
from prematch.policies._context import GUIDE, Ask, Rule, Say, block, info

__all__ = ["UPDATE_NEWS"]


def _news(ask: Ask) -> Sequence[Say | Window]:
    p = ask.target
    if "news_seq" in ask.detail:
        seq = ask.detail["news_seq"]
        if seq in p.told_news:
            return (block(f"{p.name} already heard this news (seq {seq}); tell it once"),)
        return ()
    untold = ask.state.untold_news(p.id)
    if not untold:
        return (
            block(
                f"no news that {p.name} has not heard; an update needs a real change "
                "(record it first with `prematch news`)"
            ),
        )
    more = f" (and {len(untold) - 1} more)" if len(untold) > 1 else ""
    return (info(f"update about: {untold[0].detail} (news seq {untold[0].seq}){more}"),)


UPDATE_NEWS = Rule("update.news", GUIDE, _news)
