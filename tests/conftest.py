"""Shared fixtures: the real model once per session, a fast hashing encoder for plumbing."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "sample_corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The plumbing tests' encoder (no model, no meaning) is not a production encoder: register it
# here, and through SEARCHKIT_ENCODERS for the processes tests start (CLI runs, Ray workers).
HASHING = "hashing-test=searchkit.encoders.hashing:HashingEncoder"
os.environ["SEARCHKIT_ENCODERS"] = ",".join(
    filter(None, [os.environ.get("SEARCHKIT_ENCODERS"), HASHING]))

from searchkit.encoders import register_encoder  # noqa: E402
from searchkit.encoders.hashing import HashingEncoder  # noqa: E402

register_encoder("hashing-test", HashingEncoder)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test touches ./indexes or the user's cache by accident."""
    monkeypatch.setenv("SEARCHKIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)


def _ours(handlers) -> list[logging.Handler]:
    """The handlers that are not pytest's (pytest attaches its capture handlers to every
    non-propagating logger for each test phase, and takes them off itself)."""
    return [h for h in handlers if not type(h).__module__.startswith("_pytest")]


@pytest.fixture(autouse=True)
def _searchkit_logger_restored():
    """The ``searchkit`` logger as it was before the test: the CLI's ``setup_logging`` gives
    it a handler on the stderr of the moment (a CliRunner's, closed afterwards), a level and
    ``propagate = False``; left in place, one test's CLI run changed what later tests logged
    and captured, depending on the order the tests ran in."""
    log = logging.getLogger("searchkit")
    handlers, level, propagate, disabled = _ours(log.handlers), log.level, log.propagate, \
        log.disabled
    yield
    for h in _ours(log.handlers):
        if h not in handlers:
            log.removeHandler(h)
    for h in handlers:
        if h not in log.handlers:
            log.addHandler(h)
    log.setLevel(level)
    log.propagate, log.disabled = propagate, disabled


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 encoder (sentence-transformers), loaded once."""
    from searchkit.encoders import get_encoder

    enc = get_encoder("minilm")
    enc.model  # noqa: B018 (load now, once)
    return enc


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """A private SEARCHKIT_CACHE for the session's ONNX exports."""
    return tmp_path_factory.mktemp("searchkit-cache")


@pytest.fixture(scope="session")
def onnx_export(onnx_cache):
    """``onnx_export(quantize)``: an OnnxEncoder exported into ``onnx_cache`` on first
    request, once per session (an export takes a minute: it needs torch)."""
    from searchkit.encoders.onnx import OnnxEncoder

    made = {}

    def get(quantize: bool):
        if quantize not in made:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SEARCHKIT_CACHE", str(onnx_cache))
                enc = OnnxEncoder(quantize=quantize)
                enc.model_path  # noqa: B018 (export now, inside the private cache)
            made[quantize] = enc
        return made[quantize]

    return get


@pytest.fixture
def hashing():
    """A fresh hashing encoder whose ``calls`` list records every embedded text."""
    from searchkit.encoders import _cache, get_encoder

    _cache.pop("hashing-test", None)
    enc = get_encoder("hashing-test")
    yield enc
    _cache.pop("hashing-test", None)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, minilm):
    """sample_corpus indexed once with the real model (read-only for tests)."""
    from searchkit import Index

    path = tmp_path_factory.mktemp("sample") / "idx"
    idx = Index.create(path, encoder="minilm")
    idx.add_paths([SAMPLE])
    idx.close()
    return path


@pytest.fixture(scope="session")
def sample_index_int8(tmp_path_factory, onnx_cache, onnx_export):
    """sample_corpus indexed once with the default encoder (minilm-int8, with the in-context
    sentence vectors it stores); open it with SEARCHKIT_CACHE set to ``onnx_cache``."""
    from searchkit import Index

    onnx_export(True)  # the model, built once into the private cache
    path = tmp_path_factory.mktemp("sample-int8") / "idx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEARCHKIT_CACHE", str(onnx_cache))
        with Index.create(path, encoder="minilm-int8") as idx:
            idx.add_paths([SAMPLE])
    return path


@pytest.fixture
def docs(tmp_path):
    """A small folder of documents to index, copied fresh for each test."""
    d = tmp_path / "docs"
    shutil.copytree(DATA / "docs", d)
    return d


@pytest.fixture
def hashing_index(tmp_path, docs, hashing):
    """The path of an index of ``docs`` with the hashing encoder (a fresh one per test)."""
    from searchkit import Index

    path = tmp_path / "idx"
    with Index.create(path, encoder="hashing-test") as idx:
        idx.add_paths([docs])
    return path


@pytest.fixture
def runner():
    """A click CliRunner."""
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def built(tmp_path, docs, runner, hashing):
    """A small index of ``docs`` made by ``search index`` with the hashing encoder."""
    from searchkit.cli import cli

    idx = tmp_path / "idx"
    r = runner.invoke(cli, ["index", str(docs), "--index", str(idx), "--encoder", "hashing-test"])
    assert r.exit_code == 0, r.output
    return idx
