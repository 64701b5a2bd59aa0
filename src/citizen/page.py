"""The citizen's status page: the status URL answered for a browser (`Accept: text/html`).

Plain German, no technical keys: the timeline, the authority and Aktenzeichen once known, what
happens next, and — once decided — the Bescheid, fetched through the same token. An unroutable
application tells the citizen what they can do, never the internal reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from citizen import service
from citizen.models import NO_ADDRESS, NOT_CONFIGURED, SENT, Notification
from citizen.pipeline_source import PipelineSource
from citizen.sources import Bescheid
from citizen.templates import LOCAL_TIME, OUTCOMES, local_time
from contracts.forms import FORMS
from eantrag.runtime import Runtime
from intake.models import StatusEvent
from intake.service import StatusView

_templates = Environment(
    loader=PackageLoader("citizen", "pages"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

TITLES = {
    "received": "Antrag eingegangen",
    "routed": "Zuständige Behörde ermittelt",
    "unroutable": "Zuständige Behörde wird von Hand ermittelt",
    "filed": "Akte bei der Behörde angelegt",
    "in_progress": "In Bearbeitung",
    "on_hold": "Unterlagen nachgefordert",
    "decided": "Entschieden",
    "closed": "Verfahren abgeschlossen",
}


@dataclass(frozen=True)
class Line:
    at: str
    iso: str
    title: str
    text: str | None = None
    mail: str | None = None


@dataclass(frozen=True)
class BescheidLink:
    href: str
    title: str
    kind: str
    size: str


@dataclass
class Page:
    application_id: str
    form_title: str
    received_at: str
    status_label: str
    authority: str | None = None
    file_reference: str | None = None
    next_steps: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    bescheid: BescheidLink | None = None
    mail_configured: bool = True


def _line_text(event: StatusEvent) -> str | None:
    detail: dict[str, Any] = event.detail or {}
    if event.status == "routed" and detail.get("authority"):
        return f"Zuständig ist {detail['authority']}."
    if event.status == "filed" and detail.get("fileReference"):
        return f"Aktenzeichen {detail['fileReference']}."
    if event.status == "on_hold" and detail.get("message"):
        return f"Die Behörde bittet Sie: {detail['message']}"
    if event.status == "decided":
        return OUTCOMES.get(str(detail.get("outcome")), "Über Ihren Antrag ist entschieden") + "."
    if event.status == "in_progress" and detail.get("reopened"):
        return "Das Verfahren wurde wieder aufgenommen."
    # "unroutable" carries the router's reason: internal, never shown to the citizen.
    return None


def _mail_note(row: Notification | None) -> str | None:
    if row is None:
        return None
    if row.outcome == SENT:
        return f"Per E-Mail mitgeteilt an {row.recipient_masked}."
    if row.outcome == NOT_CONFIGURED:
        return "Keine E-Mail-Benachrichtigung eingerichtet."
    if row.outcome == NO_ADDRESS:
        return "Keine E-Mail-Benachrichtigung: der Antrag nennt keine E-Mail-Adresse."
    return None


def next_steps(status: str, detail: dict[str, Any], application_id: str) -> list[str]:
    """What happens now, and what the citizen can do, for the current status."""
    authority = detail.get("authority") or "die zuständige Behörde"
    reference = detail.get("fileReference")
    cite = f" und nennen Sie das Aktenzeichen {reference}" if reference else ""
    if status == "received":
        return ["Wir ermitteln die zuständige Behörde und leiten Ihren Antrag dorthin weiter."]
    if status == "routed":
        return [f"{authority} legt Ihren Antrag als Akte an. Dann erhalten Sie ein Aktenzeichen."]
    if status == "unroutable":
        return [
            "Die zuständige Behörde ließ sich nicht automatisch bestimmen. Ihr Antrag ist nicht "
            "verloren: eine Mitarbeiterin oder ein Mitarbeiter ordnet ihn von Hand zu. Sie müssen "
            "dafür nichts tun.",
            "Haben Sie Fragen, nennen Sie bitte die Vorgangsnummer "
            f"{application_id}. Stimmt die Anschrift in Ihrem Antrag nicht, stellen Sie den "
            "Antrag bitte mit der richtigen Anschrift neu.",
        ]
    if status in ("filed", "in_progress"):
        return [
            f"{authority} bearbeitet Ihren Antrag. Haben Sie Fragen, wenden Sie sich an die "
            f"Behörde{cite}."
        ]
    if status == "on_hold":
        return [
            f"{authority} braucht noch Unterlagen von Ihnen: {detail.get('message') or ''}",
            f"Bitte reichen Sie sie bei der Behörde ein{cite}. Bis dahin ruht die Bearbeitung.",
        ]
    if status == "decided":
        return [
            "Über Ihren Antrag ist entschieden. Den Bescheid können Sie unten herunterladen; er "
            "sagt auch, wie Sie gegen die Entscheidung vorgehen können."
        ]
    if status == "closed":
        return ["Das Verfahren ist abgeschlossen. Sie müssen nichts weiter tun."]
    return []


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} Byte"
    kib = f"{size / 1024:.1f}".replace(".", ",")
    return f"{kib} KB"


def _kind(media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    return {"application/pdf": "PDF", "text/html": "HTML", "text/plain": "Text"}.get(base, base)


def build_page(
    view: StatusView,
    notifications: list[Notification],
    bescheid: Bescheid | None,
    bescheid_href: str,
    *,
    mail_configured: bool,
) -> Page:
    app = view.application
    detail: dict[str, Any] = {}
    for event in view.events:
        detail.update(event.detail or {})
    latest = (view.events[-1].detail or {}) if view.events else {}
    told = {(n.event, n.occurred_at): n for n in notifications}
    page = Page(
        application_id=str(app.id),
        form_title=FORMS[app.form_id].title,
        received_at=local_time(app.received_at),
        status_label=TITLES.get(app.status, app.status),
        authority=detail.get("authority"),
        file_reference=detail.get("fileReference"),
        next_steps=next_steps(
            app.status, {**detail, "message": latest.get("message")}, str(app.id)
        ),
        mail_configured=mail_configured,
    )
    for event in view.events:
        page.lines.append(
            Line(
                at=local_time(event.at),
                iso=event.at.astimezone(LOCAL_TIME).isoformat(),
                title=TITLES.get(event.status, event.status),
                text=_line_text(event),
                mail=_mail_note(told.get((event.status, event.at))),
            )
        )
    if bescheid is not None:
        page.bescheid = BescheidLink(
            href=bescheid_href,
            title="Bescheid",
            kind=_kind(bescheid.media_type),
            size=_size(bescheid.size),
        )
    return page


_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept",
}


async def status_page(request: Request, view: StatusView | None, token: str | None) -> HTMLResponse:
    """The page for a status URL whose token intake has verified; None: a page that says the
    link is not valid (a 404, telling nothing about which part was wrong)."""
    if view is None or token is None:
        html = _templates.get_template("not_found.html").render()
        return HTMLResponse(html, status_code=404, headers=_HEADERS)
    runtime: Runtime = request.app.state.runtime
    application_id = view.application.id
    async with runtime.db.sessionmaker() as session:
        notifications = await service.notifications_of(session, application_id)
        bescheid = await PipelineSource(runtime.blobs).bescheid(session, application_id)
    # Relative to the status URL `/v1/applications/<id>`, so it works behind any path prefix.
    href = f"{application_id}/bescheid?{urlencode({'token': token})}"
    page = build_page(
        view,
        notifications,
        bescheid,
        href,
        mail_configured=runtime.settings.smtp_url is not None,
    )
    html = _templates.get_template("status.html").render(page=page)
    return HTMLResponse(html, headers=_HEADERS)
