from pathlib import Path

import pytest

from searchkit.errors import ReadError
from searchkit.readers import decode, heading_path, read_bytes, read_file

DOCS = Path(__file__).parent / "data" / "docs"


def test_markdown_title_and_headings():
    d = read_file(DOCS / "river.md")
    assert d.format == "markdown"
    assert d.title == "River walks"
    assert [h[2] for h in d.headings] == ["River walks", "Erosion", "Fishing"]
    pos = d.text.index("Anglers")
    assert heading_path(d.headings, pos) == "River walks > Fishing"
    assert heading_path(d.headings, d.text.index("clay")) == "River walks > Erosion"
    assert heading_path(d.headings, 0) == "River walks"


def test_markdown_heading_inside_code_fence_is_not_a_heading():
    d = read_bytes(Path("x.md"), b"# Real\n\n```\n# not a heading\n```\n\n## Sub\ntext\n")
    assert [h[2] for h in d.headings] == ["Real", "Sub"]


def test_html_title_text_and_no_script_or_style():
    d = read_file(DOCS / "page.html")
    assert d.format == "html"
    assert d.title == "Kitchen basics"
    assert "Knead the dough for ten minutes, until it springs back when pressed." in d.text
    assert "var x" not in d.text and "color:red" not in d.text
    # block elements stay apart: list items do not run together
    assert "flour\n\nwater" in d.text


def test_html_headings_give_heading_paths_at_their_offsets():
    html = ("<html><head><title>Guide</title></head><body><h1>Guide</h1>"
            "<h2>\n  Install <code>pkg</code></h2><p>Run the installer.</p>"
            "<h2><a name='use'></a> Use</h2><p>Call it.</p><h3> </h3>"
            "<h3>Flags \ue002x</h3><p>See below.</p></body></html>")
    d = read_bytes(Path("g.html"), html.encode())
    assert [(lvl, t) for _, lvl, t in d.headings] == [
        (1, "Guide"), (2, "Install pkg"), (2, "Use"), (3, "Flags x")]
    for pos, _, t in d.headings:  # offsets index the text, marks leave no trace
        assert d.text[pos:pos + len(t)] == t
    assert "\ue002" not in d.text and "\n\n\n" not in d.text
    assert heading_path(d.headings, d.text.index("Call it")) == "Guide > Use"
    assert heading_path(d.headings, d.text.index("See below")) == "Guide > Use > Flags x"
    assert d.breaks is None  # chunks run on across sections, as in Markdown


def test_pdf_pages_title_and_text():
    d = read_file(DOCS / "orchard.pdf")
    assert d.format == "pdf"
    assert d.title == "Orchard care"
    assert len(d.pages) == 2 and d.pages[0] == 0
    assert d.text[d.pages[1]:].startswith("Winter tasks.")
    assert "Prune the apple trees" in d.text[: d.pages[1]]


def test_text_and_rst_and_source():
    assert read_file(DOCS / "loans.txt").title is None
    assert read_file(DOCS / "notes" / "meeting.rst").title == "Planning meeting"
    src = read_file(DOCS / "notes" / "tool.py")
    assert "def to_fahrenheit" in src.text


def test_decode_fallbacks():
    assert decode("héllo".encode()) == "héllo"
    assert decode("\ufeffbom".encode()) == "bom"
    assert decode("café".encode("cp1252")) == "café"
    with pytest.raises(ReadError, match="binary"):
        decode(b"\x89PNG\x00\x00\x01")


@pytest.mark.parametrize("name,data,reason", [
    ("e.txt", b"", "empty"),
    ("e.txt", b"   \n\n", "empty"),
    ("b.pdf", b"%PDF-1.4 garbage", "broken PDF"),
    ("x.png", b"abc", "unsupported"),
])
def test_bad_inputs_raise_read_error(name, data, reason):
    with pytest.raises(ReadError, match=reason):
        read_bytes(Path(name), data)


def test_missing_file_is_a_read_error(tmp_path):
    with pytest.raises(ReadError, match="vanished"):
        read_file(tmp_path / "gone.txt")
