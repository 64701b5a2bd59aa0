"""Writing xdomea 3.x Aussonderung messages (0501, 0503, 0505) from the archive's dataclasses.

3.0.0 and 3.1.0 differ only in the namespace for these messages. The prefix must literally be
`xdomea`; code children (`code`, `name`) are unqualified.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from archive.codelists import (
    AUSSONDERUNGSART_URI,
    BEWERTUNGSVORSCHLAG_URI,
    CODELIST_VERSION_1,
    DATEIFORMAT_URI,
    MESSAGE_NAMES,
    NACHRICHTENTYP_URI,
    NACHRICHTENTYP_VERSION,
    FormatCodes,
    extension,
)
from archive.retention import LOCAL_TIME, retention_end
from archive.schema import namespace
from archive.sources import (
    ArchivableAkte,
    ArchivableDokument,
    ArchivableVersion,
    ArchivableVorgang,
    AuditEntry,
    FilePlanUnit,
)
from eantrag import __version__

VORGANGSDATEN_NS = "urn:eantrag:archiv:vorgangsdaten:1.0"
_GENERATED = uuid.UUID("6f0e4f8e-6c55-4a4e-9a51-2f1f5d0c7a31")


@dataclass(frozen=True)
class Party:
    """Sender or receiver of a message (xdomea Kontakt): an institution and optionally its unit."""

    name: str
    unit: str | None = None


@dataclass(frozen=True)
class Head:
    process_id: uuid.UUID
    code: str
    created_at: datetime
    sender: Party
    receiver: Party


def message_name(code: str) -> str:
    return f"{MESSAGE_NAMES[code]}.{code}"


def message_filename(process_id: uuid.UUID, code: str, suffix: str) -> str:
    """`{ProzessID}_{Nachrichtentyp}.{xml|zip}`, the names the xdomea specification asks for."""
    return f"{process_id}_{message_name(code)}.{suffix}"


def primary_filename(version: ArchivableVersion) -> str:
    """The file's own UUID plus its extension (the XSD's `stringDateinameType` pattern)."""
    ext = extension(version.filename)
    return f"{version.id}.{ext}" if ext else str(version.id)


def xml_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def xml_date(value: date | datetime) -> str:
    """A calendar date as the authority sees it (German time)."""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TIME).date()
    return value.isoformat()


class _Writer:
    def __init__(self, version: str) -> None:
        self.ns = namespace(version)
        self.q = f"{{{self.ns}}}"

    def root(self, code: str) -> etree._Element:
        return etree.Element(self.q + message_name(code), nsmap={"xdomea": self.ns})

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        node = etree.SubElement(parent, self.q + name)
        if text is not None:
            node.text = text
        return node

    def code(
        self,
        parent: etree._Element,
        name: str,
        code: str,
        *,
        list_uri: str,
        list_version: str,
        label: str | None = None,
    ) -> etree._Element:
        node = self.el(parent, name)
        node.set("listURI", list_uri)
        node.set("listVersionID", list_version)
        etree.SubElement(node, "code").text = code
        if label is not None:
            etree.SubElement(node, "name").text = label
        return node

    def head(self, parent: etree._Element, head: Head) -> etree._Element:
        kopf = self.el(parent, "Kopf")
        self.el(kopf, "ProzessID", str(head.process_id))
        self.code(
            kopf,
            "Nachrichtentyp",
            head.code,
            list_uri=NACHRICHTENTYP_URI,
            list_version=NACHRICHTENTYP_VERSION,
            label=MESSAGE_NAMES[head.code],
        )
        self.el(kopf, "Erstellungszeitpunkt", xml_datetime(head.created_at))
        for name, party in (("Absender", head.sender), ("Empfaenger", head.receiver)):
            contact = self.el(kopf, name)
            self.el(self.el(contact, "Institution"), "Name", party.name)
            if party.unit:
                self.el(self.el(contact, "Organisationseinheit"), "Name", party.unit)
        system = self.el(kopf, "SendendesSystem")
        self.el(system, "Produktname", "eantrag")
        self.el(system, "Version", __version__)
        return kopf

    def history(self, parent: etree._Element, entries: tuple[AuditEntry, ...]) -> None:
        for entry in entries:
            node = self.el(parent, "HistorienProtokollInformation")
            if entry.field is not None:
                self.el(node, "MetadatumName", entry.field)
            if entry.old_value is not None:
                self.el(node, "MetadatumAlterWert", entry.old_value)
            if entry.new_value is not None:
                self.el(node, "MetadatumNeuerWert", entry.new_value)
            self.el(node, "Akteur", entry.actor)
            self.el(node, "DatumUhrzeit", xml_datetime(entry.at))
            if entry.note is not None:
                self.el(node, "Bemerkung", entry.note)
            self.el(node, "Aktion", entry.action)

    def disposal(
        self, parent: etree._Element, unit: FilePlanUnit, closed_at: datetime | None
    ) -> None:
        meta = self.el(parent, "ArchivspezifischeMetadaten")
        duration = self.el(meta, "Aufbewahrungsdauer")
        if unit.retention.years is None:
            self.el(duration, "Unbefristet", "1")
        else:
            self.el(duration, "AnzahlJahre", str(unit.retention.years))
        self.code(
            self.el(meta, "Aussonderungsart"),
            "Aussonderungsart",
            unit.disposal,
            list_uri=AUSSONDERUNGSART_URI,
            list_version=CODELIST_VERSION_1,
        )
        if unit.disposal in ("A", "V"):
            self.code(
                meta,
                "Bewertungsvorschlag",
                unit.disposal,
                list_uri=BEWERTUNGSVORSCHLAG_URI,
                list_version=CODELIST_VERSION_1,
            )
        if closed_at is not None:
            end = retention_end(closed_at, unit.retention)
            if end is not None:
                self.el(meta, "Aufbewahrungsende", xml_date(end))

    def period(self, parent: etree._Element, start: datetime, end: datetime | None) -> None:
        node = self.el(parent, "Laufzeit")
        self.el(node, "Beginn", xml_date(start))
        if end is not None:
            self.el(node, "Ende", xml_date(end))

    def akte(
        self, parent: etree._Element, akte: ArchivableAkte, formats: FormatCodes | None
    ) -> None:
        """One Akte; `formats=None` writes metadata only (no versions), as the offer list does."""
        node = self.el(self.el(parent, "Schriftgutobjekt"), "Akte")
        self.el(self.el(node, "Identifikation"), "ID", str(akte.id))
        meta = self.el(node, "AllgemeineMetadaten")
        self.el(meta, "Betreff", akte.title)
        self.el(meta, "Kennzeichen", akte.aktenzeichen)
        unit = self.el(meta, "Aktenplaneinheit")
        self.el(unit, "Kennzeichen", akte.unit.kennzeichen)
        self.el(unit, "Inhaltsangabe", akte.unit.title)
        self.disposal(node, akte.unit, akte.closed_at)
        self.period(node, akte.opened_at, akte.closed_at)
        self.history(node, akte.audit)
        if akte.vorgaenge:
            content = self.el(node, "Akteninhalt")
            for vorgang in akte.vorgaenge:
                self.vorgang(content, vorgang, akte, formats)
        self.el(node, "ZdA", "1")
        self.el(node, "ZdADatum", xml_date(akte.closed_at))

    def vorgang(
        self,
        parent: etree._Element,
        vorgang: ArchivableVorgang,
        akte: ArchivableAkte,
        formats: FormatCodes | None,
    ) -> None:
        node = self.el(parent, "Vorgang")
        self.el(self.el(node, "Identifikation"), "ID", str(vorgang.id))
        meta = self.el(node, "AllgemeineMetadaten")
        self.el(meta, "Betreff", vorgang.title)
        self.el(meta, "Kennzeichen", vorgang.reference)
        self.el(node, "Aktenbetreff", akte.title)
        if vorgang.closed_at is not None:
            self.el(node, "ZdA", "1")
            self.el(node, "ZdADatum", xml_date(vorgang.closed_at))
        self.period(node, vorgang.opened_at, vorgang.closed_at)
        self.history(node, vorgang.audit)
        for number, document in enumerate(vorgang.documents, start=1):
            self.dokument(node, document, number, formats)

    def dokument(
        self,
        parent: etree._Element,
        document: ArchivableDokument,
        number: int,
        formats: FormatCodes | None,
    ) -> None:
        node = self.el(parent, "Dokument")
        ident = self.el(node, "Identifikation")
        self.el(ident, "ID", str(document.id))
        self.el(ident, "NummerImUebergeordnetenContainer", str(number))
        self.el(self.el(node, "AllgemeineMetadaten"), "Betreff", document.title)
        if document.received_at is not None:
            self.el(node, "Posteingangsdatum", xml_date(document.received_at))
        self.el(node, "Typ", document.kind)
        self.history(node, document.audit)
        if formats is None:
            return
        for version in document.versions:
            element = self.el(node, "Version")
            self.el(element, "Nummer", str(version.number))
            fmt = self.el(element, "Format")
            self.code(
                fmt,
                "Name",
                formats.code(version.filename, version.conformance),
                list_uri=DATEIFORMAT_URI,
                list_version=formats.list_version,
            )
            self.el(fmt, "Version", "")
            primary = self.el(fmt, "Primaerdokument")
            self.el(primary, "Dateiname", primary_filename(version))
            self.el(primary, "DateinameOriginal", version.filename)
            self.el(primary, "DatumUhrzeit", xml_datetime(version.created_at))


def offer_list(version: str, head: Head, akten: list[ArchivableAkte]) -> etree._Element:
    """0501 Anbieteverzeichnis: metadata only, with the proposed disposal code per object."""
    writer = _Writer(version)
    root = writer.root("0501")
    kopf = writer.head(root, head)
    writer.el(kopf, "Empfangsbestaetigung", "1")
    for akte in akten:
        writer.akte(root, akte, None)
    return root


def transfer(
    version: str, head: Head, akten: list[ArchivableAkte], formats: FormatCodes
) -> etree._Element:
    """0503 Aussonderung: metadata plus a Primaerdokument entry for every stored file."""
    writer = _Writer(version)
    root = writer.root("0503")
    kopf = writer.head(root, head)
    writer.el(kopf, "Importbestaetigung", "1")
    writer.el(kopf, "RueckmeldungArchivkennung", "1")
    writer.el(kopf, "Empfangsbestaetigung", "1")
    for akte in akten:
        writer.akte(root, akte, formats)
    return root


def appraisal_receipt(version: str, head: Head) -> etree._Element:
    """0505: the authority confirms it received the archive's appraisal (0502)."""
    writer = _Writer(version)
    root = writer.root("0505")
    writer.head(root, head)
    return root


