"""A 40k+ passage corpus for the speed benchmarks: SciFact's abstracts, repeated with their
text perturbed, written as a folder of text files as a user would have them.

    python benchmarks/large_corpus.py OUT_DIR [--dataset /work/shared/eval/scifact]
        [--copies 4] [--extra 1100] [--same-text]

Copy 0 is each abstract as it is; copy i > 0 rotates the order of its sentences by i and
swaps a few common words for others of the same kind (a deterministic, seeded choice), so
every passage is new text for the encoder and the embedding cache, while the language stays
real. ``--same-text`` writes exact copies instead (only the paths differ): their passages are
embedded once (the embedding cache is keyed by text, and ``Index.import_embeddings`` can
take them from the SciFact evaluation index), which makes a 40k-passage index cheap to build
on 2 cores for the query benchmarks, whose cost depends on the index's size, not on its
passages being distinct; never for indexing throughput. ``--extra`` more documents get one
further copy. With the defaults: 21,832 files,
about 41-42k passages of 256 tokens. Files go 200 to a folder (``c<copy>/<nnn>/<id>.txt``),
title on the first line.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

SWAPS = [("increase", "rise"), ("decrease", "decline"), ("patients", "subjects"),
         ("significant", "marked"), ("associated", "linked"), ("study", "analysis"),
         ("results", "findings"), ("cells", "cell populations"), ("risk", "likelihood"),
         ("effect", "impact"), ("treatment", "therapy"), ("however", "yet")]
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def perturb(text: str, copy: int, rng: random.Random) -> str:
    if copy == 0:
        return text
    sents = _SENT.split(text)
    r = copy % max(len(sents), 1)
    sents = sents[r:] + sents[:r]
    out = " ".join(sents)
    for a, b in rng.sample(SWAPS, k=4):
        out = re.sub(rf"\b{a}\b", b, out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--dataset", type=Path, default=Path("/work/shared/eval/scifact"))
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--extra", type=int, default=1100)
    ap.add_argument("--same-text", action="store_true")
    args = ap.parse_args()
    docs = [json.loads(line) for line in open(args.dataset / "corpus.jsonl", encoding="utf-8")]
    n = 0
    for copy in range(args.copies + (1 if args.extra else 0)):
        rng = random.Random(copy)
        part = docs if copy < args.copies else docs[:args.extra]
        for i, d in enumerate(part):
            f = args.out / f"c{copy}" / f"{i // 200:03d}" / f"{d['_id']}.txt"
            f.parent.mkdir(parents=True, exist_ok=True)
            if args.same_text:
                title, text = d["title"], d["text"]
            else:
                title = d["title"] + (f" ({copy})" if copy else "")
                text = perturb(d["text"], copy, rng)
            f.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
            n += 1
    print(json.dumps({"out": str(args.out), "files": n}))


if __name__ == "__main__":
    main()
