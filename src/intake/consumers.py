"""Intake listens to the pipeline's status events and keeps the citizen's timeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.status import StatusChanged
from eantrag.broker import STATUS_QUEUE, IncomingMessage, PermanentError
from eantrag.consumer import grouped
from eantrag.runtime import Runtime, Worker
from intake.service import record_statuses


async def apply_status_events(session: AsyncSession, messages: Sequence[IncomingMessage]) -> None:
    """A group of events in one transaction; a bad one fails the group, which is then split
    (see `grouped`) so that only the bad one is dead-lettered."""
    unknown = await record_statuses(session, [StatusChanged.parse(m.body) for m in messages])
    if unknown:
        raise PermanentError(f"unknown application {', '.join(sorted(map(str, unknown)))}")


def workers(runtime: Runtime) -> dict[str, Worker]:
    handler = grouped("intake.status", runtime.db, apply_status_events)

    async def status_worker() -> None:
        await runtime.broker.consume(
            STATUS_QUEUE, handler, prefetch=runtime.settings.queue_prefetch
        )

    return {"status": status_worker}
