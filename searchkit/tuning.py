"""Fine-tune the sentence encoder on (query, relevant passage) pairs, on CPU.

The loss is sentence-transformers' MultipleNegativesRankingLoss: each query must pick its own
passage among the batch's passages, so no negatives need mining. The loop is plain torch
(AdamW, linear warmup then decay, gradient clipping) rather than the Trainer, which would
pull in ``datasets`` and ``accelerate`` for a few dozen steps.

The tuned model is saved in sentence-transformers format under ``<index home>/models/NAME``
with a card (``searchkit_card.json`` and ``README.md``), and from then on ``NAME`` works
wherever an encoder name does (``search index --encoder NAME --rebuild``).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Sequence

from .errors import BadInput

CARD_FILE = "searchkit_card.json"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

#: ``progress(step, total_steps, loss)`` after each optimiser step.
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class TuneResult:
    """What ``search tune`` did: where the model is and how training went.

    Attributes:
        name: the model's name (``search index --encoder NAME``).
        path: the saved model directory.
        encoder_id: the id an index manifest records for this model (``NAME@fingerprint``).
        base: the model tuning started from.
        data: where the pairs came from.
        pairs: training pairs read.
        steps: optimiser steps taken.
        seconds: wall time of the training loop.
        first_loss: mean loss of the first steps (up to 10).
        final_loss: mean loss of the last steps (up to 10).
        losses: the loss of every step.
    """

    name: str
    path: Path
    encoder_id: str
    base: str
    data: str
    pairs: int
    steps: int
    epochs: int
    batch_size: int
    lr: float
    warmup_steps: int
    seconds: float
    first_loss: float
    final_loss: float
    losses: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


# -- reading pairs ----------------------------------------------------------------------

def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """``(query, passage)`` pairs from a TSV file: one pair per line, two tab-separated
    columns, no header; blank lines are skipped.

    Raises:
        BadInput: the file is missing, not UTF-8, has no pairs, or a line that is not two
            non-empty tab-separated columns (the message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"pairs file not found: {path}")
    pairs = []
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise BadInput(f"{path} line {n}: not UTF-8 text") from None
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                raise BadInput(f"{path} line {n}: expected 2 tab-separated columns "
                               f"(query, passage), found {len(cols)}")
            query, passage = (c.strip() for c in cols)
            if not query or not passage:
                raise BadInput(f"{path} line {n}: empty {'query' if not query else 'passage'}")
            pairs.append((query, passage))
    if not pairs:
        raise BadInput(f"{path}: no pairs (expected lines of query<TAB>passage)")
    return pairs


def beir_pairs(directory: str | Path, split: str = "train") -> list[tuple[str, str]]:
    """``(query, title + " " + text)`` for every judgment with score > 0 in
    ``qrels/<split>.tsv`` of a BEIR dataset (judged documents missing from the corpus are
    skipped)."""
    from .eval import load_beir

    return _pairs_of(load_beir(directory, split), directory, split)


def _pairs_of(ds, directory, split) -> list[tuple[str, str]]:
    pairs = [(ds.queries[q], ds.doc_text(d))
             for q, docs in ds.qrels.items() for d, score in docs.items()
             if score > 0 and d in ds.corpus]
    if not pairs:
        raise BadInput(f"BEIR dataset {directory}: no positive judgments in split {split!r}")
    return pairs


def batches(pairs: Sequence[tuple[str, ...]], batch_size: int,
            seed: int = 0) -> list[list[tuple[str, ...]]]:
    """Shuffled batches in which no query and no passage appears twice: a duplicate would be
    a false in-batch negative for MultipleNegativesRankingLoss. Each pair goes to the first
    batch with room and no clash; a lone pair left at the end joins a batch it does not
    clash with (one over size), or is dropped if there is none (it would have no negatives).
    Items may be triplets ``(query, passage, hard negative)``: the negative is a passage of
    the batch too, so it clashes the same way.
    """
    order = list(pairs)
    random.Random(seed).shuffle(order)
    out: list[list[tuple[str, ...]]] = []
    seen: list[set[str]] = []
    for item in order:
        for b, s in zip(out, seen):
            if len(b) < batch_size and s.isdisjoint(item):
                b.append(item)
                s.update(item)
                break
        else:
            out.append([item])
            seen.append(set(item))
    for i in [i for i, b in enumerate(out) if len(b) == 1][::-1]:
        (item,) = out.pop(i)
        seen.pop(i)
        for b, s in zip(out, seen):
            if s.isdisjoint(item):
                b.append(item)
                s.update(item)
                break
    return out


#: Hard negatives are drawn from this many of BM25's best passages for the query that are
#: not among its positives (the very best are often relevant but unjudged).
NEGATIVE_DEPTH = 10


