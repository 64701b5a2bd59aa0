"""`CitizenSource` in memory, for unit tests: applications, cases and decisions as dicts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from citizen.sources import Addressee, Bescheid, SentMessage


@dataclass
class MemorySource:
    addressees: dict[uuid.UUID, Addressee] = field(default_factory=dict)
    bescheide: dict[uuid.UUID, Bescheid] = field(default_factory=dict)
    cases: set[uuid.UUID] = field(default_factory=set)
    """Applications that have a case (and so a place for the messages sent)."""
    filed: dict[uuid.UUID, list[SentMessage]] = field(default_factory=dict)
    downloads: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)

    async def addressee(self, session: AsyncSession, application_id: uuid.UUID) -> Addressee | None:
        return self.addressees.get(application_id)

    async def bescheid(self, session: AsyncSession, application_id: uuid.UUID) -> Bescheid | None:
        return self.bescheide.get(application_id)

    async def record_download(
        self, session: AsyncSession, application_id: uuid.UUID, bescheid: Bescheid
    ) -> None:
        self.downloads.append((application_id, bescheid.document_id))

    async def file_message(
        self, session: AsyncSession, application_id: uuid.UUID, message: SentMessage
    ) -> uuid.UUID | None:
        if application_id not in self.cases:
            return None
        self.filed.setdefault(application_id, []).append(message)
        return uuid.uuid4()
