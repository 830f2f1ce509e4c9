"""Offline question answering: the best sentence of the best passages, or "no answer".

No extractive-QA or cross-encoder model ships offline, so answers are *sentences* chosen by
what we have: dense retrieval proposes chunks, each chunk is split into sentences, and every
sentence is scored with

    score = cos(question, sentence) + CHUNK_WEIGHT * cos(question, chunk)
            + LEXICAL_WEIGHT * idf-weighted share of the question's words in the sentence

The chunk term carries context a lone sentence lacks ("She eats one rat every 10 days" is
about the python the chunk names). When the best score is under ``THRESHOLD`` the corpus is
taken to hold no answer. Weights and threshold are calibrated on the even lines of
``tests/data/qa.jsonl`` with ``benchmarks/qa_sample.py``, which reports the odd lines too.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .highlight import Sentence, split_sentences, words
from .types import Answer, Hit

if TYPE_CHECKING:
    from .index import Index


@dataclass(frozen=True)
class Weights:
    """How sentence evidence is combined, and where "no answer" starts."""

    chunk: float = 0.0
    lexical: float = 0.0
    #: cos(question, sentence read under its title after the previous sentence)
    context: float = 0.5
    #: the chunk's BM25 score over the best candidate's
    bm25: float = 0.1
    #: share of the sentence's content words the question lacks: an answer adds something,
    #: a sentence that only restates the question's topic does not
    novelty: float = 0.3
    #: bonus when the question asks for a quantity/time and the sentence holds one
    answer_type: float = 0.2
    #: share of the previous sentence's lead: an answer often follows the sentence that
    #: restates the question ("We counted the bats." -> "There were 87 of them.")
    follows: float = 0.0
    threshold: float = 1.2875
    #: a neighbouring sentence that continues the answer is merged when it scores within
    #: this much of the best one
    merge_margin: float = 0.15


#: The calibrated defaults (see the module docstring).
DEFAULT_WEIGHTS = Weights()
#: Chunks retrieved per question before sentence scoring.
CANDIDATE_CHUNKS = 20
#: Candidate chunks come from dense and BM25 rankings fused by RRF (constant RRF_K), each
#: ranking RANK_DEPTH deep; HYBRID False keeps dense only.
HYBRID = True
RRF_K = 60.0
RANK_DEPTH = 100
#: Supporting passages from other documents.
SUPPORTING = 3

# What a question asks for, and how a sentence that gives it looks.
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
                 r"twenty|thirty|forty|fifty|sixty|hundred|thousand|million|billion|half|"
                 r"dozen|quarter|once|twice|daily|weekly|monthly|annual|yearly")
_MONTHS = (r"january|february|march|april|may|june|july|august|september|october|november|"
           r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|morning|"
           r"afternoon|evening|night|century|decade|spring|summer|autumn|winter")
_ASKS_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|long|often|far|large|big|old|tall|deep|high|heavy|fast|wide|"
    r"warm|hot|cold|rare|common)|what (?:temperature|percentage|proportion|rate|size|age|"
    r"length|speed|price|amount)|at what (?:temperature|rate|age))\b", re.I)
_ASKS_TIME = re.compile(r"^\s*when\b|\b(?:what|which) (?:year|time|day|month|date|century)\b",
                        re.I)
_HAS_QUANTITY = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_HAS_TIME = re.compile(rf"\b1\d{{3}}\b|\b20\d\d\b|\d|\b(?:{_MONTHS})\b", re.I)
_STATEMENT_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")


def answer_type_match(question: str, sentence: str) -> float:
    """1 when the question asks for a quantity or a time and the sentence holds one; 0
    otherwise (also when the question asks for neither)."""
    if _ASKS_TIME.search(question):
        return float(bool(_HAS_TIME.search(sentence)))
    if _ASKS_QUANTITY.search(question):
        return float(bool(_HAS_QUANTITY.search(sentence)))
    return 0.0


def is_statement(sentence: str) -> bool:
    """A sentence that can answer: it ends like one, or is long enough to be one. Titles,
    headings and short list items are context, not answers."""
    if sentence.rstrip().endswith("?"):
        return False
    return bool(_STATEMENT_END.search(sentence)) or len(sentence.split()) >= 8


# A sentence opening with one of these leans on the one before it.
_CONTINUES = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|them|he|his|she|her|there|then|but|so|"
    r"and|also|which|such|both|however|instead|otherwise|here)\b", re.I)


@dataclass
class Candidates:
    """Retrieved chunks and their sentences with raw features (one row per sentence)."""

    question: str
    hits: list[Hit]
    sentences: list[Sentence]  # spans relative to their hit's text
    hit_of: np.ndarray  # index into ``hits`` of each sentence
    dense: np.ndarray  # cos(question, sentence)
    chunk: np.ndarray  # cos(question, chunk) of the sentence's chunk
    lexical: np.ndarray  # corpus-idf-weighted share of the question's words in the sentence
    context: np.ndarray | None = None  # cos(question, title + previous sentence + sentence)
    #: per hit: dense cosine, BM25 score, fused (RRF) rank from 0, its document's rank from 0
    hit_dense: np.ndarray | None = None
    hit_bm25: np.ndarray | None = None
    hit_rank: np.ndarray | None = None
    doc_rank: np.ndarray | None = None
    #: per hit: corpus-idf-weighted share of the question's words in the chunk (+ title)
    hit_cover: np.ndarray | None = None
    #: the question's content words' total idf, and how much of it the corpus never uses
    q_idf: float = 0.0
    q_unseen: float = 0.0

    def scores(self, w: Weights) -> np.ndarray:
        """Combined score per sentence; titles, headings and questions get -inf."""
        if not len(self.dense):
            return np.zeros(0, dtype=np.float32)
        same = np.r_[False, self.hit_of[1:] == self.hit_of[:-1]]
        prev = np.where(same, np.r_[0.0, self.dense[:-1]], 0.0)
        s = (self.dense + w.chunk * self.chunk + w.lexical * self.lexical
             + w.answer_type * self.types + w.follows * np.maximum(prev - self.dense, 0.0)
             + w.novelty * self.novelty)
        if self.context is not None:
            top = float(self.hit_bm25.max()) if len(self.hit_bm25) else 0.0
            bm25 = self.hit_bm25[self.hit_of] / top if top > 0 else 0.0
            s = s + w.context * self.context + w.bm25 * bm25
        return np.where(self.statements, s, -np.inf).astype(np.float32)

    @cached_property
    def types(self) -> np.ndarray:
        return np.asarray([answer_type_match(self.question, s.text) for s in self.sentences],
                          dtype=np.float32)

    @cached_property
    def novelty(self) -> np.ndarray:
        q = set(_stemmed(self.question))
        out = []
        for s in self.sentences:
            ws = _stemmed(s.text)
            out.append(sum(x not in q for x in ws) / max(len(ws), 1))
        return np.asarray(out, dtype=np.float32)

    @cached_property
    def statements(self) -> np.ndarray:
        return np.asarray([is_statement(s.text) for s in self.sentences], dtype=bool)


def _stemmed(text: str) -> list[str]:
    """Lower-cased, stop-worded, Snowball-stemmed words (what the coverage features count)."""
    import Stemmer

    if "en" not in _STEMMER:
        _STEMMER["en"] = Stemmer.Stemmer("english")
    stem = _STEMMER["en"]
    return stem.stemWords(words(text))


_STEMMER: dict = {}


def corpus_idf(idx: "Index") -> tuple[dict[str, float], float]:
    """Smoothed idf of each stemmed content word over the index's chunks, and the idf of a
    word no chunk holds; cached per index generation."""
    from .retrieval.methods import chunk_texts

    gen = idx.store.generation()
    cached = idx.__dict__.get("_ask_idf")
    if cached and cached[0] == gen:
        return cached[1], cached[2]
    gen, _, texts = chunk_texts(idx)
    df: dict[str, int] = {}
    for t in texts:
        for w in set(_stemmed(t)):
            df[w] = df.get(w, 0) + 1
    n = len(texts)
    idf = {w: math.log(1 + (n + 1) / (d + 0.5)) for w, d in df.items()}
    unseen = math.log(1 + (n + 1) / 0.5)
    idx.__dict__["_ask_idf"] = (gen, idf, unseen)
    return idf, unseen


def _coverage(q: dict[str, float], texts: list[str]) -> np.ndarray:
    total = sum(q.values())
    if not total:
        return np.zeros(len(texts), dtype=np.float32)
    return np.asarray([sum(v for w, v in q.items() if w in set(_stemmed(t))) / total
                       for t in texts], dtype=np.float32)


def _rankings(idx: "Index", question: str, qv: np.ndarray, allowed: np.ndarray | None,
              n_chunks: int):
    """Dense and BM25 rankings of the chunks and their fusion (RRF), best ``n_chunks``."""
    from .retrieval.dense import one_faiss_thread
    from .retrieval.fusion import rrf

    if allowed is not None and len(allowed) == 0:
        return [], {}, {}
    with one_faiss_thread():
        dense = idx._load_vectors().search(qv, RANK_DEPTH, allowed)[0]
    bm25 = list(idx.retriever("bm25").search(question, RANK_DEPTH, allowed))
    fused = rrf([dense, bm25], k=RRF_K, limit=n_chunks) if HYBRID else dense[:n_chunks]
    return [(int(c), float(s)) for c, s in fused], dict(dense), dict(bm25)


def gather(idx: "Index", question: str, allowed: np.ndarray | None = None,
           n_chunks: int = CANDIDATE_CHUNKS) -> Candidates:
    """Retrieve candidate chunks (dense + BM25, fused) and embed their sentences once, alone
    and in context. A sentence that overlapping chunks share is kept once, in the chunk that
    ranked higher."""
    enc = idx.encoder
    qv = enc.encode_query(question)
    ranked, dense_of, bm25_of = _rankings(idx, question, qv, allowed, n_chunks)
    hits = idx._hits(ranked, "hybrid" if HYBRID else "dense")
    vec = idx._load_vectors()
    hit_dense = np.asarray([dense_of[h.chunk_id] if h.chunk_id in dense_of
                            else float(vec.reconstruct(h.chunk_id) @ qv) for h in hits],
                           dtype=np.float32)
    hit_bm25 = np.asarray([bm25_of.get(h.chunk_id, 0.0) for h in hits], dtype=np.float32)
    doc_first: dict[int, int] = {}
    for h in hits:
        doc_first.setdefault(h.doc_id, len(doc_first))
    doc_rank = np.asarray([doc_first[h.doc_id] for h in hits], dtype=np.int64)
    idf, unseen = corpus_idf(idx)
    q = {w: idf.get(w, unseen) for w in set(_stemmed(question))}
    seen: set[tuple[int, int]] = set()
    sents, hit_of, ctx = [], [], []
    for i, h in enumerate(hits):  # hits come best first
        split = split_sentences(h.text)
        for j, s in enumerate(split):
            key = (h.doc_id, h.start_char + s.start)
            if key in seen:
                continue
            seen.add(key)
            sents.append(s)
            hit_of.append(i)
            ctx.append(_context_text(h, split[j - 1].text if j else "", s.text))
    hit_of = np.asarray(hit_of, dtype=np.int64)
    texts = [s.text for s in sents]
    if texts:
        both = _embed(idx, texts + ctx) @ qv
        dense, context = both[:len(texts)], both[len(texts):]
        lex = _coverage(q, texts)
        chunk = hit_dense[hit_of]
    else:
        dense = context = lex = chunk = np.zeros(0, dtype=np.float32)
    cover = _coverage(q, [f"{h.title or ''} {h.text}" for h in hits])
    return Candidates(question, hits, sents, hit_of, dense.astype(np.float32), chunk, lex,
                      context=context.astype(np.float32), hit_dense=hit_dense,
                      hit_bm25=hit_bm25, hit_rank=np.arange(len(hits)), doc_rank=doc_rank,
                      hit_cover=cover, q_idf=float(sum(q.values())),
                      q_unseen=float(sum(v for w, v in q.items() if w not in idf)))


#: Sentence vectors kept per index (by text) so that repeated questions over the same
#: passages do not re-embed them; dropped when the index changes or this many are held.
EMBED_CACHE = 20_000


def _embed(idx: "Index", texts: list[str]) -> np.ndarray:
    """Document-side vectors of ``texts``, from the index's cache where it has them."""
    gen = idx.store.generation()
    cached = idx.__dict__.get("_ask_vectors")
    if not cached or cached[0] != gen or len(cached[1]) > EMBED_CACHE:
        cached = idx.__dict__["_ask_vectors"] = (gen, {})
    memo = cached[1]
    todo = list(dict.fromkeys(t for t in texts if t not in memo))
    if todo:
        for t, v in zip(todo, idx.encoder.encode_documents(todo, batch_size=64)):
            memo[t] = np.asarray(v, dtype=np.float32)
    return np.stack([memo[t] for t in texts]) if texts else np.zeros((0, 1), np.float32)