def mine_negatives(pairs: Sequence[tuple[str, str]], pool: Sequence[str] | None = None,
                   seed: int = 0, depth: int = NEGATIVE_DEPTH) -> list[tuple[str, str, str]]:
    """``(query, passage, hard negative)`` for each pair: a passage BM25 ranks among the
    query's best ``depth`` that is none of the query's positives, drawn at random (seeded).
    ``pool`` is where negatives come from (a BEIR corpus), else the pairs' own passages. A
    pair whose query finds no such passage is left out."""
    from .retrieval import get_retriever

    passages = list(dict.fromkeys(pool if pool is not None else (p for _, p in pairs)))
    positives: dict[str, set[str]] = {}
    for q, p in pairs:
        positives.setdefault(q, set()).add(p)
    bm25 = get_retriever("bm25")
    bm25.build(range(len(passages)), passages)
    rng = random.Random(seed)
    found: dict[str, list[str]] = {}
    for q in positives:
        ranked = [passages[int(i)] for i, _ in bm25.search(q, depth + len(positives[q]))]
        found[q] = [t for t in ranked if t not in positives[q]][:depth]
    return [(q, p, rng.choice(found[q])) for q, p in pairs if found[q]]


# -- names and the saved model ----------------------------------------------------------

def model_dir(name: str) -> Path:
    """Where the tuned model ``name`` lives: ``<index home>/models/NAME``."""
    from .config import models_home
    from .encoders import REGISTRY

    if not NAME_RE.fullmatch(name) or name in (".", ".."):
        raise BadInput(f"model name {name!r}: use letters, digits, '.', '_' and '-' "
                       f"(it becomes a folder under {models_home()})", )
    if name in REGISTRY:
        raise BadInput(f"model name {name!r} is a built-in encoder; choose another --out")
    return models_home() / name


def _base_dir(base: str) -> Path:
    from .encoders import REGISTRY, minilm_path, resolve_model_path

    if base == "minilm":
        return minilm_path()
    if base in REGISTRY:
        raise BadInput(f"cannot tune {base!r}: tuning starts from minilm or a "
                       f"sentence-transformers model (a tuned name or a path)")
    return resolve_model_path(base.rsplit("@", 1)[0] if not Path(base).exists() else base)


def _card_readme(card: dict) -> str:
    rows = "\n".join(f"| {k} | {v} |" for k, v in card.items() if k != "losses")
    return (f"# {card['name']}\n\nA sentence-transformers model fine-tuned by `search tune` "
            f"(searchkit) with MultipleNegativesRankingLoss on (query, passage) pairs.\n\n"
            f"Use it with `search index --encoder {card['name']} --rebuild`.\n\n"
            f"| | |\n|---|---|\n{rows}\n")


# -- training ---------------------------------------------------------------------------

