"""Tables owned by the citizen's back channel: one row per event the citizen was (or could not
be) told about by e-mail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eantrag.db import Base, UTCDateTime, new_id, utcnow

SENT = "sent"
NOT_CONFIGURED = "not_configured"  # no SMTP server set up
NO_ADDRESS = "no_address"  # the application names no e-mail address


class Notification(Base):
    """An event of an application and what became of its e-mail.

    One row per (application, event, time of the event): a redelivered or re-published event
    finds its row and is not sent again. The text of a sent message stays here only until it is
    kept as a document of the case (`document_id`); the address is kept masked.
    """

    __tablename__ = "citizen_notifications"
    __table_args__ = (
        UniqueConstraint("application_id", "event", "occurred_at"),
        Index("ix_citizen_notifications_application", "application_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20), doc="sent, not_configured or no_address")
    recipient_masked: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(200), doc="RFC 5322 Message-ID")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    text: Mapped[str | None] = mapped_column(Text, doc="the message until it is in the case")
    document_id: Mapped[uuid.UUID | None] = mapped_column(doc="the case's copy of the message")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
