"""Filing on PostgreSQL + RabbitMQ: the examples end in their authorities' case files, and many
deliveries handled concurrently (prefetch) by competing consumers get gap-free references.
Authority ids get a per-test suffix, so each test has inbox queues of its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bootstrap.app import create_app
from bootstrap.demo import example_cases
from casefile.models import Akte
from eantrag.broker import (
    ROUTING_QUEUE,
    UNROUTABLE_QUEUE,
)
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.support import (
    PIPELINE,
    authority_message,
    case_count,
    outgoing,
    status_of,
    suffixed_pipeline,
)
from tests.identity.support import as_portal
from tests.routing.support import WOHNGELD, wait_for, workers

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]
SHARED_QUEUES = (ROUTING_QUEUE, UNROUTABLE_QUEUE)


@pytest.fixture
async def amqp_runtime(
    pg_database_url: str, amqp_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, str]]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_database_url,
        blob_url=(tmp_path / "blobs").as_uri(),
        amqp_url=amqp_url,
        public_base_url="http://testserver",
        retry_delays_seconds=[1, 1],
        db_pool_size=20,
    )
    async with suffixed_pipeline(settings, SHARED_QUEUES) as pipeline:
        yield pipeline


async def test_every_example_is_filed_through_rabbitmq(
    amqp_runtime: tuple[Runtime, str],
) -> None:
    runtime, suffix = amqp_runtime
    app = create_app(runtime.settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await as_portal(client, runtime.db)
            receipts = {}
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
                receipts[response.json()["applicationId"]] = (response.json(), f"{city}-{suffix}")

            async def all_filed() -> bool:
                states = [(await status_of(client, r))["status"] for r, _ in receipts.values()]
                return all(s == "filed" for s in states)

            async with workers(runtime, *PIPELINE):
                await wait_for(all_filed, within=60, interval=0.3)
            async with runtime.db.sessionmaker() as session:
                akten = {a.aktenzeichen: a for a in (await session.scalars(select(Akte))).all()}
            for receipt, authority in receipts.values():
                state = await status_of(client, receipt)
                assert akten[state["fileReference"]].authority_id == authority


async def test_concurrent_deliveries_get_gap_free_references_through_rabbitmq(
    amqp_runtime: tuple[Runtime, str],
) -> None:
    runtime, suffix = amqp_runtime
    dresden, leipzig = f"stadt-dresden-{suffix}", f"stadt-leipzig-{suffix}"
    total = 200
    bodies = [
        await authority_message(
            runtime.blobs,
            dresden if n % 2 else leipzig,
            leika=WOHNGELD if n % 3 == 0 else "99102013104000",
        )
        for n in range(total)
    ]
    for authority in (dresden, leipzig):
        await runtime.broker.declare_authority(authority)
    await runtime.broker.publish([outgoing(b) for b in bodies])

    async def done() -> bool:
        return await case_count(runtime.db) >= total

    async with workers(runtime, "casefile", "casefile"):
        await wait_for(done, within=120, interval=0.5)
    async with runtime.db.sessionmaker() as session:
        akten = (await session.scalars(select(Akte))).all()
    assert len(akten) == total
    series: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for akte in akten:
        series[(akte.authority_id, akte.kennzeichen, akte.year)].append(akte.number)
    assert len(series) == 4
    for key, numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), key
