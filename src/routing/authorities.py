"""Routing's published read of its directory, for the other contexts: which authorities exist,
what each is called, its address and contact data (letterheads), and what the services are
called. A declared port (see the import-linter contracts in pyproject.toml): other contexts
import this module, never routing's ORM models or repository."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing import repository
from routing.directory import AuthorityData
from routing.models import Authority, Service


async def authority_ids(session: AsyncSession) -> set[str]:
    return set(await repository.authority_ids(session))


async def authority_name(session: AsyncSession, authority_id: str) -> str | None:
    name: str | None = await session.scalar(
        select(Authority.name).where(Authority.id == authority_id)
    )
    return name


async def service_names(session: AsyncSession, leika_keys: Collection[str]) -> dict[str, str]:
    """The German names of these services (LeiKa keys); keys the directory lacks are absent."""
    if not leika_keys:
        return {}
    rows = await session.execute(
        select(Service.leika_key, Service.name).where(Service.leika_key.in_(sorted(leika_keys)))
    )
    return {key: name for key, name in rows.all()}


async def authority_names(session: AsyncSession) -> dict[str, str]:
    """Every authority of the directory: id → name, ordered by id."""
    return await repository.authority_names(session)


async def authority_contact(session: AsyncSession, authority_id: str) -> AuthorityData | None:
    """Name, address and contact data as plain data (no ORM row), e.g. for a letterhead."""
    return await repository.authority_contact(session, authority_id)