def tune(pairs: str | Path | Iterable[tuple[str, str]] | None = None, out: str = "",
         beir: str | Path | None = None, split: str = "train", base: str = "minilm",
         epochs: int = 1, max_steps: int | None = None, batch_size: int = 32,
         lr: float = 2e-5, warmup: float = 0.1, seed: int = 0, force: bool = False,
         progress: Progress | None = None, hard_negatives: bool = False) -> TuneResult:
    """Fine-tune ``base`` on (query, relevant passage) pairs and save it as ``out``.

    Args:
        pairs: a TSV file of ``query<TAB>passage`` lines, or the pairs themselves.
        out: the new model's name; it is saved under ``<index home>/models/OUT``.
        beir: instead of ``pairs``, a BEIR dataset directory: every judgment with score > 0
            of ``split`` becomes a (query, title + " " + text) pair.
        split: the BEIR qrels split to train on (never the one you evaluate on).
        base: the model to start from: ``minilm``, a tuned model's name, or a path.
        epochs: passes over the pairs.
        max_steps: stop after this many optimiser steps (for smoke tests).
        batch_size: pairs per step; each query's negatives are the batch's other passages.
        lr: peak learning rate of AdamW, reached after ``warmup`` (a fraction of the steps)
            and decayed linearly to 0.
        seed: shuffling and initialisation seed.
        force: replace an existing model called ``out``.
        progress: ``progress(step, total, loss)`` after each step.
        hard_negatives: besides the batch's other passages, give each query one passage
            BM25 ranks high that is not among its positives (:func:`mine_negatives`; from
            the BEIR corpus with ``beir``, else from the pairs' passages).

    Returns:
        A :class:`TuneResult`. Existing indexes are not touched.

    Raises:
        BadInput: bad pairs, an existing ``out`` without ``force``, bad hyperparameters.
    """
    from .extras import require

    require("sentence_transformers", "torch", "search tune")
    if (pairs is None) == (beir is None):
        raise BadInput("give either pairs or a BEIR dataset, not both or neither")
    if not out:
        raise BadInput("an output model name (--out) is required")
    final = model_dir(out)
    if final.exists() and not force:
        raise BadInput(f"model {out!r} already exists at {final}; use --force to replace it")
    if epochs < 1 or batch_size < 2 or lr <= 0 or not 0 <= warmup < 1 or \
            (max_steps is not None and max_steps < 1):
        raise BadInput("need epochs >= 1, batch size >= 2, lr > 0, 0 <= warmup < 1, "
                       "max steps >= 1")
    pool = None
    if beir is not None:
        from .eval import load_beir

        ds = load_beir(beir, split)  # read once: the pairs and the negatives' pool
        data, pair_list = f"BEIR {Path(beir).resolve()} split {split}", _pairs_of(ds, beir, split)
        if hard_negatives:
            pool = [ds.doc_text(d) for d in ds.corpus]
    elif isinstance(pairs, (str, Path)):
        data, pair_list = str(Path(pairs).resolve()), read_pairs(pairs)
    else:
        data, pair_list = "pairs given in Python", [(str(q), str(p)) for q, p in pairs or ()]
        if not pair_list:
            raise BadInput("no pairs to train on")
    base_dir = _base_dir(base)

    items: list[tuple[str, ...]] = list(pair_list)
    if hard_negatives:
        items = list(mine_negatives(pair_list, pool, seed))
    schedule = [b for e in range(epochs) for b in batches(items, batch_size, seed + e)]
    if max_steps is not None:
        schedule = schedule[:max_steps]
    if not schedule:
        raise BadInput(f"{len(pair_list)} pair(s) make no batch of 2 distinct pairs")

    t0 = time.perf_counter()
    model, losses, warmup_steps = _train(base_dir, schedule, lr, warmup, seed, progress)
    seconds = time.perf_counter() - t0

    head, tail = losses[:10], losses[-10:]
    card = {"name": out, "base": base, "base_path": str(base_dir), "data": data,
            "pairs": len(pair_list), "epochs": epochs, "steps": len(schedule),
            "batch_size": batch_size, "lr": lr, "warmup_steps": warmup_steps, "seed": seed,
            "loss": "MultipleNegativesRankingLoss (scale 20, cosine)",
            "hard_negatives": len(items) if hard_negatives else 0,
            "seconds": round(seconds, 1), "first_loss": round(sum(head) / len(head), 4),
            "final_loss": round(sum(tail) / len(tail), 4),
            "max_seq_length": model.max_seq_length, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "searchkit_version": _version(), "losses": [round(x, 4) for x in losses]}
    _save(model, card, final)

    from .encoders import encoder_id

    return TuneResult(name=out, path=final.resolve(), encoder_id=encoder_id(out), base=base,
                      data=data, pairs=len(pair_list), steps=len(schedule), epochs=epochs,
                      batch_size=batch_size, lr=lr, warmup_steps=warmup_steps,
                      seconds=round(seconds, 1), first_loss=card["first_loss"],
                      final_loss=card["final_loss"], losses=losses)


def _train(base_dir: Path, schedule, lr, warmup, seed, progress):
    import warnings

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    try:
        from sentence_transformers.sentence_transformer.losses import \
            MultipleNegativesRankingLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import (  # type: ignore[no-redef]
            MultipleNegativesRankingLoss)

    from .encoders.base import offline

    offline()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SentenceTransformer(str(base_dir), device="cpu")
    model.max_seq_length = min(model.max_seq_length or 256, 256)
    loss_fn = MultipleNegativesRankingLoss(model)
    total = len(schedule)
    warmup_steps = round(warmup * total)  # none for a 1-step smoke run, whose lr would be 0
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(optim, warmup_steps, total)
    model.train()
    losses = []
    for step, batch in enumerate(schedule, 1):
        # (query, passage[, hard negative]): each column is one input of the loss
        feats = [_features(model, list(col)) for col in zip(*batch)]
        loss = loss_fn(feats, None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad()
        losses.append(float(loss.detach()))
        if progress:
            progress(step, total, losses[-1])
    model.eval()
    return model, losses, warmup_steps


def _features(model, texts: list[str]) -> dict:
    """Tokenised model inputs on the model's device."""
    prep = getattr(model, "preprocess", None) or model.tokenize  # tokenize: ST < 6
    return {k: v.to(model.device) if hasattr(v, "to") else v for k, v in prep(texts).items()}


def _save(model, card: dict, final: Path) -> None:
    """Write into a temporary folder beside ``final`` and rename it into place, so a
    half-written model never carries the name."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        model.save(str(tmp))
        (tmp / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
        (tmp / "README.md").write_text(_card_readme(card))
        tmp.chmod(0o755)
        if final.exists():
            old = final.with_name(f".old-{final.name}-{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _version() -> str:
    from . import __version__

    return __version__


__all__ = ["tune", "TuneResult", "read_pairs", "beir_pairs", "batches", "mine_negatives",
           "model_dir", "CARD_FILE"]
