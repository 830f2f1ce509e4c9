"""all-MiniLM-L6-v2 (or a tuned copy of it) through sentence-transformers and torch."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from .base import Encoder, TokenVectors


class SentenceTransformerEncoder(Encoder):
    """The reference backend: sentence-transformers on torch, CPU unless CUDA is present."""

    id = "minilm"

    def __init__(self, model_dir: str | Path | None = None, id: str | None = None):
        super().__init__(model_dir)
        if id:
            self.id = id
        cfg = self.model_dir / "sentence_bert_config.json"
        if cfg.exists():
            import json

            self.max_tokens = int(json.loads(cfg.read_text()).get("max_seq_length", 256))

    @cached_property
    def model(self):
        import warnings

        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = SentenceTransformer(str(self.model_dir), device=None)
        m.max_seq_length = self.max_tokens
        get_dim = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        self.dim = get_dim()
        return m

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        v = self.model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(v, dtype=np.float32)

    def embed_with_sentences(self, texts: list[str]) -> tuple[np.ndarray, list[bytes]]:
        """Chunk vectors (the model's mean pooling, L2-normalised: what :meth:`embed_batch`
        gives, up to float rounding) and each text's packed sentence vectors pooled from the
        same token vectors (:mod:`searchkit.sentence_vectors`), as the ONNX encoders store
        them: a tuned model's index then has highlights without an encoder run, and hybrid's
        sentence evidence."""
        import torch

        from ..sentence_vectors import pool

        tok = self.model.tokenizer
        enc = tok(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                  return_offsets_mapping=True, return_special_tokens_mask=True,
                  return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        special = enc.pop("special_tokens_mask").tolist()
        mask = enc["attention_mask"]
        with torch.inference_mode():
            hidden = self.model[0].auto_model(
                **{k: v for k, v in enc.items()
                   if k in ("input_ids", "attention_mask", "token_type_ids")}
            ).last_hidden_state.float()
        m = mask.unsqueeze(-1).float()
        pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        hidden_np = hidden.cpu().numpy()
        mask_np = mask.cpu().numpy()
        blobs = []
        for i, t in enumerate(texts):
            n = int(mask_np[i].sum())  # padding tokens carry offsets (0, 0) and no meaning
            blobs.append(pool(t, hidden_np[i, :n], offsets[i][:n],
                              [int(x) for x in special[i][:n]]))
        return pooled.cpu().numpy().astype(np.float32), blobs

    def token_vectors(self, text: str) -> TokenVectors:
        import torch

        tok = self.model.tokenizer
        enc = tok(text, return_offsets_mapping=True, truncation=True,
                  max_length=self.max_tokens, return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        transformer = self.model[0].auto_model
        with torch.inference_mode():
            hidden = transformer(**{k: v for k, v in enc.items()
                                    if k in ("input_ids", "attention_mask", "token_type_ids")}
                                 ).last_hidden_state[0].float().cpu().numpy()
        ids = enc["input_ids"][0].tolist()
        keep = [i for i, tid in enumerate(ids) if tid not in tok.all_special_ids]
        return TokenVectors(
            tokens=tok.convert_ids_to_tokens([ids[i] for i in keep]),
            offsets=[tuple(offsets[i]) for i in keep],
            vectors=hidden[keep].astype(np.float32),
        )
