"""Peak memory while indexing one large text file (issue #21: <= 1.5 GB for 49 MB).

    python benchmarks/large_file.py [--mb 49] [--encoder hashing-test] [--unsegmented-mb 4]

One text file of ``--mb`` MB is written (SciFact abstracts when /work/shared holds them,
else sample_corpus, repeated with a copy number in every paragraph so that every chunk is
new text the encoder must embed) and indexed by ``Index.create`` + ``add_paths`` in a fresh
child process; its peak resident set (``ru_maxrss``) is read when it exits. Measured in the
same run, as baselines:

- ``baseline``: the same child indexing a 10 KB file (imports, encoder, SQLite, FAISS:
  what any run costs);
- ``unsegmented``: a file of ``--unsegmented-mb`` MB indexed with segmenting switched off
  (``SEGMENT_CHARS`` set beyond the file), the code path every file took before, to show
  how memory grew with file size without segments.

With ``hashing-test`` (no model: it isolates the pipeline's memory; the real encoder would
need hours for 49 MB on 2 cores) its ``calls`` record is switched off in the child, so
that a test-only list of every embedded text is not counted. Prints one JSON object and
writes it to benchmarks/results/large_file[_ENCODER].json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path("/work/shared/eval/scifact/corpus.jsonl")
TARGET_MB = 1536

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import searchkit.pipeline as pipeline
if {unsegmented!r}:
    pipeline.SEGMENT_CHARS = 10 ** 12
from searchkit import Index
from searchkit.encoders import get_encoder

enc = get_encoder({encoder!r})
if hasattr(enc, "calls"):
    class _Drop(list):
        def extend(self, items):
            pass
    enc.calls = _Drop()
t0 = time.perf_counter()
with Index.create({index!r}, encoder={encoder!r}) as idx:
    rep = idx.add_paths([{path!r}], max_bytes=60 * 1024 * 1024)
    chunks = idx.store.count("chunks")
print(json.dumps({{"seconds": round(time.perf_counter() - t0, 1), "chunks": chunks,
                  "skipped": [s.reason for s in rep.skipped],
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}}))
"""


def paragraphs():
    if SCIFACT.exists():
        with open(SCIFACT, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                yield f"{d.get('title', '')}. {d['text']}"
    else:
        for p in sorted((ROOT / "sample_corpus").rglob("*.md")):
            yield from (x for x in p.read_text().split("\n\n") if x.strip())


def write_text(path: Path, mb: float) -> int:
    """A text file of about ``mb`` MB whose paragraphs are all distinct."""
    want = int(mb * 1024 * 1024)
    size, copy = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while size < want:
            for para in paragraphs():
                block = f"Copy {copy}. {para}\n\n"
                f.write(block)
                size += len(block.encode())
                if size >= want:
                    break
            copy += 1
    return path.stat().st_size


#: The test-only encoder, registered in the child (it is not a production encoder).
HASHING = "hashing-test=searchkit.encoders.hashing:HashingEncoder"


def run_child(path: Path, index: Path, encoder: str, unsegmented: bool = False) -> dict:
    code = CHILD.format(root=str(ROOT), encoder=encoder, index=str(index), path=str(path),
                        unsegmented=unsegmented)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT),  # the test encoder:
                              "SEARCHKIT_ENCODERS": HASHING})
    if out.returncode != 0:
        raise SystemExit(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=49)
    ap.add_argument("--encoder", default="hashing-test")
    ap.add_argument("--unsegmented-mb", type=float, default=4,
                    help="size of the file indexed without segments (0: skip)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchkit-large-") as tmp:
        tmp = Path(tmp)
        small = tmp / "small" / "small.txt"
        small.parent.mkdir()
        write_text(small, 0.01)
        big = tmp / "big" / "big.txt"
        big.parent.mkdir()
        size = write_text(big, args.mb)
        result = {"encoder": args.encoder, "file_mb": round(size / 1048576, 1),
                  "source_text": str(SCIFACT) if SCIFACT.exists() else "sample_corpus",
                  "target_peak_rss_mb": TARGET_MB}
        result["baseline"] = run_child(small, tmp / "i0", args.encoder)
        result["large"] = run_child(big, tmp / "i1", args.encoder)
        if args.unsegmented_mb:
            mid = tmp / "mid" / "mid.txt"
            mid.parent.mkdir()
            mid_size = write_text(mid, args.unsegmented_mb)
            seg = run_child(mid, tmp / "i2", args.encoder)
            raw = run_child(mid, tmp / "i3", args.encoder, unsegmented=True)
            result["same_file_mb"] = round(mid_size / 1048576, 1)
            result["segmented"], result["unsegmented"] = seg, raw
        peak = result["large"]["peak_rss_mb"]
        result["peak_over_baseline_mb"] = round(peak - result["baseline"]["peak_rss_mb"], 1)
        result["meets_target"] = peak <= TARGET_MB
    print(json.dumps(result, indent=2))
    name = "large_file" + ("" if args.encoder == "hashing-test" else f"_{args.encoder}")
    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
