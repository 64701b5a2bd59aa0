"""What the e-Akte offers the citizen's back channel: the Bescheid of a case, and a place to
keep the messages sent to the citizen. Read and written in the caller's session."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casefile import audit, repository
from casefile.filing import StoredBlob
from casefile.models import CLOSED, DECIDED, AuditEntry, Dokument, Vorgang
from casefile.service import keep_document

NOTIFICATION_ACTOR = "system:notifications"
CITIZEN_ACTOR = "citizen:status-url"


async def case_for_application(
    session: AsyncSession, application_id: uuid.UUID, *, lock: bool = False
) -> Vorgang | None:
    query = select(Vorgang).where(Vorgang.application_id == application_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def file_reference(
    session: AsyncSession, application_id: uuid.UUID
) -> tuple[str, str] | None:
    """(authority name, Aktenzeichen) of the application's case; None before it is filed."""
    case = await session.scalar(
        select(Vorgang)
        .where(Vorgang.application_id == application_id)
        .options(selectinload(Vorgang.akte))
    )
    if case is None:
        return None
    return case.akte.authority_name, case.akte.aktenzeichen


async def decision_document(session: AsyncSession, application_id: uuid.UUID) -> Dokument | None:
    """The Bescheid the case was decided with, while the decision stands (decided or closed).

    It is the document the last `decided` transition named in the audit trail: an uploaded one
    or the generated one, never a later draft.
    """
    case = await case_for_application(session, application_id)
    if case is None or case.status not in (DECIDED, CLOSED):
        return None
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.vorgang_id == case.id, AuditEntry.action == "transition")
            .order_by(AuditEntry.seq.desc())
        )
    ).all()
    for entry in entries:
        value = entry.new_value if isinstance(entry.new_value, dict) else {}
        if value.get("status") == DECIDED and isinstance(value.get("decisionDocument"), dict):
            return await repository.document(
                session, case.id, uuid.UUID(value["decisionDocument"]["id"])
            )
    return None


async def record_citizen_download(
    session: AsyncSession, application_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """The citizen fetched the Bescheid through the status URL: an entry of the audit trail."""
    case = await case_for_application(session, application_id, lock=True)
    document = await repository.document(session, case.id, document_id) if case else None
    if case is None or document is None:
        return
    audit.append(
        session,
        case,
        actor=CITIZEN_ACTOR,
        action="document.read",
        new_value={
            "documentId": str(document.id),
            "kind": document.kind,
            "sha256": document.sha256,
        },
    )


async def file_notification(
    session: AsyncSession,
    application_id: uuid.UUID,
    stored: StoredBlob,
    *,
    title: str,
    filename: str,
    media_type: str,
) -> uuid.UUID | None:
    """Keep a message sent to the citizen as a document of the case (whatever its state: the
    message was sent); None when the application has no case yet."""
    case = await case_for_application(session, application_id, lock=True)
    if case is None:
        return None
    document = await keep_document(
        session,
        case,
        stored,
        media_type=media_type,
        filename=filename,
        kind="notification",
        document_key=f"notification:{filename}",
        title=title,
        actor=NOTIFICATION_ACTOR,
    )
    return document.id
