"""Readers of Word, OpenDocument, EPUB, notebooks, e-mail and slides; the reader registry and
its entry points; ``search formats``. Every file here is written by the test itself."""

from __future__ import annotations

import io
import json
import mailbox
import sqlite3
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

import searchkit.readers as readers
from searchkit.chunking import chunk_text
from searchkit.cli import cli
from searchkit.errors import ReadError
from searchkit.index import Index
from searchkit.readers import heading_path, read_bytes, read_file
from searchkit.types import Hit

# -- files, written here ---------------------------------------------------------------


def docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Trip report", 0)
    d.add_heading("Budget", 1)
    d.add_paragraph("We spent the money on two canoes and a tent.")
    d.add_paragraph("")  # an empty paragraph is not counted
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "paddles", "twelve"
    t.cell(1, 0).text, t.cell(1, 1).text = "lifejackets", "eight"
    d.add_heading("Next year", 2)
    d.add_paragraph("Next summer we paddle down the Tessel gorge.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def pptx_bytes() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    s1 = deck.slides.add_slide(deck.slide_layouts[1])
    s1.shapes.title.text = "Quarterly review"
    s1.placeholders[1].text = "Revenue grew in every region."
    s2 = deck.slides.add_slide(deck.slide_layouts[1])
    s2.shapes.title.text = "Canoe sales"
    s2.placeholders[1].text = "We sold forty canoes in spring."
    s2.notes_slide.notes_text_frame.text = "Mention the river festival."
    s3 = deck.slides.add_slide(deck.slide_layouts[5])
    s3.shapes.title.text = "Stock"
    table = s3.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "kayaks", "seven"
    table.cell(1, 0).text, table.cell(1, 1).text = "rafts", "three"
    group = s3.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1)).text_frame.text = \
        "Grouped note about harbour storage."
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def encrypt_office(data: bytes) -> bytes:
    pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt("secret", out)
    return out.getvalue()


ODT_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" '
          'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"')
