"""Klärfälle at `/triage`: the applications no authority was found for, with the reason in
words, and a form per application to assign it to an authority of the directory, which files it.

The rules live in `casefile.triage`, which the JSON API (`/v1/triage`) calls too; this module
reads the forms and shapes the page. The authority is chosen from a list that a search (a plain
GET form) narrows, so the page works without JavaScript; each assignment is a POST answered by a
redirect back to the desk with the result (POST-redirect-GET).
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casefile import triage
from casefile.errors import AlreadyAssigned, AlreadyFiled, UnknownAuthority
from identity.people.api import render_page
from identity.people.csrf import CsrfChecked
from identity.people.principal import Principal
from identity.people.sessions import require_role, runtime_of
from web import pages

pages.add_templates("casefile.pages")
router = APIRouter(include_in_schema=False)
TriageDesk = Annotated[Principal, Depends(require_role("triage"))]

CHOOSE = "Bitte wählen Sie die zuständige Behörde."
UNKNOWN = "Diese Behörde steht nicht im Behördenverzeichnis. Bitte wählen Sie eine aus der Liste."
TAKEN = (
    "Dieser Klärfall wurde inzwischen von jemand anderem zugewiesen; die Liste zeigt den "
    "aktuellen Stand."
)


async def _desk_page(
    request: Request,
    *,
    search: str = "",
    done: uuid.UUID | None = None,
    error: tuple[uuid.UUID, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    async with runtime_of(request).db.sessionmaker() as session:
        desk = await triage.desk(session, search=search, done=done)
    return await render_page(
        request,
        "triage.html",
        {
            "desk": desk,
            "error_for": error[0] if error else None,
            "error": error[1] if error else None,
        },
        status_code=status_code,
    )


@router.get("/triage", response_class=HTMLResponse)
async def triage_page(
    request: Request,
    who: TriageDesk,
    suche: Annotated[str, Query(max_length=200)] = "",
    zugewiesen: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    return await _desk_page(request, search=suche, done=zugewiesen)


@router.post("/triage/{application_id}/zuweisen", response_class=HTMLResponse)
async def assign(
    request: Request,
    application_id: uuid.UUID,
    who: TriageDesk,
    _csrf: CsrfChecked,
    behoerde: Annotated[str, Form(max_length=100)] = "",
    suche: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    authority_id = behoerde.strip()
    if not authority_id:
        return await _desk_page(
            request, search=suche, error=(application_id, CHOOSE), status_code=400
        )
    runtime = runtime_of(request)
    try:
        await triage.assign(runtime.db, runtime.blobs, application_id, authority_id, who.actor)
    except UnknownAuthority:
        return await _desk_page(
            request, search=suche, error=(application_id, UNKNOWN), status_code=422
        )
    except (AlreadyAssigned, AlreadyFiled):
        return await _desk_page(
            request, search=suche, error=(application_id, TAKEN), status_code=409
        )
    # An unknown application is TriageItemNotFound: the 404 page.
    query = {"zugewiesen": str(application_id), **({"suche": suche} if suche else {})}
    return RedirectResponse("/triage?" + urlencode(query), status_code=303)
