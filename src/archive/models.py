"""Tables owned by archive: each Aussonderung process and the state of every object in it.

Cases are referenced by id without a foreign key: the case file deletes them after the archive
confirmed the import, and this record must outlive them (it says where each case went).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from eantrag.db import Base, UTCDateTime, utcnow


class Process(Base):
    """One Aussonderung process; its id is the xdomea ProzessID of every message in it.

    `variant` is `four-step` (0501 → 0502 → 0503 → 0506) or `two-step` (0503 → 0506).
    `status`: offered → appraised → exported → confirmed (two-step starts at exported)."""

    __tablename__ = "archive_processes"
    __table_args__ = (Index("ix_archive_processes_authority_status", "authority_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    authority_id: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[date] = mapped_column(Date)
    xdomea_version: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appraised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    package_name: Mapped[str | None] = mapped_column(String(200))
    package_sha256: Mapped[str | None] = mapped_column(String(64))


class ProcessObject(Base):
    """An Akte in a process. `status`: offered, appraised, exported, archived (import confirmed
    and deleted here), failed (import failed, case kept), destroyed (appraised V, deleted)."""

    __tablename__ = "archive_process_objects"
    __table_args__ = (Index("ix_archive_process_objects_case", "case_id", "status"),)

    process_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("archive_processes.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    aktenzeichen: Mapped[str] = mapped_column(String(80))
    proposed: Mapped[str] = mapped_column(String(1))
    appraisal: Mapped[str | None] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(20))
    archive_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
