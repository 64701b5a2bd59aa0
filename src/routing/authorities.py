"""Routing's published read of its directory, for the other contexts: which authorities exist
and what each is called. A declared port (see the import-linter contracts in pyproject.toml):
other contexts import this module, never routing's ORM models or repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing import repository
from routing.models import Authority


async def authority_ids(session: AsyncSession) -> set[str]:
    return set(await repository.authority_ids(session))


async def authority_name(session: AsyncSession, authority_id: str) -> str | None:
    name: str | None = await session.scalar(
        select(Authority.name).where(Authority.id == authority_id)
    )
    return name
