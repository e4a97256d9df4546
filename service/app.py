"""The HTTP API (FastAPI): thin routes over the answer engine, the index and the rebuild job."""

from __future__ import annotations

import asyncio
import hmac
import logging
import mimetypes
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.embedder import ModelError
from index.generations import BuildError, BuildLockedError, IndexNotFoundError, NoIndexLoadedError
from index.manifest import ManifestError
from index.modes import MODES
from index.searcher import IndexSearcher
from index.stores.base import VectorStoreError
from ingest.catalogue import CatalogueError
from ingest.document import DocumentReadError
from ingest.errors import PolicyQAError
from ingest.ocr import OcrError
from service.api_models import (
    MAX_K,
    MAX_QUESTION_CHARS,
    AskFilters,
    AskRequest,
    AskResponse,
    DocumentOut,
    DocumentText,
    ErrorResponse,
    RebuildStatus,
)
from service.engine import AnswerEngine, QuestionError
from service.ranking.stages import StageError
from service.settings import Settings, SettingsError

log = logging.getLogger("policyqa.service")
STATIC = Path(__file__).parent / "static"
# Threads answering questions: the work is CPU-bound, so a few beyond the cores only queue.
ASK_WORKERS = max(2, min(8, os.cpu_count() or 2))
NOT_FOUND = {404: {"model": ErrorResponse}}
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# Every project error the API can meet, as (HTTP status, JSON error code); a subclass not listed
# takes its nearest listed base's entry. The one place where errors become statuses.
ERROR_STATUS: dict[type[PolicyQAError], tuple[int, str]] = {
    QuestionError: (422, "invalid_question"),
    NoIndexLoadedError: (503, "no_index"),
    IndexNotFoundError: (503, "no_index"),
    ManifestError: (503, "index_unreadable"),
    ModelError: (503, "model_unavailable"),
    VectorStoreError: (503, "store_unavailable"),
    BuildLockedError: (409, "build_locked"),
    BuildError: (500, "build_failed"),
    DocumentReadError: (500, "document_unreadable"),
    OcrError: (500, "ocr_failed"),  # caught per page by the PDF reader; never expected here
    CatalogueError: (500, "catalogue_invalid"),
    SettingsError: (500, "invalid_settings"),
    StageError: (500, "invalid_ranking_stages"),
    PolicyQAError: (500, "internal_error"),  # an error of a layer above the service (eval)
}


def error_status(exc: PolicyQAError) -> tuple[int, str]:
    """The status and code for `exc`: its class's entry in ERROR_STATUS, or its nearest base's."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]  # type: ignore[index]
    raise TypeError(f"{type(exc).__name__} is not a PolicyQAError")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _json(data: Any, status: int = 200) -> Response:
    """A ready JSON response: orjson writes the engine's dataclasses as they are, and FastAPI
    passes a Response through without validating it again against the route's response model
    (which stays for the OpenAPI schema)."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


