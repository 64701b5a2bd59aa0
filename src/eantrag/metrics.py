"""Prometheus metrics; definitions are module-level, values live in the default registry."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "eantrag_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "eantrag_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
VALIDATION_FAILURES = Counter(
    "eantrag_validation_failures_total",
    "Rejected applications by form and reason code",
    ["form", "reason"],
)
APPLICATIONS_ACCEPTED = Counter(
    "eantrag_applications_accepted_total", "Accepted applications by form", ["form"]
)
MESSAGES_HANDLED = Counter(
    "eantrag_messages_handled_total", "Consumed messages by queue and outcome", ["queue", "outcome"]
)
GROUP_SIZE = Histogram(
    "eantrag_transaction_group_size",
    "Units of work committed together in one transaction: requests of the intake's group "
    "commit, messages of a grouped consumer. Groups of 1 under load mean no batching.",
    ["committer"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


class MetricsMiddleware:
    """Counts and times every request under its route template, not its raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_template(scope)
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - start)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/v1/cases/{case_id}`), `unmatched` if none.

    FastAPI's own routes put themselves into the scope; Starlette's (`/openapi.json`, `/docs`,
    mounted files) do not, so those are looked up.
    """
    route: Any = scope.get("route")
    if route is not None:
        return str(route.path)
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return "unmatched"
    app: Any = scope.get("app")
    for candidate in getattr(app, "routes", ()):
        if isinstance(candidate, Mount) and candidate.app is endpoint:
            return str(candidate.path) + "/{path}"
        if getattr(candidate, "endpoint", None) is endpoint:
            return str(candidate.path)
    return "unmatched"


def serve_metrics(host: str, port: int) -> None:
    """Serve `/metrics` from a background thread (for worker processes, which have no API)."""
    start_http_server(port, addr=host)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
