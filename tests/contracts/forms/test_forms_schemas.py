"""The XSDs compile, stay self-contained, and lxml, xmlschema and xmllint agree on them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import xmlschema
from lxml import etree
from pydantic import TypeAdapter

from contracts.forms import (
    FORMS,
    SCHEMA_DIR,
    FormSpec,
    codelists,
    hundeanmeldung,
    simpletypes,
    wohngeld,
    xmlmodel,
)
from intake.xsd import validation_xsd

XS = "http://www.w3.org/2001/XMLSchema"
NS = {
    "xs": XS,
    "basis": "urn:eantrag:xoev:basis:1.0",
    "hundesteuer": "urn:eantrag:xoev:hundesteuer:1.0",
    "wohngeld": "urn:eantrag:xoev:wohngeld:1.0",
}
ALL_XSD = sorted(SCHEMA_DIR.rglob("*.xsd"))
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
STEM = {"hundeanmeldung": "hundeanmeldung", "wohngeld-mietzuschuss": "wohngeld"}


def xmllint() -> str | None:
    """The xmllint binary; missing is a skip on a laptop and a failure under CI=true."""
    found = shutil.which("xmllint")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("xmllint is required in CI (apt-get install libxml2-utils)")
        pytest.skip("xmllint not installed; apt-get install libxml2-utils to run this check")
    return found


def xmllint_valid(xsd: Path, document: Path) -> tuple[bool, str]:
    result = subprocess.run(
        [xmllint(), "--noout", "--stream", "--schema", str(xsd), str(document)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0, result.stderr


def test_there_are_three_schemas() -> None:
    assert [path.relative_to(SCHEMA_DIR).as_posix() for path in ALL_XSD] == [
        "basis/1.0/basis.xsd",
        "hundesteuer/1.0/hundesteuer.xsd",
        "wohngeld/1.0/wohngeld.xsd",
    ]


@pytest.mark.parametrize("xsd", ALL_XSD, ids=lambda path: path.name)
def test_schema_compiles_in_lxml_and_xmlschema(xsd: Path) -> None:
    etree.XMLSchema(etree.parse(str(xsd)))
    xmlschema.XMLSchema(str(xsd))


@pytest.mark.parametrize("xsd", ALL_XSD, ids=lambda path: path.name)
def test_schema_is_self_contained(xsd: Path) -> None:
    tree = etree.parse(str(xsd))
    assert tree.docinfo.doctype == ""
    assert not tree.xpath(
        "//xs:include | //xs:redefine | //xs:any | //xs:anyAttribute", namespaces=NS
    )
    for location in tree.xpath("//xs:import/@schemaLocation", namespaces=NS):
        assert "://" not in location
        target = (xsd.parent / location).resolve()
        assert target.is_file() and SCHEMA_DIR in target.parents


def test_schemas_use_one_namespace_each_and_qualified_elements() -> None:
    for xsd in ALL_XSD:
        schema = etree.parse(str(xsd)).getroot()
        name = xsd.parent.parent.name
        assert schema.get("targetNamespace") == f"urn:eantrag:xoev:{name}:1.0"
        assert schema.get("elementFormDefault") == "qualified"


def test_form_roots_and_attributes(spec: FormSpec) -> None:
    schema = etree.parse(str(spec.xsd_path)).getroot()
    (root,) = schema.xpath(f"xs:element[@name='{spec.root}']", namespaces=NS)
    attributes = {a.get("name"): a.get("use") for a in root.iterfind(f".//{{{XS}}}attribute")}
    assert attributes == {"standard": "required", "version": "required"}
    assert root.find(f".//{{{XS}}}attributeGroup").get("ref") == "basis:Produktangaben"
    first = root.find(f"{{{XS}}}complexType/{{{XS}}}sequence/{{{XS}}}element")
    assert first.get("name") == "nachrichtenkopf.g2g"


def test_example_validates_with_lxml(spec: FormSpec, example_xml: Path, xml_schema) -> None:
    xml_schema.assertValid(etree.parse(str(example_xml)))


def test_example_validates_with_xmlschema(spec: FormSpec, example_xml: Path) -> None:
    xmlschema.XMLSchema(str(spec.xsd_path)).validate(str(example_xml))


def test_example_validates_with_xmllint_stream(spec: FormSpec, example_xml: Path) -> None:
    valid, errors = xmllint_valid(spec.xsd_path, example_xml)
    assert valid, errors


# --------------------------------------------------------------------------- all three refuse

Spoiler = Callable[[etree._Element], None]


def _set(xpath: str, text: str) -> Spoiler:
    def spoil(root: etree._Element) -> None:
        (element,) = root.xpath(xpath, namespaces=NS)
        element.text = text

    return spoil


def _attribute(xpath: str, name: str, value: str) -> Spoiler:
    def spoil(root: etree._Element) -> None:
        (element,) = root.xpath(xpath, namespaces=NS)
        element.set(name, value)

    return spoil


def _add_birth_date(root: etree._Element) -> None:
    (year,) = root.xpath("//hundesteuer:geburtsjahr", namespaces=NS)
    birth = etree.Element(f"{{{NS['hundesteuer']}}}geburtsdatum")
    birth.text = "2023-04-01"
    year.addprevious(birth)


def _drop(xpath: str) -> Spoiler:
    def spoil(root: etree._Element) -> None:
        for element in root.xpath(xpath, namespaces=NS):
            element.getparent().remove(element)

    return spoil


SPOILED = {
    "unknown breed": ("hundeanmeldung", _set("//hundesteuer:rasse/code", "wolf")),
    "other code list": (
        "hundeanmeldung",
        _attribute("//hundesteuer:rasse", "listURI", "urn:eantrag:codeliste:zeitraum"),
    ),
    "ars of 11 digits": ("hundeanmeldung", _set("//basis:ars", "14612000000")),
    "postcode with a letter": ("hundeanmeldung", _set("//basis:postleitzahl", "0106A")),
    "transponder of 14 digits": (
        "hundeanmeldung",
        _set("//hundesteuer:transpondernummer", "27609810012345"),
    ),
    "birth date and year": ("hundeanmeldung", _add_birth_date),
    "wrong standard": ("hundeanmeldung", _attribute("/*", "standard", "wohngeld")),
    "upper-case uuid": (
        "hundeanmeldung",
        _set("//basis:nachrichtenUUID", "1428F094-43BA-4D4D-AB65-128830994FA7"),
    ),
    "time without zone": (
        "hundeanmeldung",
        _set("//basis:erstellungszeitpunkt", "2026-10-05T18:42:17"),
    ),
    "name with trailing blank": ("hundeanmeldung", _set("//basis:familienname", "Richter ")),
    "amount with three decimals": (
        "wohngeld-mietzuschuss",
        _set("//wohngeld:gesamtmiete", "845.001"),
    ),
    "negative amount": ("wohngeld-mietzuschuss", _set("//wohngeld:gesamtmiete", "-845.00")),
    "amount in exponent form": ("wohngeld-mietzuschuss", _set("//wohngeld:gesamtmiete", "8.45E2")),
    "date with zone": ("wohngeld-mietzuschuss", _set("//wohngeld:einzugsdatum", "2019-08-01Z")),
    "lower-case iban": (
        "wohngeld-mietzuschuss",
        _set("//basis:iban", "de02120300000000202051"),
    ),
    "no household": ("wohngeld-mietzuschuss", _drop("//wohngeld:haushaltsmitglied")),
    "file name with a path": (
        "wohngeld-mietzuschuss",
        _set("(//wohngeld:dateiname)[1]", "../Mietvertrag.pdf"),
    ),
    "unknown attachment kind": (
        "wohngeld-mietzuschuss",
        _set("(//wohngeld:anlage/wohngeld:art/code)[1]", "foto"),
    ),
}


@pytest.mark.parametrize("case", sorted(SPOILED))
def test_all_three_validators_refuse(case: str, tmp_path: Path) -> None:
    form_id, spoil = SPOILED[case]
    spec = FORMS[form_id]
    tree = etree.parse(str(EXAMPLES / f"{STEM[form_id]}.xml"))
    spoil(tree.getroot())
    document = tmp_path / "spoiled.xml"
    tree.write(str(document), xml_declaration=True, encoding="UTF-8")

    assert not etree.XMLSchema(etree.parse(str(spec.xsd_path))).validate(etree.parse(str(document)))
    assert not xmlschema.XMLSchema(str(spec.xsd_path)).is_valid(str(document))
    valid, _errors = xmllint_valid(spec.xsd_path, document)
    assert not valid


# --------------------------------------------------------------------------- code lists


def _xsd_code_lists() -> dict[str, tuple[str, dict[str, str]]]:
    """listURI → (version, {code: name}) as the XSDs declare them."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    simple_types = {}
    trees = [etree.parse(str(xsd)).getroot() for xsd in ALL_XSD]
    for schema in trees:
        for simple in schema.iterfind(f"{{{XS}}}simpleType"):
            simple_types[simple.get("name")] = simple
    for schema in trees:
        for code_type in schema.xpath("xs:complexType[starts-with(@name, 'Code.')]", namespaces=NS):
            uri = code_type.xpath(".//xs:attribute[@name='listURI']/@fixed", namespaces=NS)[0]
            version = code_type.xpath(
                ".//xs:attribute[@name='listVersionID']/@fixed", namespaces=NS
            )[0]
            value_type = code_type.xpath(".//xs:element[@name='code']/@type", namespaces=NS)[0]
            enumeration = simple_types[value_type.split(":")[1]]
            codes = {
                item.get("value"): item.findtext(f"{{{XS}}}annotation/{{{XS}}}documentation")
                for item in enumeration.iterfind(f".//{{{XS}}}enumeration")
            }
            found[uri] = (version, codes)
    return found


