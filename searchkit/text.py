"""Text shown on a terminal: file names and other strings from untrusted places."""

from __future__ import annotations

import unicodedata

#: Characters that reorder or hide what follows them (the "Trojan Source" set).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")


def safe_display(s: str) -> str:
    """``s`` with every character that could move the cursor, reorder or hide text escaped
    as ``\\n``, ``\\xNN`` or ``\\uNNNN``: control characters (C0, DEL, C1), bidirectional
    controls, line and paragraph separators and lone surrogates (undecodable bytes of a
    file name). Printable text, accents and right-to-left letters themselves are kept.
    Pure; for the CLI's formatters."""
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch in BIDI_CONTROLS or cat in ("Cc", "Zl", "Zp", "Cs"):
            code = ord(ch)
            if ch in "\n\t\r":
                out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
            elif code < 0x100:
                out.append(f"\\x{code:02x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
