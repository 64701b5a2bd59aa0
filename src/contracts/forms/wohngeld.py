"""Wohngeld – Mietzuschuss (`wohngeld.xsd`) as a model, plus its own rules."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema

from contracts.forms import codelists
from contracts.forms.basis import (
    Anschrift,
    Bankverbindung,
    Code,
    NachrichtenkopfG2G,
    Person,
    PersonMitAnschrift,
)
from contracts.forms.rules import RuleViolation, as_date, get, pointer
from contracts.forms.simpletypes import Betrag, Datum, Name, Uuid, lexical
from contracts.forms.xmlmodel import BASE64_BINARY, JSON_ONLY, XML_ATTRIBUTE, XmlModel, XmlRoot

NAMESPACE = "urn:eantrag:xoev:wohngeld:1.0"
ROOT = "wohngeld.mietzuschussAntrag.0101"

FLAECHE = r"^[1-9][0-9]{0,3}(\.[0-9]{1,2})?$"
Wohnflaeche = Annotated[
    Decimal,
    BeforeValidator(lexical(FLAECHE, "a living space in m²", Decimal)),
    Field(gt=0, max_digits=6, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": FLAECHE, "description": "m², as a string"}),
]
_FILE_CHAR = r'[^/\\:*?"<>| \t\r\n]'
Dateiname = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=255,
        pattern=rf'^{_FILE_CHAR}([^/\\:*?"<>|\r\n]*{_FILE_CHAR})?$',
    ),
]


INHALT_MAX_BYTES = 6 * 1024 * 1024
"""Cap of an inline attachment: its Base64 (8 MiB) stays under libxml2's 10 MB text limit."""
# XSD base64Binary without whitespace: the bits a final quantum leaves unused must be zero.
BASE64 = (
    r"^(?:[A-Za-z0-9+/]{4})*"
    r"(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$"
)
Inhalt = Annotated[
    str,
    StringConstraints(min_length=4, max_length=INHALT_MAX_BYTES // 3 * 4, pattern=BASE64),
    BASE64_BINARY,
    WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64",
            "minLength": 4,
            "maxLength": INHALT_MAX_BYTES // 3 * 4,
            "pattern": BASE64,
            "description": "The file itself: Base64 without line breaks, at most 6 MiB decoded.",
        }
    ),
]


class WohngeldModel(XmlModel):
    xml_namespace = NAMESPACE
    xml_prefix = "wohngeld"


class Verwandtschaftsverhaeltnis(Code):
    codeliste = codelists.VERWANDTSCHAFTSVERHAELTNIS


class Einkommensart(Code):
    codeliste = codelists.EINKOMMENSART


class Zeitraum(Code):
    codeliste = codelists.ZEITRAUM


class Anlageart(Code):
    codeliste = codelists.ANLAGEART


class Einkommen(WohngeldModel):
    art: Einkommensart
    betrag: Betrag
    zeitraum: Zeitraum


class Haushaltsmitglied(Person):
    """A member of the household, the applicant included (relationship `antragsteller`)."""

    xml_namespace = NAMESPACE
    xml_prefix = "wohngeld"

    verwandtschaftsverhaeltnis: Verwandtschaftsverhaeltnis
    einkommen: list[Einkommen] = Field(default_factory=list, max_length=20)


class Vermieter(WohngeldModel):
    name: Name
    anschrift: Anschrift


class Wohnung(WohngeldModel):
    """The flat; `gesamtmiete` is the monthly rent including heating and other running costs."""

    anschrift: Anschrift
    wohnflaeche: Wohnflaeche
    einzugsdatum: Datum
    gesamtmiete: Betrag
    heizkosten: Betrag | None = None
    nebenkosten: Betrag | None = None
    vermieter: Vermieter


class Erklaerungen(WohngeldModel):
    wahrheitsgemaess: bool
    datenschutz: bool


class Anlage(WohngeldModel):
    """A proof: its bytes travel as the FIT-Connect attachment `anlageId`, or inline in `inhalt`."""

    art: Anlageart
    dateiname: Dateiname
    anlageId: Uuid | None = None
    inhalt: Inhalt | None = None


