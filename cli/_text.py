"""User text for a terminal: shown exactly as typed, never obeyed.

The intake refuses control characters, but a store written by an older prematch (or
behind its back) may hold some: :func:`visible` spells each one out (``\\x1b``), so that
no stored text can move the cursor, clear the screen or retitle the window, even piped.
"""

from __future__ import annotations

import re

__all__ = ["visible"]

_HIDDEN = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Control characters, line and paragraph separators, bidi overrides and isolates, lone
surrogates: what could move, clear or reorder a terminal's text."""


def _spelled(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character (but tab and line break), bidi override or
    isolate, line or paragraph separator (U+2028, U+2029) and lone surrogate written as its
    escape (``\\x1b``, ``\\u202e``, ``\\ud800``)."""
    return _HIDDEN.sub(_spelled, text)
