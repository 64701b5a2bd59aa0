"""Helpers for casefile tests: tokens, authority messages with real blobs, direct filing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from bootstrap.wiring import open_pipeline
from casefile import auth, filing
from casefile.models import Vorgang
from contracts.application import AUTHORITY_MESSAGE_TYPE, AuthorityMessage, delivery_message_id
from eantrag.blobs import BlobStore
from eantrag.broker import (
    AUTHORITIES_EXCHANGE,
    OutgoingMessage,
    authority_queue,
    dead_letter_queue,
)
from eantrag.db import Database
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.conftest import purge_queues, truncate_all
from tests.routing.support import DOG, DRESDEN, WOHNGELD, import_example_suffixed

PIPELINE = ("outbox-relay", "router", "casefile", "triage")
DRESDEN_ID = "stadt-dresden"
LEIPZIG_ID = "stadt-leipzig"


async def issue_token(
    db: Database,
    authority_id: str | None,
    *,
    role: auth.Role = "clerk",
    expires_in_days: int | None = None,
    name: str = "Erika Muster",
) -> auth.IssuedToken:
    async with db.transaction() as session:
        return auth.issue(
            session,
            name=name,
            authority_id=authority_id,
            role=role,
            expires_in_days=expires_in_days,
        )


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def store(blobs: BlobStore, data: bytes, media_type: str) -> dict[str, Any]:
    sha256 = hashlib.sha256(data).hexdigest()
    key = await blobs.put(io.BytesIO(data), sha256, len(data), media_type)
    return {
        "blobKey": key,
        "sha256": sha256,
        "sha512": hashlib.sha512(data).hexdigest(),
        "size": len(data),
        "mediaType": media_type,
    }


async def authority_message(
    blobs: BlobStore,
    authority_id: str = DRESDEN_ID,
    *,
    leika: str = DOG,
    authority_name: str | None = None,
    family_name: str = "Muster",
    attachments: int = 0,
) -> dict[str, Any]:
    """An `eantrag.application.v1` body whose original (and attachments) are in the store."""
    application_id = uuid.uuid4()
    original = await store(
        blobs,
        f"<antrag id='{application_id}'><name>{family_name}</name></antrag>".encode(),
        "application/xml",
    )
    extra = []
    for n in range(attachments):
        document = await store(
            blobs, f"%PDF-1.4 attachment {n} of {application_id}".encode(), "application/pdf"
        )
        extra.append(
            {
                **document,
                "attachmentId": f"anlage-{n}",
                "filename": f"anlage-{n}.pdf",
                "purpose": "attachment",
            }
        )
    now = datetime.now(UTC).isoformat()
    return {
        "version": "1.0",
        "type": AUTHORITY_MESSAGE_TYPE,
        "applicationId": str(application_id),
        "formId": "hundeanmeldung" if leika == DOG else "wohngeld-mietzuschuss",
        "leikaUrn": f"urn:de:fim:leika:leistung:{leika}",
        "receivedAt": now,
        "authority": {"id": authority_id, "name": authority_name or f"Behörde {authority_id}"},
        "routing": {
            "matchedAreaKey": DRESDEN,
            "ars": DRESDEN,
            "postleitzahl": "01069",
            "decidedAt": now,
        },
        "record": {"halter": {"familienname": family_name, "vorname": "Erika"}},
        "original": original,
        "attachments": extra,
    }


def outgoing(body: dict[str, Any]) -> OutgoingMessage:
    authority_id = body["authority"]["id"]
    return OutgoingMessage(
        message_id=delivery_message_id(uuid.UUID(body["applicationId"]), authority_id),
        exchange=AUTHORITIES_EXCHANGE,
        routing_key=authority_id,
        type=AUTHORITY_MESSAGE_TYPE,
        body=orjson.dumps(body),
    )


async def file_directly(runtime: Runtime, body: dict[str, Any]) -> Vorgang:
    """File one message the way the consumer does, without a queue in between."""
    application = filing.from_message(AuthorityMessage.model_validate(body))
    prepared = await filing.prepare_filing(runtime.blobs, application)
    async with runtime.db.transaction() as session:
        filed = await filing.file_application(
            session, prepared, actor=filing.SYSTEM_ACTOR, source="routing"
        )
    assert filed is not None
    return filed.case


async def cases(db: Database, authority_id: str | None = None) -> list[Vorgang]:
    async with db.sessionmaker() as session:
        query = select(Vorgang)
        if authority_id is not None:
            query = query.where(Vorgang.authority_id == authority_id)
        return list((await session.scalars(query)).all())


async def case_count(db: Database) -> int:
    return len(await cases(db))


async def status_of(client: httpx.AsyncClient, receipt: dict[str, Any]) -> dict[str, Any]:
    url = httpx.URL(str(receipt["statusUrl"]))
    body: dict[str, Any] = (await client.get(url.path, params=dict(url.params))).json()
    return body


@contextlib.asynccontextmanager
async def suffixed_pipeline(
    settings: Settings, shared_queues: Sequence[str]
) -> AsyncIterator[tuple[Runtime, str]]:
    """The pipeline on PostgreSQL and RabbitMQ, with the example directory's authority ids
    suffixed (yielded with the runtime), so that the test has inbox queues of its own; the
    shared queues are emptied before and after."""
    assert settings.database_url and settings.amqp_url
    await truncate_all(settings.database_url)
    await purge_queues(settings.amqp_url, *shared_queues)
    suffix = uuid.uuid4().hex[:8]
    runtime = await open_pipeline(settings)
    report = await import_example_suffixed(runtime.db, suffix)
    try:
        yield runtime, suffix
    finally:
        await runtime.close()
        queues = [authority_queue(a) for a in report.authority_ids]
        dead = [dead_letter_queue(q) for q in queues]
        await purge_queues(settings.amqp_url, *queues, *dead, delete=True)
        await purge_queues(settings.amqp_url, *shared_queues)


__all__ = ["DOG", "WOHNGELD"]


async def file_case(
    runtime: Runtime,
    authority_id: str = DRESDEN_ID,
    *,
    family_name: str = "Muster",
    given_name: str = "Erika",
    born: str = "1980-02-29",
    leika: str = DOG,
    received_at: datetime | None = None,
) -> Vorgang:
    """File one application of the given applicant, received when given (else now)."""
    body = await authority_message(runtime.blobs, authority_id, leika=leika)
    body["record"] = {
        "halter": {"familienname": family_name, "vorname": given_name, "geburtsdatum": born}
    }
    if received_at is not None:
        body["receivedAt"] = received_at.isoformat()
    return await file_directly(runtime, body)
