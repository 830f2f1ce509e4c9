"""``search embed`` and ``search tune``: thin wrappers over :mod:`searchkit.embedding` and
:mod:`searchkit.tuning` (loaded lazily by the ``search`` group)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .base import setup_logging, json_option


def _preview(vec, n: int = 6) -> str:
    head = " ".join(f"{x:+.4f}" for x in vec[:n])
    return f"[{head} ...]" if len(vec) > n else f"[{head}]"


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return json.dumps(text if len(text) <= width else text[:width - 3] + "...",
                      ensure_ascii=False)


@click.command("embed")
@click.argument("texts", nargs=-1)
@click.option("--file", "-f", "file", type=click.Path(allow_dash=True), default=None,
              help="Read the texts from FILE, one per line ('-' for standard input).")
@click.option("--query", is_flag=True,
              help="Embed as queries (the query side) instead of documents.")
@click.option("--tokens", is_flag=True,
              help="The tokens and their contextual vectors instead of one vector per text.")
@click.option("--encoder", default=None,
              help="minilm, minilm-onnx, minilm-int8, or a tuned model name/path. "
                   "[default: minilm-int8, or the index's own]")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=None,
              help="Use the encoder this index was built with.")
@json_option
@click.option("--npy", "npy", type=click.Path(dir_okay=False), default=None, metavar="OUT",
              help="Write the vectors to OUT.npy (with --tokens: OUT.npz holding tokens, "
                   "offsets, text and vectors).")
def embed_cmd(texts, file, query, tokens, encoder, index_dir, as_json, npy):
    """Embed TEXTS exactly as the index does.

    One L2-normalised vector per text: the document side by default (what the index stores
    for a chunk with this text), the query side with --query. With --tokens, each token's
    contextual vector (the encoder's last hidden state, before pooling).

    \b
    Examples:
      search embed "rivers wear away their banks" --query
      search embed --file sentences.txt --npy vectors.npy
      search embed "a bank of the river" --tokens --json
    """
    from ..embedding import embed, read_texts, resolve_encoder

    if texts and file:
        raise click.UsageError("give TEXTS or --file, not both")
    if not texts and not file:
        raise click.UsageError("nothing to embed: give TEXTS or --file")
    if as_json and npy:
        raise click.UsageError("--json and --npy are exclusive")
    if tokens and query:
        raise click.UsageError("--tokens and --query are exclusive (token vectors do not "
                               "depend on the side)")
    setup_logging(quiet=True)
    items = read_texts(file) if file else list(texts)
    enc = resolve_encoder(encoder, index_dir)
    if tokens:
        _tokens(enc, items, as_json, npy)
        return
    vecs = embed(items, query=query, encoder=enc)
    side = "query" if query else "document"
    if npy:
        out = Path(npy if npy.endswith(".npy") else npy + ".npy")
        import numpy as np

        np.save(out, vecs)
        click.echo(f"Wrote {vecs.shape[0]}x{vecs.shape[1]} float32 ({enc.id}, {side} side) "
                   f"to {out}")
    elif as_json:
        click.echo(json.dumps({
            "encoder": enc.id, "side": side, "dim": int(vecs.shape[1]), "normalized": True,
            "embeddings": [{"text": t, "vector": [round(float(x), 7) for x in v]}
                           for t, v in zip(items, vecs)]}, ensure_ascii=False))
    else:
        click.echo(f"{vecs.shape[0]} x {vecs.shape[1]} float32, {enc.id}, {side} side, "
                   f"L2-normalised")
        for t, v in zip(items, vecs):
            click.echo(f"{_short(t)}  {_preview(v)}")


def _tokens(enc, items, as_json, npy) -> None:
    import numpy as np

    from ..embedding import as_texts

    per = [enc.token_vectors(t) for t in as_texts(items)]
    if npy:
        out = Path(npy)
        out = out.with_suffix(".npz") if out.suffix == ".npy" else Path(f"{out}.npz") \
            if out.suffix != ".npz" else out
        dim = enc.dim
        np.savez(out,
                 tokens=np.array([tok for tv in per for tok in tv.tokens], dtype=str),
                 offsets=np.array([o for tv in per for o in tv.offsets],
                                  dtype=np.int64).reshape(-1, 2),
                 text=np.array([i for i, tv in enumerate(per) for _ in tv.tokens],
                               dtype=np.int64),
                 vectors=np.concatenate([tv.vectors for tv in per]).reshape(-1, dim)
                 .astype(np.float32))
        n = sum(len(tv.tokens) for tv in per)
        click.echo(f"Wrote {n} token vectors x {dim} ({enc.id}) to {out}")
    elif as_json:
        click.echo(json.dumps({
            "encoder": enc.id, "dim": enc.dim,
            "texts": [{"text": t, "tokens": [
                {"token": tok, "start": s, "end": e, "vector": [round(float(x), 6) for x in v]}
                for tok, (s, e), v in zip(tv.tokens, tv.offsets, tv.vectors)]}
                for t, tv in zip(items, per)]}, ensure_ascii=False))
    else:
        for t, tv in zip(items, per):
            click.echo(f"{_short(t, 60)}: {len(tv.tokens)} tokens x {tv.vectors.shape[1]} "
                       f"({enc.id}, contextual, not normalised)")
            width = max((len(tok) for tok in tv.tokens), default=0)
            for tok, (s, e), v in zip(tv.tokens, tv.offsets, tv.vectors):
                click.echo(f"  {tok:<{width}}  {s:>4}-{e:<4}  {_preview(v, 4)}  "
                           f"norm {float((v ** 2).sum() ** 0.5):.2f}")


@click.command("tune")
@click.option("--pairs", type=click.Path(dir_okay=False), default=None, metavar="PAIRS.tsv",
              help="Training pairs: one 'query<TAB>relevant passage' per line.")
@click.option("--beir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Train on a BEIR dataset instead: every judged (query, title + text) "
                   "pair with score > 0 of --split.")
@click.option("--split", default="train", show_default=True,
              help="The BEIR qrels split to train on (never the one you evaluate on).")
@click.option("--out", "out", required=True, metavar="NAME",
              help="Name of the tuned model, saved under indexes/models/NAME.")
@click.option("--base", default="minilm", show_default=True,
              help="Model to start from: minilm, a tuned model name, or a path.")
@click.option("--epochs", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), default=None, metavar="N",
              help="Stop after N optimiser steps.")
@click.option("--batch-size", type=click.IntRange(2, 4096), default=32, show_default=True,
              help="Pairs per step; the other passages of a batch are each query's negatives.")
@click.option("--lr", type=click.FloatRange(0, 1, min_open=True), default=2e-5,
              show_default=True, help="Peak learning rate (AdamW, linear warmup and decay).")
@click.option("--warmup", type=click.FloatRange(0, 1, max_open=True), default=0.1,
              show_default=True, help="Fraction of the steps spent warming up.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing model called NAME.")
@click.option("--hard-negatives", is_flag=True,
              help="Also give each query a passage BM25 ranks high that is not one of its "
                   "positives (from the BEIR corpus, or the pairs' passages).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def tune_cmd(pairs, beir, split, out, base, epochs, max_steps, batch_size, lr, warmup, seed,
             force, hard_negatives, quiet, as_json):
    """Fine-tune the encoder on (query, relevant passage) pairs, on CPU.

    Uses sentence-transformers' MultipleNegativesRankingLoss (each query must find its
    passage among the batch's) and saves the model, with a card (searchkit_card.json,
    README.md), under indexes/models/NAME. No index is touched; to use the model:

    \b
      search index PATHS --encoder NAME --rebuild

    \b
    Examples:
      search tune --pairs pairs.tsv --out mymodel
      search tune --beir DATASET_DIR --out scifact-tuned --lr 5e-5 --max-steps 100
      search tune --beir DATASET_DIR --out scifact-hn --lr 5e-5 --hard-negatives
    """
    from ..tuning import tune

    if (pairs is None) == (beir is None):
        raise click.UsageError("give --pairs PAIRS.tsv or --beir DIR")
    setup_logging(quiet or as_json)
    bar = _LossBar(disabled=quiet or as_json)
    try:
        res = tune(pairs=pairs, beir=beir, split=split, out=out, base=base, epochs=epochs,
                   max_steps=max_steps, batch_size=batch_size, lr=lr, warmup=warmup,
                   seed=seed, force=force, progress=bar.update,
                   hard_negatives=hard_negatives)
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(res.to_dict(), indent=2))
        return
    click.echo(f"Saved {res.name!r} to {res.path}\n"
               f"{res.steps} steps on {res.pairs} pairs in {res.seconds:.1f} s; loss "
               f"{res.first_loss:.4f} -> {res.final_loss:.4f} (mean of first/last 10 steps)\n"
               f"Encoder id: {res.encoder_id}\n"
               f"Use it: search index PATHS --encoder {res.name} --rebuild")


class _LossBar:
    """A tqdm bar on stderr whose postfix is the loss, plus a loss line at each tenth."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar: Any = None
        self.avg: float | None = None

    def update(self, step: int, total: int, loss: float) -> None:
        if self.disabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="step", desc="Tuning", file=sys.stderr,
                            dynamic_ncols=True, disable=None)
        self.avg = loss if self.avg is None else 0.9 * self.avg + 0.1 * loss
        self.bar.set_postfix(loss=f"{loss:.4f}", avg=f"{self.avg:.4f}", refresh=False)
        self.bar.update(1)
        if step == 1 or step == total or step % max(1, total // 10) == 0:
            self.bar.write(f"step {step:>{len(str(total))}}/{total}  loss {loss:.4f}  "
                           f"(running {self.avg:.4f})", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
