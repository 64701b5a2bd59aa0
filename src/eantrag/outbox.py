"""Transactional outbox: messages are rows committed with the state change they announce.

The relay moves them to the broker in batches, publishing a whole batch pipelined and deleting the
rows only after the broker confirmed it. A crash between confirm and delete publishes the batch
again; consumers are idempotent by message id, so that costs a duplicate delivery, never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, cast

import orjson
import structlog
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import Broker, DatabaseQueueBroker, OutgoingMessage
from eantrag.db import Database, utcnow
from eantrag.models import OutboxMessage

log = structlog.get_logger(__name__)

_listeners: set[asyncio.Event] = set()


def add_message(
    session: AsyncSession,
    *,
    exchange: str,
    routing_key: str,
    type: str,
    payload: dict[str, Any],
    headers: dict[str, Any] | None = None,
    message_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Stage a message in the caller's transaction; it is published after the commit."""
    message_id = message_id or uuid.uuid4()
    row = message_row(
        exchange=exchange,
        routing_key=routing_key,
        type=type,
        payload=payload,
        headers=headers,
        message_id=message_id,
    )
    session.add(OutboxMessage(**row))
    return message_id


def message_row(
    *,
    exchange: str,
    routing_key: str,
    type: str,
    payload: dict[str, Any],
    headers: dict[str, Any] | None = None,
    message_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The outbox row of a message, for a plain insert (e.g. through `Database.group`)."""
    return {
        "message_id": message_id or uuid.uuid4(),
        "exchange": exchange,
        "routing_key": routing_key,
        "type": type,
        "body": orjson.dumps(payload),
        "headers": headers or {},
        "created_at": utcnow(),
    }


def outbox_table() -> Table:
    return cast(Table, OutboxMessage.__table__)


def notify_relay() -> None:
    """Wake the in-process relay; other processes find the rows by polling."""
    for event in _listeners:
        event.set()


class OutboxRelay:
    def __init__(
        self, db: Database, broker: Broker, *, batch_size: int = 200, idle_seconds: float = 0.5
    ) -> None:
        self.db = db
        self.broker = broker
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds

    async def relay_once(self) -> int:
        async with self.db.transaction() as session:
            # Plain rows, not ORM objects: the relay only reads them once and deletes them.
            rows = (
                await session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.message_id,
                        OutboxMessage.exchange,
                        OutboxMessage.routing_key,
                        OutboxMessage.type,
                        OutboxMessage.body,
                        OutboxMessage.headers,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            messages = [
                OutgoingMessage(
                    message_id=row.message_id,
                    exchange=row.exchange,
                    routing_key=row.routing_key,
                    type=row.type,
                    body=row.body,
                    headers=dict(row.headers or {}),
                )
                for row in rows
            ]
            if isinstance(self.broker, DatabaseQueueBroker):
                await self.broker.publish(messages, session=session)
            else:
                await self.broker.publish(messages)
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in rows]))
            )
        return len(rows)

    async def run(self) -> None:
        pending = asyncio.Event()
        _listeners.add(pending)
        try:
            await self._loop(pending)
        finally:
            _listeners.discard(pending)

    async def _loop(self, pending: asyncio.Event) -> None:
        backoff = self.idle_seconds
        while True:
            try:
                relayed = await self.relay_once()
                backoff = self.idle_seconds
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox.relay_failed", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if relayed < self.batch_size:
                pending.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pending.wait(), self.idle_seconds)
