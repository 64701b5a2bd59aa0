"""The audit trail in words: who (the person's name), when, what, and the old and new values
with German names, states and dates instead of the stored JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casefile.models import AuditEntry
from casefile.pages.shared import OUTCOME_NAMES, STATUS_NAMES
from casefile.readable import german_date
from identity.people.principal import Actor

ACTIONS = {
    "filed": "Eingang abgelegt",
    "transition": "Status geändert",
    "note": "Notiz",
    "assigned": "Zugewiesen",
    "released": "Freigegeben",
    "document.added": "Dokument hinzugefügt",
    "document.read": "Dokument gelesen",
    "document.integrity_failed": "Dokument beschädigt",
    "archive.appraised": "Archiv: bewertet",
}
KEYS = {
    "status": "Status",
    "outcome": "Ergebnis",
    "reason": "Begründung",
    "message": "Nachricht",
    "text": "Text",
    "assignee": "Zuständig",
    "decisionDocument": "Bescheid",
    "retentionEndsOn": "Aufbewahrung bis",
    "reopened": "Wieder aufgenommen",
    "closedAt": "Abgeschlossen am",
    "fileReference": "Aktenzeichen",
    "authorityId": "Behörde",
    "applicationId": "Antrags-ID",
    "documents": "Dokumente",
    "documentId": "Dokument",
    "kind": "Art",
    "version": "Version",
    "filename": "Dateiname",
    "sha256": "SHA-256",
    "problem": "Problem",
}
KINDS = {
    "original": "Original",
    "rendering": "Lesefassung",
    "attachment": "Anlage",
    "decision": "Bescheid",
    "upload": "Hochgeladen",
}


@dataclass(frozen=True)
class Line:
    at: datetime
    who: str
    what: str
    old: list[tuple[str, str]]
    new: list[tuple[str, str]]


def _value(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if key == "status":
        return STATUS_NAMES.get(str(value), str(value))
    if key == "outcome":
        return OUTCOME_NAMES.get(str(value), str(value))
    if key == "kind":
        return KINDS.get(str(value), str(value))
    if key in ("retentionEndsOn",):
        return german_date(str(value))
    if key == "sha256":
        return f"{str(value)[:12]}…"
    if isinstance(value, dict):
        if "name" in value and key == "assignee":
            return str(value["name"]) or "—"
        return ", ".join(f"{KEYS.get(k, k)}: {_value(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return f"{len(value)}"
    return str(value)


def _pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return [] if value is None else [("Wert", str(value))]
    return [(KEYS.get(str(k), str(k)), _value(str(k), v)) for k, v in value.items()]


def lines(entries: list[AuditEntry]) -> list[Line]:
    """Newest first."""
    return [
        Line(
            at=entry.at,
            who=Actor.parse(entry.actor).name,
            what=ACTIONS.get(entry.action, entry.action),
            old=_pairs(entry.old_value),
            new=_pairs(entry.new_value),
        )
        for entry in reversed(entries)
    ]
