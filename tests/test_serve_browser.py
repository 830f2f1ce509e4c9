"""The page of `search serve` in a real headless Chromium (Playwright driving the system
browser), against `search serve` started on a free loopback port over sample_corpus.

The index uses the hashing-test encoder (no model: this tests the page's plumbing, not
ranking quality), so queries share exact words with the passages they should find.
Screenshots go to test-artifacts/ at the repository root (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_corpus"
ARTIFACTS = Path(os.environ.get("SEARCHKIT_TEST_ARTIFACTS", ROOT / "test-artifacts"))
XSS = ("Release notes for the widget.\n\n"
       "The sanitiser test string is <script>alert(1)</script> and also "
       "<img src=x onerror=alert(1)> inside a paragraph about sanitiser escaping.\n")
TOKEN = "browser-test-token"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"no Chromium at {CHROMIUM}: install it to run the browser tests "
           "(Debian/Ubuntu: apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="pip install playwright (no browser download needed)")
sync_api.expect.set_options(timeout=30_000)  # a busy CI machine answers slowly


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, token: str | None = None) -> None:
    deadline = time.monotonic() + 60
    req = urllib.request.Request(url + "/api/stats",
                                 headers={"Authorization": f"Bearer {token}"} if token else {})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"search serve exited: {proc.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError("search serve did not answer within 60 s")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from searchkit import Index

    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(SAMPLE, root / "corpus")
    (root / "corpus" / "xss.txt").write_text(XSS)
    with Index.create(root / "idx", encoder="hashing-test") as idx:
        idx.add_paths([root / "corpus"])
    return root / "idx"


def _serve(index_dir: Path, token: str | None = None):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEARCHKIT_TOKEN", None)
    cmd = [sys.executable, "-m", "searchkit", "serve", "--index", str(index_dir),
           "--port", str(port), "-q"] + (["--token", token] if token else [])
    proc = subprocess.Popen(cmd, env=env, cwd=index_dir.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, token)
    except Exception:
        proc.kill()
        raise
    return proc, url


@pytest.fixture(scope="module")
def server(index_dir):
    proc, url = _serve(index_dir)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.dialogs = []  # any alert() would be an XSS
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def _api(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=10) as r:
        return json.loads(r.read())


def _query(page, text: str, mode: str = "search") -> None:
    page.check(f"input[name=mode][value={mode}]")
    page.fill("#q", text)
    page.press("#q", "Enter")


def test_search_shows_ranked_hits_with_highlight(page, server):
    page.goto(server + "/")
    sync_api.expect(page.locator("#stats")).to_contain_text("55 documents")
    _query(page, "sourdough starter feeding flour water")
    hits = page.locator("#results .hit")
    sync_api.expect(hits.first).to_be_visible()
    want = _api(server, "/api/search?q=sourdough+starter+feeding+flour+water&k=10")["hits"]
    assert hits.count() == len(want) > 3
    for i, h in enumerate(want[:3]):
        loc = hits.nth(i).locator(".loc")
        assert loc.inner_text().startswith(f"{i + 1}. {h['path']}")
    first = hits.first
    assert "sourdough_starter.md" in first.locator(".loc").inner_text()
    marks = first.locator(".snippet mark")  # the snippet is cut around the first highlight
    assert 1 <= marks.count() <= len(want[0]["highlights"])
    a, b = want[0]["highlights"][0]
    assert marks.first.text_content() == want[0]["text"][a:b]
    _shot(page, "search.png")
    assert not page.errors


def test_document_view_opens_at_the_passage(page, server):
    page.goto(server + "/")
    _query(page, "kingfisher nest burrow entrance riverbank")
    first = page.locator("#results .hit").first
    sync_api.expect(first).to_be_visible()
    hit = _api(server, "/api/search?q=kingfisher+nest+burrow+entrance+riverbank&k=1")["hits"][0]
    first.click()
    doc = page.locator("#doc")
    sync_api.expect(doc).to_be_visible()
    passage = page.locator("#doctext #passage")
    assert passage.text_content() == hit["text"]
    sync_api.expect(page.locator("#docloc")).to_contain_text(hit["path"])
    hl = passage.locator("mark").first
    assert hl.text_content() == hit["text"][hit["highlights"][0][0]:hit["highlights"][0][1]]
    sync_api.expect(hl).to_be_in_viewport()
    sync_api.expect(page.locator("#q")).to_be_in_viewport()  # the pane scrolled, not the page
    _shot(page, "document.png")
    page.keyboard.press("Escape")
    sync_api.expect(doc).to_be_hidden()


def test_ask_shows_the_cited_answer(page, server):
    page.goto(server + "/")
    _query(page, "The entrance is a neat round hole about six centimetres across", mode="ask")
    answer = page.locator("#answer")
    sync_api.expect(answer).to_be_visible()
    sync_api.expect(answer.locator(".text")).to_contain_text("six centimetres across")
    cite = answer.locator("a.cite")
    sync_api.expect(cite).to_have_text("nature/kingfisher_nesting.md:5")
    _shot(page, "ask.png")
    cite.click()
    sync_api.expect(page.locator("#docloc")).to_contain_text("nature/kingfisher_nesting.md")
    sync_api.expect(page.locator("#passage mark").first).to_contain_text("neat round hole")


def test_ask_without_an_answer_says_so(page, server):
    page.goto(server + "/")
    _query(page, "zebra xylophone quantum", mode="ask")
    sync_api.expect(page.locator("#answer.none")).to_contain_text("no answer")


def test_xss_file_stays_text(page, server):
    page.goto(server + "/")
    _query(page, "sanitiser script alert onerror widget")
    hit = page.locator("#results .hit", has_text="xss.txt").first
    sync_api.expect(hit).to_be_visible()
    assert "<script>alert(1)</script>" in hit.text_content()
    assert "<img src=x onerror=alert(1)>" in hit.text_content()
    hit.click()
    sync_api.expect(page.locator("#doc")).to_be_visible()
    assert "<img src=x onerror=alert(1)>" in page.locator("#doctext").text_content()
    page.wait_for_timeout(300)
    assert page.locator("#results img, #doctext img, #results script, #doctext script").count() == 0
    assert page.dialogs == []
    _shot(page, "xss.png")


def test_errors_show_as_messages(page, server):
    page.goto(server + "/")
    _query(page, "zzzqqq", mode="senses")
    msg = page.locator("#message")
    sync_api.expect(msg).to_be_visible()
    sync_api.expect(msg).to_contain_text("zzzqqq")
    assert page.locator("#results").inner_text() == ""


def test_phone_width_and_keyboard(browser, server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    try:
        page.goto(server + "/")
        page.keyboard.type("marathon training long run")  # the box has focus on load
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#results .hit").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#results .hit").first.focus()
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#doc")).to_be_visible()
        _shot(page, "phone.png")
    finally:
        ctx.close()


def test_token_is_asked_for_once(browser, index_dir):
    proc, url = _serve(index_dir, token=TOKEN)
    ctx = browser.new_context()
    page = ctx.new_page()
    try:
        page.goto(url + "/")
        _query(page, "sourdough starter")
        sync_api.expect(page.locator("#tokenform")).to_be_visible()
        sync_api.expect(page.locator("#message")).to_contain_text("needs a token")
        page.fill("#token", TOKEN)
        page.press("#token", "Enter")
        sync_api.expect(page.locator("#results .hit").first).to_be_visible()
        sync_api.expect(page.locator("#tokenform")).to_be_hidden()
    finally:
        ctx.close()
        proc.terminate()
        proc.wait(10)


def test_docs_render_offline(page, server):
    """/docs with every request that leaves the server refused, as on a machine offline:
    Swagger UI still lists the operations."""
    from searchkit.serve.app import swagger_assets

    if swagger_assets() is None:
        pytest.skip("swagger-ui-py is not installed (the serve extra)")
    outside = []

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(server + "/docs")
    ops = page.locator(".opblock-summary-path")
    sync_api.expect(ops.first).to_be_visible()
    paths = ops.all_inner_texts()
    assert any("/api/search" in p for p in paths) and any("/api/ask" in p for p in paths)
    assert outside == [] and page.errors == []
    _shot(page, "docs-offline.png")
