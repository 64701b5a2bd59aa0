"""Fixtures of the identity tests: API clients of apps with some settings changed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bootstrap.app import create_app
from eantrag.runtime import Runtime
from eantrag.settings import Settings

AppClient = Callable[..., Any]


@pytest.fixture
def app_client(runtime: Runtime, settings: Settings) -> AppClient:
    """`async with app_client(**settings changes) as api`: no token attached."""

    @asynccontextmanager
    async def make(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        changed = settings.model_copy(update=changes)
        app = create_app(changed, runtime=runtime)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c

    return make


@pytest.fixture
async def api(app_client: AppClient) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client() as client:
        yield client
