"""The `notifications` worker: e-mail to the citizen on received, filed, on_hold and decided.

It consumes `eantrag.notifications`, bound to those events as the outbox publishes them. The
e-mail is sent outside any transaction (an SMTP round trip must not hold the database's write
lock); then the outcome is recorded through `eantrag.consumer.idempotent`, with the message id.
A failed send raises, so the broker retries it after each of `EANTRAG_RETRY_DELAYS_SECONDS` and
dead-letters it after the last. An event that was told already is acknowledged without sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator, Hashable
from urllib.parse import quote

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from citizen import service
from citizen.mailer import SmtpMailer, mailer_from
from citizen.models import SENT
from citizen.pipeline_source import PipelineSource
from citizen.sources import CitizenSource
from eantrag.broker import NOTIFICATIONS_QUEUE, Handler, IncomingMessage, PermanentError
from eantrag.consumer import idempotent
from eantrag.db import Database
from eantrag.metrics import MESSAGES_HANDLED
from eantrag.runtime import Runtime, Worker
from intake.service import StatusTokens

log = structlog.get_logger(__name__)

CONSUMER = "citizen.notifications"
NOTIFICATIONS = Counter(
    "eantrag_notifications_total",
    "E-mail notifications by event and outcome: sent, failed (retried, then dead-lettered), "
    "not_configured (no SMTP server), no_address",
    ["event", "outcome"],
)


def status_links(base_url: str, tokens: StatusTokens, event: service.Event) -> service.Links:
    token = quote(tokens.issue(event.application_id), safe="")
    path = f"{base_url.rstrip('/')}/v1/applications/{event.application_id}"
    return service.Links(f"{path}?token={token}", f"{path}/bescheid?token={token}")


def notification_handler(
    db: Database,
    source: CitizenSource,
    mailer: SmtpMailer | None,
    tokens: StatusTokens,
    base_url: str,
) -> Handler:
    outcomes: dict[int, service.Outcome] = {}

    async def record(session: AsyncSession, message: IncomingMessage) -> None:
        await service.record(session, source, outcomes[id(message)])

    commit = idempotent(CONSUMER, db, record)

    in_flight = _EventLocks()

    async def handle(message: IncomingMessage) -> None:
        event = service.parse_event(message)
        # Two deliveries of one event in the same prefetch window (a re-publish beside a
        # redelivery, `eantrag retry`) must not both pass the check below before either records.
        async with in_flight.hold((event.application_id, event.event, event.at)):
            await tell(message, event)

    async def tell(message: IncomingMessage, event: service.Event) -> None:
        bound = log.bind(
            application_id=str(event.application_id),
            message_id=str(message.message_id),
            notification=event.event,
        )
        async with db.sessionmaker() as session:
            if await service.already_told(session, event):
                bound.info("notification.duplicate_skipped")
                MESSAGES_HANDLED.labels(message.queue, "duplicate").inc()
                return
            addressee = await source.addressee(session, event.application_id)
        if addressee is None:
            raise PermanentError(f"unknown application {event.application_id}")
        if mailer is None or addressee.email is None:
            outcome = service.not_sent(event, configured=mailer is not None)
        else:
            email, outcome = service.compose(
                event, addressee, status_links(base_url, tokens, event), mailer.sender
            )
            try:
                await mailer.send(email)
            except Exception as exc:
                NOTIFICATIONS.labels(event.event, "failed").inc()
                bound.warning(
                    "notification.send_failed",
                    server=mailer.server,
                    attempt=message.attempts + 1,
                    error=repr(exc),
                )
                if isinstance(exc, smtplib.SMTPRecipientsRefused):
                    # The server will not take this address: retrying cannot help.
                    raise PermanentError(f"recipient refused: {exc.recipients}") from exc
                raise
            bound.info("notification.sent", server=mailer.server, to=outcome.recipient_masked)
        outcomes[id(message)] = outcome
        try:
            await commit(message)
        finally:
            del outcomes[id(message)]
        if outcome.outcome != SENT:
            bound.info("notification.not_sent", reason=outcome.outcome)
        NOTIFICATIONS.labels(event.event, outcome.outcome).inc()

    return handle


class _EventLocks:
    """One lock per event while deliveries of it are being handled in this process."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def workers(runtime: Runtime) -> dict[str, Worker]:
    async def notifications() -> None:
        tokens = StatusTokens(await runtime.secret("status-token"))
        handler = notification_handler(
            runtime.db,
            PipelineSource(runtime.blobs),
            mailer_from(runtime.settings),
            tokens,
            runtime.settings.link_base_url,
        )
        await runtime.broker.consume(
            NOTIFICATIONS_QUEUE, handler, prefetch=runtime.settings.queue_prefetch
        )

    return {"notifications": notifications}
