"""An in-memory `CaseSource` for unit tests and benchmarks: the case file's behaviour without its
tables (deletion keeps the audit trail, shared blobs survive while anything references them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from archive.sources import (
    AppraisalCode,
    ArchivableAkte,
    AuditEntry,
    ClosedCase,
    DeletionOutcome,
)
from eantrag.db import utcnow


@dataclass
class InMemoryCaseSource:
    cases: dict[uuid.UUID, ArchivableAkte] = field(default_factory=dict)
    audit: dict[uuid.UUID, list[AuditEntry]] = field(default_factory=dict)
    """Per case, the entries the archive appended; kept after the case is deleted."""
    other_blob_refs: set[str] = field(default_factory=set)
    """Blob keys referenced from elsewhere (another context), never to be deleted."""
    deleted: dict[uuid.UUID, str | None] = field(default_factory=dict)

    def add(self, akte: ArchivableAkte) -> ArchivableAkte:
        self.cases[akte.id] = akte
        return akte

    async def closed_cases(self, authority_id: str) -> list[ClosedCase]:
        return [
            ClosedCase(
                id=akte.id,
                aktenzeichen=akte.aktenzeichen,
                title=akte.title,
                closed_at=akte.closed_at,
                unit=akte.unit,
            )
            for akte in self.cases.values()
            if akte.authority_id == authority_id
        ]

    async def load(self, case_id: uuid.UUID) -> ArchivableAkte:
        return self.cases[case_id]

    async def record_appraisal(
        self, case_id: uuid.UUID, code: AppraisalCode, *, process_id: uuid.UUID
    ) -> None:
        self._log(case_id, "archive.appraised", new_value=code, note=f"Prozess {process_id}")

    async def delete_case(
        self, case_id: uuid.UUID, *, reason: str, archive_id: str | None, process_id: uuid.UUID
    ) -> DeletionOutcome:
        akte = self.cases.pop(case_id)
        self.deleted[case_id] = archive_id
        self._log(
            case_id,
            "archive.deleted",
            new_value=archive_id,
            note=f"{reason}; Prozess {process_id}",
        )
        still_used = {v.blob_key for other in self.cases.values() for v in other.versions()}
        still_used |= self.other_blob_refs
        orphaned = sorted({v.blob_key for v in akte.versions()} - still_used)
        return DeletionOutcome(unreferenced_blobs=orphaned)

    def _log(
        self,
        case_id: uuid.UUID,
        action: str,
        *,
        new_value: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self.audit.setdefault(case_id, []).append(
            AuditEntry(
                actor="archive", at=at or utcnow(), action=action, new_value=new_value, note=note
            )
        )
