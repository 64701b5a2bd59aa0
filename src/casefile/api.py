"""The clerk API of the e-Akte: inbox, case, documents, transitions, notes, audit, triage.

Every route needs a bearer token or a person's session. A clerk sees the cases of their own
authority only; a case of any other authority does not exist for them (404, never 403). The
routes parse, call one use case of `casefile.casework` or `casefile.documents` (the same ones the
clerk's pages call), and shape the answer; those open the transactions, services never commit.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from casefile import casework, documents, duplicates, filing, inbox, service, triage
from casefile.auth import Clerk, Principal, TriageClerk
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
from eantrag.broker import PermanentError
from eantrag.downloads import content_disposition
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
    view = await casework.case_view(_runtime(request), who, case_id)
    return _detail(view.case, view.service_name, view.likely_duplicates).model_copy(
        update={"references": view.references}
    )


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
            leika_key = filing.leika_key_of(service_key)
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
        search=q,
    )
    found = await casework.inbox_page(_runtime(request), who, wanted, limit=limit, cursor=cursor)
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
    request: Request, who: Principal, case_id: uuid.UUID, action: casework.Action
) -> CaseSummary:
    done = await casework.assign_one(_runtime(request), who, case_id, action)
    return CaseSummary(**_summary_fields(done.case, done.service_name))


async def _assign_selection(
    request: Request, who: Principal, body: SelectionIn, action: casework.Action
) -> SelectionOut:
    done = await casework.assign_selection(_runtime(request), who, body.case_ids, action)
    return SelectionOut(
        results=[
            SelectionResultOut(
                case_id=r.case_id,
                outcome=r.outcome,
                case=CaseSummary(
                    **_summary_fields(r.case, done.service_names.get(r.case.leika_key))
                )
                if r.case is not None
                else None,
            )
            for r in done.results
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
    await casework.move(
        _runtime(request),
        who,
        case_id,
        to=to,
        outcome=outcome,
        reason=reason,
        decision_document_id=decision_document_id,
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
    entry = await casework.add_note(_runtime(request), who, case_id, body.text)
    return AuditEntryOut.model_validate(entry, from_attributes=True)


@router.get(
    "/cases/{case_id}/audit",
    response_model=AuditOut,
    response_model_by_alias=True,
    summary="The case's audit trail, checked against its recorded head",
    responses=problem_responses(*AUTH_PROBLEMS, 404),
)
async def get_audit(request: Request, case_id: uuid.UUID, who: Clerk) -> AuditOut:
    trail = await casework.audit_trail(_runtime(request), who, case_id)
    return AuditOut(
        case_id=trail.case.id,
        file_reference=trail.case.akte.aktenzeichen,
        verified=trail.verified,
        breaks=[AuditBreakOut(position=b.position, problem=b.problem) for b in trail.breaks],
        entries=[AuditEntryOut.model_validate(e, from_attributes=True) for e in trail.entries],
    )


# --- documents -------------------------------------------------------------------------------


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
    verified = await documents.read(_runtime(request), who, case_id, document_id)
    document = verified.document
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    return StreamingResponse(
        documents.stream(verified.spool),
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size),
            "Content-Disposition": content_disposition(document.filename or "dokument"),
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
    document = await documents.add(
        _runtime(request),
        who,
        case_id,
        request.stream(),
        media_type=request.headers.get("content-type") or "application/octet-stream",
        filename=filename,
        kind=kind,
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
