"""Tables of the shared messaging infrastructure (no domain data here)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eantrag.db import Base, JSONType, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxMessage(Base):
    """A message written in the same transaction as the state change it announces."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    exchange: Mapped[str] = mapped_column(String(100))
    routing_key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueuedMessage(Base):
    """The in-database queue of the embedded default: one row per message per queue."""

    __tablename__ = "queue_messages"
    __table_args__ = (
        UniqueConstraint("queue", "message_id"),
        Index("ix_queue_messages_ready", "queue", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[uuid.UUID]
    routing_key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedMessage(Base):
    """Idempotency of consumers: a message id is handled once per consumer."""

    __tablename__ = "processed_messages"
    __table_args__ = (UniqueConstraint("consumer", "message_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[uuid.UUID]
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceSecret(Base):
    """Secrets every replica must share (e.g. the key of status tokens), made once per database."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class InlineBlob(Base):
    """A small document kept in the database instead of the blob store (see `TieredBlobStore`).

    Written in the transaction of the row that refers to it, and by content: the same bytes
    arriving twice are one row (the insert skips a key that exists).
    """

    __tablename__ = "inline_blobs"
    __table_args__ = ({"info": {"insert_skips_existing": True}},)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
