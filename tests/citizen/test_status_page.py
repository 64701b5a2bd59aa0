"""The status URL in a browser: a page in German with the timeline, the authority and
Aktenzeichen, what happens next and the Bescheid — which only the right token fetches."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from casefile.models import Dokument
from citizen.api import NO_BESCHEID
from eantrag.models import InlineBlob
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.support import DRESDEN_ID, PIPELINE, bearer, issue_token, status_of
from tests.citizen.support import case_of, clerk_post, path_of, submit, wait_for_status
from tests.routing.support import import_example, workers

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _decided(
    client: httpx.AsyncClient, runtime: Runtime
) -> tuple[dict[str, Any], dict[str, Any], str]:
    await import_example(runtime.db)
    receipt = await submit(client)
    token = (await issue_token(runtime.db, DRESDEN_ID)).token
    async with workers(runtime, *PIPELINE):
        await wait_for_status(client, receipt, "filed")
        case = await case_of(client, token, receipt)
        await clerk_post(client, token, case, "transitions", {"to": "in_progress"})
        await clerk_post(
            client,
            token,
            case,
            "transitions",
            {"to": "decided", "outcome": "refused", "reason": "Kein Hund gemeldet."},
        )
        await wait_for_status(client, receipt, "decided")
    return receipt, await case_of(client, token, receipt), token


async def test_a_browser_gets_the_page_and_the_bescheid(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    receipt, case, token = await _decided(client, runtime)
    path, params = path_of(receipt["statusUrl"])
    state = await status_of(client, receipt)

    page = await client.get(path, params=params, headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-security-policy"].startswith("default-src 'none';")
    html = page.text
    assert '<html lang="de">' in html
    for landmark in ("<header>", '<main id="inhalt">', "<footer>"):
        assert landmark in html
    assert "<h1>Ihr Antrag: Hundesteuer" in html
    assert state["fileReference"] in html and state["authority"] in html
    assert "Wie es weitergeht" in html and "Ihr Antrag wurde abgelehnt." in html
    for line in ("Antrag eingegangen", "Zuständige Behörde ermittelt", "Entschieden"):
        assert line in html
    # Nothing is loaded from anywhere else, and no technical keys or ISO dates are shown.
    assert not re.search(r"<(script|link|img)\b", html)
    assert not re.search(r'(src|href)="https?:', html)
    assert "fileReference" not in html and "in_progress" not in html
    assert re.search(r"\d\d\.\d\d\.\d{4} um \d\d:\d\d Uhr", html)

    # The Bescheid link (relative to the status URL) fetches the case's decision document.
    href = re.search(r'<a class="download" href="([^"]+)"', html)
    assert href is not None
    link = httpx.URL(page.url).join(href.group(1).replace("&amp;", "&"))
    bescheid = await client.get(link.path, params=dict(link.params))
    assert bescheid.status_code == 200
    decision = next(d for d in case["documents"] if d["kind"] == "decision")
    kept = await client.get(decision["href"], headers=bearer(token))
    assert (
        bescheid.content == kept.content and bescheid.headers["etag"] == f'"{decision["sha256"]}"'
    )
    trail = (await client.get(f"/v1/cases/{case['id']}/audit", headers=bearer(token))).json()
    assert any(e["actor"] == "citizen:status-url" for e in trail["entries"])

    # API clients still get JSON.
    for accept in (None, "application/json", "*/*", "application/json, text/html;q=0.5"):
        headers = {"accept": accept} if accept else {}
        answer = await client.get(path, params=params, headers=headers)
        assert answer.headers["content-type"] == "application/json", accept
        assert answer.headers["vary"] == "Accept"
        assert answer.json()["status"] == "decided"


async def test_a_wrong_token_cannot_fetch_the_bescheid(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    receipt, _, _ = await _decided(client, runtime)
    other = await submit(client)  # a real token, of another application
    path, params = path_of(receipt["statusUrl"])
    bescheid = f"{path}/bescheid"
    assert (await client.get(bescheid, params=params)).status_code == 200
    wrong_tokens = [
        {},
        {"token": ""},
        {"token": params["token"][:-1] + ("A" if params["token"][-1] != "A" else "B")},
        {"token": path_of(other["statusUrl"])[1]["token"]},
    ]
    for wrong in wrong_tokens:
        refused = await client.get(bescheid, params=wrong)
        assert refused.status_code == 404, wrong
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == NO_BESCHEID  # the same answer, whatever was wrong
        assert "etag" not in refused.headers
    # Nor the page: a browser is told in German that the link is not valid, nothing more.
    for wrong in wrong_tokens:
        page = await client.get(path, params=wrong, headers=BROWSER)
        assert page.status_code == 404, wrong
        assert page.headers["content-type"].startswith("text/html")
        assert "Diesen Antrag finden wir nicht" in page.text and '<html lang="de">' in page.text
        assert receipt["applicationId"] not in page.text and "Bescheid" not in page.text
    # An application without a decision has no Bescheid, even with its own token.
    other_path, other_params = path_of(other["statusUrl"])
    assert (await client.get(f"{other_path}/bescheid", params=other_params)).status_code == 404


async def test_an_unroutable_application_says_what_the_citizen_can_do(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    receipt = await submit(client)  # no directory imported: no authority is found
    async with workers(runtime, "outbox-relay", "router"):
        state = await wait_for_status(client, receipt, "unroutable")
    reason = next(e for e in state["timeline"] if e["status"] == "unroutable")["detail"]["reason"]
    assert reason
    path, params = path_of(receipt["statusUrl"])
    html = (await client.get(path, params=params, headers=BROWSER)).text
    assert "von Hand" in html and "Sie müssen dafür nichts tun" in html
    assert receipt["applicationId"] in html
    assert reason not in html
    assert "Bescheid" not in html


async def test_the_clerk_s_message_is_shown_as_text(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await import_example(runtime.db)
    receipt = await submit(client)
    token = (await issue_token(runtime.db, DRESDEN_ID)).token
    message = 'Bitte den Impfpass <script>alert("x")</script> & die Steuer-ID nachreichen.'
    async with workers(runtime, *PIPELINE):
        await wait_for_status(client, receipt, "filed")
        case = await case_of(client, token, receipt)
        await clerk_post(client, token, case, "missing-documents", {"message": message})
        await wait_for_status(client, receipt, "on_hold")
    path, params = path_of(receipt["statusUrl"])
    html = (await client.get(path, params=params, headers=BROWSER)).text
    assert "<script" not in html
    assert "Bitte den Impfpass &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; die" in html
    assert "Unterlagen nachgefordert" in html and "Bis dahin ruht die Bearbeitung" in html
    # An empty message is refused; a case that waits already cannot be put on hold again.
    ask = f"/v1/cases/{case['id']}/missing-documents"
    refused = await client.post(ask, headers=bearer(token), json={"message": ""})
    assert refused.status_code == 422
    again = await client.post(ask, headers=bearer(token), json={"message": "Noch etwas."})
    assert again.status_code == 409
    assert again.json()["code"] == "casefile.invalid_transition"


async def test_a_bescheid_whose_bytes_changed_is_not_sent(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    receipt, case, _ = await _decided(client, runtime)
    path, params = path_of(receipt["statusUrl"])
    assert (await client.get(f"{path}/bescheid", params=params)).status_code == 200
    async with runtime.db.sessionmaker() as session:
        key = await session.scalar(
            select(Dokument.blob_key).where(
                Dokument.vorgang_id == uuid.UUID(case["id"]), Dokument.kind == "decision"
            )
        )
    assert key is not None
    await _flip_first_byte(runtime, settings, key)
    refused = await client.get(f"{path}/bescheid", params=params)
    assert refused.status_code == 500
    assert refused.headers["content-type"] == "application/problem+json"
    assert "SHA-256" in refused.json()["detail"] and "etag" not in refused.headers


async def _flip_first_byte(runtime: Runtime, settings: Settings, key: str) -> None:
    """Change a stored blob behind the e-Akte's back, keeping its size (a row or a file)."""
    async with runtime.db.transaction() as session:
        row = await session.get(InlineBlob, key)
        if row is not None:
            row.data = bytes([row.data[0] ^ 1]) + row.data[1:]
            return
    path = settings.data_dir / "blobs" / key
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])
