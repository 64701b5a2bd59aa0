"""Forgetting an application's notifications once its case file has gone to the archive (or was
destroyed): the messages themselves went with the case file; the record of them goes too."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from citizen.models import Notification


async def purge_notifications(session: AsyncSession, application_id: uuid.UUID) -> None:
    await session.execute(delete(Notification).where(Notification.application_id == application_id))
