"""Markdown: kept as written (offsets stay exact); headings give the title and heading paths."""

from __future__ import annotations

import re

from .base import Extracted, decode

EXTENSIONS = (".md", ".markdown", ".mdx")

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def read_markdown(data: bytes) -> Extracted:
    text = decode(data)
    headings = headings_of(text)
    title = next((h[2] for h in headings if h[1] == 1), headings[0][2] if headings else None)
    return Extracted(text=text, title=title, format="markdown", headings=headings)


read = read_markdown


def headings_of(text: str, offset: int = 0) -> list[tuple[int, int, str]]:
    """ATX headings outside code fences as ``(offset + position, level, title)``."""
    fenced = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    return [
        (offset + m.start(), len(m.group(1)), m.group(2).strip())
        for m in _ATX.finditer(text)
        if not any(a <= m.start() < b for a, b in fenced)
    ]


def heading_path(headings: list[tuple[int, int, str]], offset: int) -> str | None:
    """``"Title > Section > Sub"`` in effect at ``offset``."""
    stack: list[tuple[int, str]] = []
    for pos, level, title in headings:
        if pos > offset:
            break
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    return " > ".join(t for _, t in stack) or None
