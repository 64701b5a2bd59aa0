"""Message broker ports: RabbitMQ in production, a queue table in the embedded default.

Both adapters share one topology (exchanges, queues, bindings) and one delivery contract:
`publish()` returns only when every message is durably accepted (publisher confirms, or the
database commit); a consumer's handler runs, and only when it returned is the message
acknowledged. A `PermanentError` dead-letters the message at once with its reason; any other
exception retries it after the next configured delay, and once the delays are used up it is
dead-lettered too.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from eantrag.db import Database, utcnow
from eantrag.models import QueuedMessage

log = structlog.get_logger(__name__)

INTAKE_EXCHANGE = "eantrag.intake"
AUTHORITIES_EXCHANGE = "eantrag.authorities"
EVENTS_EXCHANGE = "eantrag.events"
DEAD_LETTER_EXCHANGE = "eantrag.dlx"
REQUEUE_EXCHANGE = "eantrag.requeue"

ROUTING_QUEUE = "eantrag.routing"
UNROUTABLE_QUEUE = "eantrag.unroutable"
RENDERING_QUEUE = "eantrag.renderings"
NOTIFICATIONS_QUEUE = "eantrag.notifications"
# The events the citizen hears about by e-mail (see `citizen.templates`).
NOTIFIED_EVENTS = (
    (INTAKE_EXCHANGE, "application.received"),
    (EVENTS_EXCHANGE, "application.filed"),
    (EVENTS_EXCHANGE, "application.decided"),
    (EVENTS_EXCHANGE, "application.on_hold"),
)


def authority_queue(authority_id: str) -> str:
    return f"authority.{authority_id}.inbox"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str
    queue: str


@dataclass
class Topology:
    """What exists on the broker; declared in code at start-up.

    `renderings` and `notifications` say whether the renderer's and the notifications worker's
    queues are bound (`EANTRAG_PDF_RENDERINGS`, `EANTRAG_SMTP_URL`): with neither, nobody reads
    a status event, so none is published (`contracts.status.published`) and the broker carries
    two messages per application instead of five. The bindings switched off are `unbound`: the
    RabbitMQ adapter removes them, so that a queue bound by an earlier configuration does not
    fill up unread.
    """

    renderings: bool = True
    notifications: bool = True
    authority_ids: set[str] = field(default_factory=set)
    bindings: list[Binding] = field(init=False)
    unbound: list[Binding] = field(init=False)
    _routes: dict[tuple[str, str], list[str]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        optional = [
            # the e-Akte's PDF/A rendering of each filed application (casefile.renderings)
            (self.renderings, Binding(EVENTS_EXCHANGE, "application.filed", RENDERING_QUEUE)),
            *(
                (self.notifications, Binding(ex, key, NOTIFICATIONS_QUEUE))
                for ex, key in NOTIFIED_EVENTS
            ),
        ]
        self.bindings = [
            Binding(INTAKE_EXCHANGE, "application.received", ROUTING_QUEUE),
            Binding(INTAKE_EXCHANGE, "application.unroutable", UNROUTABLE_QUEUE),
            *(binding for wanted, binding in optional if wanted),
        ]
        self.unbound = [binding for wanted, binding in optional if not wanted]

    @property
    def queues(self) -> list[str]:
        names = {b.queue for b in self.bindings}
        names.update(authority_queue(a) for a in self.authority_ids)
        return sorted(names)

    def route(self, exchange: str, routing_key: str) -> list[str]:
        """Queues a message reaches: topic semantics for static bindings, direct for authorities."""
        if exchange == AUTHORITIES_EXCHANGE:
            return [authority_queue(routing_key)]
        if exchange == "":
            return [routing_key]
        known = self._routes.get((exchange, routing_key))
        if known is None:
            known = self._routes[exchange, routing_key] = [
                b.queue
                for b in self.bindings
                if b.exchange == exchange and topic_matches(b.routing_key, routing_key)
            ]
        return known


_process_topology: list[Topology] = [Topology()]


def use_topology(topology: Topology) -> None:
    """The composition root's: the topology of this process's installation (one per process),
    which `process_topology` answers to the contexts that publish."""
    _process_topology[:] = [topology]


def process_topology() -> Topology:
    """The topology `use_topology` set; before that, every queue bound."""
    return _process_topology[0]


def topic_matches(pattern: str, key: str) -> bool:
    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (p[0] == "*" or p[0] == k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: uuid.UUID
    exchange: str
    routing_key: str
    type: str
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IncomingMessage:
    message_id: uuid.UUID
    queue: str
    routing_key: str
    type: str
    body: bytes
    headers: dict[str, Any]
    attempts: int


class PermanentError(Exception):
    """The message can never be handled; dead-letter it with this reason."""


class UnroutableMessage(PermanentError):
    """The broker could route the message to no queue."""


# --- what becomes of a delivery: one policy for both adapters --------------------------------


@dataclass(frozen=True)
class Ack:
    """Handled: remove the message."""


@dataclass(frozen=True)
class Retry:
    """Failed for now: deliver again after `delay` seconds, as attempt `attempts + 1`."""

    delay: int
    error: str


@dataclass(frozen=True)
class DeadLetter:
    """Never to be handled (or out of attempts): move to the queue's dead-letter queue."""

    reason: str


