"""A mailbox (.mbox) through the standard library: one unit per message, each read as an
.eml is (an encrypted one by its headers alone); the subject heads each message. Messages
start at each "From " line, as Python's ``mailbox.mbox`` splits them."""

from __future__ import annotations

import re

from ..errors import ReadError
from .base import Extracted
from .eml import message_text, parse

EXTENSIONS = (".mbox",)
UNIT = "message"

_FROM_LINE = re.compile(rb"^From [^\r\n]*\r?\n", re.M)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.M)  # mboxrd escaping


def read(data: bytes) -> Extracted:
    if not data.startswith(b"From "):
        raise ReadError("not an mbox file (it does not start with a 'From ' line)")
    if b"\x00" in data[:8192]:
        raise ReadError("binary file")
    parts, pages, headings, pos = [], [], [], 0
    for raw in _FROM_LINE.split(data)[1:]:
        text, heads = message_text(parse(_QUOTED_FROM.sub(rb"\1", raw)), pos)
        pages.append(pos)
        parts.append(text)
        headings.extend(heads)
        pos += len(text) + 2
    return Extracted(text="\n\n".join(parts), format="mbox", pages=pages, headings=headings,
                     breaks=pages)
