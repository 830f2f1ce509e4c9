"""Sentences: split text into sentence spans, score them against a query, mark the best.

The same scorer serves highlights in ``search query`` and answer selection in ``search ask``:
the contextual encoder's cosine between the query and each sentence, plus an IDF-weighted
word overlap (what the sentence shares of the query's rarer words). Spans are character
offsets into the text they came from, so ``text[a:b]`` is exactly the sentence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

# A sentence ends at . ! ? (plus closing quotes/brackets) before whitespace, or at a line
# break (headings, list items and table rows are lines of their own).
_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*(?=\s)|\n")
# Leading list/heading/quote markers are not part of the sentence.
_LEAD = re.compile(r"^(?:#{1,6}\s+|[-*+\u2022>]\s+|\d{1,3}[.)]\s+)+")
_ABBREV = {"dr", "mr", "mrs", "ms", "st", "prof", "e.g", "i.e", "etc", "vs", "cf",
           "fig", "approx", "jr", "sr", "mt", "ca"}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset("""a an the and or but if of to in on at by for with from as is are was were
be been being do does did doing have has had having i me my we our you your he him his she her
it its they them their what which who whom whose when where why how this that these those there
here am not no so than too very can could should would will shall may might must just about into
over under again further then once all any both each few more most other some such only own same
s t don now up down out off also ever much many one""".split())

#: Relative weight of lexical overlap next to the dense cosine (calibrated on the even half
#: of tests/data/qa.jsonl with benchmarks/qa_sample.py).
LEXICAL_WEIGHT = 0.3
#: Weight of cos(query, section title) next to a sentence's own score in highlights. Off:
#: measured by benchmarks/highlight_gold.py (minilm-int8), 0.5 put the gold sentence first
#: for 32 of 49 judged qa.jsonl questions against 30 at 0, and changed nothing on
#: qa_fresh.jsonl (18 of 34 at 0 and 0.5; 17 at 1.0): no gain beyond the dev set.
SECTION_WEIGHT = 0.0


_STATEMENT_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")


@dataclass(frozen=True)
class Sentence:
    start: int  # character offsets into the source text
    end: int
    text: str


def split_sentences(text: str, min_chars: int = 3) -> list[Sentence]:
    """Sentence spans of ``text``; ``text[s.start:s.end] == s.text`` always holds."""
    out: list[Sentence] = []
    pos = 0
    for m in _END.finditer(text):
        if m.group() == "\n":
            if _wrapped(text, m.start()):
                continue
        elif _is_abbreviation(text, m.start()):
            continue
        _add(text, pos, m.end(), out, min_chars)
        pos = m.end()
    _add(text, pos, len(text), out, min_chars)
    return out


def is_statement(sentence: str) -> bool:
    """A sentence that can answer: it ends like one, or is long enough to be one. Titles,
    headings and short list items are context, not answers."""
    if sentence.rstrip().endswith("?"):
        return False
    return bool(_STATEMENT_END.search(sentence)) or len(sentence.split()) >= 8


def is_heading(text: str, s: Sentence) -> bool:
    """A line of its own, without a closing mark, followed by a blank line: a plain-text
    heading ("CANOE TRIP LOG - Three days on the Tessel River"), however many words it has."""
    if _STATEMENT_END.search(s.text) or len(s.text.split()) >= 16:
        return False
    line_start = s.start == 0 or text[:s.start].rstrip(" \t").endswith("\n")
    after = text[s.end:]
    blank_after = re.match(r"[ \t]*\n[ \t]*\n", after) is not None
    return line_start and blank_after


def is_title_like(text: str, s: Sentence, title: str | None = None) -> bool:
    """A heading rather than body text: the document's title, a Markdown ``#`` heading, or
    a plain-text heading line (:func:`is_heading`). Highlights skip these while the passage
    has any other sentence: a title restates the topic, it does not answer."""
    if title and " ".join(s.text.split()).lower() == " ".join(title.split()).lower():
        return True
    line = text[text.rfind("\n", 0, s.start) + 1:s.start]
    if line.lstrip().startswith("#") or is_heading(text, s):
        return True
    # a short line of its own without a closing mark (PDF and plain-text section titles);
    # not a list item, whose marker precedes it on the line
    whole_line = not line.strip() and text[s.end:s.end + 1] in ("\n", "")
    return (whole_line and len(s.text.split()) <= 6 and s.text[:1].isupper()
            and not _STATEMENT_END.search(s.text) and not s.text.endswith((":", ",")))


def sections(text: str, sentences: Sequence[Sentence], start: str = "") -> list[str]:
    """The section title each sentence stands under: the last title-like sentence before it
    (:func:`is_title_like`), ``start`` (e.g. the chunk's heading) before the first."""
    out, current = [], start
    for s in sentences:
        if is_title_like(text, s):
            current = s.text
        out.append(current)
    return out


def _wrapped(text: str, nl: int) -> bool:
    """True when the line break at ``nl`` wraps a sentence (PDF text, hard-wrapped plain
    text) rather than ending a line of its own: the next line goes on in lower case, or a
    long line without a closing mark runs into more words."""
    nxt = text[nl + 1:nl + 3]
    if not nxt or not (nxt[0].isalnum()) or _LEAD.match(text[nl + 1:nl + 8]):
        return False
    line = text[text.rfind("\n", 0, nl) + 1:nl].rstrip()
    if not line or line[-1] in ".!?:;":
        return False
    return nxt[0].islower() or (len(line) >= 70 and (line[-1].isalnum() or line[-1] in ",-"))


def _is_abbreviation(text: str, dot_end: int) -> bool:
    """True when the mark ending at ``dot_end`` closes an abbreviation (``Dr.``, ``e.g.``)
    or an initial (``J. S. Bach``), not a sentence."""
    i = dot_end
    while i > 0 and text[i - 1] in "\"'\u201d\u2019)]":
        i -= 1
    if i == 0 or text[i - 1] != ".":
        return False
    j = i - 1
    while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "."):
        j -= 1
    word = text[j:i - 1].lower()
    return word in _ABBREV or (len(word) == 1 and word.isalpha() and text[j].isupper())


