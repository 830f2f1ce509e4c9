"""PDF through pypdf: pages joined by blank lines; page starts recorded for citations."""

from __future__ import annotations

import io
import logging

from ..errors import ReadError
from .base import Extracted

EXTENSIONS = (".pdf",)
UNIT = "page"


def read_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ReadError("encrypted PDF")
            except ReadError:
                raise
            except Exception as e:
                raise ReadError("encrypted PDF") from e
        parts, pages, pos = [], [], 0
        for page in reader.pages:
            t = (page.extract_text() or "").strip()
            pages.append(pos)
            parts.append(t)
            pos += len(t) + 2
        meta = reader.metadata
        title = (meta.title if meta and meta.title else None)
    except ReadError:
        raise
    except (PdfReadError, Exception) as e:  # pypdf raises many kinds on broken files
        raise ReadError(f"broken PDF ({type(e).__name__}: {str(e)[:80]})") from e
    text = "\n\n".join(parts)
    if not text.strip():
        raise ReadError("PDF has no extractable text (scanned?)")
    return Extracted(text=text, title=str(title).strip() or None if title else None,
                     format="pdf", pages=pages)


read = read_pdf
