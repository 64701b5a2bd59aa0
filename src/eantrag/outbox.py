"""Transactional outbox: messages are rows committed with the state change they announce.

The relay moves them to the broker in batches, publishing a whole batch pipelined and deleting the
rows only after the broker confirmed it. A crash between confirm and delete publishes the batch
again; consumers are idempotent by message id, so that costs a duplicate delivery, never a loss.

A transaction that wrote outbox rows wakes the relays of its process once it has committed (the
session events below); relays of other processes find the rows by polling. Nobody wakes them by
hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, cast

import orjson
import structlog
from sqlalchemy import Table, delete, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from eantrag.broker import Broker, OutgoingMessage
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


# --- waking the relay after a commit that wrote outbox rows ---------------------------------

_WROTE_OUTBOX = "eantrag.outbox.written"


@event.listens_for(Session, "after_flush")
def _outbox_added(session: Session, _flush: UOWTransaction) -> None:
    if any(isinstance(obj, OutboxMessage) for obj in session.new):
        session.info[_WROTE_OUTBOX] = True


@event.listens_for(Session, "do_orm_execute")
def _outbox_inserted(state: ORMExecuteState) -> None:
    if state.is_insert and getattr(state.statement, "table", None) is OutboxMessage.__table__:
        state.session.info[_WROTE_OUTBOX] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_WROTE_OUTBOX, False):
        _wake_relays()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WROTE_OUTBOX, None)


def _wake_relays() -> None:
    for pending in _listeners:
        pending.set()


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
            await self.broker.publish(messages, session=session)
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