def _add(text: str, a: int, b: int, out: list[Sentence], min_chars: int) -> None:
    seg = text[a:b]
    lead = len(seg) - len(seg.lstrip())
    a += lead
    seg = seg.strip()
    m = _LEAD.match(seg)
    if m:
        a += m.end()
        seg = seg[m.end():]
    b = a + len(seg)
    if len(seg) >= min_chars and re.search(r"\w", seg):
        out.append(Sentence(a, b, seg))


def words(text: str) -> list[str]:
    """Lower-cased content words (stopwords dropped), with a crude plural fold."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def idf_table(texts: Sequence[str]) -> dict[str, float]:
    """Smoothed IDF of each content word over ``texts``."""
    df: dict[str, int] = {}
    for t in texts:
        for w in set(words(t)):
            df[w] = df.get(w, 0) + 1
    n = len(texts)
    return {w: math.log(1 + (n + 1) / (d + 0.5)) for w, d in df.items()}


def lexical_overlap(query: str, sentences: Sequence[str],
                    idf: dict[str, float] | None = None) -> np.ndarray:
    """Share of the query's IDF mass that each sentence contains, in [0, 1]."""
    idf = idf if idf is not None else idf_table(sentences)
    q = set(words(query))
    default = max(idf.values(), default=1.0)
    weights = {w: idf.get(w, default) for w in q}
    total = sum(weights.values())
    if not total:
        return np.zeros(len(sentences), dtype=np.float32)
    return np.asarray([sum(weights[w] for w in q & set(words(s))) / total for s in sentences],
                      dtype=np.float32)


def score_sentences(encoder, query: str, sentences: Sequence[str],
                    lexical_weight: float = LEXICAL_WEIGHT,
                    idf: dict[str, float] | None = None,
                    query_vector: np.ndarray | None = None) -> np.ndarray:
    """Relevance of each sentence to ``query``: cosine (contextual encoder) plus
    ``lexical_weight`` times the IDF-weighted word overlap."""
    if not sentences:
        return np.zeros(0, dtype=np.float32)
    qv = encoder.encode_query(query) if query_vector is None else query_vector
    sv = encoder.encode_documents(list(sentences), batch_size=64)
    dense = sv @ qv
    if lexical_weight:
        dense = dense + lexical_weight * lexical_overlap(query, sentences, idf)
    return dense.astype(np.float32)


