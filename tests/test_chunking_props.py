"""Property tests of the chunker with the real MiniLM tokenizer (no model weights needed):
offsets slice back to the text, every token is covered, the token limit holds (also when
the chunk is tokenised again on its own, as the encoder will), line and page numbers are
right, and consecutive chunks share at most ``overlap`` tokens."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from searchkit.chunking import _token_offsets, chunk_text, line_of
from searchkit.config import ChunkSettings


@pytest.fixture(scope="module")
def tokenizer():
    from searchkit.encoders.hashing import HashingEncoder

    return HashingEncoder().tokenizer


pieces = st.one_of(
    st.sampled_from(["the", "river", "Erosion", "naïve", "café", "übermäßig", "日本語",
                     "🐝", "x" * 40, "supercalifragilisticexpialidocious", "e.g.", "3.14",
                     "def f(x):", "—", "\u200b", "\t", "  "]),
    st.text(min_size=1, max_size=12),
)
separators = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "! ", "\r\n", "\n \n", ""])


@st.composite
def documents(draw):
    parts = draw(st.lists(st.tuples(pieces, separators), min_size=0, max_size=120))
    return "".join(p + s for p, s in parts)


@st.composite
def chunk_settings(draw):
    size = draw(st.integers(8, 64))
    return ChunkSettings(max_tokens=size, overlap=draw(st.integers(0, size // 2 - 1)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents(), cs=chunk_settings())
def test_chunk_properties(tokenizer, text, cs):
    spans = chunk_text(text, tokenizer, cs)
    offs = _token_offsets(text, tokenizer)
    if not offs:
        assert spans == []
        return
    assert spans
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        chunk = text[s.start:s.end]
        assert chunk.strip()  # no empty chunk
        # the token limit, as counted while chunking and as the encoder will count it
        assert s.n_tokens <= cs.max_tokens
        # as the encoder reads the chunk's text (a word cut by a hard cut re-tokenises
        # differently on its own: "##ious" alone is "io", "##us")
        assert s.n_tokens == len(tokenizer.encode(chunk).ids), (chunk, s)
        # line numbers
        assert s.start_line == line_of(text, s.start)
        assert s.end_line == line_of(text, s.end - 1)
    # every token lies in some chunk; chunks move forward
    for a, b in offs:
        assert any(s.start <= a and b <= s.end for s in spans), (a, b)
    assert [s.start for s in spans] == sorted({s.start for s in spans})
    assert spans[0].start == offs[0][0] and spans[-1].end == offs[-1][1]
    for prev, nxt in zip(spans, spans[1:]):
        shared = [o for o in offs if nxt.start <= o[0] and o[1] <= prev.end]
        assert len(shared) <= cs.overlap


@settings(max_examples=40, deadline=None)
@given(pages=st.lists(documents(), min_size=1, max_size=5), cs=chunk_settings())
def test_page_numbers(tokenizer, pages, cs):
    starts, pos = [], 0
    for p in pages:
        starts.append(pos)
        pos += len(p) + 2
    text = "\n\n".join(pages)
    for s in chunk_text(text, tokenizer, cs, starts):
        assert s.page == bisect.bisect_right(starts, s.start)
        assert 1 <= s.page <= len(pages)


def test_no_tokens_no_chunks(tokenizer):
    for text in ("", "   ", "\n\n\n", "\u200b\u200b"):
        assert chunk_text(text, tokenizer, ChunkSettings()) == []


@given(st.text(max_size=30))
@settings(max_examples=30, deadline=None)
def test_line_of_matches_splitlines_on_newlines(text):
    assume("\r" not in text)
    for i in range(len(text) + 1):
        assert line_of(text, i) == text[:i].count("\n") + 1


@pytest.mark.parametrize("text", ["übermäßig 0\x1fErosion ", "naïve 0\x1fErosion river 3\x00DY"])
def test_characters_the_tokenizer_drops_do_not_split_a_word(tokenizer, text):
    # hypothesis found it: "0\x1fErosion" is one word to the tokenizer (it drops \x1f), so a
    # cut before "Erosion" is a cut inside a word and the chunk must be counted as re-read
    for s in chunk_text(text, tokenizer, ChunkSettings(max_tokens=8, overlap=0)):
        assert s.n_tokens == len(tokenizer.encode(text[s.start:s.end]).ids) <= 8
