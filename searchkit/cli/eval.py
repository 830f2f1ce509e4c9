"""``search eval`` and ``search compare``: measure the methods, and look at them side by side."""

from __future__ import annotations

import json
import shutil

import click

from .base import fusion_kwargs, index_path, ProgressBar, setup_logging, fusion_options, index_option, json_option

from ..retrieval.methods import METHODS, installed_methods  # the registry: cheap to import


def _methods(method: tuple[str, ...], all_: bool, default: tuple[str, ...] | None) -> list[str] | None:
    if all_:
        return list(installed_methods())  # tfidf and glove need searchkit[static]
    names = [m.strip() for part in method for m in part.split(",") if m.strip()]
    for m in names:
        if m not in METHODS:
            raise click.BadParameter(f"{m!r} is not one of {', '.join(METHODS)}",
                                     param_hint="'--method'")
    return list(dict.fromkeys(names)) or (list(default) if default else None)


method_option = click.option(
    "--method", "-m", multiple=True, metavar="METHOD",
    help=f"A method to run: {', '.join(METHODS)}; repeatable or comma-separated.")


@click.command("eval")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False))
@method_option
@click.option("--all", "all_", is_flag=True, help="Every method.")
@click.option("--split", default="test", show_default=True,
              help="The qrels split to score (qrels/SPLIT.tsv); tune on train, report test.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=None,
              help="Index directory for the corpus. "
                   "[default: <index home>/eval/NAME-ENCODER-SIZE-OVERLAP]")
@click.option("--encoder", default=None, help="Encoder of the index. [default: minilm-int8]")
@click.option("--chunk-size", type=click.IntRange(16, 512), default=None,
              help="Chunk size in tokens. [default: 256]")
@click.option("--overlap", type=click.IntRange(0, 256), default=None,
              help="Tokens shared by consecutive chunks. [default: 32]")
@fusion_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@json_option
def eval_cmd(dataset, method, all_, split, index_dir, encoder, chunk_size, overlap, fuse,
             weights, rrf_k, combine, quiet, as_json):
    """Score search methods on the BEIR-format dataset in DATASET.

    DATASET holds corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv. Each document is indexed
    as its title, a blank line and its text; the index is built once and reused while the
    corpus is unchanged. Every judged query is run with each method (default: the default
    method); a document scores as its best chunk, 100 documents per query. Reports nDCG@10,
    Recall@100, MRR@10 and MAP@100 (as trec_eval computes them), the index's build time
    and chunks/s, each method's setup time and per-query latency (p50/p95, one query at a
    time, query encoding included).

    \b
    Examples:
      search eval /work/shared/eval/scifact --all
      search eval DATASET_DIR -m hybrid --rrf-k 10 --split train
      search eval DATASET_DIR -m dense,bm25 --json > scores.json
    """
    from ..api import evaluate_dataset

    setup_logging(quiet or as_json)
    bar = ProgressBar(disabled=quiet or as_json)

    def shown(r):
        if not as_json and not quiet:
            click.echo(f"  {r.method}: nDCG@10 {r.metrics['ndcg@10']:.4f}", err=True)

    try:
        report = evaluate_dataset(dataset, _methods(method, all_, None), split=split,
                                  index=index_dir, encoder=encoder, chunk_size=chunk_size,
                                  overlap=overlap, progress=bar.update, on_result=shown,
                                  **fusion_kwargs(fuse, weights, rrf_k, combine))
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(format_report(report))


def format_report(report) -> str:
    """The eval report as a few header lines and a fixed-width table."""
    i = report.index
    c = i.chunking
    built = (f"built in {i.build_seconds:.1f} s ({i.build_chunks_per_s:.1f} chunks/s)"
             if i.build_seconds is not None and i.build_chunks_per_s else "")
    lines = [
        f"{report.dataset} ({report.split} split): {report.documents:,} documents, "
        f"{report.queries:,} queries",
        f"Index: {i.path}: {i.chunks:,} chunks, {i.encoder}, chunks of {c.get('max_tokens')} "
        f"tokens overlapping {c.get('overlap')}; " + ("reused" if i.reused else "indexed now")
        + (f", {built}" if built else ""),
        "",
        f"{'method':<8} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'MAP@100':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'setup s':>8}",
    ]
    for r in report.results:
        m = r.metrics
        lines.append(f"{r.method:<8} {m['ndcg@10']:>8.4f} {m['recall@100']:>7.4f} "
                     f"{m['mrr@10']:>7.4f} {m['map@100']:>8.4f} {r.latency_ms_p50:>7.1f} "
                     f"{r.latency_ms_p95:>7.1f} {r.setup_seconds:>8.1f}")
    for r in report.results:
        if r.fusion:
            f = r.fusion
            lines.append(f"hybrid = RRF k={f['k']:g} of " + ", ".join(
                f"{m} (weight {w:g})" for m, w in zip(f["methods"], f["weights"])))
    return "\n".join(lines)


@click.command("compare")
@click.argument("text")
@index_option
@method_option
@click.option("-k", "--top", "k", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Results per method.")
@fusion_options
@click.option("--width", type=click.IntRange(40, 1000), default=None,
              help="Table width in characters. [default: the terminal's]")
@json_option
def compare_cmd(text, index_dir, method, k, fuse, weights, rrf_k, combine, width, as_json):
    """Show the top results of several methods for the question TEXT side by side.

    One column per method (default: all of them), one row per rank; a cell names the
    document (its title, else its path) and its score. A `*` marks a document that no other
    column lists: what only that method found.

    \b
    Examples:
      search compare "where can I borrow money to buy a house"
      search compare "bank fees" -m dense,bm25 -k 3 --json
    """
    from ..api import compare

    results = compare(text, _methods(method, False, installed_methods()), index=index_path(index_dir),
                      k=k, **fusion_kwargs(fuse, weights, rrf_k, combine))
    if as_json:
        click.echo(json.dumps({"query": text, "methods": {
            m: [h.to_dict() for h in hits] for m, hits in results.items()}},
            indent=2, ensure_ascii=False))
        return
    click.echo(format_compare(results, width or shutil.get_terminal_size((120, 24)).columns))


def format_compare(results: dict, width: int) -> str:
    """A rank x method table of document labels; ``*`` marks documents unique to a column."""
    methods = list(results)
    rows = max((len(h) for h in results.values()), default=0)
    if rows == 0:
        return "No results."
    found = {m: {h.doc_id for h in hits} for m, hits in results.items()}
    col = max(12, (width - 4) // max(len(methods), 1) - 1)
    out = [("    " + " ".join(f"{m:<{col}.{col}}" for m in methods)).rstrip()]
    for r in range(rows):
        cells = []
        for m in methods:
            hits = results[m]
            if r >= len(hits):
                cells.append(" " * col)
                continue
            h = hits[r]
            only = not any(h.doc_id in found[o] for o in methods if o != m)
            label = " ".join((h.title or h.path).split())
            tail = f" {h.score:.3g}" + ("*" if only else "")
            room = col - len(tail)
            label = label if len(label) <= room else label[:max(room - 1, 1)] + "…"
            cells.append(f"{label:<{room}}{tail}")
        out.append((f"{r + 1:>2}. " + " ".join(cells)).rstrip())
    out.append("* only this method found the document (among the columns shown)")
    return "\n".join(out)
