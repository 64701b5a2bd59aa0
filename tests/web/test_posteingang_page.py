"""The Posteingang in a real browser: axe-clean, search and filters (with htmx and without),
"Mir zuweisen" on a selection; the screenshot for the README."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from eantrag.paths import project_root
from tests.casefile.support import file_case
from tests.routing.support import WOHNGELD
from tests.web.conftest import People, Site
from tests.web.support import DRESDEN_ID, Submitted, assert_accessible, log_in

if TYPE_CHECKING:
    from playwright.async_api import Page

DOCS = project_root() / "docs"
ROWS = "table[data-testid=posteingang] tbody tr"


async def seed(site: Site) -> None:
    """A few more of Dresden's cases, received over the last days, so the list has a shape."""
    now = datetime.now(UTC)
    for days, family, given, leika in (
        (1, "Krause", "Monika", WOHNGELD),
        (2, "Yılmaz", "Aylin", None),
        (4, "Schubert", "Jens", WOHNGELD),
        (6, "Lehmann", "Sabine", None),
    ):
        extra = {"leika": leika} if leika else {}
        await file_case(
            site.runtime,
            DRESDEN_ID,
            family_name=family,
            given_name=given,
            received_at=now - timedelta(days=days),
            **extra,  # type: ignore[arg-type]
        )


async def test_the_posteingang_is_accessible_and_lists_the_cases(
    site: Site, people: People, filed: dict[str, Submitted], page: Page
) -> None:
    await seed(site)
    await log_in(page, site.url, people.clerk_a)
    assert page.url == f"{site.url}/", "a clerk starts in the Posteingang"
    await page.get_by_role("heading", level=1, name="Posteingang").wait_for()
    assert await page.locator(ROWS).count() == 5
    first = await page.locator(ROWS).first.inner_text()
    assert filed["dresden"].file_reference in first, "newest first: the example just filed"
    leipzig = page.locator(f"a[href='/cases/{filed['leipzig'].case_id}']")
    assert await leipzig.count() == 0, "another authority's case is not listed"
    await assert_accessible(page)
    await page.screenshot(path=str(DOCS / "posteingang.png"), full_page=True)


async def test_search_filter_and_assign_a_selection(
    site: Site, people: People, filed: dict[str, Submitted], page: Page
) -> None:
    await seed(site)
    await log_in(page, site.url, people.clerk_a)

    await page.get_by_label("Suche", exact=True).fill("krau")
    await page.get_by_role("button", name="Anwenden").click()
    await page.wait_for_url(re.compile(r"suche=krau"))
    await page.wait_for_function(
        "() => document.querySelectorAll('table[data-testid=posteingang] tbody tr').length === 1"
    )
    assert "Krause" in await page.locator(ROWS).inner_text()
    await assert_accessible(page)

    await page.get_by_role("link", name="Filter zurücksetzen").click()
    await page.wait_for_url(f"{site.url}/")
    await page.get_by_label("Leistung").select_option(
        label="Wohngeld Mietzuschuss erstmalig oder neu beantragen"
    )
    await page.get_by_role("button", name="Anwenden").click()
    await page.wait_for_url(re.compile(r"dienst=99107023037000"))
    await page.wait_for_function(
        "() => document.querySelectorAll('table[data-testid=posteingang] tbody tr').length === 2"
    )
    names = await page.locator(ROWS).all_inner_texts()
    assert any("Krause" in n for n in names) and any("Schubert" in n for n in names), names

    for row in range(2):
        await page.locator(ROWS).nth(row).get_by_role("checkbox").check()
    await page.get_by_role("button", name="Auswahl mir zuweisen").click()
    await page.wait_for_url(re.compile(r"ergebnis="))
    notice = await page.get_by_role("status").first.inner_text()
    assert "2 Vorgänge wurden Ihnen zugewiesen." in notice, notice

    await page.get_by_role("link", name="Filter zurücksetzen").click()
    await page.get_by_label("mir zugewiesen").check()
    await page.get_by_role("button", name="Anwenden").click()
    await page.wait_for_url(re.compile(r"zuweisung=mir"))
    await page.wait_for_function(
        "() => document.querySelectorAll('table[data-testid=posteingang] tbody tr').length === 2"
    )
    assert all("Ihnen" in t for t in await page.locator(ROWS).all_inner_texts())
    await page.get_by_role("button", name=re.compile(r"^Freigeben\s*: ")).first.click()
    await page.wait_for_url(re.compile(r"ergebnis=released"))
    assert await page.locator(ROWS).count() == 1
    await assert_accessible(page)
