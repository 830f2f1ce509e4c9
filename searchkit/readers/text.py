"""Plain text, reStructuredText and source code: the text as it is."""

from __future__ import annotations

from .base import Extracted, decode


def read_text(data: bytes) -> Extracted:
    text = decode(data)
    return Extracted(text=text, title=_first_line_title(text), format="text")


def _first_line_title(text: str) -> str | None:
    # An .rst title is a line underlined with = - ~ ...; plain text has no title.
    lines = text.lstrip("\ufeff").splitlines()[:4]
    for i in range(len(lines) - 1):
        line, under = lines[i].strip(), lines[i + 1].strip()
        if line and under and len(set(under)) == 1 and under[0] in "=-~^*#" and len(under) >= len(line):
            return line
    return None
