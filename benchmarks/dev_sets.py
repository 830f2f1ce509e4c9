"""Build the dev collections of issue #17 in BEIR format, offline, from documents installed here.

    python benchmarks/dev_sets.py pydocs   [--out indexes/devsets/pydocs]
    python benchmarks/dev_sets.py manpages [--out indexes/devsets/manpages] [--per-family 40]

Both write ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/dev.tsv`` (one relevant document
per query) under ``--out`` (``indexes/`` is git-ignored). Both are dev sets: choices may be
made on them; SciFact test stays the only report-only set.

``pydocs``: the long descriptions (``METADATA`` payloads, the PyPI project pages) of the
Python distributions installed in the running interpreter (this project's venv, pinned by
constraints.txt), cut at their Markdown (``#``) and reStructuredText (underlined) headings.
Each section is a document: title = the distribution's name, text = the section's body
*without* its heading. Query = the section's heading, kept when it has at least two alphabetic
words that are not stop words, no version number (changelog entries such as "4.39.1
(released 2023-03-16)" are left out), its body at least 200 characters, and no other section
of any package has the same heading (case-insensitive): "Installation" or "License" would be
ambiguous across packages. Every section is in the corpus, queried or not.

``manpages``: the manual pages of sections 1 and 8 in /usr/share/man (English, no ``.so``
aliases or symlinks). Pages come in families (the name's first part before ``_``, ``-`` or
``.``: 16,631 of the 18,032 here are ``gcloud``'s); of each family every n-th page of its
sorted list is taken, at most ``--per-family`` (40) of it, so that no one program dominates;
rendered with ``groff -mandoc -Tutf8`` (no hyphenation). Query = the NAME line's description
("ls - list directory contents" -> "list directory contents"), kept when it has at least
three words and no other selected page has the same one. Document: title = the page's name,
text = the rendered page without its NAME section, header and footer, first 3,000
characters (most pages' synopsis and description). Every selected page is in the corpus.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP = {"a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "by", "is",
        "how", "what", "why", "your", "you", "it", "its", "from", "as", "at", "be", "this"}
MAN_CHARS = 3000
MIN_BODY = 200


def write_beir(out: Path, corpus: list[dict], queries: list[dict],
               qrels: list[tuple[str, str]]) -> None:
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for d in corpus:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(out / "qrels" / "dev.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, did in qrels:
            f.write(f"{qid}\t{did}\t1\n")


def words(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", s.lower())


# -- pydocs ------------------------------------------------------------------------------------

_VERSION = re.compile(r"\d+\.\d+")
_MD_HEAD = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_RST_UNDER = re.compile(r"^([=\-~^\"'`#*+_])\1{2,}\s*$")


def sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` of a long description, cut at Markdown and RST headings (the text
    before the first heading is left out)."""
    lines = text.splitlines()
    out: list[tuple[str, list[str]]] = []
    in_code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            in_code = not in_code
        head = None
        if not in_code:
            m = _MD_HEAD.match(line)
            if m:
                head = m.group(1)
            elif (i + 1 < len(lines) and line.strip() and not line.startswith(" ")
                  and _RST_UNDER.match(lines[i + 1])
                  and len(lines[i + 1].strip()) >= len(line.strip()) - 1):
                head = line.strip()
                i += 1
        if head is not None:
            head = re.sub(r"[*_`\[\]]|\(#[^)]*\)|<[^>]+>", "", head).strip(" :")
            out.append((head, []))
        elif out:
            out[-1][1].append(line)
        i += 1
    return [(h, "\n".join(b).strip()) for h, b in out]


def build_pydocs(out: Path) -> dict:
    from importlib.metadata import distributions

    corpus, heads = [], []
    seen = set()
    for dist in sorted(distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = dist.metadata["Name"]
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
        for n, (head, text) in enumerate(sections(body)):
            if len(text) < 50:
                continue
            did = f"{name}#{n}"
            corpus.append({"_id": did, "title": name, "text": text})
            heads.append((did, head, len(text)))
    counts = Counter(h.lower() for _, h, _ in heads)
    queries, qrels = [], []
    for did, head, n in heads:
        content = [w for w in words(head) if w not in STOP and w.isalpha()]
        if (counts[head.lower()] == 1 and len(content) >= 2 and n >= MIN_BODY
                and not _VERSION.search(head)):
            qid = f"q{len(queries)}"
            queries.append({"_id": qid, "text": head})
            qrels.append((qid, did))
    write_beir(out, corpus, queries, qrels)
    return {"set": "pydocs", "packages": len(seen), "documents": len(corpus),
            "queries": len(queries)}


# -- manpages ----------------------------------------------------------------------------------

_HEADING = re.compile(r"^[A-Z][A-Z0-9 ,/&()-]*$")


def render(path: Path) -> str | None:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if raw.lstrip().startswith(b".so "):
        return None
    try:
        r = subprocess.run(["groff", "-mandoc", "-Tutf8", "-P-cbou", "-rHY=0", "-rLL=100n"],
                           input=raw, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None


def split_page(text: str) -> tuple[str, str] | None:
    """``(NAME description, page text without NAME, header and footer)``, or None."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 4:
        return None
    lines = lines[1:-1]  # "LS(1)  User Commands  LS(1)" and the footer
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "NAME")
    except StopIteration:
        return None
    end = next((i for i in range(start + 1, len(lines))
                if lines[i] and not lines[i].startswith(" ") and _HEADING.match(lines[i])),
               len(lines))
    name_line = " ".join(ln.strip() for ln in lines[start + 1:end] if ln.strip())
    m = re.search(r"\s[-\u2010\u2013\u2014]+\s", name_line)
    if not m:
        return None
    desc = " ".join(name_line[m.end():].split())
    rest = [ln.strip() for ln in lines[:start] + lines[end:]]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(rest)).strip()
    return desc, body[:MAN_CHARS]


def build_manpages(out: Path, per_family: int) -> dict:
    files = sorted(p for sec in ("man1", "man8") for p in (Path("/usr/share/man") / sec).iterdir()
                   if p.is_file() and not p.is_symlink())
    groups: dict[str, list[Path]] = {}
    for p in files:
        groups.setdefault(re.split(r"[_.-]", p.name)[0], []).append(p)
    picked = []
    for group in groups.values():  # every n-th of a family, at most per_family of it
        picked += group[::-(-len(group) // per_family)]
    docs = []
    for p in picked:
        text = render(p)
        parts = split_page(text) if text else None
        if parts is None or len(parts[1]) < MIN_BODY:
            continue
        name = p.name.split(".gz")[0]
        docs.append((name, *parts))
    counts = Counter(d.lower() for _, d, _ in docs)
    corpus, queries, qrels = [], [], []
    for name, desc, body in docs:
        corpus.append({"_id": name, "title": name.rsplit(".", 1)[0], "text": body})
        if counts[desc.lower()] == 1 and len(words(desc)) >= 3:
            qid = f"q{len(queries)}"
            queries.append({"_id": qid, "text": desc})
            qrels.append((qid, name))
    write_beir(out, corpus, queries, qrels)
    return {"set": "manpages", "files": len(files), "picked": len(picked), "rendered": len(docs),
            "documents": len(corpus), "queries": len(queries)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", choices=["pydocs", "manpages"])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--per-family", type=int, default=40)
    args = ap.parse_args(argv)
    out = args.out or ROOT / "indexes" / "devsets" / args.set
    info = build_pydocs(out) if args.set == "pydocs" else build_manpages(out, args.per_family)
    info["out"] = str(out)
    print(json.dumps(info))
    return info


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