def serialize(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


# --- the Vorgang's structured data as an XML document -----------------------------------------


def structured_data_xml(vorgang_id: uuid.UUID, data: Mapping[str, Any]) -> bytes:
    """The structured data, losslessly: objects as `gruppe`, arrays as `liste`, scalars as `feld`
    with their JSON type, names in attributes (JSON keys need not be XML names)."""
    q = f"{{{VORGANGSDATEN_NS}}}"
    root = etree.Element(q + "vorgangsdaten", nsmap={None: VORGANGSDATEN_NS})
    root.set("vorgang", str(vorgang_id))

    def add(parent: etree._Element, name: str | None, value: Any) -> None:
        if isinstance(value, Mapping):
            node = etree.SubElement(parent, q + "gruppe")
            for key, item in value.items():
                add(node, str(key), item)
        elif isinstance(value, list | tuple):
            node = etree.SubElement(parent, q + "liste")
            for item in value:
                add(node, None, item)
        else:
            node = etree.SubElement(parent, q + "feld")
            if value is None:
                node.set("typ", "null")
            elif isinstance(value, bool):
                node.set("typ", "boolean")
                node.text = "true" if value else "false"
            elif isinstance(value, int | float):
                node.set("typ", "number")
                node.text = repr(value)
            else:
                node.set("typ", "string")
                node.text = str(value)
        if name is not None:
            node.set("name", name)

    for key, item in data.items():
        add(root, str(key), item)
    data_bytes: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return data_bytes


def structured_data_document(
    vorgang: ArchivableVorgang, created_at: datetime
) -> tuple[ArchivableDokument, bytes] | None:
    """A generated Dokument holding the Vorgang's structured data; its ids are derived from the
    Vorgang's, so exporting the same Vorgang twice names the same file."""
    if vorgang.structured_data is None:
        return None
    content = structured_data_xml(vorgang.id, vorgang.structured_data)
    version = ArchivableVersion(
        id=uuid.uuid5(_GENERATED, f"{vorgang.id}/vorgangsdaten/1"),
        number=1,
        filename="vorgangsdaten.xml",
        media_type="application/xml",
        blob_key="",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        created_at=created_at,
    )
    document = ArchivableDokument(
        id=uuid.uuid5(_GENERATED, f"{vorgang.id}/vorgangsdaten"),
        title="Strukturierte Daten des Vorgangs",
        kind="Strukturierte Daten",
        received_at=None,
        versions=(version,),
    )
    return document, content
