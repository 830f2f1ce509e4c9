"""`search serve`: the HTTP API through FastAPI's test client (plumbing: hashing encoder)."""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from click.testing import CliRunner  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from searchkit.cli import cli  # noqa: E402
from searchkit.schema import (DocumentView, answer_model, document_model,  # noqa: E402
                              hit_model, search_model, senses_model)
from searchkit.serve.app import create_app  # noqa: E402
from searchkit.serve.core import Service  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "sample_corpus"

XSS = ("Release notes for the widget.\n\n"
       "The sanitiser test string is <script>alert(1)</script> and also "
       "<img src=x onerror=alert(1)> inside a paragraph about sanitiser escaping.\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve") / "corpus"
    shutil.copytree(SAMPLE, root)
    (root / "xss.txt").write_text(XSS)
    return root


@pytest.fixture(scope="module")
def index_dir(corpus, tmp_path_factory):
    from searchkit import Index

    path = tmp_path_factory.mktemp("serve-idx") / "idx"
    with Index.create(path, encoder="hashing-test") as idx:
        idx.add_paths([corpus])
    return path


@pytest.fixture(scope="module")
def service(index_dir):
    svc = Service(index_dir)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def client(service):
    with TestClient(create_app(service=service, rate_limit=0)) as c:
        yield c


def test_search_returns_the_library_dicts(client, index_dir):
    from searchkit import Index

    r = client.get("/api/search", params={"q": "river erosion banks", "k": 5})
    assert r.status_code == 200
    body = r.json()
    with Index.open(index_dir) as idx:
        hits = idx.search("river erosion banks", k=5, highlight=True)
    want = [h.to_dict() for h in hits]
    assert [h["chunk_id"] for h in body["hits"]] == [h["chunk_id"] for h in want]
    for got, exp in zip(body["hits"], want):
        assert set(got) == set(exp)
        assert {k: v for k, v in got.items() if k != "path"} == \
               {k: v for k, v in exp.items() if k != "path"}
        assert exp["path"].endswith(got["path"])  # relative to the indexed root
        assert not got["path"].startswith("/")
    assert body["query"] == "river erosion banks"


def test_models_have_exactly_the_to_dict_keys(service):
    out = service.search("sourdough starter", k=2)
    hit = out["hits"][0]
    assert set(hit_model().model_fields) == set(hit)
    assert set(search_model().model_fields) == set(out)
    a = service.ask("how often do you feed a sourdough starter?")
    assert set(answer_model().model_fields) == set(a)
    doc = service.document(hit["doc_id"], hit["chunk_id"])
    assert set(document_model().model_fields) == set(doc) == {
        f for f in DocumentView.__dataclass_fields__}
    s = service.senses("water", max=50)
    assert set(senses_model().model_fields) == set(s)
    # the models validate what the library produces, unchanged
    assert search_model().model_validate(out).model_dump(mode="json") == out


def test_a_new_hit_field_reaches_the_model(monkeypatch):
    """Models are generated from the dataclass: a field added to Hit appears in them."""
    import dataclasses

    from searchkit import schema, types

    NewHit = dataclasses.make_dataclass("Hit", [("relevance", float, 0.0)],
                                        bases=(types.Hit,), frozen=True)
    monkeypatch.setattr(schema, "_models", {})
    assert "relevance" in schema.model_for(NewHit).model_fields
    assert "highlights_in_document" in schema.model_for(NewHit).model_fields


def test_document_view_points_at_the_passage(client):
    hit = client.get("/api/search", params={"q": "sourdough starter feeding",
                                             "k": 1}).json()["hits"][0]
    d = client.get(f"/api/documents/{hit['doc_id']}", params={"chunk_id": hit["chunk_id"]})
    assert d.status_code == 200
    d = d.json()
    assert d["text"][d["start_char"]:d["end_char"]] == hit["text"]
    assert (d["start_line"], d["end_line"]) == (hit["start_line"], hit["end_line"])
    for a, b in hit["highlights_in_document"]:
        assert d["start_char"] <= a < b <= d["end_char"]
    assert d["path"] == hit["path"]
    assert 1 + d["text"].count("\n", 0, d["start_char"]) == d["start_line"]


def test_ask_and_stats_and_senses(client):
    a = client.get("/api/ask", params={"q": "what does a sourdough starter need?"})
    assert a.status_code == 200 and isinstance(a.json()["answered"], bool)
    s = client.get("/api/stats").json()
    assert s["documents"] == 55 and s["path"] == "idx"
    senses = client.get("/api/senses", params={"word": "water", "max": 50})
    assert senses.status_code == 200 and senses.json()["uses"] > 0
    missing = client.get("/api/senses", params={"word": "zzzqqq"})
    assert missing.status_code == 400 and "zzzqqq" in missing.json()["error"]


