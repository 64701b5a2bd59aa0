"""Browser portals on other origins: an allow-list, nothing allowed by default."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from eantrag.settings import Settings


def allow_browser_portals(app: FastAPI, settings: Settings) -> None:
    """Answer preflights and mark responses for the origins of `EANTRAG_CORS_ORIGINS` only.
    No cookies cross origins: portals authenticate with bearer tokens."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        expose_headers=[
            "Location",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ],
        max_age=600,
    )
