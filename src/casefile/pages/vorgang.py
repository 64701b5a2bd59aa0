"""The Vorgang at `/cases/{id}` (the id of the JSON API): the application as a readable form,
documents with preview and download, notes, the audit history, likely duplicates, and the steps
the case may take now as buttons.

Which steps exist, what a decision needs, who may see the case: `casefile.service` and
`casefile.casework`, the same use cases as the JSON API. A case of another authority or an
unknown id raises `CaseNotFound`, as the API does. Every form posts and is redirected back
(POST-redirect-GET); an expected error shows the page again with the error in German.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from lxml import etree
from starlette.datastructures import UploadFile

from casefile import casework, documents, readable
from casefile.auth import Principal
from casefile.errors import DocumentNotFound
from casefile.models import CLOSED, DECIDED, IN_PROGRESS, ON_HOLD, Dokument
from casefile.pages import history
from casefile.pages.shared import Clerk, german, outcome_sentences, runtime_of
from eantrag.blobs import CHUNK
from eantrag.downloads import content_disposition
from eantrag.problems import NotFound, ProblemError
from identity.people.api import render_page
from identity.people.csrf import CsrfChecked

router = APIRouter(include_in_schema=False)
PREVIEW_MAX_BYTES = 1024 * 1024
NOTE_MAX = 4000
REASON_MAX = 8000
DONE = {
    "in_progress": "Der Vorgang ist in Bearbeitung.",
    "resumed": "Die Bearbeitung geht weiter.",
    "reopened": "Der Vorgang ist wieder aufgenommen.",
    "on_hold": "Die Nachforderung ist vermerkt; der Vorgang wartet auf Unterlagen.",
    "decided": "Der Vorgang ist entschieden; der Bescheid liegt bei den Dokumenten.",
    "closed": "Der Vorgang ist abgeschlossen (zdA); die Aufbewahrungsfrist läuft.",
    "note": "Die Notiz ist gespeichert.",
}
XML_TYPES = ("application/xml", "text/xml")


def _preview_kind(document: Dokument) -> str | None:
    media = document.media_type.split(";")[0].strip().lower()
    if media == "application/pdf":
        return "pdf"
    if media == "text/html":
        return "html"
    if media in XML_TYPES or media.endswith("+xml"):
        return "xml"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    return None


def _pretty(kind: str, data: bytes) -> str:
    """XML and JSON indented for reading; what does not parse is shown as it is."""
    try:
        if kind == "json":
            return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
        )
        tree = etree.fromstring(data, parser)
        return str(etree.tostring(tree, pretty_print=True, encoding="unicode"))
    except (ValueError, etree.XMLSyntaxError):
        return data.decode("utf-8", errors="replace")


async def _show(
    request: Request,
    person: Principal,
    case_id: uuid.UUID,
    *,
    dokument: uuid.UUID | None = None,
    notices: list[str] | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    runtime = runtime_of(request)
    found = await casework.case_file(runtime, person, case_id)
    case = found.view.case
    selected = next((d for d in case.documents if d.id == dokument), None)
    if dokument is not None and selected is None:
        raise DocumentNotFound(f"no document {dokument} in case {case_id}")
    preview: dict[str, Any] | None = None
    if selected is not None:
        kind = _preview_kind(selected)
        preview = {"document": selected, "kind": kind, "text": None}
        if kind in ("xml", "json"):
            if selected.size > PREVIEW_MAX_BYTES:
                preview["kind"] = "too_large"
            else:
                read = await documents.read(runtime, person, case_id, selected.id)
                preview["text"] = _pretty(kind, read.read_all())
    entries = list(found.trail.entries)
    return await render_page(
        request,
        "vorgang.html",
        {
            "case": case,
            "akte": case.akte,
            "service_name": found.view.service_name,
            "form_title": readable.form_title(case.form_id),
            "sections": readable.sections(case.record or {}, case.form_id),
            "documents": sorted(case.documents, key=lambda d: (d.created_at, d.version)),
            "duplicates": found.view.likely_duplicates,
            "notes": [line for line in history.lines(entries) if line.what == "Notiz"],
            "history": history.lines(entries),
            "verified": found.trail.verified,
            "allowed": found.allowed,
            "preview": preview,
            "notices": notices or [],
            "error": error,
            "form": form or {},
            "me": f"{person.kind}:{person.id}",
            "size": readable.german_size,
            "german_date": readable.german_date,
            "steps": {"in_progress": IN_PROGRESS, "on_hold": ON_HOLD, "decided": DECIDED},
            "closed": CLOSED,
        },
        status_code=status_code,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def vorgang(
    request: Request,
    case_id: uuid.UUID,
    person: Clerk,
    dokument: Annotated[uuid.UUID | None, Query()] = None,
    erledigt: Annotated[str, Query(max_length=20)] = "",
    ergebnis: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    notices = outcome_sentences(ergebnis)
    if erledigt in DONE:
        notices.append(DONE[erledigt])
    return await _show(request, person, case_id, dokument=dokument, notices=notices)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _done(case_id: uuid.UUID, what: str) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}?erledigt={what}#inhalt", status_code=303)


@router.post("/cases/{case_id}/transition")
async def step(request: Request, case_id: uuid.UUID, person: Clerk, _: CsrfChecked) -> Response:
    """A step of the case: `ziel` names the state; a decision adds `ergebnis`, `begruendung`
    and either a generated Bescheid or the uploaded file `bescheid`; asking for documents
    adds `nachricht`."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    to = fields.get("ziel", "")
    runtime = runtime_of(request)
    try:
        if to == DECIDED:
            upload = None
            if fields.get("bescheid_art") == "hochladen":
                chosen = form.get("bescheid")
                if not isinstance(chosen, UploadFile) or not chosen.filename:
                    return await _show(
                        request,
                        person,
                        case_id,
                        error="Bitte wählen Sie die Datei des Bescheids aus, oder lassen Sie "
                        "den Bescheid erzeugen.",
                        form=fields,
                        status_code=422,
                    )
                upload = casework.Upload(
                    _chunks(chosen),
                    chosen.content_type or "application/octet-stream",
                    chosen.filename[:255],
                )
            await casework.decide(
                runtime,
                person,
                case_id,
                outcome=fields.get("ergebnis") or None,
                reason=fields.get("begruendung", "").strip()[:REASON_MAX] or None,
                upload=upload,
            )
            return _done(case_id, "decided")
        reason = fields.get("nachricht", "").strip()[:REASON_MAX] or None
        before = fields.get("von", "")
        await casework.move(runtime, person, case_id, to=to, reason=reason)
    except NotFound:
        raise
    except ProblemError as exc:
        return await _show(
            request, person, case_id, error=german(exc), form=fields, status_code=exc.status
        )
    if to == IN_PROGRESS:
        return _done(case_id, {"closed": "reopened", "on_hold": "resumed"}.get(before, to))
    return _done(case_id, to)


