"""Example cases for the archive tests, and the archive's side of the conversation (0502, 0506)
written the way an archive would, so the tests can validate those too."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from archive.schema import namespace
from archive.sources import (
    ArchivableAkte,
    ArchivableDokument,
    ArchivableVersion,
    ArchivableVorgang,
    AuditEntry,
    FilePlanUnit,
    Retention,
)
from eantrag.blobs import BlobStore, blob_key

AUTHORITY = "gemeinde-niederwuerschnitz"
AUTHORITY_NAME = "Gemeinde Niederwürschnitz"
DOG_TAX = FilePlanUnit("022.31", "Hundesteuer", Retention(6), "B")
WOHNGELD = FilePlanUnit("431.12", "Wohngeld", Retention(10), "A")
BUILDING = FilePlanUnit("632.1", "Baugenehmigungen", Retention(None), "A")
DESTROY = FilePlanUnit("010.5", "Terminabsprachen", Retention(2), "V")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def put(blobs: BlobStore, data: bytes, media_type: str) -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    key = await blobs.put(io.BytesIO(data), digest, len(data), media_type)
    assert key == blob_key(digest)
    return key, digest


async def example_case(
    blobs: BlobStore,
    *,
    number: int,
    unit: FilePlanUnit = DOG_TAX,
    closed: str = "2018-03-01T10:00:00",
    authority_id: str = AUTHORITY,
    original: bytes | None = None,
    attachment: bytes = PDF,
) -> ArchivableAkte:
    """An Akte with one Vorgang: the citizen's XML original, a PDF attachment, structured data."""
    original = (
        original
        or (
            f'<?xml version="1.0"?><antrag nummer="{number}"><name>Erika Muster</name></antrag>'
        ).encode()
    )
    original_key, original_sha = await put(blobs, original, "application/xml")
    attachment_key, attachment_sha = await put(blobs, attachment, "application/pdf")
    opened = at("2017-05-02T09:00:00")
    closed_at = at(closed)
    entries = (
        AuditEntry("system", opened, "filed", None, None, "filed"),
        AuditEntry(
            "clerk:mueller", at("2017-06-01T12:00:00"), "status", "status", "filed", "decided"
        ),
        AuditEntry("clerk:mueller", closed_at, "closed", "status", "decided", "closed"),
    )
    vorgang = ArchivableVorgang(
        id=uuid.uuid4(),
        title=f"Anmeldung eines Hundes ({number})",
        reference=f"{unit.kennzeichen}/2017/{number:05d}",
        opened_at=opened,
        closed_at=closed_at,
        documents=(
            ArchivableDokument(
                id=uuid.uuid4(),
                title="Antrag (Original)",
                kind="Antrag",
                received_at=opened,
                versions=(
                    ArchivableVersion(
                        id=uuid.uuid4(),
                        number=1,
                        filename="antrag.xml",
                        media_type="application/xml",
                        blob_key=original_key,
                        sha256=original_sha,
                        size=len(original),
                        created_at=opened,
                    ),
                ),
            ),
            ArchivableDokument(
                id=uuid.uuid4(),
                title="Nachweis",
                kind="Anlage",
                received_at=opened,
                versions=(
                    ArchivableVersion(
                        id=uuid.uuid4(),
                        number=1,
                        filename="Nachweis Impfung.pdf",
                        media_type="application/pdf",
                        blob_key=attachment_key,
                        sha256=attachment_sha,
                        size=len(attachment),
                        created_at=opened,
                    ),
                ),
            ),
        ),
        audit=entries,
        structured_data={
            "halter": {"name": "Erika Muster", "geburtsdatum": "1980-01-31"},
            "hunde": [{"rasse": "Dackel", "gefaehrlich": False, "alter": 3}],
            "bemerkung": None,
        },
    )
    return ArchivableAkte(
        id=uuid.uuid4(),
        authority_id=authority_id,
        authority_name=AUTHORITY_NAME,
        aktenzeichen=f"{unit.kennzeichen}/2017/{number:05d}",
        title=f"Hundesteuer Muster ({number})",
        unit=unit,
        opened_at=opened,
        closed_at=closed_at,
        vorgaenge=(vorgang,),
        audit=entries[:1],
    )


# --- the archive's messages ------------------------------------------------------------------


def _archive_head(
    root: etree._Element, ns: str, process_id: uuid.UUID, code: str
) -> etree._Element:
    q = f"{{{ns}}}"
    kopf = etree.SubElement(root, q + "Kopf")
    etree.SubElement(kopf, q + "ProzessID").text = str(process_id)
    typ = etree.SubElement(kopf, q + "Nachrichtentyp")
    etree.SubElement(typ, "code").text = code
    etree.SubElement(kopf, q + "Erstellungszeitpunkt").text = "2026-11-20T10:00:00Z"
    for name, who in (("Absender", "Sächsisches Staatsarchiv"), ("Empfaenger", AUTHORITY_NAME)):
        contact = etree.SubElement(kopf, q + name)
        etree.SubElement(etree.SubElement(contact, q + "Institution"), q + "Name").text = who
    return kopf


def appraisal_message(
    process_id: uuid.UUID, decisions: dict[uuid.UUID, str], version: str = "3.0.0"
) -> bytes:
    ns = namespace(version)
    q = f"{{{ns}}}"
    root = etree.Element(q + "Aussonderung.Bewertungsverzeichnis.0502", nsmap={"xdomea": ns})
    kopf = _archive_head(root, ns, process_id, "0502")
    etree.SubElement(kopf, q + "Empfangsbestaetigung").text = "true"
    for object_id, code in decisions.items():
        node = etree.SubElement(root, q + "BewertetesObjekt")
        etree.SubElement(node, q + "ID").text = str(object_id)
        art = etree.SubElement(
            etree.SubElement(node, q + "Aussonderungsart"), q + "Aussonderungsart"
        )
        etree.SubElement(art, "code").text = code
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def import_confirmation(
    process_id: uuid.UUID,
    outcomes: dict[uuid.UUID, str | None],
    version: str = "3.0.0",
) -> bytes:
    """`outcomes`: object id → archive id (imported) or None (failed)."""
    ns = namespace(version)
    q = f"{{{ns}}}"
    root = etree.Element(
        q + "Aussonderung.AussonderungImportBestaetigen.0506", nsmap={"xdomea": ns}
    )
    _archive_head(root, ns, process_id, "0506")
    for object_id, archive_id in outcomes.items():
        node = etree.SubElement(root, q + "AusgesondertesSGO")
        etree.SubElement(node, q + "IDSGO").text = str(object_id)
        etree.SubElement(node, q + "Erfolgreich").text = "true" if archive_id else "false"
        if archive_id:
            etree.SubElement(node, q + "Archivkennung").text = archive_id
        else:
            etree.SubElement(node, q + "Fehlermeldung").text = "Primärdokument nicht lesbar"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
