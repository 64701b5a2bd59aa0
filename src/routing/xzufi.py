"""Streaming reader for XZuFi 2.2 directory exports (PVOG, Amt24): what routing needs, no more.

No public XSD is at hand, so the reader goes by namespace and local names and reports every object
that does not fit instead of guessing. It reads with `iterparse` and drops each object once read,
so a whole Land's export fits in little memory. Hardened: a document with a DTD is refused,
entities are never expanded, nothing is fetched from the network.

Read from `schreibe` (or directly below the root):

- `leistung`: `id`, `referenzLeiKa/code` (exactly one), name = `modulText[leikaTextmodul/code='02']
  /inhalt`.
- `organisationseinheit`: `id`, `name/name`, `anschrift` (`strasse`, `hausnummer`, `postleitzahl`,
  `ort`, `verwaltungspolitischeKodierung/regionalschluessel/code`), contact from `kommunikation/
  kennung` (an address with `@` is e-mail, `http(s)://` a URL, the rest a phone number) and
  `internetadresse/uri`, and `zustaendigkeit*` with `leistungID` (a leistung's id or a LeiKa URN),
  `gebietID*` (ARS URN) and `rolle/{code,name}`.
- `onlinedienst`, `spezialisierung`: counted and skipped.

Extension (our namespace `urn:eantrag:routing:1.0`, anywhere in the document): postcode areas as
`<plz:postleitzahlGebiet postleitzahl="01796" ars="146280000000" ort="Pirna"/>`, one element per
municipality a postcode reaches into. XZuFi has no place for them; readers of plain XZuFi ignore
the foreign namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from lxml import etree

from routing.directory import (
    AuthorityData,
    DirectoryBatch,
    InvalidKey,
    PostcodeData,
    area_key,
    authority_id,
    leika_key,
    postcode,
)
from routing.errors import ImportFailed

XZUFI_NS = "http://xoev.de/schemata/xzufi/2_2_0"
EXTENSION_NS = "urn:eantrag:routing:1.0"
NAME_TEXT_MODULE = "02"

_X = "{" + XZUFI_NS + "}"
LEISTUNG = _X + "leistung"
ORGANISATIONSEINHEIT = _X + "organisationseinheit"
SCHREIBE = _X + "schreibe"
SKIPPED = {_X + "onlinedienst": "onlinedienst", _X + "spezialisierung": "spezialisierung"}
POSTCODE_AREA = "{" + EXTENSION_NS + "}postleitzahlGebiet"


@dataclass
class ServiceRef:
    """A `zustaendigkeit` whose `leistungID` names a leistung, resolved once all are read."""

    authority_id: str
    ref: str
    area_keys: list[str]
    role: str | None
    line: int | None


@dataclass
class XzufiBatch(DirectoryBatch):
    service_refs: list[ServiceRef] = field(default_factory=list)


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _child(element: etree._Element, *path: str) -> etree._Element | None:
    """Follow local names; XZuFi qualifies its elements, but `code`/`name` of codes are not."""
    current: etree._Element | None = element
    for name in path:
        if current is None:
            return None
        found = current.find(_X + name)
        current = found if found is not None else current.find(name)
    return current


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return list(element.iterchildren(_X + name, name))


def read_xzufi(source: str | Path | IO[bytes]) -> XzufiBatch:
    """Parse a whole file; raises ImportFailed when the document as a whole is unusable."""
    batch = XzufiBatch()
    context = etree.iterparse(
        str(source) if isinstance(source, Path) else source,
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    try:
        for event, element in context:
            if root is None:
                root = element
                _check_root(element)
                continue
            if event != "end":
                continue
            _handle(element, root, batch)
    except etree.XMLSyntaxError as exc:
        raise ImportFailed(f"not well-formed XML: {exc.msg}", exc.lineno) from exc
    if root is None:
        raise ImportFailed("empty document")
    _resolve_service_refs(batch)
    return batch


def _check_root(root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ImportFailed("a DOCTYPE/DTD is not allowed in directory files", root.sourceline)
    qname = etree.QName(root)
    if qname.namespace != XZUFI_NS:
        raise ImportFailed(
            f"the root element {qname.localname!r} is not in the XZuFi 2.2 namespace {XZUFI_NS}",
            root.sourceline,
        )
    version = root.get("xzufiVersion")
    if version is not None and not version.startswith("2.2"):
        raise ImportFailed(f"xzufiVersion {version!r} is not 2.2.x", root.sourceline)


def _handle(element: etree._Element, root: etree._Element, batch: XzufiBatch) -> None:
    parent = element.getparent()
    top_level = parent is not None and (parent is root or parent.tag == SCHREIBE)
    if element.tag == POSTCODE_AREA:
        _read_postcode(element, batch)
    elif top_level and element.tag == LEISTUNG:
        _read_leistung(element, batch)
        element.clear()
    elif top_level and element.tag == ORGANISATIONSEINHEIT:
        _read_organisationseinheit(element, batch)
        element.clear()
    elif top_level and element.tag in SKIPPED:
        batch.skip(SKIPPED[element.tag])
        element.clear()
    if parent is root:
        # Everything below the root has been read: drop it to keep memory flat.
        element.clear()
        root.remove(element)


def _read_leistung(element: etree._Element, batch: XzufiBatch) -> None:
    line = element.sourceline
    xzufi_id = _text(_child(element, "id"))
    ref = xzufi_id or "(leistung without id)"
    references = _children(element, "referenzLeiKa")
    codes = [c for c in (_text(_child(r, "code")) for r in references) if c]
    if len(codes) != 1:
        reason = (
            "no referenzLeiKa/code"
            if not codes
            else f"{len(codes)} referenzLeiKa codes; routing needs exactly one"
        )
        batch.reject("leistung", ref, reason, line)
        return
    try:
        key = leika_key(codes[0])
    except InvalidKey as exc:
        batch.reject("leistung", ref, str(exc), line)
        return
    name = _service_name(element)
    if name is None:
        batch.reject(
            "leistung",
            ref,
            f"no name (modulText with leikaTextmodul/code {NAME_TEXT_MODULE})",
            line,
        )
        return
    batch.services[key] = name
    if xzufi_id:
        batch.service_ids[xzufi_id] = key


def _service_name(element: etree._Element) -> str | None:
    for module in _children(element, "modulText"):
        if _text(_child(module, "leikaTextmodul", "code")) != NAME_TEXT_MODULE:
            continue
        contents = _children(module, "inhalt")
        german = [c for c in contents if c.get("languageCode", "de").startswith("de")]
        for content in german or contents:
            text = _text(content)
            if text:
                return " ".join(text.split())
    return None


def _read_organisationseinheit(element: etree._Element, batch: XzufiBatch) -> None:
    line = element.sourceline
    raw_id = _text(_child(element, "id"))
    if raw_id is None:
        batch.reject("organisationseinheit", "(without id)", "no id", line)
        return
    try:
        oe_id = authority_id(raw_id)
    except InvalidKey as exc:
        batch.reject("organisationseinheit", raw_id, str(exc), line)
        return
    name = _text(_child(element, "name", "name"))
    if name is None:
        batch.reject("organisationseinheit", oe_id, "no name/name", line)
        return
    if oe_id in batch.authorities:
        batch.reject(
            "organisationseinheit",
            oe_id,
            "the id occurs twice in this file; the first one was kept",
            line,
        )
        return
    authority = _authority(element, oe_id, " ".join(name.split()), batch)
    batch.authorities[oe_id] = authority
    for number, zustaendigkeit in enumerate(_children(element, "zustaendigkeit"), start=1):
        _read_zustaendigkeit(zustaendigkeit, oe_id, number, batch)


def _authority(element: etree._Element, oe_id: str, name: str, batch: XzufiBatch) -> AuthorityData:
    addresses = _children(element, "anschrift")
    coded = [a for a in addresses if _child(a, "verwaltungspolitischeKodierung") is not None]
    address = (coded or addresses or [None])[0]
    street = house_number = plz = city = ars = None
    if address is not None:
        street = _text(_child(address, "strasse"))
        house_number = _text(_child(address, "hausnummer"))
        plz = _text(_child(address, "postleitzahl"))
        city = _text(_child(address, "ort"))
        raw_ars = _text(
            _child(address, "verwaltungspolitischeKodierung", "regionalschluessel", "code")
        )
        if raw_ars is not None:
            if len(raw_ars) == 12 and raw_ars.isdigit():
                ars = raw_ars
            else:
                batch.reject(
                    "anschrift",
                    oe_id,
                    f"regionalschluessel {raw_ars!r} is not a 12-digit ARS; ignored",
                    address.sourceline,
                )
    phone = email = url = None
    for channel in _children(element, "kommunikation"):
        value = _text(_child(channel, "kennung"))
        if value is None:
            continue
        if "@" in value and email is None:
            email = value.removeprefix("mailto:")
        elif value.startswith(("http://", "https://")) and url is None:
            url = value
        elif phone is None and "@" not in value:
            phone = value
    for address_element in _children(element, "internetadresse"):
        uri = _text(_child(address_element, "uri"))
        if uri and url is None:
            url = uri
    return AuthorityData(
        id=oe_id,
        name=name,
        street=street,
        house_number=house_number,
        postcode=plz,
        city=city,
        ars=ars,
        phone=phone,
        email=email,
        url=url,
    )


def _read_zustaendigkeit(
    element: etree._Element, oe_id: str, number: int, batch: XzufiBatch
) -> None:
    line = element.sourceline
    ref = f"{oe_id} zustaendigkeit #{number}"
    service = _text(_child(element, "leistungID"))
    if service is None:
        batch.reject("zustaendigkeit", ref, "no leistungID", line)
        return
    areas = []
    for gebiet in _children(element, "gebietID"):
        value = _text(gebiet) or ""
        try:
            areas.append(area_key(value))
        except InvalidKey as exc:
            batch.reject(
                "zustaendigkeit",
                f"{ref} gebietID {value!r}",
                f"not an ARS URN: {exc}",
                gebiet.sourceline,
            )
    if not areas:
        batch.reject("zustaendigkeit", ref, "no usable gebietID (ARS URN)", line)
        return
    role_code = _text(_child(element, "rolle", "code"))
    role_name = _text(_child(element, "rolle", "name"))
    role = " ".join(p for p in (role_code, role_name) if p) or None
    batch.service_refs.append(ServiceRef(oe_id, service, areas, role, line))


def _read_postcode(element: etree._Element, batch: XzufiBatch) -> None:
    raw_plz = element.get("postleitzahl", "")
    raw_ars = element.get("ars", "")
    ref = f"{raw_plz} → {raw_ars}"
    try:
        plz = postcode(raw_plz)
        ars = area_key(raw_ars)
    except InvalidKey as exc:
        batch.reject("postleitzahlGebiet", ref, str(exc), element.sourceline)
        return
    if len(ars) != 12:
        batch.reject(
            "postleitzahlGebiet", ref, "a postcode maps to 12-digit ARS only", element.sourceline
        )
        return
    batch.postcodes.append(PostcodeData(plz, ars, element.get("ort") or None))


def _resolve_service_refs(batch: XzufiBatch) -> None:
    """Responsibilities naming a leistung of this file or a LeiKa URN; others stay unresolved."""
    unresolved = []
    for ref in batch.service_refs:
        key = batch.service_ids.get(ref.ref)
        if key is None:
            try:
                key = leika_key(ref.ref)
            except InvalidKey:
                unresolved.append(ref)
                continue
        batch.add_responsibilities(ref.authority_id, key, ref.area_keys, ref.role)
    batch.service_refs = unresolved
