"""What the e-Akte needs to know of routing's directory: which authorities exist (so their
inboxes can be consumed) and an authority's name (for a triage assignment).

The one place casefile reads routing's data, read-only, so that a change there touches one
module here. Authorities a routed message names come with their name in the message itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing import repository as routing_repository
from routing.models import Authority


async def authority_ids(session: AsyncSession) -> set[str]:
    return set(await routing_repository.authority_ids(session))


async def authority_name(session: AsyncSession, authority_id: str) -> str | None:
    name: str | None = await session.scalar(
        select(Authority.name).where(Authority.id == authority_id)
    )
    return name
