"""Small result types shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Hit:
    """One ranked passage."""

    rank: int
    score: float
    chunk_id: int
    doc_id: int
    path: str
    title: str | None
    text: str
    start_char: int
    end_char: int
    start_line: int
    end_line: int
    page: int | None = None
    heading: str | None = None
    method: str = "dense"
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans in ``text``
    unit: str | None = None  # what ``page`` counts: page, slide, cell, message, chapter ...
    #: ``score`` on a 0-1 scale whose meaning does not depend on the query (see
    #: :func:`searchkit.query.relevance`); None where the method has no such scale
    relevance: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citation"] = self.citation
        d["highlights"] = [list(s) for s in self.highlights]
        # the same spans as offsets into the whole document's text
        d["highlights_in_document"] = [[self.start_char + a, self.start_char + b]
                                       for a, b in self.highlights]
        return d

    @property
    def location(self) -> str:
        """``path:line``; ``path#UNIT=N`` in documents of units (``#page=3`` of a PDF,
        ``#slide=2``, ``#cell=5``, ``#message=4``, ``#chapter=1``, ``#paragraph=12``)."""
        if self.page is not None:
            return f"{self.path}#{self.unit or 'page'}={self.page}"
        if self.start_line == self.end_line:
            return f"{self.path}:{self.start_line}"
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def line_and_page(self, offset: int) -> tuple[int, int | None]:
        """The line (and PDF page) of character ``offset`` of ``text``. A PDF's pages are
        joined by a blank line (readers/pdf.py) and pypdf's text has none inside a page, so
        each blank line after the chunk's first page starts the next page."""
        line = self.start_line + self.text.count("\n", 0, offset)
        if self.page is None or self.unit not in (None, "page"):
            return line, self.page  # slides, cells, messages ...: a chunk stays in its unit
        return line, self.page + self.text.count("\n\n", 0, offset)

    @property
    def citation(self) -> str:
        """Where the first highlighted sentence stands: ``path:line``, ``path#page=N`` for a
        PDF; the whole hit's :attr:`location` when nothing is highlighted."""
        if not self.highlights:
            return self.location
        line, page = self.line_and_page(min(a for a, _ in self.highlights))
        return (f"{self.path}#{self.unit or 'page'}={page}" if page is not None
                else f"{self.path}:{line}")


@dataclass(frozen=True)
class Answer:
    """What ``Index.ask`` found: an answer sentence (or short span) with its evidence, or
    ``answered=False`` when the evidence is below the calibrated threshold."""

    question: str
    answered: bool
    confidence: float  # the best sentence's score; compare with ``threshold``
    threshold: float
    text: str | None = None  # the answer sentence(s), whitespace collapsed
    citation: str | None = None  # ``path:line`` (``path#page=N`` for PDF pages)
    path: str | None = None
    line: int | None = None
    page: int | None = None
    passage: str | None = None  # the chunk around the answer
    span: tuple[int, int] | None = None  # the answer's character span in ``passage``
    hit: Hit | None = None  # the chunk the answer comes from
    supporting: list[Hit] = field(default_factory=list)  # best passages of other documents
    #: when not answered: the passage of the best sentence, that sentence highlighted (where
    #: to read on; not an answer)
    closest: Hit | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["span"] = list(self.span) if self.span else None
        d["hit"] = self.hit.to_dict() if self.hit else None
        d["closest"] = self.closest.to_dict() if self.closest else None
        d["supporting"] = [h.to_dict() for h in self.supporting]
        return d


@dataclass(frozen=True)
class Skipped:
    """A file that indexing did not take, and why."""

    path: str
    reason: str

    @property
    def is_problem(self) -> bool:
        """False for files that are simply not documents (unsupported types)."""
        return not self.reason.startswith("unsupported file type")


@dataclass
class IndexReport:
    """What one ``add_paths`` / sync run did."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def files_indexed(self) -> int:
        return len(self.new) + len(self.changed) + len(self.renamed)

    @property
    def problems(self) -> list[Skipped]:
        return [s for s in self.skipped if s.is_problem]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        d["renamed"] = [list(r) for r in self.renamed]
        d["files_indexed"] = self.files_indexed
        d["chunks_per_second"] = (
            round(self.chunks_embedded / self.seconds, 2) if self.seconds > 0 else None
        )
        return d
