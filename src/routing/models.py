"""Tables owned by routing: the directory (Zuständigkeitsfinder) and the decision per application.

Authority ids become queue names (`authority.<id>.inbox`) and routing keys, so they are kept to a
safe character set at import. Decisions reference authorities by id without a foreign key: a
decision is history and must survive later changes of the directory.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eantrag.db import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Service(Base):
    """A public service (Leistung), identified by its 14-digit LeiKa key."""

    __tablename__ = "routing_services"

    leika_key: Mapped[str] = mapped_column(String(14), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    xzufi_id: Mapped[str | None] = mapped_column(String(200), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Authority(Base):
    """An Organisationseinheit that can be responsible for services; its id names its inbox."""

    __tablename__ = "routing_authorities"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    street: Mapped[str | None] = mapped_column(String(200))
    house_number: Mapped[str | None] = mapped_column(String(20))
    postcode: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(200))
    ars: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Responsibility(Base):
    """Zuständigkeit: the authority handles the service for everyone living in the area."""

    __tablename__ = "routing_responsibilities"
    __table_args__ = (
        UniqueConstraint("leika_key", "area_key", "authority_id"),
        Index("ix_routing_responsibilities_authority", "authority_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    authority_id: Mapped[str] = mapped_column(
        ForeignKey("routing_authorities.id", ondelete="CASCADE")
    )
    leika_key: Mapped[str] = mapped_column(String(14))
    area_key: Mapped[str] = mapped_column(String(12))
    role: Mapped[str | None] = mapped_column(String(100))


class PostcodeArea(Base):
    """One municipality a postcode reaches into; a postcode may have several."""

    __tablename__ = "routing_postcodes"
    __table_args__ = (UniqueConstraint("postcode", "ars"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    postcode: Mapped[str] = mapped_column(String(5))
    ars: Mapped[str] = mapped_column(String(12))
    place: Mapped[str | None] = mapped_column(String(200))


class RoutingDecision(Base):
    """What the router decided for an application: at most one per application, ever."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    leika_key: Mapped[str | None] = mapped_column(String(14))
    ars: Mapped[str | None] = mapped_column(String(12))
    authority_id: Mapped[str | None] = mapped_column(String(100), index=True)
    authority_name: Mapped[str | None] = mapped_column(String(500))
    matched_area_key: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The citizen's status event for this decision; a re-drive repeats it under the same id.
    status_event_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