def test_code_lists_in_xsd_and_python_agree() -> None:
    in_xsd = _xsd_code_lists()
    in_python = {liste.uri: (liste.version, dict(liste.codes)) for liste in codelists.ALL}
    assert in_xsd == in_python


def test_listed_breeds_are_breed_codes() -> None:
    assert set(codelists.HUNDERASSE.codes) >= codelists.LISTENHUNDE
    assert "(Listenhund)" in codelists.HUNDERASSE.codes["pitbull-terrier"]


# --------------------------------------------------------------------------- simple types


def _facets(type_name: str) -> tuple[str | None, int | None]:
    """(pattern, maxLength) of an XSD simple type, inherited along its restriction chain."""
    types = {
        simple.get("name"): simple
        for xsd in ALL_XSD
        for simple in etree.parse(str(xsd)).getroot().iterfind(f"{{{XS}}}simpleType")
    }
    pattern: str | None = None
    max_length: int | None = None
    current: str | None = type_name
    while current in types:
        restriction = types[current].find(f"{{{XS}}}restriction")
        found = restriction.find(f"{{{XS}}}pattern")
        if pattern is None and found is not None:
            pattern = found.get("value")
        length = restriction.find(f"{{{XS}}}maxLength")
        if max_length is None and length is not None:
            max_length = int(length.get("value"))
        current = restriction.get("base").split(":")[1]
    return pattern, max_length


