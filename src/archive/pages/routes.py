"""Aussonderung at `/archive` for the archivist: the cases due as of a date, the offer (0501),
the export (0503 ZIPs to download), and the archive's answers (0502, 0506) as uploads.

Every step is `archive.pages.workplace` over `archive.steps`, the runner of `eantrag archive`;
this module reads the forms and shapes the page. Each form is a plain POST answered by a
redirect back to the page, which then says what happened (POST-redirect-GET).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from archive.errors import ArchiveError, SchemaInvalid, UnknownProcess
from archive.pages import workplace
from eantrag.problems import NotFound
from identity.people.api import render_page
from identity.people.csrf import CsrfChecked
from identity.people.principal import Principal
from identity.people.sessions import require_role, runtime_of
from web import pages

pages.add_templates("archive.pages")
router = APIRouter(include_in_schema=False)
Archivist = Annotated[Principal, Depends(require_role("archivist"))]

STATUS_NAMES = {
    "offered": "angeboten (wartet auf die Bewertung)",
    "appraised": "bewertet (bereit zur Abgabe)",
    "exported": "abgegeben (wartet auf die Übernahmebestätigung)",
    "confirmed": "abgeschlossen",
}
OBJECT_NAMES = {
    "offered": "angeboten",
    "appraised": "bewertet",
    "exported": "abgegeben",
    "archived": "vom Archiv übernommen",
    "failed": "Übernahme gescheitert",
    "destroyed": "vernichtet",
}
VARIANT_NAMES = {"four-step": "vierstufig (mit Bewertung)", "two-step": "zweistufig"}
DISPOSAL_NAMES = {"A": "A – archivwürdig", "V": "V – vernichten", "B": "B – bewerten"}
DONE = {
    "angeboten": "Die Anbietungsliste (0501) ist erstellt. Laden Sie sie unten beim Prozess "
    "herunter und senden Sie sie an das Archiv.",
    "nichts-angeboten": "Zu diesem Stichtag ist kein Fall fällig; es wurde nichts angeboten.",
    "abgegeben": "Die Abgabe ist erstellt. Die Abgabepakete (0503) stehen unten bei den "
    "Prozessen zum Herunterladen.",
    "nichts-abgegeben": "Es gab nichts abzugeben: kein bewerteter Prozess und kein fälliger "
    "Fall, der ohne Bewertung abgegeben werden darf.",
    "bewertet": "Die Bewertung des Archivs (0502) ist eingelesen. Die Empfangsbestätigung "
    "(0505) steht unten beim Prozess zum Herunterladen.",
    "bestaetigt": "Die Übernahmebestätigung (0506) ist eingelesen. Vom Archiv übernommene "
    "Fälle sind aus der E-Akte gelöscht; gescheiterte bleiben erhalten.",
}
NO_FILE = "Bitte wählen Sie die Datei des Archivs aus."
NOT_CONFIRMED = "Bitte bestätigen Sie, dass die genannten Fälle gelöscht werden dürfen."
TOO_LARGE = "Die Datei ist zu groß für eine Nachricht des Archivs (höchstens 20 MB)."
BAD_DATE = "Der Stichtag ist kein Datum. Bitte geben Sie ihn wie 31.12.2037 an."


def _day(text: str) -> date | None:
    for form in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    return None


def _archive_error(exc: ArchiveError) -> str:
    if isinstance(exc, UnknownProcess):
        return (
            "Diese Nachricht gehört zu keinem Aussonderungsprozess Ihrer Behörde. Prüfen Sie, "
            "ob Sie die richtige Datei gewählt haben."
        )
    if isinstance(exc, SchemaInvalid):
        return f"Die Nachricht entspricht nicht dem xdomea-Schema. Einzelheiten: {exc}"
    return f"Der Schritt war nicht möglich; es wurde nichts geändert. Einzelheiten: {exc}"


async def _page(
    request: Request,
    who: Principal,
    *,
    as_of: date | None = None,
    stichtag: str = "",
    done: str | None = None,
    process: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert who.authority_id is not None  # an archivist always has one (identity.people)
    day = as_of or date.today()
    view = await workplace.overview(runtime_of(request), who.authority_id, day)
    context: dict[str, Any] = {
        "view": view,
        "stichtag": stichtag or day.isoformat(),
        "done": DONE.get(done or ""),
        "process": process,
        "error": error,
        "statuses": STATUS_NAMES,
        "objects": OBJECT_NAMES,
        "variants": VARIANT_NAMES,
        "disposals": DISPOSAL_NAMES,
    }
    return await render_page(request, "archive.html", context, status_code=status_code)


def _back(day: date, done: str, process: uuid.UUID | None = None) -> RedirectResponse:
    query = {"stichtag": day.isoformat(), "erledigt": done}
    if process is not None:
        query["prozess"] = str(process)
    return RedirectResponse("/archive?" + urlencode(query), status_code=303)


@router.get("/archive", response_class=HTMLResponse)
async def archive_page(
    request: Request,
    who: Archivist,
    stichtag: Annotated[str, Query(max_length=20)] = "",
    erledigt: Annotated[str, Query(max_length=30)] = "",
    prozess: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    day = _day(stichtag) if stichtag else date.today()
    if day is None:
        return await _page(request, who, stichtag=stichtag, error=BAD_DATE, status_code=400)
    return await _page(
        request, who, as_of=day, done=erledigt, process=str(prozess) if prozess else None
    )


@router.post("/archive/anbieten", response_class=HTMLResponse)
async def offer(
    request: Request,
    who: Archivist,
    _csrf: CsrfChecked,
    stichtag: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    assert who.authority_id is not None
    day = _day(stichtag)
    if day is None:
        return await _page(request, who, stichtag=stichtag, error=BAD_DATE, status_code=400)
    try:
        result = await workplace.offer(runtime_of(request), who.authority_id, day)
    except ArchiveError as exc:
        return await _page(request, who, as_of=day, error=_archive_error(exc), status_code=422)
    if result is None:
        return _back(day, "nichts-angeboten")
    return _back(day, "angeboten", result.process_id)


@router.post("/archive/abgeben", response_class=HTMLResponse)
async def export(
    request: Request,
    who: Archivist,
    _csrf: CsrfChecked,
    stichtag: Annotated[str, Form(max_length=20)] = "",
    loeschen: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    assert who.authority_id is not None
    day = _day(stichtag)
    if day is None:
        return await _page(request, who, stichtag=stichtag, error=BAD_DATE, status_code=400)
    runtime = runtime_of(request)
    view = await workplace.overview(runtime, who.authority_id, day)
    if view.plan.delete and loeschen != "ja":
        return await _page(request, who, as_of=day, error=NOT_CONFIRMED, status_code=400)
    try:
        result = await workplace.export(runtime, who.authority_id, day)
    except ArchiveError as exc:
        return await _page(request, who, as_of=day, error=_archive_error(exc), status_code=422)
    if not result.processes:
        return _back(day, "nichts-abgegeben")
    return _back(day, "abgegeben")


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(64 * 1024):
        yield chunk


async def _receive(
    request: Request,
    who: Principal,
    upload: UploadFile | None,
    step: str,
    *,
    confirmed: bool = True,
) -> Response:
    assert who.authority_id is not None
    if upload is None or not upload.filename:
        return await _page(request, who, error=NO_FILE, status_code=400)
    if not confirmed:
        return await _page(request, who, error=NOT_CONFIRMED, status_code=400)
    runtime = runtime_of(request)
    try:
        if step == "bewertet":
            process_id = (
                await workplace.appraise(runtime, who.authority_id, _chunks(upload))
            ).process_id
        else:
            process_id = (
                await workplace.confirm(runtime, who.authority_id, _chunks(upload))
            ).process_id
    except workplace.UploadTooLarge:
        return await _page(request, who, error=TOO_LARGE, status_code=413)
    except ArchiveError as exc:
        return await _page(request, who, error=_archive_error(exc), status_code=422)
    return _back(date.today(), step, process_id)


@router.post("/archive/bewertung", response_class=HTMLResponse)
async def appraisal(
    request: Request,
    who: Archivist,
    _csrf: CsrfChecked,
    datei: Annotated[UploadFile | None, File()] = None,
) -> Response:
    return await _receive(request, who, datei, "bewertet")


@router.post("/archive/bestaetigung", response_class=HTMLResponse)
async def confirmation(
    request: Request,
    who: Archivist,
    _csrf: CsrfChecked,
    datei: Annotated[UploadFile | None, File()] = None,
    loeschen: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    return await _receive(request, who, datei, "bestaetigt", confirmed=loeschen == "ja")


@router.get("/archive/nachrichten/{name}")
async def download(request: Request, who: Archivist, name: str) -> FileResponse:
    assert who.authority_id is not None
    path = workplace.message_path(runtime_of(request), who.authority_id, name)
    if path is None:
        raise NotFound(f"no message {name!r} of this authority")
    return FileResponse(path, media_type="application/zip", filename=path.name)
