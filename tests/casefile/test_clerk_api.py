"""The clerk API: a token sees its own authority's cases and nothing else; bad tokens get 401,
the wrong role 403; cases move through their lifecycle and tell the citizen; documents are
served only when their bytes still match the recorded hash."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from casefile import bescheid
from casefile.models import Akte, ApiToken, Dokument, Vorgang
from eantrag.db import utcnow
from eantrag.models import InlineBlob, OutboxMessage
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.pdfa_check import assert_pdfa
from tests.casefile.support import (
    DRESDEN_ID,
    LEIPZIG_ID,
    authority_message,
    bearer,
    file_directly,
    issue_token,
)
from tests.routing.support import WOHNGELD

PROBLEM = "application/problem+json"


@dataclass
class World:
    own: Vorgang
    own_doc: uuid.UUID
    other: Vorgang
    other_doc: uuid.UUID
    clerk: str
    other_clerk: str
    triage: str


async def _first_document(runtime: Runtime, case: Vorgang, kind: str = "original") -> uuid.UUID:
    async with runtime.db.sessionmaker() as session:
        found = await session.scalar(
            select(Dokument.id).where(Dokument.vorgang_id == case.id, Dokument.kind == kind)
        )
    assert found is not None
    return found


@pytest.fixture
async def world(runtime: Runtime) -> World:
    own = await file_directly(runtime, await authority_message(runtime.blobs, DRESDEN_ID))
    other = await file_directly(
        runtime, await authority_message(runtime.blobs, LEIPZIG_ID, leika=WOHNGELD)
    )
    return World(
        own=own,
        own_doc=await _first_document(runtime, own),
        other=other,
        other_doc=await _first_document(runtime, other),
        clerk=(await issue_token(runtime.db, DRESDEN_ID)).token,
        other_clerk=(await issue_token(runtime.db, LEIPZIG_ID)).token,
        triage=(await issue_token(runtime.db, None, role="triage")).token,
    )


def case_requests(case_id: uuid.UUID, doc_id: uuid.UUID) -> list[tuple[str, str, dict[str, Any]]]:
    """Every clerk endpoint that names a case, with a harmless valid body."""
    base = f"/v1/cases/{case_id}"
    return [
        ("GET", base, {}),
        ("GET", f"{base}/documents/{doc_id}", {}),
        ("POST", f"{base}/transitions", {"json": {"to": "in_progress"}}),
        ("POST", f"{base}/notes", {"json": {"text": "Rückfrage beim Antragsteller"}}),
        ("GET", f"{base}/audit", {}),
        ("POST", f"{base}/assign", {}),
        ("POST", f"{base}/release", {}),
        (
            "POST",
            f"{base}/documents",
            {"content": b"%PDF-1.4 scan", "headers": {"content-type": "application/pdf"}},
        ),
    ]


def all_requests(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/v1/cases", {}),
        *case_requests(world.own.id, world.own_doc),
        ("POST", "/v1/cases/assign", {"json": {"caseIds": [str(world.own.id)]}}),
        ("POST", "/v1/cases/release", {"json": {"caseIds": [str(world.own.id)]}}),
        ("GET", "/v1/triage", {}),
        ("POST", f"/v1/triage/{uuid.uuid4()}/assign", {"json": {"authorityId": DRESDEN_ID}}),
    ]


async def call(
    client: httpx.AsyncClient, method: str, url: str, kwargs: dict[str, Any], token: str | None
) -> httpx.Response:
    headers = dict(kwargs.get("headers", {}))
    if token is not None:
        headers.update(bearer(token))
    return await client.request(method, url, **{**kwargs, "headers": headers})


async def test_another_authority_s_cases_do_not_exist_for_a_token(
    client: httpx.AsyncClient, world: World
) -> None:
    for method, url, kwargs in case_requests(world.other.id, world.other_doc):
        response = await call(client, method, url, kwargs, world.clerk)
        assert response.status_code == 404, (method, url, response.text)
        assert response.headers["content-type"] == PROBLEM
    # a document of another authority's case, under one's own case id, is no document either
    response = await call(
        client, "GET", f"/v1/cases/{world.own.id}/documents/{world.other_doc}", {}, world.clerk
    )
    assert response.status_code == 404
    inbox = (await call(client, "GET", "/v1/cases", {}, world.clerk)).json()
    assert [c["id"] for c in inbox["items"]] == [str(world.own.id)]
    # and the other authority's clerk sees that one, and only that
    inbox = (await call(client, "GET", "/v1/cases", {}, world.other_clerk)).json()
    assert [c["id"] for c in inbox["items"]] == [str(world.other.id)]
    for method, url, kwargs in case_requests(world.other.id, world.other_doc)[:2]:
        assert (await call(client, method, url, kwargs, world.other_clerk)).status_code == 200


async def test_missing_malformed_unknown_expired_or_revoked_tokens_get_401(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    revoked = await issue_token(runtime.db, DRESDEN_ID)
    expired = await issue_token(runtime.db, DRESDEN_ID, expires_in_days=1)
    async with runtime.db.transaction() as session:
        await session.execute(
            update(ApiToken).where(ApiToken.id == revoked.row.id).values(revoked_at=utcnow())
        )
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == expired.row.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    variants: list[tuple[str, dict[str, str]]] = [
        ("missing", {}),
        ("not bearer", {"authorization": f"Basic {world.clerk}"}),
        ("malformed", {"authorization": "Bearer not-a-token"}),
        ("unknown", {"authorization": "Bearer eak_" + "x" * 43}),
        ("expired", bearer(expired.token)),
        ("revoked", bearer(revoked.token)),
    ]
    for method, url, kwargs in all_requests(world):
        for what, headers in variants:
            response = await client.request(
                method, url, **{**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}
            )
            assert response.status_code == 401, (what, method, url, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer"), what
            assert response.headers["content-type"] == PROBLEM


async def test_the_wrong_role_gets_403(client: httpx.AsyncClient, world: World) -> None:
    clerk_only = [("GET", "/v1/cases", {}), *case_requests(world.own.id, world.own_doc)]
    for method, url, kwargs in clerk_only:
        response = await call(client, method, url, kwargs, world.triage)
        assert response.status_code == 403, (method, url, response.text)
        assert response.headers["content-type"] == PROBLEM
    for method, url, kwargs in all_requests(world)[-2:]:
        response = await call(client, method, url, kwargs, world.clerk)
        assert response.status_code == 403, (method, url, response.text)


async def _events(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.exchange == "eantrag.events")
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [orjson.loads(r.body) for r in rows]


async def test_a_case_moves_through_its_lifecycle_and_the_citizen_is_told(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    url = f"/v1/cases/{world.own.id}"

    async def move(body: dict[str, Any]) -> httpx.Response:
        return await call(client, "POST", f"{url}/transitions", {"json": body}, world.clerk)

    assert (await move({"to": "decided", "outcome": "granted"})).status_code == 409
    assert (await move({"to": "in_progress", "outcome": "granted"})).status_code == 422
    assert (await move({"to": "in_progress"})).json()["status"] == "in_progress"
    assert (await move({"to": "decided"})).status_code == 422  # no outcome
    decided = await move({"to": "decided", "outcome": "refused", "reason": "Unterlagen fehlen"})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "decided" and body["outcome"] == "refused"
    decision = next(d for d in body["documents"] if d["kind"] == "decision")
    assert decision["mediaType"] == "application/pdf" and decision["conformance"] == "PDF/A-2b"
    pdf = (await call(client, "GET", decision["href"], {}, world.clerk)).content
    text = assert_pdfa(pdf)
    assert "abgelehnt" in text and body["fileReference"] in text
    assert "Unterlagen fehlen" in text and "Erika Muster" in text
    closed = (await move({"to": "closed"})).json()
    assert closed["status"] == "closed" and closed["closedAt"]
    assert closed["akte"]["retentionEndsOn"] == f"{utcnow().year + 10}-12-31"
    assert (await move({"to": "decided", "outcome": "granted"})).status_code == 409
    reopened = await move({"to": "in_progress", "reason": "Widerspruch"})
    assert reopened.json()["status"] == "in_progress" and reopened.json()["closedAt"] is None

    events = [
        e for e in await _events(runtime) if e["applicationId"] == str(world.own.application_id)
    ]
    # On the broker only what a worker reads: here (no SMTP server) the renderer's `filed`; the
    # e-mail's events with a server are tests/citizen/test_notifications.py's. The timeline is
    # written by each transition's own transaction (tests/intake/test_timeline.py,
    # tests/casefile/test_pipeline.py).
    assert [e["status"] for e in events] == ["filed"]
    assert events[0]["detail"]["fileReference"] == body["fileReference"]
    assert events[0]["detail"]["authority"]

    trail = (await call(client, "GET", f"{url}/audit", {}, world.clerk)).json()
    assert trail["verified"] is True
    transitions = [e for e in trail["entries"] if e["action"] == "transition"]
    assert [(e["oldValue"]["status"], e["newValue"]["status"]) for e in transitions] == [
        ("filed", "in_progress"),
        ("in_progress", "decided"),
        ("decided", "closed"),
        ("closed", "in_progress"),
    ]
    assert {(e["actorKind"], e["actorName"]) for e in transitions} == {("token", "Erika Muster")}


async def test_a_file_whose_retention_period_ended_cannot_be_reopened(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    url = f"/v1/cases/{world.own.id}/transitions"
    for body in ({"to": "in_progress"}, {"to": "decided", "outcome": "granted"}, {"to": "closed"}):
        assert (await call(client, "POST", url, {"json": body}, world.clerk)).status_code == 200
    async with runtime.db.transaction() as session:
        await session.execute(
            update(Akte)
            .where(Akte.id == world.own.akte_id)
            .values(closed_at=utcnow() - timedelta(days=366 * 12))
        )
    response = await call(client, "POST", url, {"json": {"to": "in_progress"}}, world.clerk)
    assert response.status_code == 409
    assert response.json()["code"] == "casefile.reopen_not_allowed"


async def test_an_uploaded_decision_can_be_the_decision(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    url = f"/v1/cases/{world.own.id}"
    signed = b"%PDF-1.4 signed Bescheid"
    uploaded = await call(
        client,
        "POST",
        f"{url}/documents",
        {
            "content": signed,
            "headers": {"content-type": "application/pdf"},
            "params": {"kind": "decision", "filename": "bescheid-signiert.pdf"},
        },
        world.clerk,
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["sha256"] == hashlib.sha256(signed).hexdigest() and document["version"] == 1
    await call(client, "POST", f"{url}/transitions", {"json": {"to": "in_progress"}}, world.clerk)
    decided = await call(
        client,
        "POST",
        f"{url}/transitions",
        {"json": {"to": "decided", "outcome": "granted", "decisionDocumentId": document["id"]}},
        world.clerk,
    )
    assert decided.status_code == 200, decided.text
    assert [d["id"] for d in decided.json()["documents"] if d["kind"] == "decision"] == [
        document["id"]
    ]
    trail = (await call(client, "GET", f"{url}/audit", {}, world.clerk)).json()["entries"]
    assert trail[-1]["newValue"]["decisionDocument"]["id"] == document["id"]
    async with runtime.db.sessionmaker() as session:  # what the citizen's status page offers
        current = await bescheid.current_decision(session, world.own.application_id)
        assert await bescheid.current_decision(session, uuid.uuid4()) is None
    assert current is not None and str(current.id) == document["id"]


async def corrupt(runtime: Runtime, settings: Settings, key: str) -> None:
    """Change a stored blob behind the e-Akte's back, keeping its size (a row or a file)."""
    async with runtime.db.transaction() as session:
        row = await session.get(InlineBlob, key)
        if row is not None:
            row.data = row.data.replace(b"Muster", b"Fake!!")
            return
    path = settings.data_dir / "blobs" / key
    path.write_bytes(path.read_bytes().replace(b"Muster", b"Fake!!"))


