"""The Posteingang at `/`: the authority's cases, filtered, searched, counted, paged, and
"Mir zuweisen" / "Freigeben" on one case or a selection.

Every rule of the list lives in `casefile.inbox` and `casefile.assignment`, reached through
`casefile.casework` exactly as the JSON API reaches them; this module reads the form's fields
(German names, dates as the browser sends them) and shapes the page. Every action is a plain
form with a redirect back (POST-redirect-GET); htmx only swaps the result list in place.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casefile import assignment, casework, inbox
from casefile.auth import Principal
from casefile.errors import CaseNotAssignable, InvalidCursor
from casefile.pages.shared import (
    STATUS_NAMES,
    Clerk,
    back_to,
    german,
    outcome_sentences,
    runtime_of,
)
from casefile.schemas import AssignmentOutcome as Outcome
from identity.people.api import render_page
from identity.people.csrf import CsrfChecked
from identity.people.sessions import Person

router = APIRouter(include_in_schema=False)
BERLIN = ZoneInfo("Europe/Berlin")
PAGE_SIZE = 25
# Where people without the clerk role start.
HOME = {"triage": "/triage", "archivist": "/archive"}
ASSIGNED = {"mir": "me", "niemand": "none"}


@dataclass(frozen=True)
class Filters:
    """The Posteingang's form as sent (German field names), and what was wrong with it."""

    status: str = ""
    dienst: str = ""
    von: str = ""
    bis: str = ""
    zuweisung: str = ""
    suche: str = ""

    def query(self, **extra: str) -> str:
        fields = {k: v for k, v in {**self.__dict__, **extra}.items() if v}
        return urlencode(fields)


def _day(text: str) -> date | None:
    """A date as `<input type="date">` sends it (2026-11-23) or as a person types it
    (23.11.2026)."""
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d.%m.%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, BERLIN).astimezone(UTC)


def _query(filters: Filters) -> tuple[inbox.InboxQuery, list[str]]:
    """The inbox query for the form, and a German sentence for each field that is not usable
    (that filter is then left out)."""
    errors = []
    status = filters.status if filters.status in STATUS_NAMES else None
    if filters.status and status is None:
        errors.append("Der gewählte Status ist unbekannt.")
    leika_key = filters.dienst if filters.dienst.isdigit() and len(filters.dienst) == 14 else None
    if filters.dienst and leika_key is None:
        errors.append("Die gewählte Leistung ist kein Leistungsschlüssel (14 Ziffern).")
    received_from = received_to = None
    if filters.von:
        day = _day(filters.von)
        if day is None:
            errors.append(f"„{filters.von}“ ist kein Datum (Eingang von). Beispiel: 23.11.2026.")
        else:
            received_from = _start_of(day)
    if filters.bis:
        day = _day(filters.bis)
        if day is None:
            errors.append(f"„{filters.bis}“ ist kein Datum (Eingang bis). Beispiel: 23.11.2026.")
        else:
            received_to = _start_of(day + timedelta(days=1))  # the whole day counts
    if received_from and received_to and received_from >= received_to:
        errors.append("„Eingang von“ liegt nach „Eingang bis“.")
        received_from = received_to = None
    assigned: Any = ASSIGNED.get(filters.zuweisung)
    if filters.zuweisung and assigned is None:
        errors.append("Die gewählte Zuweisung ist unbekannt.")
    return (
        inbox.InboxQuery(
            status=status,
            leika_key=leika_key,
            received_from=received_from,
            received_to=received_to,
            assigned=assigned,
            search=filters.suche.strip() or None,
        ),
        errors,
    )


