"""``search senses``: the senses of a word in the index (a thin skin over Index.senses)."""

from __future__ import annotations

import json
import textwrap

import click

from .base import index_path, index_option, json_option


class SensesType(click.ParamType):
    """``auto`` or a positive integer."""

    name = "auto|N"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            self.fail(f"{value!r} is neither 'auto' nor a positive integer", param, ctx)
        return n


@click.command("senses")
@click.argument("word")
@index_option
@click.option("--max", "max_uses", type=click.IntRange(1, 100_000), default=400,
              show_default=True, help="Most uses clustered; more are sampled reproducibly.")
@click.option("--senses", "n_senses", type=SensesType(), default="auto", show_default=True,
              help="Number of senses, or 'auto' to count them from the eigengap of the "
                   "uses' nearest-neighbour graph (one sense when no split is clearly better).")
@click.option("--encoder", default=None, metavar="NAME|PATH",
              help="Take the token vectors from this encoder (a built-in name, a tuned "
                   "model, or a sentence-transformers model directory) instead of the "
                   "index's (all-mpnet-base-v2 separated the labelled senses better than "
                   "MiniLM: see README).")
@json_option
@click.option("--plot", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE.png", help="Write a 2-D PCA picture of the uses, coloured by sense.")
def senses_cmd(word, index_dir, max_uses, n_senses, encoder, as_json, plot):
    """The senses in which WORD (or a phrase) is used in the indexed text.

    Every whole-word, case-insensitive use is embedded in its sentence (the model's
    contextual vector of the word's tokens) and the uses are clustered. Per sense: its
    size, three typical sentences with path:line, and the context words that set it
    apart; beside them GloVe's single static vector for WORD and its nearest words.
    Exit status 1 when WORD does not occur.

    \b
    Examples:
      search senses bank
      search senses bank --senses 3 --plot bank.png
      search senses pitch --json
    """
    from ..api import senses

    result = senses(word, index=index_path(index_dir), max=max_uses, senses=n_senses,
                    encoder=encoder)
    if plot:
        result.plot(plot)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(format_senses(result))
    if plot:
        click.echo(f"\nPlot written to {plot}")


def _highlight(sentence: str, span: tuple[int, int], width: int = 96) -> str:
    a, b = span
    if len(sentence) > width:  # keep the word in view
        lo = max(0, min(a - width // 3, len(sentence) - width))
        hi = lo + width
        pre, post = ("..." if lo else ""), ("..." if hi < len(sentence) else "")
        sentence, a, b = pre + sentence[lo:hi] + post, a - lo + len(pre), b - lo + len(pre)
    return sentence[:a] + click.style(sentence[a:b], bold=True) + sentence[b:]


def _runner_up(gaps: dict[int, float], k: int) -> tuple[int, float] | None:
    """The number of senses with the largest eigengap after the one chosen. On the labelled
    words (tests/data/senses.tsv), each time "auto" gave two senses to a three-sense word
    (ring, club, key) the runner-up was three."""
    rest = {j: v for j, v in gaps.items() if j != k}
    if not rest:
        return None
    j = max(rest, key=lambda j: (rest[j], -j))
    return j, rest[j]


def format_senses(r) -> str:
    """The text report of a :class:`~searchkit.senses_report.Senses`."""
    uses = f"{r.uses} use{'s' if r.uses != 1 else ''}"
    if r.sampled < r.uses:
        uses += f" ({r.sampled} sampled)"
    lines = [f'"{r.word}": {uses} in {r.documents} document{"s" if r.documents != 1 else ""}, '
             f"{r.k} sense{'s' if r.k != 1 else ''}"]
    if r.encoder:
        lines.append(click.style(f"token vectors: {r.encoder}", dim=True))
    if r.gaps:
        gap = ", ".join(f"k={k} {v:.2f}" for k, v in r.gaps.items())
        lines.append(click.style(f"eigengap {gap}: the largest gives the senses", dim=True))
        runner_up = _runner_up(r.gaps, r.k)
        if runner_up is not None:
            k, v = runner_up
            what = "shows that split" if k > 1 else "keeps the uses together"
            lines.append(click.style(
                f"next clearest: {k} sense{'s' if k != 1 else ''} (gap {v:.2f}); "
                f"--senses {k} {what}", dim=True))
    for s in r.senses:
        lines.append("")
        share = s.size / r.sampled if r.sampled else 0
        lines.append(click.style(f"Sense {s.id + 1}: {s.size} uses ({share:.0%})", bold=True))
        if s.words:
            lines.append("  context: " + ", ".join(w for w, _ in s.words))
        for ex in s.examples:
            lines.append(f"  {ex.path}:{ex.line}")
            lines.append("    " + _highlight(ex.sentence, ex.span))
    lines.append("")
    if r.static is None:
        lines.append(f'GloVe (static): "{r.word}" is not in its vocabulary.')
    else:
        head = ", ".join(f"{v:.2f}" for v in r.static.vector[:5])
        lines.append(click.style("GloVe (static, one vector for every use):", bold=True)
                     + f" [{head}, ...] ({len(r.static.vector)}-d, norm {r.static.norm:.2f})")
        near = ", ".join(f"{w} {c:.2f}" for w, c in r.static.neighbours)
        lines.append(textwrap.fill(near, 96, initial_indent="  nearest: ",
                                   subsequent_indent="           "))
    return "\n".join(lines)
