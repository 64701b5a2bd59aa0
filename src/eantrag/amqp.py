"""RabbitMQ adapter of the broker port (aio-pika).

Quorum queues for all work, a direct dead-letter exchange with one `<queue>.dlq` per queue, and
delayed retries through per-delay TTL queues that dead-letter back through `eantrag.requeue`,
where every work queue is bound under its own name.

Consumers own their connection and re-subscribe from scratch when the channel or connection
closes: a robust connection alone was seen to come back without resuming consumption.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractIncomingMessage,
    AbstractQueue,
)
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.broker import (
    AUTHORITIES_EXCHANGE,
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    INTAKE_EXCHANGE,
    REQUEUE_EXCHANGE,
    DeadLetter,
    Handler,
    IncomingMessage,
    OutgoingMessage,
    Retry,
    Topology,
    UnroutableMessage,
    authority_queue,
    dead_letter_queue,
    handle_delivery,
)

log = structlog.get_logger(__name__)

EXCHANGES = {
    INTAKE_EXCHANGE: aio_pika.ExchangeType.TOPIC,
    EVENTS_EXCHANGE: aio_pika.ExchangeType.TOPIC,
    AUTHORITIES_EXCHANGE: aio_pika.ExchangeType.DIRECT,
    DEAD_LETTER_EXCHANGE: aio_pika.ExchangeType.DIRECT,
    REQUEUE_EXCHANGE: aio_pika.ExchangeType.DIRECT,
}
DELIVERY_LIMIT = 20


def retry_exchange(delay: int) -> str:
    return f"eantrag.retry.{delay}s"


class AmqpBroker:
    def __init__(
        self,
        url: str,
        *,
        retry_delays: Sequence[int] = (5, 30, 300),
        topology: Topology | None = None,
    ) -> None:
        self.url = url
        self.topology = topology or Topology()
        self.retry_delays = list(retry_delays)
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def _publisher(self) -> AbstractChannel:
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                if self._connection is None or self._connection.is_closed:
                    self._connection = await aio_pika.connect(self.url)
                self._channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
            return self._channel

    async def start(self) -> None:
        channel = await self._publisher()
        await declare_topology(channel, self.topology, self.retry_delays)

    async def _reset_publisher(self) -> None:
        """Forget a publisher connection that failed: after a broker restart aio-pika was seen
        to keep it without marking it closed, and every later publish failed."""
        async with self._lock:
            connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def declare_authority(self, authority_id: str) -> None:
        self.topology.authority_ids.add(authority_id)
        try:
            channel = await self._publisher()
            await _declare_work_queue(
                channel, authority_queue(authority_id), [(AUTHORITIES_EXCHANGE, authority_id)]
            )
        except Exception:
            await self._reset_publisher()
            raise

    async def publish(
        self, messages: Sequence[OutgoingMessage], session: AsyncSession | None = None
    ) -> None:
        """Publish all messages pipelined and return once the broker confirmed each one (at once,
        whatever transaction `session` is in)."""
        if not messages:
            return
        try:
            channel = await self._publisher()
            exchanges = {
                name: await channel.get_exchange(name, ensure=False)
                if name
                else channel.default_exchange
                for name in {m.exchange for m in messages}
            }
            results = await asyncio.gather(
                *(
                    exchanges[m.exchange].publish(
                        _to_amqp(m), routing_key=m.routing_key, mandatory=True
                    )
                    for m in messages
                ),
                return_exceptions=True,
            )
        except Exception:
            await self._reset_publisher()
            raise
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, aio_pika.exceptions.DeliveryError):
                raise UnroutableMessage(
                    f"{message.exchange}/{message.routing_key}: {result}"
                ) from result
            if isinstance(result, BaseException):
                await self._reset_publisher()
                raise result

    async def consume(self, queue: str, handler: Handler, *, prefetch: int = 64) -> None:
        backoff = 0.5
        while True:
            connection: AbstractConnection | None = None
            try:
                connection = await aio_pika.connect(self.url)
                channel = await connection.channel(publisher_confirms=True)
                await channel.set_qos(prefetch_count=prefetch)
                amqp_queue = await channel.get_queue(queue, ensure=True)
                closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

                def on_close(*_: object, closed: asyncio.Future[None] = closed) -> None:
                    if not closed.done():
                        closed.set_result(None)

                channel.close_callbacks.add(on_close)
                connection.close_callbacks.add(on_close)

                async def on_message(
                    raw: AbstractIncomingMessage, channel: AbstractChannel = channel
                ) -> None:
                    await self._handle(channel, queue, raw, handler)

                await amqp_queue.consume(on_message)
                log.info("consumer.subscribed", queue=queue)
                backoff = 0.5
                await closed
                log.warning("consumer.channel_closed", queue=queue)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer.reconnect", queue=queue, error=repr(exc), backoff=backoff)
            finally:
                if connection is not None and not connection.is_closed:
                    await connection.close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _handle(
        self, channel: AbstractChannel, queue: str, raw: AbstractIncomingMessage, handler: Handler
    ) -> None:
        headers = dict(raw.headers or {})
        attempts = int(str(headers.get("x-attempts") or 0))
        message = IncomingMessage(
            message_id=uuid.UUID(raw.message_id) if raw.message_id else uuid.uuid4(),
            queue=queue,
            routing_key=raw.routing_key or "",
            type=raw.type or "",
            body=raw.body,
            headers=headers,
            attempts=attempts,
        )
        outcome = await handle_delivery(handler, message, self.retry_delays)
        if isinstance(outcome, DeadLetter):
            await self._dead_letter(channel, queue, raw, outcome.reason)
            return
        if isinstance(outcome, Retry):
            exchange = await channel.get_exchange(retry_exchange(outcome.delay), ensure=False)
            await exchange.publish(
                _copy(raw, {"x-attempts": attempts + 1, "x-last-error": outcome.error[:500]}),
                routing_key=queue,
            )
        await raw.ack()

    async def _dead_letter(
        self, channel: AbstractChannel, queue: str, raw: AbstractIncomingMessage, reason: str
    ) -> None:
        log.error("message.dead_lettered", queue=queue, message_id=raw.message_id, reason=reason)
        exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
        await exchange.publish(
            _copy(raw, {"x-death-reason": reason[:1000], "x-original-queue": queue}),
            routing_key=queue,
        )
        await raw.ack()

    async def requeue_dead_letters(
        self, matches: Callable[[bytes], bool], authority_ids: Iterable[str] = ()
    ) -> int:
        """Manual retry: matching dead letters go back to their work queue (through the requeue
        exchange) with the attempt count reset. The others are put back into their dead-letter
        queue (published again, then acknowledged: a rejected message would count towards the
        quorum queue's delivery limit and be dropped at last)."""
        topology = Topology(authority_ids={*self.topology.authority_ids, *authority_ids})
        moved = 0
        connection = await aio_pika.connect(self.url)
        async with connection:
            for queue in topology.queues:
                channel = await connection.channel(publisher_confirms=True)
                try:
                    dlq = await channel.declare_queue(dead_letter_queue(queue), passive=True)
                except aio_pika.exceptions.ChannelClosed:
                    continue  # never declared: nothing was dead-lettered there
                waiting = dlq.declaration_result.message_count or 0
                requeue = await channel.get_exchange(REQUEUE_EXCHANGE, ensure=False)
                dead = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
                for _ in range(waiting):
                    raw = await dlq.get(no_ack=False, fail=False)
                    if raw is None:
                        break
                    if matches(raw.body):
                        headers = dict(raw.headers or {})
                        original = str(headers.pop("x-original-queue", None) or queue)
                        reason = headers.pop("x-death-reason", None)
                        if reason is not None:
                            headers["x-previous-death-reason"] = reason
                        headers["x-attempts"] = 0
                        await requeue.publish(_with_headers(raw, headers), routing_key=original)
                        moved += 1
                    else:
                        await dead.publish(_copy(raw, {}), routing_key=queue)
                    await raw.ack()
                await channel.close()
        return moved

    async def ping(self) -> None:
        channel = await self._publisher()
        if channel.is_closed:
            raise ConnectionError("AMQP channel closed")

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
        self._connection = None
        self._channel = None


def _to_amqp(message: OutgoingMessage) -> aio_pika.Message:
    return aio_pika.Message(
        body=message.body,
        message_id=str(message.message_id),
        type=message.type,
        headers=message.headers,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def _copy(raw: AbstractIncomingMessage, extra_headers: dict[str, Any]) -> aio_pika.Message:
    return _with_headers(raw, {**(raw.headers or {}), **extra_headers})


def _with_headers(raw: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    return aio_pika.Message(
        body=raw.body,
        message_id=raw.message_id,
        type=raw.type,
        headers=headers,
        content_type=raw.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


async def _declare_work_queue(
    channel: AbstractChannel, queue: str, bindings: list[tuple[str, str]]
) -> AbstractQueue:
    """A quorum work queue, its dead-letter queue and its requeue binding for retries."""
    dlq = await channel.declare_queue(
        dead_letter_queue(queue), durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(DEAD_LETTER_EXCHANGE, routing_key=queue)
    work = await channel.declare_queue(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": queue,
        },
    )
    await work.bind(REQUEUE_EXCHANGE, routing_key=queue)
    for exchange, key in bindings:
        await work.bind(exchange, routing_key=key)
    return work


async def declare_topology(
    channel: AbstractChannel, topology: Topology, retry_delays: Sequence[int]
) -> None:
    for name, kind in EXCHANGES.items():
        await channel.declare_exchange(name, kind, durable=True)
    for delay in retry_delays:
        exchange = await channel.declare_exchange(
            retry_exchange(delay), aio_pika.ExchangeType.FANOUT, durable=True
        )
        holding = await channel.declare_queue(
            retry_exchange(delay),
            durable=True,
            arguments={"x-message-ttl": delay * 1000, "x-dead-letter-exchange": REQUEUE_EXCHANGE},
        )
        await holding.bind(exchange)
    by_queue: dict[str, list[tuple[str, str]]] = {}
    for binding in topology.bindings:
        by_queue.setdefault(binding.queue, []).append((binding.exchange, binding.routing_key))
    for authority_id in topology.authority_ids:
        by_queue.setdefault(authority_queue(authority_id), []).append(
            (AUTHORITIES_EXCHANGE, authority_id)
        )
    for queue, bindings in by_queue.items():
        await _declare_work_queue(channel, queue, bindings)
    unbound: dict[str, list[tuple[str, str]]] = {}
    for binding in topology.unbound:
        unbound.setdefault(binding.queue, []).append((binding.exchange, binding.routing_key))
    for queue, bindings in unbound.items():
        # declared (so that unbinding finds it), not bound: what is in it stays for its worker
        work = await _declare_work_queue(channel, queue, [])
        for source, key in bindings:
            await work.unbind(source, routing_key=key)
