"""Business rules: each spoiled example passes both schemas and is caught by exactly its rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from contracts.forms import FORMS, FormSpec, RuleViolation
from contracts.forms.rules import (
    SHARED_FIELDS,
    iban_valid,
    pointer,
    shared_rules,
    transponder_problem,
)
from contracts.forms.xmlmodel import Outline, XmlModel, outline, slots

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
STEM = {"hundeanmeldung": "hundeanmeldung", "wohngeld-mietzuschuss": "wohngeld"}
TODAY = date(2026, 11, 23)

Record = dict[str, Any]


def found(violations: list[RuleViolation]) -> list[tuple[str, str]]:
    return [(violation.code, violation.name) for violation in violations]


def test_examples_break_no_rule(spec: FormSpec, example_record: Record, today: date) -> None:
    assert spec.check_rules(example_record, today) == []


def test_rules_accept_a_record_dumped_from_the_model(
    spec: FormSpec, example_record: Record
) -> None:
    model = spec.parse_json(example_record)
    record = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert spec.check_rules(record, TODAY) == []


# --------------------------------------------------------------------------- cases


def dog_flag(record: Record) -> None:
    record["hund"]["rasse"] = {"code": "american-staffordshire-terrier"}


def dog_born_after_keeping(record: Record) -> None:
    del record["hund"]["geburtsjahr"]
    record["hund"]["geburtsdatum"] = "2026-10-01"


def dog_year_after_keeping(record: Record) -> None:
    record["hund"]["geburtsjahr"] = 2026
    record["hund"]["haltungsbeginn"] = "2025-12-31"


def applicant_missing(record: Record) -> None:
    record["haushaltsmitglied"][0]["verwandtschaftsverhaeltnis"] = {"code": "elternteil"}


def applicant_twice(record: Record) -> None:
    record["haushaltsmitglied"][2]["verwandtschaftsverhaeltnis"] = {"code": "antragsteller"}


def applicant_other_person(record: Record) -> None:
    record["haushaltsmitglied"][0]["geburtsdatum"] = "1988-06-20"


def member_twice(record: Record) -> None:
    record["haushaltsmitglied"].append(dict(record["haushaltsmitglied"][1]))


def set_at(path: tuple[str | int, ...], value: Any) -> Callable[[Record], None]:
    def spoil(record: Record) -> None:
        target: Any = record
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return spoil


CASES: dict[str, tuple[str, Callable[[Record], None], list[tuple[str, str]]]] = {
    "iban check digits (SEPA mandate)": (
        "hundeanmeldung",
        set_at(("sepaMandat", "iban"), "DE89370400440532013001"),
        [("iban.checksum", "/sepaMandat/iban")],
    ),
    "iban check digits (bank account)": (
        "wohngeld-mietzuschuss",
        set_at(("bankverbindung", "iban"), "DE12120300000000202051"),
        [("iban.checksum", "/bankverbindung/iban")],
    ),
    "transponder all zeros": (
        "hundeanmeldung",
        set_at(("hund", "transpondernummer"), "000000000000000"),
        [("transponder.invalid", "/hund/transpondernummer")],
    ),
    "transponder country code 000": (
        "hundeanmeldung",
        set_at(("hund", "transpondernummer"), "000123456789012"),
        [("transponder.invalid", "/hund/transpondernummer")],
    ),
    "transponder test code 999": (
        "hundeanmeldung",
        set_at(("hund", "transpondernummer"), "999123456789012"),
        [("transponder.invalid", "/hund/transpondernummer")],
    ),
    "owner born tomorrow": (
        "hundeanmeldung",
        set_at(("halter", "geburtsdatum"), "2026-11-24"),
        [("date.future", "/halter/geburtsdatum")],
    ),
    "keeping begins next year": (
        "hundeanmeldung",
        set_at(("hund", "haltungsbeginn"), "2027-01-01"),
        [("date.future", "/hund/haltungsbeginn")],
    ),
    "dog born next year": (
        "hundeanmeldung",
        set_at(("hund", "geburtsjahr"), 2027),
        [("date.future", "/hund/geburtsjahr"), ("date.order", "/hund/haltungsbeginn")],
    ),
    "household member born in the future": (
        "wohngeld-mietzuschuss",
        set_at(("haushaltsmitglied", 2, "geburtsdatum"), "2027-03-01"),
        [("date.future", "/haushaltsmitglied/2/geburtsdatum")],
    ),
    "move-in in the future": (
        "wohngeld-mietzuschuss",
        set_at(("wohnung", "einzugsdatum"), "2026-12-01"),
        [("date.future", "/wohnung/einzugsdatum")],
    ),
    "dog kept before its birth": (
        "hundeanmeldung",
        dog_born_after_keeping,
        [("date.order", "/hund/haltungsbeginn")],
    ),
    "dog kept before its birth year": (
        "hundeanmeldung",
        dog_year_after_keeping,
        [("date.order", "/hund/haltungsbeginn")],
    ),
    "moved in before being born": (
        "wohngeld-mietzuschuss",
        set_at(("wohnung", "einzugsdatum"), "1985-01-01"),
        [("date.order", "/wohnung/einzugsdatum")],
    ),
    "no applicant in the household": (
        "wohngeld-mietzuschuss",
        applicant_missing,
        [("household.applicant_missing", "/haushaltsmitglied")],
    ),
    "two applicants in the household": (
        "wohngeld-mietzuschuss",
        applicant_twice,
        [("household.applicant_duplicate", "/haushaltsmitglied/2/verwandtschaftsverhaeltnis")],
    ),
    "household applicant is someone else": (
        "wohngeld-mietzuschuss",
        applicant_other_person,
        [("household.applicant_mismatch", "/haushaltsmitglied/0")],
    ),
    "member listed twice": (
        "wohngeld-mietzuschuss",
        member_twice,
        [("household.member_duplicate", "/haushaltsmitglied/3")],
    ),
    "ars of Land 00": (
        "hundeanmeldung",
        set_at(("halter", "anschrift", "ars"), "006120000000"),
        [("ars.structure", "/halter/anschrift/ars")],
    ),
    "ars of Land 17": (
        "wohngeld-mietzuschuss",
        set_at(("wohnung", "anschrift", "ars"), "176120000000"),
        [("ars.structure", "/wohnung/anschrift/ars")],
    ),
    "truthfulness not declared": (
        "wohngeld-mietzuschuss",
        set_at(("erklaerungen", "wahrheitsgemaess"), False),
        [("declarations.missing", "/erklaerungen/wahrheitsgemaess")],
    ),
    "data protection not acknowledged": (
        "wohngeld-mietzuschuss",
        set_at(("erklaerungen", "datenschutz"), False),
        [("declarations.missing", "/erklaerungen/datenschutz")],
    ),
    "listed breed without the flag": (
        "hundeanmeldung",
        dog_flag,
        [("dog.dangerous_breed_flag", "/hund/listenhund")],
    ),
    "header announces the other message": (
        "hundeanmeldung",
        set_at(
            ("nachrichtenkopf.g2g", "identifikation.nachricht", "nachrichtentyp", "code"),
            "wohngeld.mietzuschussAntrag.0101",
        ),
        [
            (
                "message.type_mismatch",
                "/nachrichtenkopf.g2g/identifikation.nachricht/nachrichtentyp/code",
            )
        ],
    ),
    "heating and running costs above the rent": (
        "wohngeld-mietzuschuss",
        set_at(("wohnung", "heizkosten"), "700.00"),
        [("rent.components", "/wohnung/gesamtmiete")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rule_catches_what_the_schemas_let_through(case: str) -> None:
    form_id, spoil, expected = CASES[case]
    spec = FORMS[form_id]
    record = json.loads((EXAMPLES / f"{STEM[form_id]}.json").read_text(encoding="utf-8"))
    spoil(record)

    spec.parse_json(record)  # valid JSON …
    document = etree.fromstring(spec.record_to_xml(record))
    assert etree.XMLSchema(etree.parse(str(spec.xsd_path))).validate(document)  # … and XML
    assert found(spec.check_rules(record, TODAY)) == expected
    # The form walks only where its model can hold a shared field; the whole walk agrees.
    where = outline(spec.model, SHARED_FIELDS)
    assert shared_rules(record, TODAY, where) == shared_rules(record, TODAY)


def test_every_rule_code_has_a_case() -> None:
    codes = {code for _form, _spoil, expected in CASES.values() for code, _name in expected}
    assert codes == {
        "iban.checksum",
        "transponder.invalid",
        "date.future",
        "date.order",
        "household.applicant_missing",
        "household.applicant_duplicate",
        "household.applicant_mismatch",
        "household.member_duplicate",
        "ars.structure",
        "declarations.missing",
        "dog.dangerous_breed_flag",
        "message.type_mismatch",
        "rent.components",
    }


def _paths(model: type[XmlModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of the model's records (the forms' models do not contain themselves)."""
    found = []
    for slot in slots(model):
        if not slot.json_only:
            found.append((*prefix, slot.key))
            if slot.model is not None:
                found += _paths(slot.model, (*prefix, slot.key))
    return found


