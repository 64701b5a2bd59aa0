"""Errors as pages for people, as problems for programs.

A browser that asks for a page (`Accept: text/html`, outside the API's paths) gets the error in
the base layout, in German; every other client keeps RFC 9457 problem+json from the app's own
handlers. The decision is one rule (`wants_page`) for every error: a missing page or case, a
refused role, a bad query, a database outage.

A page never tells why a case is not there: "unknown id" and "another authority's case" are the
same 404, so guessing URLs learns nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

# Paths of programs, not people: the API, the token endpoint, probes and metrics, the spec.
API_PREFIXES = ("/v1/", "/oauth/", "/openapi.json", "/healthz", "/readyz", "/metrics")

ErrorPage = Callable[[Request, int, str, str], Awaitable[Response]]
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


@dataclass(frozen=True)
class Wording:
    title: str
    message: str


NOT_FOUND = Wording(
    "Nicht gefunden",
    "Diese Seite oder diesen Vorgang gibt es nicht, oder er gehört nicht zu Ihrer Behörde. "
    "Prüfen Sie die Adresse oder gehen Sie zurück zu Ihrem Konto.",
)
WORDING: dict[int, Wording] = {
    400: Wording(
        "Ungültige Anfrage",
        "Die Anfrage enthält Angaben, die nicht stimmen. Prüfen Sie die Adresse oder das "
        "Formular und versuchen Sie es noch einmal.",
    ),
    403: Wording(
        "Keine Berechtigung",
        "Ihre Rolle erlaubt diese Seite nicht. Wenden Sie sich an den Betrieb, wenn Sie sie "
        "brauchen.",
    ),
    404: NOT_FOUND,
    405: Wording("Nicht möglich", "Diese Aktion ist auf dieser Seite nicht möglich."),
    409: Wording(
        "Nicht mehr möglich",
        "Der Vorgang hat sich inzwischen geändert. Laden Sie die Seite neu und prüfen Sie den "
        "aktuellen Stand.",
    ),
    413: Wording("Zu groß", "Die hochgeladene Datei ist zu groß."),
    422: Wording(
        "Ungültige Anfrage",
        "Die Anfrage enthält Angaben, die nicht stimmen. Prüfen Sie die Adresse oder das "
        "Formular und versuchen Sie es noch einmal.",
    ),
    429: Wording(
        "Zu viele Anfragen", "Bitte warten Sie einen Moment und versuchen Sie es noch einmal."
    ),
    503: Wording(
        "Vorübergehend nicht erreichbar",
        "Der Dienst ist gerade nicht erreichbar; es wurde nichts gespeichert. Bitte versuchen "
        "Sie es in einigen Sekunden noch einmal.",
    ),
}
FALLBACK = Wording(
    "Fehler",
    "Bei der Bearbeitung ist ein Fehler aufgetreten. Er wurde protokolliert; bitte versuchen "
    "Sie es später noch einmal.",
)


def wording(status: int) -> Wording:
    if status in WORDING:
        return WORDING[status]
    return FALLBACK if status >= 500 else WORDING[400]


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page (not the API, not a program)."""
    if request.url.path.startswith(API_PREFIXES):
        return False
    if request.headers.get("hx-request"):
        return False  # htmx swaps fragments; it gets the status and no layout
    return "text/html" in request.headers.get("accept", "")


def _pages_or(original: Handler, page: ErrorPage) -> Handler:
    """The app's own answer for programs; for a page, its status (and Retry-After) in words."""

    async def handle(request: Request, exc: Exception) -> Response:
        answer = original(request, exc)  # logs what went wrong, decides the status
        if inspect.isawaitable(answer):
            answer = await answer
        if not wants_page(request):
            return answer
        said = wording(answer.status_code)
        response = await page(request, answer.status_code, said.title, said.message)
        if "retry-after" in answer.headers:
            response.headers["Retry-After"] = answer.headers["retry-after"]
        return response

    return handle


def install(app: FastAPI, page: ErrorPage) -> None:
    """Put error pages in front of every exception handler the app has so far (its problem
    handlers: the app's own errors, the framework's 404/405/422, database outages)."""
    for kind, handler in list(app.exception_handlers.items()):
        if isinstance(kind, type) and not kind.__name__.startswith("WebSocket"):
            app.exception_handlers[kind] = _pages_or(handler, page)
