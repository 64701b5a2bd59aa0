"""The Vorgang in a real browser: axe-clean, keyboard only from the login to a closed case,
and nothing of another authority's case for a clerk who guesses its URL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from eantrag.paths import project_root
from tests.web.conftest import People, Site
from tests.web.support import Submitted, assert_accessible, log_in

if TYPE_CHECKING:
    from playwright.async_api import Page

DOCS = project_root() / "docs"
FOCUSED = """() => {
    const e = document.activeElement;
    if (!e) return "";
    return (e.getAttribute('aria-label') || e.labels?.[0]?.innerText || e.innerText || e.value
            || '').trim();
}"""


async def tab_to(page: Page, name: str | re.Pattern[str], limit: int = 150) -> None:
    """Press Tab until the focused element is called `name`, and check that the focus shows."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        text = await page.evaluate(FOCUSED)
        if name.search(text) if isinstance(name, re.Pattern) else text == name:
            outline = await page.evaluate(
                "() => getComputedStyle(document.activeElement).outlineStyle"
            )
            assert outline != "none", f"{name!r} has focus but shows no outline"
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key")


async def status(page: Page) -> str:
    return (await page.get_by_test_id("status").inner_text()).strip()


async def test_the_vorgang_is_accessible_with_its_preview(
    site: Site, people: People, filed: dict[str, Submitted], page: Page
) -> None:
    dresden = filed["dresden"]
    await log_in(page, site.url, people.clerk_a)
    await page.get_by_role("link", name=dresden.file_reference or "").click()
    await page.wait_for_url(f"{site.url}/cases/{dresden.case_id}")
    heading = page.get_by_role("heading", level=1)
    assert (await heading.inner_text()).strip() == dresden.file_reference
    main = await page.locator("main").inner_text()
    assert "Richter" in main and "Thomas" in main
    assert "nachrichtenkopf" not in main and "listURI" not in main
    assert re.search(r"\b\d{2}\.\d{2}\.\d{4}\b", main), "dates as 23.11.1979"
    await assert_accessible(page)
    await page.screenshot(
        path=str(DOCS / "vorgang.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 1800},
    )

    await page.get_by_role(
        "link", name=re.compile(r"^Ansehen\s*: Antrag \(Lesefassung, HTML\)")
    ).click()
    frame = page.frame_locator("iframe[title^='Vorschau']")
    await frame.locator("body").wait_for()
    assert "Richter" in await frame.locator("body").inner_text()
    await assert_accessible(page)

    await page.get_by_role("link", name=re.compile(r"^Ansehen\s*: Antrag \(Original")).click()
    preview = page.get_by_test_id("xml-vorschau")
    await preview.wait_for()
    assert '"familienname": "Richter"' in await preview.inner_text()
    await assert_accessible(page)


async def test_keyboard_only_from_the_login_to_a_closed_case(
    site: Site, people: People, filed: dict[str, Submitted], page: Page
) -> None:
    dresden = filed["dresden"]
    await page.goto(f"{site.url}/login")
    await page.keyboard.type(people.clerk_a.username)  # the field has the focus (autofocus)
    await page.keyboard.press("Tab")
    await page.keyboard.type(people.clerk_a.password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == f"{site.url}/"
    await page.keyboard.press("Tab")
    assert await page.evaluate(FOCUSED) == "Zum Inhalt springen", "the skip link comes first"

    await tab_to(page, dresden.file_reference or "")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith(f"/cases/{dresden.case_id}")

    await tab_to(page, "In Bearbeitung nehmen")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await status(page) == "In Bearbeitung"

    await tab_to(page, "bewilligt")
    await page.keyboard.press("Space")
    await tab_to(page, "Entscheiden")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await status(page) == "Entschieden – bewilligt"
    assert "Bescheid (Bewilligung)" in await page.locator("main").inner_text()

    await tab_to(page, "Abschließen (zdA)")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await status(page) == "Abgeschlossen (zdA) – bewilligt"
    history = await page.get_by_test_id("historie").inner_text()
    assert people.clerk_a.name in history
    await assert_accessible(page)


async def test_a_clerk_cannot_open_another_authority_s_case_by_its_url(
    site: Site, people: People, filed: dict[str, Submitted], page: Page
) -> None:
    leipzig = filed["leipzig"]
    await log_in(page, site.url, people.clerk_a)
    response = await page.goto(f"{site.url}/cases/{leipzig.case_id}")
    assert response is not None and response.status == 404
    main = await page.locator("main").inner_text()
    assert "Nicht gefunden" in main
    assert (leipzig.file_reference or "?") not in main and "Leipzig" not in main
    document = await page.goto(f"{site.url}/cases/{leipzig.case_id}/documents/{leipzig.case_id}")
    assert document is not None and document.status == 404
    await assert_accessible(page)