def _outline_paths(where: Outline, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found = set()
    for key, below in where.items():
        found.add((*prefix, key))
        found |= _outline_paths(below, (*prefix, key))
    return found


def test_the_outline_reaches_every_shared_field_and_nothing_else(spec: FormSpec) -> None:
    shared = [path for path in _paths(spec.model) if path[-1] in SHARED_FIELDS]
    assert shared, "each form has fields the shared rules look at"
    leading = {path[:end] for path in shared for end in range(1, len(path) + 1)}
    assert _outline_paths(outline(spec.model, SHARED_FIELDS)) == leading
    assert len(leading) < len(_paths(spec.model)) / 2


# --------------------------------------------------------------------------- details


def test_today_itself_is_not_the_future(dog: Record) -> None:
    dog["hund"]["haltungsbeginn"] = TODAY.isoformat()
    assert FORMS["hundeanmeldung"].check_rules(dog, TODAY) == []


def test_listed_breed_with_the_flag_is_fine(dog: Record) -> None:
    dog_flag(dog)
    dog["hund"]["listenhund"] = True
    assert FORMS["hundeanmeldung"].check_rules(dog, TODAY) == []


def test_ars_without_postcode_check_and_missing_ars(dog: Record, wohngeld: Record) -> None:
    del dog["halter"]["anschrift"]["ars"]
    assert FORMS["hundeanmeldung"].check_rules(dog, TODAY) == []
    wohngeld["antragsteller"]["anschrift"]["ars"] = "091620000000"  # Munich with a Leipzig PLZ
    assert FORMS["wohngeld-mietzuschuss"].check_rules(wohngeld, TODAY) == []


def test_applicant_match_ignores_case_and_blanks(wohngeld: Record) -> None:
    wohngeld["haushaltsmitglied"][0]["familienname"] = "KRÜGER"
    assert FORMS["wohngeld-mietzuschuss"].check_rules(wohngeld, TODAY) == []


def test_violations_carry_a_reason(dog: Record) -> None:
    dog_flag(dog)
    (violation,) = FORMS["hundeanmeldung"].check_rules(dog, TODAY)
    assert "American Staffordshire Terrier" in violation.reason


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("DE89370400440532013000", True),
        ("DE02120300000000202051", True),
        ("GB82WEST12345698765432", True),
        ("DE89370400440532013001", False),
        ("DE98370400440532013000", False),
    ],
)
def test_iban_check_digits(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("276098100123456", True),
        ("040098100123456", True),
        ("900123456789012", True),
        ("998000000000001", True),
        ("000000000000000", False),
        ("999000000000001", False),
        ("27609810012345", False),
    ],
)
def test_transponder_numbers(number: str, valid: bool) -> None:
    assert (transponder_problem(number) is None) is valid


def test_pointer_escapes_like_rfc_6901() -> None:
    assert pointer("a/b", "m~n", 0) == "/a~1b/m~0n/0"
