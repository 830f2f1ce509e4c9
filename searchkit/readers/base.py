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
    """UTF-8 (with or without BOM), UTF-16/32 (with a BOM, or UTF-16 text without one whose
    every other byte is zero), else cp1252, else Latin-1. Binary data is refused."""
    wide = _wide_encoding(data)
    if wide:
        try:
            return data.decode(wide).lstrip("\ufeff")
        except UnicodeDecodeError:
            raise ReadError(f"binary file (not valid {wide.upper()})") from None
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


def _wide_encoding(data: bytes) -> str | None:
    """``utf-32``/``utf-16`` when ``data`` starts with their byte order mark, or looks like
    BOM-less UTF-16 (mostly Latin text: one byte of each pair zero, the other not)."""
    import codecs

    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:8192]
    if len(head) >= 16 and len(head) % 2 == 0:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) == len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) == len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None
