"""Plain text, reStructuredText and source code: the text as it is."""

from __future__ import annotations

from .base import Extracted, decode

EXTENSIONS = {
    ".txt", ".text", ".rst", ".org", ".adoc", ".tex", ".csv", ".tsv", ".log", ".ini", ".cfg",
    ".toml", ".yaml", ".yml", ".json", ".xml",
    # source code
    ".py", ".pyi", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".java", ".kt", ".scala", ".go", ".rs",
    ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".rb", ".php", ".swift", ".m", ".r", ".jl",
    ".lua", ".pl", ".sh", ".bash", ".zsh", ".sql", ".css", ".scss", ".vue", ".svelte",
}


def read_text(data: bytes) -> Extracted:
    text = decode(data)
    return Extracted(text=text, title=_first_line_title(text), format="text")


read = read_text


def _first_line_title(text: str) -> str | None:
    # An .rst title is a line underlined with = - ~ ...; plain text has no title.
    lines = text.lstrip("\ufeff").splitlines()[:4]
    for i in range(len(lines) - 1):
        line, under = lines[i].strip(), lines[i + 1].strip()
        if line and under and len(set(under)) == 1 and under[0] in "=-~^*#" and len(under) >= len(line):
            return line
    return None
