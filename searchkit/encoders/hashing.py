"""A deterministic bag-of-hashed-words encoder, for testing the plumbing fast.

It has no notion of meaning beyond shared words: never use it to judge quality. It keeps the
real MiniLM tokenizer, so chunking is exactly what the real encoders see, and it counts every
text it embeds (``calls``), which lets tests assert exactly what was re-embedded.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .base import Encoder, TokenVectors


class HashingEncoder(Encoder):
    id = "hashing-test"
    dim = 384
    max_tokens = 256

    def __init__(self, model_dir: str | None = None, id: str | None = None) -> None:
        super().__init__(model_dir)
        self.calls: list[str] = []

    @staticmethod
    def _vec(word: str, dim: int) -> np.ndarray:
        h = hashlib.blake2b(word.encode(), digest_size=8).digest()
        rng = np.random.default_rng(int.from_bytes(h, "little"))
        return rng.standard_normal(dim).astype(np.float32)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i] += self._vec(w, self.dim)
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n > 0 else out[i]
        return out

    def token_vectors(self, text: str) -> TokenVectors:
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        vecs = np.stack([self._vec(t, self.dim) for t in enc.tokens]) if enc.tokens else \
            np.zeros((0, self.dim), np.float32)
        return TokenVectors(list(enc.tokens), [tuple(o) for o in enc.offsets], vecs)
