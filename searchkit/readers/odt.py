"""OpenDocument text (.odt) from its zip and XML, no extra package: one unit per paragraph
or heading with text (a table is one), headings from ``text:h`` outline levels."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..errors import ReadError
from .base import Extracted, broken, join_units, open_zip, section_breaks

EXTENSIONS = (".odt",)
UNIT = "paragraph"

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "manifest": "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0",
}
_T = "{%s}" % _NS["text"]
_TABLE = "{%s}table" % _NS["table"]


def read(data: bytes) -> Extracted:
    z = open_zip(data, ".odt", "content.xml")
    with broken(".odt file"):
        names = set(z.namelist())
        if "META-INF/manifest.xml" in names:
            manifest = ET.fromstring(z.read("META-INF/manifest.xml"))
            if manifest.find(".//manifest:encryption-data", _NS) is not None:
                raise ReadError("password-protected .odt file")
        body = ET.fromstring(z.read("content.xml")).find("office:body/office:text", _NS)
        if body is None:
            raise ReadError("not a .odt file (no text body; another OpenDocument kind?)")
        blocks: list[tuple[str, int | None]] = []
        _blocks(body, blocks)
        title = None
        if "meta.xml" in names:
            t = ET.fromstring(z.read("meta.xml")).find(".//dc:title", _NS)
            title = (t.text or "").strip() or None if t is not None else None
    text, pages = join_units([b[0] for b in blocks])
    headings = [(pages[i], lvl, t) for i, (t, lvl) in enumerate(blocks) if lvl is not None]
    if title is None and headings:
        title = min(headings, key=lambda h: h[1])[2]
    return Extracted(text=text, title=title, format="odt", pages=pages, headings=headings,
                     breaks=section_breaks(pages, headings))


def _blocks(el: ET.Element, out: list[tuple[str, int | None]]) -> None:
    for child in el:
        if child.tag in (_T + "p", _T + "h"):
            text = _inline(child).strip()
            if text:
                level = int(child.get(_T + "outline-level", "1")) if child.tag == _T + "h" else None
                out.append((text, level))
        elif child.tag == _TABLE:
            rows = []
            for row in child.iter("{%s}table-row" % _NS["table"]):
                cells = [_inline(c).strip() for c in row.iter("{%s}table-cell" % _NS["table"])]
                if any(cells):
                    rows.append("\t".join(c for c in cells if c))
            if rows:
                out.append(("\n".join(rows), None))
        else:  # lists, list items, sections ... hold paragraphs of their own
            _blocks(child, out)


def _inline(el: ET.Element) -> str:
    # ODF collapses white space in the XML as HTML does; text:s, text:tab and
    # text:line-break are the spaces and breaks a writer typed
    out = [_ws(el.text)]
    for child in el:
        tag = child.tag
        if tag == _T + "s":
            out.append(" " * int(child.get(_T + "c", "1")))
        elif tag == _T + "tab":
            out.append("\t")
        elif tag == _T + "line-break":
            out.append("\n")
        elif tag == _T + "note-citation":
            pass
        elif tag in (_T + "p", _T + "h"):  # a note's or frame's own paragraphs
            out.append(" " + _inline(child).strip() + " ")
        else:
            out.append(_inline(child))
        out.append(_ws(child.tail))
    return "".join(out)


def _ws(text: str | None) -> str:
    return re.sub(r"[ \t\r\n]+", " ", text) if text else ""
