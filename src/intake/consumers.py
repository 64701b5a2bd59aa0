"""Intake listens to the pipeline's status events and keeps the citizen's timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import STATUS_QUEUE, IncomingMessage, PermanentError
from eantrag.consumer import grouped
from eantrag.runtime import Runtime, Worker
from intake.service import StatusChange, record_statuses

CITIZEN_STATUSES = {
    "routed",
    "unroutable",
    "filed",
    "in_progress",
    "on_hold",
    "decided",
    "closed",
}


def parse_status_event(message: IncomingMessage) -> StatusChange:
    """Events carry `applicationId`, `status`, `at` and a `detail` object for the timeline."""
    try:
        event = orjson.loads(message.body)
        change = StatusChange(
            application_id=uuid.UUID(event["applicationId"]),
            status=event["status"],
            at=datetime.fromisoformat(event["at"]),
            detail=event.get("detail") or {},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PermanentError(f"malformed status event: {exc!r}") from exc
    if change.status not in CITIZEN_STATUSES:
        raise PermanentError(f"unknown status {change.status!r}")
    if change.at.tzinfo is None:
        raise PermanentError(f"status event time {event['at']!r} has no UTC offset")
    return change


async def apply_status_events(session: AsyncSession, messages: Sequence[IncomingMessage]) -> None:
    """A group of events in one transaction; a bad one fails the group, which is then split
    (see `grouped`) so that only the bad one is dead-lettered."""
    unknown = await record_statuses(session, [parse_status_event(m) for m in messages])
    if unknown:
        raise PermanentError(f"unknown application {', '.join(sorted(map(str, unknown)))}")


def workers(runtime: Runtime) -> dict[str, Worker]:
    handler = grouped("intake.status", runtime.db, apply_status_events)

    async def status_worker() -> None:
        await runtime.broker.consume(
            STATUS_QUEUE, handler, prefetch=runtime.settings.queue_prefetch
        )

    return {"status": status_worker}
