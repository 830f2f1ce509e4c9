"""Measured figures in searchkit's comments and docstrings come from a results file.

A comment that says "1.1 ms" or "nDCG@10 0.6536" goes stale the day the code or the machine
changes, and nothing tells. So a comment block or docstring that quotes a measured-looking
figure (a 3-4 place decimal like an nDCG, a time in ms or in decimal seconds, a speed ratio
like ``1.76x``, a rate in passages/s) must name the ``benchmarks/`` results file or
RESULTS_*.md it comes from, that file must exist, and each such figure must be in one of the
named results files (``benchmarks/results/*.json`` or ``benchmarks/*.md``), rounded as quoted.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "searchkit"

FIGURE = re.compile(
    r"(?<![\w.])(?:"
    r"0\.\d{3,4}(?![\d.])"                                         # nDCG-like decimals
    r"|(?P<ms>\d+(?:\.\d+)?) ?ms\b"                                 # milliseconds
    r"|(?P<s>\d+\.\d+) ?s\b"                                        # decimal seconds
    r"|(?P<x>\d+(?:\.\d+)?)x\b"                                     # speed ratios
    r"|(?P<rate>\d+(?:\.\d+)?) ?(?:passages|chunks|documents|queries)/s\b"  # rates
    r")")
CITE = re.compile(r"benchmarks/[\w./*-]*\w")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

def _blocks(path: Path) -> list[tuple[int, str]]:
    """(first line, text) of each comment block (consecutive comment lines) and docstring."""
    src = path.read_text()
    out: list[tuple[int, str]] = []
    last = -2
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type != tokenize.COMMENT:
            continue
        line = tok.start[0]
        if line == last + 1 and out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + tok.string)
        else:
            out.append((line, tok.string))
        last = line
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                out.append((node.body[0].lineno, doc))
    return out


def _value(m: re.Match) -> str:
    return next((g for g in (m.group("ms"), m.group("s"), m.group("x"), m.group("rate"))
                 if g is not None), m.group(0))


def _agrees(figure: str, numbers: list[str]) -> bool:
    """``figure`` is one of ``numbers`` as quoted: equal after rounding to its places."""
    places = len(figure.partition(".")[2])
    want = float(figure)
    return any(abs(round(float(n), places) - want) < 1e-9 for n in numbers)


def _cited_numbers(cited: list[str]) -> list[str] | None:
    """The numbers in the cited results files (globs allowed); None if one is missing."""
    numbers: list[str] = []
    for c in cited:
        files = sorted(ROOT.glob(c)) if "*" in c else [ROOT / c]
        if not files or not all(f.exists() for f in files):
            return None
        for f in files:
            if f.is_file() and f.suffix in (".json", ".md"):
                numbers += NUMBER.findall(f.read_text())
    return numbers


def _problems() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, text in _blocks(path):
            figures = list(FIGURE.finditer(text))
            if not figures:
                continue
            where = f"{rel}:{line}"
            quoted = ", ".join(repr(m.group(0)) for m in figures)
            cited = CITE.findall(text)
            if not cited:
                problems.append(f"{where}: {quoted} without a benchmarks/ file to cite")
                continue
            numbers = _cited_numbers(cited)
            if numbers is None:
                problems.append(f"{where}: cites a missing file among {cited}")
                continue
            for m in figures:
                if not _agrees(_value(m), numbers):
                    problems.append(f"{where}: {m.group(0)!r} is in none of {cited}")
    return problems


def test_measured_figures_cite_their_results_file():
    assert _problems() == []


@pytest.mark.parametrize("text, found", [
    ("# dense nDCG@10 0.6536 on SciFact", ["0.6536"]),
    ("# p50 1.1 ms against 124 ms", ["1.1 ms", "124 ms"]),
    ("# int8 is 1.76x torch at 30.5 passages/s", ["1.76x", "30.5 passages/s"]),
    ("# from ~0.20 s to 0.07 s", ["0.20 s", "0.07 s"]),
    ("# a 30 s drain, v1.14, 0x7f, 256 tokens, 0.5 weight, k=60", []),
])
def test_what_counts_as_a_figure(text, found):
    assert [m.group(0) for m in FIGURE.finditer(text)] == found


def test_a_figure_must_agree_with_the_cited_file():
    assert _agrees("30.5", ["30.47", "17.32"])
    assert _agrees("0.6536", ["0.6536"])
    assert not _agrees("0.905", ["0.8995", "0.938"])
