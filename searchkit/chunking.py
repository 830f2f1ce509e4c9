"""Cut text into chunks that fit the encoder, on paragraph/sentence boundaries where possible.

Pure functions. The text is tokenised once with the encoder's own tokenizer (with character
offsets); a chunk is a run of tokens whose character span ``text[start:end]`` is what gets
embedded, so offsets always slice back to the chunk text and no chunk is ever truncated by the
encoder.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from .config import ChunkSettings

_PARA = re.compile(r"\n[ \t]*\n")
_SENT = re.compile(r"(?<=[.!?:;。])[\"')\]]*\s+|\n")


@dataclass(frozen=True)
class ChunkSpan:
    start: int  # character offsets into the text
    end: int
    n_tokens: int  # special tokens included
    start_line: int  # 1-based, inclusive
    end_line: int
    page: int | None = None  # 1-based, for paged formats


def _token_offsets(text: str, tokenizer) -> list[tuple[int, int]]:
    enc = tokenizer.encode(text, add_special_tokens=False)
    return [(a, b) for a, b in enc.offsets if b > a]


def _is_space(c: str) -> bool:
    """Whitespace as BERT's tokenizer sees it (Python's ``isspace`` also counts the control
    characters ``\x1c``-``\x1f``, which the tokenizer drops instead)."""
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _boundary_scores(text: str, offs: list[tuple[int, int]]) -> list[int]:
    """Score of cutting *before* token i: 3 paragraph, 2 sentence/line, 1 word, 0 inside a word."""
    para = {m.end() for m in _PARA.finditer(text)}
    sent = {m.end() for m in _SENT.finditer(text)}
    scores = [0] * (len(offs) + 1)
    scores[0] = scores[len(offs)] = 3
    for i in range(1, len(offs)):
        start, prev_end = offs[i][0], offs[i - 1][1]
        gap = text[prev_end:start]
        if start == prev_end or not any(map(_is_space, gap)):
            # inside a word: a subword piece, glued punctuation, or characters the
            # tokenizer drops (control characters: "0\x1fErosion" is read as one word)
            continue
        if start in para or "\n\n" in gap.replace("\r", "") or _PARA.search(gap):
            scores[i] = 3
        elif start in sent or "\n" in gap:
            scores[i] = 2
        else:
            scores[i] = 1
    return scores


def chunk_text(
    text: str,
    tokenizer,
    settings: ChunkSettings = ChunkSettings(),
    pages: list[int] | None = None,
    breaks: list[int] | None = None,
) -> list[ChunkSpan]:
    """Split ``text`` into chunks of at most ``settings.max_tokens`` tokens (special tokens
    included). Consecutive chunks overlap by up to ``settings.overlap`` tokens, starting the
    overlap at a sentence or word boundary. Text with no tokens yields no chunks. No chunk
    runs across an offset in ``breaks`` (a new slide, cell, message, section ...)."""
    if breaks:
        return _chunk_segments(text, tokenizer, settings, pages, breaks)
    offs = _token_offsets(text, tokenizer)
    if not offs:
        return []
    budget = settings.max_tokens - 2  # [CLS] and [SEP]
    scores = _boundary_scores(text, offs)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    n = len(offs)
    spans: list[ChunkSpan] = []
    i = 0
    while i < n:
        end = min(i + budget, n)
        if end < n:
            end = _best_cut(scores, i, end, budget)
        start_c, end_c = offs[i][0], offs[end - 1][1]
        n_tokens = end - i + 2
        if (i > 0 and scores[i] == 0) or (end < n and scores[end] == 0):
            # a hard cut inside a word: its pieces re-tokenise differently on their own
            # ("##ious" becomes "io", "##us"), so count the chunk's text as it will be read
            n_tokens = len(tokenizer.encode(text[start_c:end_c]).ids)
            while n_tokens > settings.max_tokens and end - 1 > i:
                end -= 1
                end_c = offs[end - 1][1]
                n_tokens = len(tokenizer.encode(text[start_c:end_c]).ids)
        page = bisect.bisect_right(pages, start_c) if pages else None
        spans.append(ChunkSpan(
            start=start_c, end=end_c, n_tokens=n_tokens,
            start_line=bisect.bisect_right(line_starts, start_c),
            end_line=bisect.bisect_right(line_starts, max(start_c, end_c - 1)),
            page=page,
        ))
        if end >= n:
            break
        i = _next_start(scores, i, end, settings.overlap)
    return spans


def _chunk_segments(text, tokenizer, settings, pages, breaks: list[int]) -> list[ChunkSpan]:
    out = []
    cuts = sorted({0, len(text), *(b for b in breaks if 0 < b < len(text))})
    for a, b in zip(cuts, cuts[1:]):
        lines = text.count("\n", 0, a)
        for s in chunk_text(text[a:b], tokenizer, settings):
            start = s.start + a
            out.append(ChunkSpan(start, s.end + a, s.n_tokens, s.start_line + lines,
                                 s.end_line + lines,
                                 page=bisect.bisect_right(pages, start) if pages else None))
    return out


def _best_cut(scores: list[int], i: int, end: int, budget: int) -> int:
    """The cut in ``(i, end]`` with the strongest boundary, preferring the latest one, but
    never shorter than half the budget unless nothing else exists."""
    floor = i + max(1, budget // 2)
    for level in (3, 2, 1):
        for j in range(end, floor - 1, -1):
            if scores[j] >= level:
                return j
    for j in range(end, i, -1):  # a very long word: any word boundary, else a hard cut
        if scores[j] >= 1:
            return j
    return end


def _next_start(scores: list[int], i: int, end: int, overlap: int) -> int:
    if overlap <= 0:
        return end
    lo = max(i + 1, end - overlap)
    for level in (2, 1):
        for j in range(lo, end):
            if scores[j] >= level:
                return j
    return end


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1