class WohngeldAntrag(XmlRoot):
    """`wohngeld.mietzuschussAntrag.0101`: a tenant applies for rent subsidy for the household."""

    xml_namespace = NAMESPACE
    xml_prefix = "wohngeld"
    xml_root = ROOT

    schema_uri: Annotated[Literal["urn:eantrag:xoev:wohngeld:1.0"], JSON_ONLY] = Field(
        alias="$schema"
    )
    standard: Annotated[Literal["wohngeld"], XML_ATTRIBUTE]
    version: Annotated[Literal["1.0"], XML_ATTRIBUTE]

    nachrichtenkopf_g2g: NachrichtenkopfG2G = Field(alias="nachrichtenkopf.g2g")
    antragsteller: PersonMitAnschrift
    haushaltsmitglied: Annotated[list[Haushaltsmitglied], Field(min_length=1, max_length=20)]
    wohnung: Wohnung
    bankverbindung: Bankverbindung
    erklaerungen: Erklaerungen
    anlage: list[Anlage] = Field(default_factory=list, max_length=50)


def _person_key(person: dict[str, Any]) -> tuple[str, str, str]:
    """Who a person is for comparison: names compared without case or surrounding blanks."""
    return (
        str(person.get("familienname", "")).strip().casefold(),
        str(person.get("vorname", "")).strip().casefold(),
        str(person.get("geburtsdatum", "")),
    )


def _household_rules(record: dict[str, Any]) -> list[RuleViolation]:
    members: list[dict[str, Any]] = get(record, "haushaltsmitglied") or []
    violations: list[RuleViolation] = []

    applicants = [
        index
        for index, member in enumerate(members)
        if get(member, "verwandtschaftsverhaeltnis", "code") == codelists.ANTRAGSTELLER
    ]
    if not applicants:
        violations.append(
            RuleViolation(
                "household.applicant_missing",
                pointer("haushaltsmitglied"),
                "the applicant must be listed as a household member "
                f"with the relationship {codelists.ANTRAGSTELLER!r}",
            )
        )
    for index in applicants[1:]:
        violations.append(
            RuleViolation(
                "household.applicant_duplicate",
                pointer("haushaltsmitglied", index, "verwandtschaftsverhaeltnis"),
                "only one household member can be the applicant",
            )
        )
    applicant = get(record, "antragsteller")
    if len(applicants) == 1 and isinstance(applicant, dict):
        index = applicants[0]
        if _person_key(members[index]) != _person_key(applicant):
            violations.append(
                RuleViolation(
                    "household.applicant_mismatch",
                    pointer("haushaltsmitglied", index),
                    "the member marked as applicant differs from the antragsteller "
                    "in name or birth date",
                )
            )

    seen = Counter[tuple[str, str, str]]()
    for index, member in enumerate(members):
        key = _person_key(member)
        seen[key] += 1
        if seen[key] > 1:
            violations.append(
                RuleViolation(
                    "household.member_duplicate",
                    pointer("haushaltsmitglied", index),
                    "this person is listed more than once",
                )
            )
    return violations


def _declaration_rules(record: dict[str, Any]) -> list[RuleViolation]:
    reasons = {
        "wahrheitsgemaess": "the applicant must declare that the information is true",
        "datenschutz": "the applicant must acknowledge the data-protection notice",
    }
    return [
        RuleViolation("declarations.missing", pointer("erklaerungen", field), reason)
        for field, reason in reasons.items()
        if get(record, "erklaerungen", field) is not True
    ]


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _flat_rules(record: dict[str, Any]) -> list[RuleViolation]:
    violations: list[RuleViolation] = []
    wohnung = get(record, "wohnung") or {}

    moved_in = as_date(wohnung.get("einzugsdatum"))
    born = as_date(get(record, "antragsteller", "geburtsdatum"))
    if moved_in is not None and born is not None and moved_in < born:
        violations.append(
            RuleViolation(
                "date.order",
                pointer("wohnung", "einzugsdatum"),
                f"the move-in ({moved_in}) cannot precede the applicant's birth ({born})",
            )
        )

    total = _amount(wohnung.get("gesamtmiete"))
    parts = [_amount(wohnung.get(field)) for field in ("heizkosten", "nebenkosten")]
    share = sum((part for part in parts if part is not None), Decimal(0))
    if total is not None and share > total:
        violations.append(
            RuleViolation(
                "rent.components",
                pointer("wohnung", "gesamtmiete"),
                f"heating and running costs ({share}) exceed the total rent ({total})",
            )
        )
    return violations


def check(record: dict[str, Any], today: date) -> list[RuleViolation]:
    """The Wohngeld form's own rules (the shared ones run as well, see `rules.shared_rules`)."""
    return _household_rules(record) + _flat_rules(record) + _declaration_rules(record)
