"""Reading xdomea 3.x Aussonderung messages: the archive's answers (0502, 0506) and the
object lists of 0501/0503 (ours or another system's), by namespace and local names."""

from __future__ import annotations

import uuid
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from lxml import etree

from archive.errors import ArchiveError
from archive.schema import SchemaCheck, version_of


@dataclass(frozen=True)
class MessageHead:
    process_id: uuid.UUID
    code: str
    created_at: str
    sender: str | None
    receiver: str | None
    flags: dict[str, bool]


@dataclass(frozen=True)
class History:
    actor: str
    at: str
    action: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None


@dataclass(frozen=True)
class FormatRef:
    code: str
    list_version: str | None
    version: str
    filename: str
    original_name: str | None


@dataclass(frozen=True)
class VersionRef:
    number: str
    formats: list[FormatRef]


@dataclass(frozen=True)
class DokumentRef:
    id: uuid.UUID
    title: str | None
    kennzeichen: str | None
    kind: str | None
    received_on: str | None
    history: list[History]
    versions: list[VersionRef]


@dataclass(frozen=True)
class Disposal:
    code: str | None
    proposal: str | None
    retention_years: int | None
    unlimited: bool
    retention_end: str | None


@dataclass(frozen=True)
class VorgangRef:
    id: uuid.UUID
    title: str | None
    kennzeichen: str | None
    disposal: Disposal | None
    closed: bool
    period: tuple[str | None, str | None]
    history: list[History]
    documents: list[DokumentRef]


@dataclass(frozen=True)
class AkteRef:
    id: uuid.UUID
    title: str | None
    kennzeichen: str | None
    unit_kennzeichen: str | None
    unit_title: str | None
    disposal: Disposal | None
    period: tuple[str | None, str | None]
    history: list[History]
    vorgaenge: list[VorgangRef]
    documents: list[DokumentRef]


@dataclass(frozen=True)
class ObjectList:
    """A 0501 or 0503: its head and the Schriftgutobjekte it carries."""

    version: str
    head: MessageHead
    akten: list[AkteRef] = field(default_factory=list)
    vorgaenge: list[VorgangRef] = field(default_factory=list)
    documents: list[DokumentRef] = field(default_factory=list)

    def filenames(self) -> list[str]:
        docs = list(self.documents)
        for vorgang in self.vorgaenge:
            docs.extend(vorgang.documents)
        for akte in self.akten:
            docs.extend(akte.documents)
            for vorgang in akte.vorgaenge:
                docs.extend(vorgang.documents)
        return [f.filename for d in docs for v in d.versions for f in v.formats]


@dataclass(frozen=True)
class Appraisal:
    """0502: the archive's decision per offered object."""

    version: str
    head: MessageHead
    decisions: dict[uuid.UUID, str]


@dataclass(frozen=True)
class ImportOutcome:
    object_id: uuid.UUID
    success: bool
    archive_id: str | None
    errors: list[str]


@dataclass(frozen=True)
class ImportConfirmation:
    """0506: per object whether the archive imported it, and under which reference."""

    version: str
    head: MessageHead
    outcomes: list[ImportOutcome]


def read_message_bytes(path: Path) -> bytes:
    """A message file as received: the XML itself or its `{ProzessID}_{type}.zip` container."""
    data = path.read_bytes()
    if not zipfile.is_zipfile(BytesIO(data)):
        return data
    with zipfile.ZipFile(BytesIO(data)) as archive:
        messages = [n for n in archive.namelist() if n.endswith(".xml") and "Aussonderung." in n]
        if len(messages) != 1:
            raise ArchiveError(
                f"{path.name}: expected one xdomea message in the ZIP, found {messages}"
            )
        return archive.read(messages[0])


