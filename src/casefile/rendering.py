"""Human-readable HTML views: of an application as received, and of a decision (Bescheid).

The application view is the readable view (`casefile.readable`) as HTML and names the original's
SHA-256, so it always points back to the bytes the citizen sent. It is deterministic (no
rendering time in it): filing the same message twice yields the same bytes and the same
content-addressed blob. The PDF/A rendering (`casefile.pdfa`) shows the same view, with the
Aktenzeichen, once the application is filed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from casefile.applicant import applicant_of
from casefile.readable import (
    AttachmentLine,
    Field,
    ReadableApplication,
    Section,
    facts,
    form_title,
    german_datetime,
    german_size,
    sections,
)
from casefile.schemas import ApplicationToFile

CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}h3{font-size:1em;margin-top:1em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2;width:35%;font-weight:normal}.hash{font-family:monospace;"
    "word-break:break-all}"
)
MEDIA_NAMES = {
    "application/xml": "XML-Dokument",
    "text/xml": "XML-Dokument",
    "application/json": "JSON-Dokument",
}


def _page(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="de"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    ).encode()


def _rows(fields: Sequence[Field]) -> str:
    cells = []
    for f in fields:
        css = ' class="hash"' if f.label.startswith("SHA") else ""
        cells.append(f"<tr><th>{escape(f.label)}</th><td{css}>{escape(f.value)}</td></tr>")
    return "".join(cells)


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


def media_name(media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    return MEDIA_NAMES.get(base, base)


def readable_application(
    *,
    record: dict[str, Any],
    form_id: str | None,
    leika_urn: str,
    application_id: str,
    received_at: datetime,
    authority_name: str,
    original_media_type: str,
    original_size: int,
    original_sha256: str,
    attachments: Sequence[AttachmentLine],
    file_reference: str | None = None,
) -> ReadableApplication:
    """The readable view of an application with the facts of its file."""
    title = form_title(form_id)
    service = f"{title} ({leika_urn})" if title else leika_urn
    pairs = [("Aktenzeichen", file_reference)] if file_reference else []
    pairs += [
        ("Leistung", service),
        ("Eingegangen", german_datetime(received_at)),
        ("Zuständige Behörde", authority_name),
        ("Antragsnummer", application_id),
        ("Original", f"{media_name(original_media_type)}, {german_size(original_size)}"),
        ("SHA-256 des Originals", original_sha256),
    ]
    return ReadableApplication(
        title=subject(record, title or form_id or leika_urn),
        facts=facts(pairs),
        sections=sections(record, form_id),
        attachments=tuple(attachments),
    )


def readable_of(
    message: ApplicationToFile, file_reference: str | None = None
) -> ReadableApplication:
    return readable_application(
        record=message.record,
        form_id=message.form_id,
        leika_urn=message.leika_urn,
        application_id=str(message.application_id),
        received_at=message.received_at,
        authority_name=message.authority_name,
        original_media_type=message.original.media_type,
        original_size=message.original.size,
        original_sha256=message.original.sha256,
        attachments=[
            AttachmentLine(
                a.filename or a.attachment_id,
                media_name(a.media_type),
                german_size(a.size),
                a.sha256,
            )
            for a in message.attachments
        ],
        file_reference=file_reference,
    )


INTRO = (
    "Lesefassung, erzeugt aus den strukturierten Daten des Antrags. Maßgeblich ist das "
    "Original, dessen SHA-256 hier steht."
)


def _section_html(section: Section) -> str:
    tag = "h2" if section.level <= 1 else "h3"
    table = f"<table>{_rows(section.fields)}</table>" if section.fields else ""
    return f"<{tag}>{escape(section.title)}</{tag}>{table}"


def render_html(view: ReadableApplication) -> bytes:
    body = (
        f"<h1>{escape(view.title)}</h1><p>{escape(INTRO)}</p>"
        f"<table>{_rows(view.facts)}</table>" + "".join(_section_html(s) for s in view.sections)
    )
    if view.attachments:
        lines = "".join(
            f"<tr><td>{escape(a.name)}</td><td>{escape(a.media_type)}</td>"
            f'<td>{escape(a.size)}</td><td class="hash">{escape(a.sha256)}</td></tr>'
            for a in view.attachments
        )
        body += (
            "<h2>Anlagen</h2><table><tr><th>Datei</th><th>Art</th><th>Größe</th>"
            f"<th>SHA-256</th></tr>{lines}</table>"
        )
    return _page(view.title, body)


def render_application(message: ApplicationToFile) -> bytes:
    return render_html(readable_of(message))
