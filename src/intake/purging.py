"""Forgetting an application once its case file has gone to the archive (or was destroyed).

Intake keeps the application as received (record, original, attachments, the citizen's
timeline) for the life of the case; after the Aussonderung nothing of it may stay behind. Blob
files are shared by content, so the keys are only returned: the caller deletes those no row of
any context still references, after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Application, Attachment, StatusEvent


async def purge_application(session: AsyncSession, application_id: uuid.UUID) -> list[str]:
    """Delete the application with its attachments and timeline; return the blob keys it used."""
    application = await session.get(Application, application_id)
    if application is None:
        return []
    keys = {application.blob_key}
    keys.update(
        (
            await session.scalars(
                select(Attachment.blob_key).where(Attachment.application_id == application_id)
            )
        ).all()
    )
    await session.execute(delete(StatusEvent).where(StatusEvent.application_id == application_id))
    await session.execute(delete(Attachment).where(Attachment.application_id == application_id))
    await session.execute(delete(Application).where(Application.id == application_id))
    return sorted(keys)


async def referenced_blobs(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these keys an application or attachment still uses."""
    if not keys:
        return set()
    wanted = list(keys)
    used = set(
        (
            await session.scalars(
                select(Application.blob_key).where(Application.blob_key.in_(wanted))
            )
        ).all()
    )
    used.update(
        (
            await session.scalars(
                select(Attachment.blob_key).where(Attachment.blob_key.in_(wanted))
            )
        ).all()
    )
    return used
