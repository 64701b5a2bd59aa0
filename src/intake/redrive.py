"""Re-drive applications that were accepted but never left `received`: the sweeper and retry.

Only intake knows that an application exists and has not moved on (its persisted status), so the
sweeper lives here and does the one thing intake may do: publish its own `application.received`
again, rebuilt from the stored rows, marked with an `x-redrive` header and a fresh message id.
Routing is idempotent per application (its decision table): a re-driven application that was
already decided is never delivered twice; routing only repeats the status event, which is what
a stale `received` usually lacks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

import orjson
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.application import REDRIVE_HEADER
from eantrag.db import Database, column_values, utcnow
from eantrag.runtime import Runtime, Worker
from intake.models import Application, Attachment
from intake.service import RECEIVED, received_message

log = structlog.get_logger(__name__)

SWEEP_BATCH = 500


async def republish(session: AsyncSession, application_id: uuid.UUID, *, why: str) -> bool:
    """Stage `application.received` again for one application; False if it is unknown."""
    app = await session.get(Application, application_id)
    if app is None:
        return False
    attachments = (
        await session.scalars(
            select(Attachment)
            .where(Attachment.application_id == application_id)
            .order_by(Attachment.attachment_id)
        )
    ).all()
    received_message(column_values(app), [column_values(a) for a in attachments]).stage(
        session, headers={REDRIVE_HEADER: why}
    )
    return True


async def sweep(db: Database, *, older_than: timedelta, limit: int = SWEEP_BATCH) -> int:
    """Re-drive applications still `received` after `older_than`; returns how many."""
    cutoff = utcnow() - older_than
    async with db.transaction() as session:
        ids = (
            await session.scalars(
                select(Application.id)
                .where(Application.status == RECEIVED, Application.updated_at < cutoff)
                .order_by(Application.updated_at)
                .limit(limit)
            )
        ).all()
        for application_id in ids:
            await republish(session, application_id, why="sweeper")
    if ids:
        log.warning("sweeper.redriven", count=len(ids), older_than=str(older_than))
    return len(ids)


# Port to routing: forget an unroutable decision so that routing decides again; returns the name
# of the authority the application stays routed to (a delivery is never undone), else None.
ForgetUnroutable = Callable[[AsyncSession, uuid.UUID], Awaitable[str | None]]


@dataclass(frozen=True)
class RetryOutcome:
    known: bool
    routed_to: str | None
    dead_letters_moved: int


async def retry_application(
    runtime: Runtime,
    application_id: uuid.UUID,
    forget_unroutable: ForgetUnroutable,
    authority_ids: Iterable[str] = (),
) -> RetryOutcome:
    """`eantrag retry`: routing forgets an unroutable decision, dead letters of the application
    go back to their queues with a fresh attempt count (those of the authorities' inboxes too,
    given their ids), and intake publishes the application again. A routed application is never
    delivered twice; it gets its status event again."""
    async with runtime.db.transaction() as session:
        routed_to = await forget_unroutable(session, application_id)
        known = await republish(session, application_id, why="manual retry")
    moved = await runtime.broker.requeue_dead_letters(
        lambda body: _application_id(body) == str(application_id), authority_ids
    )
    return RetryOutcome(known, routed_to, moved)


def _application_id(body: bytes) -> str | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value.get("applicationId") if isinstance(value, dict) else None


def workers(runtime: Runtime) -> dict[str, Worker]:
    settings = runtime.settings

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(settings.sweeper_interval_seconds)
            await sweep(runtime.db, older_than=timedelta(seconds=settings.sweeper_after_seconds))

    return {"routing-sweeper": sweeper}
