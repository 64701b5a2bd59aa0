"""What the e-Akte needs to know of routing's directory: which authorities exist (so their
inboxes can be consumed), an authority's name (for a triage assignment), its letterhead (for
the Bescheid, `DirectoryLetterheads`, the adapter of `casefile.bescheid.Letterheads`) and the
German names of services (for the Posteingang).

The adapter to routing's published port (`routing.authorities`), read-only, so that a change
there touches one module here. Authorities a routed message names come with their name in the
message itself.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from casefile.bescheid import Letterhead
from routing import authorities


async def authority_ids(session: AsyncSession) -> set[str]:
    return await authorities.authority_ids(session)


async def authority_name(session: AsyncSession, authority_id: str) -> str | None:
    return await authorities.authority_name(session, authority_id)


async def authority_names(session: AsyncSession) -> dict[str, str]:
    """Every authority of the directory: id → name (a triage assignment's choices)."""
    return await authorities.authority_names(session)


async def service_names(session: AsyncSession, leika_keys: Collection[str]) -> dict[str, str]:
    """The directory's German names of these services (LeiKa keys); unknown keys are absent."""
    return await authorities.service_names(session, leika_keys)


class DirectoryLetterheads:
    """Letterheads from routing's directory (name, postal address, phone, e-mail)."""

    async def letterhead(self, session: AsyncSession, authority_id: str) -> Letterhead | None:
        contact = await authorities.authority_contact(session, authority_id)
        if contact is None:
            return None
        return Letterhead(
            name=contact.name,
            street=contact.street,
            house_number=contact.house_number,
            postcode=contact.postcode,
            city=contact.city,
            phone=contact.phone,
            email=contact.email,
        )