@router.post("/cases/{case_id}/notes")
async def note(request: Request, case_id: uuid.UUID, person: Clerk, _: CsrfChecked) -> Response:
    text = str((await request.form()).get("text") or "").strip()
    if not text or len(text) > NOTE_MAX:
        return await _show(
            request,
            person,
            case_id,
            error="Bitte schreiben Sie eine Notiz."
            if not text
            else f"Eine Notiz hat höchstens {NOTE_MAX} Zeichen.",
            form={"text": text},
            status_code=422,
        )
    await casework.add_note(runtime_of(request), person, case_id, text)
    return _done(case_id, "note")


def _headers(document: Dokument, disposition: Literal["attachment", "inline"]) -> dict[str, str]:
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    return {
        "Content-Length": str(document.size),
        "Content-Disposition": content_disposition(document.filename or "dokument", disposition),
        "Repr-Digest": f"sha-256=:{digest}:",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


@router.get("/cases/{case_id}/documents/{document_id}")
async def download(
    request: Request, case_id: uuid.UUID, document_id: uuid.UUID, person: Clerk
) -> StreamingResponse:
    """Herunterladen: the bytes as filed, checked against their SHA-256, the read audited."""
    read = await documents.read(runtime_of(request), person, case_id, document_id)
    return StreamingResponse(
        documents.stream(read.spool),
        media_type=read.document.media_type,
        headers=_headers(read.document, "attachment"),
    )


@router.get("/cases/{case_id}/documents/{document_id}/inline")
async def inline(
    request: Request, case_id: uuid.UUID, document_id: uuid.UUID, person: Clerk
) -> StreamingResponse:
    """The preview inside the Vorgang page (PDF and HTML), framed by this site only. HTML runs
    sandboxed: no scripts, no requests, an origin of its own, whoever wrote it."""
    read = await documents.read(runtime_of(request), person, case_id, document_id)
    kind = _preview_kind(read.document)
    headers = _headers(read.document, "inline" if kind in ("pdf", "html") else "attachment")
    headers["X-Frame-Options"] = "SAMEORIGIN"
    if kind == "html":
        headers["Content-Security-Policy"] = (
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "frame-ancestors 'self'"
        )
    else:
        headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    return StreamingResponse(
        documents.stream(read.spool), media_type=read.document.media_type, headers=headers
    )
