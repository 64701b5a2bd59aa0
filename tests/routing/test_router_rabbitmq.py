"""The router on PostgreSQL + RabbitMQ: examples, 10,000 applications, dead letters, and a broker
restart in the middle of a run. The module runs in a vhost of its own where rabbitmqctl can make
one (other pipelines on the same broker would otherwise compete for the shared work queues);
authority ids get a per-test suffix and the shared work queues are purged first."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
from sqlalchemy import func, select

from bootstrap.app import create_app
from bootstrap.demo import example_cases
from bootstrap.wiring import open_pipeline
from eantrag.broker import (
    INTAKE_EXCHANGE,
    ROUTING_QUEUE,
    UNROUTABLE_QUEUE,
    OutgoingMessage,
    authority_queue,
    dead_letter_queue,
)
from eantrag.models import OutboxMessage
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from routing.directory import DirectoryBatch
from routing.models import RoutingDecision
from routing.xzufi import read_xzufi
from tests.conftest import AMQP_TEST_URL, purge_queues, truncate_all
from tests.identity.support import as_portal
from tests.routing.support import (
    CHEMNITZ,
    DIRECTORY,
    DOG,
    DRESDEN,
    LEIPZIG,
    NIEDERWUERSCHNITZ,
    WOHNGELD,
    import_batch,
    received,
    stage_received,
    wait_for,
    workers,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]
SHARED_QUEUES = (ROUTING_QUEUE, UNROUTABLE_QUEUE, dead_letter_queue(ROUTING_QUEUE))


async def drain(
    url: str, queue: str, expected: int, within: float = 60
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take every message off a queue (at least `expected` of them, then until it is quiet)."""
    connection = await aio_pika.connect(url)
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1000)
        amqp_queue = await channel.declare_queue(queue, passive=True)
        deadline = asyncio.get_running_loop().time() + within
        async with amqp_queue.iterator(no_ack=True) as messages:
            while asyncio.get_running_loop().time() < deadline:
                try:
                    message = await asyncio.wait_for(
                        messages.__anext__(), 2 if len(got) >= expected else 10
                    )
                except TimeoutError:
                    if len(got) >= expected:
                        break
                    continue
                got.append(message)
    return got


def amqp(runtime: Runtime) -> str:
    return runtime.settings.amqp_url or AMQP_TEST_URL


def suffixed(batch: DirectoryBatch, suffix: str) -> DirectoryBatch:
    """The demo directory with authority ids of its own, so inbox queues are per test."""
    batch.authorities = {
        f"{k}-{suffix}": replace(a, id=f"{a.id}-{suffix}") for k, a in batch.authorities.items()
    }
    batch.responsibilities = [
        replace(r, authority_id=f"{r.authority_id}-{suffix}") for r in batch.responsibilities
    ]
    return batch


@pytest.fixture
def suffix() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
async def amqp_runtime(
    pg_database_url: str, amqp_url: str, tmp_path: Path, suffix: str
) -> AsyncIterator[Runtime]:
    await truncate_all(pg_database_url)
    await purge_queues(amqp_url, *SHARED_QUEUES)
    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_database_url,
        blob_url=(tmp_path / "blobs").as_uri(),
        amqp_url=amqp_url,
        public_base_url="http://testserver",
        retry_delays_seconds=[1, 1],
        db_pool_size=20,
    )
    runtime = await open_pipeline(settings)
    report = await import_batch(runtime.db, suffixed(read_xzufi(DIRECTORY), suffix))
    try:
        yield runtime
    finally:
        await runtime.close()
        queues = [authority_queue(a) for a in report.authority_ids]
        await purge_queues(amqp_url, *queues, *(dead_letter_queue(q) for q in queues), delete=True)
        await purge_queues(amqp_url, *SHARED_QUEUES)


async def decisions(runtime: Runtime) -> int:
    async with runtime.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(RoutingDecision)) or 0)


async def outbox_empty(runtime: Runtime) -> bool:
    async with runtime.db.sessionmaker() as session:
        return (await session.scalars(select(OutboxMessage.id).limit(1))).first() is None


def delivered(messages: list[Any]) -> dict[str, str]:
    """application id → message id; fails on a second delivery under a different id."""
    seen: dict[str, str] = {}
    for message in messages:
        application_id = orjson.loads(message.body)["applicationId"]
        assert seen.get(application_id, message.message_id) == message.message_id
        seen[application_id] = message.message_id
    return seen


