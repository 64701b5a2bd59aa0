"""Filing an application in the authority's e-Akte.

Filing is split in two. `prepare_filing` does the slow part outside any transaction: it reads
every referenced blob back and checks its SHA-256 and size, and stores the HTML rendering. Then
`file_applications` writes a group (or `file_application` one) in the caller's transaction:
file-plan unit, the next Aktenzeichen (a counter row locked by an upsert until the commit), Akte,
Vorgang, Dokumente, the first audit entry and the `filed` status event (outbox). An application
is filed at most once (unique application id); the caller's edge commits.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from casefile import applicant, audit, repository
from casefile.errors import (
    BlobMismatch,
    NoPlanUnit,
)
from casefile.fileplan import DEFAULT_AUTHORITY, DEFAULT_PLAN, PlanFile
from casefile.models import (
    FILED,
    Akte,
    AuditEntry,
    Dokument,
    PlanUnit,
    TriageItem,
    Vorgang,
)
from casefile.rendering import render_application, subject
from casefile.schemas import ApplicationToFile
from contracts.application import AuthorityMessage, ReceivedApplication
from contracts.status import StatusChanged, published, record_changes
from contracts.values import InvalidKey, leika_key
from eantrag.blobs import BlobStore, TieredBlobStore, blob_key, hash_blob
from eantrag.broker import PermanentError
from eantrag.db import Insert, column_values, insert_rows, table_of, utcnow
from eantrag.outbox import outbox_table

SYSTEM_ACTOR = "system:casefile eantrag (Ablage)"
# The Aktenzeichen's year is the authority's calendar year.
LOCAL_TIME = ZoneInfo("Europe/Berlin")
HTML = "text/html; charset=utf-8"


class FilingConflict(Exception):
    """A unique constraint refused the filing (another filer won a race): try again."""


def leika_key_of(urn: str) -> str:
    try:
        return leika_key(urn)
    except InvalidKey as exc:
        raise PermanentError(f"{urn!r} is not a LeiKa key or URN") from exc


def local_year(at: datetime) -> int:
    return at.astimezone(LOCAL_TIME).year


def status_changed(
    application_id: uuid.UUID, status: str, at: datetime, detail: dict[str, Any] | None = None
) -> StatusChanged:
    return StatusChanged.model_validate(
        {"application_id": application_id, "status": status, "at": at, "detail": detail}
    )


# --- what gets filed -------------------------------------------------------------------------


def from_message(message: AuthorityMessage) -> ApplicationToFile:
    return ApplicationToFile(
        application_id=message.application_id,
        form_id=message.form_id,
        leika_urn=message.leika_urn,
        received_at=message.received_at,
        authority_id=message.authority.id,
        authority_name=message.authority.name,
        record=message.record,
        original=message.original,
        attachments=message.attachments,
        routing={"via": "routing", **message.routing.model_dump(mode="json", by_alias=True)},
    )


def from_triage(
    item: TriageItem, authority_id: str, authority_name: str, actor: str
) -> ApplicationToFile:
    received = ReceivedApplication.model_validate(item.message)
    return ApplicationToFile(
        application_id=received.application_id,
        form_id=received.form_id,
        leika_urn=received.leika_urn,
        received_at=received.received_at,
        authority_id=authority_id,
        authority_name=authority_name,
        record=received.record,
        original=received.original,
        attachments=received.attachments,
        routing={
            "via": "triage",
            "assignedBy": actor,
            "unroutableReason": item.reason,
            "ars": received.ars,
            "postleitzahl": received.postleitzahl,
        },
    )


@dataclass(frozen=True)
class NewDocument:
    kind: str
    document_key: str
    title: str
    filename: str | None
    media_type: str
    size: int
    sha256: str
    sha512: str | None
    blob_key: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    derived_from: uuid.UUID | None = None


@dataclass(frozen=True)
class PreparedFiling:
    application: ApplicationToFile
    documents: list[NewDocument]
    blob_rows: list[Insert] = field(default_factory=list)
    """Documents kept in the database (`TieredBlobStore`), inserted with the case."""


async def verify_blob(blobs: BlobStore, key: str, sha256: str, size: int) -> None:
    """Read the bytes back and prove they are the ones the message promises."""
    if key != blob_key(sha256):
        raise BlobMismatch(f"blob key {key!r} does not name SHA-256 {sha256}")
    found, length = await hash_blob(blobs, key)
    if found != sha256 or length != size:
        raise BlobMismatch(
            f"blob {key} holds {length} bytes with SHA-256 {found}, "
            f"expected {size} bytes with {sha256}"
        )


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int


async def store_bytes(
    blobs: TieredBlobStore, data: bytes, media_type: str
) -> tuple[StoredBlob, list[Insert]]:
    """Keep `data`: a large document goes to the blob store now; a small one comes back as the
    row that the caller inserts in the transaction which refers to it."""
    sha256 = hashlib.sha256(data).hexdigest()
    inline = blobs.inline_row(data, sha256)
    if inline is not None:
        key, row = inline
        return StoredBlob(key, sha256, len(data)), [row]
    key = await blobs.put(io.BytesIO(data), sha256, len(data), media_type)
    return StoredBlob(key, sha256, len(data)), []


_EXTENSIONS = {"application/xml": ".xml", "text/xml": ".xml", "application/json": ".json"}


def _original_filename(media_type: str) -> str:
    # mimetypes guesses ".xsl" for application/xml: name the forms' own types explicitly.
    base = media_type.split(";")[0].strip().lower()
    extension = _EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ".bin"
    return f"antrag{extension}"


async def prepare_filing(blobs: TieredBlobStore, application: ApplicationToFile) -> PreparedFiling:
    original = application.original
    await verify_blob(blobs, original.blob_key, original.sha256, original.size)
    for attachment in application.attachments:
        await verify_blob(blobs, attachment.blob_key, attachment.sha256, attachment.size)
    original_doc = NewDocument(
        kind="original",
        document_key="original",
        title="Antrag (Original, wie eingegangen)",
        filename=_original_filename(original.media_type),
        media_type=original.media_type,
        size=original.size,
        sha256=original.sha256,
        sha512=original.sha512,
        blob_key=original.blob_key,
    )
    rendering, blob_rows = await store_bytes(blobs, render_application(application), HTML)
    documents = [
        original_doc,
        NewDocument(
            kind="rendering",
            document_key="rendering",
            title="Antrag (Lesefassung, HTML)",
            filename="antrag.html",
            media_type=HTML,
            size=rendering.size,
            sha256=rendering.sha256,
            sha512=None,
            blob_key=rendering.key,
            derived_from=original_doc.id,
        ),
    ]
    for attachment in application.attachments:
        documents.append(
            NewDocument(
                kind="attachment",
                document_key=f"attachment:{attachment.attachment_id}",
                title=attachment.filename or f"Anlage {attachment.attachment_id}",
                filename=attachment.filename,
                media_type=attachment.media_type,
                size=attachment.size,
                sha256=attachment.sha256,
                sha512=attachment.sha512,
                blob_key=attachment.blob_key,
            )
        )
    return PreparedFiling(application, documents, blob_rows)


# --- filing ----------------------------------------------------------------------------------


async def default_plan(session: AsyncSession) -> PlanFile:
    stored = await repository.plan_of(session, DEFAULT_AUTHORITY)
    return stored if stored is not None else DEFAULT_PLAN


async def import_plan(session: AsyncSession, authority_id: str, plan: PlanFile) -> None:
    """Replace an authority's plan (or, for "*", the default plan for authorities without one).

    Existing files keep the Kennzeichen and retention they were filed with.
    """
    await repository.delete_plan(session, authority_id)
    await session.flush()
    await repository.add_plan(session, authority_id, plan)


async def plan_unit(session: AsyncSession, authority_id: str, leika_key: str) -> PlanUnit:
    unit = await repository.unit_for(session, authority_id, leika_key)
    if unit is None:
        # The authority's first file (or a plan without this service). Another filer may be
        # adding the default plan right now: add_plan skips rows that exist, and the second
        # look sees what that filer committed.
        if not await repository.has_plan(session, authority_id):
            await repository.add_plan(session, authority_id, await default_plan(session))
        unit = await repository.unit_for(session, authority_id, leika_key)
    if unit is None:
        raise NoPlanUnit(
            f"the file plan of {authority_id} has no unit for service {leika_key} and no "
            'catch-all unit ("*"); import a plan with `eantrag fileplan import`'
        )
    return unit


@dataclass(frozen=True)
class Filed:
    case: Vorgang
    akte: Akte


async def file_application(
    session: AsyncSession, prepared: PreparedFiling, *, actor: str, source: str
) -> Filed | None:
    """File in the authority's e-Akte; None when the application is filed already."""
    return (await file_applications(session, [prepared], actor=actor, source=source))[0]


