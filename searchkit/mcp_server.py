"""``search mcp``: the index as MCP tools over stdio (the official ``mcp`` package).

The tools return the same dicts as the HTTP API (:mod:`searchkit.serve.core`), so an
assistant sees the fields ``search query --json`` prints. A failing call (an empty query,
an unknown document) comes back as a tool error with the one-line message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Most hits one search returns, as over HTTP.
MAX_K = 100


def _server_class():
    """``(server class, ToolError)`` of the installed mcp: 2.x or 1.x."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError

        return MCPServer, ToolError
    except ImportError:
        from mcp.server.fastmcp import FastMCP
        from mcp.server.fastmcp.exceptions import ToolError

        return FastMCP, ToolError


def _tool_errors(fn, tool_error):
    """``fn`` with searchkit's errors raised as the tool error the client sees (its
    message), not as a crash whose text stays on the server."""
    import functools

    from .errors import SearchkitError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SearchkitError as e:
            raise tool_error(str(e)) from None

    return wrapper


def build_server(index: str | Path | None = None):
    """An MCP server with the tools ``search``, ``ask``, ``get_document``, ``stats`` over the
    index at ``index`` (opened now, once)."""
    from .serve.core import Service

    svc = Service(index)
    cls, tool_error = _server_class()
    server = cls(
        name="searchkit",
        instructions="Search a local, offline index of the user's documents. Use `search` "
                     "for passages, `ask` for a one-sentence answer with its citation, and "
                     "`get_document` with a hit's doc_id and chunk_id to read around it.")

    def _wrap(fn):
        return _tool_errors(fn, tool_error)

    @server.tool()
    @_wrap
    def search(query: str, k: int = 10, method: str | None = None,
               path: list[str] | None = None, ext: list[str] | None = None) -> dict[str, Any]:
        """Rank passages of the indexed documents by meaning for `query`. `method`: hybrid
        (default), dense, bm25, tfidf or glove; `path`: globs, `ext`: extensions to keep.
        Each hit has path, lines (or page), score, text and highlights (the best sentence)."""
        k = max(1, min(int(k), MAX_K))
        return svc.search(query, k=k, method=method, highlight=True,
                          **_filters(path, ext))

    @server.tool()
    @_wrap
    def ask(question: str, path: list[str] | None = None,
            ext: list[str] | None = None) -> dict[str, Any]:
        """Answer `question` with a sentence of the documents, its citation (path:line) and
        the passage around it; `answered` is false when the documents hold no answer."""
        return svc.ask(question, **_filters(path, ext))

    @server.tool()
    @_wrap
    def get_document(doc_id: int, chunk_id: int | None = None) -> dict[str, Any]:
        """The stored text of document `doc_id` (from a hit); with a hit's `chunk_id`, that
        passage's character and line range in it."""
        return svc.document(doc_id, chunk_id)

    @server.tool()
    @_wrap
    def stats() -> dict[str, Any]:
        """How many documents and passages the index holds, its encoder and last sync."""
        return svc.stats()

    return server


def _filters(path, ext) -> dict:
    out = {}
    if path:
        out["path"] = list(path)
    if ext:
        out["ext"] = list(ext)
    return out


def run_stdio(index: str | Path | None = None) -> None:
    build_server(index).run("stdio")
