"""Use cases of intake: accept a validated submission durably, answer the citizen's status query."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import mimetypes
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.application import AttachmentDocument, Document, ReceivedApplication
from contracts.status import StatusChanged
from eantrag.blobs import TieredBlobStore
from eantrag.db import Database, Insert, column_values, table_of, utcnow
from eantrag.outbox import outbox_table
from eantrag.settings import Settings
from intake.errors import Conflict, Violation
from intake.forms import FORMS
from intake.models import Application, Attachment, StatusEvent
from intake.receiving import Limits, ReceivedAttachment, Submission, receive
from intake.spool import Spool

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
        if token is None:
            return False
        # As bytes: compare_digest raises on a str with non-ASCII characters (a 500 for `?token=é`).
        expected = self.issue(application_id).encode()
        return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))


def _receipt(app: Mapping[str, Any], tokens: StatusTokens, replayed: bool = False) -> Receipt:
    """The receipt of an application, given as its row (`column_values` of a stored one)."""
    return Receipt(
        application_id=app["id"],
        received_at=app["received_at"],
        sha256=app["sha256"],
        sha512=app["sha512"],
        form_id=app["form_id"],
        leika_urn=FORMS[app["form_id"]].leika_urn,
        status=app["status"],
        status_token=tokens.issue(app["id"]),
        replayed=replayed,
    )


@dataclass(frozen=True)
class Keys:
    """What makes a submission a repeat of an earlier one.

    The Idempotency-Key is the portal's; the nachrichtenUUID (XÖV: unique per message, never
    reused) and a FIT-Connect submissionId are the message's own. The natural keys are unique
    per `sender`: "" (one scope for everyone) until portals authenticate, then the portal's id.
    """

    idempotency_key: str | None
    message_uuid: str | None
    submission_id: str | None = None
    sender: str = ""

    def present(self) -> list[tuple[str, str, Any]]:
        """(what to name in a conflict, the key's value, its column) for each key present."""
        keys = [
            ("Idempotency-Key", self.idempotency_key, Application.idempotency_key),
            ("nachrichtenUUID", self.message_uuid, Application.message_uuid),
            ("submissionId", self.submission_id, Application.submission_id),
        ]
        return [(what, value, column) for what, value, column in keys if value]

    def clause(self) -> Any:
        """One lookup for all keys (each has its unique index)."""
        return or_(
            *(
                column == value
                if what == "Idempotency-Key"
                else (Application.sender == self.sender) & (column == value)
                for what, value, column in self.present()
            )
        )


async def _replay(
    session: AsyncSession, keys: Keys, fingerprint: str, tokens: StatusTokens
) -> Receipt | None:
    """The receipt of the earlier submission this one repeats, if any; 409 if it differs."""
    if not keys.present():
        return None
    found = (await session.scalars(select(Application).where(keys.clause()))).all()
    for what, value, column in keys.present():
        for existing in found:
            if getattr(existing, column.key) != value:
                continue
            if existing.sender != keys.sender:
                if what != "Idempotency-Key":
                    continue  # a natural key is unique per sender
                # A receipt carries the citizen's status token: only its own sender gets it again.
                raise Conflict(
                    f"the Idempotency-Key {value!r} was used by another sender",
                    [Violation("idempotency_conflict", what, value)],
                )
            if existing.fingerprint != fingerprint:
                raise Conflict(
                    f"the {what} {value} was used for different content "
                    f"(application {existing.id}); a new message needs a new one",
                    [Violation("idempotency_conflict", what, value)],
                )
            return _receipt(column_values(existing), tokens, replayed=True)
    return None


async def accept(
    db: Database,
    blobs: TieredBlobStore,
    tokens: StatusTokens,
    submission: Submission,
    idempotency_key: str | None,
    sender: str = "",
    received_detail: dict[str, Any] | None = None,
) -> Receipt:
    """Store the original and attachments, then commit row, timeline and outbox event at once.

    Small documents are rows of that same commit (see `TieredBlobStore`).

    The commit is shared with concurrent requests (`Database.group`); this returns only once the
    rows are committed, so a receipt is never handed out for something that could still be lost.

    A repeat (same Idempotency-Key, nachrichtenUUID or submissionId) with the same content gets
    the original receipt; with other content it is refused (409).
    """
    fingerprint = submission.fingerprint
    repeat = Keys(
        idempotency_key=idempotency_key,
        message_uuid=submission.application.form.message_uuid(submission.application.record),
        submission_id=submission.submission_id,
        sender=sender,
    )
    async with db.sessionmaker() as session:
        replay = await _replay(session, repeat, fingerprint, tokens)
        if replay is not None:
            return replay

    validated = submission.application
    form = validated.form
    original = submission.original
    attachments = [*submission.attachments, *_inline_attachments(submission)]
    keys, blob_rows = await _store(blobs, [original, *(a.spool for a in attachments)])
    blob_key = keys[original.sha256]
    attachment_rows = [(a, keys[a.spool.sha256]) for a in attachments]

    postleitzahl, ars = form.applicant_place(validated.record)
    now = utcnow()
    # The row as a plain dict: it is only inserted, and an ORM object costs more to build
    # than the rest of this function.
    app: dict[str, Any] = {
        "id": uuid.uuid4(),
        "form_id": form.id,
        "leika_key": form.leika_key,
        "status": RECEIVED,
        "received_at": now,
        "updated_at": now,
        "representation": validated.representation,
        "media_type": original.media_type,
        "size": original.size,
        "sha256": original.sha256,
        "sha512": original.sha512,
        "blob_key": blob_key,
        "record": validated.record,
        "postleitzahl": postleitzahl,
        "ars": ars,
        "idempotency_key": idempotency_key,
        "fingerprint": fingerprint,
        "sender": sender,
        "message_uuid": repeat.message_uuid,
        "submission_id": repeat.submission_id,
        "submission_metadata": submission.metadata,
    }
    try:
        await db.group.insert([*blob_rows, *_rows(app, attachment_rows, received_detail or {})])
    except IntegrityError:
        # A concurrent request with the same key won the race.
        async with db.sessionmaker() as session:
            replay = await _replay(session, repeat, fingerprint, tokens)
        if replay is None:
            raise
        return replay
    return _receipt(app, tokens)


def limits(settings: Settings) -> Limits:
    """The size limits of a submission, from the settings."""
    return Limits(
        max_body=settings.max_body_bytes,
        attachment_max=settings.attachment_max_bytes,
        spool_memory=settings.spool_memory_bytes,
        form_caps=settings.form_max_bytes,
    )


async def submit(
    db: Database,
    blobs: TieredBlobStore,
    tokens: StatusTokens,
    limits: Limits,
    body: bytes,
    content_type: str,
    idempotency_key: str | None,
    *,
    documents: Sequence[ReceivedAttachment] = (),
    received_detail: dict[str, Any] | None = None,
) -> Receipt:
    """What `POST /v1/applications` does, for a caller holding the body as bytes (the
    FIT-Connect destination): the same validation, receipt and outbox message.

    `documents` are kept with the application beside its attachments (the decrypted FIT-Connect
    metadata); `received_detail` goes into the first line of the citizen's timeline.
    """

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    submission = await receive(chunks(), content_type, limits, content_length=len(body))
    submission.attachments.extend(documents)
    try:
        return await accept(
            db, blobs, tokens, submission, idempotency_key, received_detail=received_detail
        )
    finally:
        submission.close()


async def _store(
    blobs: TieredBlobStore, spools: list[Spool]
) -> tuple[dict[str, str], list[Insert]]:
    """Store each distinct content: sha256 → key, and the rows of those kept in the database.

    Small contents become rows of the application's own commit; larger ones are put into the
    blob store now, durably, before that commit refers to them.
    """
    keys: dict[str, str] = {}
    rows: list[Insert] = []
    large: dict[str, Spool] = {}
    for spool in spools:
        sha256 = spool.sha256
        if sha256 in keys or sha256 in large:
            continue
        inline = (
            blobs.inline_row(spool.read_all(), sha256) if spool.size <= blobs.inline_max else None
        )
        if inline is None:
            large[sha256] = spool
        else:
            keys[sha256], row = inline
            rows.append(row)
    stored = await asyncio.gather(
        *(
            blobs.put(spool.file, sha256, spool.size, spool.media_type)
            for sha256, spool in large.items()
        )
    )
    keys.update(zip(large, stored, strict=True))
    return keys, rows


def _rows(
    app: dict[str, Any],
    attachments: list[tuple[ReceivedAttachment, str]],
    received_detail: dict[str, Any],
) -> list[Insert]:
    """The inserts of one accepted application, parents first."""
    attachment_rows = [
        {
            "id": uuid.uuid4(),
            "application_id": app["id"],
            "attachment_id": attachment.attachment_id,
            "filename": attachment.filename,
            "media_type": attachment.spool.media_type,
            "purpose": attachment.purpose,
            "size": attachment.spool.size,
            "sha256": attachment.spool.sha256,
            "sha512": attachment.spool.sha512,
            "blob_key": key,
        }
        for attachment, key in attachments
    ]
    rows: list[Insert] = [(table_of(Application), app)]
    rows.extend((table_of(Attachment), row) for row in attachment_rows)
    rows.append(
        (
            table_of(StatusEvent),
            {
                "application_id": app["id"],
                "at": app["received_at"],
                "status": RECEIVED,
                "detail": received_detail,
            },
        )
    )
    rows.append((outbox_table(), received_message(app, attachment_rows).outbox_row()))
    return rows


def _inline_attachments(submission: Submission) -> list[ReceivedAttachment]:
    """The attachments the document carried inline (`anlage/inhalt`), as stored attachments.

    Each is named by its `anlageId`, or by its position (`anlage-<n>`) when it has none.
    """
    inline = submission.inline
    if inline is None or not inline.spools:
        return []
    form = submission.application.form
    found = []
    for index, ref in enumerate(form.attachment_refs(submission.application.record), start=1):
        content = ref.get("inhalt")
        if not isinstance(content, dict):
            continue
        spool = inline.spools[content["sha256"]]
        filename = ref.get("dateiname")
        if filename:
            spool.media_type = mimetypes.guess_type(filename)[0] or spool.media_type
        found.append(
            ReceivedAttachment(
                attachment_id=str(ref.get("anlageId") or f"anlage-{index}"),
                spool=spool,
                filename=filename,
                purpose="attachment",
            )
        )
    return found


def received_message(
    app: Mapping[str, Any], attachments: Sequence[Mapping[str, Any]]
) -> ReceivedApplication:
    """`application.received`: enough for routing without reading intake's tables.

    `app` and `attachments` are the rows (`column_values` of stored ones).
    """
    return ReceivedApplication(
        application_id=app["id"],
        form_id=app["form_id"],
        leika_urn=FORMS[app["form_id"]].leika_urn,
        received_at=app["received_at"],
        postleitzahl=app["postleitzahl"],
        ars=app["ars"],
        original=Document(
            blob_key=app["blob_key"],
            sha256=app["sha256"],
            sha512=app["sha512"],
            size=app["size"],
            media_type=app["media_type"],
        ),
        attachments=[
            AttachmentDocument(
                attachment_id=row["attachment_id"],
                filename=row["filename"],
                purpose=row["purpose"],
                blob_key=row["blob_key"],
                sha256=row["sha256"],
                sha512=row["sha512"],
                size=row["size"],
                media_type=row["media_type"],
            )
            for row in attachments
        ],
        record=app["record"],
    )


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
                .order_by(StatusEvent.at, StatusEvent.id)
            )
        ).all()
    return StatusView(app, list(events))