@pytest.mark.parametrize("params, status, message", [
    ({"q": ""}, 422, "q: String should have at least 1 character"),
    ({"q": "x" * 1001}, 422, "q: String should have at most 1000 characters"),
    ({"q": "rivers", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
    ({"q": "rivers", "k": 101}, 422, "k: Input should be less than or equal to 100"),
    ({"q": "rivers", "method": "magic"}, 422, "method: String should match pattern"),
    ({"q": "   "}, 400, "empty query"),
    ({"q": "rivers", "modified_after": "yesterday"}, 422, "modified_after:"),
])
def test_bad_requests_get_a_message(client, params, status, message):
    r = client.get("/api/search", params=params)
    assert r.status_code == status
    assert r.json()["error"].startswith(message)
    assert all("input" not in d for d in r.json().get("detail", []))  # no echo of the query
    assert "Traceback" not in r.text


def test_unknown_document_and_chunk(client, service):
    assert client.get("/api/documents/99999").json() == {"error": "no document with id 99999"}
    assert client.get("/api/documents/99999").status_code == 404
    hit = service.search("sourdough", k=2)["hits"]
    r = client.get(f"/api/documents/{hit[0]['doc_id']}",
                   params={"chunk_id": hit[1]["chunk_id"]})
    assert r.status_code == 404 and "has no chunk" in r.json()["error"]
    assert client.get("/api/documents/abc").status_code == 422


def test_no_write_endpoints(client):
    app = client.app
    for route in app.routes:
        methods = getattr(route, "methods", None) or set()
        assert methods <= {"GET", "HEAD"}, route.path
    assert client.post("/api/search", params={"q": "x"}).status_code == 405
    assert client.delete("/api/documents/1").status_code == 405


def test_no_endpoint_reads_a_client_path(client, corpus):
    target = str(corpus / "xss.txt")
    for url in (f"/static/{target}", f"/static/../{target}", "/static/../app.py",
                "/static/%2e%2e/app.py", f"/api/documents/{target}"):
        r = client.get(url)
        assert r.status_code in (404, 422), url
        assert "sanitiser" not in r.text and "def create_app" not in r.text


def test_token_is_required_and_compared(service):
    c = TestClient(create_app(service=service, token="s3cret", rate_limit=0))
    r = c.get("/api/stats")
    assert r.status_code == 401 and "token" in r.json()["error"]
    assert r.headers["www-authenticate"] == "Bearer"
    assert c.get("/api/stats", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/stats", headers={"Authorization": "Basic s3cret"}).status_code == 401
    assert c.get("/api/stats", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/").status_code == 200  # the page loads, then asks for the token


def test_rate_limit_answers_429(service):
    c = TestClient(create_app(service=service, rate_limit=6))  # a burst of 5
    codes = [c.get("/api/stats").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = c.get("/api/stats")
    assert r.status_code == 429 and "too many requests" in r.json()["error"]
    assert int(r.headers["retry-after"]) >= 1


def test_xss_comes_back_as_data_and_the_page_renders_text(client):
    r = client.get("/api/search", params={"q": "sanitiser script alert onerror", "k": 3})
    hit = next(h for h in r.json()["hits"] if h["path"] == "xss.txt")
    assert "<script>alert(1)</script>" in hit["text"]  # the data, unchanged ...
    assert r.headers["content-type"] == "application/json"  # ... as JSON, never HTML
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    js = client.get("/static/app.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js
    assert "http://" not in page.text and "https://" not in page.text  # no CDN


def test_concurrent_requests_share_the_index(service):
    queries = ["river erosion", "sourdough starter", "git branches", "interest rates",
               "marathon training", "volcano"] * 4
    serial = [service.search(q, k=5)["hits"] for q in queries]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda q: service.search(q, k=5)["hits"], queries))
    assert parallel == serial
    assert len(service.idx.store.db._all) > 1  # one SQLite connection per thread


def test_a_sync_elsewhere_is_seen_without_restart(corpus, index_dir, tmp_path):
    from searchkit import Index

    path = tmp_path / "idx"
    shutil.copytree(index_dir, path)
    svc = Service(path)
    try:
        c = TestClient(create_app(service=svc, rate_limit=0))
        q = {"q": "quokka habitat rottnest", "k": 3, "method": "bm25"}
        before = c.get("/api/search", params=q).json()["hits"]
        assert not any("quokka" in h["path"] for h in before)
        new = corpus.parent / "more"
        new.mkdir(exist_ok=True)
        (new / "quokka.txt").write_text("The quokka habitat on Rottnest island is scrub.\n")
        with Index.open(path, readonly=False) as writer:  # another connection: another writer
            writer.add_paths([new])
        hits = c.get("/api/search", params=q).json()["hits"]
        # the indexed root is now the folder above corpus/ and more/
        assert hits[0]["path"] == "more/quokka.txt"
        dense = c.get("/api/search", params={**q, "method": "dense"}).json()["hits"]
        assert "more/quokka.txt" in [h["path"] for h in dense]
    finally:
        svc.close()


def test_watch_syncs_a_folder(tmp_path, hashing):
    from searchkit import Index
    from searchkit.cli.serve import watch

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpacas hum when they are curious.\n")
    path = tmp_path / "idx"
    Index.create(path, encoder="hashing-test").close()
    stop = threading.Event()
    t = threading.Thread(target=watch, args=(str(folder), str(path), stop), daemon=True)
    t.start()
    try:
        svc = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Index.open(path) as idx:
                if idx.store.count("documents") == 1:
                    break
            time.sleep(0.2)
        svc = Service(path)
        (folder / "b.txt").write_text("Narwhal tusks are teeth that sense the water.\n")
        found = []
        while time.monotonic() < deadline and not found:
            found = [h for h in svc.search("narwhal tusks", k=2, method="bm25")["hits"]
                     if h["path"] == "b.txt"]
            time.sleep(0.3)
        assert found, "the watcher did not index the new file within 20 s"
    finally:
        stop.set()
        t.join(5)
        if svc:
            svc.close()


def test_serve_refuses_a_public_host_without_token(tmp_path):
    r = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--index", str(tmp_path)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == (
        "Error: --host 0.0.0.0 is not a loopback address; refusing to serve it without "
        "--token (or SEARCHKIT_TOKEN)")


def test_serve_on_a_missing_index_is_one_line(tmp_path):
    r = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "none")])
    assert r.exit_code == 1
    assert r.output.startswith("Error: no index at ") and r.output.count("\n") == 1


