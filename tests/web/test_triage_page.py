"""Klärfälle at /triage: the triage clerk reads why, picks the authority, and the application is
filed there; nobody else may open the desk; bad forms change nothing."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import httpx

from tests.identity.people.support import form_token
from tests.web.conftest import People, Site
from tests.web.support import (
    DRESDEN_ID,
    Submitted,
    assert_accessible,
    log_in,
    person_client,
    wait_until_settled,
)

if TYPE_CHECKING:
    from playwright.async_api import Page

BROWSER = {"accept": "text/html"}


async def test_the_triage_clerk_assigns_a_klaerfall_in_the_browser(
    site: Site, people: People, unroutable: Submitted, api: httpx.AsyncClient, page: Page
) -> None:
    await log_in(page, site.url, people.triage, next_url="/triage")
    assert page.url.endswith("/triage")
    await page.get_by_role("heading", level=1, name="Klärfälle").wait_for()
    body = await page.locator("main").inner_text()
    assert unroutable.application_id in body
    assert "Für den Amtlichen Regionalschlüssel 091620000000" in body, body
    assert "Hundesteuer" in body or "Hund" in body
    await assert_accessible(page)

    await page.get_by_label("Name oder Kennung der Behörde").fill("dresden stadt")
    await page.get_by_role("button", name="Suchen").click()
    await page.wait_for_url(re.compile(r"suche="))
    assert "1 Behörde passt" in await page.locator("main").inner_text()
    choice = page.get_by_label("Zuständige Behörde für diesen Antrag")
    assert await choice.input_value() == DRESDEN_ID, "the one match is chosen"
    await assert_accessible(page)

    await page.get_by_role("button", name=re.compile("^Zuweisen und ablegen")).click()
    await page.wait_for_url(re.compile(r"zugewiesen="))
    result = await page.get_by_role("status").first.inner_text()
    assert "Zugewiesen und abgelegt" in result and "Dresden" in result, result
    assert "Es warten keine Klärfälle." in await page.locator("main").inner_text()
    await assert_accessible(page)

    state = await wait_until_settled(api, unroutable.status_url, until={"filed"})
    assert state["fileReference"] in result, "the citizen's status names the same Aktenzeichen"


async def test_a_clerk_gets_the_403_page_for_the_triage_desk(
    site: Site, people: People, page: Page
) -> None:
    await log_in(page, site.url, people.clerk_a)
    response = await page.goto(f"{site.url}/triage")
    assert response is not None and response.status == 403
    await page.get_by_role("heading", level=1, name="Keine Berechtigung").wait_for()
    await assert_accessible(page)


async def test_the_assignment_form_refuses_what_is_wrong_and_changes_nothing(
    site: Site, people: People, unroutable: Submitted
) -> None:
    url = f"/triage/{unroutable.application_id}/zuweisen"
    async with person_client(site.url, people.triage) as client:
        desk = await client.get("/triage", headers=BROWSER)
        assert desk.status_code == 200
        token = form_token(desk.text, url)

        forged = await client.post(url, data={"behoerde": DRESDEN_ID}, headers=BROWSER)
        assert forged.status_code == 403 and "Anfrage abgelehnt" in forged.text

        empty = await client.post(url, data={"csrf_token": token, "behoerde": ""}, headers=BROWSER)
        assert empty.status_code == 400
        assert "Bitte wählen Sie die zuständige Behörde." in empty.text
        assert 'aria-invalid="true"' in empty.text

        unknown = await client.post(
            url, data={"csrf_token": token, "behoerde": "amt-gibt-es-nicht"}, headers=BROWSER
        )
        assert unknown.status_code == 422
        assert "steht nicht im Behördenverzeichnis" in unknown.text

        missing = await client.post(
            f"/triage/{uuid.uuid4()}/zuweisen",
            data={"csrf_token": token, "behoerde": DRESDEN_ID},
            headers=BROWSER,
        )
        assert missing.status_code == 404 and "Nicht gefunden" in missing.text

        still = await client.get("/triage", headers=BROWSER)
        assert unroutable.application_id in still.text, "nothing was assigned"

        done = await client.post(url, data={"csrf_token": token, "behoerde": DRESDEN_ID})
        assert done.status_code == 303
        assert done.headers["location"] == f"/triage?zugewiesen={unroutable.application_id}"
        shown = await client.get(done.headers["location"], headers=BROWSER)
        assert "Zugewiesen und abgelegt" in shown.text

        again = await client.post(
            url, data={"csrf_token": token, "behoerde": DRESDEN_ID}, headers=BROWSER
        )
        assert again.status_code == 409 and "inzwischen" in again.text


async def test_not_logged_in_the_desk_sends_to_the_login(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as client:
        response = await client.get("/triage", headers=BROWSER)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Ftriage"
        posted = await client.post(
            f"/triage/{uuid.uuid4()}/zuweisen", data={"behoerde": DRESDEN_ID}, headers=BROWSER
        )
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