class _Reader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.ns = etree.QName(root).namespace or ""
        self.version = version_of(self.ns)

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def find(self, node: etree._Element, path: str) -> etree._Element | None:
        return node.find("/".join(self.q(p) for p in path.split("/")))

    def text(self, node: etree._Element, path: str) -> str | None:
        found = self.find(node, path)
        return None if found is None else (found.text or "").strip()

    def all(self, node: etree._Element, name: str) -> list[etree._Element]:
        return list(node.iterchildren(self.q(name)))

    def code(self, node: etree._Element | None) -> str | None:
        if node is None:
            return None
        found = node.find("code")
        return None if found is None else (found.text or "").strip()

    def _list_version(self, node: etree._Element | None) -> str | None:
        return None if node is None else node.get("listVersionID")

    def uuid(self, node: etree._Element, path: str) -> uuid.UUID:
        value = self.text(node, path)
        try:
            return uuid.UUID(value or "")
        except ValueError:
            raise ArchiveError(f"{path} {value!r} is not a UUID") from None

    def flag(self, node: etree._Element, name: str) -> bool | None:
        value = self.text(node, name)
        return None if value is None else value in ("1", "true")

    def head(self) -> MessageHead:
        kopf = self.find(self.root, "Kopf")
        if kopf is None:
            raise ArchiveError("message has no Kopf")
        flags = {}
        for name in ("Importbestaetigung", "RueckmeldungArchivkennung", "Empfangsbestaetigung"):
            value = self.flag(kopf, name)
            if value is not None:
                flags[name] = value
        return MessageHead(
            process_id=self.uuid(kopf, "ProzessID"),
            code=self.code(self.find(kopf, "Nachrichtentyp")) or "",
            created_at=self.text(kopf, "Erstellungszeitpunkt") or "",
            sender=self.text(kopf, "Absender/Institution/Name"),
            receiver=self.text(kopf, "Empfaenger/Institution/Name"),
            flags=flags,
        )

    def history(self, node: etree._Element) -> list[History]:
        return [
            History(
                actor=self.text(entry, "Akteur") or "",
                at=self.text(entry, "DatumUhrzeit") or "",
                action=self.text(entry, "Aktion") or "",
                field=self.text(entry, "MetadatumName"),
                old_value=self.text(entry, "MetadatumAlterWert"),
                new_value=self.text(entry, "MetadatumNeuerWert"),
            )
            for entry in self.all(node, "HistorienProtokollInformation")
        ]

    def disposal(self, node: etree._Element) -> Disposal | None:
        meta = self.find(node, "ArchivspezifischeMetadaten")
        if meta is None:
            return None
        years = self.text(meta, "Aufbewahrungsdauer/AnzahlJahre")
        return Disposal(
            code=self.code(self.find(meta, "Aussonderungsart/Aussonderungsart")),
            proposal=self.code(self.find(meta, "Bewertungsvorschlag")),
            retention_years=int(years) if years else None,
            unlimited=self.flag(meta, "Aufbewahrungsdauer/Unbefristet") or False,
            retention_end=self.text(meta, "Aufbewahrungsende"),
        )

    def period(self, node: etree._Element) -> tuple[str | None, str | None]:
        return self.text(node, "Laufzeit/Beginn"), self.text(node, "Laufzeit/Ende")

    def dokument(self, node: etree._Element) -> DokumentRef:
        versions = []
        for version in self.all(node, "Version"):
            formats = [
                FormatRef(
                    code=self.code(self.find(fmt, "Name")) or "",
                    list_version=self._list_version(self.find(fmt, "Name")),
                    version=self.text(fmt, "Version") or "",
                    filename=self.text(fmt, "Primaerdokument/Dateiname") or "",
                    original_name=self.text(fmt, "Primaerdokument/DateinameOriginal"),
                )
                for fmt in self.all(version, "Format")
            ]
            versions.append(VersionRef(number=self.text(version, "Nummer") or "", formats=formats))
        return DokumentRef(
            id=self.uuid(node, "Identifikation/ID"),
            title=self.text(node, "AllgemeineMetadaten/Betreff"),
            kennzeichen=self.text(node, "AllgemeineMetadaten/Kennzeichen"),
            kind=self.text(node, "Typ"),
            received_on=self.text(node, "Posteingangsdatum"),
            history=self.history(node),
            versions=versions,
        )

    def vorgang(self, node: etree._Element) -> VorgangRef:
        documents = [self.dokument(d) for d in self.all(node, "Dokument")]
        for sub in self.all(node, "Teilvorgang"):
            documents.extend(self.vorgang(sub).documents)
        return VorgangRef(
            id=self.uuid(node, "Identifikation/ID"),
            title=self.text(node, "AllgemeineMetadaten/Betreff"),
            kennzeichen=self.text(node, "AllgemeineMetadaten/Kennzeichen"),
            disposal=self.disposal(node),
            closed=self.flag(node, "ZdA") or False,
            period=self.period(node),
            history=self.history(node),
            documents=documents,
        )

    def akte(self, node: etree._Element) -> AkteRef:
        content = self.find(node, "Akteninhalt")
        vorgaenge: list[VorgangRef] = []
        documents: list[DokumentRef] = []
        if content is not None:
            vorgaenge = [self.vorgang(v) for v in self.all(content, "Vorgang")]
            documents = [self.dokument(d) for d in self.all(content, "Dokument")]
            for sub in self.all(content, "Teilakte"):
                part = self.akte(sub)
                vorgaenge.extend(part.vorgaenge)
                documents.extend(part.documents)
        return AkteRef(
            id=self.uuid(node, "Identifikation/ID"),
            title=self.text(node, "AllgemeineMetadaten/Betreff"),
            kennzeichen=self.text(node, "AllgemeineMetadaten/Kennzeichen"),
            unit_kennzeichen=self.text(node, "AllgemeineMetadaten/Aktenplaneinheit/Kennzeichen"),
            unit_title=self.text(node, "AllgemeineMetadaten/Aktenplaneinheit/Inhaltsangabe"),
            disposal=self.disposal(node),
            period=self.period(node),
            history=self.history(node),
            vorgaenge=vorgaenge,
            documents=documents,
        )