def best_spans(scores: np.ndarray, sentences: Sequence[Sentence], max_spans: int = 2,
               margin: float = 0.05) -> list[tuple[int, int]]:
    """Spans of the best sentence and of runners-up within ``margin`` of it, in text order."""
    scores = np.asarray(scores, dtype=np.float32)
    if len(scores) == 0:
        return []
    order = np.argsort(-scores, kind="stable")
    top = float(scores[order[0]])
    keep = [int(i) for i in order[:max_spans] if float(scores[i]) >= top - margin]
    return sorted((sentences[i].start, sentences[i].end) for i in keep)


def sentence_scores(encoder, query: str, hits: list, section_weight: float = SECTION_WEIGHT,
                    stored: dict[int, bytes] | None = None
                    ) -> list[tuple[list[Sentence], np.ndarray]]:
    """Per hit, its sentences and their scores: the query's cosine to each sentence plus
    ``LEXICAL_WEIGHT`` times the IDF-weighted word overlap (:func:`score_sentences`), plus
    ``section_weight`` times cos(query, the title of the section the sentence stands under);
    title-like sentences get -inf while the hit has any other sentence.

    ``stored`` maps chunk ids to the sentence vectors made at index time
    (:mod:`searchkit.sentence_vectors`); those hits' cosines are a dot product with the query
    vector. The sentences of the other hits are embedded, all in one batch."""
    stored = stored or {}
    per_hit: list = []
    dense: list[np.ndarray | None] = []
    for h in hits:
        blob = stored.get(h.chunk_id)
        if blob is None:
            per_hit.append(split_sentences(h.text))
            dense.append(None)
        else:
            from .sentence_vectors import unpack

            spans, vecs = unpack(blob, encoder.dim)
            per_hit.append([Sentence(a, b, h.text[a:b]) for a, b in spans])
            dense.append(vecs)
    flat = [s.text for ss in per_hit for s in ss]
    if not flat:
        return [(ss, np.zeros(0, dtype=np.float32)) for ss in per_hit]
    qv = encoder.encode_query(query)
    todo = [s.text for ss, d in zip(per_hit, dense) if d is None for s in ss]
    embedded = iter(score_sentences(encoder, query, todo, lexical_weight=0, query_vector=qv)
                    if todo else [])
    cos: list[float] = []
    for ss, d in zip(per_hit, dense):
        cos.extend(d @ qv if d is not None else [next(embedded) for _ in ss])
    scores = (np.asarray(cos, dtype=np.float32)
              + LEXICAL_WEIGHT * lexical_overlap(query, flat, idf_table(flat)))
    heads = [sections(h.text, ss, (h.heading or "").split(" > ")[-1] or h.title or "")
             for h, ss in zip(hits, per_hit)]
    if section_weight:
        named = sorted({x for hs in heads for x in hs if x})
        cos_h = dict(zip(named, encoder.encode_documents(named, batch_size=64) @ qv)) if named else {}
        scores = scores + section_weight * np.asarray(
            [cos_h.get(x, 0.0) for hs in heads for x in hs], dtype=np.float32)
    out, pos = [], 0
    for h, ss in zip(hits, per_hit):
        sc = scores[pos:pos + len(ss)].astype(np.float32)
        pos += len(ss)
        titles = np.asarray([is_title_like(h.text, s, h.title) for s in ss], dtype=bool)
        if len(ss) and not titles.all():
            sc[titles] = -np.inf
        out.append((ss, sc))
    return out


def highlight_hits(encoder, query: str, hits: list, max_spans: int = 2,
                   section_weight: float = SECTION_WEIGHT,
                   stored: dict[int, bytes] | None = None) -> list:
    """``hits`` with ``highlights`` set to their best-matching sentence spans (see
    :func:`sentence_scores`; ``stored``: sentence vectors made at index time). A title or
    heading is highlighted only in a hit that has no other sentence."""
    import dataclasses

    out = []
    for h, (ss, sc) in zip(hits, sentence_scores(encoder, query, hits, section_weight,
                                                 stored)):
        keep = [i for i in range(len(ss)) if np.isfinite(sc[i])]
        spans = best_spans(sc[keep], [ss[i] for i in keep], max_spans)
        out.append(dataclasses.replace(h, highlights=spans))
    return out
