"""``search ask``: answer a question with a sentence of the corpus, or say there is none."""

from __future__ import annotations

import json
import sys
import textwrap

import click

from .cli import _filters, _index_path, filter_options, format_hit, index_option, json_option

#: Exit status when the corpus holds no answer (the evidence is below the threshold).
EXIT_NO_ANSWER = 4


@click.command("ask")
@click.argument("question")
@index_option
@filter_options
@json_option
def ask_cmd(question, index_dir, path_glob, ext, modified_after, as_json):
    """Answer QUESTION from the indexed documents, offline.

    Prints the best sentence (neighbours merged when they continue it), its citation
    (path:line, path#page=N for PDF), the passage around it, a confidence score and up to
    three supporting passages from other documents. When the evidence is below the
    calibrated threshold it says that the documents hold no answer instead.

    Exit status: 0 answered, 4 no answer found, 1 on errors, 2 on usage errors.
    """
    from .api import ask

    a = ask(question, index=_index_path(index_dir), **_filters(path_glob, ext, modified_after))
    if as_json:
        click.echo(json.dumps(a.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_answer(a))
    if not a.answered:
        sys.exit(EXIT_NO_ANSWER)


def format_answer(a, width: int = 100) -> str:
    lines = []
    if a.answered:
        lines.append(click.style(textwrap.fill(a.text, width), bold=True))
        lines.append(f"  -- {a.citation}  (confidence {a.confidence:.2f}, "
                     f"threshold {a.threshold:.2f})")
        lines.append("")
        lines.append(format_hit(a.hit, width).rstrip("\n").split("\n", 1)[1])
    else:
        lines.append("No answer found in the indexed documents "
                     f"(best evidence {a.confidence:.2f} < threshold {a.threshold:.2f}).")
    if a.supporting:
        lines.append("")
        lines.append("Related passages:" if not a.answered else "Supporting passages:")
        for h in a.supporting:
            lines.append(format_hit(h, width).rstrip("\n"))
    return "\n".join(lines) + "\n"
