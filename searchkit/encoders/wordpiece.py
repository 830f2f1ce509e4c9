"""BERT WordPiece for ASCII text in pure Python: the cold query path's tokenizer.

Loading the ``tokenizers`` extension costs a fresh process a good share of what
``import faiss, onnxruntime`` costs (measured once on the 2-core development machine), and
parsing tokenizer.json more; a query is a few words. For ASCII text MiniLM's BertNormalizer
(lowercase, drop control characters) and BertPreTokenizer (split on whitespace and on every
punctuation character) reduce to a regular expression, and WordPiece is greedy
longest-match-first over vocab.txt. tests/test_speed_paths.py checks the ids against
``tokenizers``; anything non-ASCII goes to ``tokenizers``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

# BertNormalizer's clean_text drops control characters (tab, newline, CR are whitespace).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# After lowercasing, ASCII words are runs of letters and digits; every other printable
# character is punctuation to BERT (a token by itself).
_PIECES = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
MAX_WORD_CHARS = 100


class Encoding(NamedTuple):
    ids: list[int]
    attention_mask: list[int]
    type_ids: list[int]


class AsciiWordPiece:
    """Token ids as MiniLM's tokenizer.json gives them, for ASCII text only."""

    def __init__(self, vocab_file: Path):
        # One read and one split: a third of the time of a per-line loop (a cold query
        # pays it: 30k entries).
        words = Path(vocab_file).read_text(encoding="utf-8").split("\n")
        if words and words[-1] == "":
            words.pop()
        self.vocab = dict(zip(words, range(len(words))))
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.unk, self.pad = self.vocab["[UNK]"], self.vocab.get("[PAD]", 0)

    def _word(self, word: str, out: list[int]) -> None:
        if len(word) > MAX_WORD_CHARS:
            out.append(self.unk)
            return
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:  # no piece fits: the whole word is unknown
                out.append(self.unk)
                return
            start = end
        out.extend(pieces)

    def encode(self, text: str, max_tokens: int) -> list[int]:
        ids: list[int] = []
        for word in _PIECES.findall(_CONTROL.sub("", text).lower()):
            self._word(word, ids)
            if len(ids) >= max_tokens - 2:
                break
        return [self.cls, *ids[:max_tokens - 2], self.sep]

    def encode_batch(self, texts: list[str], max_tokens: int) -> list[Encoding]:
        """Padded to the longest, like the batch tokenizer."""
        rows = [self.encode(t, max_tokens) for t in texts]
        width = max(len(r) for r in rows)
        zeros = [0] * width
        return [Encoding(r + [self.pad] * (width - len(r)),
                         [1] * len(r) + [0] * (width - len(r)), zeros) for r in rows]


def usable(texts: list[str], max_chars: int) -> bool:
    """Whether ``texts`` are few and ASCII enough for :class:`AsciiWordPiece`."""
    return sum(map(len, texts)) <= max_chars and all(t.isascii() for t in texts)


__all__ = ["AsciiWordPiece", "Encoding", "usable"]
