"""The clerk API of the e-Akte: inbox, case, documents, transitions, notes, audit, triage.

Every route needs a bearer token. A clerk token sees the cases of its own authority only; a case
of any other authority does not exist for it (404, never 403). Each route opens its own
transaction and commits at the end; services never commit.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from casefile import (
    assignment,
    audit,
    directory,
    duplicates,
    inbox,
    references,
    repository,
    service,
    triage,
)
from casefile.auth import Clerk, Principal, TriageClerk
from casefile.bescheid import Bescheide, Templates
from casefile.directory import DirectoryLetterheads
from casefile.errors import (
    BlobMismatch,
    CaseNotFound,
    DocumentCorrupted,
    DocumentNotFound,
)
from casefile.models import ON_HOLD, Dokument, TriageItem, Vorgang
from casefile.schemas import (
    AkteOut,
    AssigneeOut,
    AssignIn,
    AssignOut,
    AuditBreakOut,
    AuditEntryOut,
    AuditOut,
    AuthorityOut,
    CaseDetail,
    CaseList,
    CaseSummary,
    DocumentOut,
    DuplicateOut,
    MissingDocumentsIn,
    NoteIn,
    SelectionIn,
    SelectionOut,
    SelectionResultOut,
    Status,
    TransitionIn,
    TriageItemOut,
    TriageList,
)
from eantrag.blobs import CHUNK, BlobNotFound, BlobStore
from eantrag.broker import PermanentError
from eantrag.problems import ProblemError, Violation, problem_responses
from eantrag.runtime import Runtime

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["casefile"])
AUTH_PROBLEMS = (401, 403)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


class InvalidQuery(ProblemError):
    status = 422
    code = "casefile.invalid_query"
    title = "Invalid query"


class EmptyDocument(ProblemError):
    status = 422
    code = "casefile.empty_document"
    title = "The document is empty"


class DocumentTooLarge(ProblemError):
    status = 413
    code = "casefile.document_too_large"
    title = "The document is too large"


# --- shaping responses -----------------------------------------------------------------------


def _document_out(case_id: uuid.UUID, document: Dokument) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        kind=document.kind,
        title=document.title,
        filename=document.filename,
        media_type=document.media_type,
        size=document.size,
        sha256=document.sha256,
        sha512=document.sha512,
        version=document.version,
        derived_from=document.derived_from,
        conformance=document.conformance,
        created_at=document.created_at,
        created_by=document.created_by,
        href=f"/v1/cases/{case_id}/documents/{document.id}",
    )


def _summary_fields(case: Vorgang, service_name: str | None) -> dict[str, Any]:
    assignee = (
        AssigneeOut(id=case.assignee_id, name=case.assignee_name or "")
        if case.assignee_id
        else None
    )
    return {
        "id": case.id,
        "application_id": case.application_id,
        "file_reference": case.akte.aktenzeichen,
        "title": case.akte.title,
        "status": case.status,
        "outcome": case.outcome,
        "service": case.leika_urn,
        "service_name": service_name,
        "form": case.form_id,
        "applicant_name": case.applicant_name,
        "assignee": assignee,
        "assigned_at": case.assigned_at,
        "received_at": case.received_at,
        "filed_at": case.filed_at,
        "updated_at": case.updated_at,
    }


def _detail(
    case: Vorgang, service_name: str | None, likely: list[duplicates.Duplicate]
) -> CaseDetail:
    akte = case.akte
    return CaseDetail(
        **_summary_fields(case, service_name),
        authority=AuthorityOut(id=akte.authority_id, name=akte.authority_name),
        akte=AkteOut(
            id=akte.id,
            file_reference=akte.aktenzeichen,
            kennzeichen=akte.kennzeichen,
            plan_title=akte.plan_title,
            retention_years=akte.retention_years,
            disposal=akte.disposal,
            closed_at=akte.closed_at,
            retention_ends_on=service.retention_ends_on(akte),
        ),
        source=case.source,
        routing=case.routing,
        decided_at=case.decided_at,
        closed_at=case.closed_at,
        record=case.record,
        documents=[_document_out(case.id, d) for d in case.documents],
        likely_duplicates=[DuplicateOut.model_validate(d, from_attributes=True) for d in likely],
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def _case_or_404(request: Request, who: Principal, case_id: uuid.UUID) -> CaseDetail:
    async with _runtime(request).db.sessionmaker() as session:
        case = await repository.case(session, who.scope, case_id, with_documents=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        known_as = await references.references(session, case.application_id)
        service_name = await inbox.service_name(session, case.leika_key)
        likely = await duplicates.likely_duplicates(session, case)
    return _detail(case, service_name, likely).model_copy(update={"references": known_as})


# --- cases -----------------------------------------------------------------------------------


@router.get(
    "/cases",
    response_model=CaseList,
    response_model_by_alias=True,
    summary="The authority's Posteingang: filtered, searched, counted per status, newest first",
    responses=problem_responses(400, *AUTH_PROBLEMS, 422),
)
async def list_cases(
    request: Request,
    who: Clerk,
    status: Annotated[Status | None, Query(description="Only cases in this state.")] = None,
    service_key: Annotated[
        str | None, Query(alias="service", description="LeiKa key (14 digits) or LeiKa URN.")
    ] = None,
    received_from: Annotated[
        datetime | None, Query(alias="receivedFrom", description="Received at or after.")
    ] = None,
    received_to: Annotated[
        datetime | None, Query(alias="receivedTo", description="Received before.")
    ] = None,
    assigned: Annotated[
        inbox.Assigned | None,
        Query(description="`me`: assigned to the caller; `none`: assigned to nobody."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Search: part of the applicant's name (any case, either order; one "
            "or two characters match the start of a word), part of the Aktenzeichen, or an "
            "application id or case id (whole).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CaseList:
    leika_key = None
    if service_key:
        try:
            leika_key = service.leika_key_of(service_key)
        except PermanentError as exc:
            raise InvalidQuery(
                str(exc), [Violation("casefile.invalid_service", "service", str(exc))]
            ) from exc
    wanted = inbox.InboxQuery(
        status=status,
        leika_key=leika_key,
        received_from=_utc(received_from),
        received_to=_utc(received_to),
        assigned=assigned,
        me=assignment.assignee_of(who).id,
        search=q,
    )
    async with _runtime(request).db.sessionmaker() as session:
        found = await inbox.page(session, who.scope, wanted, limit=limit, cursor=cursor)
    return CaseList(
        items=[CaseSummary(**_summary_fields(row.case, row.service_name)) for row in found.rows],
        next_cursor=found.next_cursor,
        counts=found.counts,
    )


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetail,
    response_model_by_alias=True,
    summary="A case with its structured data and documents",
    responses=problem_responses(*AUTH_PROBLEMS, 404),
)
async def get_case(request: Request, case_id: uuid.UUID, who: Clerk) -> CaseDetail:
    return await _case_or_404(request, who, case_id)


# --- assignment ------------------------------------------------------------------------------


async def _assign_one(
    request: Request, who: Principal, case_id: uuid.UUID, action: Literal["assign", "release"]
) -> CaseSummary:
    async with _runtime(request).db.transaction() as session:
        case = await assignment.apply_one(session, who, case_id, action)
        name = await inbox.service_name(session, case.leika_key)
    return CaseSummary(**_summary_fields(case, name))


async def _assign_selection(
    request: Request, who: Principal, body: SelectionIn, action: Literal["assign", "release"]
) -> SelectionOut:
    async with _runtime(request).db.transaction() as session:
        results = await assignment.apply(session, who, body.case_ids, action)
        names = await directory.service_names(
            session, {r.case.leika_key for r in results if r.case is not None}
        )
    return SelectionOut(
        results=[
            SelectionResultOut(
                case_id=r.case_id,
                outcome=r.outcome,
                case=CaseSummary(**_summary_fields(r.case, names.get(r.case.leika_key)))
                if r.case is not None
                else None,
            )
            for r in results
        ]
    )


@router.post(
    "/cases/{case_id}/assign",
    response_model=CaseSummary,
    response_model_by_alias=True,
    summary="Mir zuweisen: assign the case to the caller (taking it over from anyone)",
    responses=problem_responses(*AUTH_PROBLEMS, 404, 409),
)
async def assign_case(request: Request, case_id: uuid.UUID, who: Clerk) -> CaseSummary:
    return await _assign_one(request, who, case_id, "assign")


@router.post(
    "/cases/{case_id}/release",
    response_model=CaseSummary,
    response_model_by_alias=True,
    summary="Freigeben: the case is assigned to nobody",
    responses=problem_responses(*AUTH_PROBLEMS, 404),
)
async def release_case(request: Request, case_id: uuid.UUID, who: Clerk) -> CaseSummary:
    return await _assign_one(request, who, case_id, "release")


@router.post(
    "/cases/assign",
    response_model=SelectionOut,
    response_model_by_alias=True,
    summary="Mir zuweisen on a selection: a result per case, the changes committed together",
    responses=problem_responses(*AUTH_PROBLEMS, 422),
)
async def assign_cases(request: Request, body: SelectionIn, who: Clerk) -> SelectionOut:
    return await _assign_selection(request, who, body, "assign")


@router.post(
    "/cases/release",
    response_model=SelectionOut,
    response_model_by_alias=True,
    summary="Freigeben on a selection: a result per case, the changes committed together",
    responses=problem_responses(*AUTH_PROBLEMS, 422),
)
async def release_cases(request: Request, body: SelectionIn, who: Clerk) -> SelectionOut:
    return await _assign_selection(request, who, body, "release")


@router.post(
    "/cases/{case_id}/transitions",
    response_model=CaseDetail,
    response_model_by_alias=True,
    summary="Move a case on: in_progress, decided (with outcome), closed, or reopen",
    responses=problem_responses(*AUTH_PROBLEMS, 404, 409, 422),
)
async def post_transition(
    request: Request, case_id: uuid.UUID, body: TransitionIn, who: Clerk
) -> CaseDetail:
    return await _move(
        request,
        case_id,
        who,
        to=body.to,
        outcome=body.outcome,
        reason=body.reason,
        decision_document_id=body.decision_document_id,
    )


async def _move(
    request: Request,
    case_id: uuid.UUID,
    who: Principal,
    *,
    to: str,
    outcome: str | None = None,
    reason: str | None = None,
    decision_document_id: uuid.UUID | None = None,
) -> CaseDetail:
    runtime = _runtime(request)
    async with runtime.db.transaction() as session:
        case = await repository.case(session, who.scope, case_id, lock=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        await service.transition(
            session,
            runtime.blobs,
            case,
            to=to,
            actor=who.actor,
            outcome=outcome,
            reason=reason,
            decision_document_id=decision_document_id,
            decided_by=who.name,
            bescheide=Bescheide(
                DirectoryLetterheads(), Templates(runtime.settings.bescheid_template_dir)
            ),
        )
    return await _case_or_404(request, who, case_id)


@router.post(
    "/cases/{case_id}/missing-documents",
    response_model=CaseDetail,
    response_model_by_alias=True,
    summary="Ask the citizen for missing documents: the case waits (on_hold) until resumed "
    "with the transition to in_progress",
    responses=problem_responses(*AUTH_PROBLEMS, 404, 409, 422),
)
async def post_missing_documents(
    request: Request, case_id: uuid.UUID, body: MissingDocumentsIn, who: Clerk
) -> CaseDetail:
    return await _move(request, case_id, who, to=ON_HOLD, reason=body.message)


@router.post(
    "/cases/{case_id}/notes",
    response_model=AuditEntryOut,
    response_model_by_alias=True,
    status_code=201,
    summary="Add a note (Vermerk) to the case's audit trail",
    responses=problem_responses(*AUTH_PROBLEMS, 404, 422),
)
async def post_note(
    request: Request, case_id: uuid.UUID, body: NoteIn, who: Clerk
) -> AuditEntryOut:
    async with _runtime(request).db.transaction() as session:
        case = await repository.case(session, who.scope, case_id, lock=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        entry = service.add_note(session, case, body.text, who.actor)
    return AuditEntryOut.model_validate(entry, from_attributes=True)


@router.get(
    "/cases/{case_id}/audit",
    response_model=AuditOut,
    response_model_by_alias=True,
    summary="The case's audit trail, checked against its recorded head",
    responses=problem_responses(*AUTH_PROBLEMS, 404),
)
async def get_audit(request: Request, case_id: uuid.UUID, who: Clerk) -> AuditOut:
    async with _runtime(request).db.sessionmaker() as session:
        case = await repository.case(session, who.scope, case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        entries = await repository.audit_entries(session, case.id)
    breaks = audit.check_chain(
        case.id, case.akte.aktenzeichen, case.audit_seq, case.audit_head, entries
    )
    return AuditOut(
        case_id=case.id,
        file_reference=case.akte.aktenzeichen,
        verified=not breaks,
        breaks=[AuditBreakOut(position=b.position, problem=b.problem) for b in breaks],
        entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in entries],
    )


# --- documents -------------------------------------------------------------------------------


def _content_disposition(filename: str | None) -> str:
    name = filename or "dokument"
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


async def _spool_verified(
    blobs: BlobStore, document: Dokument, memory: int
) -> tempfile.SpooledTemporaryFile[bytes]:
    """The document's bytes, spooled while hashing; refused if they are not what was filed."""
    # Closed by the response's stream, or here on failure.
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=memory
    )
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in blobs.read(document.blob_key):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
    except BlobNotFound as exc:
        spool.close()
        raise BlobMismatch(f"blob {document.blob_key} is missing") from exc
    except BaseException:
        spool.close()
        raise
    if digest.hexdigest() != document.sha256 or size != document.size:
        spool.close()
        raise BlobMismatch(
            f"blob {document.blob_key} holds {size} bytes with SHA-256 {digest.hexdigest()}"
        )
    spool.seek(0)
    return spool