def test_help_has_examples():
    for cmd in ("serve", "mcp"):
        r = CliRunner().invoke(cli, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output, cmd


def test_loopback_detection():
    from searchkit.cli.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.com")


def test_a_rebuild_elsewhere_is_followed(tmp_path, hashing):
    from searchkit.api import index_paths

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "one.txt").write_text("Otters hold hands while they sleep.\n")
    (b / "two.txt").write_text("Axolotls regrow their limbs.\n")
    path = tmp_path / "idx"
    index_paths([str(a)], index=path, encoder="hashing-test")
    svc = Service(path)
    try:
        assert svc.search("otters sleep", k=1, method="bm25")["hits"][0]["path"] == "one.txt"
        index_paths([str(b)], index=path, rebuild=True)  # a new folder swapped in
        hits = svc.search("axolotls regrow limbs", k=2, method="bm25")["hits"]
        assert [h["path"] for h in hits] == ["two.txt"]
    finally:
        svc.close()


def test_encoder_slots_cap_concurrent_runs_and_keep_results():
    import numpy as np

    from searchkit.encoders.hashing import HashingEncoder
    from searchkit.serve.core import bound_encoder

    enc, free = HashingEncoder(), HashingEncoder()
    running, peak, lock = [0], [0], threading.Lock()
    batch = "embed_batch" if hasattr(enc, "embed_batch") else "_embed"  # its new name, old
    plain = getattr(enc, batch)

    def slow(texts):  # long enough for the threads' calls to overlap when allowed
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        try:
            return plain(texts)
        finally:
            with lock:
                running[0] -= 1

    setattr(enc, batch, slow)
    texts = [f"question {i} about river erosion and sediment" for i in range(32)]
    want = free.encode_queries(texts)
    for slots in (2, 1):  # the second call swaps the cap, it does not stack a second
        bound_encoder(enc, threading.BoundedSemaphore(slots))
        peak[0] = 0
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda t: enc.encode_queries([t])[0], texts))
        assert peak[0] == slots
        np.testing.assert_allclose(np.stack(got), want, atol=1e-6)
    assert enc.token_vectors("river erosion").tokens == free.token_vectors(
        "river erosion").tokens


def test_many_concurrent_requests_through_a_capped_app(index_dir, service):
    queries = ["river erosion", "sourdough starter", "git branches", "interest rates",
               "marathon training", "volcano", "sanitiser escaping", "lighthouse"] * 4
    want = [service.search(q, k=5, group=True, highlight=True)["hits"] for q in queries]
    app = create_app(index_dir, rate_limit=0, encoder_slots=1)
    try:
        with TestClient(app) as c:
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                got = list(pool.map(lambda q: c.get("/api/search", params={"q": q, "k": 5})
                                    .json()["hits"], queries))
    finally:
        app.state.service.close()
    assert got == want


