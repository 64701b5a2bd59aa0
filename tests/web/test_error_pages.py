"""Errors: pages for a person's browser (German, in the layout), problems for programs."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx

from tests.web.conftest import People, Site
from tests.web.support import Submitted, assert_accessible, log_in, person_client

if TYPE_CHECKING:
    from playwright.async_api import Page

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_an_unknown_page_is_the_german_404_page_and_the_api_keeps_problems(
    site: Site, people: People
) -> None:
    async with person_client(site.url, people.clerk_a) as client:
        page = await client.get("/gibt-es-nicht", headers=BROWSER)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert '<h1 class="kern-heading-large">Nicht gefunden</h1>' in page.text
        assert people.clerk_a.name in page.text, "the error page keeps the layout's header"

        for path, headers in (
            ("/gibt-es-nicht", {"accept": "application/json"}),
            ("/v1/gibt-es-nicht", BROWSER),
        ):
            problem = await client.get(path, headers=headers)
            assert problem.status_code == 404
            assert problem.headers["content-type"] == "application/problem+json"
            assert problem.json()["code"] == "not_found"


async def test_a_bad_query_on_a_page_is_a_400_page(site: Site, people: People) -> None:
    async with person_client(site.url, people.clerk_a) as client:
        page = await client.get("/konto?unbekannt=1", headers=BROWSER)
        assert page.status_code in (400, 422)
        assert "Ungültige Anfrage" in page.text and "text/html" in page.headers["content-type"]


async def test_not_logged_in_a_page_sends_to_the_login_and_back(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as client:
        response = await client.get("/konto", headers=BROWSER)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fkonto"


async def test_the_404_page_in_the_browser_is_accessible(
    site: Site, people: People, page: Page
) -> None:
    await log_in(page, site.url, people.triage)
    response = await page.goto(f"{site.url}/gibt-es-nicht")
    assert response is not None and response.status == 404
    await page.get_by_role("heading", level=1, name="Nicht gefunden").wait_for()
    await assert_accessible(page)


async def test_a_guessed_case_url_of_another_authority_is_the_404_page(
    site: Site, people: People, filed: dict[str, Submitted], page: Page
) -> None:
    """Clerk B (Leipzig) and the triage clerk open Dresden's case by its URL: the same 404 page
    as for an id that does not exist; clerk A (Dresden) gets the case."""
    dresden = f"{site.url}/cases/{filed['dresden'].case_id}"
    unknown = f"{site.url}/cases/{uuid.uuid4()}"
    await log_in(page, site.url, people.clerk_b)
    for url in (dresden, unknown):
        response = await page.goto(url)
        assert response is not None and response.status == 404, url
        await page.get_by_role("heading", level=1, name="Nicht gefunden").wait_for()
        text = await page.locator("main").inner_text()
        assert filed["dresden"].file_reference not in text
    await assert_accessible(page)

    async with person_client(site.url, people.clerk_a) as client:
        own = await client.get(f"/cases/{filed['dresden'].case_id}", headers=BROWSER)
        assert own.status_code == 200 and (filed["dresden"].file_reference or "?") in own.text
    async with person_client(site.url, people.triage) as client:
        other_role = await client.get(f"/cases/{filed['dresden'].case_id}", headers=BROWSER)
        assert other_role.status_code in (403, 404)
        assert (filed["dresden"].file_reference or "?") not in other_role.text
