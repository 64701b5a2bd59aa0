"""The one place people read routing's directory: which authorities exist, and their names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from routing import repository as routing_repository


async def authorities(session: AsyncSession) -> dict[str, str]:
    """Every authority of the directory, id → name."""
    return await routing_repository.authority_names(session)
