"""Notifications: which event, whom to tell, what to say, and what is kept of it.

The worker (`citizen.consumers`) sends outside any transaction and then records the outcome in
one: the notification row (unique per application, event and time of the event, so a
redelivered or re-published event is never sent twice) and the message as a document of the
case. The "received" message goes out before there is a case; it is kept here and filed into the
case with the next event that finds one (normally "filed").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citizen.models import NO_ADDRESS, NOT_CONFIGURED, SENT, Notification
from citizen.sources import Addressee, CitizenSource, SentMessage
from citizen.templates import OUTCOMES, TEMPLATES, local_time
from eantrag.broker import IncomingMessage, PermanentError
from eantrag.db import utcnow


@dataclass(frozen=True)
class Event:
    application_id: uuid.UUID
    event: str
    at: datetime
    detail: dict[str, Any]


def parse_event(message: IncomingMessage) -> Event:
    """`application.received` from intake, or a status event (`application.<status>`)."""
    event = message.routing_key.removeprefix("application.")
    if event not in TEMPLATES:
        raise PermanentError(f"no notification for {message.routing_key!r}")
    try:
        body = orjson.loads(message.body)
        at = datetime.fromisoformat(body["receivedAt" if event == "received" else "at"])
        detail = {} if event == "received" else (body.get("detail") or {})
        parsed = Event(uuid.UUID(body["applicationId"]), event, at, dict(detail))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PermanentError(f"malformed {message.routing_key}: {exc!r}") from exc
    if parsed.at.tzinfo is None:
        raise PermanentError(f"{message.routing_key} has a time without UTC offset")
    return parsed


async def already_told(session: AsyncSession, event: Event) -> bool:
    found = await session.scalar(
        select(Notification.id).where(
            Notification.application_id == event.application_id,
            Notification.event == event.event,
            Notification.occurred_at == event.at,
        )
    )
    return found is not None


def mask(address: str) -> str:
    """`a…@example.org`: enough for the citizen to recognise, little for anyone else."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}"


@dataclass(frozen=True)
class Links:
    status_url: str
    bescheid_url: str


@dataclass(frozen=True)
class Outcome:
    """What became of one event's e-mail, to be recorded."""

    event: Event
    outcome: str
    recipient_masked: str | None = None
    subject: str | None = None
    message_id: str | None = None
    sent_at: datetime | None = None
    text: str | None = None


def compose(
    event: Event, addressee: Addressee, links: Links, sender: str
) -> tuple[EmailMessage, Outcome]:
    """The e-mail of an event, and the readable copy kept in the case file."""
    assert addressee.email is not None
    template = TEMPLATES[event.event]
    values = {
        "form_title": addressee.form_title,
        "application_id": str(addressee.application_id),
        "received_at": local_time(addressee.received_at),
        "status_url": links.status_url,
        "authority": event.detail.get("authority") or addressee.authority or "die Behörde",
        "file_reference": event.detail.get("fileReference") or addressee.file_reference or "—",
        "outcome": OUTCOMES.get(str(event.detail.get("outcome")), "siehe Bescheid"),
        "bescheid_url": links.bescheid_url,
        "message": str(event.detail.get("message") or ""),
    }
    subject, body = template.render(values)
    now = utcnow()
    domain = parseaddr(sender)[1].rpartition("@")[2] or "eantrag.invalid"
    # The same event always gets the same Message-ID: should a message be sent again (the
    # server accepted it, then the commit failed), the citizen's mail program shows it once.
    key = f"{event.application_id}/{event.event}/{event.at.isoformat()}"
    message_id = f"<{uuid.uuid5(uuid.NAMESPACE_URL, key)}@{domain}>"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = addressee.email
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    text = (
        f"Von: {sender}\nAn: {addressee.email}\nDatum: {local_time(now)}\n"
        f"Betreff: {subject}\nMessage-ID: {message_id}\n\n{body}"
    )
    return message, Outcome(
        event=event,
        outcome=SENT,
        recipient_masked=mask(addressee.email),
        subject=subject,
        message_id=message_id,
        sent_at=now,
        text=text,
    )


def not_sent(event: Event, *, configured: bool) -> Outcome:
    return Outcome(event=event, outcome=NO_ADDRESS if configured else NOT_CONFIGURED)


async def record(session: AsyncSession, source: CitizenSource, outcome: Outcome) -> None:
    """Record the outcome, and keep every sent message that has no place yet in the case."""
    event = outcome.event
    session.add(
        Notification(
            id=uuid.uuid4(),
            application_id=event.application_id,
            event=event.event,
            occurred_at=event.at,
            outcome=outcome.outcome,
            recipient_masked=outcome.recipient_masked,
            subject=outcome.subject,
            message_id=outcome.message_id,
            sent_at=outcome.sent_at,
            text=outcome.text,
        )
    )
    await session.flush()
    waiting = (
        await session.scalars(
            select(Notification)
            .where(
                Notification.application_id == event.application_id,
                Notification.outcome == SENT,
                Notification.document_id.is_(None),
            )
            .order_by(Notification.occurred_at)
        )
    ).all()
    for row in waiting:
        assert row.text is not None and row.sent_at is not None
        document_id = await source.file_message(
            session,
            event.application_id,
            SentMessage(
                title=TEMPLATES[row.event].title,
                filename=f"e-mail-{row.event}-{row.sent_at.strftime('%Y%m%d-%H%M%S')}.txt",
                media_type="text/plain; charset=utf-8",
                content=row.text.encode(),
            ),
        )
        if document_id is None:
            return  # no case yet: the next event files it
        row.document_id = document_id
        row.text = None  # the case file holds it now


async def notifications_of(session: AsyncSession, application_id: uuid.UUID) -> list[Notification]:
    return list(
        (
            await session.scalars(
                select(Notification)
                .where(Notification.application_id == application_id)
                .order_by(Notification.occurred_at)
            )
        ).all()
    )
