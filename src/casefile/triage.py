"""Klärfälle: applications no authority was found for, and their assignment by a triage clerk.

The JSON API (`/v1/triage`) and the triage page call the same functions. Assigning files the
application in the chosen authority's e-Akte exactly as a routed one, with the triage clerk in
the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from casefile import directory, repository, service
from casefile.errors import (
    AlreadyAssigned,
    AlreadyFiled,
    BlobMismatch,
    DocumentCorrupted,
    TriageItemNotFound,
    UnknownAuthority,
)
from casefile.models import TriageItem
from eantrag.blobs import BlobStore
from eantrag.db import Database
from eantrag.problems import Violation

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Assigned:
    """Where the application was filed."""

    application_id: uuid.UUID
    case_id: uuid.UUID
    file_reference: str
    authority_id: str
    authority_name: str


async def items(session: AsyncSession, *, open_only: bool, limit: int) -> Sequence[TriageItem]:
    """The triage desk, oldest first (`open_only`: those not assigned yet)."""
    return await repository.triage_items(session, open_only=open_only, limit=limit)


async def authorities(session: AsyncSession) -> dict[str, str]:
    """The directory's authorities a Klärfall may go to: id → name."""
    return await directory.authority_names(session)


async def assign(
    db: Database, blobs: BlobStore, application_id: uuid.UUID, authority_id: str, actor: str
) -> Assigned:
    """File the waiting application in `authority_id`'s e-Akte.

    Two short transactions with the blob check between them: reading and hashing the documents
    must not hold the item's row lock. The second transaction locks the item again, so that two
    clerks assigning at once file it once (the other gets `AlreadyAssigned`).
    """
    async with db.sessionmaker() as session:
        item = await repository.triage_item(session, application_id)
        name = await directory.authority_name(session, authority_id)
    if item is None:
        raise TriageItemNotFound(f"no triage item for application {application_id}")
    if item.assigned_at is not None:
        raise AlreadyAssigned(f"already assigned to {item.assigned_authority_id}")
    if name is None:
        raise UnknownAuthority(
            f"{authority_id!r} is not in the directory",
            [Violation("casefile.unknown_authority", "authorityId", "not in the directory")],
        )
    application = service.from_triage(item, authority_id, name, actor)
    try:
        prepared = await service.prepare_filing(blobs, application)
    except BlobMismatch as exc:
        log.error(
            "casefile.triage_integrity_failed", application_id=str(application_id), error=str(exc)
        )
        raise DocumentCorrupted(str(exc)) from exc
    try:
        async with db.transaction() as session:
            locked = await repository.triage_item(session, application_id, lock=True)
            if locked is None or locked.assigned_at is not None:
                raise AlreadyAssigned("the item was assigned meanwhile")
            filed = await service.assign(session, locked, prepared, actor=actor)
            if filed is None:
                raise AlreadyFiled(f"application {application_id} is filed already")
    except service.FilingConflict as exc:
        raise AlreadyFiled(f"application {application_id} is filed already") from exc
    return Assigned(
        application_id=application_id,
        case_id=filed.case.id,
        file_reference=filed.akte.aktenzeichen,
        authority_id=authority_id,
        authority_name=name,
    )
