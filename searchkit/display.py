"""Text that is safe to put on a terminal, and whether to colour it.

A file name or a document can hold control characters (an ANSI escape can recolour, move the
cursor or retitle a terminal) and bidirectional overrides (U+202E shows ``txt.exe`` as
``exe.txt``). The text formatters pass names and snippets through :func:`terminal_safe`,
which writes those characters as visible escapes; ``--json`` output keeps the text as it is.
"""

from __future__ import annotations

import os
import re

# C0 controls and DEL, C1 controls, and the Unicode bidirectional formatting characters
# (marks, embeddings, overrides, isolates; Unicode TR9).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match) -> str:
    c = m.group()
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def terminal_safe(text: str, keep: str = "") -> str:
    """``text`` with control and bidi characters written as ``\\x1b`` / ``\\u202e``
    escapes, except the characters in ``keep`` (e.g. ``"\\n"``)."""
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


def no_color() -> bool:
    """True when the environment asks for no colour: ``NO_COLOR`` set and not empty
    (https://no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))
