"""Aussonderung at /archive: the archivist of Dresden offers, reads the appraisal, exports and
reads the confirmation in the browser; nobody else may, and bad uploads change nothing."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from archive.messages import read_message_bytes, read_object_list
from archive.package import verify_package
from archive.schema import SchemaCheck
from casefile import repository, service
from eantrag.settings import Settings
from tests.archive.support import appraisal_message, import_confirmation
from tests.conftest import shared_dir
from tests.identity.people.support import form_token
from tests.web.conftest import People, Site
from tests.web.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    Submitted,
    assert_accessible,
    log_in,
    make_account,
    person_client,
)

if TYPE_CHECKING:
    from playwright.async_api import Page

AS_OF = "2100-01-01"
BROWSER = {"accept": "text/html"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The installation knows the official xdomea schemas: every message is checked."""
    return settings.model_copy(update={"xdomea_schema_dir": shared_dir("xdomea")})


async def close(site: Site, case: Submitted) -> None:
    """The clerk's work, done: in progress, decided, closed (zdA)."""
    assert case.case_id and case.authority_id
    async with site.runtime.db.transaction() as session:
        row = await repository.case(session, case.authority_id, uuid.UUID(case.case_id), lock=True)
        assert row is not None
        for step, outcome in (("in_progress", None), ("decided", "granted"), ("closed", None)):
            await service.transition(
                session, site.runtime.blobs, row, to=step, actor="clerk:test", outcome=outcome
            )


def outbox(site: Site, authority_id: str = DRESDEN_ID) -> Path:
    return site.settings.data_dir / "aussonderung" / authority_id


async def test_the_archivist_takes_a_closed_case_through_the_aussonderung(
    site: Site, people: People, filed: dict[str, Submitted], page: Page, tmp_path: Path
) -> None:
    await close(site, filed["dresden"])
    await close(site, filed["leipzig"])
    schema = SchemaCheck(shared_dir("xdomea"))
    reference = filed["dresden"].file_reference
    assert reference

    await log_in(page, site.url, people.archivist, next_url=f"/archive?stichtag={AS_OF}")
    main = page.locator("main")
    await page.get_by_role("heading", level=1, name="Aussonderung").wait_for()
    text = await main.inner_text()
    assert reference in text and "1 Akte ist fällig" in text, text
    assert filed["leipzig"].file_reference not in text, "only the own authority's cases"
    await assert_accessible(page)

    await page.get_by_role("button", name="Fällige Akten anbieten").click()
    await page.wait_for_url(re.compile(r"erledigt=angeboten"))
    assert "Die Anbietungsliste (0501) ist erstellt" in await main.inner_text()
    await assert_accessible(page)
    async with page.expect_download() as event:
        await page.get_by_role(
            "link", name=re.compile(r"Anbietungsliste \(0501\) herunterladen")
        ).click()
    download = await event.value
    offered = tmp_path / download.suggested_filename
    await download.save_as(offered)
    offer = read_object_list(read_message_bytes(offered), schema)
    [akte] = offer.akten
    assert akte.kennzeichen == reference

    appraisal = tmp_path / "0502.xml"
    appraisal.write_bytes(appraisal_message(offer.head.process_id, {akte.id: "A"}))
    await page.get_by_label("Bewertung (0502), XML oder ZIP").set_input_files(appraisal)
    await page.get_by_role("button", name="Bewertung einlesen").click()
    await page.wait_for_url(re.compile(r"erledigt=bewertet"))
    assert "Empfangsbestätigung" in await page.get_by_role("status").first.inner_text()

    await page.goto(f"{site.url}/archive?stichtag={AS_OF}")
    await page.get_by_role("button", name="Abgabe erstellen").click()
    await page.wait_for_url(re.compile(r"erledigt=abgegeben"))
    assert "Abgabepakete (0503)" in await page.get_by_role("status").first.inner_text()
    await assert_accessible(page)
    async with page.expect_download() as event:
        await page.get_by_role(
            "link", name=re.compile(r"Abgabepaket \(0503\) herunterladen")
        ).click()
    download = await event.value
    package = tmp_path / download.suggested_filename
    await download.save_as(package)
    assert package.name.startswith(str(offer.head.process_id))
    assert verify_package(package, schema).ok

    confirmation = tmp_path / "0506.xml"
    confirmation.write_bytes(import_confirmation(offer.head.process_id, {akte.id: "el_sta/1"}))
    await page.get_by_label("Übernahmebestätigung (0506), XML oder ZIP").set_input_files(
        confirmation
    )
    await page.get_by_label(re.compile("dürfen aus der E-Akte gelöscht werden")).check()
    await page.get_by_role("button", name="Bestätigung einlesen").click()
    await page.wait_for_url(re.compile(r"erledigt=bestaetigt"))
    text = await main.inner_text()
    assert "1 vom Archiv übernommen" in text and "abgeschlossen" in text, text
    await assert_accessible(page)
    async with site.runtime.db.sessionmaker() as session:
        stub = await repository.case(
            session, DRESDEN_ID, uuid.UUID(filed["dresden"].case_id or ""), with_documents=True
        )
    assert stub is not None and stub.status == "archived", "only a stub of the case is left"
    assert stub.record == {} and stub.documents == []


