"""EPUB from its zip and XML, no extra package: one unit per chapter (a spine document with
text), titled by the table of contents, else by the chapter's own <title> or <h1>."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from ..errors import ReadError
from .base import Extracted, broken, join_units, open_zip
from .html import read_html

EXTENSIONS = (".epub",)
UNIT = "chapter"

_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "enc": "http://www.w3.org/2001/04/xmlenc#",
}
_HTML = {"application/xhtml+xml", "text/html", "application/x-dtbook+xml"}


def read(data: bytes) -> Extracted:
    z = open_zip(data, ".epub", "META-INF/container.xml")
    with broken(".epub file"):
        root = ET.fromstring(z.read("META-INF/container.xml")).find(".//c:rootfile", _NS)
        opf_path = root.get("full-path") if root is not None else None
        if not opf_path:
            raise ReadError("broken .epub file (no package document named)")
        opf = ET.fromstring(z.read(opf_path))
        base = posixpath.dirname(opf_path)
        items = {i.get("id"): i for i in opf.iterfind("opf:manifest/opf:item", _NS)}

        def path_of(item) -> str:
            return posixpath.normpath(posixpath.join(base, unquote(item.get("href", ""))))

        spine = [items[r.get("idref")] for r in opf.iterfind("opf:spine/opf:itemref", _NS)
                 if r.get("idref") in items]
        spine = [i for i in spine if i.get("media-type") in _HTML]
        _refuse_drm(z, {path_of(i) for i in spine})
        toc = _toc(z, opf, items, path_of)
        parts, labels = [], []
        for item in spine:
            chapter = read_html(z.read(path_of(item)))
            if not chapter.text.strip():
                continue  # a cover or a page of images
            labels.append(toc.get(path_of(item)) or chapter.title)
            parts.append(chapter.text)
        t = opf.find("opf:metadata/dc:title", _NS)
        title = (t.text or "").strip() or None if t is not None else None
    text, pages = join_units(parts)
    headings = [(pages[i], 1, label) for i, label in enumerate(labels) if label]
    return Extracted(text=text, title=title, format="epub", pages=pages, headings=headings,
                     breaks=pages)


def _refuse_drm(z, chapters: set[str]) -> None:
    """Fonts may be obfuscated harmlessly; encrypted chapters mean DRM."""
    if "META-INF/encryption.xml" not in z.namelist():
        return
    enc = ET.fromstring(z.read("META-INF/encryption.xml"))
    for ref in enc.iterfind(".//enc:CipherReference", _NS):
        if posixpath.normpath(unquote(ref.get("URI", ""))) in chapters:
            raise ReadError("encrypted .epub file (DRM)")


def _toc(z, opf, items, path_of) -> dict[str, str]:
    """Chapter file -> its first title in the EPUB 3 navigation document or the EPUB 2 NCX."""
    out: dict[str, str] = {}
    nav = next((i for i in items.values() if "nav" in (i.get("properties") or "").split()),
               None)
    if nav is not None:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(z.read(path_of(nav)), "html.parser")
        where = soup.find("nav", attrs={"epub:type": "toc"}) or soup.find("nav") or soup
        here = posixpath.dirname(path_of(nav))
        for a in where.find_all("a", href=True):
            target = posixpath.normpath(posixpath.join(here, unquote(str(a["href"]).split("#")[0])))
            out.setdefault(target, a.get_text(" ", strip=True))
        return out
    spine = opf.find("opf:spine", _NS)
    ncx = items.get(spine.get("toc", "")) if spine is not None else None
    if ncx is not None:
        doc = ET.fromstring(z.read(path_of(ncx)))
        here = posixpath.dirname(path_of(ncx))
        for point in doc.iter("{%s}navPoint" % _NS["ncx"]):
            label = point.find("ncx:navLabel/ncx:text", _NS)
            content = point.find("ncx:content", _NS)
            if label is not None and content is not None and label.text:
                src = unquote(content.get("src", "").split("#")[0])
                out.setdefault(posixpath.normpath(posixpath.join(here, src)), label.text.strip())
    return out
