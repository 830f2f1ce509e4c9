"""What a reader returns, and the text decoding every reader shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ReadError


@dataclass
class Extracted:
    """A document's text as searchkit indexes it.

    Attributes:
        text: the extracted text; chunk offsets index into it.
        title: the document's own title, where the format has one.
        format: reader name (``text``, ``markdown``, ``html``, ``pdf``).
        pages: for paged formats, the character offset where each page starts (page 1 first).
        headings: Markdown headings as ``(offset, level, title)`` in text order.
    """

    text: str
    title: str | None = None
    format: str = "text"
    pages: list[int] | None = None
    headings: list[tuple[int, int, str]] = field(default_factory=list)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252, else Latin-1. Binary data is refused."""
    if b"\x00" in data[:8192]:
        raise ReadError("binary file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")