async def test_a_clerk_gets_the_403_page_for_the_aussonderung(
    site: Site, people: People, page: Page
) -> None:
    await log_in(page, site.url, people.clerk_a)
    response = await page.goto(f"{site.url}/archive")
    assert response is not None and response.status == 403
    await page.get_by_role("heading", level=1, name="Keine Berechtigung").wait_for()
    await assert_accessible(page)


async def test_the_forms_refuse_what_is_wrong_and_another_authority_stays_out(
    site: Site, people: People, filed: dict[str, Submitted], tmp_path: Path
) -> None:
    await close(site, filed["dresden"])
    leipzig = await make_account(site.runtime.db, "archivist", LEIPZIG_ID)
    async with person_client(site.url, people.archivist) as client:
        page = await client.get(f"/archive?stichtag={AS_OF}", headers=BROWSER)
        assert page.status_code == 200
        token = form_token(page.text, "/archive/anbieten")

        bad_day = await client.get("/archive?stichtag=morgen", headers=BROWSER)
        assert bad_day.status_code == 400 and "Der Stichtag ist kein Datum" in bad_day.text

        forged = await client.post("/archive/anbieten", data={"stichtag": AS_OF}, headers=BROWSER)
        assert forged.status_code == 403
        assert not outbox(site).exists() or not list(outbox(site).iterdir()), "nothing written"

        no_file = await client.post(
            "/archive/bewertung", data={"csrf_token": token}, headers=BROWSER
        )
        assert no_file.status_code == 400 and "Bitte wählen Sie die Datei" in no_file.text

        garbage = await client.post(
            "/archive/bewertung",
            data={"csrf_token": token},
            files={"datei": ("0502.xml", b"<kein-xdomea/>", "application/xml")},
            headers=BROWSER,
        )
        assert garbage.status_code == 422 and "es wurde nichts geändert" in garbage.text

        offered = await client.post(
            "/archive/anbieten", data={"csrf_token": token, "stichtag": AS_OF}
        )
        assert offered.status_code == 303 and "erledigt=angeboten" in offered.headers["location"]
        [message] = list(outbox(site).iterdir())
        process_id = uuid.UUID(message.name.split("_", 1)[0])

        unconfirmed = await client.post(
            "/archive/bestaetigung",
            data={"csrf_token": token},
            files={"datei": ("0506.xml", import_confirmation(process_id, {}), "application/xml")},
            headers=BROWSER,
        )
        assert unconfirmed.status_code == 400 and "Bitte bestätigen Sie" in unconfirmed.text

        sneaky = await client.get("/archive/nachrichten/..%2F..%2Feantrag.db", headers=BROWSER)
        assert sneaky.status_code == 404

    akte_id = read_object_list(read_message_bytes(message)).akten[0].id
    async with person_client(site.url, leipzig) as client:
        page = await client.get("/archive", headers=BROWSER)
        token = form_token(page.text, "/archive/bewertung")
        foreign = await client.post(
            "/archive/bewertung",
            data={"csrf_token": token},
            files={
                "datei": (
                    "0502.xml",
                    appraisal_message(process_id, {akte_id: "V"}),
                    "application/xml",
                )
            },
            headers=BROWSER,
        )
        assert foreign.status_code == 422
        assert "keinem Aussonderungsprozess Ihrer Behörde" in foreign.text
        download = await client.get(f"/archive/nachrichten/{message.name}", headers=BROWSER)
        assert download.status_code == 404, "Dresden's messages are not Leipzig's"

    async with person_client(site.url, people.archivist) as client:
        mine = await client.get(f"/archive/nachrichten/{message.name}")
        assert mine.status_code == 200 and mine.content[:2] == b"PK"
        state = await client.get("/archive", headers=BROWSER)
        assert "angeboten (wartet auf die Bewertung)" in state.text, "the appraisal was refused"
