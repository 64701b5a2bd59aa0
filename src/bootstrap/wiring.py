"""Worker wiring: the infrastructure plus every context's workers, and the cross-context ports."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bootstrap.components import COMPONENTS
from eantrag.runtime import Runtime, open_runtime
from eantrag.settings import Settings
from intake import redrive
from intake.redrive import RetryOutcome
from routing import authorities
from routing import service as routing_service

__all__ = ["RetryOutcome", "open_pipeline", "retry_application"]


async def open_pipeline(settings: Settings) -> Runtime:
    runtime = await open_runtime(settings)
    for component in COMPONENTS:
        if component.workers is not None:
            runtime.workers.update(component.workers(runtime))
    return runtime


async def _forget_unroutable(session: AsyncSession, application_id: uuid.UUID) -> str | None:
    kept = await routing_service.reset_unroutable(session, application_id)
    return kept.authority_name if kept else None


async def retry_application(runtime: Runtime, application_id: uuid.UUID) -> RetryOutcome:
    """`eantrag retry`, intake's use case, with routing's decision and directory behind ports."""
    async with runtime.db.sessionmaker() as session:
        inboxes = await authorities.authority_ids(session)
    return await redrive.retry_application(
        runtime, application_id, _forget_unroutable, sorted(inboxes)
    )
