"""Queries of the destination's table."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.db import column_values, table_of, utcnow
from fitconnect_destination.client import SubmissionRef
from fitconnect_destination.models import FETCHED, FILED, REJECTED, ReceivedSubmission


async def seen(session: AsyncSession, ref: SubmissionRef) -> dict[str, Any]:
    """The submission's row, inserted as `fetched` the first time it is seen."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    await session.execute(
        insert(ReceivedSubmission)
        .values(
            submission_id=ref.submission_id,
            case_id=ref.case_id,
            destination_id=ref.destination_id,
            state=FETCHED,
            send_attempts=0,
            first_seen_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["submission_id"])
    )
    row = await session.get(ReceivedSubmission, ref.submission_id, populate_existing=True)
    assert row is not None
    return column_values(row)


async def get(session: AsyncSession, submission_id: str) -> dict[str, Any] | None:
    row = await session.get(ReceivedSubmission, submission_id, populate_existing=True)
    return None if row is None else column_values(row)


async def set_values(
    session: AsyncSession,
    submission_id: str,
    *,
    expect: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Update the row; with `expect`, only while its columns still hold those values (a
    compare-and-set: of two processes at the same step, one wins). True if it was updated."""
    table = table_of(ReceivedSubmission)
    conditions = [table.c[name] == value for name, value in (expect or {}).items()]
    result = await session.execute(
        update(table)
        .where(table.c.submission_id == submission_id, *conditions)
        .values(updated_at=utcnow(), **values)
    )
    return bool(getattr(result, "rowcount", 0))


async def by_application(session: AsyncSession, application_id: uuid.UUID) -> dict[str, Any] | None:
    row = await session.scalar(
        select(ReceivedSubmission).where(ReceivedSubmission.application_id == application_id)
    )
    return None if row is None else column_values(row)


async def unanswered(session: AsyncSession, destination_id: str) -> list[SubmissionRef]:
    """Decided but not yet answered: the Zustelldienst may no longer list these (a reply that
    was lost after the event arrived), so they are taken from here."""
    rows = await session.execute(
        select(
            ReceivedSubmission.submission_id,
            ReceivedSubmission.case_id,
            ReceivedSubmission.destination_id,
        ).where(
            ReceivedSubmission.destination_id == destination_id,
            ReceivedSubmission.state.in_([FILED, REJECTED]),
        )
    )
    return [SubmissionRef(*row) for row in rows]


async def known_as(session: AsyncSession, application_id: uuid.UUID) -> dict[str, Any] | None:
    """The submission and case ids an application came with (for the clerk's case detail)."""
    row = await by_application(session, application_id)
    if row is None:
        return None
    return {"submissionId": row["submission_id"], "caseId": row["case_id"]}
