"""The encoder registry: built-in names only in production, others by register_encoder or
SEARCHKIT_ENCODERS."""

import os
import subprocess
import sys

import pytest

from searchkit import BadInput
from searchkit.encoders import REGISTRY, get_encoder, register_encoder
from searchkit.encoders.hashing import HashingEncoder

from conftest import ROOT


def _child(code: str, encoders: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SEARCHKIT_ENCODERS"}
    if encoders is not None:
        env["SEARCHKIT_ENCODERS"] = encoders
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


def test_production_registry_holds_no_test_encoder():
    r = _child("from searchkit.encoders import REGISTRY; print(' '.join(sorted(REGISTRY)))",
               None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["minilm", "minilm-int8", "minilm-onnx"]


def test_environment_registers_encoders_in_a_child():
    code = ("from searchkit.encoders import get_encoder; e = get_encoder('plug-test'); "
            "print(type(e).__name__, e.dim)")
    r = _child(code, "plug-test=searchkit.encoders.hashing:HashingEncoder")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["HashingEncoder", "384"]
    bad = _child(code, "plug-test")
    assert bad.returncode != 0 and "is not NAME=MODULE:FACTORY" in bad.stderr


def test_register_encoder(monkeypatch):
    monkeypatch.setattr("searchkit.encoders.REGISTRY", dict(REGISTRY))
    monkeypatch.setattr("searchkit.encoders._cache", {})
    register_encoder("other-test", HashingEncoder)
    first = get_encoder("other-test")
    assert isinstance(first, HashingEncoder) and get_encoder("other-test") is first
    register_encoder("other-test", HashingEncoder)  # replaced: a new instance
    assert get_encoder("other-test") is not first
    for name in ("", "a@b", "some/path"):
        with pytest.raises(BadInput):
            register_encoder(name, HashingEncoder)


def test_query_memo_embeds_a_repeated_query_once_and_keeps_the_last_few():
    enc = HashingEncoder()
    first = enc.encode_query("harbour zeppelin")
    first[0] = 99.0  # callers get copies: the memo is not theirs to change
    again = enc.encode_query("harbour zeppelin")
    assert enc.calls == ["harbour zeppelin"] and again[0] != 99.0
    for i in range(enc.query_memo.size + 5):
        enc.encode_query(f"query {i}")
    assert len(enc.query_memo) == enc.query_memo.size
    assert enc.query_memo.get("harbour zeppelin") is None  # the oldest went first
    enc.query_memo.clear()
    enc.encode_query("query 0")
    assert enc.calls[-1] == "query 0"
