"""Offline question answering: the best sentence of the best passages, or "no answer".

No extractive-QA or cross-encoder model ships offline, so answers are *sentences* chosen by
what we have: dense + BM25 retrieval proposes chunks, each chunk is split into sentences, and
every sentence is scored by a weighted sum (:class:`Weights`) of

* cos(question, sentence), and the same with the sentence read in context (title, previous
  sentence); cos(question, chunk) -- "She eats one rat every 10 days" is about the python
  the chunk names; the chunk's BM25 score;
* novelty: the share of the sentence's words the question lacks (an answer adds something);
* answer type: the question asks for a time or a quantity and the sentence holds one, more
  when it is in the unit asked for ("eleven degrees" for a temperature, "every 10 days" for
  how often: :func:`answer_unit_match`).

Headings and questions never answer. The best sentence's *confidence* is its score under
separate :class:`Evidence` weights: what picks the sentence holding the number is not what
shows the corpus answers at all. Under ``threshold`` the corpus is taken to hold no answer.
Both sets of weights and the threshold are tuned on the even lines of
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

from .highlight import Sentence, is_heading, is_statement, split_sentences, words
from .types import Answer, Hit

if TYPE_CHECKING:
    from .index import Index


@dataclass(frozen=True)
class Terms:
    """Weights of the evidence a sentence has beside cos(question, sentence), which always
    counts 1."""

    #: cos(question, sentence read under its title after the previous sentence)
    context: float = 0.0
    #: cos(question, the sentence's chunk)
    chunk: float = 0.0
    #: cos(question, the sentence's vector *in context*: its tokens' mean in the chunk's
    #: encoding, stored at index time by :mod:`searchkit.sentence_vectors`)
    pooled: float = 0.0
    #: the chunk's BM25 score over the best candidate's
    bm25: float = 0.0
    #: share of the sentence's content words the question lacks: an answer adds something,
    #: a sentence that only restates the question's topic does not
    novelty: float = 0.0
    #: the question asks for a quantity/time and the sentence holds one
    answer_type: float = 0.0
    #: ... in the unit the question asks for (:func:`answer_unit_match`)
    answer_unit: float = 0.0


@dataclass(frozen=True)
class Evidence(Terms):
    """How strongly the chosen sentence says the corpus answers: its score under these
    weights is the answer's confidence. Separate from the weights that pick the sentence:
    answer-type bonuses help pick the sentence holding the number, but a number is no proof
    that the corpus answers."""

    #: corpus-idf-weighted share of the question's words that the answer's passage (with
    #: its title) holds: a question about something the passage never names ("who designed
    #: the lighthouse") is not answered by it, however close the topic
    cover: float = 0.0


@dataclass(frozen=True)
class Weights(Terms):
    """How a sentence is picked (the inherited terms), and where "no answer" starts."""

    #: corpus-idf-weighted share of the question's words in the sentence
    lexical: float = 0.0
    #: share of the previous sentence's lead: an answer often follows the sentence that
    #: restates the question ("We counted the bats." -> "There were 87 of them.")
    follows: float = 0.0
    #: the confidence (see :class:`Evidence`) under which the corpus holds no answer
    threshold: float = 0.0
    #: a neighbouring sentence that continues the answer is merged when it scores within
    #: this much of the best one
    merge_margin: float = 0.0
    evidence: Evidence = Evidence()


#: The calibrated defaults (see the module docstring). The sentence weights and the
#: evidence weights but ``cover`` were tuned on the even lines of tests/data/qa.jsonl by
#: ``benchmarks/qa_sample.py``. ``cover`` and the threshold were then chosen on the
#: calibration split of both Q&A files (even lines of qa.jsonl and of qa_fresh.jsonl, 59
#: questions, minilm-int8 vectors): the threshold by :func:`calibrate_threshold_utility`
#: (right answers minus wrong ones), ``cover`` among 0-2 by the same utility, smallest on a
#: tie. Held out: the odd lines (benchmarks/RESULTS_qa.md, "Fresh questions"). ``pooled``
#: (1.0 among 0, 0.25, 0.5, 1.0, by sentence@1) and ``evidence.pooled`` (0.25 among 0-1, by the same
#: utility, threshold re-calibrated with it) were chosen on the same calibration halves
#: (benchmarks/RESULTS_qa.md, "In-context sentence vectors").
DEFAULT_WEIGHTS = Weights(
    chunk=0.2, pooled=1.0, lexical=0.0, context=0.0, bm25=0.1, novelty=0.2, answer_type=0.1,
    answer_unit=0.3, follows=0.25, threshold=1.844, merge_margin=0.0,
    evidence=Evidence(chunk=0.5, pooled=0.25, bm25=0.3, novelty=0.2, cover=0.75))
#: Chunks retrieved per question before sentence scoring.
CANDIDATE_CHUNKS = 20
#: Sentences embedded alone per question (with the sentence before each, for ``follows``):
#: those whose stored in-context vector is closest to the question. Embedding every
#: candidate sentence (a few hundred) was most of ``search ask``'s time; the ones left out
#: never scored best on the labelled Q&A files (benchmarks/ask_preselect.py,
#: benchmarks/results/ask_preselect.json). None embeds all; an index without stored
#: sentence vectors (torch encoder) always embeds all.
EMBED_TOP = 64
#: Candidate chunks come from dense and BM25 rankings fused by COMBINE (``rrf``, constant
#: RRF_K, or ``zscore``: :mod:`searchkit.retrieval.fusion`), each ranking RANK_DEPTH deep;
#: HYBRID False keeps dense only. ``rrf`` stays: with ``zscore`` (search's default) the
#: shipped weights answered 32 of tests/data/qa.jsonl's 54 answerable questions right, 33
#: with ``rrf``, and wrongly declined 12 against 11 (``python benchmarks/qa_sample.py --no-tune``
#: with COMBINE set to each).
HYBRID = True
COMBINE = "rrf"
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
_ASKS_TIME = re.compile(r"^\s*when\b|\b(?:what|which) (?:year|time|day|month|date|century)\b|"
                        r"\bopening (?:hours|times)\b", re.I)
_HAS_QUANTITY = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_HAS_TIME = re.compile(rf"\b1\d{{3}}\b|\b20\d\d\b|\d|\b(?:{_MONTHS})\b", re.I)


# The unit a quantity question expects: (what the question says, what an answer holds).
# A sentence that gives the number *with* the expected kind of unit ("eleven degrees" for a
# temperature, "every 10 days" for how often) is stronger evidence than one with any number.
_NUM = rf"(?:\d[\d,.]*|\b(?:{_NUMBER_WORDS})\b)"
_DURATION = r"(?:second|minute|hour|day|week|fortnight|month|year|decade|century|centuries)s?"
_LENGTH = (r"(?:mm|cm|m|km|metres?|meters?|kilometres?|kilometers?|centimetres?|"
           r"centimeters?|millimetres?|inch(?:es)?|feet|foot|ft|yards?|miles?)")
_UNIT_PATTERNS = [
    (r"\bhow often\b|\bhow frequently\b|\bhow many times\b",
     rf"\bevery\b|\bper\b|\b(?:once|twice|daily|weekly|monthly|yearly|annually|hourly)\b|"
     rf"\btimes (?:a|an|per|each)\b|\b(?:a|each) (?:{_DURATION})\b"),
    (r"\btemperature\b|\bhow (?:hot|warm|cold)\b",
     r"\u00b0|\bdegrees?\b|\bcelsius\b|\bfahrenheit\b|\d\s?[cf]\b"),
    (r"\bhumidity\b|\bpercentage\b|\bproportion\b|\bhow (?:rare|common)\b|\bwhat share\b|"
     r"\b(?:interest|tax|vat|growth|inflation|success|failure|error) rate\b",
     rf"%|\bper ?cent\b|\b{_NUM} (?:in|out of) {_NUM}|\bhalf\b|\bquarter\b|\bthird\b"),
    (r"\bhow much (?:does|do|did|will|would|is|are)\b.*\b(?:cost|charge|pay|price)|"
     r"\b(?:price|cost|fee)\b",
     r"[$\u00a3\u20ac]\s?\d|\b\d[\d,.]* ?(?:pounds|dollars|euros|pence|cents|p)\b|\bfree\b"),
    (r"\bhow (?:far|tall|deep|high|wide|large|big)\b|\b(?:distance|length|height|depth|width)\b",
     rf"{_NUM} ?(?:{_LENGTH})\b|\b{_NUM}[- ](?:{_LENGTH})[- ]"),
    (r"\bhow (?:heavy)\b|\bweigh|\bweight\b",
     r"\d ?(?:g|kg|grams?|kilograms?|kilos?|ounces?|oz|pounds?|lbs?|tonnes?|tons?)\b"),
    (r"\bhow (?:long|old)\b|\bhow many (?:years|months|weeks|days|hours|minutes)\b",
     rf"{_NUM} ?(?:{_DURATION}|{_LENGTH})\b|\b{_NUM}[- ](?:{_DURATION})\b"),
    (r"\bhow fast\b|\bspeed\b|\bhow quickly\b",
     rf"\b(?:per|an|a) (?:second|minute|hour)\b|\bmph\b|km/h|{_NUM} ?(?:{_DURATION})\b"),
]
_UNITS = [(re.compile(q, re.I), re.compile(a, re.I)) for q, a in _UNIT_PATTERNS]
_HOW_MANY = re.compile(r"\bhow many ([a-z]+)", re.I)


_YEAR_OR_DATE = re.compile(
    r"\b1\d{3}s?\b|\b20\d\ds?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|oct|nov|dec)[a-z]*\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+"
    r"\d{1,2}\b|\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|\bo'clock\b|\bnoon\b|\bmidnight\b", re.I)


def answer_unit_match(question: str, sentence: str) -> float:
    """1 when the question asks for a quantity of a particular kind (a temperature, a
    frequency, "how many cells") and the sentence gives a number in that kind of unit;
    0 otherwise. A year or a date answers a "when"/"what year" question."""
    if _ASKS_TIME.search(question):
        return float(bool(_YEAR_OR_DATE.search(sentence)))
    m = _HOW_MANY.search(question)
    if m:
        noun = _stemmed(m.group(1))
        if noun and noun[0] in _numbered_nouns(sentence):
            return 1.0
    for asks, gives in _UNITS:
        if asks.search(question):
            return float(bool(gives.search(sentence)))
    return 0.0


def _numbered_nouns(sentence: str) -> set[str]:
    """Stems of the words a number counts in ``sentence`` ("87 bats" -> {"bat"}), looking
    up to three words past the number ("four helical compression springs")."""
    out: set[str] = set()
    for m in re.finditer(rf"{_NUM}((?:\s+[a-z-]+){{1,3}})", sentence, re.I):
        out.update(_stemmed(m.group(1)))
    return out


def answer_type_match(question: str, sentence: str) -> float:
    """1 when the question asks for a quantity or a time and the sentence holds one; 0
    otherwise (also when the question asks for neither)."""
    if _ASKS_TIME.search(question):
        return float(bool(_HAS_TIME.search(sentence)))
    if _ASKS_QUANTITY.search(question):
        return float(bool(_HAS_QUANTITY.search(sentence)))
    return 0.0


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
    #: cos(question, the sentence's in-context vector stored at index time); where an index
    #: has none (a torch-encoder index), the sentence's own cosine stands in
    pooled: np.ndarray | None = None
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
    #: per sentence: embedded alone at question time (False: pre-selection left it out,
    #: see :data:`EMBED_TOP`; it stands in ``dense`` by its stored in-context cosine and
    #: is never chosen); None: every sentence was embedded
    embedded: np.ndarray | None = None

    def _linear(self, t: Terms) -> np.ndarray:
        """cos(question, sentence) plus the terms weighted by ``t``."""
        s = (self.dense + t.chunk * self.chunk + t.answer_type * self.types
             + t.answer_unit * self.units + t.novelty * self.novelty)
        if t.pooled:
            s = s + t.pooled * (self.dense if self.pooled is None else self.pooled)
        if self.hit_bm25 is not None:
            top = float(self.hit_bm25.max()) if len(self.hit_bm25) else 0.0
            bm25 = self.hit_bm25[self.hit_of] / top if top > 0 else 0.0
            s = s + t.bm25 * bm25
        if t.context:
            if self.context is None:
                raise ValueError("these candidates were gathered without context vectors")
            s = s + t.context * self.context
        return s

    def scores(self, w: Weights) -> np.ndarray:
        """Combined score per sentence; titles, headings and questions get -inf."""
        if not len(self.dense):
            return np.zeros(0, dtype=np.float32)
        same = np.r_[False, self.hit_of[1:] == self.hit_of[:-1]]
        prev = np.where(same, np.r_[0.0, self.dense[:-1]], 0.0)
        s = (self._linear(w) + w.lexical * self.lexical
             + w.follows * np.maximum(prev - self.dense, 0.0))
        eligible = self.statements if self.embedded is None else self.statements & self.embedded
        return np.where(eligible, s, -np.inf).astype(np.float32)

    def confidences(self, w: Weights) -> np.ndarray:
        """How strongly each sentence says the corpus answers (see :class:`Evidence`)."""
        conf = self._linear(w.evidence)
        if w.evidence.cover and self.hit_cover is not None and len(self.hit_of):
            conf = conf + w.evidence.cover * self.hit_cover[self.hit_of]
        return conf

    @cached_property
    def types(self) -> np.ndarray:
        return np.asarray([answer_type_match(self.question, s.text) for s in self.sentences],
                          dtype=np.float32)

    @cached_property
    def units(self) -> np.ndarray:
        return np.asarray([answer_unit_match(self.question, s.text) for s in self.sentences],
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
        return np.asarray([is_statement(s.text) and not is_heading(self.hits[h].text, s)
                           for s, h in zip(self.sentences, self.hit_of)], dtype=bool)


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
    cached = idx.cache.get("ask_idf", gen)
    if cached is not None:
        return cached
    gen, _, texts = chunk_texts(idx)
    df: dict[str, int] = {}
    for t in texts:
        for w in set(_stemmed(t)):
            df[w] = df.get(w, 0) + 1
    n = len(texts)
    idf = {w: math.log(1 + (n + 1) / (d + 0.5)) for w, d in df.items()}
    unseen = math.log(1 + (n + 1) / 0.5)
    idx.cache.put("ask_idf", gen, (idf, unseen))
    return idf, unseen


def _coverage(q: dict[str, float], texts: list[str]) -> np.ndarray:
    total = sum(q.values())
    if not total:
        return np.zeros(len(texts), dtype=np.float32)
    return np.asarray([sum(v for w, v in q.items() if w in set(_stemmed(t))) / total
                       for t in texts], dtype=np.float32)


def _rankings(idx: "Index", question: str, qv: np.ndarray, allowed: np.ndarray | None,
              n_chunks: int):
    """Dense and BM25 rankings of the chunks and their fusion (:data:`COMBINE`), best ``n_chunks``; both
    from the method registry (the dense retriever takes ``qv`` from the encoder's memo)."""
    from .retrieval.fusion import rrf, zscore

    if allowed is not None and len(allowed) == 0:
        return [], {}, {}
    dense = list(idx.retriever("dense").search(question, RANK_DEPTH, allowed))
    bm25 = list(idx.retriever("bm25").search(question, RANK_DEPTH, allowed))
    if not HYBRID:
        fused = dense[:n_chunks]
    elif COMBINE == "zscore":
        fused = zscore([dense, bm25], limit=n_chunks)
    else:
        fused = rrf([dense, bm25], k=RRF_K, limit=n_chunks)
    return [(int(c), float(s)) for c, s in fused], dict(dense), dict(bm25)


def gather(idx: "Index", question: str, allowed: np.ndarray | None = None,
           n_chunks: int = CANDIDATE_CHUNKS, context: bool = True,
           embed_top: int | None = EMBED_TOP) -> Candidates:
    """Retrieve candidate chunks (dense + BM25, fused) and embed their sentences once, alone
    and (with ``context``) in context: all of them, or with ``embed_top`` and stored
    sentence vectors only the ``embed_top`` closest in context and the sentence before
    each. A sentence that overlapping chunks share is kept once, in the chunk that ranked
    higher."""
    enc = idx.encoder
    qv = enc.encode_query(question)
    ranked, dense_of, bm25_of = _rankings(idx, question, qv, allowed, n_chunks)
    hits = idx.hits(ranked, "hybrid" if HYBRID else "dense")
    vec = idx.vectors
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
    stored = _stored_cosines(idx, hits, sents, hit_of, qv)
    embedded = _preselect(stored, hit_of, embed_top)
    rows = np.arange(len(texts)) if embedded is None else np.flatnonzero(embedded)
    if texts:
        todo = [texts[i] for i in rows]
        both = _embed(idx, todo + ([ctx[i] for i in rows] if context else [])) @ qv
        dense, in_context = stored.copy(), stored.copy()
        dense[rows] = both[:len(rows)]
        if context:
            in_context[rows] = both[len(rows):]
        lex = _coverage(q, texts)
        chunk = hit_dense[hit_of]
    else:
        dense = in_context = lex = chunk = np.zeros(0, dtype=np.float32)
    cover = _coverage(q, [f"{h.title or ''} {h.text}" for h in hits])
    dense = dense.astype(np.float32)
    pooled = np.where(np.isnan(stored), dense, stored).astype(np.float32)
    return Candidates(question, hits, sents, hit_of, dense, chunk, lex,
                      context=in_context.astype(np.float32) if context else None,
                      pooled=pooled, embedded=embedded,
                      hit_dense=hit_dense,
                      hit_bm25=hit_bm25, hit_rank=np.arange(len(hits)), doc_rank=doc_rank,
                      hit_cover=cover, q_idf=float(sum(q.values())),
                      q_unseen=float(sum(v for w, v in q.items() if w not in idf)))


def _stored_cosines(idx: "Index", hits: list[Hit], sents: list[Sentence],
                    hit_of: np.ndarray, qv: np.ndarray) -> np.ndarray:
    """cos(question, each sentence's in-context vector) from the vectors stored at index
    time; NaN for a sentence without one (a torch-encoder index, a sentence cut off by
    truncation)."""
    from .sentence_vectors import unpack

    out = np.full(len(sents), np.nan, dtype=np.float32)
    if not len(sents):
        return out
    stored = idx.store.sentence_vectors(idx.vector_key, [h.chunk_id for h in hits])
    for i, h in enumerate(hits):
        blob = stored.get(h.chunk_id)
        if blob is None:
            continue
        spans, vecs = unpack(blob, len(qv))
        cos = dict(zip(spans, (vecs @ qv).tolist()))
        for j in np.flatnonzero(hit_of == i):
            out[j] = cos.get((sents[j].start, sents[j].end), np.nan)
    return out


def _preselect(stored: np.ndarray, hit_of: np.ndarray, top: int | None) -> np.ndarray | None:
    """Which sentences to embed alone: the ``top`` best by stored in-context cosine, each
    with the sentence before it in its chunk; None (all) when ``top`` is None, when they
    are no more than that, or when a sentence has no stored vector to rank it by."""
    if top is None or len(stored) <= top or np.isnan(stored).any():
        return None
    keep = np.zeros(len(stored), dtype=bool)
    best = np.argsort(-stored, kind="stable")[:top]
    keep[best] = True
    prev = best[best > 0] - 1
    keep[prev[hit_of[prev] == hit_of[prev + 1]]] = True
    return keep


#: Sentence vectors kept per index (by text) so that repeated questions over the same
#: passages do not re-embed them; dropped when the index changes or this many are held.
EMBED_CACHE = 20_000


def _embed(idx: "Index", texts: list[str]) -> np.ndarray:
    """Document-side vectors of ``texts``, from the index's cache where it has them."""
    gen = idx.store.generation()
    memo = idx.cache.get("ask_vectors", gen)
    if memo is None or len(memo) > EMBED_CACHE:
        memo = {}
        idx.cache.put("ask_vectors", gen, memo)
    todo = list(dict.fromkeys(t for t in texts if t not in memo))
    if todo:
        # One text per batch: the int8 model quantizes its activations per batch, so a
        # sentence embedded beside others gets a slightly different vector (cosine ~0.99 to
        # itself alone) and an answer would depend on which sentences, and which earlier
        # questions, shared its batch. Short sentences cost about the same either way.
        for t, v in zip(todo, idx.encoder.encode_documents(todo, batch_size=1)):
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
    confs = c.confidences(w)
    conf = float(confs[best])
    hit = c.hits[c.hit_of[best]]
    supporting = _supporting(c, scores, confs >= w.threshold, hit.doc_id)
    if conf < w.threshold:
        s = c.sentences[best]
        from .query import relevance
        from .retrieval.hybrid import Fusion

        # relevance on search query's 0-1 scale, for ask's own fusion (dense + bm25, RRF_K)
        fusion = Fusion(("dense", "bm25"), k=RRF_K, combine=COMBINE)
        rel = relevance(hit.score, "hybrid", fusion) if HYBRID else relevance(hit.score, "dense")
        closest = dataclasses.replace(hit, highlights=[(s.start, s.end)], relevance=rel)
        return Answer(c.question, False, round(conf, 4), w.threshold, supporting=supporting,
                      closest=closest)
    a, b = _merge(c, scores, best, w.merge_margin)
    text = " ".join(hit.text[a:b].split())
    hit = dataclasses.replace(hit, highlights=[(a, b)])
    line, page = hit.line_and_page(a)  # the sentence's own line and page, not the chunk's
    return Answer(c.question, True, round(conf, 4), w.threshold, text=text,
                  citation=hit.citation, path=hit.path, line=line, page=page,
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


def _supporting(c: Candidates, scores: np.ndarray, clears: np.ndarray,
                answer_doc: int) -> list[Hit]:
    """The best passage of up to SUPPORTING other documents, best sentence highlighted.
    A passage supports only if its sentence would clear the threshold as an answer itself:
    an unrelated "best of the rest" (a marathon plan under a sourdough question) is noise."""
    best_of: dict[int, int] = {}
    for i in np.argsort(-scores, kind="stable"):
        if not np.isfinite(scores[i]):
            break
        h = c.hits[c.hit_of[i]]
        if (h.doc_id != answer_doc and h.doc_id not in best_of
                and clears[i]):
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
    """Answer ``question`` from the index (see the module docstring). Sentences are
    embedded in context only when the weights use that term."""
    context = bool(weights.context or weights.evidence.context)
    return choose(gather(idx, question, allowed, n_chunks, context=context), weights)


# -- evaluation and calibration (pure; used by benchmarks/qa_sample.py and the tests) -----
def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def sentence_matches(predicted: str | None, gold: str | None) -> bool:
    """The predicted span holds the gold sentence (a merged neighbour is allowed), or is a
    part of it covering at least half of it; no gold sentence (an unanswerable question)
    matches nothing."""
    if not predicted or gold is None:
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
    return float(c.confidences(w)[np.argmax(s)]) if np.isfinite(s).any() else 0.0


#: The share of unanswerable questions the calibrated threshold must decline, at least, on
#: the calibration questions. All of them: the target on new questions is 0.8, and a
#: calibration half holds only 7 unanswerable questions, so it takes no slack (0.85, one
#: of 7 let through, gave 0.71 on the other half; benchmarks/qa_sample.py).
MIN_CORRECT_ABSTENTION = 1.0


def calibrate_threshold_utility(cases: list[tuple[Candidates, str | None, str | None]],
                                w: Weights, same_doc, cost: float = 1.0) -> float:
    """The threshold that maximises, over ``cases``, the answers that are right minus
    ``cost`` times those that are wrong (a wrong sentence, or any answer to a question the
    corpus cannot answer); declining scores 0. Fewer answers on a tie; halfway between the
    two confidences it falls between."""
    top_w = dataclasses.replace(w, threshold=float("-inf"))
    rows = []
    for c, doc, sent in cases:
        top = choose(c, top_w)
        right = bool(doc) and top.answered and same_doc(top.path, doc) and \
            sentence_matches(top.text, sent)
        rows.append((_confidence(c, w), right))
    vals = sorted({v for v, _ in rows})
    cuts = [vals[0] - 1e-3] + [(a + b) / 2 for a, b in zip(vals, vals[1:])] + [vals[-1] + 1e-3]
    best, best_u = cuts[-1], None
    for t in reversed(cuts):  # high to low: a tie keeps the stricter threshold
        u = sum(1.0 if r else -cost for v, r in rows if v >= t)
        if best_u is None or u > best_u:
            best, best_u = t, u
    return round(best, 4)


def calibrate_threshold(cases: list[tuple[Candidates, str | None, str | None]],
                        w: Weights, min_correct: float = MIN_CORRECT_ABSTENTION) -> float:
    """The threshold that declines the fewest answerable questions of ``cases`` while
    declining at least ``min_correct`` of the unanswerable ones (more of them on a tie),
    halfway between the two confidences it falls between."""
    conf = [(_confidence(c, w), doc is not None) for c, doc, _ in cases]
    n_pos = sum(p for _, p in conf) or 1
    n_neg = sum(not p for _, p in conf) or 1
    vals = sorted({v for v, _ in conf})
    cuts = [vals[0] - 1e-3] + [(a + b) / 2 for a, b in zip(vals, vals[1:])] + [vals[-1] + 1e-3]
    best, best_key = cuts[-1], None
    for t in cuts:
        correct = sum(v < t and not p for v, p in conf) / n_neg
        wrongful = sum(v < t and p for v, p in conf) / n_pos
        key = (wrongful, -correct)
        if correct >= min_correct - 1e-9 and (best_key is None or key < best_key):
            best, best_key = t, key
    return round(best, 4)
