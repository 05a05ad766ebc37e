"""The compiled quick pass of :func:`prematch.engine._chain.verify` (``_chain_accel.c``)."""

from collections.abc import Iterator
from typing import Any

def skip_holding(
    rows: Iterator[tuple[Any, ...]],
    count: int,
    previous: str,
    heads: dict[int, str],
    committed: int,
) -> tuple[int, str, tuple[Any, ...] | None]:
    """Read ``rows`` while each plainly holds (seq ``count`` + 1, no newer than
    ``committed``, its hash over ``previous`` and its fields, any noted head the same);
    return the seq and hash reached and the first row that does not plainly hold
    (``None``: the end of ``rows``)."""
