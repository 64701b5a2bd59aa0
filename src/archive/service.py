"""Use cases of the Aussonderung: offer (0501), appraisal (0502 → 0505), transfer (0503),
import confirmation (0506) and the deletion that follows.

The caller owns the transaction (the CLI commits); blob files are deleted only after the commit,
and only those no remaining row references (`DeletionOutcome.unreferenced_blobs`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from archive import repository, xdomea
from archive.codelists import FormatCodes
from archive.errors import ArchiveError, UnknownProcess
from archive.messages import read_appraisal, read_import_confirmation, read_message_bytes
from archive.models import Process, ProcessObject
from archive.package import PackageEntry, write_message_container, write_transfer_package
from archive.retention import due_cases
from archive.schema import SchemaCheck, namespace
from archive.sources import ArchivableAkte, CaseSource, ClosedCase
from archive.xdomea import Head, Party
from eantrag.blobs import BlobStore
from eantrag.db import utcnow

log = structlog.get_logger("archive")

TWO_STEP = "two-step"
FOUR_STEP = "four-step"


class ExportProgress(Protocol):
    def started(self, process_id: uuid.UUID, cases: int, total_bytes: int) -> None: ...

    def advanced(self, cases: int, written_bytes: int) -> None: ...


class _NoProgress:
    def started(self, process_id: uuid.UUID, cases: int, total_bytes: int) -> None:
        return None

    def advanced(self, cases: int, written_bytes: int) -> None:
        return None


@dataclass
class OfferResult:
    process_id: uuid.UUID
    path: Path
    cases: list[ClosedCase]


@dataclass
class AppraisalResult:
    process_id: uuid.UUID
    receipt: Path
    taken: list[str]
    destroyed_later: list[str]


@dataclass
class ExportedProcess:
    process_id: uuid.UUID
    variant: str
    path: Path | None
    cases: list[str]
    destroyed: list[str]
    files: int = 0
    bytes_in: int = 0
    size: int = 0


@dataclass
class Plan:
    """What a destructive step will do: the cases it deletes (with why), sends and keeps."""

    delete: list[tuple[str, str]] = field(default_factory=list)
    transfer: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ExportResult:
    processes: list[ExportedProcess] = field(default_factory=list)
    not_transferred_v: list[str] = field(default_factory=list)
    """Due cases whose unit says V: destroyed after the archive agreed, never sent unasked."""
    unreferenced_blobs: list[str] = field(default_factory=list)


@dataclass
class ConfirmResult:
    process_id: uuid.UUID
    archived: list[tuple[str, str | None]] = field(default_factory=list)
    failed: list[tuple[str, list[str]]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unreferenced_blobs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unknown


class ArchiveService:
    def __init__(
        self,
        session: AsyncSession,
        source: CaseSource,
        blobs: BlobStore,
        schema: SchemaCheck,
        formats: FormatCodes,
        archive_name: str,
        *,
        only_authority: str | None = None,
    ) -> None:
        """`only_authority`: a process of any other authority is unknown (an archivist's page
        acts for their own authority; the CLI, run by the operator, for any)."""
        self.only_authority = only_authority
        self.session = session
        self.source = source
        self.blobs = blobs
        self.schema = schema
        self.formats = formats
        self.archive = Party(archive_name)

    # --- retention ------------------------------------------------------------------------------

    async def due(self, authority_id: str, as_of: date) -> list[ClosedCase]:
        """Due cases that are in no running process."""
        busy = await repository.cases_in_running_processes(self.session, authority_id)
        closed = await self.source.closed_cases(authority_id)
        return [case for case in due_cases(closed, as_of) if case.id not in busy]

    # --- 0501 -----------------------------------------------------------------------------------

    async def offer(
        self,
        authority_id: str,
        as_of: date,
        out_dir: Path,
        *,
        version: str = "3.0.0",
        sender: Party | None = None,
    ) -> OfferResult | None:
        namespace(version)
        cases = await self.due(authority_id, as_of)
        if not cases:
            return None
        akten = [await self.source.load(case.id) for case in cases]
        process_id = uuid.uuid4()
        sender = sender or _sender(authority_id, akten)
        head = self._head(process_id, "0501", sender, self.archive)
        root = xdomea.offer_list(version, head, akten)
        self.schema.validate(root, version, "0501 offer list")
        now = utcnow()
        self.session.add(
            Process(
                id=process_id,
                authority_id=authority_id,
                variant=FOUR_STEP,
                status="offered",
                as_of=as_of,
                xdomea_version=version,
                created_at=now,
                offered_at=now,
            )
        )
        for akte in akten:
            self.session.add(self._object(process_id, akte, "offered"))
        await self.session.flush()
        path = write_message_container(out_dir, process_id, "0501", xdomea.serialize(root))
        log.info("archive.offered", process_id=str(process_id), cases=len(akten), path=str(path))
        return OfferResult(process_id=process_id, path=path, cases=cases)

    # --- 0502 → 0505 ----------------------------------------------------------------------------

    async def appraise(self, message: Path, out_dir: Path) -> AppraisalResult:
        appraisal = read_appraisal(
            read_message_bytes(message), self.schema if self.schema.enabled else None
        )
        process = await self._process(appraisal.head.process_id)
        if process.status != "offered":
            raise ArchiveError(
                f"process {process.id} is {process.status}; an appraisal fits only an offer "
                "that has not been appraised yet"
            )
        objects = {
            obj.case_id: obj for obj in await repository.process_objects(self.session, process.id)
        }
        unknown = sorted(str(i) for i in appraisal.decisions if i not in objects)
        if unknown:
            raise ArchiveError(f"the appraisal names objects this process never offered: {unknown}")
        missing = sorted(
            obj.aktenzeichen for i, obj in objects.items() if i not in appraisal.decisions
        )
        if missing:
            raise ArchiveError(f"the appraisal leaves offered cases undecided: {missing}")
        now = utcnow()
        for case_id, code in appraisal.decisions.items():
            obj = objects[case_id]
            obj.appraisal = code
            obj.status = "appraised"
            await self.source.record_appraisal(
                case_id, "A" if code == "A" else "V", process_id=process.id
            )
        process.status = "appraised"
        process.appraised_at = now
        sender = Party(appraisal.head.receiver or process.authority_id)
        head = self._head(
            process.id, "0505", sender, Party(appraisal.head.sender or self.archive.name)
        )
        root = xdomea.appraisal_receipt(appraisal.version, head)
        self.schema.validate(root, appraisal.version, "0505 receipt")
        await self.session.flush()
        receipt = write_message_container(out_dir, process.id, "0505", xdomea.serialize(root))
        decided = sorted(objects.values(), key=lambda o: o.aktenzeichen)
        return AppraisalResult(
            process_id=process.id,
            receipt=receipt,
            taken=[o.aktenzeichen for o in decided if o.appraisal == "A"],
            destroyed_later=[o.aktenzeichen for o in decided if o.appraisal == "V"],
        )

    # --- plans of the destructive steps ----------------------------------------------------------

    async def export_plan(self, authority_id: str, as_of: date) -> Plan:
        """What `export` would send and delete, without changing anything."""
        plan = Plan()
        for process in await repository.processes_with_status(
            self.session, authority_id, "appraised"
        ):
            for obj in await repository.process_objects(self.session, process.id):
                if obj.appraisal == "V":
                    plan.delete.append(
                        (obj.aktenzeichen, f"vom Archiv mit V bewertet (Prozess {process.id})")
                    )
                elif obj.appraisal == "A":
                    plan.transfer.append(obj.aktenzeichen)
        for case in await self.due(authority_id, as_of):
            if case.unit.disposal == "V":
                plan.kept.append((case.aktenzeichen, "V: erst anbieten (0501)"))
            else:
                plan.transfer.append(case.aktenzeichen)
        return plan

    async def confirm_plan(self, message: Path) -> Plan:
        """What `confirm` would delete (each case the archive reports taken), without changing
        anything."""
        confirmation = read_import_confirmation(
            read_message_bytes(message), self.schema if self.schema.enabled else None
        )
        process = await self._process(confirmation.head.process_id)
        objects = {
            obj.case_id: obj for obj in await repository.process_objects(self.session, process.id)
        }
        plan = Plan()
        for outcome in confirmation.outcomes:
            obj = objects.get(outcome.object_id)
            if obj is None or obj.status not in ("exported", "failed"):
                continue
            if outcome.success:
                plan.delete.append(
                    (obj.aktenzeichen, f"vom Archiv übernommen ({outcome.archive_id or '?'})")
                )
            else:
                plan.kept.append((obj.aktenzeichen, "Übernahme gescheitert: bleibt erhalten"))
        return plan

    # --- 0503 -----------------------------------------------------------------------------------

    async def export(
        self,
        authority_id: str,
        as_of: date,
        out_dir: Path,
        *,
        version: str = "3.0.0",
        sender: Party | None = None,
        progress: ExportProgress | None = None,
    ) -> ExportResult:
        """Four-step processes that were appraised, then every other due case as a two-step
        process. One ZIP per process."""
        namespace(version)
        progress = progress or _NoProgress()
        result = ExportResult()
        for process in await repository.processes_with_status(
            self.session, authority_id, "appraised"
        ):
            result.processes.append(
                await self._export_appraised(process, out_dir, version, sender, progress, result)
            )
        cases = await self.due(authority_id, as_of)
        result.not_transferred_v = [c.aktenzeichen for c in cases if c.unit.disposal == "V"]
        transfer = [case for case in cases if case.unit.disposal != "V"]
        if transfer:
            process_id = uuid.uuid4()
            akten = [await self.source.load(case.id) for case in transfer]
            now = utcnow()
            process = Process(
                id=process_id,
                authority_id=authority_id,
                variant=TWO_STEP,
                status="exported",
                as_of=as_of,
                xdomea_version=version,
                created_at=now,
            )
            self.session.add(process)
            for akte in akten:
                self.session.add(self._object(process_id, akte, "exported"))
            exported = await self._package(
                process, akten, out_dir, version, sender or _sender(authority_id, akten), progress
            )
            result.processes.append(exported)
        await self.session.flush()
        return result

    async def _export_appraised(
        self,
        process: Process,
        out_dir: Path,
        version: str,
        sender: Party | None,
        progress: ExportProgress,
        result: ExportResult,
    ) -> ExportedProcess:
        objects = await repository.process_objects(self.session, process.id)
        destroyed = []
        for obj in objects:
            if obj.appraisal == "V":
                outcome = await self.source.delete_case(
                    obj.case_id,
                    reason="vom Archiv als nicht archivwürdig bewertet (V), vernichtet",
                    archive_id=None,
                    process_id=process.id,
                )
                result.unreferenced_blobs.extend(outcome.unreferenced_blobs)
                obj.status = "destroyed"
                destroyed.append(obj.aktenzeichen)
        taken = [obj for obj in objects if obj.appraisal == "A"]
        if not taken:
            process.status = "confirmed"
            process.exported_at = process.confirmed_at = utcnow()
            return ExportedProcess(process.id, FOUR_STEP, None, [], destroyed)
        akten = [await self.source.load(obj.case_id) for obj in taken]
        for obj in taken:
            obj.status = "exported"
        sender = sender or _sender(process.authority_id, akten)
        exported = await self._package(process, akten, out_dir, version, sender, progress)
        exported.destroyed = destroyed
        return exported

    async def _package(
        self,
        process: Process,
        akten: list[ArchivableAkte],
        out_dir: Path,
        version: str,
        sender: Party,
        progress: ExportProgress,
    ) -> ExportedProcess:
        now = utcnow()
        akten, entries = self._with_structured_data(akten, now)
        missing = self.formats.missing([e.name for e in entries])
        if missing:
            log.info("archive.format_sonstiges", extensions=missing, process_id=process.id)
        head = self._head(process.id, "0503", sender, self.archive)
        root = xdomea.transfer(version, head, akten, self.formats)
        self.schema.validate(root, version, "0503 transfer")
        message = xdomea.serialize(root)
        progress.started(process.id, len(akten), sum(e.size for e in entries))

        def advance(written: int) -> None:
            progress.advanced(0, written)

        written = await write_transfer_package(
            out_dir, process.id, message, entries, self.blobs, advance
        )
        progress.advanced(len(akten), 0)
        process.xdomea_version = version
        process.exported_at = now
        process.status = "exported"
        process.package_name = written.path.name
        process.package_sha256 = await _file_sha256(written.path)
        log.info(
            "archive.exported",
            process_id=str(process.id),
            variant=process.variant,
            cases=len(akten),
            path=str(written.path),
        )
        return ExportedProcess(
            process_id=process.id,
            variant=process.variant,
            path=written.path,
            cases=[a.aktenzeichen for a in akten],
            destroyed=[],
            files=written.files,
            bytes_in=written.bytes_in,
            size=written.size,
        )

    def _with_structured_data(
        self, akten: list[ArchivableAkte], now: datetime
    ) -> tuple[list[ArchivableAkte], list[PackageEntry]]:
        """Add each Vorgang's structured data as a generated XML document; list every file."""
        out: list[ArchivableAkte] = []
        entries: list[PackageEntry] = []
        for akte in akten:
            vorgaenge = []
            for vorgang in akte.vorgaenge:
                generated = xdomea.structured_data_document(vorgang, vorgang.closed_at or now)
                if generated is not None:
                    document, content = generated
                    vorgang = dataclasses.replace(vorgang, documents=(*vorgang.documents, document))
                    version = document.versions[0]
                    entries.append(
                        PackageEntry(
                            name=xdomea.primary_filename(version),
                            sha256=version.sha256,
                            size=version.size,
                            content=content,
                        )
                    )
                vorgaenge.append(vorgang)
            akte = dataclasses.replace(akte, vorgaenge=tuple(vorgaenge))
            for version in akte.versions():
                if version.blob_key:
                    entries.append(
                        PackageEntry(
                            name=xdomea.primary_filename(version),
                            sha256=version.sha256,
                            size=version.size,
                            blob_key=version.blob_key,
                        )
                    )
            out.append(akte)
        return out, entries

    # --- 0506 -----------------------------------------------------------------------------------

    async def confirm(self, message: Path) -> ConfirmResult:
        confirmation = read_import_confirmation(
            read_message_bytes(message), self.schema if self.schema.enabled else None
        )
        process = await self._process(confirmation.head.process_id)
        if process.status not in ("exported", "confirmed"):
            raise ArchiveError(
                f"process {process.id} is {process.status}: nothing was transferred to confirm"
            )
        objects = {
            obj.case_id: obj for obj in await repository.process_objects(self.session, process.id)
        }
        result = ConfirmResult(process_id=process.id)
        for outcome in confirmation.outcomes:
            obj = objects.get(outcome.object_id)
            if obj is None:
                result.unknown.append(str(outcome.object_id))
                continue
            if obj.status == "archived":
                result.archived.append((obj.aktenzeichen, obj.archive_id))
                continue
            if obj.status not in ("exported", "failed"):
                result.unknown.append(f"{outcome.object_id} ({obj.status})")
                continue
            if outcome.success:
                deletion = await self.source.delete_case(
                    obj.case_id,
                    reason=f"an das Archiv abgegeben ({self.archive.name})",
                    archive_id=outcome.archive_id,
                    process_id=process.id,
                )
                result.unreferenced_blobs.extend(deletion.unreferenced_blobs)
                obj.status = "archived"
                obj.archive_id = outcome.archive_id
                obj.error = None
                result.archived.append((obj.aktenzeichen, outcome.archive_id))
            else:
                obj.status = "failed"
                obj.error = "; ".join(outcome.errors) or "import failed (no reason given)"
                result.failed.append((obj.aktenzeichen, outcome.errors))
        result.pending = [o.aktenzeichen for o in objects.values() if o.status == "exported"]
        if not result.pending:
            process.status = "confirmed"
            process.confirmed_at = utcnow()
        await self.session.flush()
        log.info(
            "archive.confirmed",
            process_id=str(process.id),
            archived=len(result.archived),
            failed=len(result.failed),
            unknown=len(result.unknown),
        )
        return result

    async def delete_blobs(self, keys: list[str]) -> None:
        """After the commit: remove the files no row references any more."""
        for key in dict.fromkeys(keys):
            await self.blobs.delete(key)

    # --- helpers --------------------------------------------------------------------------------

    async def _process(self, process_id: uuid.UUID) -> Process:
        process = await repository.get_process(self.session, process_id)
        if process is None or self.only_authority not in (None, process.authority_id):
            raise UnknownProcess(str(process_id))
        return process

    def _head(self, process_id: uuid.UUID, code: str, sender: Party, receiver: Party) -> Head:
        return Head(
            process_id=process_id, code=code, created_at=utcnow(), sender=sender, receiver=receiver
        )

    @staticmethod
    def _object(process_id: uuid.UUID, akte: ArchivableAkte, status: str) -> ProcessObject:
        return ProcessObject(
            process_id=process_id,
            case_id=akte.id,
            aktenzeichen=akte.aktenzeichen,
            proposed=akte.unit.disposal,
            status=status,
            updated_at=utcnow(),
        )


def _sender(authority_id: str, akten: list[ArchivableAkte]) -> Party:
    names = [akte.authority_name for akte in akten if akte.authority_name]
    return Party(names[0] if names else authority_id)


async def _file_sha256(path: Path) -> str:
    def _hash() -> str:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()

    return await asyncio.to_thread(_hash)