SIMPLE_TYPES = {
    "Zeile": simpletypes.Zeile,
    "Name": simpletypes.Name,
    "Hausnummer": simpletypes.Hausnummer,
    "Freitext": simpletypes.Freitext,
    "Telefon": simpletypes.Telefon,
    "Email": simpletypes.Email,
    "URI": simpletypes.Uri,
    "UUID": simpletypes.Uuid,
    "Datum": simpletypes.Datum,
    "Zeitpunkt": simpletypes.Zeitpunkt,
    "Postleitzahl": simpletypes.Postleitzahl,
    "ARS": simpletypes.Ars,
    "IBAN": simpletypes.Iban,
    "Betrag": simpletypes.Betrag,
    "Codewert": simpletypes.Codewert,
    "Codelistenversion": simpletypes.Codelistenversion,
    "Transpondernummer": hundeanmeldung.Transpondernummer,
    "Versicherungsnummer": hundeanmeldung.Versicherungsnummer,
    "Wohnflaeche": wohngeld.Wohnflaeche,
    "Dateiname": wohngeld.Dateiname,
}


@pytest.mark.parametrize("name", sorted(SIMPLE_TYPES))
def test_json_types_carry_the_xsd_facets(name: str) -> None:
    pattern, max_length = _facets(name)
    json_schema = TypeAdapter(SIMPLE_TYPES[name]).json_schema()
    assert json_schema.get("pattern") == (f"^{pattern}$" if pattern else None)
    assert json_schema.get("maxLength") == max_length


def _base64_slots(model: type, seen: set[type] | None = None) -> set[str]:
    """Local names of the fields a record reader hands to the binary hook (`BASE64_BINARY`)."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    found: set[str] = set()
    for slot in xmlmodel.slots(model):
        if slot.kind is xmlmodel.Kind.BASE64:
            found.add(slot.key)
        if slot.model is not None:
            found |= _base64_slots(slot.model, seen)
    return found


def _base64_elements(xsd: etree._ElementTree) -> set[str]:
    """Local names of the elements whose type restricts xs:base64Binary, in the form's own XSD."""
    root = xsd.getroot()
    binary_types = {
        simple.get("name")
        for simple in root.iterfind("xs:simpleType", NS)
        for restriction in simple.iterfind("xs:restriction", NS)
        if restriction.get("base", "").rpartition(":")[2] == "base64Binary"
    }
    return {
        element.get("name", "")
        for element in root.iter(f"{{{XS}}}element")
        if element.get("type", "").rpartition(":")[2] in binary_types
    }


@pytest.mark.parametrize("form", sorted(FORMS.values(), key=lambda f: f.id), ids=lambda f: f.id)
def test_every_base64_element_the_validation_schema_relaxes_is_decoded_by_intake(
    form: FormSpec,
) -> None:
    """libxml2 checks xs:base64Binary types as strings (`validation_xsd`); intake's decoder
    must see every such value, or invalid Base64 would pass."""
    relaxed, octets = validation_xsd(form)
    original = etree.parse(str(form.xsd_path))
    assert _base64_elements(original) <= _base64_slots(form.model)
    assert not any(
        r.get("base", "").endswith(":base64Binary")
        for r in relaxed.getroot().iter(f"{{{XS}}}restriction")
    )
    if _base64_elements(original):
        assert octets is not None
    if form.id == "wohngeld-mietzuschuss":
        assert _base64_elements(original) == {"inhalt"}
        assert (octets.min, octets.max) == (1, wohngeld.INHALT_MAX_BYTES)  # type: ignore[union-attr]