async def record_statuses(
    session: AsyncSession, changes: Sequence[StatusChanged]
) -> set[uuid.UUID]:
    """Apply status changes with a few statements per batch; returns the unknown application ids.

    Events can arrive out of order (retries, competing consumers): every one goes into the
    timeline, and the application's current status is the one with the latest time. Only the
    id and time of each application are read (not its record), and the rows are written as one
    insert and one update per batch.
    """
    ids = {change.application_id for change in changes}
    current = {
        row.id: row.updated_at
        for row in await session.execute(
            select(Application.id, Application.updated_at).where(Application.id.in_(ids))
        )
    }
    latest: dict[uuid.UUID, StatusChanged] = {}
    events = []
    for change in changes:
        if change.application_id not in current:
            continue
        events.append(
            {
                "application_id": change.application_id,
                "at": change.at,
                "status": change.status,
                "detail": change.detail,
            }
        )
        if change.at >= current[change.application_id]:
            seen = latest.get(change.application_id)
            if seen is None or change.at >= seen.at:
                latest[change.application_id] = change
    if events:
        await session.execute(insert(table_of(StatusEvent)), events)
    if latest:
        applications = table_of(Application)
        await session.execute(
            update(applications)
            .where(applications.c.id == bindparam("app_id"))
            .values(status=bindparam("new_status"), updated_at=bindparam("new_at")),
            [
                {"app_id": c.application_id, "new_status": c.status, "new_at": c.at}
                for c in latest.values()
            ],
        )
    return ids - current.keys()