class BodyLimit:
    """Refuses request bodies over a size limit with 413, before the app parses them.

    A declared Content-Length is checked at once; a chunked body is read here up to the limit
    (at most `limit` bytes are buffered) and handed on as one message.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        def too_large() -> JSONResponse:
            return _error(413, "body_too_large", f"request body over {self.limit} bytes")

        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                return await too_large()(scope, receive, send)
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await too_large()(scope, receive, send)
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


class RebuildJob:
    """One background rebuild at a time; the engine switches generations when it completes."""

    def __init__(self, engine: AnswerEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self.state = "idle"
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.report: dict | None = None

    def start(self, full: bool = False) -> bool:
        with self._lock:
            if self.state == "running":
                return False
            self.state, self.started, self.finished = "running", time.time(), None
            self.error = self.report = None
        threading.Thread(target=self._run, args=(full,), name="policyqa-rebuild",
                         daemon=True).start()
        return True

    def _run(self, full: bool) -> None:
        from index.builder import IndexBuilder

        settings = self.engine.settings
        try:
            builder = IndexBuilder(settings.index_dir, self.engine.embedder,
                                   settings.chunk_settings(), store_config=settings.store_config(),
                                   ocr=settings.ocr_settings())
            corpus = self._corpus_dir()
            report = builder.build(corpus, full=full)
            self.engine.refresh()
            self.report, self.state = report.to_dict(), "succeeded"
        except Exception as exc:  # reported through /v1/index/status, never raised
            log.exception("rebuild failed")
            self.error, self.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            self.finished = time.time()

    def _corpus_dir(self) -> Path:
        searcher = self.engine.searcher
        if searcher is not None and searcher.manifest.corpus:
            return Path(searcher.manifest.corpus)
        return self.engine.settings.corpus_dir

    def status(self) -> RebuildStatus:
        searcher = self.engine.searcher
        return RebuildStatus(state=self.state,  # type: ignore[arg-type]
                             generation=searcher.generation if searcher else None,
                             started=self.started, finished=self.finished, error=self.error,
                             report=self.report)


async def live_searcher(request: Request) -> IndexSearcher:
    current = request.app.state.engine.searcher
    if current is None:
        raise ApiError(503, "no_index", "no index is loaded yet")
    return current


Current = Annotated[IndexSearcher, Depends(live_searcher)]


async def require_admin(request: Request) -> None:
    """Admin calls need `Authorization: Bearer <admin_key>`; with no key set, none pass."""
    settings: Settings = request.app.state.settings
    key = settings.admin_key.get_secret_value() if settings.admin_key else None
    if not key:
        raise ApiError(403, "admin_disabled",
                       "admin endpoints are disabled: set POLICYQA_ADMIN_KEY")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    # compare_digest takes time independent of where the strings differ
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             key.encode()):
        raise ApiError(401, "unauthorized", "missing or wrong bearer key")


def create_app(settings: Settings, engine: AnswerEngine | None = None) -> FastAPI:
    engine = engine or AnswerEngine(settings)
    engine.refresh()
    rebuild = RebuildJob(engine)
    # Routes are async and cheap; the engine's work runs here, one thread hop per request.
    workers = ThreadPoolExecutor(max_workers=ASK_WORKERS, thread_name_prefix="policyqa-ask")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            workers.shutdown(wait=False, cancel_futures=True)

    async def off_loop(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(workers, fn, *args)

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from the files the
    # fastapi-offline package ships, served by this app, never from a CDN.
    app = FastAPIOffline(title="PolicyQA", version="0.1.0", lifespan=lifespan,
                         description="Cited passage retrieval over treaty, legislation and "
                         "policy texts.", responses={400: {"model": ErrorResponse},
                                                     422: {"model": ErrorResponse}})
    app.state.engine, app.state.rebuild, app.state.settings = engine, rebuild, settings
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization",
                                                                         "Content-Type"])
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    _install_error_handlers(app)

    def answer(body: AskRequest) -> bytes:
        """In a worker thread: the engine's answer, already as JSON bytes."""
        filters = body.filters or AskFilters()
        # QuestionError and NoIndexLoadedError become responses through ERROR_STATUS.
        result = engine.ask(body.question, k=body.k, mode=body.mode,
                            document_ids=filters.document_ids,
                            filters=filters.fields() or None,
                            max_context_tokens=body.max_context_tokens)
        return orjson.dumps({"question": result.question, "mode": result.mode,
                             "took_ms": result.took_ms,
                             "index": {"generation": result.generation,
                                       "documents": result.documents, "chunks": result.chunks},
                             "passages": result.passages, "warnings": result.warnings})

    async def answered(body: AskRequest) -> Response:
        return Response(await off_loop(answer, body), media_type="application/json")

    @app.post("/v1/ask", response_model=AskResponse, tags=["questions"])
    async def ask_post(body: AskRequest) -> Response:
        """Ranked passages with citations for a natural-language question."""
        return await answered(body)

    @app.get("/v1/ask", response_model=AskResponse, tags=["questions"])
    async def ask_get(q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS)],
                      k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
                      mode: Annotated[str, Query(pattern=f"^({'|'.join(MODES)})$")] = "hybrid",
                      document_id: Annotated[list[str] | None, Query()] = None) -> Response:
        """The same as POST /v1/ask, for links and quick checks."""
        return await answered(AskRequest(question=q, k=k, mode=mode,  # type: ignore[arg-type]
                                         filters=AskFilters(document_ids=document_id)))

    @app.get("/v1/documents", response_model=list[DocumentOut], tags=["documents"])
    async def documents(current: Current) -> Response:
        return _json([_document_out(d) for d in current.documents])

    @app.get("/v1/documents/{document_id:path}/file", tags=["documents"],
             response_class=FileResponse, responses=NOT_FOUND)
    async def document_file(document_id: str, current: Current) -> FileResponse:
        """The original file, from inside the corpus folder only."""
        known = {d.id for d in current.documents}
        if document_id not in known:
            raise ApiError(404, "not_found", f"no document {document_id!r}")
        root = Path(current.manifest.corpus or settings.corpus_dir).resolve()
        path = (root / document_id).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise ApiError(404, "not_found", f"file for {document_id!r} is not available")
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media.startswith("text/") or path.suffix in (".md", ".xml"):
            media = "text/plain; charset=utf-8"  # shown as text, never rendered as a page
        return FileResponse(path, media_type=media, content_disposition_type="inline",
                            filename=path.name)

    @app.get("/v1/documents/{document_id:path}/text", response_model=DocumentText,
             tags=["documents"], responses=NOT_FOUND)
    async def document_text(document_id: str, current: Current) -> Response:
        """The extracted text that passages' char_start/char_end point into, with its page map
        (PDF page spans over that text; null for formats without pages)."""
        def read() -> bytes | None:
            found = current.chunks.document_source(document_id)
            if found is None:
                return None
            text, pages = found
            return orjson.dumps({
                "id": document_id, "text": text,
                "pages": None if pages is None else [
                    {"start": start, "end": end, "index": index, "label": label, "ocr": ocr}
                    for start, end, index, label, ocr in pages]})

        body = await off_loop(read)
        if body is None:
            raise ApiError(404, "not_found", f"no document {document_id!r}")
        return Response(body, media_type="application/json")

    @app.get("/v1/documents/{document_id:path}", response_model=DocumentOut,
             tags=["documents"], responses=NOT_FOUND)
    async def document(document_id: str, current: Current) -> Response:
        record = next((d for d in current.documents if d.id == document_id), None)
        if record is None:
            raise ApiError(404, "not_found", f"no document {document_id!r}")
        return _json(_document_out(record))

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        current = engine.searcher
        if current is None:
            return _error(503, "not_ready", "no index is loaded yet")
        return _json({"status": "ready", "generation": current.generation})

    @app.post("/v1/index/rebuild", status_code=202, response_model=RebuildStatus,
              tags=["operations"], dependencies=[Depends(require_admin)])
    async def start_rebuild(full: bool = False) -> RebuildStatus:
        """Starts an incremental rebuild in the background; answers keep coming meanwhile."""
        if not rebuild.start(full=full):
            raise ApiError(409, "rebuild_running", "a rebuild is already running")
        return rebuild.status()

    @app.get("/v1/index/status", response_model=RebuildStatus, tags=["operations"],
             dependencies=[Depends(require_admin)])
    async def index_status() -> RebuildStatus:
        return rebuild.status()

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"),
                            headers={"Content-Security-Policy": "default-src 'self'; "
                                     "style-src 'self' 'unsafe-inline'; "
                                     "script-src 'self' 'unsafe-inline'"})

    return app


def _document_out(record) -> dict:
    return {"id": record.id, "title": record.title, "format": record.format,
            "pages": record.page_count, "chunks": record.chunks, "hash": record.content_hash,
            "metadata": record.metadata, "warnings": record.warnings}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(PolicyQAError)
    async def project_error(_: Request, exc: PolicyQAError) -> JSONResponse:
        status, code = error_status(exc)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return _error(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed_json", "request body is not valid JSON")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
            f"{e.get('msg')}" for e in errors[:5])
        return _error(422, "invalid_request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "internal_error", "internal error; the server log has details")


def serve(settings: Settings, engine: AnswerEngine | None = None) -> None:
    import uvicorn

    app = create_app(settings, engine)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                proxy_headers=False, server_header=False)

