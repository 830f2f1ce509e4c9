"""One e-mail message (.eml) through the standard library: subject, from, to and date
head the text (subject, from and date are the document's metadata too), then the body
(plain text, else HTML), then each attachment a reader of its own extension can read."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ..errors import ReadError
from .base import Extracted

if TYPE_CHECKING:  # the email package loads when a message is read
    from email.message import EmailMessage

EXTENSIONS = (".eml",)

_ENCRYPTED = {"multipart/encrypted", "application/pkcs7-mime", "application/x-pkcs7-mime"}


def read(data: bytes) -> Extracted:
    if b"\x00" in data[:8192]:
        raise ReadError("binary file")
    msg = parse(data)
    if not any(msg.get(h) for h in ("From", "To", "Subject", "Date", "Message-ID")):
        raise ReadError("not an e-mail message (no From, To, Subject or Date header)")
    if encrypted(msg):
        raise ReadError("encrypted message (PGP or S/MIME)")
    text, headings = message_text(msg)
    meta = metadata(msg)
    return Extracted(text=text, title=meta.get("subject"), format="eml", headings=headings,
                     metadata=meta)


def parse(data: bytes) -> EmailMessage:
    import email
    import email.policy

    return email.message_from_bytes(data, policy=email.policy.default)


def encrypted(msg: EmailMessage) -> bool:
    return msg.get_content_type() in _ENCRYPTED


def header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # a header too malformed for the policy to parse
        return None
    return " ".join(str(value).split()) or None if value is not None else None


def metadata(msg: EmailMessage) -> dict:
    import email.utils

    out = {k: header(msg, k) for k in ("subject", "from", "date")}
    try:
        when = email.utils.parsedate_to_datetime(out["date"]) if out["date"] else None
        out["date"] = when.isoformat() if when else None
    except (TypeError, ValueError):
        pass  # kept as written
    return {k: v for k, v in out.items() if v}


def message_text(msg: EmailMessage, offset: int = 0) -> tuple[str, list[tuple[int, int, str]]]:
    """The message as text, and its headings (subject at level 1, each attachment at 2)
    with offsets counted from ``offset``."""
    head = "\n".join(f"{k}: {v}" for k in ("Subject", "From", "To", "Date")
                     if (v := header(msg, k)))
    parts = [head]  # kept even when empty: the offsets below count it
    subject = header(msg, "Subject")
    headings = [(offset, 1, subject)] if subject else []
    if encrypted(msg):
        return head, headings
    body = _body(msg)
    pos = offset + len(head) + 2
    if body:
        parts.append(body)
        pos += len(body) + 2
    for name, text in _attachments(msg):
        chunk = f"Attachment: {name}\n\n{text}" if text else f"Attachment: {name}"
        headings.append((pos, 2, name))
        parts.append(chunk)
        pos += len(chunk) + 2
    return "\n\n".join(parts), headings


def _body_part(msg: EmailMessage):
    try:
        return msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        return None


def _body(msg: EmailMessage) -> str:
    part = _body_part(msg)
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset, broken transfer encoding
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        from .html import read_html

        return read_html(content.encode("utf-8")).text
    return content.strip()


def _attachments(msg: EmailMessage):
    """``(file name, text)`` of each attachment; the text is "" when no reader takes it. An
    attached message (a forward) is read as a message."""
    from . import read_bytes, supported

    body_part = _body_part(msg)
    for part in _leaves(msg):
        if part is body_part:
            continue
        if part.get_content_type() == "message/rfc822" and part.get_payload():
            inner = part.get_payload()[0]
            name = part.get_filename() or f"{header(inner, 'Subject') or 'message'}.eml"
            yield name, message_text(inner)[0].strip()
            continue
        name = part.get_filename()
        if not name:
            continue
        text = ""
        path = PurePath(name.replace("\\", "/")).name or "attachment"
        if supported(Path(path)):
            try:
                text = read_bytes(Path(path), part.get_payload(decode=True) or b"").text
            except Exception:  # an attachment it cannot read leaves the message readable
                text = ""
        yield path, text.strip()


def _leaves(part):
    """The parts that are not containers, an attached message counting as one."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        yield part
        return
    for inner in part.get_payload():
        yield from _leaves(inner)
