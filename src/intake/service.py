"""Use cases of intake: accept a validated submission durably, answer the citizen's status query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.blobs import BlobStore
from eantrag.broker import INTAKE_EXCHANGE
from eantrag.db import Database, utcnow
from eantrag.outbox import add_message, notify_relay
from intake.errors import Conflict
from intake.forms import FORMS
from intake.models import Application, Attachment, StatusEvent
from intake.receiving import Submission

RECEIVED = "received"


@dataclass(frozen=True)
class Receipt:
    application_id: uuid.UUID
    received_at: datetime
    sha256: str
    sha512: str
    form_id: str
    leika_urn: str
    status: str
    status_token: str
    replayed: bool = False


class StatusTokens:
    """Unguessable status tokens derived from the application id; nothing secret is stored."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self, application_id: uuid.UUID) -> str:
        mac = hmac.new(self._secret, application_id.bytes, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def verify(self, application_id: uuid.UUID, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.issue(application_id), token)


def _receipt(app: Application, tokens: StatusTokens, replayed: bool = False) -> Receipt:
    return Receipt(
        application_id=app.id,
        received_at=app.received_at,
        sha256=app.sha256,
        sha512=app.sha512,
        form_id=app.form_id,
        leika_urn=FORMS[app.form_id].leika_urn,
        status=app.status,
        status_token=tokens.issue(app.id),
        replayed=replayed,
    )


async def _replay(
    session: AsyncSession, key: str, fingerprint: str, tokens: StatusTokens
) -> Receipt | None:
    existing = await session.scalar(select(Application).where(Application.idempotency_key == key))
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise Conflict(f"the Idempotency-Key {key!r} was used for different content")
    return _receipt(existing, tokens, replayed=True)


async def accept(
    db: Database,
    blobs: BlobStore,
    tokens: StatusTokens,
    submission: Submission,
    idempotency_key: str | None,
) -> Receipt:
    """Store the original and attachments, then commit row, timeline and outbox event at once."""
    fingerprint = submission.fingerprint
    if idempotency_key:
        async with db.sessionmaker() as session:
            replay = await _replay(session, idempotency_key, fingerprint, tokens)
            if replay is not None:
                return replay

    validated = submission.application
    form = validated.form
    original = submission.original
    blob_key = await blobs.put(original.file, original.sha256, original.size, original.media_type)
    attachment_rows = []
    for attachment in submission.attachments:
        spool = attachment.spool
        key = await blobs.put(spool.file, spool.sha256, spool.size, spool.media_type)
        attachment_rows.append((attachment, key))

    postleitzahl, ars = form.applicant_place(validated.record)
    app = Application(
        id=uuid.uuid4(),
        form_id=form.id,
        leika_key=form.leika_key,
        status=RECEIVED,
        received_at=utcnow(),
        updated_at=utcnow(),
        representation=validated.representation,
        media_type=original.media_type,
        size=original.size,
        sha256=original.sha256,
        sha512=original.sha512,
        blob_key=blob_key,
        record=validated.record,
        postleitzahl=postleitzahl,
        ars=ars,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        submission_metadata=submission.metadata,
    )
    try:
        async with db.transaction() as session:
            session.add(app)
            await session.flush()
            for attachment, key in attachment_rows:
                session.add(
                    Attachment(
                        id=uuid.uuid4(),
                        application_id=app.id,
                        attachment_id=attachment.attachment_id,
                        filename=attachment.filename,
                        media_type=attachment.spool.media_type,
                        purpose=attachment.purpose,
                        size=attachment.spool.size,
                        sha256=attachment.spool.sha256,
                        sha512=attachment.spool.sha512,
                        blob_key=key,
                    )
                )
            session.add(
                StatusEvent(application_id=app.id, at=app.received_at, status=RECEIVED, detail={})
            )
            add_message(
                session,
                exchange=INTAKE_EXCHANGE,
                routing_key="application.received",
                type="application.received",
                payload=received_event(app, attachment_rows),
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the race.
        async with db.sessionmaker() as session:
            replay = await _replay(session, idempotency_key, fingerprint, tokens)
        if replay is None:
            raise
        return replay
    notify_relay()
    return _receipt(app, tokens)


def received_event(app: Application, rows: list[tuple[Any, str]]) -> dict[str, Any]:
    """The `application.received` message: enough for routing without reading intake's tables."""
    form = FORMS[app.form_id]
    return {
        "applicationId": str(app.id),
        "formId": app.form_id,
        "leikaUrn": form.leika_urn,
        "receivedAt": app.received_at.isoformat(),
        "postleitzahl": app.postleitzahl,
        "ars": app.ars,
        "original": {
            "blobKey": app.blob_key,
            "sha256": app.sha256,
            "sha512": app.sha512,
            "size": app.size,
            "mediaType": app.media_type,
        },
        "attachments": [
            {
                "attachmentId": attachment.attachment_id,
                "filename": attachment.filename,
                "purpose": attachment.purpose,
                "blobKey": key,
                "sha256": attachment.spool.sha256,
                "sha512": attachment.spool.sha512,
                "size": attachment.spool.size,
                "mediaType": attachment.spool.media_type,
            }
            for attachment, key in rows
        ],
        "record": app.record,
    }


@dataclass(frozen=True)
class StatusView:
    application: Application
    events: list[StatusEvent]


async def status(
    db: Database, tokens: StatusTokens, application_id: uuid.UUID, token: str | None
) -> StatusView | None:
    """The citizen's timeline, or None when the id is unknown or the token is wrong."""
    if not tokens.verify(application_id, token):
        return None
    async with db.sessionmaker() as session:
        app = await session.get(Application, application_id)
        if app is None:
            return None
        events = (
            await session.scalars(
                select(StatusEvent)
                .where(StatusEvent.application_id == application_id)
                .order_by(StatusEvent.id)
            )
        ).all()
    return StatusView(app, list(events))


async def record_status(
    session: AsyncSession,
    application_id: uuid.UUID,
    new_status: str,
    detail: dict[str, Any],
    at: datetime | None = None,
) -> bool:
    """Apply a status change reported by a later stage; False when the application is unknown."""
    app = await session.get(Application, application_id)
    if app is None:
        return False
    at = at or utcnow()
    app.status = new_status
    app.updated_at = at
    session.add(StatusEvent(application_id=application_id, at=at, status=new_status, detail=detail))
    return True
