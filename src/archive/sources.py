"""What the archive needs from the e-Akte, as plain data and one port (`CaseSource`).

The archive never reads the case file's tables: an adapter (`archive.casefile_source`) turns the
case file into these dataclasses, and an in-memory one (`archive.memory`) serves unit tests and
benchmarks. A case here is one Akte with its Vorgänge; it is offered, appraised, exported and
deleted as a whole.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

DisposalCode = Literal["A", "B", "V"]
"""Aussonderungsart of a file-plan unit: A archivwürdig, B zu bewerten, V vernichten."""

AppraisalCode = Literal["A", "V"]
"""The archive's decision per object (0502): A take over, V destroy."""


@dataclass(frozen=True)
class Retention:
    """A file-plan unit's retention period: years after closing, or unlimited (`years=None`)."""

    years: int | None

    @property
    def unlimited(self) -> bool:
        return self.years is None


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail; becomes an xdomea HistorienProtokollInformation."""

    actor: str
    at: datetime
    action: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ArchivableVersion:
    """One stored file of a document. `id` is the file's own UUID and names it in the package."""

    id: uuid.UUID
    number: int
    filename: str
    media_type: str
    blob_key: str
    sha256: str
    size: int
    created_at: datetime
    conformance: str | None = None
    """A standard the bytes follow (`PDF/A-2b`): decides the file-format code."""


@dataclass(frozen=True)
class ArchivableDokument:
    id: uuid.UUID
    title: str
    kind: str
    received_at: datetime | None
    versions: tuple[ArchivableVersion, ...]
    audit: tuple[AuditEntry, ...] = ()


@dataclass(frozen=True)
class ArchivableVorgang:
    id: uuid.UUID
    title: str
    reference: str
    opened_at: datetime
    closed_at: datetime | None
    documents: tuple[ArchivableDokument, ...]
    audit: tuple[AuditEntry, ...] = ()
    structured_data: dict[str, Any] | None = None
    """The Vorgang's structured data (the application's record), exported as an XML document."""


@dataclass(frozen=True)
class FilePlanUnit:
    kennzeichen: str
    title: str
    retention: Retention
    disposal: DisposalCode


@dataclass(frozen=True)
class ArchivableAkte:
    """One closed case file with everything the archive package carries."""

    id: uuid.UUID
    authority_id: str
    aktenzeichen: str
    title: str
    unit: FilePlanUnit
    opened_at: datetime
    closed_at: datetime
    vorgaenge: tuple[ArchivableVorgang, ...]
    audit: tuple[AuditEntry, ...] = ()
    authority_name: str | None = None

    def versions(self) -> list[ArchivableVersion]:
        return [
            version
            for vorgang in self.vorgaenge
            for document in vorgang.documents
            for version in document.versions
        ]


@dataclass(frozen=True)
class ClosedCase:
    """A closed case as listed for the retention check: enough to decide whether it is due."""

    id: uuid.UUID
    aktenzeichen: str
    title: str
    closed_at: datetime
    unit: FilePlanUnit


@dataclass(frozen=True)
class DeletionOutcome:
    """What deleting a case left to do outside the database transaction."""

    unreferenced_blobs: list[str] = field(default_factory=list)
    """Blob keys no remaining row references: delete them after the commit."""


class CaseSource(Protocol):
    """The e-Akte as the archive sees it. Implementations work inside the caller's transaction."""

    async def closed_cases(self, authority_id: str) -> list[ClosedCase]:
        """Every closed case of the authority that still exists, with its file-plan unit."""
        ...

    async def load(self, case_id: uuid.UUID) -> ArchivableAkte:
        """The whole case with documents, versions, audit trail and structured data."""
        ...

    async def record_appraisal(
        self, case_id: uuid.UUID, code: AppraisalCode, *, process_id: uuid.UUID
    ) -> None:
        """Append the archive's decision to the case's audit trail."""
        ...

    async def delete_case(
        self, case_id: uuid.UUID, *, reason: str, archive_id: str | None, process_id: uuid.UUID
    ) -> DeletionOutcome:
        """Delete the case's documents and data, keeping a deletion record in the audit trail.

        `archive_id` is the archive's reference after a successful import, None when the case
        is destroyed (appraised V)."""
        ...
