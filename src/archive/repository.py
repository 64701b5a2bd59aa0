"""Queries on the archive's own tables."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from archive.models import Process, ProcessObject

OPEN_OBJECT_STATES = ("offered", "appraised", "exported")
"""A case in one of these states belongs to a running process and is offered nowhere else."""


async def get_process(session: AsyncSession, process_id: uuid.UUID) -> Process | None:
    return await session.get(Process, process_id)


async def process_objects(session: AsyncSession, process_id: uuid.UUID) -> list[ProcessObject]:
    rows = await session.scalars(
        select(ProcessObject)
        .where(ProcessObject.process_id == process_id)
        .order_by(ProcessObject.aktenzeichen)
    )
    return list(rows)


async def cases_in_running_processes(session: AsyncSession, authority_id: str) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(ProcessObject.case_id)
        .join(Process, Process.id == ProcessObject.process_id)
        .where(Process.authority_id == authority_id)
        .where(ProcessObject.status.in_(OPEN_OBJECT_STATES))
    )
    return set(rows)


async def processes_with_status(
    session: AsyncSession, authority_id: str, status: str
) -> list[Process]:
    rows = await session.scalars(
        select(Process)
        .where(Process.authority_id == authority_id, Process.status == status)
        .order_by(Process.created_at)
    )
    return list(rows)


async def processes(session: AsyncSession, authority_id: str, limit: int = 50) -> list[Process]:
    """The authority's processes, newest first."""
    rows = await session.scalars(
        select(Process)
        .where(Process.authority_id == authority_id)
        .order_by(Process.created_at.desc())
        .limit(limit)
    )
    return list(rows)