async def _stream(spool: tempfile.SpooledTemporaryFile[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


@router.get(
    "/cases/{case_id}/documents/{document_id}",
    summary="Download a document; its SHA-256 is checked before a byte is sent",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The document's bytes; `Repr-Digest` carries its SHA-256.",
            "content": {"application/octet-stream": {}},
        },
        **problem_responses(*AUTH_PROBLEMS, 404, 500),
    },
)
async def download_document(
    request: Request, case_id: uuid.UUID, document_id: uuid.UUID, who: Clerk
) -> StreamingResponse:
    runtime = _runtime(request)
    async with runtime.db.sessionmaker() as session:
        case = await repository.case(session, who.scope, case_id)
        document = await repository.document(session, case_id, document_id) if case else None
    if case is None:
        raise CaseNotFound(f"no case {case_id} for this authority")
    if document is None:
        raise DocumentNotFound(f"no document {document_id} in case {case_id}")
    try:
        spool = await _spool_verified(runtime.blobs, document, runtime.settings.spool_memory_bytes)
    except BlobMismatch as exc:
        log.error(
            "casefile.document_integrity_failed",
            case_id=str(case_id),
            document_id=str(document_id),
            error=str(exc),
        )
        async with runtime.db.transaction() as session:
            locked = await repository.case(session, who.scope, case_id, lock=True)
            if locked is not None:
                service.record_integrity_failure(session, locked, document, str(exc), who.actor)
        raise DocumentCorrupted(
            f"document {document_id} does not match its recorded SHA-256; it was not sent"
        ) from exc
    try:
        async with runtime.db.transaction() as session:
            locked = await repository.case(session, who.scope, case_id, lock=True)
            if locked is None:
                raise CaseNotFound(f"no case {case_id} for this authority")
            service.record_read(session, locked, document, who.actor)
    except BaseException:
        spool.close()
        raise
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    return StreamingResponse(
        _stream(spool),
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size),
            "Content-Disposition": _content_disposition(document.filename),
            "ETag": f'"{document.sha256}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/cases/{case_id}/documents",
    response_model=DocumentOut,
    response_model_by_alias=True,
    status_code=201,
    summary="Upload a document to the case (e.g. the signed decision)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The document's bytes; its media type is the Content-Type.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
    responses=problem_responses(*AUTH_PROBLEMS, 404, 409, 413, 422),
)
async def upload_document(
    request: Request,
    case_id: uuid.UUID,
    who: Clerk,
    kind: Annotated[
        Literal["decision", "upload"],
        Query(description="`decision` for a Bescheid a later `decided` transition names."),
    ] = "upload",
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> DocumentOut:
    runtime = _runtime(request)
    async with runtime.db.sessionmaker() as session:
        if await repository.case(session, who.scope, case_id) is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
    media_type = request.headers.get("content-type") or "application/octet-stream"
    cap = runtime.settings.attachment_max_bytes
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=runtime.settings.spool_memory_bytes) as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise DocumentTooLarge(f"a document may have at most {cap} bytes")
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise EmptyDocument("send the document's bytes as the request body")
        sha256 = digest.hexdigest()
        key = await runtime.blobs.put(spool, sha256, size, media_type)
    async with runtime.db.transaction() as session:
        case = await repository.case(session, who.scope, case_id, lock=True)
        if case is None:
            raise CaseNotFound(f"no case {case_id} for this authority")
        document = await service.add_document(
            session,
            case,
            service.StoredBlob(key, sha256, size),
            media_type=media_type,
            filename=filename,
            kind=kind,
            actor=who.actor,
        )
    return _document_out(case_id, document)


