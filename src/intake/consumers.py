"""Intake listens to the pipeline's status events and keeps the citizen's timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import STATUS_QUEUE, IncomingMessage, PermanentError
from eantrag.consumer import idempotent
from eantrag.runtime import Runtime, Worker
from intake.service import record_status

CITIZEN_STATUSES = {"routed", "unroutable", "filed", "in_progress", "decided", "closed"}


async def apply_status_event(session: AsyncSession, message: IncomingMessage) -> None:
    """Events carry `applicationId`, `status`, `at` and a `detail` object for the timeline."""
    try:
        event = orjson.loads(message.body)
        application_id = uuid.UUID(event["applicationId"])
        status = event["status"]
        at = datetime.fromisoformat(event["at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"malformed status event: {exc!r}") from exc
    if status not in CITIZEN_STATUSES:
        raise PermanentError(f"unknown status {status!r}")
    if not await record_status(session, application_id, status, event.get("detail") or {}, at):
        raise PermanentError(f"unknown application {application_id}")


def workers(runtime: Runtime) -> dict[str, Worker]:
    handler = idempotent("intake.status", runtime.db, apply_status_event)

    async def status_worker() -> None:
        await runtime.broker.consume(
            STATUS_QUEUE, handler, prefetch=runtime.settings.queue_prefetch
        )

    return {"status": status_worker}
