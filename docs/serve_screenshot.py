"""Make docs/serve.png, the README's picture of `search serve`: sample_corpus indexed with a
real encoder, a query typed into the page, the first hit opened at its passage.

    python docs/serve_screenshot.py [--encoder minilm-int8] [--index DIR]

Needs the serve extra, pip playwright and the system Chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = "how do rivers wear away their sides"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoder", default="minilm-int8")
    ap.add_argument("--index", default=None, help="an existing index of sample_corpus")
    ap.add_argument("--out", default=str(ROOT / "docs" / "serve.png"))
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)

    from searchkit import Index

    tmp = tempfile.mkdtemp(prefix="searchkit-shot-")
    index = args.index
    if index is None:
        index = os.path.join(tmp, "sample")
        with Index.create(index, encoder=args.encoder) as idx:
            idx.add_paths([ROOT / "sample_corpus"])
    port = 8765
    proc = subprocess.Popen([sys.executable, "-m", "searchkit", "serve", "--index", index,
                             "--port", str(port), "-q"], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium",
                                  args=["--no-sandbox", "--headless", "--disable-gpu"])
            page = b.new_page(viewport={"width": 1200, "height": 720})
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#q", QUERY)
            page.press("#q", "Enter")
            expect(page.locator("#results .hit").first).to_be_visible()
            page.locator("#results .hit").first.click()
            expect(page.locator("#passage")).to_be_visible()
            page.wait_for_timeout(300)
            page.screenshot(path=args.out)
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
    try:  # a palette PNG is a third of the size
        from PIL import Image

        Image.open(args.out).convert("P", palette=Image.ADAPTIVE, colors=128).save(
            args.out, optimize=True)
    except ImportError:
        pass
    print(f"{args.out}: {os.path.getsize(args.out) // 1024} KB")


if __name__ == "__main__":
    main()
