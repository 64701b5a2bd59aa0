"""The e-Akte's queries. Every query a clerk causes is scoped by the token's authority."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casefile.fileplan import ANY_SERVICE, PlanFile
from casefile.models import (
    Akte,
    AuditEntry,
    Dokument,
    FileCounter,
    PlanService,
    PlanUnit,
    TriageItem,
    Vorgang,
)


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# --- file plan -------------------------------------------------------------------------------


async def has_plan(session: AsyncSession, authority_id: str) -> bool:
    found = await session.scalar(
        select(PlanUnit.id).where(PlanUnit.authority_id == authority_id).limit(1)
    )
    return found is not None


async def plan_of(session: AsyncSession, authority_id: str) -> PlanFile | None:
    units = (
        await session.scalars(
            select(PlanUnit)
            .where(PlanUnit.authority_id == authority_id)
            .order_by(PlanUnit.kennzeichen)
        )
    ).all()
    if not units:
        return None
    services: dict[str, list[str]] = {}
    for kennzeichen, leika_key in await session.execute(
        select(PlanService.kennzeichen, PlanService.leika_key)
        .where(PlanService.authority_id == authority_id)
        .order_by(PlanService.leika_key)
    ):
        services.setdefault(kennzeichen, []).append(leika_key)
    return PlanFile.model_validate(
        {
            "authority": authority_id,
            "units": [
                {
                    "kennzeichen": u.kennzeichen,
                    "title": u.title,
                    "retention_years": u.retention_years,
                    "disposal": u.disposal,
                    "services": services.get(u.kennzeichen, []),
                }
                for u in units
            ],
        }
    )


async def add_plan(session: AsyncSession, authority_id: str, plan: PlanFile) -> None:
    """Insert a plan's rows; rows that exist already stay (concurrent first filings)."""
    insert = _insert(session)
    await session.execute(
        insert(PlanUnit)
        .values(
            [
                {
                    "authority_id": authority_id,
                    "kennzeichen": unit.kennzeichen,
                    "title": unit.title,
                    "retention_years": unit.retention_years,
                    "disposal": unit.disposal,
                }
                for unit in plan.units
            ]
        )
        .on_conflict_do_nothing(index_elements=["authority_id", "kennzeichen"])
    )
    services = [
        {"authority_id": authority_id, "leika_key": service, "kennzeichen": unit.kennzeichen}
        for unit in plan.units
        for service in unit.services
    ]
    if services:
        await session.execute(
            insert(PlanService)
            .values(services)
            .on_conflict_do_nothing(index_elements=["authority_id", "leika_key"])
        )


async def delete_plan(session: AsyncSession, authority_id: str) -> None:
    await session.execute(delete(PlanService).where(PlanService.authority_id == authority_id))
    await session.execute(delete(PlanUnit).where(PlanUnit.authority_id == authority_id))


async def unit_for(session: AsyncSession, authority_id: str, leika_key: str) -> PlanUnit | None:
    """The unit the service is mapped to, else the catch-all unit, else None."""
    rows = (
        await session.execute(
            select(PlanService.leika_key, PlanUnit)
            .join(
                PlanUnit,
                and_(
                    PlanUnit.authority_id == PlanService.authority_id,
                    PlanUnit.kennzeichen == PlanService.kennzeichen,
                ),
            )
            .where(
                PlanService.authority_id == authority_id,
                PlanService.leika_key.in_([leika_key, ANY_SERVICE]),
            )
        )
    ).all()
    by_key = {key: unit for key, unit in rows}
    return by_key.get(leika_key) or by_key.get(ANY_SERVICE)


async def next_number(session: AsyncSession, authority_id: str, kennzeichen: str, year: int) -> int:
    """The next running number: one upsert that locks the counter row until commit."""
    return await reserve_numbers(session, authority_id, kennzeichen, year, 1)


async def reserve_numbers(
    session: AsyncSession, authority_id: str, kennzeichen: str, year: int, count: int
) -> int:
    """Reserve `count` consecutive running numbers and return the first; the upsert locks the
    counter row until the commit, so numbers stay unique and gap-free."""
    statement = _insert(session)(FileCounter).values(
        authority_id=authority_id, kennzeichen=kennzeichen, year=year, last_number=count
    )
    statement = statement.on_conflict_do_update(
        index_elements=["authority_id", "kennzeichen", "year"],
        set_={"last_number": FileCounter.last_number + count},
    ).returning(FileCounter.last_number)
    last = (await session.execute(statement)).scalar_one()
    return int(last) - count + 1


# --- cases -----------------------------------------------------------------------------------


async def filed_applications(
    session: AsyncSession, application_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these applications have a case already."""
    found = await session.scalars(
        select(Vorgang.application_id).where(Vorgang.application_id.in_(list(application_ids)))
    )
    return set(found)


async def case_id_for_application(
    session: AsyncSession, application_id: uuid.UUID
) -> uuid.UUID | None:
    return await session.scalar(select(Vorgang.id).where(Vorgang.application_id == application_id))


async def case(
    session: AsyncSession,
    authority_id: str,
    case_id: uuid.UUID,
    *,
    lock: bool = False,
    with_documents: bool = False,
) -> Vorgang | None:
    """A case of this authority with its Akte; `lock` holds the row until the commit."""
    query = (
        select(Vorgang)
        .where(Vorgang.id == case_id, Vorgang.authority_id == authority_id)
        .options(selectinload(Vorgang.akte))
        .execution_options(populate_existing=True)
    )
    if with_documents:
        query = query.options(selectinload(Vorgang.documents))
    if lock:
        query = query.with_for_update(of=Vorgang)
    return await session.scalar(query)


async def document(
    session: AsyncSession, case_id: uuid.UUID, document_id: uuid.UUID
) -> Dokument | None:
    return await session.scalar(
        select(Dokument).where(Dokument.id == document_id, Dokument.vorgang_id == case_id)
    )


async def next_version(session: AsyncSession, case_id: uuid.UUID, document_key: str) -> int:
    current = await session.scalar(
        select(func.max(Dokument.version)).where(
            Dokument.vorgang_id == case_id, Dokument.document_key == document_key
        )
    )
    return int(current or 0) + 1


async def audit_entries(session: AsyncSession, case_id: uuid.UUID) -> Sequence[AuditEntry]:
    return (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.vorgang_id == case_id).order_by(AuditEntry.seq)
        )
    ).all()


async def akte_by_reference(
    session: AsyncSession, authority_id: str, file_reference: str
) -> Akte | None:
    return await session.scalar(
        select(Akte).where(Akte.authority_id == authority_id, Akte.aktenzeichen == file_reference)
    )


# --- triage ----------------------------------------------------------------------------------


async def triage_item(
    session: AsyncSession, application_id: uuid.UUID, *, lock: bool = False
) -> TriageItem | None:
    query = (
        select(TriageItem)
        .where(TriageItem.application_id == application_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def triage_items(
    session: AsyncSession, *, open_only: bool, limit: int
) -> Sequence[TriageItem]:
    query = select(TriageItem).order_by(TriageItem.received_at, TriageItem.application_id)
    if open_only:
        query = query.where(TriageItem.assigned_at.is_(None))
    return (await session.scalars(query.limit(limit))).all()
