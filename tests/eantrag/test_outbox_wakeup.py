"""A transaction that wrote outbox rows wakes the relay when it commits, however it wrote them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import insert

from eantrag.broker import EVENTS_EXCHANGE, RENDERING_QUEUE, DatabaseQueueBroker
from eantrag.db import Database
from eantrag.outbox import OutboxRelay, add_message, message_row, outbox_table
from eantrag.runtime import Runtime

# Far longer than any test waits: a message that arrives came because the commit woke the relay.
ASLEEP_SECONDS = 60.0


def row() -> dict[str, object]:
    return message_row(
        exchange=EVENTS_EXCHANGE, routing_key="application.filed", type="test", payload={}
    )


async def orm_add(db: Database) -> None:
    async with db.transaction() as session:
        add_message(
            session,
            exchange=EVENTS_EXCHANGE,
            routing_key="application.filed",
            type="test",
            payload={},
        )


async def core_insert(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(insert(outbox_table()), [row()])


async def group_commit(db: Database) -> None:
    await db.group.insert([(outbox_table(), row())])


@pytest.fixture
async def sleeping_relay(runtime: Runtime) -> AsyncIterator[DatabaseQueueBroker]:
    broker = runtime.broker
    assert isinstance(broker, DatabaseQueueBroker)
    relay = OutboxRelay(runtime.db, broker, idle_seconds=ASLEEP_SECONDS)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.3)  # it found the outbox empty and waits
    yield broker
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def arrived(broker: DatabaseQueueBroker, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await broker.depth(RENDERING_QUEUE) > 0:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("write", [orm_add, core_insert, group_commit])
async def test_the_commit_of_outbox_rows_wakes_the_relay(
    runtime: Runtime,
    sleeping_relay: DatabaseQueueBroker,
    write: Callable[[Database], Awaitable[None]],
) -> None:
    await write(runtime.db)
    assert await arrived(sleeping_relay, within=10.0)