async def test_a_document_is_served_only_with_its_recorded_hash_and_every_read_is_audited(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings, world: World
) -> None:
    href = f"/v1/cases/{world.own.id}/documents/{world.own_doc}"
    good = await call(client, "GET", href, {}, world.clerk)
    assert good.status_code == 200
    async with runtime.db.sessionmaker() as session:
        document = await session.get(Dokument, world.own_doc)
    assert document is not None
    assert hashlib.sha256(good.content).hexdigest() == document.sha256
    assert good.headers["etag"] == f'"{document.sha256}"'

    await corrupt(runtime, settings, document.blob_key)
    bad = await call(client, "GET", href, {}, world.clerk)
    assert bad.status_code == 500
    assert bad.headers["content-type"] == PROBLEM
    assert bad.json()["code"] == "casefile.document_integrity"

    trail = (await call(client, "GET", f"/v1/cases/{world.own.id}/audit", {}, world.clerk)).json()
    actions = [e["action"] for e in trail["entries"]]
    assert actions == ["filed", "document.read", "document.integrity_failed"]
    assert trail["entries"][1]["newValue"]["documentId"] == str(world.own_doc)
    assert trail["verified"]


async def test_inbox_pages_with_a_cursor_and_filters(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    for n in range(4):
        await file_directly(
            runtime,
            await authority_message(
                runtime.blobs, DRESDEN_ID, leika=WOHNGELD if n % 2 else "99102013104000"
            ),
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await call(client, "GET", "/v1/cases", {"params": params}, world.clerk)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    received = [
        c["receivedAt"]
        for c in (await call(client, "GET", "/v1/cases", {}, world.clerk)).json()["items"]
    ]
    assert received == sorted(received, reverse=True)

    async def count(**params: Any) -> int:
        response = await call(client, "GET", "/v1/cases", {"params": params}, world.clerk)
        assert response.status_code == 200, response.text
        return len(response.json()["items"])

    assert await count(service=WOHNGELD) == 2
    assert await count(service=f"urn:de:fim:leika:leistung:{WOHNGELD}") == 2
    assert await count(status="filed") == 5
    assert await count(status="closed") == 0
    assert await count(receivedFrom="2000-01-01T00:00:00Z", receivedTo="2999-01-01T00:00:00Z") == 5
    assert await count(receivedTo="2000-01-01T00:00:00Z") == 0
    for bad in ({"cursor": "nonsense"}, {"service": "12"}, {"status": "lost"}):
        response = await call(client, "GET", "/v1/cases", {"params": bad}, world.clerk)
        assert response.status_code in (400, 422), bad
        assert response.headers["content-type"] == PROBLEM


async def test_case_detail_holds_the_structured_data_and_every_document(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    case = await file_directly(
        runtime, await authority_message(runtime.blobs, DRESDEN_ID, attachments=2)
    )
    detail = (await call(client, "GET", f"/v1/cases/{case.id}", {}, world.clerk)).json()
    assert detail["record"]["halter"]["familienname"] == "Muster"
    assert detail["akte"]["kennzeichen"] == "022.31"
    assert detail["akte"]["retentionYears"] == 10 and detail["akte"]["disposal"] == "V"
    assert detail["title"].endswith("Muster, Erika")
    kinds = sorted(d["kind"] for d in detail["documents"])
    assert kinds == ["attachment", "attachment", "original", "rendering"]
    for document in detail["documents"]:
        assert len(document["sha256"]) == 64 and document["size"] > 0
        assert document["version"] == 1 and document["mediaType"]
