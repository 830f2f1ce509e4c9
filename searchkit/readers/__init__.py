"""One reader per format behind one function, :func:`read_file`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import ReadError
from .base import Extracted, decode
from .html import read_html
from .markdown import heading_path, read_markdown
from .pdf import read_pdf
from .text import read_text

TEXT_EXTENSIONS = {
    ".txt", ".text", ".rst", ".org", ".adoc", ".tex", ".csv", ".tsv", ".log", ".ini", ".cfg",
    ".toml", ".yaml", ".yml", ".json", ".xml",
    # source code
    ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".scala", ".go", ".rs",
    ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".m", ".r", ".jl",
    ".lua", ".pl", ".sh", ".bash", ".zsh", ".sql", ".css", ".scss", ".vue", ".svelte",
}

READERS: dict[str, Callable[[bytes], Extracted]] = {
    **{ext: read_text for ext in TEXT_EXTENSIONS},
    ".md": read_markdown, ".markdown": read_markdown, ".mdx": read_markdown,
    ".html": read_html, ".htm": read_html, ".xhtml": read_html,
    ".pdf": read_pdf,
}


def supported(path: Path) -> bool:
    return path.suffix.lower() in READERS


def read_bytes(path: Path, data: bytes) -> Extracted:
    """Extract ``data`` (the bytes of ``path``) with the reader its extension names."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ReadError(f"unsupported file type {path.suffix or '(none)'}")
    if not data.strip():
        raise ReadError("empty file")
    doc = reader(data)
    if not doc.text.strip():
        raise ReadError("no text")
    return doc


def read_file(path: str | Path, max_bytes: int | None = None) -> Extracted:
    """Read one regular file of at most ``max_bytes`` (default: the ``--max-file-mb``
    setting). Raises :class:`ReadError` with a short reason when it can't."""
    from ..config import max_file_bytes
    from ..fileio import read_limited

    path = Path(path)
    data = read_limited(path, max_file_bytes() if max_bytes is None else max_bytes)
    return read_bytes(path, data)


__all__ = ["Extracted", "read_file", "read_bytes", "supported", "heading_path", "decode", "READERS"]
