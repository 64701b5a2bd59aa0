"""Triage: an application no authority was found for waits on the triage desk; a triage clerk
assigns it, and it is filed in that authority's e-Akte like any routed one."""

from __future__ import annotations

import hashlib
import uuid

import httpx

from eantrag.runtime import Runtime
from tests.casefile.support import DRESDEN_ID, bearer, issue_token, status_of
from tests.conftest import EXAMPLES
from tests.routing.support import import_example, wait_for, workers


async def test_an_unroutable_application_is_assigned_and_filed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (EXAMPLES / "hundeanmeldung.json").read_bytes()
    receipt = (
        await client.post(
            "/v1/applications", content=body, headers={"content-type": "application/json"}
        )
    ).json()
    triage = (await issue_token(runtime.db, None, role="triage", name="Triage Desk")).token

    async def on_the_desk() -> bool:
        items = (await client.get("/v1/triage", headers=bearer(triage))).json()["items"]
        return any(i["applicationId"] == receipt["applicationId"] for i in items)

    # No directory yet: nobody is responsible.
    async with workers(runtime, "outbox-relay", "router", "triage"):
        await wait_for(on_the_desk)
        await wait_for(
            lambda: _status_is(client, receipt, "unroutable"),
        )
    item = (await client.get("/v1/triage", headers=bearer(triage))).json()["items"][0]
    assert item["reason"] and item["service"].endswith("99102013104000")
    assert item["record"]["halter"]["familienname"]

    url = f"/v1/triage/{receipt['applicationId']}/assign"
    unknown = await client.post(url, json={"authorityId": DRESDEN_ID}, headers=bearer(triage))
    assert unknown.status_code == 422, "the authority must be in the directory"

    await import_example(runtime.db)
    assigned = await client.post(url, json={"authorityId": DRESDEN_ID}, headers=bearer(triage))
    assert assigned.status_code == 201, assigned.text
    result = assigned.json()
    assert result["fileReference"].startswith("022.31-")
    assert "Dresden" in result["authority"]["name"]

    again = await client.post(url, json={"authorityId": DRESDEN_ID}, headers=bearer(triage))
    assert again.status_code == 409
    missing = await client.post(
        f"/v1/triage/{uuid.uuid4()}/assign",
        json={"authorityId": DRESDEN_ID},
        headers=bearer(triage),
    )
    assert missing.status_code == 404
    assert (await client.get("/v1/triage", headers=bearer(triage))).json()["items"] == []
    done = (await client.get("/v1/triage?state=all", headers=bearer(triage))).json()["items"]
    assert done[0]["caseId"] == result["caseId"]

    # the assignment wrote routed and filed into the timeline with its own commit
    assert await _status_is(client, receipt, "filed")
    state = await status_of(client, receipt)
    assert state["fileReference"] == result["fileReference"]
    assert state["authority"] == result["authority"]["name"]
    assert [e["status"] for e in state["timeline"]] == ["received", "unroutable", "routed", "filed"]

    clerk = (await issue_token(runtime.db, DRESDEN_ID)).token
    case = (await client.get(f"/v1/cases/{result['caseId']}", headers=bearer(clerk))).json()
    assert case["source"] == "triage" and case["routing"]["assignedBy"].startswith("token:")
    original = next(d for d in case["documents"] if d["kind"] == "original")
    data = (await client.get(original["href"], headers=bearer(clerk))).content
    assert hashlib.sha256(data).hexdigest() == receipt["sha256"]
    trail = (await client.get(f"/v1/cases/{result['caseId']}/audit", headers=bearer(clerk))).json()
    first = trail["entries"][0]
    assert (first["actorKind"], first["actorName"]) == ("token", "Triage Desk")


async def _status_is(client: httpx.AsyncClient, receipt: dict[str, str], status: str) -> bool:
    return bool((await status_of(client, receipt))["status"] == status)
