"""Idempotent message handling: the handler's work and the message id commit together.

A redelivered message (after a crash between commit and ack, or a relay that published twice)
finds its id already recorded and is acknowledged without running the handler again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

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
P = TypeVar("P")
R = TypeVar("R")


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


def grouped(
    consumer: str,
    db: Database,
    handler: GroupHandler,
    *,
    max_group: int = 64,
    record_ids: bool = True,
) -> Handler:
    """Like `idempotent`, but deliveries that arrive while a transaction runs share the next one.

    A transaction costs about ten round trips whatever it holds, so a consumer with a prefetch
    window commits a group at once. The contract is `idempotent`'s, per message: its id and its
    work commit together, or not at all. A group that fails is split, and each message is handled
    in a transaction of its own, so one bad message never fails the others.

    `record_ids=False` is for a handler that is idempotent by its own unique keys (one routing
    decision, one case per application): it sees every delivery, repeats included, and no
    message id is recorded — a look-up and a row per message less. A repeat that races its
    twin fails the unique key and is acknowledged as a duplicate.
    """

    async def each(session: AsyncSession, items: Sequence[Prepared[None]]) -> list[None]:
        await handler(session, [item.message for item in items])
        return [None] * len(items)

    commit = grouped_prepared(consumer, db, each, max_group=max_group, record_ids=record_ids)

    async def handle(message: IncomingMessage) -> None:
        await commit(message, None)

    return handle


@dataclass(frozen=True)
class Prepared(Generic[P]):
    """A delivery and what was prepared for it outside the transaction (parsed, rendered, …)."""

    message: IncomingMessage
    value: P


def grouped_prepared(
    consumer: str,
    db: Database,
    handler: Callable[[AsyncSession, Sequence[Prepared[P]]], Awaitable[Sequence[R]]],
    *,
    max_group: int = 64,
    record_ids: bool = True,
) -> Callable[[IncomingMessage, P], Awaitable[R | None]]:
    """`grouped` with a prepare step: the caller prepares each delivery outside the transaction
    and hands it over with `commit(message, prepared)`; the handler gets the prepared deliveries
    of a group and returns one result for each, which its `commit` returns (None for a delivery
    skipped as a duplicate). `record_ids` as in `grouped`."""
    pending: list[tuple[Prepared[P], asyncio.Future[R | None]]] = []
    draining: set[asyncio.Task[None]] = set()

    async def run(group: list[Prepared[P]]) -> list[R | None]:
        """Each delivery's result, in the group's order."""
        results: list[R | None] = [None] * len(group)
        async with db.transaction() as session:
            ids = [item.message.message_id for item in group]
            seen: set[uuid.UUID] = set()
            if record_ids:
                seen.update(
                    await session.scalars(
                        select(ProcessedMessage.message_id).where(
                            ProcessedMessage.consumer == consumer,
                            ProcessedMessage.message_id.in_(ids),
                        )
                    )
                )
            fresh: dict[object, int] = {}
            for index, item in enumerate(group):
                message = item.message
                if message.message_id in seen or (record_ids and message.message_id in fresh):
                    MESSAGES_HANDLED.labels(message.queue, "duplicate").inc()
                else:
                    # without recorded ids a repeat is the handler's to recognise: it sees it
                    fresh[message.message_id if record_ids else index] = index
            if fresh and record_ids:
                await session.execute(
                    insert(ProcessedMessage),
                    [
                        {"consumer": consumer, "message_id": m, "processed_at": utcnow()}
                        for m in fresh
                    ],
                )
            if fresh:
                handled = await handler(session, [group[i] for i in fresh.values()])
                for index, result in zip(fresh.values(), handled, strict=True):
                    results[index] = result
        GROUP_SIZE.labels(consumer).observe(len(group))
        for index in fresh.values():
            MESSAGES_HANDLED.labels(group[index].message.queue, "ok").inc()
        return results

    async def run_alone(item: Prepared[P], future: asyncio.Future[R | None]) -> None:
        message = item.message
        result: R | None = None
        try:
            [result] = await run([item])
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
            future.set_result(result)

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
                results = await run([item for item, _ in group])
            except Exception as exc:
                log.info("group.split", consumer=consumer, size=len(group), error=repr(exc))
                for item, future in group:
                    await run_alone(item, future)
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def commit(message: IncomingMessage, value: P) -> R | None:
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        pending.append((Prepared(message, value), future))
        if not draining:
            draining.add(asyncio.create_task(drain()))
        return await asyncio.shield(future)

    return commit
