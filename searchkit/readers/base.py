"""What a reader returns, what a reader is, and the helpers every reader shares."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterator

from ..errors import ReadError

if TYPE_CHECKING:
    import zipfile

#: A zip-based document that would unpack to more than this is refused (a zip bomb).
MAX_UNPACKED = 512 * 1024 * 1024

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file Office encrypts into
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


@dataclass
class Extracted:
    """A document's text as searchkit indexes it.

    Attributes:
        text: the extracted text; chunk offsets index into it.
        title: the document's own title, where the format has one.
        format: reader name (``text``, ``markdown``, ``html``, ``pdf``, ``docx`` ...).
        pages: for formats in units (PDF pages, slides, cells, messages ...), the character
            offset where each unit starts (unit 1 first).
        headings: headings as ``(offset, level, title)`` in text order.
        unit: what ``pages`` count (``page``, ``slide``, ``cell`` ...); the registry fills in
            the reader's own when the reader leaves it ``None``.
        metadata: document metadata the format carries (an e-mail's subject, from, date);
            stored with the document, where metadata filters see it.
        breaks: offsets no chunk runs across: where each slide, cell, message or chapter
            starts (each is read alone), or each heading (a section); elsewhere chunks run
            on across units (PDF pages, paragraphs) and a chunk's unit is the one it starts in.
    """

    text: str
    title: str | None = None
    format: str = "text"
    pages: list[int] | None = None
    headings: list[tuple[int, int, str]] = field(default_factory=list)
    unit: str | None = None
    metadata: dict = field(default_factory=dict)
    breaks: list[int] | None = None


@dataclass(frozen=True)
class Reader:
    """One format: the extensions it reads and its ``read(data: bytes) -> Extracted``.

    A reader is written as a module (built in, or named by an entry point in the group
    ``searchkit.readers``) that defines ``EXTENSIONS`` and ``read``, and optionally ``NAME``,
    ``UNIT`` (what its ``Extracted.pages`` count) and ``REQUIRES`` (``{pip name: import
    name}`` of the optional packages it needs)."""

    name: str
    extensions: tuple[str, ...]
    read: Callable[[bytes], Extracted]
    unit: str | None = None  # None: a location is a line range
    requires: dict[str, str] = field(default_factory=dict)
    source: str = "searchkit"  # or the distribution that registered it

    @classmethod
    def from_module(cls, module, name: str | None = None, source: str = "searchkit") -> "Reader":
        exts = getattr(module, "EXTENSIONS", None)
        read = getattr(module, "read", None)
        if not exts or not callable(read):
            raise TypeError("a reader defines EXTENSIONS and read(data) -> Extracted")
        if isinstance(exts, str):
            exts = (exts,)
        exts = tuple(sorted({("." + e.lstrip(".")).lower() for e in exts}))
        name = getattr(module, "NAME", None) or name or module.__name__.rsplit(".", 1)[-1]
        return cls(name, exts, read, getattr(module, "UNIT", None),
                   dict(getattr(module, "REQUIRES", {}) or {}), source)

    def missing(self) -> list[str]:
        """The pip names of required packages that are not installed."""
        import importlib.util

        out = []
        for pip_name, module in self.requires.items():
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                out.append(pip_name)
        return out

    def __call__(self, data: bytes) -> Extracted:
        try:
            return self.read(data)
        except ImportError as e:  # readers import their packages once the file looks right
            missing = self.missing()
            if not missing:
                raise
            raise ReadError(f"needs package {', '.join(missing)} "
                            f"(pip install {' '.join(missing)})") from e


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 (with a BOM, or UTF-16 text without one whose
    every other byte is zero), else cp1252, else Latin-1. Binary data is refused."""
    wide = _wide_encoding(data)
    if wide:
        try:
            return data.decode(wide).lstrip("\ufeff")
        except UnicodeDecodeError:
            raise ReadError(f"binary file (not valid {wide.upper()})") from None
    if b"\x00" in data[:8192]:
        raise ReadError("binary file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@contextmanager
def broken(kind: str) -> Iterator[None]:
    """Turn whatever a parser raises on a damaged file into ``ReadError("broken KIND (...)")``
    (parsers raise many kinds on broken files)."""
    try:
        yield
    except ReadError:
        raise
    except Exception as e:
        raise ReadError(f"broken {kind} ({type(e).__name__}: {str(e)[:80]})") from e


def open_zip(data: bytes, kind: str, needs: str) -> "zipfile.ZipFile":
    """``data`` as a zip archive holding the member ``needs`` (a ``kind`` file such as
    ``.docx``), else a :class:`ReadError` saying what it is instead: password-protected
    (Office encrypts into a compound file), not a zip, truncated, another format, or a zip
    that would unpack to more than :data:`MAX_UNPACKED`."""
    import io
    import zipfile

    if data[:8] == _OLE:
        if _ENCRYPTED_PACKAGE in data:
            raise ReadError(f"password-protected {kind} file")
        raise ReadError(f"not a {kind} file (an older binary Office file)")
    if data[:2] != b"PK":
        raise ReadError(f"not a {kind} file (not a zip archive)")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = set(z.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise ReadError(f"broken {kind} file (truncated or damaged zip)") from e
    if needs not in names:
        raise ReadError(f"not a {kind} file (no {needs} inside)")
    if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED:
        raise ReadError(f"{kind} file unpacks to over {MAX_UNPACKED >> 20} MB")
    return z


def join_units(parts: list[str]) -> tuple[str, list[int]]:
    """Units' texts joined by blank lines, with the offset where each starts. An empty unit
    starts where the next one does, so numbering stays that of the document."""
    text, pages, pos = [], [], 0
    for t in parts:
        pages.append(pos)
        if t:
            text.append(t)
            pos += len(t) + 2
    return "\n\n".join(text), pages


def section_breaks(pages: list[int], headings: list[tuple[int, int, str]]) -> list[int]:
    """Where a heading starts a section, as chunk breaks; a heading right after another (a
    title, then the first heading) stays with it, so no chunk is a heading alone."""
    starts = {h[0] for h in headings}
    return [p for k, p in enumerate(pages) if k and p in starts and pages[k - 1] not in starts]


def _wide_encoding(data: bytes) -> str | None:
    """``utf-32``/``utf-16`` when ``data`` starts with their byte order mark, or looks like
    BOM-less UTF-16 (mostly Latin text: one byte of each pair zero, the other not)."""
    import codecs

    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:8192]
    if len(head) >= 16 and len(head) % 2 == 0:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) == len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) == len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None
