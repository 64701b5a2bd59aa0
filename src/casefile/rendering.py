"""Human-readable HTML views: of an application as received, and of a decision (Bescheid).

The application view is generated from the structured data and names the original's SHA-256, so
it always points back to the bytes the citizen sent. It is deterministic (no rendering time in
it): filing the same message twice yields the same bytes and the same content-addressed blob.
No PDF/A yet: valid PDF/A (embedded fonts, an ICC output intent, XMP metadata) wants an HTML
renderer with native libraries (WeasyPrint needs Pango) that the image does not ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from casefile.applicant import applicant_of
from casefile.schemas import ApplicationToFile

CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2;width:30%}.meta td{font-family:monospace}"
)
SKIPPED_KEYS = {"$schema"}


def _label(key: str) -> str:
    return key.replace(".", " ").replace("_", " ")


def _is_code(value: dict[str, Any]) -> bool:
    return "code" in value and set(value) <= {"code", "name", "listURI", "listVersionID"}


def _value(value: Any) -> str:
    if isinstance(value, dict):
        if _is_code(value):
            name = value.get("name")
            code = escape(str(value["code"]))
            return f"{escape(str(name))} ({code})" if name else code
        rows = "".join(
            f"<tr><th>{escape(_label(str(k)))}</th><td>{_value(v)}</td></tr>"
            for k, v in value.items()
            if k not in SKIPPED_KEYS
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if not value:
            return "—"
        return "<ol>" + "".join(f"<li>{_value(item)}</li>" for item in value) + "</ol>"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    return escape(str(value))


def _page(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="de"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    ).encode()


def subject(record: dict[str, Any], fallback: str) -> str:
    """A short title for the file: the message type's name and the applicant, when present."""
    kind = fallback
    head = record.get("nachrichtenkopf.g2g")
    if isinstance(head, dict):
        message = head.get("identifikation.nachricht")
        if isinstance(message, dict):
            code = message.get("nachrichtentyp")
            if isinstance(code, dict) and code.get("name"):
                kind = str(code["name"])
    applicant = applicant_of(record)
    if applicant is not None:
        return f"{kind} — {applicant.display_name}"[:500]
    return kind[:500]


def render_application(message: ApplicationToFile) -> bytes:
    title = subject(message.record, message.form_id or message.leika_urn)
    meta = [
        ("Antrags-ID", str(message.application_id)),
        ("Leistung", message.leika_urn),
        ("Formular", message.form_id or "—"),
        ("Eingegangen", message.received_at.isoformat()),
        ("Zuständige Behörde", f"{message.authority_name} ({message.authority_id})"),
        ("Original", f"{message.original.media_type}, {message.original.size} Bytes"),
        ("SHA-256 des Originals", message.original.sha256),
    ]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in meta)
    attachments = "".join(
        f"<tr><td>{escape(a.filename or a.attachment_id)}</td><td>{escape(a.media_type)}</td>"
        f"<td>{a.size}</td><td>{escape(a.sha256)}</td></tr>"
        for a in message.attachments
    )
    body = (
        f"<h1>{escape(title)}</h1>"
        "<p>Lesefassung, erzeugt aus den strukturierten Daten des Antrags. Maßgeblich ist das "
        "Original, dessen SHA-256 unten steht.</p>"
        f'<table class="meta">{rows}</table>'
        f"<h2>Angaben</h2>{_value(message.record)}"
    )
    if attachments:
        body += (
            "<h2>Anlagen</h2><table><tr><th>Datei</th><th>Medientyp</th><th>Bytes</th>"
            f"<th>SHA-256</th></tr>{attachments}</table>"
        )
    return _page(title, body)


@dataclass(frozen=True)
class DecisionText:
    authority_name: str
    file_reference: str
    application_id: str
    service: str
    outcome: str
    reason: str | None
    decided_at: datetime
    decided_by: str


def render_decision(decision: DecisionText) -> bytes:
    verdict = "bewilligt" if decision.outcome == "granted" else "abgelehnt"
    title = f"Bescheid {decision.file_reference}"
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p>{escape(decision.authority_name)}</p>"
        f'<table class="meta"><tr><th>Aktenzeichen</th><td>{escape(decision.file_reference)}</td>'
        f"</tr><tr><th>Antrags-ID</th><td>{escape(decision.application_id)}</td></tr>"
        f"<tr><th>Leistung</th><td>{escape(decision.service)}</td></tr>"
        f"<tr><th>Datum</th><td>{escape(decision.decided_at.date().isoformat())}</td></tr></table>"
        f"<h2>Entscheidung</h2><p>Der Antrag wird <strong>{verdict}</strong>.</p>"
    )
    if decision.reason:
        body += f"<h2>Begründung</h2><p>{escape(decision.reason)}</p>"
    body += f"<p>Bearbeitet von {escape(decision.decided_by)}.</p>"
    return _page(title, body)
