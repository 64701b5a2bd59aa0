"""The browser-test harness: a live eantrag, people who log in, filed cases, headless Chromium.

- `site`: the app with its workers, served by uvicorn on a free local port in the test's event
  loop, on the embedded default (own data directory) and on PostgreSQL (own database) through
  the `database_url` parameter of tests/conftest.py; the example directory of Saxony imported.
- `api`: an httpx client of that server with a portal's token on every submission.
- `people`: a clerk of Dresden (A), a clerk of Leipzig (B), a triage clerk and an archivist.
- `filed`: hundeanmeldung.json (Dresden) and wohngeld.json (Leipzig) through the real intake,
  filed by the workers; `unroutable`: a hundeanmeldung from an ARS the directory does not know,
  on the triage desk.
- `browser` / `page`: Debian's Chromium through Playwright (async API, the same loop as the
  server); `log_in(page, site.url, account)` and `assert_accessible(page)` in tests/web/support.py.

Without Chromium or Playwright the tests skip with a hint; under CI=true they fail.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

from bootstrap.app import create_app
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.conftest import need_service
from tests.identity.people.support import live_server
from tests.identity.support import as_portal
from tests.routing.support import import_example
from tests.web.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    UNKNOWN_ARS,
    Account,
    Submitted,
    make_account,
    submit_and_settle,
    wait_for_triage,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path(os.environ.get("EANTRAG_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass(frozen=True)
class Site:
    """The live server: its base URL and the runtime behind it (for seeding and checks)."""

    url: str
    runtime: Runtime
    settings: Settings
    app: FastAPI


@dataclass(frozen=True)
class People:
    clerk_a: Account  # Stadt Dresden
    clerk_b: Account  # Stadt Leipzig
    triage: Account
    archivist: Account  # the archive of Stadt Dresden's records


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium and Playwright for Python, or a skip (a failure under CI=true)."""
    if importlib.util.find_spec("playwright") is None:
        need_service("Playwright for Python", "install the dev extras: pip install -e '.[dev]'")
    if not CHROMIUM.is_file():
        need_service(f"Chromium at {CHROMIUM}", "install it with: apt-get install chromium")
    return CHROMIUM


@pytest.fixture
async def site(runtime: Runtime, settings: Settings) -> AsyncIterator[Site]:
    await import_example(runtime.db)
    app = create_app(settings, with_workers=True, runtime=runtime)
    async with live_server(app) as url:
        yield Site(url, runtime, settings, app)


@pytest.fixture
async def api(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        yield await as_portal(client, site.runtime.db)


@pytest.fixture
async def people(site: Site) -> People:
    db = site.runtime.db
    return People(
        clerk_a=await make_account(db, "clerk", DRESDEN_ID, name="Anna Dresden"),
        clerk_b=await make_account(db, "clerk", LEIPZIG_ID, name="Bernd Leipzig"),
        triage=await make_account(db, "triage", name="Tilo Klärstelle"),
        archivist=await make_account(db, "archivist", DRESDEN_ID, name="Alma Archiv"),
    )


@pytest.fixture
async def filed(site: Site, api: httpx.AsyncClient) -> dict[str, Submitted]:
    """One filed case per clerk: `dresden` (Hundeanmeldung) and `leipzig` (Wohngeld)."""
    dresden = await submit_and_settle(api, site.runtime.db, "hundeanmeldung.json")
    leipzig = await submit_and_settle(api, site.runtime.db, "wohngeld.json")
    assert (dresden.status, dresden.authority_id) == ("filed", DRESDEN_ID), dresden
    assert (leipzig.status, leipzig.authority_id) == ("filed", LEIPZIG_ID), leipzig
    return {"dresden": dresden, "leipzig": leipzig}


@pytest.fixture
async def unroutable(site: Site, api: httpx.AsyncClient) -> Submitted:
    """A Hundeanmeldung from München: no authority of the directory, so it waits for triage."""
    waiting = await submit_and_settle(api, site.runtime.db, "hundeanmeldung.json", ars=UNKNOWN_ARS)
    assert waiting.status == "unroutable", waiting
    await wait_for_triage(site.runtime.db, waiting.application_id)
    return waiting


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) in German, with one page."""
    context = await browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()
