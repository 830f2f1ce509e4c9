"""Does ``search query``'s highlight land on the sentence that answers the question?

    python benchmarks/highlight_gold.py --index DIR --qa tests/data/qa.jsonl [--weights 0,0.25,0.5,1]

For every answerable question of the Q&A file, runs the default search (k=10, one hit per
document) and looks at the hit of the gold document, when it is among the 10 and its passage
holds the gold sentence: is the highlighted best sentence the gold one? Scores the section
weight of :func:`searchkit.highlight.sentence_scores` at each value of ``--weights`` (the
sentence vectors are computed once per question). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchkit import Index  # noqa: E402
from searchkit.ask import sentence_matches  # noqa: E402
from searchkit.highlight import sentence_scores  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--qa", default=str(ROOT / "tests/data/qa.jsonl"))
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1")
    ap.add_argument("--split", choices=["all", "even", "odd"], default="all")
    args = ap.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    os.chdir(ROOT)
    qa = [json.loads(x) for x in Path(args.qa).read_text().splitlines() if x.strip()]
    if args.split != "all":
        qa = qa[0 if args.split == "even" else 1::2]
    idx = Index.open(args.index)
    judged, right = 0, {w: 0 for w in weights}
    for q in qa:
        if not q["doc"]:
            continue
        hits = idx.search(q["question"], k=10)
        gold = [h for h in hits if os.path.abspath(h.path) == os.path.abspath(ROOT / q["doc"])]
        if not gold or not sentence_matches(" ".join(gold[0].text.split()), q["answer"]):
            continue
        judged += 1
        ss, base = sentence_scores(idx.encoder, q["question"], gold, 0.0)[0]
        _, with_one = sentence_scores(idx.encoder, q["question"], gold, 1.0)[0]
        with np.errstate(invalid="ignore"):  # -inf - -inf for titles
            section = np.where(np.isfinite(base), with_one - base, 0.0)
        for w in weights:
            best = int(np.argmax(base + w * section))
            right[w] += sentence_matches(ss[best].text, q["answer"])
    idx.close()
    out = {"qa_file": os.path.relpath(args.qa, ROOT), "split": args.split,
           "judged": judged, "highlight_is_gold": {
               str(w): round(right[w] / judged, 4) if judged else None for w in weights}}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
