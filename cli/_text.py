"""User text for a terminal: shown exactly as typed, never obeyed.

The intake refuses control characters, but a store written by an older prematch (or
behind its back) may hold some: :func:`visible` spells each one out (``\\x1b``), so that
no stored text can move the cursor, clear the screen or retitle the window, even piped.
"""

from __future__ import annotations

import re

__all__ = ["visible"]

_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _spelled(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character (but tab and line break) and lone surrogate
    written as its escape (``\\x1b``, ``\\ud800``)."""
    return _HIDDEN.sub(_spelled, text)