Outcome = Ack | Retry | DeadLetter


async def handle_delivery(
    handler: Handler, message: IncomingMessage, retry_delays: Sequence[int]
) -> Outcome:
    """Run the handler on one delivery and decide its fate: a `PermanentError` is dead-lettered
    at once, any other error retried after the next of `retry_delays` until they are used up."""
    try:
        await handler(message)
    except PermanentError as exc:
        return DeadLetter(repr(exc))
    except Exception as exc:
        log.warning(
            "message.failed",
            queue=message.queue,
            message_id=str(message.message_id),
            attempt=message.attempts + 1,
            error=repr(exc),
        )
        if message.attempts >= len(retry_delays):
            return DeadLetter(repr(exc))
        return Retry(retry_delays[message.attempts], repr(exc))
    return Ack()


Handler = Callable[[IncomingMessage], Awaitable[None]]


class Broker(Protocol):
    topology: Topology

    async def start(self) -> None: ...

    async def declare_authority(self, authority_id: str) -> None: ...

    async def publish(
        self, messages: Sequence[OutgoingMessage], session: AsyncSession | None = None
    ) -> None:
        """Publish and return once every message is durably queued. An adapter that keeps its
        queues in the database publishes in `session`'s transaction (relay and publish commit
        together); one with queues of its own publishes at once and ignores it."""
        ...

    async def consume(self, queue: str, handler: Handler, *, prefetch: int) -> None:
        """Run until cancelled."""
        ...

    async def requeue_dead_letters(
        self, matches: Callable[[bytes], bool], authority_ids: Iterable[str] = ()
    ) -> int:
        """Manual retry: move the dead letters whose body `matches` back to their work queue
        with the attempt count reset; returns how many. The dead letters of every static queue
        and of the inboxes of `authority_ids` (and of those declared in this process) are
        searched; the others stay where they are, in their order."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class DatabaseQueueBroker:
    """The embedded default: queues are rows of `queue_messages` in the application database.

    Publishing inserts one row per destination queue (in the caller's transaction when a session is
    given, which makes relay + publish atomic). Consumers claim rows with a lease; a crashed
    consumer's lease runs out and the row is delivered again.
    """

    LEASE = timedelta(seconds=60)

    def __init__(
        self,
        db: Database,
        *,
        retry_delays: Sequence[int] = (5, 30, 300),
        poll_interval: float = 0.2,
        topology: Topology | None = None,
    ) -> None:
        self.db = db
        self.topology = topology or Topology()
        self.retry_delays = list(retry_delays)
        self.poll_interval = poll_interval
        self._wakeup: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
        return None

    async def declare_authority(self, authority_id: str) -> None:
        self.topology.authority_ids.add(authority_id)

    def _rows(self, messages: Sequence[OutgoingMessage]) -> list[dict[str, Any]]:
        rows = []
        for message in messages:
            queues = self.topology.route(message.exchange, message.routing_key)
            if not queues:
                raise UnroutableMessage(
                    f"no queue bound to {message.exchange!r} with key {message.routing_key!r}"
                )
            for queue in queues:
                rows.append(
                    {
                        "queue": queue,
                        "message_id": message.message_id,
                        "routing_key": message.routing_key,
                        "type": message.type,
                        "body": message.body,
                        "headers": message.headers,
                        "attempts": int(message.headers.get("x-attempts", 0)),
                        "available_at": utcnow(),
                    }
                )
        return rows

    async def publish(
        self, messages: Sequence[OutgoingMessage], session: AsyncSession | None = None
    ) -> None:
        if not messages:
            return
        rows = self._rows(messages)
        # The same message id in the same queue is one message: publishing it again is a no-op.
        insert = (pg_insert if self.db.dialect == "postgresql" else sqlite_insert)(
            QueuedMessage
        ).on_conflict_do_nothing(index_elements=["queue", "message_id"])
        if session is not None:
            await session.execute(insert, rows)
        else:
            async with self.db.transaction() as own:
                await own.execute(insert, rows)
        for row in rows:
            self._event(row["queue"]).set()

    def _event(self, queue: str) -> asyncio.Event:
        return self._wakeup.setdefault(queue, asyncio.Event())

    async def _claim(self, queue: str, limit: int) -> list[QueuedMessage]:
        now = utcnow()
        async with self.db.transaction() as session:
            ids = (
                await session.scalars(
                    select(QueuedMessage.id)
                    .where(
                        QueuedMessage.queue == queue,
                        QueuedMessage.available_at <= now,
                        (QueuedMessage.locked_until.is_(None)) | (QueuedMessage.locked_until < now),
                    )
                    .order_by(QueuedMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not ids:
                return []
            await session.execute(
                update(QueuedMessage)
                .where(QueuedMessage.id.in_(ids))
                .values(locked_until=now + self.LEASE)
            )
            rows = (
                await session.scalars(
                    select(QueuedMessage)
                    .where(QueuedMessage.id.in_(ids))
                    .order_by(QueuedMessage.id)
                )
            ).all()
            return list(rows)

    async def consume(self, queue: str, handler: Handler, *, prefetch: int = 64) -> None:
        wakeup = self._event(queue)
        while True:
            rows = await self._claim(queue, prefetch)
            if not rows:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self.poll_interval)
                continue
            # Like a prefetch window: what was claimed is handled concurrently, so that grouped
            # handlers (`eantrag.consumer.grouped`) commit it together, and the acknowledgements
            # of all that succeeded go in one transaction. A crash before that transaction
            # leaves the rows leased; they come again when the lease runs out, and idempotent
            # handlers skip them.
            handled = await asyncio.gather(
                *(self._deliver(row, handler) for row in rows), return_exceptions=True
            )
            done = [row.id for row, ok in zip(rows, handled, strict=True) if ok is True]
            if done:
                async with self.db.transaction() as session:
                    await session.execute(delete(QueuedMessage).where(QueuedMessage.id.in_(done)))
            for outcome in handled:
                if isinstance(outcome, BaseException):
                    raise outcome

    async def _deliver(self, row: QueuedMessage, handler: Handler) -> bool:
        """Run the handler; True if it succeeded and the row awaits its acknowledgement."""
        message = IncomingMessage(
            message_id=row.message_id,
            queue=row.queue,
            routing_key=row.routing_key,
            type=row.type,
            body=row.body,
            headers=dict(row.headers or {}),
            attempts=row.attempts,
        )
        outcome = await handle_delivery(handler, message, self.retry_delays)
        if isinstance(outcome, DeadLetter):
            await self._dead_letter(row, outcome.reason)
        elif isinstance(outcome, Retry):
            async with self.db.transaction() as session:
                await session.execute(
                    update(QueuedMessage)
                    .where(QueuedMessage.id == row.id)
                    .values(
                        attempts=row.attempts + 1,
                        locked_until=None,
                        available_at=utcnow() + timedelta(seconds=outcome.delay),
                        headers={**(row.headers or {}), "x-last-error": outcome.error},
                    )
                )
        return isinstance(outcome, Ack)

    async def _dead_letter(self, row: QueuedMessage, reason: str) -> None:
        log.error(
            "message.dead_lettered", queue=row.queue, message_id=str(row.message_id), reason=reason
        )
        async with self.db.transaction() as session:
            await session.execute(
                update(QueuedMessage)
                .where(QueuedMessage.id == row.id)
                .values(
                    queue=dead_letter_queue(row.queue),
                    locked_until=None,
                    headers={
                        **(row.headers or {}),
                        "x-death-reason": reason,
                        "x-original-queue": row.queue,
                    },
                )
            )

    async def requeue_dead_letters(
        self, matches: Callable[[bytes], bool], authority_ids: Iterable[str] = ()
    ) -> int:
        """Manual retry: move matching dead letters back to their queue with attempts reset
        (every queue's: they are rows of one table)."""
        moved = 0
        async with self.db.transaction() as session:
            rows = (
                await session.scalars(
                    select(QueuedMessage).where(QueuedMessage.queue.like("%.dlq"))
                )
            ).all()
            for row in rows:
                if not matches(row.body):
                    continue
                headers = dict(row.headers or {})
                original = headers.pop("x-original-queue", None) or row.queue.removesuffix(".dlq")
                headers["x-previous-death-reason"] = headers.pop("x-death-reason", None)
                row.queue = original
                row.headers = headers
                row.attempts = 0
                row.locked_until = None
                row.available_at = utcnow()
                moved += 1
        if moved:
            for row in rows:
                self._event(row.queue).set()
        return moved

    async def depth(self, queue: str) -> int:
        async with self.db.transaction() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(QueuedMessage)
                    .where(QueuedMessage.queue == queue)
                )
                or 0
            )

    async def ping(self) -> None:
        await self.db.ping()

    async def close(self) -> None:
        return None
