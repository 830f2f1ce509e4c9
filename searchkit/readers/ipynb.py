"""Jupyter notebooks (.ipynb) as plain JSON: one unit per cell, numbered as Jupyter shows
them; markdown, code and raw cells, with code cells' text output; markdown headings give
the heading path."""

from __future__ import annotations

import json

from ..errors import ReadError
from .base import Extracted, decode, join_units
from .markdown import headings_of

EXTENSIONS = (".ipynb",)
UNIT = "cell"

#: A code cell's text output is kept up to this many characters (outputs can be huge).
MAX_OUTPUT_CHARS = 2000


def read(data: bytes) -> Extracted:
    try:
        nb = json.loads(decode(data))
    except (ValueError, ReadError) as e:
        raise ReadError(f"broken notebook (not JSON: {str(e)[:60]})") from e
    if not isinstance(nb, dict):
        raise ReadError("not a Jupyter notebook (no cells)")
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict)
                 for c in ws.get("cells") or []]
    if not isinstance(cells, list):
        raise ReadError("not a Jupyter notebook (no cells)")
    parts, kinds = [], []
    for cell in cells:
        cell = cell if isinstance(cell, dict) else {}
        kind = cell.get("cell_type")
        text = _joined(cell.get("source", cell.get("input", ""))).strip()
        if kind == "code":
            out = "\n".join(_output(o) for o in cell.get("outputs") or [] if isinstance(o, dict))
            out = out.strip()[:MAX_OUTPUT_CHARS]
            text = f"{text}\n\n{out}" if text and out else text or out
        parts.append(text)
        kinds.append(kind)
    text, pages = join_units(parts)
    headings = [h for i, p in enumerate(parts) if kinds[i] == "markdown"
                for h in headings_of(p, pages[i])]
    title = next((h[2] for h in headings if h[1] == 1), headings[0][2] if headings else None)
    return Extracted(text=text, title=title, format="ipynb", pages=pages, headings=headings,
                     breaks=pages)


def _joined(value) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _output(o: dict) -> str:
    if o.get("output_type") == "stream":
        return _joined(o.get("text"))
    if o.get("output_type") == "error":
        return f"{o.get('ename', '')}: {o.get('evalue', '')}"
    data = o.get("data")
    if not isinstance(data, dict):
        data = o  # nbformat 3 keeps it flat
    return _joined(data.get("text/plain", data.get("text", "")))
