"""Composition root: the infrastructure plus every context's workers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson

from casefile import consumers as casefile_consumers
from citizen import consumers as citizen_consumers
from eantrag.broker import DatabaseQueueBroker
from eantrag.outbox import notify_relay
from eantrag.runtime import Runtime, open_runtime
from eantrag.settings import Settings
from intake import consumers as intake_consumers
from intake import redrive as intake_redrive
from routing import consumers as routing_consumers
from routing import service as routing_service


async def open_pipeline(settings: Settings) -> Runtime:
    runtime = await open_runtime(settings)
    for context in (
        intake_consumers,
        intake_redrive,
        routing_consumers,
        casefile_consumers,
        citizen_consumers,
    ):
        runtime.workers.update(context.workers(runtime))
    return runtime


@dataclass(frozen=True)
class RetryOutcome:
    known: bool
    routed_to: str | None
    dead_letters_moved: int


async def retry_application(runtime: Runtime, application_id: uuid.UUID) -> RetryOutcome:
    """`eantrag retry`: routing forgets an unroutable decision, dead letters of the application
    go back to their queues with a fresh attempt count (in-database queue), and intake publishes
    the application again. A routed application is never delivered twice; it gets its status
    event again."""
    async with runtime.db.transaction() as session:
        kept = await routing_service.reset_unroutable(session, application_id)
        known = await intake_redrive.republish(session, application_id, why="manual retry")
    moved = 0
    if isinstance(runtime.broker, DatabaseQueueBroker):
        moved = await runtime.broker.requeue_dead_letters(
            lambda body: _application_id(body) == str(application_id)
        )
    notify_relay()
    return RetryOutcome(known, kept.authority_name if kept else None, moved)


def _application_id(body: bytes) -> str | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value.get("applicationId") if isinstance(value, dict) else None
