"""``search serve`` (HTTP API and web page) and ``search mcp`` (MCP over stdio)."""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from pathlib import Path

import click

from .base import index_path, setup_logging, index_option

log = logging.getLogger("searchkit")


def _missing(extra_pkg: str) -> click.ClickException:
    return click.ClickException(
        f"{extra_pkg} is not installed; install the serve extra: pip install 'searchkit[serve]'")


#: ``--workers auto`` starts one worker per core up to this many: each holds its own model
#: and index caches, so more would cost memory for little gain on a small machine.
MAX_AUTO_WORKERS = 4


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def worker_count(value: str, cores: int | None = None) -> int:
    """``--workers``: a positive number, or ``auto`` (one per core, at most
    :data:`MAX_AUTO_WORKERS`)."""
    if value.strip().lower() == "auto":
        return max(1, min(cores or _cores(), MAX_AUTO_WORKERS))
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise click.BadParameter(f"{value!r} is neither a positive number nor 'auto'",
                                 param_hint="'--workers'")
    return n


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--token", envvar="SEARCHKIT_TOKEN", show_envvar=True, default=None,
              help="Require 'Authorization: Bearer TOKEN' on every API call (the page asks "
                   "for it once).")
@click.option("--watch", "watch_dir", type=click.Path(exists=True, file_okay=False),
              default=None, metavar="FOLDER",
              help="Keep the index synced with FOLDER while serving (changes are batched; "
                   "the index's one-writer lock still holds).")
@click.option("--rate-limit", type=click.IntRange(min=0), default=600, show_default=True,
              metavar="N", help="Requests per minute per client address (per worker process "
                                "with --workers); 0 for no limit.")
@click.option("--workers", default="auto", show_default=True, metavar="N|auto",
              help="Worker processes, each with its own copy of the model and its share of "
                   "the cores (Python ranks one request at a time per process; N processes "
                   f"rank N at once). auto: one per core, at most {MAX_AUTO_WORKERS}.")
@click.option("-q", "--quiet", is_flag=True, help="No log lines on stderr.")
def serve_cmd(index_dir, host, port, token, watch_dir, rate_limit, workers, quiet):
    """Serve the index over HTTP: a web page at /, a JSON API under /api, docs at /docs.

    The index is opened once and shared by all requests; documents a sync commits (from
    this server's --watch or from another process) are searchable without a restart.
    Read-only: no endpoint writes, and documents are shown from the index's stored text.

    \b
    Safe by default:
      binds 127.0.0.1; a non-loopback --host is refused without --token
      with a token, every API call needs 'Authorization: Bearer TOKEN'
      queries up to 1000 characters, k up to 100, --rate-limit requests a minute
      paths in responses are relative to the indexed folder

    \b
    Examples:
      search serve --index indexes/docs
      search serve --index indexes/docs --watch ~/notes
      search serve --index indexes/docs --workers 1     # one process: least memory
      SEARCHKIT_TOKEN=s3cret search serve --host 0.0.0.0 --port 8080
      curl 'http://127.0.0.1:8000/api/search?q=river+erosion&k=3'
    """
    if not is_loopback(host) and not token:
        raise click.UsageError(f"--host {host} is not a loopback address; refusing to serve "
                               "it without --token (or SEARCHKIT_TOKEN)")
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as e:
        raise _missing(e.name or "fastapi") from None
    workers = worker_count(str(workers))
    setup_logging(quiet)
    index = index_path(index_dir)
    if watch_dir:
        from ..index import index_exists

        if not index_exists(Path(index)):  # the first sync creates it, before serving
            from ..api import index_paths

            log.info("Indexing %s into %s ...", watch_dir, index)
            index_paths([watch_dir], index=index)
    if workers == 1:
        app = create_app(index, token=token, rate_limit=rate_limit)
    else:
        app = _worker_app(index, token, rate_limit, workers)
    stop = threading.Event()
    if watch_dir:  # in this process only: one writer, however many workers read
        threading.Thread(target=watch, args=(watch_dir, index, stop), daemon=True,
                         name="searchkit-watch").start()
    shown = f"[{host}]" if ":" in host else host
    log.info("Serving %s on http://%s:%d/ (API docs at /docs%s%s). Ctrl-C stops.",
             index, shown, port, "; token required" if token else "",
             f"; {workers} workers" if workers > 1 else "")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning" if quiet else "info",
                    access_log=False, server_header=False, workers=workers,
                    factory=workers > 1)
    finally:
        stop.set()
        if workers == 1:
            app.state.service.close()


def _worker_app(index: str, token: str | None, rate_limit: int, workers: int) -> str:
    """The import string uvicorn starts ``workers`` processes from, with the settings in
    their environment: the index (checked here, so a bad one is one error line, not N
    tracebacks), the token, the rate limit, and each worker's share of the cores."""
    from ..index import Index
    from ..serve import app as serve_app

    Index.open(index, readonly=True).close()
    os.environ[serve_app.ENV_INDEX] = str(index)
    os.environ[serve_app.ENV_RATE_LIMIT] = str(rate_limit)
    if token:
        os.environ[serve_app.ENV_TOKEN] = token
    os.environ.setdefault("SEARCHKIT_ONNX_THREADS", str(max(1, _cores() // workers)))
    return "searchkit.serve.app:app_from_env"


def watch(folder: str, index: str, stop: threading.Event) -> None:
    """Sync ``index`` with ``folder`` now and after every batch of changes (watchfiles
    debounces them), until ``stop`` is set. A sync that finds the index locked by another
    writer is retried at the next change."""
    from watchfiles import DefaultFilter, watch as watch_changes

    from ..api import index_paths
    from ..errors import SearchkitError

    inside = Path(index).resolve()

    class _Filter(DefaultFilter):
        def __call__(self, change, path: str) -> bool:
            p = Path(path)
            return super().__call__(change, path) and inside not in (p, *p.parents)

    def sync() -> None:
        try:
            r = index_paths([folder], index=index)
            if r.files_indexed or r.deleted:
                log.info("watch: %d indexed, %d removed, %d skipped", r.files_indexed,
                         len(r.deleted), len(r.skipped))
        except SearchkitError as e:
            log.warning("watch: sync failed: %s", e)
        except Exception as e:  # keep serving whatever one bad sync does
            log.warning("watch: sync failed: %s: %s", type(e).__name__, e)

    sync()
    for _changes in watch_changes(folder, watch_filter=_Filter(), stop_event=stop,
                                  debounce=1600, step=200, rust_timeout=1000,
                                  yield_on_timeout=False):
        sync()


@click.command("mcp")
@index_option
def mcp_cmd(index_dir):
    """Serve the index to an AI assistant over MCP (stdio): tools search, ask,
    get_document and stats, returning the same JSON as the HTTP API.

    \b
    Examples:
      search mcp --index indexes/sample     # speaks MCP on stdin/stdout
      # an assistant's MCP settings:
      {"mcpServers": {"searchkit": {"command": "search",
                                    "args": ["mcp", "--index", "/path/to/index"]}}}
    """
    try:
        from ..mcp_server import run_stdio
    except ImportError as e:
        raise _missing(e.name or "mcp") from None
    setup_logging(quiet=True)  # stdout is the protocol; errors still reach stderr
    os.environ.setdefault("TQDM_DISABLE", "1")
    run_stdio(index_path(index_dir))