# --- triage ----------------------------------------------------------------------------------


def _triage_out(item: TriageItem) -> TriageItemOut:
    message = item.message
    record = message.get("record")
    return TriageItemOut(
        application_id=item.application_id,
        reason=item.reason,
        received_at=item.received_at,
        service=message.get("leikaUrn"),
        form=message.get("formId"),
        ars=message.get("ars"),
        postleitzahl=message.get("postleitzahl"),
        record=record if isinstance(record, dict) else {},
        assigned_authority_id=item.assigned_authority_id,
        assigned_at=item.assigned_at,
        case_id=item.vorgang_id,
    )


@router.get(
    "/triage",
    response_model=TriageList,
    response_model_by_alias=True,
    summary="Applications no authority was found for",
    responses=problem_responses(*AUTH_PROBLEMS, 422),
)
async def list_triage(
    request: Request,
    who: TriageClerk,
    state: Annotated[Literal["open", "all"], Query(description="`open`: not assigned yet.")] = (
        "open"
    ),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TriageList:
    async with _runtime(request).db.sessionmaker() as session:
        items = await triage.items(session, open_only=state == "open", limit=limit)
    return TriageList(items=[_triage_out(i) for i in items])


@router.post(
    "/triage/{application_id}/assign",
    response_model=AssignOut,
    response_model_by_alias=True,
    status_code=201,
    summary="Assign an application to an authority: it is filed in that authority's e-Akte",
    responses=problem_responses(*AUTH_PROBLEMS, 404, 409, 422, 500),
)
async def assign_triage(
    request: Request, application_id: uuid.UUID, body: AssignIn, who: TriageClerk
) -> AssignOut:
    runtime = _runtime(request)
    done = await triage.assign(
        runtime.db, runtime.blobs, application_id, body.authority_id, who.actor
    )
    return AssignOut(
        application_id=done.application_id,
        case_id=done.case_id,
        file_reference=done.file_reference,
        authority=AuthorityOut(id=done.authority_id, name=done.authority_name),
    )
