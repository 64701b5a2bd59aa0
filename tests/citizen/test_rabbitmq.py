"""The whole e-mail sequence once through RabbitMQ (and PostgreSQL): the notifications queue,
its bindings and the consumer's retry topology are the broker's own there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bootstrap.app import create_app
from eantrag.broker import (
    NOTIFICATIONS_QUEUE,
    ROUTING_QUEUE,
    UNROUTABLE_QUEUE,
)
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.support import issue_token, suffixed_pipeline
from tests.citizen.conftest import SmtpServer
from tests.citizen.support import (
    DOG_OWNER,
    WITH_NOTIFICATIONS,
    case_of,
    clerk_post,
    submit,
    wait_for_status,
)
from tests.identity.support import as_portal
from tests.routing.support import wait_for, workers

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]
SHARED_QUEUES = (ROUTING_QUEUE, UNROUTABLE_QUEUE, NOTIFICATIONS_QUEUE)


@pytest.fixture
async def amqp_runtime(
    pg_database_url: str, amqp_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> AsyncIterator[tuple[Runtime, str]]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_database_url,
        blob_url=(tmp_path / "blobs").as_uri(),
        amqp_url=amqp_url,
        public_base_url="http://testserver",
        retry_delays_seconds=[1, 2],
        smtp_url=smtp_server.url,
        gc_freeze=False,
    )
    async with suffixed_pipeline(settings, SHARED_QUEUES) as pipeline:
        yield pipeline


async def test_the_mail_sequence_through_rabbitmq(
    amqp_runtime: tuple[Runtime, str], smtp_server: SmtpServer
) -> None:
    runtime, suffix = amqp_runtime
    inbox = smtp_server.inbox
    app = create_app(runtime.settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await as_portal(client, runtime.db)
            token = (await issue_token(runtime.db, f"stadt-dresden-{suffix}")).token
            receipt = await submit(client)
            async with workers(runtime, *WITH_NOTIFICATIONS):
                await wait_for(lambda: _has(inbox.messages, 2), within=30)
                state = await wait_for_status(client, receipt, "filed")
                case = await case_of(client, token, receipt)
                await clerk_post(
                    client, token, case, "missing-documents", {"message": "Bitte Impfpass."}
                )
                await wait_for(lambda: _has(inbox.messages, 3), within=30)
                await clerk_post(client, token, case, "transitions", {"to": "in_progress"})
                await clerk_post(
                    client, token, case, "transitions", {"to": "decided", "outcome": "granted"}
                )
                await wait_for(lambda: _has(inbox.messages, 4), within=30)

                async def all_kept() -> bool:
                    kept = (await case_of(client, token, receipt))["documents"]
                    return sum(1 for d in kept if d["kind"] == "notification") == 4

                await wait_for(all_kept, within=30)
                await asyncio.sleep(1)  # time for a mail that should not come
            case = await case_of(client, token, receipt)
    assert len(inbox.messages) == 4
    assert {str(m["To"]) for m in inbox.messages} == {DOG_OWNER}
    assert state["fileReference"] in str(inbox.messages[1]["Subject"])
    assert "Bitte Impfpass." in inbox.messages[2].get_content()
    assert "/bescheid?token=" in inbox.messages[3].get_content()
    assert sum(1 for d in case["documents"] if d["kind"] == "notification") == 4


async def _has(messages: list[object], n: int) -> bool:
    return len(messages) >= n
