"""The destination's own table: every submission it has seen, and how far it got.

The state machine (`fetched` → `filed` | `rejected` → `answered`) is what makes the exchange
exactly-once across crashes: the signed event is stored before it is sent, and the attempt is
counted before each send, so a process killed anywhere answers once after its restart.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eantrag.db import Base, JSONType, UTCDateTime, utcnow

FETCHED = "fetched"
"""Seen in the list; not yet decided (a crash here decides again, idempotently)."""
FILED = "filed"
"""Accepted into intake (the application is committed); the accept event is stored, unsent."""
REJECTED = "rejected"
"""Refused; the reject event is stored, unsent; nothing was filed."""
ANSWERED = "answered"
"""The event is in the case's event log."""


class ReceivedSubmission(Base):
    __tablename__ = "fitconnect_submissions"

    submission_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    destination_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(20), index=True)
    application_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    event: Mapped[str | None] = mapped_column(Text)
    """The signed event, stored before it is sent: a resend sends the same token (same jti)."""
    event_jti: Mapped[str | None] = mapped_column(String(36))
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
