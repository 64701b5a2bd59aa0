"""What the clerk's pages share: German names of states and outcomes, the clerk dependency, the
German text of an expected error, and the way back after a form was sent."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from casefile.auth import Principal
from eantrag.problems import ProblemError
from eantrag.runtime import Runtime
from identity.people.api import safe_next
from identity.people.sessions import require_role
from web import pages

pages.add_templates("casefile.pages")

STATUS_NAMES: dict[str, str] = {
    "filed": "Eingegangen",
    "in_progress": "In Bearbeitung",
    "on_hold": "Wartet auf Unterlagen",
    "decided": "Entschieden",
    "closed": "Abgeschlossen (zdA)",
    "archived": "Archiviert",
    "destroyed": "Vernichtet",
}
OUTCOME_NAMES: dict[str, str] = {"granted": "bewilligt", "refused": "abgelehnt"}

# The problems a clerk can cause by what they entered or clicked, in their words.
GERMAN: dict[str, str] = {
    "casefile.invalid_transition": (
        "Dieser Schritt ist im jetzigen Stand des Vorgangs nicht möglich. Vielleicht hat "
        "jemand den Vorgang inzwischen bearbeitet; die Seite zeigt den aktuellen Stand."
    ),
    "casefile.outcome_required": "Bitte wählen Sie, ob der Antrag bewilligt oder abgelehnt wird.",
    "casefile.reason_required": (
        "Ein Ablehnungsbescheid braucht eine Begründung (§ 39 VwVfG). Bitte tragen Sie sie ein."
    ),
    "casefile.message_required": (
        "Bitte schreiben Sie, welche Unterlagen nachgereicht werden sollen."
    ),
    "casefile.reopen_not_allowed": (
        "Die Aufbewahrungsfrist ist abgelaufen; der Vorgang kann nicht wieder aufgenommen werden."
    ),
    "casefile.case_closed": (
        "Der Vorgang ist abgeschlossen. Nehmen Sie ihn wieder auf, um ein Dokument hinzuzufügen."
    ),
    "casefile.unusable_decision_document": (
        "Das gewählte Dokument ist kein Bescheid dieses Vorgangs."
    ),
    "casefile.empty_document": "Die gewählte Datei ist leer.",
    "casefile.document_too_large": "Die gewählte Datei ist zu groß.",
    "casefile.case_not_assignable": (
        "Der Vorgang ist ausgesondert; niemand kann ihn mehr bearbeiten."
    ),
    "casefile.invalid_cursor": (
        "Der Verweis auf die nächste Seite ist ungültig. Die Liste beginnt wieder oben."
    ),
    "casefile.document_integrity": (
        "Das gespeicherte Dokument stimmt nicht mit seiner Prüfsumme überein und wurde nicht "
        "ausgeliefert. Der Vorfall ist in der Historie vermerkt; bitte informieren Sie den Betrieb."
    ),
}


def german(exc: ProblemError) -> str:
    return GERMAN.get(exc.code, "Die Aktion war nicht möglich. Bitte versuchen Sie es erneut.")


OUTCOME_TEXT = {
    "assigned": ("{n} Vorgang wurde Ihnen zugewiesen.", "{n} Vorgänge wurden Ihnen zugewiesen."),
    "released": ("{n} Vorgang wurde freigegeben.", "{n} Vorgänge wurden freigegeben."),
    "unchanged": ("{n} Vorgang war schon so.", "{n} Vorgänge waren schon so."),
    "not_found": ("{n} Vorgang wurde nicht gefunden.", "{n} Vorgänge wurden nicht gefunden."),
    "not_assignable": (
        "{n} Vorgang ist ausgesondert und kann nicht zugewiesen werden.",
        "{n} Vorgänge sind ausgesondert und können nicht zugewiesen werden.",
    ),
}


def outcome_sentences(text: str | None) -> list[str]:
    """`assigned:3,unchanged:1` (what an assignment did, carried by the redirect) in words."""
    sentences = []
    for part in (text or "").split(","):
        outcome, _, number = part.partition(":")
        if outcome in OUTCOME_TEXT and number.isdigit() and int(number) > 0:
            one, many = OUTCOME_TEXT[outcome]
            sentences.append((one if number == "1" else many).format(n=number))
    return sentences


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


Clerk = Annotated[Principal, Depends(require_role("clerk"))]


def back_to(value: str | None, default: str) -> str:
    """The page a form came from (a path of this site only), else `default`."""
    target = safe_next(value)
    return target if value and target == value else default


pages.env.filters["status_name"] = lambda status: STATUS_NAMES.get(status, status)
pages.env.filters["outcome_name"] = lambda outcome: OUTCOME_NAMES.get(outcome, outcome or "")
