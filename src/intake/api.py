"""HTTP intake: POST an application, follow its status, discover the forms."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from contracts.forms import FORMS, schema_dir
from eantrag.metrics import APPLICATIONS_ACCEPTED, VALIDATION_FAILURES
from eantrag.problems import NotFound, ProblemError, problem_responses
from eantrag.runtime import Runtime
from identity import ratelimit
from identity.portals.api import Sending, authorize
from intake import service
from intake.errors import BadRequest, Violation
from intake.receiving import Limits, receive
from intake.schemas import FormLinks, FormOut, ReceiptOut, StatusOut, TimelineEntry

log = structlog.get_logger(__name__)
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


StatusPage = Callable[[Request, service.StatusView | None, str | None], Awaitable[Response]]
"""Renders the status for a browser (None: no application with this id and token, a 404 page);
the citizen component's start-up hook sets `app.state.status_page`."""


def prefers_html(accept: str | None) -> bool:
    """True when the client names `text/html` and ranks it no lower than `application/json`:
    browsers do, API clients (`application/json`, `*/*` or no header) get JSON."""
    quality: dict[str, float] = {}
    for item in (accept or "").split(","):
        media, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.strip().lower()] = q
    html = quality.get("text/html", 0.0)
    return html > 0 and html >= quality.get("application/json", 0.0)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _limits(runtime: Runtime) -> Limits:
    return service.limits(runtime.settings)


def _log_refusal(request: Request, problem: ProblemError) -> None:
    """At info, so that an operator can tell a portal why its submission was refused."""
    log.info(
        "application.refused",
        status=problem.status,
        code=problem.code,
        form=problem.form_id,
        reasons=sorted({v.code for v in problem.violations})[:20],
        detail=problem.detail[:300],
        client=request.client.host if request.client else None,
    )


def status_url(request: Request, receipt: service.Receipt) -> str:
    """The citizen's link: under `EANTRAG_PUBLIC_BASE_URL`, else where the request was sent."""
    configured = request.app.state.settings.public_base_url
    base = (configured or str(request.base_url)).rstrip("/")
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
        Header(
            max_length=200,
            description="Same key and same content → the same receipt; other content → 409. "
            "The form's nachrichtenUUID (and a FIT-Connect submissionId) count as such keys "
            "without this header.",
        ),
    ] = None,
) -> JSONResponse:
    if idempotency_key is not None and not idempotency_key.strip():
        raise BadRequest(
            "the Idempotency-Key header is empty: send a key, or no header",
            [Violation("idempotency_key.empty", "Idempotency-Key", "must not be empty")],
        )
    runtime = _runtime(request)
    limits = _limits(runtime)
    declared = request.headers.get("content-length")
    # A Content-Length over the limit is refused by `receive` as soon as it knows the limit
    # (the form's, once the document names it), in the same words as a chunked body.
    length = int(declared) if declared and declared.isdigit() else None
    content_type = request.headers.get("content-type")
    try:
        submission = await receive(request.stream(), content_type, limits, content_length=length)
    except ProblemError as exc:
        reasons = {v.code for v in exc.violations} or {exc.code}
        for reason in reasons:
            VALIDATION_FAILURES.labels(exc.form_id or "unknown", reason).inc()
        _log_refusal(request, exc)
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
            sender=sender.client_id if sender is not None else "",
        )
    except ProblemError as exc:
        _log_refusal(request, exc)
        raise
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
    description=(
        "JSON for API clients; a browser (`Accept: text/html`) gets the citizen's status page "
        "in German, with the Bescheid to download once decided."
    ),
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **problem_responses(404, 429),
    },
    dependencies=[Depends(ratelimit.per_address("status"))],
)
async def application_status(
    request: Request,
    response: Response,
    application_id: uuid.UUID,
    token: Annotated[
        str | None, Query(max_length=100, description="The token of the statusUrl.")
    ] = None,
) -> StatusOut | Response:
    runtime = _runtime(request)
    view = await service.status(runtime.db, request.app.state.status_tokens, application_id, token)
    page: StatusPage | None = getattr(request.app.state, "status_page", None)
    if page is not None and prefers_html(request.headers.get("accept")):
        return await page(request, view, token)  # a page that says "not found" if view is None
    if view is None:
        raise NotFound("no application with this id and token")
    response.headers["Vary"] = "Accept"
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