async def file_applications(
    session: AsyncSession, filings: Sequence[PreparedFiling], *, actor: str, source: str
) -> list[Filed | None]:
    """File a group of applications in the caller's transaction, in the given order.

    Returns, per filing, what was filed, or None for an application that has a case already (or
    comes twice in the group). The rows are written as plain inserts, one per table for the whole
    group, and each counter reserves its numbers in one upsert: the cost of a group is a handful
    of statements, not a handful per application. The file references are those of filing one by
    one in the same order.
    """
    now = utcnow()
    year = local_year(now)
    filed_before = await repository.filed_applications(
        session, {p.application.application_id for p in filings}
    )
    units: dict[tuple[str, str], PlanUnit] = {}
    todo: list[tuple[PreparedFiling, PlanUnit, str]] = []
    for prepared in filings:
        application = prepared.application
        if application.application_id in filed_before:
            continue
        filed_before.add(application.application_id)  # a second copy in the group
        leika_key = leika_key_of(application.leika_urn)
        where = (application.authority_id, leika_key)
        if where not in units:
            units[where] = await plan_unit(session, *where)
        todo.append((prepared, units[where], leika_key))

    # Counters in a fixed order, so that concurrent groups lock them in the same order.
    wanted: dict[tuple[str, str], int] = {}
    for prepared, unit, _ in todo:
        counter = (prepared.application.authority_id, unit.kennzeichen)
        wanted[counter] = wanted.get(counter, 0) + 1
    next_free = {
        counter: await repository.reserve_numbers(session, *counter, year, count)
        for counter, count in sorted(wanted.items())
    }

    rows: list[Insert] = []
    results: dict[uuid.UUID, Filed] = {}
    for prepared, unit, leika_key in todo:
        counter = (prepared.application.authority_id, unit.kennzeichen)
        number, next_free[counter] = next_free[counter], next_free[counter] + 1
        filed = _new_case(prepared, unit, leika_key, year, number, now, actor, source)
        rows += [*prepared.blob_rows, *_case_rows(filed, prepared, actor, now)]
        results[prepared.application.application_id] = filed
    try:
        await insert_rows(session, rows)
    except IntegrityError as exc:
        raise FilingConflict(str(exc.orig)) from exc
    await record_changes(session, [_filed_change(filed) for filed in results.values()])
    # The first time an application appears in `filings` is the one that was filed.
    out: list[Filed | None] = []
    for prepared in filings:
        out.append(results.pop(prepared.application.application_id, None))
    return out