ODT_CONTENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ODT_NS} office:version="1.2"><office:body><office:text>
<text:sequence-decls/>
<text:h text:outline-level="1">Garden diary</text:h>
<text:p>The tomatoes<text:s text:c="2"/>ripened in <text:span>August</text:span>.</text:p>
<text:list><text:list-item><text:p>Water the beans daily.</text:p></text:list-item></text:list>
<text:h text:outline-level="2">Pests</text:h>
<text:p>Aphids gathered on the roses<text:note><text:note-citation>1</text:note-citation>
<text:note-body><text:p>Mostly green ones.</text:p></text:note-body></text:note>.</text:p>
<table:table><table:table-row><table:table-cell><text:p>slugs</text:p></table:table-cell>
<table:table-cell><text:p>beer traps</text:p></table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>"""


def odt_bytes(encrypted: bool = False) -> bytes:
    enc = ('<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x">'
           '<manifest:algorithm manifest:algorithm-name="Blowfish CFB"/>'
           '</manifest:encryption-data>') if encrypted else ""
    manifest = (f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {ODT_NS}>'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                f'<manifest:file-entry manifest:full-path="content.xml" '
                f'manifest:media-type="text/xml">{enc}</manifest:file-entry>'
                '</manifest:manifest>')
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ODT_NS}>'
            '<office:meta><dc:title>My garden</dc:title></office:meta></office:document-meta>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", b"\x8f\x03garbled ciphertext" if encrypted else ODT_CONTENT)
        z.writestr("meta.xml", meta)
    return out.getvalue()


def xhtml(title: str, body: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>{title}</title></head><body>{body}</body></html>")


def epub_bytes(version: int = 3, drm: bool = False) -> bytes:
    nav_item = ('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
                'properties="nav"/>' if version == 3 else
                '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
    opf = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="{version}.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>River Tales</dc:title>
</metadata><manifest>{nav_item}
<item id="cover" href="cover.xhtml" media-type="application/xhtml+xml"/>
<item id="c1" href="text/chapter%201.xhtml" media-type="application/xhtml+xml"/>
<item id="c2" href="text/ch2.xhtml" media-type="application/xhtml+xml"/>
<item id="img" href="cover.png" media-type="image/png"/>
</manifest><spine{' toc="ncx"' if version == 2 else ''}><itemref idref="cover"/>
<itemref idref="c1"/><itemref idref="c2"/></spine></package>"""
    nav = xhtml("Contents", '<nav xmlns:epub="http://www.idpf.org/2007/ops" epub:type="toc">'
                '<ol><li><a href="text/chapter%201.xhtml">The Storm</a></li>'
                '<li><a href="text/ch2.xhtml#start">Calm Water</a></li></ol></nav>')
    ncx = """<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>
<navPoint id="p1"><navLabel><text>The Storm</text></navLabel>
<content src="text/chapter%201.xhtml"/></navPoint>
<navPoint id="p2"><navLabel><text>Calm Water</text></navLabel>
<content src="text/ch2.xhtml#start"/></navPoint></navMap></ncx>"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml",
                   '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf" '
                   'media-type="application/oebps-package+xml"/></rootfiles></container>')
        if drm:
            z.writestr("META-INF/encryption.xml",
                       '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                       'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
                       '<enc:CipherData><enc:CipherReference URI="OEBPS/text/ch2.xhtml"/>'
                       '</enc:CipherData></enc:EncryptedData></encryption>')
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/nav.xhtml" if version == 3 else "OEBPS/toc.ncx",
                   nav if version == 3 else ncx)
        z.writestr("OEBPS/cover.xhtml", xhtml("Cover", '<img src="cover.png"/>'))
        z.writestr("OEBPS/text/chapter 1.xhtml", xhtml(
            "River Tales", "<h1>One</h1><p>The storm broke the old willow by the ford.</p>"))
        z.writestr("OEBPS/text/ch2.xhtml", xhtml(
            "River Tales", "<h1>Two</h1><p>By morning the water lay flat as glass.</p>"))
        z.writestr("OEBPS/cover.png", b"\x89PNG\r\n\x1a\n")
    return out.getvalue()


def ipynb_bytes() -> bytes:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {},
         "source": ["# Rainfall analysis\n", "We load the station records."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1,
         "source": "import csv\nprint('loaded 365 days')",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["loaded 365 days\n"]}]},
        {"cell_type": "markdown", "metadata": {}, "source": []},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "source": "total = 812",
         "outputs": [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                      "data": {"text/plain": ["812"], "image/png": "iVBORw0KGgo="}}]},
        {"cell_type": "markdown", "metadata": {},
         "source": "## Results\nRainfall peaked in March at the hill station."},
    ]}
    return json.dumps(nb).encode()


def email_message(subject: str, body: str, sender: str = "Alice <alice@example.org>",
                  date: str = "Tue, 03 Mar 2026 10:15:00 +0000") -> EmailMessage:
    m = EmailMessage()
    m["Subject"], m["From"], m["To"], m["Date"] = subject, sender, "bob@example.org", date
    m.set_content(body)
    return m


def eml_bytes() -> bytes:
    m = email_message("Budget for the canoe trip", "Hi Bob,\nthe ferry costs nine euros.\n")
    m.add_attachment(b"# Packing list\n\nBring dry bags and a spare paddle.\n",
                     maintype="text", subtype="markdown", filename="packing.md")
    m.add_attachment(docx_bytes(), maintype="application",
                     subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                     filename="report.docx")
    m.add_attachment(b"PK\x03\x04 not really", maintype="application", subtype="zip",
                     filename="photos.zip")
    m.add_attachment(email_message("Ferry strike", "No ferries run on Friday."))
    return m.as_bytes()


def mbox_file(path: Path) -> Path:
    box = mailbox.mbox(str(path))
    box.add(email_message("Ferry times", "The first ferry leaves at seven."))
    box.add(email_message("Lighthouse visit", "From the lighthouse we saw seals on the rocks.\n"
                          "Bring binoculars.", sender="Carol <carol@example.org>"))
    enc = EmailMessage()
    enc["Subject"], enc["From"] = "Private matter", "dave@example.org"
    enc.set_type("multipart/encrypted")
    enc.set_payload([])
    box.add(enc)
    box.flush()
    box.close()
    return path


# -- readers one by one ----------------------------------------------------------------


def _unit_of(doc, phrase: str) -> int:
    import bisect

    return bisect.bisect_right(doc.pages, doc.text.index(phrase))


def test_docx_paragraphs_headings_and_tables():
    d = read_bytes(Path("r.docx"), docx_bytes())
    assert (d.format, d.unit, d.title) == ("docx", "paragraph", "Trip report")
    assert "paddles\ttwelve\nlifejackets\teight" in d.text
    # paragraphs with text, in order: title, Budget, money, table, Next year, gorge
    assert len(d.pages) == 6
    assert _unit_of(d, "two canoes") == 3 and _unit_of(d, "lifejackets") == 4
    assert _unit_of(d, "Tessel gorge") == 6
    assert heading_path(d.headings, d.text.index("Tessel")) == "Trip report > Budget > Next year"
    # chunks run on across paragraphs but not into a new section (the title and the first
    # heading stay together)
    assert d.breaks == [d.pages[4]]


def test_pptx_one_unit_per_slide_with_notes_tables_and_groups():
    d = read_bytes(Path("deck.pptx"), pptx_bytes())
    assert (d.format, d.unit, d.title) == ("pptx", "slide", "Quarterly review")
    assert d.breaks == d.pages  # each slide is chunked alone
    assert len(d.pages) == 3
    assert _unit_of(d, "forty canoes") == 2 and _unit_of(d, "river festival") == 2
    assert _unit_of(d, "kayaks\tseven") == 3 and _unit_of(d, "harbour storage") == 3
    # the title first, once; then the body; then the notes
    assert d.text[d.pages[1]:d.pages[2]] == \
        "Canoe sales\nWe sold forty canoes in spring.\nMention the river festival.\n\n"
    assert heading_path(d.headings, d.text.index("forty")) == "Canoe sales"


def test_odt_paragraphs_spaces_lists_notes_and_tables():
    d = read_bytes(Path("g.odt"), odt_bytes())
    assert (d.format, d.unit, d.title) == ("odt", "paragraph", "My garden")
    assert "The tomatoes  ripened in August." in d.text  # text:s c=2
    assert "Mostly green ones." in d.text and "roses 1" not in d.text
    assert "slugs\tbeer traps" in d.text
    assert _unit_of(d, "Water the beans") == 3 and _unit_of(d, "slugs") == 6
    assert heading_path(d.headings, d.text.index("Aphids")) == "Garden diary > Pests"


@pytest.mark.parametrize("version", [3, 2])
def test_epub_chapters_titled_by_the_table_of_contents(version):
    d = read_bytes(Path("b.epub"), epub_bytes(version))
    assert (d.format, d.unit, d.title) == ("epub", "chapter", "River Tales")
    assert len(d.pages) == 2  # the cover has no text
    assert _unit_of(d, "willow") == 1 and _unit_of(d, "flat as glass") == 2
    assert heading_path(d.headings, d.text.index("flat as glass")) == "Calm Water"


def test_ipynb_cells_numbered_as_jupyter_shows_them():
    d = read_bytes(Path("n.ipynb"), ipynb_bytes())
    assert (d.format, d.unit, d.title) == ("ipynb", "cell", "Rainfall analysis")
    assert len(d.pages) == 5
    assert _unit_of(d, "print('loaded") == 2
    assert d.text.count("loaded 365 days") == 2  # the source and its output
    assert _unit_of(d, "812\n\n812") == 4  # text/plain output kept, the image not
    assert "iVBOR" not in d.text
    assert _unit_of(d, "peaked in March") == 5  # the empty cell 3 still counts
    assert heading_path(d.headings, d.text.index("peaked")) == "Rainfall analysis > Results"


def test_eml_headers_body_metadata_and_attachments():
    d = read_bytes(Path("m.eml"), eml_bytes())
    assert (d.format, d.title, d.pages) == ("eml", "Budget for the canoe trip", None)
    assert d.metadata == {"subject": "Budget for the canoe trip",
                          "from": "Alice <alice@example.org>",
                          "date": "2026-03-03T10:15:00+00:00"}
    assert d.text.startswith("Subject: Budget for the canoe trip\nFrom: Alice")
    assert d.text.count("the ferry costs nine euros") == 1  # the body once, not again as a part
    assert "Attachment: packing.md\n\n# Packing list" in d.text  # through the Markdown reader
    assert "Next summer we paddle down the Tessel gorge." in d.text  # the .docx attachment
    assert "Attachment: photos.zip" in d.text and "not really" not in d.text
    assert "Attachment: Ferry strike.eml\n\nSubject: Ferry strike\n" in d.text  # a forward
    assert "No ferries run on Friday." in d.text
    assert heading_path(d.headings, d.text.index("Tessel")) == \
        "Budget for the canoe trip > report.docx"
    for pos, level, name in d.headings:  # each heading's offset is where it is
        assert d.text[pos:].startswith("Subject: " if level == 1 else f"Attachment: {name}")


def test_eml_html_only_body():
    m = email_message("Menu", "x")
    m.set_content("<html><body><p>Soup of the day: leek.</p></body></html>", subtype="html")
    d = read_bytes(Path("h.eml"), m.as_bytes())
    assert "Soup of the day: leek." in d.text and "<p>" not in d.text


def test_mbox_one_unit_per_message(tmp_path):
    d = read_file(mbox_file(tmp_path / "inbox.mbox"))
    assert (d.format, d.unit, d.breaks) == ("mbox", "message", d.pages)
    assert len(d.pages) == 3
    assert _unit_of(d, "first ferry") == 1 and _unit_of(d, "seals") == 2
    # the mailbox module escapes a body line "From ..." as ">From ..."; it reads back as written
    assert "From the lighthouse we saw seals" in d.text and ">From the" not in d.text
    assert heading_path(d.headings, d.text.index("seals")) == "Lighthouse visit"
    assert _unit_of(d, "Private matter") == 3  # encrypted: its headers only
    assert [d.text[p:].split("\n", 1)[0] for p in d.pages] == [
        "Subject: Ferry times", "Subject: Lighthouse visit", "Subject: Private matter"]


# -- bad files -------------------------------------------------------------------------


def bad_files() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, the reason it is skipped with)."""
    docx, pptx, odt, epub = docx_bytes(), pptx_bytes(), odt_bytes(), epub_bytes()
    odt_damaged = bytearray(odt)
    i = odt.index(b"content.xml") + 60  # inside content.xml's compressed data
    odt_damaged[i:i + 40] = b"\x00" * 40
    return {
        "truncated.docx": (docx[: len(docx) // 2], "broken .docx file (truncated or damaged"),
        "locked.docx": (encrypt_office(docx), "password-protected .docx file"),
        "text.docx": (b"just some text, named .docx", "not a .docx file (not a zip archive)"),
        "deck.docx": (pptx, "not a .docx file (no word/document.xml inside)"),
        "truncated.pptx": (pptx[: len(pptx) // 2], "broken .pptx file (truncated or damaged"),
        "locked.pptx": (encrypt_office(pptx), "password-protected .pptx file"),
        "word.pptx": (docx, "not a .pptx file (no ppt/presentation.xml inside)"),
        "truncated.odt": (odt[:-30], "broken .odt file (truncated or damaged zip)"),
        "damaged.odt": (bytes(odt_damaged), "broken .odt file ("),
        "locked.odt": (odt_bytes(encrypted=True), "password-protected .odt file"),
        "word.odt": (docx, "not a .odt file (no content.xml inside)"),
        "truncated.epub": (epub[:-30], "broken .epub file (truncated or damaged zip)"),
        "drm.epub": (epub_bytes(drm=True), "encrypted .epub file (DRM)"),
        "text.epub": (b"<html>not a book</html>", "not a .epub file (not a zip archive)"),
        "truncated.ipynb": (ipynb_bytes()[:100], "broken notebook (not JSON"),
        "list.ipynb": (b"[1, 2, 3]", "not a Jupyter notebook (no cells)"),
        "binary.eml": (b"\x00\x01\x02" * 20, "binary file"),
        "notes.eml": (b"just a note\nwith no headers\n", "not an e-mail message"),
        "secret.eml": (b"From: a@example.org\nSubject: s\nContent-Type: multipart/encrypted; "
                       b'boundary="b"\n\n--b\n\n-----BEGIN PGP MESSAGE-----\n--b--\n',
                       "encrypted message (PGP or S/MIME)"),
        "notes.mbox": (b"Subject: no From_ line\n\nhello\n", "not an mbox file"),
    }


def test_every_bad_file_raises_its_reason():
    for name, (data, reason) in bad_files().items():
        with pytest.raises(ReadError) as e:
            read_bytes(Path(name), data)
        assert str(e.value).startswith(reason), (name, str(e.value))


def test_zip_bomb_is_refused(monkeypatch):
    from searchkit.readers import base

    monkeypatch.setattr(base, "MAX_UNPACKED", 1000)
    with pytest.raises(ReadError, match="unpacks to over"):
        read_bytes(Path("big.odt"), odt_bytes())


def test_missing_package_is_a_skip_reason_not_a_crash(monkeypatch):
    deck = pptx_bytes()
    monkeypatch.setitem(sys.modules, "pptx", None)  # as if python-pptx were not installed
    with pytest.raises(ReadError, match=r"^needs package python-pptx \(pip install python-pptx\)"):
        read_bytes(Path("deck.pptx"), deck)
    r = CliRunner().invoke(cli, ["formats", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    row = next(f for f in info["formats"] if f["extension"] == ".pptx")
    assert (row["ready"], row["missing"]) == (False, ["python-pptx"])
    pkg = next(p for p in info["packages"] if p["package"] == "python-pptx")
    assert (pkg["installed"], pkg["version"], pkg["enables"]) == (False, None, [".pptx"])
    text = CliRunner().invoke(cli, ["formats"]).output
    assert any(line.startswith("pptx ") and line.endswith("needs package python-pptx")
               for line in text.splitlines())
    assert any("python-pptx" in line and "not installed" in line for line in text.splitlines())


# -- through the index and `search query` ----------------------------------------------


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "report.docx").write_bytes(docx_bytes())
    (d / "deck.pptx").write_bytes(pptx_bytes())
    (d / "garden.odt").write_bytes(odt_bytes())
    (d / "tales.epub").write_bytes(epub_bytes())
    (d / "rain.ipynb").write_bytes(ipynb_bytes())
    (d / "trip.eml").write_bytes(eml_bytes())
    mbox_file(d / "inbox.mbox")
    return d


def _index(folder, idx, *extra):
    r = CliRunner().invoke(cli, ["index", str(folder), "--index", str(idx),
                                 "--encoder", "hashing-test", "--json", *extra])
    return r.exit_code, json.loads(r.output) if r.output.startswith("{") else r.output


def _query(idx, text, *extra):
    r = CliRunner().invoke(cli, ["query", text, "--index", str(idx), "--method", "dense",
                                 "-k", "1", *extra])
    assert r.exit_code == 0, r.output
    return r.output


LOCATIONS = [  # a query, where its answer is, and the heading shown with it
    ("sold forty canoes in spring", "deck.pptx#slide=2", "Canoe sales"),
    ("rainfall peaked in march at the hill station", "rain.ipynb#cell=5",
     "Rainfall analysis > Results"),
    ("from the lighthouse we saw seals on the rocks", "inbox.mbox#message=2",
     "Lighthouse visit"),
    ("by morning the water lay flat as glass", "tales.epub#chapter=2", "Calm Water"),
    # Word and ODT: chunks run on across paragraphs but break at a section's heading; a
    # chunk's location is the paragraph it starts in (a title and the first heading stay
    # together)
    ("aphids gathered on the roses", "garden.odt#paragraph=4", "Garden diary > Pests"),
    ("spent the money on two canoes and a tent", "report.docx#paragraph=1", "Trip report"),
    ("next summer we paddle down the tessel gorge", "report.docx#paragraph=5",
     "Trip report > Budget > Next year"),
]


def test_index_and_query_show_each_format_location(tmp_path, folder, hashing):
    idx = tmp_path / "idx"
    code, report = _index(folder, idx)
    assert code == 0, report
    assert sorted(Path(p).name for p in report["new"]) == sorted(
        p.name for p in folder.iterdir())
    for query, where, heading in LOCATIONS:
        hit = json.loads(_query(idx, query, "--json"))["hits"][0]
        assert f"{hit['path']}#{hit['unit']}={hit['page']}".endswith("/" + where), (query, hit)
        assert hit["heading"] == heading, (query, hit["heading"])
        text = _query(idx, query)
        assert text.lstrip().startswith("1. ") and where in text.splitlines()[0], text
    with Index.open(idx) as ix:
        eml = ix.store.document_by_path(str(folder / "trip.eml"))
        assert json.loads(eml["metadata"])["from"] == "Alice <alice@example.org>"
        assert [h.path for h in ix.search("nine euros ferry", k=1, method="dense",
                                          metadata={"from": "Alice <alice@example.org>"})] \
            == [str(folder / "trip.eml")]
        units = {Path(d["path"]).name: d["unit"] for d in ix.documents()}
    assert units == {"report.docx": "paragraph", "deck.pptx": "slide", "garden.odt": "paragraph",
                     "tales.epub": "chapter", "rain.ipynb": "cell", "trip.eml": None,
                     "inbox.mbox": "message"}


def test_slides_are_chunked_alone(tmp_path, folder, hashing):
    idx = tmp_path / "idx"
    _index(folder, idx)
    with Index.open(idx) as ix:
        doc = ix.store.document_by_path(str(folder / "deck.pptx"))
        rows = list(ix.store.db.query("SELECT page, text FROM chunks WHERE doc_id = ? "
                                      "ORDER BY ord", [doc["id"]]))
    assert [r["page"] for r in rows] == [1, 2, 3]
    assert rows[1]["text"].startswith("Canoe sales") and "Revenue" not in rows[1]["text"]


def test_bad_files_are_skipped_with_reasons_while_good_ones_index(tmp_path, folder, hashing,
                                                                   monkeypatch):
    bad = bad_files()
    for name, (data, _) in bad.items():
        (folder / name).write_bytes(data)
    (folder / "other.pptx").write_bytes(pptx_bytes())
    monkeypatch.setitem(sys.modules, "pptx", None)
    code, report = _index(folder, tmp_path / "idx")
    assert code == 3, report
    got = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    expected = {name: reason for name, (_, reason) in bad.items()}
    # python-pptx "missing": the good decks are skipped for it; the bad ones are named bad
    # before the package is needed
    expected["deck.pptx"] = expected["other.pptx"] = "needs package python-pptx"
    assert set(got) == set(expected)
    for name, reason in expected.items():
        assert got[name].startswith(reason), (name, got[name])
    assert {Path(p).name for p in report["new"]} == {
        "report.docx", "garden.odt", "tales.epub", "rain.ipynb", "trip.eml", "inbox.mbox"}


# -- storage: the unit column and indexes from before it -------------------------------


def test_hit_location_per_unit():
    base = dict(rank=1, score=1.0, chunk_id=1, doc_id=1, title=None, text="t", start_char=0,
                end_char=1, start_line=4, end_line=6)
    assert Hit(path="a.pdf", page=3, **base).location == "a.pdf#page=3"  # unit unknown
    assert Hit(path="d.pptx", page=2, unit="slide", **base).location == "d.pptx#slide=2"
    assert Hit(path="n.txt", **base).location == "n.txt:4-6"


def test_index_from_before_the_unit_column_still_reads(tmp_path, folder, hashing):
    idx = tmp_path / "idx"
    _index(folder, idx)
    con = sqlite3.connect(idx / "index.db")
    try:
        con.execute("ALTER TABLE documents DROP COLUMN unit")
    except sqlite3.OperationalError as e:  # SQLite before 3.35
        pytest.skip(f"cannot drop a column here: {e}")
    con.execute("DELETE FROM _migrations WHERE name = 'm002_document_unit'")
    con.commit()
    con.close()
    with Index.open(idx, readonly=True) as ix:  # read-only: not migrated
        hit = ix.search("sold forty canoes in spring", k=1, method="dense")[0]
    assert (hit.unit, hit.page, hit.location.endswith("deck.pptx#page=2")) == (None, 2, True)
    with Index.open(idx, readonly=False) as ix:  # a writer migrates it
        cols = [r[1] for r in ix.store.db.execute("PRAGMA table_info(documents)")]
    assert "unit" in cols


def test_chunk_text_breaks(hashing):
    from searchkit.config import ChunkSettings

    text = "alpha beta\ngamma\n\ndelta epsilon\n\nzeta eta theta"
    pages = [0, 18, 18, 33]  # unit 2 is empty: it starts where unit 3 does
    tok, settings = hashing.tokenizer, ChunkSettings(max_tokens=64, overlap=0)
    spans = chunk_text(text, tok, settings, pages, breaks=pages)
    assert [(text[s.start:s.end], s.page, s.start_line, s.end_line) for s in spans] == [
        ("alpha beta\ngamma", 1, 1, 2), ("delta epsilon", 3, 4, 4), ("zeta eta theta", 4, 6, 6)]
    assert [(s.page, text[s.start:s.end]) for s in chunk_text(text, tok, settings, pages,
                                                              breaks=[33])] == [
        (1, "alpha beta\ngamma\n\ndelta epsilon"), (4, "zeta eta theta")]
    whole = chunk_text(text, tok, settings, pages)
    assert len(whole) == 1 and whole[0].page == 1


# -- the registry and third-party readers ----------------------------------------------

PLUGIN = '''
from searchkit.readers import Extracted

EXTENSIONS = ("acme", ".ACME2")
UNIT = "record"


def read(data):
    records = data.decode().split("\\n%%\\n")
    starts, pos = [], 0
    for r in records:
        starts.append(pos)
        pos += len(r) + 2
    return Extracted(text="\\n\\n".join(records), format="acme", pages=starts,
                     breaks=starts)
'''


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry as if no entry point had been loaded yet; restored afterwards."""
    monkeypatch.setattr(readers, "READERS", dict(readers.READERS))
    monkeypatch.setattr(readers, "REGISTRY", dict(readers.REGISTRY))
    monkeypatch.setattr(readers, "PLUGIN_ERRORS", [])
    monkeypatch.setattr(readers, "_plugins_loaded", False)


def _plugin_dist(site: Path, dist: str, entry_points: str) -> None:
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[searchkit.readers]\n{entry_points}\n")


def test_entry_point_reader_is_registered_and_used(tmp_path, monkeypatch, fresh_registry,
                                                   hashing):
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_reader.py").write_text(PLUGIN)
    (site / "broken_reader.py").write_text("raise ImportError('needs libacme')\n")
    _plugin_dist(site, "acme-reader", "acme = acme_reader")
    _plugin_dist(site, "broken-reader", "broken = broken_reader")
    monkeypatch.syspath_prepend(str(site))
    d = tmp_path / "docs"
    d.mkdir()
    (d / "log.acme").write_text("kettle boiled over\n%%\nthe cat chased a moth\n%%\nrain")
    code, report = _index(d, tmp_path / "idx")
    assert code == 0, report
    assert [Path(p).name for p in report["new"]] == ["log.acme"]
    reader = readers.READERS[".acme2"]
    assert (reader.name, reader.unit, reader.source) == ("acme", "record", "acme-reader")
    assert "log.acme#record=2" in _query(tmp_path / "idx", "the cat chased a moth")
    assert readers.PLUGIN_ERRORS == [
        "broken (broken-reader): ImportError: needs libacme"]
    r = CliRunner().invoke(cli, ["formats"])
    assert r.exit_code == 0
    line = next(x for x in r.output.splitlines() if x.startswith("acme"))
    assert line.split() == ["acme", "(acme-reader)", "record", ".acme", ".acme2", "ready"]
    assert "Plugin failed to load: broken (broken-reader): ImportError: needs libacme" \
        in r.output


def test_search_formats_lists_every_reader_and_package():
    r = CliRunner().invoke(cli, ["formats", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    by_ext = {f["extension"]: (f["reader"], f["location"]) for f in info["formats"]}
    assert {e: by_ext[e] for e in (".txt", ".md", ".pdf", ".docx", ".odt", ".epub", ".ipynb",
                                   ".eml", ".mbox", ".pptx")} == {
        ".txt": ("text", "line"), ".md": ("markdown", "line"), ".pdf": ("pdf", "page"),
        ".docx": ("docx", "paragraph"), ".odt": ("odt", "paragraph"),
        ".epub": ("epub", "chapter"), ".ipynb": ("ipynb", "cell"), ".eml": ("eml", "line"),
        ".mbox": ("mbox", "message"), ".pptx": ("pptx", "slide")}
    assert {p["package"]: p["enables"] for p in info["packages"]} == {
        "python-docx": [".docx"], "python-pptx": [".pptx"]}
    assert all(p["installed"] and p["version"] for p in info["packages"])  # the test extra
    text = CliRunner().invoke(cli, ["formats"]).output.splitlines()
    assert text[0].split() == ["Reader", "Location", "Extensions", "Status"]
    assert [ln.split()[:2] for ln in text if ln.startswith(("docx ", "epub ", "pptx "))] == [
        ["docx", "paragraph"], ["epub", "chapter"], ["pptx", "slide"]]
    assert "Optional packages (pip install 'searchkit[formats]' installs them all):" in text


def test_search_formats_help_has_examples():
    r = CliRunner().invoke(cli, ["formats", "--help"])
    assert r.exit_code == 0
    assert "Usage: " in r.output and "search formats --json" in r.output
