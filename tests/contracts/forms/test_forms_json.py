"""The JSON form: the model and the generated JSON Schema accept and refuse the same documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from contracts.forms import FORMS, FormSpec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
STEM = {"hundeanmeldung": "hundeanmeldung", "wohngeld-mietzuschuss": "wohngeld"}


def validator(spec: FormSpec) -> Draft202012Validator:
    return Draft202012Validator(
        spec.json_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def test_generated_schema_is_draft_2020_12_named_by_the_namespace(spec: FormSpec) -> None:
    schema = spec.json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == spec.namespace
    assert schema["title"] == spec.title
    assert schema["properties"]["$schema"]["const"] == spec.namespace
    assert schema["additionalProperties"] is False


def test_schema_uses_the_xml_names(spec: FormSpec) -> None:
    properties = spec.json_schema()["properties"]
    assert "nachrichtenkopf.g2g" in properties
    assert {"standard", "version", "produkt", "produkthersteller", "produktversion", "test"} <= set(
        properties
    )
    head = spec.json_schema()["$defs"]["NachrichtenkopfG2G"]["properties"]
    assert list(head) == ["identifikation.nachricht", "leser", "autor"]


def test_example_validates_against_model(spec: FormSpec, example_record: dict[str, Any]) -> None:
    model = spec.parse_json(example_record)
    assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == example_record


def test_example_validates_against_generated_schema(
    spec: FormSpec, example_record: dict[str, Any]
) -> None:
    errors = [error.message for error in validator(spec).iter_errors(example_record)]
    assert errors == []


def test_every_object_in_the_schema_forbids_extra_properties(spec: FormSpec) -> None:
    for name, definition in spec.json_schema()["$defs"].items():
        assert definition.get("additionalProperties") is False, name


# --------------------------------------------------------------------------- both refuse

Spoiler = Callable[[dict[str, Any]], None]


def _at(*path: str | int) -> Callable[[Any], Spoiler]:
    def setter(value: Any) -> Spoiler:
        def spoil(record: dict[str, Any]) -> None:
            target: Any = record
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value

        return spoil

    return setter


def _delete(*path: str | int) -> Spoiler:
    def spoil(record: dict[str, Any]) -> None:
        target: Any = record
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return spoil


SPOILED: dict[str, tuple[str, Spoiler]] = {
    "no $schema": ("hundeanmeldung", _delete("$schema")),
    "other form's $schema": ("hundeanmeldung", _at("$schema")("urn:eantrag:xoev:wohngeld:1.0")),
    "unknown property": ("hundeanmeldung", _at("hund", "chipfarbe")("rot")),
    "python name instead of the xml name": (
        "hundeanmeldung",
        lambda r: r.__setitem__("nachrichtenkopf_g2g", r.pop("nachrichtenkopf.g2g")),
    ),
    "unknown breed": ("hundeanmeldung", _at("hund", "rasse", "code")("wolf")),
    "code from another list": (
        "hundeanmeldung",
        _at("hund", "rasse", "listURI")("urn:eantrag:codeliste:zeitraum"),
    ),
    "other list version": ("hundeanmeldung", _at("hund", "rasse", "listVersionID")("2")),
    "birth date and year": ("hundeanmeldung", _at("hund", "geburtsdatum")("2023-04-01")),
    "neither birth date nor year": ("hundeanmeldung", _delete("hund", "geburtsjahr")),
    "boolean as string": ("hundeanmeldung", _at("hund", "listenhund")("false")),
    "count as string": ("hundeanmeldung", _at("anzahlWeitereHunde")("0")),
    "year as string": ("hundeanmeldung", _at("hund", "geburtsjahr")("2023")),
    "german date": ("hundeanmeldung", _at("halter", "geburtsdatum")("23.11.1979")),
    "impossible date": ("hundeanmeldung", _at("halter", "geburtsdatum")("1979-02-30")),
    "time without zone": (
        "hundeanmeldung",
        _at("nachrichtenkopf.g2g", "identifikation.nachricht", "erstellungszeitpunkt")(
            "2026-10-05T18:42:17"
        ),
    ),
    "upper-case uuid": (
        "hundeanmeldung",
        _at("nachrichtenkopf.g2g", "identifikation.nachricht", "nachrichtenUUID")(
            "1428F094-43BA-4D4D-AB65-128830994FA7"
        ),
    ),
    "ars of 11 digits": ("hundeanmeldung", _at("halter", "anschrift", "ars")("14612000000")),
    "name with trailing blank": ("hundeanmeldung", _at("halter", "familienname")("Richter ")),
    "amount as number": ("wohngeld-mietzuschuss", _at("wohnung", "gesamtmiete")(845.0)),
    "amount with three decimals": (
        "wohngeld-mietzuschuss",
        _at("wohnung", "gesamtmiete")("845.001"),
    ),
    "negative amount": ("wohngeld-mietzuschuss", _at("wohnung", "gesamtmiete")("-845.00")),
    "empty household": ("wohngeld-mietzuschuss", _at("haushaltsmitglied")([])),
    "lower-case iban": (
        "wohngeld-mietzuschuss",
        _at("bankverbindung", "iban")("de02120300000000202051"),
    ),
    "file name with a path": ("wohngeld-mietzuschuss", _at("anlage", 0, "dateiname")("../a.pdf")),
    "declaration as string": ("wohngeld-mietzuschuss", _at("erklaerungen", "datenschutz")("true")),
}


@pytest.mark.parametrize("case", sorted(SPOILED))
def test_model_and_schema_both_refuse(case: str) -> None:
    form_id, spoil = SPOILED[case]
    spec = FORMS[form_id]
    record = json.loads((EXAMPLES / f"{STEM[form_id]}.json").read_text(encoding="utf-8"))
    spoil(record)

    with pytest.raises(ValidationError):
        spec.parse_json(record)
    assert not validator(spec).is_valid(record)


def test_null_means_absent(spec: FormSpec, example_record: dict[str, Any]) -> None:
    example_record["produkt"] = None
    model = spec.parse_json(example_record)
    assert "produkt" not in model.model_dump(mode="json", by_alias=True, exclude_none=True)