async def test_every_example_routes_to_its_authority(amqp_runtime: Runtime, suffix: str) -> None:
    app = create_app(amqp_runtime.settings, runtime=amqp_runtime)
    receipts: dict[str, str] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await as_portal(client, amqp_runtime.db)
            for case in example_cases():
                if not case.expect_accept:
                    continue
                response = await client.post(
                    "/v1/applications",
                    content=case.body,
                    headers={"content-type": case.content_type},
                )
                assert response.status_code == 202, response.text
                city = "stadt-dresden" if "hunde" in case.title else "stadt-leipzig"
                receipts[response.json()["applicationId"]] = f"{city}-{suffix}"

            async with workers(amqp_runtime, "outbox-relay", "router"):
                await wait_for(lambda: _count_is(amqp_runtime, len(receipts)), within=30)
                await wait_for(lambda: outbox_empty(amqp_runtime), within=30)
    for authority in set(receipts.values()):
        messages = await drain(
            amqp(amqp_runtime),
            authority_queue(authority),
            sum(1 for a in receipts.values() if a == authority),
        )
        for application_id in delivered(messages):
            assert receipts[application_id] == authority
        for message in messages:
            body = orjson.loads(message.body)
            assert message.type == "eantrag.application.v1" and body["version"] == "1.0"


async def test_ten_thousand_applications_route_without_loss_or_duplicate(
    amqp_runtime: Runtime,
    suffix: str,
) -> None:
    places = [
        (DOG, DRESDEN, "stadt-dresden"),
        (WOHNGELD, LEIPZIG, "stadt-leipzig"),
        (DOG, CHEMNITZ, "stadt-chemnitz"),
        (DOG, NIEDERWUERSCHNITZ, "vv-lugau"),
        (WOHNGELD, NIEDERWUERSCHNITZ, "lk-erzgebirgskreis"),
    ]
    total = 10_000
    expected: dict[str, str] = {}
    messages = []
    for n in range(total):
        leika, ars, authority = places[n % len(places)]
        body = received(leika=leika, ars=ars, plz=None)
        expected[body["applicationId"]] = f"{authority}-{suffix}"
        messages.append(
            OutgoingMessage(
                uuid.uuid4(),
                INTAKE_EXCHANGE,
                "application.received",
                "application.received",
                orjson.dumps(body),
            )
        )
    for start in range(0, total, 1000):
        await amqp_runtime.broker.publish(messages[start : start + 1000])
    async with workers(amqp_runtime, "outbox-relay", "router", "router"):
        await wait_for(lambda: _count_is(amqp_runtime, total), within=120, interval=0.5)
        await wait_for(lambda: outbox_empty(amqp_runtime), within=60, interval=0.5)
    got: dict[str, str] = {}
    for authority in set(expected.values()):
        share = sum(1 for a in expected.values() if a == authority)
        seen = delivered(await drain(amqp(amqp_runtime), authority_queue(authority), share))
        assert len(seen) == share
        assert all(expected[a] == authority for a in seen)
        got.update(seen)
    assert set(got) == set(expected)


async def _count_is(runtime: Runtime, total: int) -> bool:
    return await decisions(runtime) >= total


async def test_a_failing_message_is_dead_lettered_with_its_reason_while_others_flow(
    amqp_runtime: Runtime,
    suffix: str,
) -> None:
    good = [received() for _ in range(20)]
    broken = OutgoingMessage(
        uuid.uuid4(),
        INTAKE_EXCHANGE,
        "application.received",
        "application.received",
        b'{"applicationId": 1}',
    )
    await stage_received(amqp_runtime.db, good[:10])
    await amqp_runtime.broker.publish([broken])
    await stage_received(amqp_runtime.db, good[10:])
    async with workers(amqp_runtime, "outbox-relay", "router"):
        await wait_for(lambda: _count_is(amqp_runtime, 20), within=30)
        await wait_for(lambda: outbox_empty(amqp_runtime), within=30)
    [dead] = await drain(amqp(amqp_runtime), dead_letter_queue(ROUTING_QUEUE), 1, within=15)
    assert dead.message_id == str(broken.message_id)
    assert "malformed application.received" in str(dead.headers["x-death-reason"])
    assert (
        len(
            delivered(
                await drain(amqp(amqp_runtime), authority_queue(f"stadt-dresden-{suffix}"), 20)
            )
        )
        == 20
    )


async def _rabbitmqctl(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()


async def test_every_accepted_application_is_delivered_once_across_a_broker_restart(
    amqp_runtime: Runtime,
    suffix: str,
) -> None:
    total = 1500
    bodies = [received() for _ in range(total)]
    for start in range(0, total, 500):
        await stage_received(amqp_runtime.db, bodies[start : start + 500])
    async with workers(amqp_runtime, "outbox-relay", "router", "router"):
        await wait_for(lambda: _count_is(amqp_runtime, 100), within=30, interval=0.05)
        try:
            await _rabbitmqctl("stop_app")
            await asyncio.sleep(2)
        finally:
            await _rabbitmqctl("start_app")
        with contextlib.suppress(Exception):
            await _rabbitmqctl("await_startup")
        await wait_for(lambda: _count_is(amqp_runtime, total), within=90, interval=0.5)
        await wait_for(lambda: outbox_empty(amqp_runtime), within=60, interval=0.5)
    seen = delivered(
        await drain(amqp(amqp_runtime), authority_queue(f"stadt-dresden-{suffix}"), total)
    )
    assert set(seen) == {b["applicationId"] for b in bodies}
