"""The HTTP API and web page of ``search serve`` (FastAPI).

Read-only by construction: every route is a GET that reads the index. With a token, every
``/api`` call needs ``Authorization: Bearer TOKEN`` (compared in constant time). Query length,
``k`` and the request rate per client are limited; a refused request gets a 4xx with a JSON
``{"error": "..."}`` message.
"""

from __future__ import annotations

import datetime
import hmac
import os
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import BadInput, SearchkitError
from ..schema import answer_model, document_model, search_model, senses_model
from .core import DocumentNotFound, Service

STATIC = Path(__file__).parent / "static"
#: Longest query or question accepted, in characters.
MAX_QUERY = 1000
#: Most hits one search returns.
MAX_K = 100
#: Requests per minute per client address (0: no limit).
RATE_LIMIT = 600

#: Encoder runs at once per server process (see :class:`~searchkit.serve.core.Service`).
ENCODER_SLOTS = 1

_METHODS = "^(dense|tfidf|bm25|glove|hybrid)$"

#: How ``search serve --workers N`` hands its settings to each worker process (uvicorn
#: starts workers by importing :func:`app_from_env`; they share no Python objects).
ENV_INDEX = "SEARCHKIT_SERVE_INDEX"
ENV_RATE_LIMIT = "SEARCHKIT_SERVE_RATE_LIMIT"
ENV_ENCODER_SLOTS = "SEARCHKIT_SERVE_ENCODER_SLOTS"
ENV_TOKEN = "SEARCHKIT_TOKEN"


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests a minute, bursts up to a tenth
    of that (at least 5)."""

    def __init__(self, per_minute: int):
        self.rate = per_minute / 60.0
        self.burst = max(5.0, per_minute / 10.0)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 10_000:  # forget idle clients
                self._buckets = {c: v for c, v in self._buckets.items() if now - v[1] < 600}
            return (1 - tokens) / self.rate


def create_app(index: str | Path | None = None, token: str | None = None,
               rate_limit: int = RATE_LIMIT, service: Service | None = None,
               encoder_slots: int | None = ENCODER_SLOTS) -> FastAPI:
    """The app over the index at ``index`` (opened now, once, and shared by all requests).

    Args:
        token: when set, every ``/api`` request needs ``Authorization: Bearer <token>``.
        rate_limit: requests per minute per client address; 0 for none.
        service: an already open :class:`Service` (then ``index`` and ``encoder_slots``
            are ignored).
        encoder_slots: at most this many encoder runs at once (see :class:`Service`).
    """
    svc = service or Service(index, encoder_slots=encoder_slots)
    limiter = RateLimiter(rate_limit) if rate_limit > 0 else None
    swagger = swagger_assets()
    app = FastAPI(title="searchkit", version=__version__,
                  description="Search and ask an offline index of your documents. "
                              "Read-only; see /docs for every endpoint.",
                  docs_url=None if swagger else "/docs", redoc_url=None)
    app.state.service = svc
    if swagger:  # FastAPI's own /docs loads Swagger UI from a CDN: blank offline
        _local_docs(app, swagger)

    def guard(request: Request) -> None:
        if token:
            got = request.headers.get("authorization", "")
            scheme, _, value = got.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                    value.strip().encode(), token.encode()):
                raise HTTPException(401, "missing or wrong token (send the header "
                                         "Authorization: Bearer TOKEN)",
                                    headers={"WWW-Authenticate": "Bearer"})
        if limiter is not None:
            client = request.client.host if request.client else "?"
            wait = limiter.allow(client)
            if wait:
                raise HTTPException(429, f"too many requests: the limit is {rate_limit} a "
                                         f"minute; retry in {wait:.1f} s",
                                    headers={"Retry-After": str(max(1, round(wait)))})

    @app.exception_handler(HTTPException)
    async def _http_error(request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        msgs = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ())[1:]) or "request"
            msgs.append(f"{where}: {e.get('msg')}")
        return JSONResponse({"error": "; ".join(msgs), "detail": jsonable(exc.errors())},
                            status_code=422)

    @app.exception_handler(BadInput)
    async def _bad_input(request, exc: BadInput):
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(DocumentNotFound)
    async def _not_found(request, exc: DocumentNotFound):
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(SearchkitError)
    async def _runtime(request, exc: SearchkitError):
        return JSONResponse({"error": str(exc)}, status_code=500)

    api = [Depends(guard)]
    q_doc = f"The question or phrase (at most {MAX_QUERY} characters)."

    @app.get("/api/search", response_model=search_model(), dependencies=api,
             summary="Rank passages for a query")
    def search(q: str = Query(..., min_length=1, max_length=MAX_QUERY, description=q_doc),
               k: int = Query(10, ge=1, le=MAX_K, description="Number of hits."),
               method: str | None = Query(None, pattern=_METHODS,
                                          description="dense, tfidf, bm25, glove or hybrid "
                                                      "(default: hybrid)."),
               path: list[str] = Query([], description="Only files whose path matches "
                                                       "this glob; repeatable."),
               ext: list[str] = Query([], description="Only files with this extension; "
                                                      "repeatable."),
               modified_after: datetime.datetime | None = Query(None),
               chunks: bool = Query(False, description="Raw chunks instead of one hit "
                                                       "per document."),
               diverse: bool = Query(False, description="Re-rank for variety (MMR)."),
               highlight: bool = Query(True, description="Mark the best sentence(s).")):
        return svc.search(q, k=k, method=method, group=not chunks, diverse=diverse,
                          highlight=highlight, **_filters(path, ext, modified_after))

    @app.get("/api/ask", response_model=answer_model(), dependencies=api,
             summary="Answer a question with a sentence of the corpus, or say there is none")
    def ask(q: str = Query(..., min_length=1, max_length=MAX_QUERY, description=q_doc),
            path: list[str] = Query([]), ext: list[str] = Query([]),
            modified_after: datetime.datetime | None = Query(None)):
        return svc.ask(q, **_filters(path, ext, modified_after))

    @app.get("/api/documents/{doc_id}", response_model=document_model(), dependencies=api,
             summary="A document's stored text, and a passage's range in it")
    def document(doc_id: int, chunk_id: int | None = Query(
            None, description="A hit's chunk_id: its range comes back with the text.")):
        return svc.document(doc_id, chunk_id)

    @app.get("/api/stats", dependencies=api, summary="What the index holds")
    def stats() -> dict[str, Any]:
        return svc.stats()

    @app.get("/api/senses", response_model=senses_model(), dependencies=api,
             summary="The senses of a word in the indexed text")
    def senses(word: str = Query(..., min_length=1, max_length=100),
               max: int = Query(200, ge=10, le=400, description="Most uses clustered.")):
        return svc.senses(word, max=max)

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's files from the ``swagger-ui-py`` package (the serve
    extra), found without importing it; None when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("swagger_ui")
    for where in (spec.submodule_search_locations or []) if spec else []:
        static = Path(where) / "static"
        if (static / "swagger-ui-bundle.js").exists():
            return static
    return None


def _local_docs(app: FastAPI, assets: Path) -> None:
    """``/docs`` from Swagger UI's files served by the app (FastAPI's recipe for
    self-hosting the docs' JavaScript and CSS), so it works without a network."""
    from fastapi.openapi.docs import get_swagger_ui_html

    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="searchkit API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")


def app_from_env() -> FastAPI:
    """The app of one worker process, configured by the environment ``search serve``
    sets (``uvicorn.run("searchkit.serve.app:app_from_env", factory=True, workers=N)``)."""
    slots = os.environ.get(ENV_ENCODER_SLOTS)
    return create_app(os.environ[ENV_INDEX], token=os.environ.get(ENV_TOKEN) or None,
                      rate_limit=int(os.environ.get(ENV_RATE_LIMIT, RATE_LIMIT)),
                      encoder_slots=int(slots) if slots else ENCODER_SLOTS)


#: The page runs only its own script: no inline code, nothing from elsewhere.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _filters(path: list[str], ext: list[str], modified_after) -> dict:
    out: dict = {}
    if path:
        out["path"] = path
    if ext:
        out["ext"] = ext
    if modified_after:
        out["modified_after"] = modified_after
    return out


def jsonable(errors) -> list:
    """Validation errors as JSON, without the input (a 1 MB query is not echoed)."""
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder([{k: v for k, v in e.items() if k != "input"} for e in errors],
                            custom_encoder={Exception: str})
