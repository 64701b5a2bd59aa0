"""Hundesteuer – Anmeldung eines Hundes (`hundesteuer.xsd`) as a model, plus its own rules."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from contracts.forms import codelists
from contracts.forms.basis import Bankverbindung, Code, NachrichtenkopfG2G, PersonMitAnschrift
from contracts.forms.rules import RuleViolation, as_date, get, pointer
from contracts.forms.simpletypes import Datum, Freitext, Name, Zeile
from contracts.forms.xmlmodel import JSON_ONLY, XML_ATTRIBUTE, XmlModel, XmlRoot

NAMESPACE = "urn:eantrag:xoev:hundesteuer:1.0"
ROOT = "hundesteuer.anmeldung.0101"

Transpondernummer = Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")]
Versicherungsnummer = Annotated[Zeile, StringConstraints(max_length=40)]


class HundesteuerModel(XmlModel):
    xml_namespace = NAMESPACE
    xml_prefix = "hundesteuer"


class Hunderasse(Code):
    codeliste = codelists.HUNDERASSE


class Hundegeschlecht(Code):
    codeliste = codelists.HUNDEGESCHLECHT


class Steuerverguenstigungsart(Code):
    codeliste = codelists.STEUERVERGUENSTIGUNG


class Verguenstigungsgrund(Code):
    codeliste = codelists.VERGUENSTIGUNGSGRUND


def _birth_choice(schema: dict[str, Any]) -> None:
    """The XSD's choice between birth date and birth year, in JSON Schema terms."""
    schema["oneOf"] = [
        {"required": [field], "properties": {field: {"not": {"type": "null"}}}}
        for field in ("geburtsdatum", "geburtsjahr")
    ]


class Hund(HundesteuerModel):
    """The dog; for a rescue dog of unknown birthday the birth year is enough."""

    model_config = ConfigDict(json_schema_extra=_birth_choice)

    name: Name
    rasse: Hunderasse
    listenhund: bool
    geschlecht: Hundegeschlecht
    geburtsdatum: Datum | None = None
    geburtsjahr: Annotated[int, Field(ge=1900, le=2099)] | None = None
    farbe: Name
    transpondernummer: Transpondernummer | None = None
    haltungsbeginn: Datum

    @model_validator(mode="after")
    def _date_or_year(self) -> Self:
        if (self.geburtsdatum is None) == (self.geburtsjahr is None):
            raise ValueError("give either geburtsdatum or geburtsjahr, not both or neither")
        return self


class Steuerverguenstigung(HundesteuerModel):
    art: Steuerverguenstigungsart
    grund: Verguenstigungsgrund
    begruendung: Freitext | None = None


class Haftpflichtversicherung(HundesteuerModel):
    versicherer: Name
    versicherungsnummer: Versicherungsnummer


class Hundeanmeldung(XmlRoot):
    """`hundesteuer.anmeldung.0101`: an owner registers a dog for the municipal dog tax."""

    xml_namespace = NAMESPACE
    xml_prefix = "hundesteuer"
    xml_root = ROOT

    schema_uri: Annotated[Literal["urn:eantrag:xoev:hundesteuer:1.0"], JSON_ONLY] = Field(
        alias="$schema"
    )
    standard: Annotated[Literal["hundesteuer"], XML_ATTRIBUTE]
    version: Annotated[Literal["1.0"], XML_ATTRIBUTE]

    nachrichtenkopf_g2g: NachrichtenkopfG2G = Field(alias="nachrichtenkopf.g2g")
    halter: PersonMitAnschrift
    hund: Hund
    anzahlWeitereHunde: Annotated[int, Field(ge=0, le=99)]
    steuerverguenstigung: Steuerverguenstigung | None = None
    haftpflichtversicherung: Haftpflichtversicherung | None = None
    sepaMandat: Bankverbindung | None = None


def check(record: dict[str, Any], today: date) -> list[RuleViolation]:
    """The dog form's own rules (the shared ones run as well, see `rules.shared_rules`)."""
    violations: list[RuleViolation] = []
    hund = get(record, "hund") or {}

    breed = get(hund, "rasse", "code")
    if breed in codelists.LISTENHUNDE and hund.get("listenhund") is not True:
        violations.append(
            RuleViolation(
                "dog.dangerous_breed_flag",
                pointer("hund", "listenhund"),
                f"{codelists.HUNDERASSE.name_of(breed)} is a listed breed; listenhund must be true",
            )
        )

    start = as_date(hund.get("haltungsbeginn"))
    born = as_date(hund.get("geburtsdatum"))
    year = hund.get("geburtsjahr")
    if start is not None and born is not None and start < born:
        violations.append(
            RuleViolation(
                "date.order",
                pointer("hund", "haltungsbeginn"),
                f"keeping the dog cannot begin ({start}) before its birth ({born})",
            )
        )
    elif start is not None and isinstance(year, int) and start.year < year:
        violations.append(
            RuleViolation(
                "date.order",
                pointer("hund", "haltungsbeginn"),
                f"keeping the dog cannot begin ({start}) before its birth year ({year})",
            )
        )
    return violations
