"""What the archive asks of the e-Akte: closed files, a file as a whole, the appraisal in the
audit trail, and deleting a file's documents and data after the archive took it (or agreed to
its destruction).

A deleted case stays as a tombstone: the Akte with its Aktenzeichen (unique per authority, never
given again), the Vorgang's ids and status (`archived` or `destroyed`), and its audit trail with
the deletion record. The structured data, routing data, documents and the triage message are
gone. Blobs are content-addressed and shared, so only the candidates are returned; the caller
deletes those that no row of any context references any more, after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casefile import audit
from casefile.models import CLOSED, Akte, AuditEntry, Dokument, TriageItem, Vorgang
from eantrag.db import utcnow

ARCHIVE_ACTOR = "system:archive eantrag (Aussonderung)"
ARCHIVED = "archived"
DESTROYED = "destroyed"


@dataclass(frozen=True)
class FileForArchive:
    akte: Akte
    cases: list[Vorgang]
    """With their documents loaded, oldest first."""
    trails: dict[uuid.UUID, list[AuditEntry]]


@dataclass(frozen=True)
class DeletedFile:
    application_ids: list[uuid.UUID]
    blob_keys: list[str]
    """Keys the deleted documents used; some may still be used elsewhere."""


async def closed_files(session: AsyncSession, authority_id: str) -> Sequence[Akte]:
    """Files of the authority whose every case is closed (zdA) and not yet deleted."""
    open_or_gone = select(Vorgang.akte_id).where(Vorgang.status != CLOSED)
    return (
        await session.scalars(
            select(Akte)
            .where(
                Akte.authority_id == authority_id,
                Akte.closed_at.is_not(None),
                Akte.id.not_in(open_or_gone),
            )
            .order_by(Akte.closed_at, Akte.aktenzeichen)
        )
    ).all()


async def file_for_archive(session: AsyncSession, akte_id: uuid.UUID) -> FileForArchive | None:
    akte = await session.get(Akte, akte_id)
    if akte is None:
        return None
    cases = (
        await session.scalars(
            select(Vorgang)
            .where(Vorgang.akte_id == akte_id)
            .options(selectinload(Vorgang.documents))
            .order_by(Vorgang.received_at, Vorgang.id)
        )
    ).all()
    trails: dict[uuid.UUID, list[AuditEntry]] = {case.id: [] for case in cases}
    if cases:
        entries = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.vorgang_id.in_(list(trails)))
            .order_by(AuditEntry.vorgang_id, AuditEntry.seq)
        )
        for entry in entries:
            trails[entry.vorgang_id].append(entry)
    return FileForArchive(akte=akte, cases=list(cases), trails=trails)


async def _locked_cases(session: AsyncSession, akte_id: uuid.UUID) -> list[Vorgang]:
    return list(
        (
            await session.scalars(
                select(Vorgang)
                .where(Vorgang.akte_id == akte_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def record_appraisal(
    session: AsyncSession, akte_id: uuid.UUID, code: str, *, process_id: uuid.UUID
) -> None:
    """The archive's decision (A take over, V destroy) in every case's audit trail."""
    for case in await _locked_cases(session, akte_id):
        audit.append(
            session,
            case,
            actor=ARCHIVE_ACTOR,
            action="archive.appraised",
            new_value={"appraisal": code, "processId": str(process_id)},
        )


async def delete_file(
    session: AsyncSession,
    akte_id: uuid.UUID,
    *,
    reason: str,
    archive_id: str | None,
    process_id: uuid.UUID,
) -> DeletedFile:
    """Delete the file's documents and data; each case keeps its trail and a deletion record."""
    akte = await session.get(Akte, akte_id, with_for_update=True)
    if akte is None:
        raise LookupError(f"no Akte {akte_id}")
    cases = await _locked_cases(session, akte_id)
    ids = [case.id for case in cases]
    documents = (
        (await session.scalars(select(Dokument).where(Dokument.vorgang_id.in_(ids)))).all()
        if ids
        else []
    )
    keys = sorted({document.blob_key for document in documents})
    if ids:
        await session.execute(delete(Dokument).where(Dokument.vorgang_id.in_(ids)))
        await session.execute(delete(TriageItem).where(TriageItem.vorgang_id.in_(ids)))
    now = utcnow()
    status = ARCHIVED if archive_id else DESTROYED
    record: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "processId": str(process_id),
        "archiveId": archive_id,
        "documentsDeleted": len(documents),
    }
    for case in cases:
        audit.append(
            session,
            case,
            actor=ARCHIVE_ACTOR,
            action=f"archive.{status}",
            old_value={"status": case.status},
            new_value=record,
            at=now,
        )
        case.status = status
        case.record = {}
        case.routing = {}
        case.applicant_name = case.applicant_key = case.search_key = None
        case.updated_at = now
    akte.title = "ausgesondert" if archive_id is None else f"ausgesondert ({archive_id})"
    await session.flush()
    return DeletedFile(application_ids=[case.application_id for case in cases], blob_keys=keys)


async def referenced_blobs(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these keys a document of the e-Akte still uses."""
    if not keys:
        return set()
    return set(
        (
            await session.scalars(
                select(Dokument.blob_key).where(Dokument.blob_key.in_(list(keys))).distinct()
            )
        ).all()
    )
