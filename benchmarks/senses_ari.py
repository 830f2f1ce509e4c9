"""Adjusted Rand index of word-sense clustering on a labelled set.

    python benchmarks/senses_ari.py [--data tests/data/senses.tsv] [--encoder NAME|PATH]

Prints JSON: per word and on average, for
  (a) contextual vectors, number of senses chosen automatically,
  (b) contextual vectors, true number of senses,
  (c) TF-IDF of the context (bag of words), true number of senses,
  (d) the static GloVe vector of the word: every use gets the same vector, so however
      many clusters are asked for (k from (a)) they cannot split: ARI 0 by construction.
plus a summary for each group of words (GROUPS: in the order they were written), for the
words written after the rule was fixed, and how often "auto" answers one sense for a
single sense's uses.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchkit import senses as S  # noqa: E402

# Words whose results chose DIMS and context_weight in searchkit/senses.py (and the
# silhouette threshold the sense count once used). The other four of the first eight
# (python, cell, pitch, crane: group "first eight") were held out for those choices.
TUNING_WORDS = ("bank", "spring", "bat", "mouse")
# The eigengap rule for the number of senses was chosen looking at all of the first eight
# words. NEW_WORDS were written after that, and scored once with the rule as it then was
# (eigengap, and a silhouette of at least 0.19 to split): bow came out as one sense, so
# the silhouette requirement was dropped. FINAL_WORDS (two of them one-sense words) were
# written after that change and scored once: the clean held-out check of the final rule.
NEW_WORDS = ("bass", "seal", "match", "bow")
FINAL_WORDS = ("jam", "pen", "ring", "guitar", "doctor")
# FRESH_WORDS were written (by a helper that saw none of the results) after ring missed the
# per-word floor, and committed before they were scored; the rule was left unchanged, and
# they were scored once: a second held-out check of the same rule.
FRESH_WORDS = ("scale", "trunk", "bark", "palm", "organ", "mole", "kettle", "umbrella")
# FRESH2_WORDS were written the same way while the fresh batch's misses were being studied,
# committed, and scored once with the rule still unchanged.
FRESH2_WORDS = ("club", "key", "plant", "pupil", "tank", "letter", "ladder", "carrot")
# FRESH3_WORDS: a third such batch, written while other representations and graphs were
# tried on all the words before it (none kept), committed, then scored once, rule unchanged.
FRESH3_WORDS = ("court", "bill", "star", "fan", "date", "nail", "dentist", "volcano")
FIRST_EIGHT = ("python", "cell", "pitch", "crane")
GROUPS = {"tuning": TUNING_WORDS, "first eight": FIRST_EIGHT, "new": NEW_WORDS,
          "final": FINAL_WORDS, "fresh": FRESH_WORDS, "fresh 2": FRESH2_WORDS,
          "fresh 3": FRESH3_WORDS}
AFTER_RULE = ("final", "fresh", "fresh 2", "fresh 3")  # written after the rule was fixed


def load(path: str) -> dict[str, tuple[list[str], list[str]]]:
    """word -> (sentences, sense labels)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            texts, senses = out.setdefault(row["word"], ([], []))
            texts.append(row["sentence"])
            senses.append(row["sense"])
    return out


def contexts(word: str, texts: list[str]):
    occ = S.find_occurrences(word, texts)
    if [i for i, _, _ in occ] != list(range(len(texts))):
        raise SystemExit(f"{word}: each sentence must use the word exactly once")
    ctx = [S.context_for(texts[i], s, e) for i, s, e in occ]
    return [(c, o, o + e - s) for (c, o), (_, s, e) in zip(ctx, occ)]


