"""HTML: visible text with block elements on their own lines; <title> as the title; <h1>-<h6>
give each chunk its heading path (as Markdown's headings do)."""

from __future__ import annotations

import re

from .base import Extracted, decode

EXTENSIONS = (".html", ".htm", ".xhtml")

_BLOCKS = {"p", "div", "section", "article", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5",
           "h6", "pre", "blockquote", "dd", "dt", "table", "ul", "ol", "header", "footer",
           "main", "nav", "aside", "figcaption", "td", "th"}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
#: private-use characters marking where each heading level starts while the text is built
_MARKS = {chr(0xE001 + n): n + 1 for n in range(6)}
_MARKED = re.compile("[" + "".join(_MARKS) + "]")


def read_html(data: bytes) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else None
    for string in soup.find_all(string=_MARKED):  # the page's own use of the marks
        string.replace_with(_MARKED.sub("", string))
    for tag in soup.find_all(_HEADINGS):  # a mark before its first visible character
        first = next((t for t in tag.find_all(string=True) if t.strip()), None)
        if first is not None:
            first.replace_with(chr(0xE000 + int(tag.name[1])) + first.lstrip())
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    text, headings = _headings(text)
    # no section breaks: chunks that stop at every heading lost on the SQLite docs' dev
    # questions (hybrid top 5: 46 -> 45 of 60; benchmarks/RESULTS_eval.md, "Long documents")
    return Extracted(text=text, title=title or None, format="html", headings=headings)


def _headings(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The text without its heading marks, and the headings as ``(offset, level, title)``
    (a heading's title: the rest of its line; an empty one is left out)."""
    parts, headings, pos, out_len = [], [], 0, 0
    for m in _MARKED.finditer(marked):
        parts.append(marked[pos:m.start()])
        out_len += m.start() - pos
        pos = m.end()
        end = marked.find("\n", pos)
        raw = _MARKED.sub("", marked[pos:end if end >= 0 else len(marked)])
        if raw.strip():
            headings.append((out_len, _MARKS[m.group()], raw.strip()))
    parts.append(marked[pos:])
    return "".join(parts), headings


read = read_html
