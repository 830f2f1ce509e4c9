"""`search mcp`: the MCP server over stdio, driven by the mcp package's own client."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")
anyio = pytest.importorskip("anyio")

SAMPLE = Path(__file__).resolve().parent.parent / "sample_corpus"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from searchkit import Index

    root = tmp_path_factory.mktemp("mcp")
    shutil.copytree(SAMPLE, root / "corpus")
    with Index.create(root / "idx", encoder="hashing-test") as idx:
        idx.add_paths([root / "corpus"])
    return root / "idx"


def _payload(result) -> dict:
    """The tool's dict: the text block holds it as JSON (mcp 1.x and 2.x alike)."""
    return json.loads(result.content[0].text)


def _is_error(result) -> bool:
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


async def _session_calls(index_dir: Path) -> dict:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "searchkit", "mcp", "--index", str(index_dir)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    out = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            out["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
            out["search"] = await session.call_tool("search", {"query": "sourdough starter",
                                                               "k": 3})
            hit = _payload(out["search"])["hits"][0]
            out["doc"] = await session.call_tool("get_document", {
                "doc_id": hit["doc_id"], "chunk_id": hit["chunk_id"]})
            out["ask"] = await session.call_tool("ask", {"question": "how do you feed a "
                                                                     "sourdough starter?"})
            out["stats"] = await session.call_tool("stats", {})
            out["empty"] = await session.call_tool("search", {"query": "  "})
            out["missing"] = await session.call_tool("get_document", {"doc_id": 99999})
    return out


def test_mcp_tools_over_stdio(index_dir, monkeypatch):
    from searchkit.serve.core import Service

    monkeypatch.chdir(index_dir.parent)
    out = anyio.run(_session_calls, index_dir)
    assert out["tools"] == ["ask", "get_document", "search", "stats"]
    svc = Service(index_dir)
    try:  # the same dicts the HTTP API returns
        assert _payload(out["search"]) == svc.search("sourdough starter", k=3, highlight=True)
        hit = _payload(out["search"])["hits"][0]
        assert "sourdough" in hit["path"]
        assert _payload(out["doc"]) == svc.document(hit["doc_id"], hit["chunk_id"])
        assert _payload(out["ask"]) == svc.ask("how do you feed a sourdough starter?")
        assert _payload(out["stats"])["documents"] == 54
    finally:
        svc.close()
    assert _is_error(out["empty"]) and "empty query" in out["empty"].content[0].text
    assert _is_error(out["missing"]) and "no document with id 99999" in \
        out["missing"].content[0].text
