"""The router: consumes `application.received`, decides, records, and hands over via the outbox.

Exactly-once delivery rests on two things committed together: the decision row (unique per
application, so a repeat is recognised whatever its message id: a redelivery, a re-drive) and
the outbox rows; no message id is recorded besides (`grouped(record_ids=False)`). An
authority's queue is declared before the transaction that addresses it commits, because the
AMQP relay publishes with `mandatory` and a missing queue would stall it. Deliveries that
arrive together are decided in one transaction (`grouped`): a transaction costs about ten
round trips however many applications it decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.application import REDRIVE_HEADER, ReceivedApplication
from eantrag.broker import ROUTING_QUEUE, IncomingMessage
from eantrag.consumer import GroupHandler, grouped
from eantrag.runtime import Runtime, Worker
from routing import repository, service

log = structlog.get_logger(__name__)


class QueueDeclarer:
    """Declares each authority's inbox once per process (all of them at start-up)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.declared: set[str] = set()

    async def ensure(self, authority_id: str) -> None:
        if authority_id not in self.declared:
            await self.runtime.broker.declare_authority(authority_id)
            self.declared.add(authority_id)

    async def declare_all(self) -> int:
        async with self.runtime.db.sessionmaker() as session:
            ids = await repository.authority_ids(session)
        for authority_id in ids:
            await self.ensure(authority_id)
        return len(ids)


def router_handler(declarer: QueueDeclarer) -> GroupHandler:
    async def route(session: AsyncSession, messages: Sequence[IncomingMessage]) -> None:
        parsed = [(ReceivedApplication.parse(m.body), m) for m in messages]
        existing = await repository.decisions(session, {r.application_id for r, _ in parsed})
        fresh: dict[uuid.UUID, ReceivedApplication] = {}
        for received, message in parsed:
            decided = existing.get(received.application_id)
            if decided is not None:
                # A re-drive: never deliver twice, but repeat the citizen's status event, which
                # is what a re-drive is for when the decision was made long ago.
                if message.headers.get(REDRIVE_HEADER):
                    await service.repeat_status_event(session, service.DecisionRecord.of(decided))
                log.info(
                    "routing.already_decided",
                    application_id=str(received.application_id),
                    authority_id=decided.authority_id,
                )
            else:
                fresh.setdefault(received.application_id, received)
        applications = list(fresh.values())
        decisions = await service.decide(session, applications)
        for decision in decisions:
            if decision.authority is not None:
                await declarer.ensure(decision.authority.authority_id)
        await service.record_decisions(session, list(zip(applications, decisions, strict=True)))
        for received, decision in zip(applications, decisions, strict=True):
            if decision.authority is not None:
                log.info(
                    "routing.routed",
                    application_id=str(received.application_id),
                    authority_id=decision.authority.authority_id,
                    area_key=decision.authority.area_key,
                )
            else:
                log.warning(
                    "routing.unroutable",
                    application_id=str(received.application_id),
                    reason=decision.reason,
                )

    return route


def workers(runtime: Runtime) -> dict[str, Worker]:
    declarer = QueueDeclarer(runtime)
    handle = grouped("routing", runtime.db, router_handler(declarer), record_ids=False)

    async def router() -> None:
        count = await declarer.declare_all()
        log.info("routing.authority_queues_declared", count=count)
        await runtime.broker.consume(
            ROUTING_QUEUE, handle, prefetch=runtime.settings.queue_prefetch
        )

    return {"router": router}
