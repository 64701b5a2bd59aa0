"""The FastAPI application: routers of every context, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bootstrap.components import COMPONENTS
from bootstrap.wiring import open_pipeline
from eantrag import __version__, heap
from eantrag.db import OUTAGE_ERRORS, is_outage
from eantrag.forwarded import ForwardedMiddleware, networks
from eantrag.logs import RequestLogMiddleware
from eantrag.metrics import MetricsMiddleware, metrics_response
from eantrag.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    ProblemError,
    Unavailable,
    problem_handler,
    problem_responses,
    problem_type,
)
from eantrag.queryparams import refuse_unknown_query_parameters
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from identity.cors import allow_browser_portals
from identity.people.api import install as install_pages

log = structlog.get_logger(__name__)

DESCRIPTION = """\
eantrag carries a citizen's online application from the portal to the responsible authority's
electronic case file (e-Akte) and, after retention, into the state archive — with no media break.
Errors are RFC 9457 `application/problem+json`.
"""


async def run_workers(runtime: Runtime, names: list[str] | None = None) -> list[asyncio.Task[None]]:
    selected = names if names is not None else list(runtime.workers)
    tasks = []
    for name in selected:
        worker = runtime.workers[name]
        tasks.append(asyncio.create_task(_supervised(name, worker), name=f"worker:{name}"))
    return tasks


async def _supervised(name: str, worker: Any) -> None:
    """Keep a worker alive: an unexpected crash is logged and the worker restarted."""
    while True:
        try:
            await worker()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker.crashed", worker=name)
            await asyncio.sleep(1.0)


async def stop_workers(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(
    settings: Settings | None = None, *, with_workers: bool = False, runtime: Runtime | None = None
) -> FastAPI:
    """Build the app; the runtime (engine, broker, blob store) is opened in the lifespan."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        heap.keep_freed_memory(settings.heap_keep_bytes)
        own = runtime is None
        rt = runtime or await open_pipeline(settings)
        app.state.runtime = rt
        app.state.settings = settings  # this app's, which tests may set apart from the runtime's
        for component in COMPONENTS:
            if component.startup is not None:
                await component.startup(app, rt)
        tasks = await run_workers(rt) if with_workers else []
        if settings.gc_freeze:
            tasks.append(asyncio.create_task(heap.freeze_after_warm_up(), name="gc-freeze"))
        try:
            yield
        finally:
            await stop_workers(tasks)
            for component in COMPONENTS:
                if component.shutdown is not None:
                    await component.shutdown(app)
            if own:
                await rt.close()

    app = FastAPI(
        title="eantrag",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        dependencies=[Depends(refuse_unknown_query_parameters)],
        docs_url=None,
        redoc_url=None,
    )
    _serve_docs(app)
    _problems_in_openapi(app)
    app.state.settings = settings
    app.add_middleware(MetricsMiddleware)
    allow_browser_portals(app, settings)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(ForwardedMiddleware, trusted=networks(settings.trusted_proxies))
    app.add_exception_handler(ProblemError, problem_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    database_errors: tuple[type[Exception], ...] = (DBAPIError, *OUTAGE_ERRORS)
    for error in database_errors:
        app.add_exception_handler(error, _database_error_handler)

    outage = problem_responses(503)
    for component in COMPONENTS:
        for routes in component.routes:
            app.include_router(routes.router, responses=outage if routes.uses_database else None)
    install_pages(app)  # the page layer: static assets, login redirects, 403 page

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: database, blob store, broker",
        responses={503: {"description": "A dependency is not reachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        for name, probe in (
            ("database", rt.db.ping),
            ("blobs", rt.blobs.ping),
            ("broker", rt.broker.ping),
        ):
            try:
                await asyncio.wait_for(probe(), timeout=5)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"failed: {exc!r}"[:300]
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def metrics() -> Response:
        return metrics_response()

    return app


def _problems_in_openapi(app: FastAPI) -> None:
    """Every error response of the document is `application/problem+json` with the Problem
    schema, as the handlers answer — also FastAPI's own 422, documented as plain JSON.

    `/readyz` keeps its own shape (the state of each dependency) for probes.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for path, operations in document["paths"].items():
            if path == "/readyz":
                continue
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if status[0] in "45":
                        response["content"] = {PROBLEM_MEDIA_TYPE: problem}
        schemas = document.get("components", {}).get("schemas", {})
        schemas.setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


STATIC = Path(__file__).parent / "static"
ASSETS = "/docs-assets"


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc from the package's own copies (`static/README.md`): nothing is
    loaded from a CDN or Google Fonts, so the pages work on an offline authority network and
    tell no third party who reads them."""
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")
    favicon = f"{ASSETS}/swagger-ui/favicon-32x32.png"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="eantrag – API",
            swagger_js_url=f"{ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=favicon,
            oauth2_redirect_url="/docs/oauth2-redirect",
            # no badge image from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="eantrag – API",
            redoc_js_url=f"{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )


RETRY_AFTER_SECONDS = 5


async def _database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot be reached (restarting, connection lost, pool exhausted) is a 503
    with Retry-After, so that clients retry instead of reporting a failure; nothing of the request
    was committed. Any other database error is a bug: a 500."""
    if not is_outage(exc):
        log.error("request.database_error", path=request.url.path, error=repr(exc))
        return JSONResponse(
            {
                "type": problem_type("internal_error"),
                "title": "Internal error",
                "status": 500,
                "detail": "an unexpected database error; it was logged",
                "code": "internal_error",
                "instance": request.url.path,
            },
            status_code=500,
            media_type=PROBLEM_MEDIA_TYPE,
        )
    log.warning("request.database_unavailable", path=request.url.path, error=repr(exc)[:300])
    return Unavailable(
        "the database is not reachable right now; nothing was stored — try again",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    ).to_response(instance=request.url.path)


async def _http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unknown path, wrong method) are problem+json like every other error."""
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {
            "type": problem_type(code),
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "code": code,
            "instance": request.url.path,
        },
        status_code=exc.status_code,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=getattr(exc, "headers", None),
    )


async def _request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    params = [
        {
            "name": "/".join(str(p) for p in err["loc"]),
            "reason": err["msg"],
            "code": f"request.{err['type']}",
        }
        for err in exc.errors()
    ]
    return JSONResponse(
        {
            "type": problem_type("invalid_request"),
            "title": "Invalid request",
            "status": 422,
            "detail": "the request's parameters are not valid",
            "code": "invalid_request",
            "instance": request.url.path,
            "invalid_params": params,
        },
        status_code=422,
        media_type=PROBLEM_MEDIA_TYPE,
    )
