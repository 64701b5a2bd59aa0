"""The Bescheid: a PDF/A letter of the authority, generated from a template per service.

A declarative registry like the forms' `FormSpec`: each `BescheidSpec` names the service (LeiKa
key), the subject line and its template directory (`templates/bescheid/<id>/`: the decision when
granted, when refused, and the Rechtsbehelfsbelehrung). Services without an entry use
`allgemein`. An operator replaces any template file through `EANTRAG_BESCHEID_TEMPLATE_DIR`.

The letter carries the authority's letterhead from the directory (through the `Letterheads`
port: name and address), the addressee (the applicant of the form), date and Aktenzeichen, the
decision, the reasons the clerk gave, the Rechtsbehelfsbelehrung, and the deciding clerk's name.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from casefile import repository
from casefile.models import DECIDED, Dokument, Vorgang
from casefile.pdfa import CONFORMANCE_NAME, PDF, PdfaDocument, keep
from casefile.readable import Field, applicant, form_title, german_date
from eantrag.blobs import TieredBlobStore
from eantrag.db import insert_rows

TEMPLATES = Path(__file__).resolve().parent / "templates" / "bescheid"
GRANTED, REFUSED = "granted", "refused"
TEMPLATE_FILES = {GRANTED: "bewilligung.txt", REFUSED: "ablehnung.txt"}
RECHTSBEHELF = "rechtsbehelfsbelehrung.txt"


@dataclass(frozen=True)
class BescheidSpec:
    id: str
    leika_key: str | None
    betreff: str
    form_id: str | None = None


BESCHEIDE: dict[str, BescheidSpec] = {
    spec.id: spec
    for spec in (
        BescheidSpec(
            id="hundeanmeldung",
            leika_key="99102013104000",
            betreff="Anmeldung eines Hundes zur Hundesteuer",
            form_id="hundeanmeldung",
        ),
        BescheidSpec(
            id="wohngeld-mietzuschuss",
            leika_key="99107023037000",
            betreff="Wohngeld – Antrag auf Mietzuschuss",
            form_id="wohngeld-mietzuschuss",
        ),
        BescheidSpec(id="allgemein", leika_key=None, betreff="Ihr Antrag"),
    )
}
_BY_LEIKA = {spec.leika_key: spec for spec in BESCHEIDE.values() if spec.leika_key}


def spec_for(leika_key: str) -> BescheidSpec:
    return _BY_LEIKA.get(leika_key, BESCHEIDE["allgemein"])


@dataclass(frozen=True)
class Letterhead:
    """The authority as the directory knows it."""

    name: str
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    phone: str | None = None
    email: str | None = None

    def address_lines(self) -> list[str]:
        lines = []
        street = " ".join(p for p in (self.street, self.house_number) if p)
        if street:
            lines.append(street)
        place = " ".join(p for p in (self.postcode, self.city) if p)
        if place:
            lines.append(place)
        return lines

    def one_line(self) -> str:
        return ", ".join(self.address_lines()) or self.name


class Letterheads(Protocol):
    """The port to the directory of authorities (an adapter reads routing's directory)."""

    async def letterhead(self, session: AsyncSession, authority_id: str) -> Letterhead | None: ...


class Templates:
    """Template files: the operator's directory first, then the built-in ones."""

    def __init__(self, override: Path | None = None) -> None:
        self.override = override

    def text(self, spec: BescheidSpec, name: str) -> str:
        for root in (self.override, TEMPLATES):
            if root is None:
                continue
            for directory in (spec.id, "allgemein"):
                path = root / directory / name
                if path.is_file():
                    return path.read_text(encoding="utf-8").strip()
        raise FileNotFoundError(f"no Bescheid template {name} for {spec.id}")


@dataclass(frozen=True)
class BescheidText:
    """Everything the letter says, as plain values (rendered in a thread)."""

    letterhead: Letterhead
    addressee: list[str]
    facts: list[Field]
    betreff: str
    salutation: str
    decision: str
    reasons: str | None
    rechtsbehelf: str
    clerk: str
    footer: str
    created_at: datetime
    title: str


def addressee(record: dict[str, Any], form_id: str | None) -> list[str]:
    person = applicant(record, form_id)
    name = " ".join(str(person[k]) for k in ("vorname", "familienname") if person.get(k))
    anschrift = person.get("anschrift") if isinstance(person.get("anschrift"), dict) else {}
    assert isinstance(anschrift, dict)
    lines = [name] if name else []
    street = " ".join(str(anschrift[k]) for k in ("strasse", "hausnummer") if anschrift.get(k))
    for line in (
        street,
        str(anschrift.get("adresszusatz") or ""),
        " ".join(str(anschrift[k]) for k in ("postleitzahl", "ort") if anschrift.get(k)),
    ):
        if line:
            lines.append(line)
    return lines


def compose(
    case: Vorgang,
    *,
    outcome: str,
    reasons: str | None,
    clerk: str,
    letterhead: Letterhead,
    templates: Templates,
    now: datetime,
) -> BescheidText:
    spec = spec_for(case.leika_key)
    service = form_title(case.form_id) or spec.betreff
    values = {
        "behoerde": letterhead.name,
        "behoerde_anschrift": letterhead.one_line(),
        "aktenzeichen": case.akte.aktenzeichen,
        "leistung": service,
        "eingangsdatum": german_date(case.received_at.date()),
        "antragsteller": (addressee(case.record, case.form_id) or [""])[0],
    }

    def fill(name: str) -> str:
        return Template(templates.text(spec, name)).safe_substitute(values)

    person = values["antragsteller"]
    verdict = "Bewilligung" if outcome == GRANTED else "Ablehnung"
    return BescheidText(
        letterhead=letterhead,
        addressee=addressee(case.record, case.form_id),
        facts=[
            Field("Aktenzeichen", case.akte.aktenzeichen),
            Field("Datum", german_date(now.date())),
            Field("Ihr Antrag vom", german_date(case.received_at.date())),
            Field("Bearbeitet von", clerk),
        ],
        betreff=f"Bescheid – {spec.betreff} ({verdict})",
        salutation=f"Guten Tag {person}," if person else "Guten Tag,",
        decision=fill(TEMPLATE_FILES[outcome]),
        reasons=reasons.strip() if reasons and reasons.strip() else None,
        rechtsbehelf=fill(RECHTSBEHELF),
        clerk=clerk,
        footer=f"{letterhead.name} · {case.akte.aktenzeichen} · Bescheid",
        created_at=now,
        title=f"Bescheid {case.akte.aktenzeichen}",
    )


def render(text: BescheidText) -> bytes:
    """The letter as a PDF/A-2b document."""
    doc = PdfaDocument(
        title=text.title,
        author=text.letterhead.name,
        subject=text.betreff,
        created_at=text.created_at,
        footer=text.footer,
    )
    doc.paragraph(text.letterhead.name, size=12, bold=True, gap=0)
    contact = [*text.letterhead.address_lines()]
    contact += [c for c in (text.letterhead.phone, text.letterhead.email) if c]
    doc.lines(contact, size=8.5)
    doc.rule()
    doc.lines(text.addressee, size=10)
    doc.pdf.ln(6)
    doc.fields(text.facts, size=9)
    doc.pdf.ln(3)
    doc.paragraph(text.betreff, size=11, bold=True)
    doc.paragraph(text.salutation, size=10)
    doc.heading("Entscheidung")
    doc.paragraph(text.decision, size=10)
    if text.reasons:
        doc.heading("Begründung")
        doc.paragraph(text.reasons, size=10)
    doc.heading("Rechtsbehelfsbelehrung")
    doc.paragraph(text.rechtsbehelf, size=9.5)
    doc.pdf.ln(4)
    doc.paragraph("Mit freundlichen Grüßen\nIm Auftrag", size=10, gap=1)
    doc.paragraph(text.clerk, size=10, bold=True)
    doc.paragraph(
        "Dieser Bescheid wurde elektronisch erstellt und ist ohne Unterschrift gültig.", size=8
    )
    return doc.output()


class Bescheide:
    """Generates a case's Bescheid: templates, the letterhead port, the blob store."""

    def __init__(self, letterheads: Letterheads, templates: Templates | None = None) -> None:
        self.letterheads = letterheads
        self.templates = templates or Templates()

    async def generate(
        self,
        session: AsyncSession,
        blobs: TieredBlobStore,
        case: Vorgang,
        *,
        outcome: str,
        reasons: str | None,
        clerk: str,
        actor: str,
        now: datetime,
    ) -> Dokument:
        """Render the Bescheid and add it to the case (locked by the caller) as a document."""
        letterhead = await self.letterheads.letterhead(session, case.authority_id)
        text = compose(
            case,
            outcome=outcome,
            reasons=reasons,
            clerk=clerk,
            letterhead=letterhead or Letterhead(case.akte.authority_name),
            templates=self.templates,
            now=now,
        )
        data = await asyncio.to_thread(render, text)
        key, sha256, rows = await keep(blobs, data)
        await insert_rows(session, rows)
        version = await repository.next_version(session, case.id, "decision")
        document = Dokument(
            id=uuid.uuid4(),
            vorgang_id=case.id,
            kind="decision",
            document_key="decision",
            version=version,
            title="Bescheid (Bewilligung)" if outcome == GRANTED else "Bescheid (Ablehnung)",
            filename=f"bescheid-{version}.pdf",
            media_type=PDF,
            size=len(data),
            sha256=sha256,
            sha512=None,
            blob_key=key,
            conformance=CONFORMANCE_NAME,
            created_at=now,
            created_by=actor,
        )
        session.add(document)
        return document


async def current_decision(session: AsyncSession, application_id: uuid.UUID) -> Dokument | None:
    """The Bescheid in force for an application: the document (generated or uploaded) that its
    latest decision named; None before a decision, or once the case left the e-Akte. For the
    citizen's status page and the clerk; the caller decides who may see it."""
    case_id = await repository.case_id_for_application(session, application_id)
    if case_id is None:
        return None
    for entry in reversed(await repository.audit_entries(session, case_id)):
        value = entry.new_value if isinstance(entry.new_value, dict) else {}
        if entry.action == "transition" and value.get("status") == DECIDED:
            named = value.get("decisionDocument") or {}
            try:
                document_id = uuid.UUID(str(named.get("id")))
            except ValueError:
                return None
            return await repository.document(session, case_id, document_id)
    return None
