"""Idempotent message handling: the handler's work and the message id commit together.

A redelivered message (after a crash between commit and ack, or a relay that published twice)
finds its id already recorded and is acknowledged without running the handler again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import Handler, IncomingMessage
from eantrag.db import Database
from eantrag.metrics import MESSAGES_HANDLED
from eantrag.models import ProcessedMessage

log = structlog.get_logger(__name__)

SessionHandler = Callable[[AsyncSession, IncomingMessage], Awaitable[None]]


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
