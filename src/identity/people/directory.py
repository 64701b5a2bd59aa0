"""The one place people read routing's directory (its published port `routing.authorities`):
which authorities exist, and their names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from routing import authorities as routing_authorities


async def authorities(session: AsyncSession) -> dict[str, str]:
    """Every authority of the directory, id → name."""
    return await routing_authorities.authority_names(session)
