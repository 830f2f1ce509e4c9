"""Load a dataset in BEIR's format: corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput, BadUsage


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR collection, one split of its judgments.

    Attributes:
        name: the directory's name (``scifact``).
        corpus: ``{docid: {"title": str, "text": str}}`` in file order.
        queries: ``{qid: text}`` for the queries judged in this split only.
        qrels: ``{qid: {docid: relevance}}``.
        split: the qrels split loaded (``test``).
    """

    name: str
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    split: str = "test"
    path: Path = field(default=Path("."), compare=False)

    def doc_text(self, docid: str) -> str:
        """``title + " " + text``, as BEIR indexes a document (just the text if no title)."""
        doc = self.corpus[docid]
        return f"{doc['title']} {doc['text']}" if doc["title"] else doc["text"]


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise BadInput(f"BEIR dataset: {what} not found: {path}")
    return path


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise BadInput(f"{path}:{n}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise BadInput(f"{path}:{n}: a JSON object with an \"_id\" is expected")
            rows.append(row)
    return rows


def load_corpus(path: Path) -> dict[str, dict[str, str]]:
    """``{docid: {"title", "text"}}`` from a BEIR corpus.jsonl."""
    return {str(r["_id"]): {"title": r.get("title") or "", "text": r.get("text") or ""}
            for r in _read_jsonl(path)}


def load_queries(path: Path) -> dict[str, str]:
    """``{qid: text}`` from a BEIR queries.jsonl."""
    return {str(r["_id"]): r.get("text") or "" for r in _read_jsonl(path)}


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{qid: {docid: relevance}}`` from a BEIR qrels TSV (header line, then
    query-id, corpus-id, score)."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise BadInput(f"{path}: empty qrels file (a header line is expected)")
        for n, row in enumerate(reader, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise BadInput(f"{path}:{n}: expected query-id<TAB>corpus-id<TAB>score")
            try:
                rel = int(float(row[2]))
            except ValueError:
                raise BadInput(f"{path}:{n}: score {row[2]!r} is not a number") from None
            qrels.setdefault(row[0], {})[row[1]] = rel
    return qrels


def available_splits(directory: str | Path) -> list[str]:
    """The qrels splits present in a BEIR dataset directory, sorted."""
    return sorted(p.stem for p in (Path(directory) / "qrels").glob("*.tsv"))


def load_beir(directory: str | Path, split: str = "test") -> BeirDataset:
    """Load a BEIR dataset directory with the judgments of one split.

    Args:
        directory: holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv.
        split: the qrels file to read (``test``, ``train``, ``dev`` ...).

    Returns:
        A :class:`BeirDataset` whose queries are those judged in ``split``.

    Raises:
        BadUsage: the split is missing.
        BadInput: the directory or a file is missing or malformed.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BadInput(f"BEIR dataset directory not found: {root}")
    corpus = load_corpus(_require(root / "corpus.jsonl", "corpus file"))
    queries = load_queries(_require(root / "queries.jsonl", "queries file"))
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        have = ", ".join(available_splits(root)) or "none"
        raise BadUsage(f"BEIR dataset: qrels file for split {split!r} not found: {qrels_path} "
                       f"(available splits: {have})")
    qrels = load_qrels(qrels_path)
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise BadInput(f"{qrels_path}: {len(missing)} judged queries are not in "
                       f"{root / 'queries.jsonl'} (first: {missing[0]!r})")
    return BeirDataset(name=root.name, corpus=corpus,
                       queries={q: queries[q] for q in qrels}, qrels=qrels,
                       split=split, path=root)


__all__ = ["BeirDataset", "load_beir", "load_corpus", "load_queries", "load_qrels",
           "available_splits"]
