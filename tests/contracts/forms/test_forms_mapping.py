"""XML ↔ record: one model-driven mapping, exact in both directions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import ValidationError

from contracts.forms import FORMS, FormSpec
from contracts.forms.xmlmodel import record_to_xml, slots

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BASIS = "urn:eantrag:xoev:basis:1.0"
HUND = "urn:eantrag:xoev:hundesteuer:1.0"


def parse(document: bytes | Path) -> etree._Element:
    if isinstance(document, Path):
        return etree.parse(str(document)).getroot()
    return etree.fromstring(document)


def test_xml_example_is_the_json_example(
    spec: FormSpec, example_xml: Path, example_record: dict[str, Any]
) -> None:
    assert spec.record_from_xml(parse(example_xml)) == example_record


def test_round_trip_from_xml(spec: FormSpec, example_xml: Path, xml_schema) -> None:
    record = spec.record_from_xml(parse(example_xml))
    again = spec.record_to_xml(record)
    xml_schema.assertValid(parse(again))
    assert spec.record_from_xml(parse(again)) == record


def test_model_from_json_gives_valid_xml(
    spec: FormSpec, example_record: dict[str, Any], xml_schema
) -> None:
    model = spec.parse_json(example_record)
    document = spec.record_to_xml(model)
    xml_schema.assertValid(parse(document))
    assert spec.record_from_xml(parse(document)) == example_record


def test_elements_follow_the_model_order(spec: FormSpec, example_record: dict[str, Any]) -> None:
    root = parse(spec.record_to_xml(example_record))
    children = list(dict.fromkeys(etree.QName(child).localname for child in root))
    elements = [slot.key for slot in slots(spec.model) if not (slot.attribute or slot.json_only)]
    assert children == [key for key in elements if key in example_record]
    assert children[0] == "nachrichtenkopf.g2g"


def test_root_attributes_are_properties(spec: FormSpec, example_xml: Path) -> None:
    root = parse(example_xml)
    record = spec.record_from_xml(root)
    assert record["$schema"] == spec.namespace
    assert record["standard"] == root.get("standard")
    assert record["version"] == "1.0"


def test_code_values_are_dicts_with_unqualified_children() -> None:
    root = parse(EXAMPLES / "hundeanmeldung.xml")
    rasse = FORMS["hundeanmeldung"].record_from_xml(root)["hund"]["rasse"]
    assert rasse == {
        "code": "mischling",
        "name": "Mischling",
        "listURI": "urn:eantrag:codeliste:hunderasse",
        "listVersionID": "1",
    }
    assert root.find(f"{{{HUND}}}hund/{{{HUND}}}rasse/code").text == "mischling"


def test_repeated_elements_become_lists_even_when_single(wohngeld: dict[str, Any]) -> None:
    spec = FORMS["wohngeld-mietzuschuss"]
    wohngeld["anlage"] = wohngeld["anlage"][:1]
    wohngeld["haushaltsmitglied"] = wohngeld["haushaltsmitglied"][:1]
    record = spec.record_from_xml(parse(spec.record_to_xml(wohngeld)))
    assert isinstance(record["anlage"], list) and len(record["anlage"]) == 1
    assert isinstance(record["haushaltsmitglied"][0]["einkommen"], list)


def test_absent_and_empty_lists_are_the_same(wohngeld: dict[str, Any]) -> None:
    spec = FORMS["wohngeld-mietzuschuss"]
    wohngeld["anlage"] = []
    record = spec.record_from_xml(parse(spec.record_to_xml(wohngeld)))
    assert "anlage" not in record
    assert spec.parse_json(record).anlage == []  # type: ignore[attr-defined]


def test_namespaces_follow_the_declaring_type(example_xml: Path) -> None:
    root = parse(example_xml)
    person = root[1]
    assert etree.QName(person).namespace == etree.QName(root).namespace
    assert {etree.QName(child).namespace for child in person} == {BASIS}


def test_xml_lexical_variants_read_as_json_values(dog: dict[str, Any]) -> None:
    """The XSD collapses whitespace in dates and booleans and allows 1/0; so does the mapping."""
    spec = FORMS["hundeanmeldung"]
    root = parse(spec.record_to_xml(dog))
    hund = root.find(f"{{{HUND}}}hund")
    hund.find(f"{{{HUND}}}listenhund").text = " 0 "
    hund.find(f"{{{HUND}}}haltungsbeginn").text = "\n  2026-09-19\n"
    root.find(f"{{{HUND}}}anzahlWeitereHunde").text = " 1"
    root.insert(1, etree.Comment("a comment is not data"))
    farbe = hund.find(f"{{{HUND}}}farbe")
    farbe.text = "schwarz mit "
    farbe.append(etree.Comment("nor is this one"))
    farbe[0].tail = "weißer Brust"
    etree.XMLSchema(etree.parse(str(spec.xsd_path))).assertValid(root)

    record = spec.record_from_xml(root)
    assert record["hund"]["listenhund"] is False
    assert record["hund"]["haltungsbeginn"] == "2026-09-19"
    assert record["anzahlWeitereHunde"] == 1
    assert record["hund"]["farbe"] == "schwarz mit weißer Brust"


def test_record_to_xml_validates_a_dict_first(dog: dict[str, Any]) -> None:
    dog["hund"]["rasse"]["code"] = "wolf"
    with pytest.raises(ValidationError):
        FORMS["hundeanmeldung"].record_to_xml(dog)


def test_generic_writer_refuses_unknown_keys(dog: dict[str, Any]) -> None:
    dog["hund"]["chipfarbe"] = "rot"
    with pytest.raises(ValueError, match="chipfarbe"):
        record_to_xml(dog, FORMS["hundeanmeldung"].model)  # type: ignore[arg-type]


def test_record_from_xml_refuses_another_root() -> None:
    with pytest.raises(ValueError, match="root element"):
        FORMS["wohngeld-mietzuschuss"].record_from_xml(parse(EXAMPLES / "hundeanmeldung.xml"))


def test_comments_and_processing_instructions_leave_the_record_alone(
    spec: FormSpec, example_xml: Path, example_record: dict[str, Any], xml_schema
) -> None:
    root = parse(example_xml)
    for element in list(root.iter(etree.Element)):
        if len(element):  # between children, and before the first
            element.insert(0, etree.Comment(" a note "))
            element.append(etree.ProcessingInstruction("app", "hint"))
        elif element.text:  # inside a value, which must not be cut short
            head, tail = element.text[:1], element.text[1:]
            element.text = head
            comment = etree.Comment(" inside ")
            comment.tail = tail
            element.append(comment)
    xml_schema.assertValid(root)
    assert spec.record_from_xml(root) == example_record