def tfidf(word: str, ctx: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    X = vec.fit_transform(ctx).toarray()
    keep = [j for j, t in enumerate(vec.get_feature_names_out()) if t != word.lower()]
    return X[:, keep]


def main(argv=None) -> dict:
    from sklearn.metrics import adjusted_rand_score as ari

    from searchkit.encoders import get_encoder

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="tests/data/senses.tsv")
    p.add_argument("--encoder", default="minilm",
                   help="encoder name, tuned model, or sentence-transformers model directory")
    args = p.parse_args(argv)
    data = load(args.data)
    enc = get_encoder(args.encoder)
    t0 = time.perf_counter()
    rows, singles = {}, {}
    for word, (texts, truth) in data.items():
        items = contexts(word, texts)
        X = S.occurrence_vectors(enc, items)
        k_true = len(set(truth))
        auto, info = S.cluster_senses(X)
        fixed, _ = S.cluster_senses(X, n_senses=k_true)
        bow, _ = S.cluster_senses(tfidf(word, [c for c, _, _ in items]), n_senses=k_true)
        g = S.glove_neighbours(word)
        static = np.repeat(g[0][None, :], len(texts), axis=0)
        glove, _ = S.cluster_senses(static, n_senses=max(info.k, 1))
        rows[word] = {
            "n": len(texts), "k_true": k_true, "k_auto": info.k,
            "group": next((g for g, ws in GROUPS.items() if word in ws), "other"),
            "a_contextual_auto": round(ari(truth, auto), 4),
            "b_contextual_true_k": round(ari(truth, fixed), 4),
            "c_tfidf_true_k": round(ari(truth, bow), 4),
            "d_glove_static": round(ari(truth, glove), 4),
            "silhouettes": {k: round(v, 3) for k, v in info.scores.items()},
            "eigengaps": {k: round(v, 3) for k, v in info.gaps.items()},
        }
        # Each sense alone is a one-sense word: "auto" should not split it.
        t = np.asarray(truth)
        singles[word] = [S.cluster_senses(X[t == s])[1].k for s in dict.fromkeys(truth)]

    # One-sense words are controls: against a single true group, ARI is 1 for one cluster
    # and 0 for any split, so they are reported by the k found, outside the averages.
    ambiguous = {w for w, r in rows.items() if r["k_true"] > 1}
    controls = {w: rows[w]["k_auto"] for w in rows if w not in ambiguous}

    def avg(key, words=None):
        vals = [r[key] for w, r in rows.items()
                if w in ambiguous and (words is None or w in words)]
        return round(float(np.mean(vals)), 4) if vals else None

    def summary(words):
        amb = [w for w in words if w in ambiguous]
        subsets = [k == 1 for w in words for k in singles[w]]
        return {
            "words": list(words),
            "a_contextual_auto": avg("a_contextual_auto", amb),
            "b_contextual_true_k": avg("b_contextual_true_k", amb),
            "k_auto_correct": f"{sum(rows[w]['k_auto'] == rows[w]['k_true'] for w in amb)}"
                              f"/{len(amb)}",
            "controls_one_sense": f"{sum(controls[w] == 1 for w in words if w in controls)}"
                                  f"/{sum(w in controls for w in words)}",
            "a_below_0.6": {w: rows[w]["a_contextual_auto"] for w in amb
                            if rows[w]["a_contextual_auto"] < 0.6},
            "single_sense_subsets_k1": f"{sum(subsets)}/{len(subsets)}",
        }

    by_group = {g: [w for w in rows if rows[w]["group"] == g]
                for g in dict.fromkeys(r["group"] for r in rows.values())}
    later = [w for g in AFTER_RULE for w in by_group.get(g, [])]
    report = {
        "data": args.data,
        "encoder": enc.id,
        "per_word": rows,
        "average": {key: avg(key) for key in (
            "a_contextual_auto", "b_contextual_true_k", "c_tfidf_true_k", "d_glove_static")},
        "groups": {g: summary(ws) for g, ws in by_group.items()},
        # Written after the rule was fixed and scored once each: the honest estimate; the
        # other words shaped the method.
        "written_after_rule": summary(later),
        "shaped_the_rule": summary([w for w in rows if w not in later]),
        "a_min_word": min(rows[w]["a_contextual_auto"] for w in ambiguous),
        "k_auto_correct": f"{sum(r['k_auto'] == r['k_true'] for r in rows.values())}/{len(rows)}",
        "one_sense_controls_k_auto": controls,
        "k_auto_per_single_sense_subset": singles,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