def _context_text(hit: Hit, prev: str, sentence: str) -> str:
    """A sentence as its reader meets it: under its document's title and heading, after the
    sentence before it."""
    head = " - ".join(x for x in (hit.title, hit.heading) if x and x not in sentence)
    return " ".join(x for x in (head + "." if head else "", prev, sentence) if x)


def choose(c: Candidates, w: Weights = DEFAULT_WEIGHTS) -> Answer:
    """The answer the candidates support under weights ``w`` (pure: no model calls)."""
    scores = c.scores(w)
    if not np.isfinite(scores).any():
        return Answer(c.question, False, 0.0, w.threshold)
    best = int(np.argmax(scores))
    conf = float(scores[best])
    hit = c.hits[c.hit_of[best]]
    supporting = _supporting(c, scores, hit.doc_id)
    if conf < w.threshold:
        return Answer(c.question, False, round(conf, 4), w.threshold, supporting=supporting)
    a, b = _merge(c, scores, best, w.merge_margin)
    text = " ".join(hit.text[a:b].split())
    line = hit.start_line + hit.text.count("\n", 0, a)
    citation = f"{hit.path}#page={hit.page}" if hit.page is not None else f"{hit.path}:{line}"
    hit = dataclasses.replace(hit, highlights=[(a, b)])
    return Answer(c.question, True, round(conf, 4), w.threshold, text=text,
                  citation=citation, path=hit.path, line=line, page=hit.page,
                  passage=hit.text, span=(a, b), hit=hit, supporting=supporting)


