"""Every example, posted like a citizen's portal does, ends in the right authority's e-Akte with
its original bytes, a rendering and every attachment — and the citizen's status URL says so."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bootstrap.demo import example_cases
from casefile.models import Vorgang
from eantrag.blobs import read_all
from eantrag.runtime import Runtime
from tests.casefile.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    PIPELINE,
    bearer,
    case_count,
    issue_token,
    status_of,
)
from tests.routing.support import import_example, wait_for, workers


async def _filed(client: httpx.AsyncClient, receipts: list[dict[str, object]]) -> bool:
    states = [(await status_of(client, r))["status"] for r in receipts]
    return all(state == "filed" for state in states)


async def test_every_example_is_filed_with_its_authority(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await import_example(runtime.db)
    receipts: list[dict[str, object]] = []
    expected: dict[str, str] = {}
    for case in example_cases():
        if not case.expect_accept:
            continue
        response = await client.post(
            "/v1/applications", content=case.body, headers={"content-type": case.content_type}
        )
        assert response.status_code == 202, response.text
        receipt = response.json()
        receipts.append(receipt)
        expected[receipt["applicationId"]] = DRESDEN_ID if "hunde" in case.title else LEIPZIG_ID
    assert len(receipts) == 5

    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: _filed(client, receipts), within=30)
    assert await case_count(runtime.db) == 5

    tokens = {
        authority: (await issue_token(runtime.db, authority)).token
        for authority in (DRESDEN_ID, LEIPZIG_ID)
    }
    references = set()
    for receipt in receipts:
        authority = expected[str(receipt["applicationId"])]
        state = await status_of(client, receipt)
        assert state["fileReference"] and state["authority"]
        references.add(state["fileReference"])

        inbox = await client.get(
            "/v1/cases", headers=bearer(tokens[authority]), params={"limit": 200}
        )
        mine = [c for c in inbox.json()["items"] if c["applicationId"] == receipt["applicationId"]]
        assert len(mine) == 1, f"{receipt['applicationId']} not in the inbox of {authority}"
        assert mine[0]["fileReference"] == state["fileReference"]
        detail = (
            await client.get(f"/v1/cases/{mine[0]['id']}", headers=bearer(tokens[authority]))
        ).json()
        assert detail["authority"]["id"] == authority
        assert detail["record"], "the structured data is in the case"

        original = next(d for d in detail["documents"] if d["kind"] == "original")
        assert original["sha256"] == receipt["sha256"]
        download = await client.get(original["href"], headers=bearer(tokens[authority]))
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == receipt["sha256"]

        rendering = next(d for d in detail["documents"] if d["kind"] == "rendering")
        assert rendering["derivedFrom"] == original["id"]
        html = (await client.get(rendering["href"], headers=bearer(tokens[authority]))).text
        assert receipt["sha256"] in html, "the rendering points back to the original"

        attachments = [d for d in detail["documents"] if d["kind"] == "attachment"]
        for attachment in attachments:
            got = await client.get(attachment["href"], headers=bearer(tokens[authority]))
            assert hashlib.sha256(got.content).hexdigest() == attachment["sha256"]
            assert len(got.content) == attachment["size"]
        if "wohngeld" in str(detail["form"]) and len(attachments):
            assert {a["filename"] for a in attachments} >= {
                "Mietvertrag_Nikolaistrasse_27.pdf",
                "Gehaltsnachweise_Juli-September_2026.pdf",
            }
    assert len(references) == 5

    # What the case file records is what the blob store holds, not only what the API serves.
    async with runtime.db.sessionmaker() as session:
        filed = (
            await session.scalars(select(Vorgang).options(selectinload(Vorgang.documents)))
        ).all()
    assert sum(len(case.documents) for case in filed) == 5 * 2 + 2
    for case in filed:
        for document in case.documents:
            data = await read_all(runtime.blobs, document.blob_key)
            assert hashlib.sha256(data).hexdigest() == document.sha256
            assert len(data) == document.size
    assert sum(1 for r in references if r.startswith("022.31-")) == 2  # Hundesteuer, Dresden
    assert sum(1 for r in references if r.startswith("500.21-")) == 3  # Wohngeld, Leipzig


async def test_the_citizen_s_status_follows_the_case(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await import_example(runtime.db)
    case = example_cases()[0]
    receipt = (
        await client.post(
            "/v1/applications", content=case.body, headers={"content-type": case.content_type}
        )
    ).json()
    token = (await issue_token(runtime.db, DRESDEN_ID)).token
    async with workers(runtime, *PIPELINE):
        await wait_for(lambda: _filed(client, [receipt]), within=30)
        inbox = (await client.get("/v1/cases", headers=bearer(token))).json()["items"]
        url = f"/v1/cases/{inbox[0]['id']}/transitions"
        for step in (
            {"to": "in_progress"},
            {"to": "decided", "outcome": "granted"},
            {"to": "closed"},
        ):
            response = await client.post(url, json=step, headers=bearer(token))
            assert response.status_code == 200, response.text

        async def closed() -> bool:
            return bool((await status_of(client, receipt))["status"] == "closed")

        await wait_for(closed, within=20)
    state = await status_of(client, receipt)
    assert [e["status"] for e in state["timeline"]] == [
        "received",
        "routed",
        "filed",
        "in_progress",
        "decided",
        "closed",
    ]
    assert state["timeline"][4]["detail"] == {"outcome": "granted"}
    assert state["fileReference"] == inbox[0]["fileReference"]
    assert "Dresden" in state["authority"]
