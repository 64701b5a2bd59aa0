"""`eantrag retry` moves dead letters back on RabbitMQ too: the matching ones return to their
work queue with a fresh attempt count, the others stay dead-lettered."""

from __future__ import annotations

import uuid

import aio_pika
import orjson
import pytest

from eantrag.amqp import AmqpBroker
from eantrag.broker import (
    DEAD_LETTER_EXCHANGE,
    ROUTING_QUEUE,
    authority_queue,
    dead_letter_queue,
)

pytestmark = pytest.mark.rabbitmq


async def dead_letter(channel: aio_pika.abc.AbstractChannel, queue: str, app: str) -> None:
    exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(
            orjson.dumps({"applicationId": app}),
            message_id=str(uuid.uuid4()),
            headers={"x-attempts": 2, "x-death-reason": "boom", "x-original-queue": queue},
        ),
        routing_key=queue,
    )


async def drain(
    channel: aio_pika.abc.AbstractChannel, queue: str
) -> list[aio_pika.IncomingMessage]:
    declared = await channel.declare_queue(queue, passive=True)
    out = []
    while (message := await declared.get(no_ack=True, fail=False)) is not None:
        out.append(message)
    return out


async def test_retry_moves_the_matching_dead_letters_back(amqp_url: str) -> None:
    wanted, other = str(uuid.uuid4()), str(uuid.uuid4())
    inbox = authority_queue("amt-a")
    setup = AmqpBroker(amqp_url, retry_delays=[1])
    await setup.start()
    await setup.declare_authority("amt-a")
    await setup.close()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await dead_letter(channel, ROUTING_QUEUE, wanted)
        await dead_letter(channel, ROUTING_QUEUE, other)
        await dead_letter(channel, inbox, wanted)

        # A fresh process (as `eantrag retry` is) knows the inboxes only by the ids it is given.
        broker = AmqpBroker(amqp_url, retry_delays=[1])
        try:
            moved = await broker.requeue_dead_letters(
                lambda body: orjson.loads(body)["applicationId"] == wanted, ["amt-a"]
            )
        finally:
            await broker.close()

        assert moved == 2
        back = await drain(channel, ROUTING_QUEUE)
        assert [orjson.loads(m.body)["applicationId"] for m in back] == [wanted]
        assert back[0].headers["x-attempts"] == 0
        assert back[0].headers["x-previous-death-reason"] == "boom"
        assert "x-death-reason" not in back[0].headers
        assert [orjson.loads(m.body)["applicationId"] for m in await drain(channel, inbox)] == [
            wanted
        ]
        still_dead = await drain(channel, dead_letter_queue(ROUTING_QUEUE))
        assert [orjson.loads(m.body)["applicationId"] for m in still_dead] == [other]
        assert still_dead[0].headers["x-death-reason"] == "boom"
        assert await drain(channel, dead_letter_queue(inbox)) == []