def _new_case(
    prepared: PreparedFiling,
    unit: PlanUnit,
    leika_key: str,
    year: int,
    number: int,
    now: datetime,
    actor: str,
    source: str,
) -> Filed:
    application = prepared.application
    reference = f"{unit.kennzeichen}-{year}-{number}"
    akte = Akte(
        id=uuid.uuid4(),
        authority_id=application.authority_id,
        authority_name=application.authority_name,
        aktenzeichen=reference,
        kennzeichen=unit.kennzeichen,
        year=year,
        number=number,
        title=subject(application.record, application.form_id or application.leika_urn),
        plan_title=unit.title,
        retention_years=unit.retention_years,
        disposal=unit.disposal,
        created_at=now,
        closed_at=None,
    )
    case = Vorgang(
        id=uuid.uuid4(),
        akte_id=akte.id,
        authority_id=application.authority_id,
        application_id=application.application_id,
        leika_key=leika_key,
        leika_urn=application.leika_urn,
        form_id=application.form_id,
        record=application.record,
        routing=application.routing,
        source=source,
        received_at=application.received_at,
        filed_at=now,
        status=FILED,
        outcome=None,
        decided_at=None,
        closed_at=None,
        updated_at=now,
        audit_seq=0,
        audit_head=audit.GENESIS,
        **applicant.case_columns(application.record, reference),
    )
    return Filed(case, akte)


def _case_rows(filed: Filed, prepared: PreparedFiling, actor: str, now: datetime) -> list[Insert]:
    """The rows of one new case: Akte, Vorgang, Dokumente, first audit entry, status event."""
    case, akte = filed.case, filed.akte
    application = prepared.application
    entry = audit.next_entry(
        case,
        actor=actor,
        action="filed",
        new_value={
            "status": FILED,
            "fileReference": akte.aktenzeichen,
            "authorityId": case.authority_id,
            "applicationId": str(application.application_id),
            "documents": [
                {"id": str(d.id), "kind": d.kind, "sha256": d.sha256} for d in prepared.documents
            ],
        },
        at=now,
    )
    rows: list[Insert] = [(table_of(Akte), column_values(akte))]
    rows.append((table_of(Vorgang), column_values(case)))  # with the head of its trail
    for doc in prepared.documents:
        rows.append(
            (
                table_of(Dokument),
                {
                    "id": doc.id,
                    "vorgang_id": case.id,
                    "kind": doc.kind,
                    "document_key": doc.document_key,
                    "version": 1,
                    "title": doc.title,
                    "filename": doc.filename,
                    "media_type": doc.media_type,
                    "size": doc.size,
                    "sha256": doc.sha256,
                    "sha512": doc.sha512,
                    "blob_key": doc.blob_key,
                    "derived_from": doc.derived_from,
                    "created_at": now,
                    "created_by": actor,
                },
            )
        )
    rows.append((table_of(AuditEntry), column_values(entry)))
    # `filed` is on the broker for the renderer and the e-mail, where they are set up; the
    # timeline is written apart
    if published("filed"):
        rows.append((outbox_table(), _filed_change(filed).outbox_row()))
    return rows


def _filed_change(filed: Filed) -> StatusChanged:
    case = filed.case
    return status_changed(
        case.application_id,
        FILED,
        case.filed_at,
        {
            "authority": filed.akte.authority_name,
            "authorityId": case.authority_id,
            "fileReference": filed.akte.aktenzeichen,
        },
    )