def _parse(data: bytes, expected: set[str], schema: SchemaCheck | None) -> _Reader:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ArchiveError(f"not well-formed XML: {exc}") from None
    reader = _Reader(root)
    local = etree.QName(root).localname
    if local not in expected:
        raise ArchiveError(f"expected {' or '.join(sorted(expected))}, got {local}")
    if schema is not None:
        schema.validate(root, reader.version, local)
    return reader


def read_object_list(data: bytes, schema: SchemaCheck | None = None) -> ObjectList:
    reader = _parse(
        data, {"Aussonderung.Anbieteverzeichnis.0501", "Aussonderung.Aussonderung.0503"}, schema
    )
    result = ObjectList(version=reader.version, head=reader.head())
    for sgo in reader.all(reader.root, "Schriftgutobjekt"):
        for child in sgo:
            local = etree.QName(child).localname
            if local == "Akte":
                result.akten.append(reader.akte(child))
            elif local == "Vorgang":
                result.vorgaenge.append(reader.vorgang(child))
            elif local == "Dokument":
                result.documents.append(reader.dokument(child))
    return result


def read_appraisal(data: bytes, schema: SchemaCheck | None = None) -> Appraisal:
    reader = _parse(data, {"Aussonderung.Bewertungsverzeichnis.0502"}, schema)
    decisions: dict[uuid.UUID, str] = {}
    for node in reader.all(reader.root, "BewertetesObjekt"):
        object_id = reader.uuid(node, "ID")
        code = reader.code(reader.find(node, "Aussonderungsart/Aussonderungsart"))
        if code is None:
            configurable = reader.text(node, "Aussonderungsart/AussonderungsartKonfigurierbar")
            raise ArchiveError(f"{object_id}: appraisal {configurable!r} is not A or V")
        if code not in ("A", "V"):
            raise ArchiveError(f"{object_id}: appraisal must be A or V, got {code!r}")
        decisions[object_id] = code
    return Appraisal(version=reader.version, head=reader.head(), decisions=decisions)


def read_import_confirmation(data: bytes, schema: SchemaCheck | None = None) -> ImportConfirmation:
    reader = _parse(data, {"Aussonderung.AussonderungImportBestaetigen.0506"}, schema)
    outcomes = []
    for node in reader.all(reader.root, "AusgesondertesSGO"):
        errors = [(e.text or "").strip() for e in reader.all(node, "Fehlermeldung")]
        errors += [reader.code(e) or "" for e in reader.all(node, "FehlermeldungCode")]
        outcomes.append(
            ImportOutcome(
                object_id=reader.uuid(node, "IDSGO"),
                success=reader.flag(node, "Erfolgreich") or False,
                archive_id=reader.text(node, "Archivkennung") or None,
                errors=[e for e in errors if e],
            )
        )
    return ImportConfirmation(version=reader.version, head=reader.head(), outcomes=outcomes)
