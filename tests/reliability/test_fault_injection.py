"""Fault injection with real processes, PostgreSQL and RabbitMQ: while 2,000 applications arrive,
the API is killed with SIGKILL, every worker is killed in turn, RabbitMQ is restarted, PostgreSQL
is restarted. Afterwards every acknowledged application is filed in its authority's case file
exactly once, with the hash of the bytes the citizen sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aio_pika
import pytest

from tests.conftest import AMQP_TEST_URL, need_service
from tests.reliability.harness import (
    Filed,
    Load,
    Stack,
    admin_sql,
    filing_state,
    run,
    stored_bytes_match,
    where_are,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

TOTAL = 2000
SETTLE_SECONDS = 120.0
STALL_SECONDS = 25.0


async def _services_up() -> None:
    try:
        await admin_sql("SELECT 1")
    except Exception:
        need_service(
            "PostgreSQL",
            "start it with: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start",
        )
    try:
        connection = await asyncio.wait_for(aio_pika.connect(AMQP_TEST_URL), 5)
        await connection.close()
    except Exception:
        need_service(f"RabbitMQ at {AMQP_TEST_URL}", "start it with: rabbitmq-server -detached")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    await _services_up()
    stack = Stack(tmp_path)
    await stack.create()
    try:
        await stack.start_api()
        stack.start_workers(await stack.worker_names())
        yield stack
    finally:
        await stack.close()


async def settle(stack: Stack, load: Load) -> Filed:
    """Wait until every acknowledged application is filed, as long as filing makes progress
    (a stall of STALL_SECONDS, or SETTLE_SECONDS in all, ends the wait)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    state = await filing_state(stack, load.acknowledged)
    progress_at, filed = time.monotonic(), state.filed
    while state.missing and time.monotonic() < min(deadline, progress_at + STALL_SECONDS):
        await asyncio.sleep(1)
        state = await filing_state(stack, load.acknowledged)
        if state.filed > filed:
            progress_at, filed = time.monotonic(), state.filed
    return state


async def scenario(
    stack: Stack,
    faults: list[tuple[float, Callable[[], Awaitable[None]]]],
) -> tuple[Load, Filed]:
    load = Load(stack, TOTAL)
    started = time.monotonic()
    await load.run(faults)
    state = await settle(stack, load)
    elapsed = time.monotonic() - started
    print(
        f"\n{len(load.acknowledged)} acknowledged, {state.filed} filed, "
        f"{len(state.missing)} missing, {len(state.duplicated)} duplicated, "
        f"{len(state.wrong_hash)} wrong hashes, {load.failures} failed attempts retried, "
        f"{elapsed:.1f}s"
    )
    return load, state


async def assert_exactly_once(stack: Stack, load: Load, state: Filed) -> None:
    assert not load.refused, load.refused[:3]
    assert not state.unknown_to_intake, state.unknown_to_intake[:5]
    if state.missing:
        where = await where_are(stack, state.missing)
        raise AssertionError(
            f"{len(state.missing)} acknowledged applications were not filed, e.g. "
            f"{state.missing[:3]}; {where}\n{stack.logs()}"
        )
    assert not state.duplicated, state.duplicated[:5]
    assert not state.wrong_hash, state.wrong_hash[:5]
    assert len(load.acknowledged) == TOTAL, f"only {len(load.acknowledged)} acknowledged"
    assert state.filed == TOTAL


async def test_kill_9_of_the_api_loses_and_duplicates_nothing(stack: Stack) -> None:
    async def kill_api() -> None:
        await stack.restart("api", after=0.2)

    load, state = await scenario(stack, [(0.3, kill_api)])
    await assert_exactly_once(stack, load, state)
    assert not await stored_bytes_match(stack, load.acknowledged)


async def test_kill_9_of_every_worker_loses_and_duplicates_nothing(stack: Stack) -> None:
    names = [name for name in stack.processes if name != "api"]
    assert {"outbox-relay", "router", "casefile"} <= set(names)

    def killer(name: str) -> Callable[[], Awaitable[None]]:
        async def kill() -> None:
            await stack.restart(name, after=0.5)

        return kill

    faults = [(0.1 + 0.8 * i / len(names), killer(name)) for i, name in enumerate(names)]
    load, state = await scenario(stack, faults)
    await assert_exactly_once(stack, load, state)


async def test_a_rabbitmq_restart_loses_and_duplicates_nothing(stack: Stack) -> None:
    async def restart_rabbitmq() -> None:
        try:
            await run("rabbitmqctl", "-q", "stop_app")
            await asyncio.sleep(2)
        finally:
            await run("rabbitmqctl", "-q", "start_app")
        with contextlib.suppress(Exception):
            await run("rabbitmqctl", "-q", "await_startup")

    load, state = await scenario(stack, [(0.3, restart_rabbitmq)])
    await assert_exactly_once(stack, load, state)


async def test_a_postgresql_restart_loses_and_duplicates_nothing(stack: Stack) -> None:
    async def restart_postgresql() -> None:
        version = (await run("ls", "/etc/postgresql")).split()[0]
        await run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart")

    load, state = await scenario(stack, [(0.3, restart_postgresql)])
    await assert_exactly_once(stack, load, state)
