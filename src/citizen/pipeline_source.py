"""`CitizenSource` over intake's applications and the e-Akte, in the caller's session."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casefile import citizen as casefile_citizen
from casefile.filing import store_bytes
from citizen.sources import Addressee, Bescheid, SentMessage
from contracts.forms import FORMS
from eantrag.blobs import TieredBlobStore
from eantrag.db import insert_rows
from intake.models import Application


def reply_address(form_applicant: str, record: dict[str, Any], metadata: Any) -> str | None:
    """FIT-Connect's `replyChannel.eMail.address` first (the channel the portal chose for
    replies), else the applicant's `kontakt/email` in the form."""
    if isinstance(metadata, dict):
        channel = metadata.get("replyChannel")
        if isinstance(channel, dict) and isinstance(channel.get("eMail"), dict):
            address = channel["eMail"].get("address")
            if isinstance(address, str) and address.strip():
                return address.strip()
    applicant = record.get(form_applicant)
    if isinstance(applicant, dict) and isinstance(applicant.get("kontakt"), dict):
        address = applicant["kontakt"].get("email")
        if isinstance(address, str) and address.strip():
            return address.strip()
    return None


class PipelineSource:
    def __init__(self, blobs: TieredBlobStore) -> None:
        self.blobs = blobs

    async def addressee(self, session: AsyncSession, application_id: uuid.UUID) -> Addressee | None:
        app = await session.get(Application, application_id)
        if app is None:
            return None
        form = FORMS[app.form_id]
        filed = await casefile_citizen.file_reference(session, application_id)
        return Addressee(
            application_id=app.id,
            email=reply_address(form.applicant, app.record, app.submission_metadata),
            form_title=form.title,
            received_at=app.received_at,
            authority=filed[0] if filed else None,
            file_reference=filed[1] if filed else None,
        )

    async def bescheid(self, session: AsyncSession, application_id: uuid.UUID) -> Bescheid | None:
        document = await casefile_citizen.decision_document(session, application_id)
        if document is None:
            return None
        return Bescheid(
            document_id=document.id,
            title=document.title,
            filename=document.filename,
            media_type=document.media_type,
            size=document.size,
            sha256=document.sha256,
            blob_key=document.blob_key,
        )

    async def record_download(
        self, session: AsyncSession, application_id: uuid.UUID, bescheid: Bescheid
    ) -> None:
        await casefile_citizen.record_citizen_download(
            session, application_id, bescheid.document_id
        )

    async def file_message(
        self, session: AsyncSession, application_id: uuid.UUID, message: SentMessage
    ) -> uuid.UUID | None:
        if await casefile_citizen.case_for_application(session, application_id) is None:
            return None
        stored, rows = await store_bytes(self.blobs, message.content, message.media_type)
        await insert_rows(session, rows)
        return await casefile_citizen.file_notification(
            session,
            application_id,
            stored,
            title=message.title,
            filename=message.filename,
            media_type=message.media_type,
        )
