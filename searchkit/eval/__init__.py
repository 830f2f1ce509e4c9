"""Evaluation: trec_eval-compatible metrics and BEIR dataset loading (no heavy imports)."""

from .beir import BeirDataset, available_splits, load_beir
from .metrics import (DEFAULT_METRICS, evaluate, map_at_k, mrr_at_k, ndcg_at_k, per_query,
                      recall_at_k)

__all__ = ["BeirDataset", "load_beir", "available_splits", "evaluate", "per_query",
           "ndcg_at_k", "recall_at_k", "mrr_at_k", "map_at_k", "DEFAULT_METRICS"]
