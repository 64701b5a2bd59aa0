"""What the citizen's back channel needs from the other contexts, as plain data and one port.

The back channel never reads intake's or the e-Akte's tables itself: `pipeline_source` implements
`CitizenSource` with their modules, in the caller's session; `memory` is the in-memory one for
unit tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Addressee:
    """Whom an application's news go to: the FIT-Connect reply channel's e-mail address, or
    else the e-mail address of the applicant's contact data in the form; None: neither."""

    application_id: uuid.UUID
    email: str | None
    form_title: str
    received_at: datetime
    authority: str | None = None
    """Once filed: the authority whose case file holds it, and the Aktenzeichen."""
    file_reference: str | None = None


@dataclass(frozen=True)
class Bescheid:
    """The decision document a case was decided with."""

    document_id: uuid.UUID
    title: str
    filename: str | None
    media_type: str
    size: int
    sha256: str
    blob_key: str


@dataclass(frozen=True)
class SentMessage:
    """A message sent to the citizen, as it is kept in the case file."""

    title: str
    filename: str
    media_type: str
    content: bytes


class CitizenSource(Protocol):
    async def addressee(
        self, session: AsyncSession, application_id: uuid.UUID
    ) -> Addressee | None: ...

    async def bescheid(
        self, session: AsyncSession, application_id: uuid.UUID
    ) -> Bescheid | None: ...

    async def record_download(
        self, session: AsyncSession, application_id: uuid.UUID, bescheid: Bescheid
    ) -> None:
        """The citizen fetched the Bescheid (the case's audit trail says so)."""
        ...

    async def file_message(
        self, session: AsyncSession, application_id: uuid.UUID, message: SentMessage
    ) -> uuid.UUID | None:
        """Keep the message as a document of the application's case; None: no case yet."""
        ...
