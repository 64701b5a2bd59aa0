"""The Vorgang page: the readable application, documents, notes, history, the steps as forms,
and nothing at all of another authority's case."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eantrag.paths import project_root
from eantrag.runtime import Runtime
from tests.casefile.support import authority_message, file_case, file_directly
from tests.identity.people.support import DRESDEN_ID, LEIPZIG_ID, form_token, login, make_user

pytestmark = pytest.mark.usefixtures("directory")
EXAMPLE = project_root() / "examples" / "hundeanmeldung.json"


async def dog_case(runtime: Runtime, authority_id: str = DRESDEN_ID, attachments: int = 0):  # type: ignore[no-untyped-def]
    body = await authority_message(runtime.blobs, authority_id, attachments=attachments)
    record = json.loads(EXAMPLE.read_text())
    record.pop("$schema", None)
    body["record"] = record
    return await file_directly(runtime, body)


async def clerk(client: httpx.AsyncClient, runtime: Runtime, username: str = "anna") -> None:
    await make_user(runtime.db, username, name="Anna Beispiel")
    assert (await login(client, username)).status_code == 303


def status(html: str) -> str:
    found = re.search(r'data-testid="status">([^<]+)<', html)
    assert found
    return found.group(1).strip()


async def test_the_application_reads_as_a_german_form(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    case = await dog_case(runtime)
    await clerk(client, runtime)
    page = await client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'data-testid="aktenzeichen">[^<]+-\d{4}-1<', html)
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", html)  # dates the German way
    for technical in ("nachrichtenkopf", "listURI", "nachrichtenUUID", "produkthersteller"):
        assert technical not in html
    assert "Halter" in html
    assert status(html) == "Eingegangen"
    assert "In Bearbeitung nehmen" in html and "Abschließen (zdA)" not in html
    assert "Eingang abgelegt" in html  # the history's first entry


async def test_a_case_walks_from_filed_to_closed_and_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    case = await dog_case(runtime)
    await clerk(client, runtime)
    url = f"/cases/{case.id}"
    token = form_token((await client.get(url)).text, f"{url}/transition")

    async def step(expect: int = 303, **data: str) -> httpx.Response:
        response = await client.post(f"{url}/transition", data={"csrf_token": token, **data})
        assert response.status_code == expect, response.text
        return response

    moved = await step(ziel="in_progress", von="filed")
    shown = await client.get(moved.headers["location"])
    assert status(shown.text) == "In Bearbeitung"
    assert "Der Vorgang ist in Bearbeitung." in shown.text

    refused = await step(422, ziel="decided", ergebnis="refused", bescheid_art="erzeugen")
    assert "braucht eine Begründung" in refused.text
    assert status(refused.text) == "In Bearbeitung"  # nothing changed
    nothing = await step(422, ziel="decided", bescheid_art="erzeugen")
    assert "bewilligt oder abgelehnt" in nothing.text
    no_file = await step(422, ziel="decided", ergebnis="granted", bescheid_art="hochladen")
    assert "Datei des Bescheids" in no_file.text

    await step(ziel="decided", ergebnis="granted", bescheid_art="erzeugen")
    decided = (await client.get(url)).text
    assert status(decided) == "Entschieden – bewilligt"
    assert "Bescheid (Bewilligung)" in decided
    wrong = await step(409, ziel="decided", ergebnis="granted")
    assert "nicht möglich" in wrong.text

    await step(ziel="closed")
    closed = await client.get(url)
    assert status(closed.text) == "Abgeschlossen (zdA) – bewilligt"
    assert "Wieder aufnehmen" in closed.text
    reopened = await step(ziel="in_progress", von="closed")
    assert reopened.headers["location"].startswith(f"{url}?erledigt=reopened")
    history = (await client.get(url)).text
    assert status(history).startswith("In Bearbeitung")
    assert history.count("Anna Beispiel") >= 5  # every step names the person


async def test_decide_with_an_uploaded_bescheid(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    case = await dog_case(runtime)
    await clerk(client, runtime)
    url = f"/cases/{case.id}"
    token = form_token((await client.get(url)).text, f"{url}/transition")
    await client.post(f"{url}/transition", data={"csrf_token": token, "ziel": "in_progress"})
    pdf = b"%PDF-1.7\n% unterschriebener Bescheid\n"
    done = await client.post(
        f"{url}/transition",
        data={
            "csrf_token": token,
            "ziel": "decided",
            "ergebnis": "refused",
            "bescheid_art": "hochladen",
        },
        files={"bescheid": ("ablehnung-unterschrieben.pdf", pdf, "application/pdf")},
    )
    assert done.status_code == 303
    page = (await client.get(url)).text
    assert status(page) == "Entschieden – abgelehnt"
    assert "ablehnung-unterschrieben.pdf" in page
    link = re.search(
        r'href="(/cases/[^"]+/documents/([0-9a-f-]{36}))" download>Herunterladen'
        r'<span class="kern-sr-only">: ablehnung-unterschrieben.pdf',
        page,
    )
    assert link
    download = await client.get(link.group(1))
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["content-disposition"].startswith("attachment")


async def test_notes_documents_and_previews(client: httpx.AsyncClient, runtime: Runtime) -> None:
    case = await dog_case(runtime, attachments=1)
    await clerk(client, runtime)
    url = f"/cases/{case.id}"
    page = (await client.get(url)).text
    token = form_token(page, f"{url}/notes")
    empty = await client.post(f"{url}/notes", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 422 and "Bitte schreiben Sie eine Notiz." in empty.text
    saved = await client.post(
        f"{url}/notes", data={"csrf_token": token, "text": "Impfpass liegt vor <b>ok</b>"}
    )
    assert saved.status_code == 303
    page = (await client.get(saved.headers["location"])).text
    assert "Die Notiz ist gespeichert." in page
    assert "Impfpass liegt vor &lt;b&gt;ok&lt;/b&gt;" in page  # escaped, never markup

    ids = dict(
        (title, doc_id)
        for doc_id, title in re.findall(
            r'\?dokument=([0-9a-f-]{36})#vorschau"[^>]*>Ansehen'
            r'<span class="kern-sr-only">: ([^<]+)<',
            page,
            flags=re.DOTALL,
        )
    )
    original = ids["Antrag (Original, wie eingegangen)"]
    xml = await client.get(url, params={"dokument": original})
    assert 'data-testid="xml-vorschau"' in xml.text
    assert "&lt;antrag id=" in xml.text  # pretty-printed XML, escaped into the page

    rendering = ids["Antrag (Lesefassung, HTML)"]
    html = await client.get(url, params={"dokument": rendering})
    assert f'src="{url}/documents/{rendering}/inline"' in html.text and 'sandbox=""' in html.text
    inline = await client.get(f"{url}/documents/{rendering}/inline")
    assert inline.status_code == 200
    assert inline.headers["content-disposition"].startswith("inline")
    assert inline.headers["content-security-policy"].startswith("sandbox")
    assert inline.headers["x-frame-options"] == "SAMEORIGIN"

    pdf = ids["anlage-0.pdf"]
    preview = await client.get(url, params={"dokument": pdf})
    assert f'data="{url}/documents/{pdf}/inline" type="application/pdf"' in preview.text
    assert (await client.get(url, params={"dokument": str(uuid.uuid4())})).status_code == 404

    history = (await client.get(url)).text
    assert history.count("Dokument gelesen") >= 2  # each read is in the audit trail


async def test_another_authority_s_case_does_not_exist_here(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    foreign = await file_case(
        runtime, LEIPZIG_ID, family_name="Fremd", received_at=datetime.now(UTC) - timedelta(days=1)
    )
    await clerk(client, runtime)
    token = form_token((await client.get("/")).text, "/logout")
    for path in (f"/cases/{foreign.id}", f"/cases/{uuid.uuid4()}"):
        response = await client.get(path)
        assert response.status_code == 404
        assert "Fremd" not in response.text and LEIPZIG_ID not in response.text
    refused = await client.post(
        f"/cases/{foreign.id}/transition", data={"csrf_token": token, "ziel": "in_progress"}
    )
    assert refused.status_code == 404
    noted = await client.post(f"/cases/{foreign.id}/notes", data={"csrf_token": token, "text": "x"})
    assert noted.status_code == 404
    assert (
        await client.post(f"/cases/{foreign.id}/assign", data={"csrf_token": token})
    ).status_code == 404
