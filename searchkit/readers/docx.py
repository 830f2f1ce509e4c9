"""Word (.docx) through python-docx: one unit per paragraph with text (a table is one),
in document order; Heading/Title styles give the heading path."""

from __future__ import annotations

import io
import re

from .base import Extracted, broken, join_units, open_zip, section_breaks

EXTENSIONS = (".docx",)
UNIT = "paragraph"
REQUIRES = {"python-docx": "docx"}

_HEADING = re.compile(r"heading (\d)$", re.I)


def read(data: bytes) -> Extracted:
    open_zip(data, ".docx", "word/document.xml")
    import docx
    from docx.table import Table

    with broken(".docx file"):
        doc = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        levels: list[int | None] = []
        for block in doc.iter_inner_content():
            if isinstance(block, Table):
                text, level = _table_text(block), None
            else:
                text, level = block.text.strip(), _level(block)
            if text:
                parts.append(text)
                levels.append(level)
        title = (doc.core_properties.title or "").strip() or None
    text, pages = join_units(parts)
    headings = [(pages[i], lvl, parts[i]) for i, lvl in enumerate(levels) if lvl is not None]
    if title is None and headings:
        title = min(headings, key=lambda h: h[1])[2]
    return Extracted(text=text, title=title, format="docx", pages=pages, headings=headings,
                     breaks=section_breaks(pages, headings))


def _level(paragraph) -> int | None:
    name = paragraph.style.name if paragraph.style is not None else ""
    if name == "Title":
        return 0
    m = _HEADING.match(name or "")
    return int(m.group(1)) if m else None


def _table_text(table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:  # a merged cell comes back once per column it spans
            t = cell.text.strip()
            if t and (not cells or cells[-1] != t):
                cells.append(t)
        if cells:
            rows.append("\t".join(cells))
    return "\n".join(rows)