def _merge(c: Candidates, scores: np.ndarray, best: int, margin: float) -> tuple[int, int]:
    """The best sentence's span in its chunk, widened to a neighbour in the same chunk when
    one leans on the other and scores within ``margin``."""
    a, b = c.sentences[best].start, c.sentences[best].end
    same = c.hit_of == c.hit_of[best]
    top = scores[best]
    prev, nxt = best - 1, best + 1
    if (prev >= 0 and same[prev] and _CONTINUES.match(c.sentences[best].text)
            and scores[prev] >= top - margin):
        a = c.sentences[prev].start
    if (nxt < len(scores) and same[nxt] and _CONTINUES.match(c.sentences[nxt].text)
            and scores[nxt] >= top - margin):
        b = c.sentences[nxt].end
    return a, b


def _supporting(c: Candidates, scores: np.ndarray, answer_doc: int) -> list[Hit]:
    """The best passage of up to SUPPORTING other documents, best sentence highlighted."""
    best_of: dict[int, int] = {}
    for i in np.argsort(-scores, kind="stable"):
        if not np.isfinite(scores[i]):
            break
        h = c.hits[c.hit_of[i]]
        if h.doc_id != answer_doc and h.doc_id not in best_of:
            best_of[h.doc_id] = int(i)
        if len(best_of) >= SUPPORTING:
            break
    out = []
    for rank, i in enumerate(best_of.values(), 1):
        h = c.hits[c.hit_of[i]]
        s = c.sentences[i]
        out.append(dataclasses.replace(h, rank=rank, score=round(float(scores[i]), 6),
                                       highlights=[(s.start, s.end)]))
    return out


