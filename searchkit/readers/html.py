"""HTML: visible text with block elements on their own lines; <title> as the title."""

from __future__ import annotations

import re

from .base import Extracted, decode

EXTENSIONS = (".html", ".htm", ".xhtml")

_BLOCKS = {"p", "div", "section", "article", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5",
           "h6", "pre", "blockquote", "dd", "dt", "table", "ul", "ol", "header", "footer",
           "main", "nav", "aside", "figcaption", "td", "th"}


def read_html(data: bytes) -> Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else None
    return Extracted(text=text, title=title or None, format="html")


read = read_html
