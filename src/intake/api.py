"""HTTP intake: POST an application, follow its status, discover the forms."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from eantrag.metrics import APPLICATIONS_ACCEPTED, VALIDATION_FAILURES
from eantrag.problems import NotFound, ProblemError, problem_responses
from eantrag.runtime import Runtime
from identity import ratelimit
from identity.portals.api import Sending, authorize
from intake import service
from intake.errors import TooLarge
from intake.forms import FORMS, schema_dir
from intake.receiving import Limits, receive
from intake.schemas import FormLinks, FormOut, ReceiptOut, StatusOut, TimelineEntry

router = APIRouter(prefix="/v1", tags=["intake"])
schemas_router = APIRouter(tags=["intake"])

_EXAMPLE_METADATA = {
    "contentStructure": {
        "data": {
            "hash": {"type": "sha512", "content": "<sha512 of the data part, hex>"},
            "submissionSchema": {
                "schemaUri": "urn:eantrag:xoev:hundesteuer:1.0",
                "mimeType": "application/xml",
            },
        },
        "attachments": [],
    },
    "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99102013104000"},
}

APPLICATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "The application as XÖV XML (the form is chosen by the root element's namespace), "
            'as JSON (the form is named by "$schema"), or as a FIT-Connect-style submission: '
            "multipart/form-data with a `metadata` part (FIT-Connect metadata 1.0.0), a `data` "
            "part (the form as XML or JSON) and one part per announced attachment, named by "
            "its attachmentId."
        ),
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "object", "required": ["$schema"], "additionalProperties": True}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "data"],
                    "properties": {
                        "metadata": {"type": "string", "example": _EXAMPLE_METADATA},
                        "data": {"type": "string", "format": "binary"},
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                }
            },
        },
    }
}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _limits(runtime: Runtime) -> Limits:
    settings = runtime.settings
    return Limits(
        max_body=settings.max_body_bytes,
        attachment_max=settings.attachment_max_bytes,
        spool_memory=settings.spool_memory_bytes,
        form_caps=settings.form_max_bytes,
    )


def status_url(request: Request, receipt: service.Receipt) -> str:
    base = request.app.state.runtime.settings.public_base_url.rstrip("/")
    return f"{base}/v1/applications/{receipt.application_id}?token={receipt.status_token}"


@router.post(
    "/applications",
    status_code=202,
    response_model=ReceiptOut,
    summary="Submit an application",
    openapi_extra=APPLICATION_BODY,
    responses={
        200: {
            "model": ReceiptOut,
            "description": "Replay of an earlier submission with the "
            "same Idempotency-Key and content",
        },
        **problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
    },
)
async def submit_application(
    request: Request,
    sender: Sending,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Same key and same content → the same receipt."),
    ] = None,
) -> JSONResponse:
    runtime = _runtime(request)
    limits = _limits(runtime)
    declared = request.headers.get("content-length")
    length = int(declared) if declared and declared.isdigit() else None
    if length is not None and length > limits.max_body:
        raise TooLarge(f"the request body exceeds the limit of {limits.max_body} bytes")
    content_type = request.headers.get("content-type")
    try:
        submission = await receive(request.stream(), content_type, limits, content_length=length)
    except ProblemError as exc:
        reasons = {v.code for v in exc.violations} or {exc.code}
        for reason in reasons:
            VALIDATION_FAILURES.labels(exc.form_id or "unknown", reason).inc()
        raise
    try:
        if sender is not None:
            # Region and service are known only now, after validation, and nothing is stored yet.
            form = submission.application.form
            postcode, ars = form.applicant_place(submission.application.record)
            await authorize(request, sender, form.leika_urn, ars, postcode)
        receipt = await service.accept(
            runtime.db,
            runtime.blobs,
            request.app.state.status_tokens,
            submission,
            idempotency_key,
            sender.client_id if sender is not None else None,
        )
    finally:
        submission.close()
    APPLICATIONS_ACCEPTED.labels(receipt.form_id).inc()
    url = status_url(request, receipt)
    body = ReceiptOut(
        application_id=receipt.application_id,
        received_at=receipt.received_at,
        sha256=receipt.sha256,
        sha512=receipt.sha512,
        service=receipt.leika_urn,
        form=receipt.form_id,
        status=receipt.status,
        status_url=url,
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True),
        status_code=200 if receipt.replayed else 202,
        headers={"Location": url},
    )


@router.get(
    "/applications/{application_id}",
    response_model=StatusOut,
    response_model_by_alias=True,
    summary="The citizen's status of an application",
    responses=problem_responses(404, 429),
    dependencies=[Depends(ratelimit.per_address("status"))],
)
async def application_status(
    request: Request,
    application_id: uuid.UUID,
    token: Annotated[
        str | None, Query(max_length=100, description="The token of the statusUrl.")
    ] = None,
) -> StatusOut:
    runtime = _runtime(request)
    view = await service.status(runtime.db, request.app.state.status_tokens, application_id, token)
    if view is None:
        raise NotFound("no application with this id and token")
    app = view.application
    detail: dict[str, Any] = {}
    for event in view.events:
        detail.update(event.detail or {})
    return StatusOut(
        application_id=app.id,
        service=FORMS[app.form_id].leika_urn,
        form=app.form_id,
        status=app.status,
        received_at=app.received_at,
        updated_at=app.updated_at,
        authority=detail.get("authority"),
        file_reference=detail.get("fileReference"),
        timeline=[
            TimelineEntry(status=e.status, at=e.at, detail=e.detail or {}) for e in view.events
        ],
    )


def _form_out(request: Request, form_id: str) -> FormOut:
    form = FORMS[form_id]
    xsd = form.xsd_path.relative_to(schema_dir()).as_posix()
    return FormOut(
        id=form.id,
        title=form.title,
        service=form.leika_urn,
        leika_key=form.leika_key,
        namespace=form.namespace,
        root=form.root,
        max_bytes=_limits(_runtime(request)).form_cap(form),
        links=FormLinks(
            xsd=str(request.url_for("xoev_schema", path=xsd)),
            json_schema=str(request.url_for("form_json_schema", form_id=form.id)),
        ),
    )


@router.get(
    "/forms",
    response_model=list[FormOut],
    response_model_by_alias=True,
    summary="The forms this intake accepts",
)
async def list_forms(request: Request) -> list[FormOut]:
    return [_form_out(request, form_id) for form_id in FORMS]


@router.get(
    "/forms/{form_id}",
    response_model=FormOut,
    response_model_by_alias=True,
    summary="One form",
    responses=problem_responses(404),
)
async def get_form(request: Request, form_id: str) -> FormOut:
    if form_id not in FORMS:
        raise NotFound(f"no form {form_id!r}")
    return _form_out(request, form_id)


@router.get(
    "/forms/{form_id}/schema.json",
    name="form_json_schema",
    summary="JSON Schema of a form's JSON representation",
    responses={200: {"content": {"application/schema+json": {}}}, **problem_responses(404)},
)
async def form_json_schema(form_id: str) -> JSONResponse:
    if form_id not in FORMS:
        raise NotFound(f"no form {form_id!r}")
    return JSONResponse(FORMS[form_id].json_schema(), media_type="application/schema+json")


@schemas_router.get(
    "/schemas/xoev/{path:path}",
    name="xoev_schema",
    summary="The XSDs of the forms (with the schemas they import)",
    responses={200: {"content": {"application/xml": {}}}, **problem_responses(404)},
)
async def xoev_schema(path: str) -> FileResponse:
    root = schema_dir().resolve()
    target = (root / path).resolve()
    if root not in target.parents or target.suffix != ".xsd" or not target.is_file():
        raise NotFound(f"no schema {path!r}")
    return FileResponse(Path(target), media_type="application/xml")
