"""What the e-Akte needs to know of routing's directory: which authorities exist (so their
inboxes can be consumed), an authority's name (for a triage assignment) and the German names
of services (for the Posteingang).

The one place casefile reads routing's data, read-only, so that a change there touches one
module here. Authorities a routed message names come with their name in the message itself.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing import repository as routing_repository
from routing.models import Authority, Service


async def authority_ids(session: AsyncSession) -> set[str]:
    return set(await routing_repository.authority_ids(session))


async def authority_name(session: AsyncSession, authority_id: str) -> str | None:
    name: str | None = await session.scalar(
        select(Authority.name).where(Authority.id == authority_id)
    )
    return name


async def service_names(session: AsyncSession, leika_keys: Collection[str]) -> dict[str, str]:
    """The directory's German names of these services (LeiKa keys); unknown keys are absent."""
    if not leika_keys:
        return {}
    rows = await session.execute(
        select(Service.leika_key, Service.name).where(Service.leika_key.in_(sorted(leika_keys)))
    )
    return {key: name for key, name in rows.all()}
