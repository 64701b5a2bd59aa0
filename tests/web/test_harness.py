"""The harness itself: the login form in a real browser, the people, the filed examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.web.conftest import People, Site
from tests.web.support import Submitted, assert_accessible, axe_violations, log_in

if TYPE_CHECKING:
    from playwright.async_api import Page


async def test_a_clerk_logs_in_through_the_form_and_sees_who_they_are(
    site: Site, people: People, page: Page
) -> None:
    await page.goto(f"{site.url}/login")
    await assert_accessible(page)
    await log_in(page, site.url, people.clerk_a, next_url="/konto")
    header = page.get_by_test_id("person")
    await header.wait_for()
    text = await header.inner_text()
    assert people.clerk_a.name in text and "Dresden" in text, text
    await assert_accessible(page)


async def test_axe_finds_what_is_wrong(site: Site, page: Page) -> None:
    """The check can fail: an image without alternative text and an unlabelled field."""
    await page.goto(f"{site.url}/login")
    await page.evaluate(
        """() => {
            const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend',
                '<img src="/static/none.png"><input type="text" name="nameless">');
        }"""
    )
    found = {v["id"] for v in await axe_violations(page)}
    assert {"image-alt", "label"} <= found, found


async def test_the_examples_are_filed_and_one_waits_for_triage(
    filed: dict[str, Submitted], unroutable: Submitted
) -> None:
    assert filed["dresden"].case_id and filed["leipzig"].case_id
    assert filed["dresden"].file_reference
    assert unroutable.case_id is None
