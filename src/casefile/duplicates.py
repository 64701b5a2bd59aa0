"""Likely duplicates: other applications of the same applicant for the same service that arrived
within 30 days before or after this one, in the same authority.

The applicant is compared by family name, given name (without case or extra blanks) and date of
birth (`casefile.applicant.Applicant.identity_key`, written at filing). Exactly 30 days apart
still counts. A case of another authority is never reported: the authority does not see it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casefile.models import Akte, Vorgang

WINDOW = timedelta(days=30)
MAX_REPORTED = 20


@dataclass(frozen=True)
class Duplicate:
    case_id: uuid.UUID
    application_id: uuid.UUID
    file_reference: str
    received_at: datetime
    status: str


async def likely_duplicates(session: AsyncSession, case: Vorgang) -> list[Duplicate]:
    """Oldest first; none for a case without a known applicant."""
    if case.applicant_key is None:
        return []
    rows = await session.execute(
        select(Vorgang.id, Vorgang.application_id, Akte.aktenzeichen, Vorgang.received_at)
        .add_columns(Vorgang.status)
        .join(Akte, Akte.id == Vorgang.akte_id)
        .where(
            Vorgang.authority_id == case.authority_id,
            Vorgang.applicant_key == case.applicant_key,
            Vorgang.leika_key == case.leika_key,
            Vorgang.received_at >= case.received_at - WINDOW,
            Vorgang.received_at <= case.received_at + WINDOW,
            Vorgang.id != case.id,
        )
        .order_by(Vorgang.received_at, Vorgang.id)
        .limit(MAX_REPORTED)
    )
    return [Duplicate(*row) for row in rows.all()]
