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
