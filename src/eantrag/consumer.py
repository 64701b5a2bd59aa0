"""Idempotent message handling: the handler's work and the message id commit together.

A redelivered message (after a crash between commit and ack, or a relay that published twice)
finds its id already recorded and is acknowledged without running the handler again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import Handler, IncomingMessage
from eantrag.db import Database, utcnow
from eantrag.metrics import GROUP_SIZE, MESSAGES_HANDLED
from eantrag.models import ProcessedMessage

log = structlog.get_logger(__name__)

SessionHandler = Callable[[AsyncSession, IncomingMessage], Awaitable[None]]
GroupHandler = Callable[[AsyncSession, Sequence[IncomingMessage]], Awaitable[None]]


def idempotent(consumer: str, db: Database, handler: SessionHandler) -> Handler:
    async def handle(message: IncomingMessage) -> None:
        bound = log.bind(consumer=consumer, message_id=str(message.message_id), queue=message.queue)
        try:
            async with db.transaction() as session:
                seen = await session.scalar(
                    select(ProcessedMessage.id).where(
                        ProcessedMessage.consumer == consumer,
                        ProcessedMessage.message_id == message.message_id,
                    )
                )
                if seen is not None:
                    bound.info("message.duplicate_skipped")
                    MESSAGES_HANDLED.labels(message.queue, "duplicate").inc()
                    return
                session.add(ProcessedMessage(consumer=consumer, message_id=message.message_id))
                await handler(session, message)
        except IntegrityError:
            # Another consumer committed the same message id concurrently.
            bound.info("message.duplicate_race")
            MESSAGES_HANDLED.labels(message.queue, "duplicate").inc()
            return
        except Exception:
            MESSAGES_HANDLED.labels(message.queue, "failed").inc()
            raise
        MESSAGES_HANDLED.labels(message.queue, "ok").inc()

    return handle


def grouped(consumer: str, db: Database, handler: GroupHandler, *, max_group: int = 64) -> Handler:
    """Like `idempotent`, but deliveries that arrive while a transaction runs share the next one.

    A transaction costs about ten round trips whatever it holds, so a consumer with a prefetch
    window commits a group at once. The contract is `idempotent`'s, per message: its id and its
    work commit together, or not at all. A group that fails is split, and each message is handled
    in a transaction of its own, so one bad message never fails the others.
    """
    pending: list[tuple[IncomingMessage, asyncio.Future[None]]] = []
    draining: set[asyncio.Task[None]] = set()

    async def run(group: list[IncomingMessage]) -> None:
        async with db.transaction() as session:
            ids = [m.message_id for m in group]
            seen = set(
                await session.scalars(
                    select(ProcessedMessage.message_id).where(
                        ProcessedMessage.consumer == consumer,
                        ProcessedMessage.message_id.in_(ids),
                    )
                )
            )
            fresh: dict[object, IncomingMessage] = {}
            for message in group:
                if message.message_id in seen or message.message_id in fresh:
                    MESSAGES_HANDLED.labels(message.queue, "duplicate").inc()
                else:
                    fresh[message.message_id] = message
            if fresh:
                await session.execute(
                    insert(ProcessedMessage),
                    [
                        {"consumer": consumer, "message_id": m.message_id, "processed_at": utcnow()}
                        for m in fresh.values()
                    ],
                )
                await handler(session, list(fresh.values()))
        GROUP_SIZE.labels(consumer).observe(len(group))
        for message in fresh.values():
            MESSAGES_HANDLED.labels(message.queue, "ok").inc()

    async def run_alone(message: IncomingMessage, future: asyncio.Future[None]) -> None:
        try:
            await run([message])
        except IntegrityError:
            log.info(
                "message.duplicate_race", consumer=consumer, message_id=str(message.message_id)
            )
            MESSAGES_HANDLED.labels(message.queue, "duplicate").inc()
        except Exception as exc:
            MESSAGES_HANDLED.labels(message.queue, "failed").inc()
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(None)

    async def drain() -> None:
        try:
            await _drain()
        finally:
            # No await between the last look at `pending` and here: nothing can slip through.
            draining.clear()

    async def _drain() -> None:
        while pending:
            group = pending[:max_group]
            del pending[:max_group]
            if len(group) == 1:
                await run_alone(*group[0])
                continue
            try:
                await run([m for m, _ in group])
            except Exception as exc:
                log.info("group.split", consumer=consumer, size=len(group), error=repr(exc))
                for message, future in group:
                    await run_alone(message, future)
                continue
            for _, future in group:
                if not future.done():
                    future.set_result(None)

    async def handle(message: IncomingMessage) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending.append((message, future))
        if not draining:
            draining.add(asyncio.create_task(drain()))
        await asyncio.shield(future)

    return handle
