import pytest

from searchkit.chunking import chunk_text, line_of
from searchkit.config import ChunkSettings
from searchkit.encoders.base import Encoder


class _Tok(Encoder):
    def embed_batch(self, texts):  # pragma: no cover - only the tokenizer is used
        raise AssertionError


@pytest.fixture(scope="module")
def tok():
    return _Tok().tokenizer


def _text():
    paras = []
    for i in range(30):
        sents = [f"Paragraph {i} sentence {j} talks about rivers, banks and the loans of "
                 f"merchants in the old town number {i * j}." for j in range(4)]
        paras.append(" ".join(sents))
    return "\n\n".join(paras)


@pytest.mark.parametrize("size,overlap", [(256, 32), (64, 8), (32, 0), (128, 40)])
def test_invariants(tok, size, overlap):
    text = _text()
    spans = chunk_text(text, tok, ChunkSettings(size, overlap))
    assert len(spans) > 1
    for s in spans:
        piece = text[s.start:s.end]
        assert piece == piece.strip() and piece
        n = len(tok.encode(piece).ids)  # with [CLS]/[SEP]
        assert n <= size
        assert n == s.n_tokens
        assert s.start_line == line_of(text, s.start)
        assert s.end_line == line_of(text, s.end - 1)
    # coverage: no text between chunks is lost
    for a, b in zip(spans, spans[1:]):
        assert b.start <= a.end or not text[a.end:b.start].strip()
        assert b.start > a.start
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_breaks_at_paragraphs_when_possible(tok):
    text = _text()
    spans = chunk_text(text, tok, ChunkSettings(256, 0))
    for s in spans[:-1]:
        assert text[s.end:s.end + 2] == "\n\n", text[s.end - 20:s.end + 5]


def test_breaks_at_sentences_inside_a_long_paragraph(tok):
    text = " ".join(f"Sentence number {i} is about nothing much at all." for i in range(200))
    spans = chunk_text(text, tok, ChunkSettings(64, 0))
    for s in spans[:-1]:
        assert text[s.start:s.end].endswith("."), text[s.start:s.end]


def test_a_single_huge_word_is_still_cut_within_limits(tok):
    text = "x" * 5000
    spans = chunk_text(text, tok, ChunkSettings(64, 8))
    assert spans and all(s.n_tokens <= 64 for s in spans)
    assert spans[-1].end == len(text)


def test_empty_and_whitespace_give_no_chunks(tok):
    assert chunk_text("", tok) == []
    assert chunk_text(" \n\t ", tok) == []


def test_pages(tok):
    text = "page one text.\n\npage two text.\n\npage three."
    pages = [0, text.index("page two"), text.index("page three")]
    spans = chunk_text(text, tok, ChunkSettings(8, 0), pages=pages)
    assert [s.page for s in spans] == [1, 2, 3]


def test_settings_are_validated():
    with pytest.raises(ValueError):
        ChunkSettings(4, 0)
    with pytest.raises(ValueError):
        ChunkSettings(64, 40)
