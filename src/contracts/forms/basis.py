"""The complex types of `basis.xsd` (namespace `urn:eantrag:xoev:basis:1.0`) as models."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, field_validator

from contracts.forms import codelists
from contracts.forms.codelists import Codeliste
from contracts.forms.simpletypes import (
    Ars,
    Codelistenversion,
    Codewert,
    Datum,
    Email,
    Hausnummer,
    Iban,
    Name,
    Postleitzahl,
    Telefon,
    Uri,
    Uuid,
    Zeile,
    Zeitpunkt,
)
from contracts.forms.xmlmodel import XML_ATTRIBUTE, XmlModel

BASIS_NS = "urn:eantrag:xoev:basis:1.0"


class BasisModel(XmlModel):
    xml_namespace = BASIS_NS
    xml_prefix = "basis"


def _code_json_schema(schema: dict[str, Any], model: type) -> None:
    """Show the list's codes, URN and version in the JSON Schema, as the XSD's facets do."""
    liste: Codeliste | None = getattr(model, "codeliste", None)
    if liste is None:
        return
    properties = schema["properties"]
    properties["code"]["enum"] = list(liste.codes)
    properties["listURI"]["anyOf"][0]["const"] = liste.uri
    properties["listVersionID"]["anyOf"][0]["const"] = liste.version
    schema["description"] = f"Code der Liste {liste.uri}, Version {liste.version}"


class Code(BasisModel):
    """A value from a code list: `{"code", "name"?, "listURI"?, "listVersionID"?}`.

    As in XÖV, `code` and `name` are unqualified in XML. A subclass names its list in
    `codeliste`; then only that list's codes, URN and version are accepted.
    """

    model_config = ConfigDict(json_schema_extra=_code_json_schema)

    xml_namespace = ""
    codeliste: ClassVar[Codeliste | None] = None

    code: Codewert
    name: Zeile | None = None
    listURI: Annotated[Uri | None, XML_ATTRIBUTE] = None
    listVersionID: Annotated[Codelistenversion | None, XML_ATTRIBUTE] = None

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if cls.codeliste is not None and value not in cls.codeliste.codes:
            allowed = ", ".join(repr(code) for code in cls.codeliste.codes)
            raise ValueError(
                f"{value!r} is not a code of {cls.codeliste.uri}; the codes are {allowed}"
            )
        return value

    @field_validator("listURI")
    @classmethod
    def _same_list(cls, value: str | None) -> str | None:
        if cls.codeliste is not None and value not in (None, cls.codeliste.uri):
            raise ValueError(f"the code list here is {cls.codeliste.uri}")
        return value

    @field_validator("listVersionID")
    @classmethod
    def _same_version(cls, value: str | None) -> str | None:
        if cls.codeliste is not None and value not in (None, cls.codeliste.version):
            raise ValueError(f"the code list version here is {cls.codeliste.version}")
        return value


class Nachrichtentyp(Code):
    codeliste = codelists.NACHRICHTENTYP


class Verzeichnisdienst(Code):
    codeliste = codelists.VERZEICHNISDIENST


class Behoerde(BasisModel):
    """Reader or author of a message: a directory, the key in it (e.g. `ags:14612000`), a name."""

    verzeichnisdienst: Verzeichnisdienst
    kennung: Zeile
    name: Zeile


class IdentifikationNachricht(BasisModel):
    nachrichtenUUID: Uuid
    nachrichtentyp: Nachrichtentyp
    erstellungszeitpunkt: Zeitpunkt


class NachrichtenkopfG2G(BasisModel):
    identifikation_nachricht: IdentifikationNachricht = Field(alias="identifikation.nachricht")
    leser: Behoerde
    autor: Behoerde


class Anschrift(BasisModel):
    """A German postal address; `ars` may be missing when routing can derive it from the PLZ."""

    strasse: Name
    hausnummer: Hausnummer
    adresszusatz: Zeile | None = None
    postleitzahl: Postleitzahl
    ort: Name
    ars: Ars | None = None


class Kontakt(BasisModel):
    telefon: Telefon | None = None
    email: Email | None = None


class Person(BasisModel):
    familienname: Name
    vorname: Name
    geburtsdatum: Datum


class PersonMitAnschrift(Person):
    """The applicant: where they live decides which authority is responsible."""

    anschrift: Anschrift
    kontakt: Kontakt | None = None


class Bankverbindung(BasisModel):
    iban: Iban
    kontoinhaber: Name