def ask(idx: "Index", question: str, allowed: np.ndarray | None = None,
        weights: Weights = DEFAULT_WEIGHTS, n_chunks: int = CANDIDATE_CHUNKS) -> Answer:
    """Answer ``question`` from the index (see the module docstring)."""
    return choose(gather(idx, question, allowed, n_chunks), weights)


# -- evaluation and calibration (pure; used by benchmarks/qa_sample.py and the tests) -----
def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def sentence_matches(predicted: str | None, gold: str) -> bool:
    """The predicted span holds the gold sentence (a merged neighbour is allowed), or is a
    part of it covering at least half of it."""
    if not predicted:
        return False
    p, g = _norm(predicted), _norm(gold)
    return g in p or (p in g and len(p) >= 0.5 * len(g))


def evaluate(cases: list[tuple[Candidates, str | None, str | None]], w: Weights,
             same_doc) -> dict:
    """Q&A metrics over ``(candidates, gold_doc, gold_sentence)``; gold_doc None means the
    corpus cannot answer. ``same_doc(path, gold_doc)`` compares an answer's path with it.

    ``document_at_1`` and ``sentence_at_1`` judge the top candidate of answerable questions
    whether or not it clears the threshold; ``answered_correctly`` also needs it to clear.
    """
    top_w = dataclasses.replace(w, threshold=float("-inf"))
    pos, neg = [], []
    for c, doc, sent in cases:
        top = choose(c, top_w)
        answered = top.answered and top.confidence >= w.threshold
        if doc is None:
            neg.append(answered)
        else:
            doc_ok = top.answered and same_doc(top.path, doc)
            pos.append((doc_ok, doc_ok and sentence_matches(top.text, sent), answered))

    def rate(xs):
        return round(sum(xs) / len(xs), 4) if xs else None

    return {
        "questions": len(cases), "answerable": len(pos), "unanswerable": len(neg),
        "document_at_1": rate([d for d, _, _ in pos]),
        "sentence_at_1": rate([s for _, s, _ in pos]),
        "answered_correctly": rate([s and a for _, s, a in pos]),
        "correct_abstention": rate([not a for a in neg]),
        "wrongful_abstention": rate([not a for _, _, a in pos]),
    }


def _confidence(c: Candidates, w: Weights) -> float:
    s = c.scores(w)
    return float(s.max()) if np.isfinite(s).any() else 0.0


def calibrate_threshold(cases: list[tuple[Candidates, str | None, str | None]],
                        w: Weights) -> float:
    """The threshold that best separates answerable from unanswerable questions on
    ``cases``: maximises correct abstention minus wrongful abstention (rates), halfway
    between the two confidences it falls between."""
    conf = [(_confidence(c, w), doc is not None) for c, doc, _ in cases]
    n_pos = sum(p for _, p in conf) or 1
    n_neg = sum(not p for _, p in conf) or 1
    vals = sorted({v for v, _ in conf})
    cuts = [vals[0] - 1e-3] + [(a + b) / 2 for a, b in zip(vals, vals[1:])] + [vals[-1] + 1e-3]
    best, best_gain = cuts[0], float("-inf")
    for t in cuts:
        gain = (sum(v < t and not p for v, p in conf) / n_neg
                - sum(v < t and p for v, p in conf) / n_pos)
        if gain > best_gain + 1e-9:
            best, best_gain = t, gain
    return round(best, 4)
