"""A real browser (headless Chromium) opens the status URL: content negotiation gives it the
page."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from bootstrap.app import create_app
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.conftest import free_port
from tests.citizen.support import submit
from tests.conftest import need_service


@pytest.fixture
async def served(runtime: Runtime, settings: Settings) -> AsyncIterator[str]:
    """The API on a real local port (uvicorn), so that a browser can reach it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, runtime=runtime),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_chromium_gets_the_status_page(
    served: str, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        need_service("Chromium", "install it with: apt-get install chromium")
        return
    receipt = await submit(client)
    url = httpx.URL(receipt["statusUrl"])
    target = f"{served}{url.path}?{url.query.decode()}"
    process = await asyncio.create_subprocess_exec(
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        # The browser reaches nothing but the test server.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--dump-dom",
        target,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    dom = out.decode()
    assert '<html lang="de">' in dom, dom[:500]
    assert "<h1>Ihr Antrag: Hundesteuer – Anmeldung eines Hundes</h1>" in dom
    assert "Antrag eingegangen" in dom and receipt["applicationId"] in dom
