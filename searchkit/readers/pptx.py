"""PowerPoint (.pptx) through python-pptx: one unit per slide (its title first, then its
text boxes, tables and groups in order, then its speaker notes); slide titles give the
heading."""

from __future__ import annotations

import io

from .base import Extracted, broken, join_units, open_zip

EXTENSIONS = (".pptx",)
UNIT = "slide"
REQUIRES = {"python-pptx": "pptx"}


def read(data: bytes) -> Extracted:
    open_zip(data, ".pptx", "ppt/presentation.xml")
    from pptx import Presentation

    with broken(".pptx file"):
        deck = Presentation(io.BytesIO(data))
        parts, titles = [], []
        for slide in deck.slides:
            title_shape = slide.shapes.title
            title = _clean(title_shape.text_frame.text) if title_shape is not None else ""
            title_id = title_shape.shape_id if title_shape is not None else None
            texts = [title] + [t for shape in slide.shapes if shape.shape_id != title_id
                               for t in _shape_texts(shape)]
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                texts.append(_clean(slide.notes_slide.notes_text_frame.text))
            parts.append("\n".join(t for t in texts if t))
            titles.append(title)
        deck_title = (deck.core_properties.title or "").strip() or None
    text, pages = join_units(parts)
    headings = [(pages[i], 1, t) for i, t in enumerate(titles) if t and parts[i]]
    if deck_title is None and headings:
        deck_title = headings[0][2]
    return Extracted(text=text, title=deck_title, format="pptx", pages=pages, headings=headings,
                     breaks=pages)


def _clean(text: str) -> str:
    return text.replace("\v", "\n").strip()  # a soft line break reads as "\v"


def _shape_texts(shape):
    if getattr(shape, "shapes", None) is not None:  # a group
        for inner in shape.shapes:
            yield from _shape_texts(inner)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        yield _clean(shape.text_frame.text)
    elif getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            cells = [_clean(c.text) for c in row.cells]
            if any(cells):
                yield "\t".join(c for c in cells if c)
