"""Tables owned by casefile: the e-Akte (Akte → Vorgang → Dokument), the file plan, the audit
trail, clerk tokens and the triage desk.

Authorities are referenced by id without a foreign key (the directory belongs to routing). Each
Akte holds one Vorgang — one application — and carries the Aktenzeichen; the Vorgang is the
"case" of the clerk API. Retention data is copied from the file plan into the Akte at filing, so
a later change of the plan never changes what an existing file promised.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eantrag.db import Base, JSONType, UTCDateTime, new_id, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

# The lifecycle of a Vorgang; see casefile.service.TRANSITIONS.
FILED = "filed"
IN_PROGRESS = "in_progress"
ON_HOLD = "on_hold"  # waiting for documents the clerk asked the citizen for
DECIDED = "decided"
CLOSED = "closed"


class PlanUnit(Base):
    """A unit of an authority's Aktenplan: Kennzeichen, retention and disposal code.

    `authority_id` "*" holds the default plan that is copied to every authority that has none.
    """

    __tablename__ = "casefile_plan_units"
    __table_args__ = (
        UniqueConstraint("authority_id", "kennzeichen"),
        CheckConstraint("disposal IN ('A', 'B', 'V')", name="disposal_code"),
        CheckConstraint(
            "retention_years IS NULL OR retention_years >= 0", name="retention_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    authority_id: Mapped[str] = mapped_column(String(100))
    kennzeichen: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    retention_years: Mapped[int | None] = mapped_column(Integer, doc="None: unlimited")
    disposal: Mapped[str] = mapped_column(String(1))


class PlanService(Base):
    """Which unit a service (LeiKa key) is filed under; "*" is the unit for everything else."""

    __tablename__ = "casefile_plan_services"
    __table_args__ = (
        UniqueConstraint("authority_id", "leika_key"),
        ForeignKeyConstraint(
            ["authority_id", "kennzeichen"],
            ["casefile_plan_units.authority_id", "casefile_plan_units.kennzeichen"],
            ondelete="CASCADE",
            name="fk_casefile_plan_services_unit",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    authority_id: Mapped[str] = mapped_column(String(100))
    leika_key: Mapped[str] = mapped_column(String(14))
    kennzeichen: Mapped[str] = mapped_column(String(40))


class FileCounter(Base):
    """The last running number given per authority, Kennzeichen and year.

    Incremented with one upsert inside the filing transaction: the row lock serialises concurrent
    filers and a rollback returns the number, so the numbers are gap-free.
    """

    __tablename__ = "casefile_file_counters"

    authority_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kennzeichen: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Akte(Base):
    """A case file with its Aktenzeichen, under one unit of the authority's file plan."""

    __tablename__ = "casefile_akten"
    __table_args__ = (UniqueConstraint("authority_id", "aktenzeichen"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    authority_id: Mapped[str] = mapped_column(String(100))
    authority_name: Mapped[str] = mapped_column(String(500))
    aktenzeichen: Mapped[str] = mapped_column(String(80))
    kennzeichen: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    plan_title: Mapped[str] = mapped_column(String(300))
    retention_years: Mapped[int | None] = mapped_column(Integer)
    disposal: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    vorgaenge: Mapped[list[Vorgang]] = relationship(back_populates="akte", lazy="raise")


class Vorgang(Base):
    """One application as a case: its structured data, its documents and its state."""

    __tablename__ = "casefile_vorgaenge"
    __table_args__ = (
        # The Posteingang (casefile.inbox): newest first within an authority. The list index
        # carries every column a filter or search reads, so that PostgreSQL finds a page's ids
        # in the index alone (index-only scan) and stops after `limit` matches: a search that
        # matched 1 % of 100,000 cases took 60 ms reading the rows, 1 ms reading the index.
        # One index per narrowing filter besides, each ending in the sort key; the counts per
        # status read the status index. bench/bench_inbox.py measures them.
        Index(
            "ix_casefile_vorgaenge_inbox",
            "authority_id",
            "received_at",
            "id",
            postgresql_include=["status", "leika_key", "assignee_id", "search_key"],
        ),
        Index("ix_casefile_vorgaenge_status", "authority_id", "status", "received_at", "id"),
        Index("ix_casefile_vorgaenge_service", "authority_id", "leika_key", "received_at", "id"),
        Index("ix_casefile_vorgaenge_assignee", "authority_id", "assignee_id", "received_at", "id"),
        Index(
            "ix_casefile_vorgaenge_applicant",
            "authority_id",
            "applicant_key",
            "leika_key",
            "received_at",
        ),
        # Substring search on PostgreSQL: a trigram index (pg_trgm) serves `LIKE '%…%'`.
        Index(
            "ix_casefile_vorgaenge_search",
            "search_key",
            postgresql_using="gin",
            postgresql_ops={"search_key": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    akte_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("casefile_akten.id", ondelete="RESTRICT"), index=True
    )
    authority_id: Mapped[str] = mapped_column(String(100))
    application_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    leika_key: Mapped[str] = mapped_column(String(14))
    leika_urn: Mapped[str] = mapped_column(String(200))
    form_id: Mapped[str | None] = mapped_column(String(50))
    record: Mapped[dict[str, Any]] = mapped_column(JSONType)
    routing: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    source: Mapped[str] = mapped_column(String(20), doc="routing or triage")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=FILED)
    outcome: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The head of the audit chain: the number and hash of the last entry. Appending updates
    # this row, which serialises concurrent writers of one case.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64))
    # Copied from the record at filing (casefile.applicant), for the Posteingang; emptied with
    # the record when the file is deleted after the Aussonderung.
    applicant_name: Mapped[str | None] = mapped_column(String(300))
    applicant_key: Mapped[str | None] = mapped_column(String(300), doc="for likely duplicates")
    search_key: Mapped[str | None] = mapped_column(String(1000), doc="names and Aktenzeichen")
    # Who works the case (casefile.assignment); None: nobody.
    assignee_id: Mapped[str | None] = mapped_column(String(200))
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    akte: Mapped[Akte] = relationship(back_populates="vorgaenge", lazy="raise")
    documents: Mapped[list[Dokument]] = relationship(
        back_populates="vorgang", lazy="raise", order_by="Dokument.created_at"
    )


class Dokument(Base):
    """A document of a case; the bytes are in the blob store under a content-addressed key."""

    __tablename__ = "casefile_dokumente"
    __table_args__ = (UniqueConstraint("vorgang_id", "document_key", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    vorgang_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("casefile_vorgaenge.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), doc="original, rendering, attachment, decision")
    document_key: Mapped[str] = mapped_column(String(150), doc="versions share this key")
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sha512: Mapped[str | None] = mapped_column(String(128))
    blob_key: Mapped[str] = mapped_column(String(200))
    derived_from: Mapped[uuid.UUID | None] = mapped_column(doc="the document it renders")
    conformance: Mapped[str | None] = mapped_column(
        String(20), doc="a standard the bytes follow, e.g. PDF/A-2b; the archive names it"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    vorgang: Mapped[Vorgang] = relationship(back_populates="documents", lazy="raise")


class AuditEntry(Base):
    """One entry of a case's audit trail, chained to the one before by SHA-256."""

    __tablename__ = "casefile_audit"
    __table_args__ = (UniqueConstraint("vorgang_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    vorgang_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("casefile_vorgaenge.id", ondelete="RESTRICT")
    )
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    # Never loaded; it tells the unit of work to insert the case before its entries.
    vorgang: Mapped[Vorgang] = relationship(lazy="raise")


class ApiToken(Base):
    """A clerk's bearer token; only its SHA-256 is stored."""

    __tablename__ = "casefile_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    authority_id: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TriageItem(Base):
    """An application no authority was found for, waiting for a clerk to assign it."""

    __tablename__ = "casefile_triage"
    __table_args__ = (Index("ix_casefile_triage_open", "assigned_at", "received_at"),)

    application_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    message: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_authority_id: Mapped[str | None] = mapped_column(String(100))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str | None] = mapped_column(String(200))
    vorgang_id: Mapped[uuid.UUID | None] = mapped_column()