@router.get("/", response_class=HTMLResponse)
async def posteingang(
    request: Request,
    person: Person,
    status: Annotated[str, Query(max_length=20)] = "",
    dienst: Annotated[str, Query(max_length=100)] = "",
    von: Annotated[str, Query(max_length=20)] = "",
    bis: Annotated[str, Query(max_length=20)] = "",
    zuweisung: Annotated[str, Query(max_length=20)] = "",
    suche: Annotated[str, Query(max_length=200)] = "",
    weiter: Annotated[str, Query(max_length=200)] = "",
    ergebnis: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if person.role != "clerk":
        return RedirectResponse(HOME.get(person.role, "/konto"), status_code=303)
    filters = Filters(status, dienst, von, bis, zuweisung, suche)
    wanted, errors = _query(filters)
    runtime = runtime_of(request)
    try:
        found = await casework.inbox_page(
            runtime, person, wanted, limit=PAGE_SIZE, cursor=weiter or None
        )
    except InvalidCursor as exc:
        errors.append(german(exc))
        weiter = ""
        found = await casework.inbox_page(runtime, person, wanted, limit=PAGE_SIZE)
    services = await casework.inbox_services(runtime, person)
    return await render_page(
        request,
        "posteingang.html",
        {
            "filters": filters,
            "errors": errors,
            "notices": outcome_sentences(ergebnis),
            "rows": found.rows,
            "counts": found.counts,
            "total": sum(found.counts.values()),
            "next_url": "/?" + filters.query(weiter=found.next_cursor)
            if found.next_cursor
            else None,
            "first_url": "/?" + filters.query() if weiter else None,
            "services": services,
            "statuses": STATUS_NAMES,
            "me": assignment.assignee_of(person).id,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "status_url": lambda s: "/?" + Filters(**{**filters.__dict__, "status": s}).query(),
        },
        # htmx swaps only successful answers in; without it, the status says what happened.
        status_code=400 if errors and "hx-request" not in request.headers else 200,
    )


def _after(target: str, results: list[assignment.Result]) -> RedirectResponse:
    tally = Counter(r.outcome for r in results)
    summary = ",".join(f"{outcome}:{n}" for outcome, n in tally.items())
    base, _, query = target.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("ergebnis=")]
    kept.append(urlencode({"ergebnis": summary}))
    return RedirectResponse(f"{base}?{'&'.join(kept)}", status_code=303)


async def _selection(request: Request) -> tuple[list[uuid.UUID], str]:
    form = await request.form()
    ids = []
    for value in form.getlist("case_id"):
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return ids, back_to(str(form.get("zurueck") or ""), "/")


@router.post("/cases/assign")
async def assign_selection(request: Request, person: Clerk, _: CsrfChecked) -> Response:
    """The selection's buttons: `aktion` is `assign` or `release`."""
    ids, target = await _selection(request)
    action: Literal["assign", "release"] = (
        "release" if (await request.form()).get("aktion") == "release" else "assign"
    )
    if not ids:
        return await _nothing_selected(request, person)
    done = await casework.assign_selection(
        runtime_of(request), person, ids[: assignment.MAX_SELECTION], action
    )
    return _after(target, done.results)


async def _nothing_selected(request: Request, person: Principal) -> Response:
    return await render_page(
        request,
        "error.html",
        {
            "title": "Keine Vorgänge ausgewählt",
            "message": "Bitte wählen Sie mindestens einen Vorgang aus der Liste aus.",
            "link": {"href": "/", "text": "Zurück zum Posteingang"},
        },
        status_code=400,
    )


async def _one(
    request: Request, person: Principal, case_id: uuid.UUID, action: Literal["assign", "release"]
) -> Response:
    _, target = await _selection(request)
    try:
        done = await casework.assign_one(runtime_of(request), person, case_id, action)
    except CaseNotAssignable as exc:
        return await render_page(
            request,
            "error.html",
            {
                "title": "Zuweisung nicht möglich",
                "message": german(exc),
                "link": {"href": target, "text": "Zurück"},
            },
            status_code=exc.status,
        )
    outcome: Outcome = "assigned" if action == "assign" else "released"
    return _after(target, [assignment.Result(case_id, outcome, done.case)])


@router.post("/cases/{case_id}/assign")
async def assign_one(
    request: Request, case_id: uuid.UUID, person: Clerk, _: CsrfChecked
) -> Response:
    return await _one(request, person, case_id, "assign")


@router.post("/cases/{case_id}/release")
async def release_one(
    request: Request, case_id: uuid.UUID, person: Clerk, _: CsrfChecked
) -> Response:
    return await _one(request, person, case_id, "release")
