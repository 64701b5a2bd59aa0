"""The real `CaseSource`: the e-Akte through `casefile.archiving`, and intake's copy of the
application through `intake.purging`, the record of the citizen's e-mails through
`citizen.purging` (all work in the caller's session, so the deletion of a case and the archive's
record of it commit together)."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from archive.errors import ArchiveError
from archive.sources import (
    AppraisalCode,
    ArchivableAkte,
    ArchivableDokument,
    ArchivableVersion,
    ArchivableVorgang,
    AuditEntry,
    ClosedCase,
    DeletionOutcome,
    DisposalCode,
    FilePlanUnit,
    Retention,
)
from casefile import archiving
from casefile.models import Akte, Dokument, Vorgang
from casefile.models import AuditEntry as CaseAuditEntry
from citizen.purging import purge_notifications
from intake import purging

_DOCUMENTS = uuid.UUID("0d3c4f55-2b8e-4a8f-9d67-5a7f3f0c9b12")
KINDS = {
    "original": "Antrag (Original)",
    "rendering": "Antrag (Lesefassung)",
    "attachment": "Anlage",
    "decision": "Bescheid",
    "notification": "E-Mail an die Antragstellerin/den Antragsteller",
}


def _unit(akte: Akte) -> FilePlanUnit:
    disposal: DisposalCode = "A" if akte.disposal == "A" else "V" if akte.disposal == "V" else "B"
    return FilePlanUnit(
        kennzeichen=akte.kennzeichen,
        title=akte.plan_title,
        retention=Retention(akte.retention_years),
        disposal=disposal,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _audit(entries: list[CaseAuditEntry]) -> tuple[AuditEntry, ...]:
    return tuple(
        AuditEntry(
            actor=entry.actor,
            at=entry.at,
            action=entry.action,
            old_value=_text(entry.old_value),
            new_value=_text(entry.new_value),
            note=f"#{entry.seq} {entry.hash}",
        )
        for entry in entries
    )


# The extension names the format in the package; the media type recorded at intake is the
# authority on it (mimetypes guesses `.xsl` for application/xml on some systems).
EXTENSIONS = {
    "application/xml": "xml",
    "text/xml": "xml",
    "application/json": "json",
    "text/html": "html",
    "application/pdf": "pdf",
    "text/plain": "txt",
}


def _filename(row: Dokument) -> str:
    media_type = row.media_type.split(";")[0].strip().lower()
    name = row.filename or row.document_key.replace(":", "-")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    wanted = EXTENSIONS.get(media_type)
    if wanted is None:
        guessed = mimetypes.guess_extension(media_type)
        return name if suffix or not guessed else name + guessed
    return name if suffix.lower() == wanted else f"{stem}.{wanted}"


def _documents(case: Vorgang) -> tuple[ArchivableDokument, ...]:
    grouped: dict[str, list[Dokument]] = {}
    for row in sorted(case.documents, key=lambda d: (d.created_at, d.version)):
        grouped.setdefault(row.document_key, []).append(row)
    documents = []
    for key, rows in grouped.items():
        rows.sort(key=lambda d: d.version)
        latest = rows[-1]
        documents.append(
            ArchivableDokument(
                id=uuid.uuid5(_DOCUMENTS, f"{case.id}/{key}"),
                title=latest.title,
                kind=KINDS.get(latest.kind, latest.kind),
                received_at=case.received_at if latest.kind in ("original", "attachment") else None,
                versions=tuple(
                    ArchivableVersion(
                        id=row.id,
                        number=row.version,
                        filename=_filename(row),
                        media_type=row.media_type,
                        blob_key=row.blob_key,
                        sha256=row.sha256,
                        size=row.size,
                        created_at=row.created_at,
                        conformance=row.conformance,
                    )
                    for row in rows
                ),
            )
        )
    return tuple(documents)


class CasefileSource:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def closed_cases(self, authority_id: str) -> list[ClosedCase]:
        files = await archiving.closed_files(self.session, authority_id)
        return [
            ClosedCase(
                id=akte.id,
                aktenzeichen=akte.aktenzeichen,
                title=akte.title,
                closed_at=akte.closed_at,
                unit=_unit(akte),
            )
            for akte in files
            if akte.closed_at is not None
        ]

    async def load(self, case_id: uuid.UUID) -> ArchivableAkte:
        found = await archiving.file_for_archive(self.session, case_id)
        if found is None or found.akte.closed_at is None:
            raise ArchiveError(f"no closed Akte {case_id} in the e-Akte")
        akte = found.akte
        closed_at = found.akte.closed_at
        many = len(found.cases) > 1
        vorgaenge = tuple(
            ArchivableVorgang(
                id=case.id,
                title=akte.title,
                reference=f"{akte.aktenzeichen}/{index}" if many else akte.aktenzeichen,
                opened_at=case.received_at,
                closed_at=case.closed_at,
                documents=_documents(case),
                audit=_audit(found.trails[case.id]),
                structured_data=case.record or None,
            )
            for index, case in enumerate(found.cases, start=1)
        )
        return ArchivableAkte(
            id=akte.id,
            authority_id=akte.authority_id,
            authority_name=akte.authority_name,
            aktenzeichen=akte.aktenzeichen,
            title=akte.title,
            unit=_unit(akte),
            opened_at=akte.created_at,
            closed_at=closed_at,
            vorgaenge=vorgaenge,
        )

    async def record_appraisal(
        self, case_id: uuid.UUID, code: AppraisalCode, *, process_id: uuid.UUID
    ) -> None:
        await archiving.record_appraisal(self.session, case_id, code, process_id=process_id)

    async def delete_case(
        self, case_id: uuid.UUID, *, reason: str, archive_id: str | None, process_id: uuid.UUID
    ) -> DeletionOutcome:
        deleted = await archiving.delete_file(
            self.session, case_id, reason=reason, archive_id=archive_id, process_id=process_id
        )
        candidates = set(deleted.blob_keys)
        for application_id in deleted.application_ids:
            candidates.update(await purging.purge_application(self.session, application_id))
            await purge_notifications(self.session, application_id)
        keys = sorted(candidates)
        still_used = await archiving.referenced_blobs(self.session, keys)
        still_used |= await purging.referenced_blobs(self.session, keys)
        return DeletionOutcome(unreferenced_blobs=[k for k in keys if k not in still_used])