def test_app_from_env_is_what_workers_start(index_dir, service, monkeypatch):
    from searchkit.serve import app as serve_app

    monkeypatch.setenv(serve_app.ENV_INDEX, str(index_dir))
    monkeypatch.setenv(serve_app.ENV_TOKEN, "s3cret")
    monkeypatch.setenv(serve_app.ENV_RATE_LIMIT, "0")
    app = serve_app.app_from_env()
    try:
        with TestClient(app) as c:
            assert c.get("/api/stats").status_code == 401
            r = c.get("/api/search", params={"q": "volcano", "k": 3},
                      headers={"Authorization": "Bearer s3cret"})
            assert r.json()["hits"] == service.search("volcano", k=3, group=True,
                                                      highlight=True)["hits"]
    finally:
        app.state.service.close()


def test_serve_with_workers_answers_as_in_process(index_dir, service):
    """`search serve --workers 2`: two worker processes behind one port, each with its
    own copy of the index, all answering as the in-process search does."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import urllib.parse
    import urllib.request

    psutil = pytest.importorskip("psutil")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(SAMPLE.parent)}
    env.pop("SEARCHKIT_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "searchkit", "serve", "--index",
                             str(index_dir), "--port", str(port), "--workers", "2", "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"

    def get(q: str) -> list:
        with urllib.request.urlopen(f"{url}/api/search?q={urllib.parse.quote(q)}&k=5",
                                    timeout=30) as r:
            return json.loads(r.read())["hits"]

    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                get("volcano")
                break
            except OSError:
                assert time.monotonic() < deadline, "search serve --workers 2 did not start"
                time.sleep(0.3)
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
        queries = ["river erosion", "sourdough starter", "git branches", "volcano"] * 4
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(get, queries))
        assert got == [service.search(q, k=5, group=True, highlight=True)["hits"]
                       for q in queries]
    finally:
        proc.terminate()
        proc.wait(20)


def test_docs_load_nothing_from_elsewhere(client):
    from searchkit.serve.app import swagger_assets

    if swagger_assets() is None:
        pytest.skip("swagger-ui-py is not installed (the serve extra): /docs uses the CDN")
    html = client.get("/docs").text
    assert "SwaggerUIBundle" in html and "cdn." not in html
    import re

    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert srcs and all(u.startswith("/docs-assets/") for u in srcs), srcs
    for u in srcs:
        assert client.get(u).status_code == 200, u
    assert client.get("/openapi.json").json()["paths"]["/api/search"]


def test_a_workers_encoder_threads_give_the_same_vectors(onnx_export, onnx_cache, monkeypatch):
    """`--workers N` gives each worker's onnxruntime cores/N intra-op threads: its query and
    sentence vectors are those of the in-process encoder on every core (within 1e-6)."""
    import numpy as np

    from searchkit.encoders.onnx import OnnxEncoder

    onnx_export(True)  # the int8 model, exported once into the session's cache
    monkeypatch.setenv("SEARCHKIT_CACHE", str(onnx_cache))
    texts = ["Does vitamin D supplementation reduce fractures in elderly women?",
             "river erosion", "The quokka habitat on Rottnest island is scrub. " * 12]
    vecs = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("SEARCHKIT_ONNX_THREADS", threads)
        enc = OnnxEncoder(quantize=True)
        assert enc.session.get_session_options().intra_op_num_threads == int(threads)
        vecs[threads] = (enc.encode_queries(texts), enc.token_vectors(texts[0]).vectors)
    np.testing.assert_allclose(vecs["1"][0], vecs["2"][0], atol=1e-6)
    np.testing.assert_allclose(vecs["1"][1], vecs["2"][1], atol=1e-5)


def test_serve_with_workers_on_a_missing_index_is_one_line(tmp_path):
    r = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path / "none"), "--workers", "2"])
    assert r.exit_code == 1
    assert r.output.startswith("Error: no index at ") and r.output.count("\n") == 1


def test_workers_default_to_one_per_core_up_to_a_cap():
    from searchkit.cli.serve import MAX_AUTO_WORKERS, worker_count

    assert worker_count("auto", cores=1) == 1
    assert worker_count("auto", cores=2) == 2
    assert worker_count("AUTO", cores=64) == MAX_AUTO_WORKERS
    assert worker_count("3", cores=2) == 3


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_serve_with_a_bad_worker_count_is_a_usage_error(tmp_path, value):
    r = CliRunner().invoke(cli, ["serve", "--index", str(tmp_path), "--workers", value])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == (
        f"Error: Invalid value for '--workers': {value!r} is neither a positive number "
        "nor 'auto'")
