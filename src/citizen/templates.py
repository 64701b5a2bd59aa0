"""The e-mails to the citizen, one template per event: adding one is one entry here (and, for a
new event, a binding of the `eantrag.notifications` queue in `eantrag.broker.NOTIFIED_EVENTS`).

Placeholders are `str.format` fields from `FIELDS`; a test renders every template and checks that
it uses no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TIME = ZoneInfo("Europe/Berlin")

FIELDS = (
    "form_title",
    "application_id",
    "received_at",
    "status_url",
    "authority",
    "file_reference",
    "outcome",
    "bescheid_url",
    "message",
)

_FOOTER = """
Den Stand Ihres Antrags sehen Sie jederzeit unter:
{status_url}

Bitte bewahren Sie diesen Link auf und geben Sie ihn nicht weiter: wer ihn kennt, sieht den Stand
Ihres Antrags. Diese Nachricht wurde automatisch erstellt; bitte antworten Sie nicht darauf.
"""


@dataclass(frozen=True)
class MailTemplate:
    event: str
    title: str
    """The document's title in the case file."""
    subject: str
    body: str

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        return self.subject.format(**values), self.body.format(**values) + _FOOTER.format(**values)


TEMPLATES: dict[str, MailTemplate] = {
    t.event: t
    for t in (
        MailTemplate(
            event="received",
            title="E-Mail an die Antragstellerin/den Antragsteller: Eingangsbestätigung",
            subject="Ihr Antrag ist eingegangen: {form_title}",
            body="""Guten Tag,

Ihr Antrag „{form_title}“ ist am {received_at} bei uns eingegangen.
Vorgangsnummer: {application_id}

Wir leiten ihn jetzt an die zuständige Behörde weiter. Sobald er dort als Akte angelegt ist,
erhalten Sie eine weitere Nachricht mit dem Aktenzeichen.
""",
        ),
        MailTemplate(
            event="filed",
            title="E-Mail an die Antragstellerin/den Antragsteller: Aktenzeichen",
            subject="Ihr Antrag liegt bei {authority}: Aktenzeichen {file_reference}",
            body="""Guten Tag,

Ihr Antrag „{form_title}“ vom {received_at} liegt jetzt bei der zuständigen Behörde:

  {authority}
  Aktenzeichen: {file_reference}

Bitte nennen Sie dieses Aktenzeichen, wenn Sie sich an die Behörde wenden.
""",
        ),
        MailTemplate(
            event="on_hold",
            title="E-Mail an die Antragstellerin/den Antragsteller: Nachforderung von Unterlagen",
            subject="Bitte reichen Sie Unterlagen nach: Aktenzeichen {file_reference}",
            body="""Guten Tag,

für Ihren Antrag „{form_title}“ (Aktenzeichen {file_reference}) braucht {authority}
noch Unterlagen von Ihnen:

{message}

Bitte reichen Sie sie bei {authority} unter Angabe des Aktenzeichens ein. Bis dahin ruht die
Bearbeitung Ihres Antrags.
""",
        ),
        MailTemplate(
            event="decided",
            title="E-Mail an die Antragstellerin/den Antragsteller: Bescheid",
            subject="Über Ihren Antrag ist entschieden: Aktenzeichen {file_reference}",
            body="""Guten Tag,

über Ihren Antrag „{form_title}“ (Aktenzeichen {file_reference}) hat {authority} entschieden:
{outcome}.

Den Bescheid können Sie hier herunterladen:
{bescheid_url}
""",
        ),
    )
}

OUTCOMES = {"granted": "Ihr Antrag wurde bewilligt", "refused": "Ihr Antrag wurde abgelehnt"}


def local_time(at: datetime) -> str:
    """`23.11.2026 um 14:05 Uhr`, in the authority's time zone."""
    return at.astimezone(LOCAL_TIME).strftime("%d.%m.%Y um %H:%M Uhr")
