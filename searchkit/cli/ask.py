"""``search ask``: answer a question with a sentence of the corpus, or say there is none."""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Any

import click

from .base import filter_kwargs, index_path, filter_options, format_hit, index_option, json_option
from ..display import terminal_safe

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

    While it works, a status line with a spinner shows on stderr (only on a terminal).

    \b
    Examples:
      search ask "what happens to my savings if the bank fails"
      search ask "when was the lighthouse automated?" --json
      search ask "how long is the loan?" --path 'finance/*'

    Exit status: 0 answered, 4 no answer found, 1 on errors, 2 on usage errors.
    """
    from ..api import ask

    with Spinner("Reading the best passages for an answer"):
        a = ask(question, index=index_path(index_dir),
                **filter_kwargs(path_glob, ext, modified_after))
    if as_json:
        click.echo(json.dumps(a.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_answer(a))
    if not a.answered:
        sys.exit(EXIT_NO_ANSWER)


class Spinner:
    """A one-line status with a spinner and the seconds elapsed, on stderr, while a block
    runs; nothing at all when stderr is not a terminal. Cleared when the block ends."""

    FRAMES = "|/-\\"

    def __init__(self, message: str, stream=None, interval: float = 0.1):
        self.message, self.interval = message, interval
        self.stream = stream or sys.stderr
        self._stop: Any = None

    def __enter__(self) -> "Spinner":
        if not self.stream.isatty():
            return self
        import threading
        import time

        self._stop = threading.Event()
        t0 = time.monotonic()

        def spin():
            i = 0
            while not self._stop.wait(self.interval if i else 0):
                self.stream.write(f"\r{self.FRAMES[i % 4]} {self.message} "
                                  f"({time.monotonic() - t0:.0f} s)")
                self.stream.flush()
                i += 1

        self._thread = threading.Thread(target=spin, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._stop is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\x1b[K")  # erase the status line
            self.stream.flush()


def format_answer(a, width: int = 100) -> str:
    lines = []
    if a.answered:
        lines.append(click.style(textwrap.fill(terminal_safe(a.text), width), bold=True))
        lines.append(f"  -- {terminal_safe(a.citation)}  (confidence {a.confidence:.2f}, "
                     f"threshold {a.threshold:.2f})")
        lines.append("")
        lines.append(format_hit(a.hit, width).rstrip("\n").split("\n", 1)[1])
    else:
        lines.append("No answer found in the indexed documents "
                     f"(best evidence {a.confidence:.2f} < threshold {a.threshold:.2f}).")
        if a.closest is not None:
            lines.append("")
            lines.append("Closest passage (not an answer; read on there):")
            lines.append(format_hit(a.closest, width).rstrip("\n"))
    if a.supporting:
        lines.append("")
        lines.append("Related passages:" if not a.answered else "Supporting passages:")
        for h in a.supporting:
            lines.append(format_hit(h, width).rstrip("\n"))
    return "\n".join(lines) + "\n"
