"""Optional queues are bound only where they are read: the renderer's with renderings on, the
notifications worker's with an SMTP server. A status event nobody reads is not published."""

from __future__ import annotations

import uuid

import aio_pika
import pytest

from contracts.status import published
from eantrag.amqp import AmqpBroker
from eantrag.broker import (
    EVENTS_EXCHANGE,
    INTAKE_EXCHANGE,
    NOTIFICATIONS_QUEUE,
    RENDERING_QUEUE,
    ROUTING_QUEUE,
    OutgoingMessage,
    Topology,
    use_topology,
)
from eantrag.runtime import build_broker
from eantrag.settings import Settings
from tests.conftest import purge_queues


def test_optional_queues_follow_the_settings() -> None:
    everything = Topology()
    assert everything.route(INTAKE_EXCHANGE, "application.received") == [
        ROUTING_QUEUE,
        NOTIFICATIONS_QUEUE,
    ]
    assert everything.route(EVENTS_EXCHANGE, "application.filed") == [
        RENDERING_QUEUE,
        NOTIFICATIONS_QUEUE,
    ]
    bare = Topology(renderings=False, notifications=False)
    assert bare.route(INTAKE_EXCHANGE, "application.received") == [ROUTING_QUEUE]
    assert bare.route(EVENTS_EXCHANGE, "application.filed") == []
    assert {b.queue for b in bare.unbound} == {RENDERING_QUEUE, NOTIFICATIONS_QUEUE}
    assert NOTIFICATIONS_QUEUE not in bare.queues and RENDERING_QUEUE not in bare.queues
    mail_only = Topology(renderings=False, notifications=True)
    assert mail_only.route(EVENTS_EXCHANGE, "application.filed") == [NOTIFICATIONS_QUEUE]


def test_the_settings_make_the_process_topology(settings: Settings) -> None:
    quiet = settings.model_copy(update={"smtp_url": None, "pdf_renderings": False})
    broker = build_broker(quiet, None)  # type: ignore[arg-type]  # the database is not used
    assert broker.topology.bindings == Topology(renderings=False, notifications=False).bindings
    assert not published("filed") and not published("decided")
    build_broker(quiet.model_copy(update={"smtp_url": "smtp://127.0.0.1:1025"}), None)  # type: ignore[arg-type]
    assert published("filed") and published("decided") and not published("closed")
    use_topology(Topology())


@pytest.mark.rabbitmq
async def test_rabbitmq_removes_a_binding_an_earlier_configuration_made(amqp_url: str) -> None:
    before = AmqpBroker(amqp_url, retry_delays=[1])  # every queue bound, as before
    await before.start()
    await before.close()
    after = AmqpBroker(
        amqp_url, retry_delays=[1], topology=Topology(renderings=False, notifications=False)
    )
    await after.start()
    await purge_queues(amqp_url, ROUTING_QUEUE, NOTIFICATIONS_QUEUE)
    try:
        message_id = uuid.uuid4()
        await after.publish(
            [
                OutgoingMessage(
                    message_id, INTAKE_EXCHANGE, "application.received", "application", b"{}"
                )
            ]
        )
    finally:
        await after.close()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        routing = await channel.declare_queue(ROUTING_QUEUE, passive=True)
        notifications = await channel.declare_queue(NOTIFICATIONS_QUEUE, passive=True)
        got = await routing.get(no_ack=True, fail=False)
        assert got is not None and got.message_id == str(message_id)
        assert await notifications.get(no_ack=True, fail=False) is None
    # the default topology binds it again
    await before.start()
    await before.close()
