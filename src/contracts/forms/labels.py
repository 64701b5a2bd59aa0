"""German labels of the forms' fields, for every view a person reads (HTML, PDF/A, the clerk's).

Keyed by the element name, which is the same in XML and JSON and means the same in every form
that uses it (the XSDs share `basis.xsd`); `BY_FORM` overrides one where a form means something
narrower. The XSDs' `xs:documentation` explains a field; these are the short captions beside its
value. A test walks every form model and fails for a field that has neither a label nor is
listed in `HIDDEN`, so a new field cannot reach a citizen's PDF under its technical key.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

HIDDEN = frozenset(
    {
        # transport and identification, not content: the original keeps them
        "$schema",
        "standard",
        "version",
        "produkt",
        "produkthersteller",
        "produktversion",
        "test",
        "nachrichtenkopf.g2g",
        # a code value is shown by its name; its list is the schema's business
        "listURI",
        "listVersionID",
        # the FIT-Connect attachment id: the attachment itself is listed with its file name
        "anlageId",
    }
)

LABELS: Mapping[str, str] = MappingProxyType(
    {
        # basis.xsd
        "familienname": "Familienname",
        "vorname": "Vorname",
        "geburtsdatum": "Geburtsdatum",
        "anschrift": "Anschrift",
        "strasse": "Straße",
        "hausnummer": "Hausnummer",
        "adresszusatz": "Adresszusatz",
        "postleitzahl": "Postleitzahl",
        "ort": "Ort",
        "ars": "Amtlicher Regionalschlüssel",
        "kontakt": "Kontakt",
        "telefon": "Telefon",
        "email": "E-Mail",
        "iban": "IBAN",
        "kontoinhaber": "Kontoinhaberin oder Kontoinhaber",
        "code": "Code",
        "name": "Name",
        # hundesteuer.xsd
        "halter": "Halterin oder Halter",
        "hund": "Hund",
        "rasse": "Rasse",
        "listenhund": "Listenhund",
        "geschlecht": "Geschlecht",
        "geburtsjahr": "Geburtsjahr",
        "farbe": "Farbe",
        "transpondernummer": "Transpondernummer (Chip)",
        "haltungsbeginn": "Beginn der Haltung",
        "anzahlWeitereHunde": "Weitere Hunde im Haushalt",
        "steuerverguenstigung": "Beantragte Steuervergünstigung",
        "art": "Art",
        "grund": "Grund",
        "begruendung": "Begründung",
        "haftpflichtversicherung": "Haftpflichtversicherung",
        "versicherer": "Versicherer",
        "versicherungsnummer": "Versicherungsnummer",
        "sepaMandat": "SEPA-Lastschriftmandat",
        # wohngeld.xsd
        "antragsteller": "Antragstellende Person",
        "haushaltsmitglied": "Haushaltsmitglied",
        "verwandtschaftsverhaeltnis": "Verhältnis zur antragstellenden Person",
        "einkommen": "Einkommen",
        "betrag": "Betrag (brutto)",
        "zeitraum": "Zeitraum",
        "wohnung": "Wohnung",
        "wohnflaeche": "Wohnfläche",
        "einzugsdatum": "Einzugsdatum",
        "gesamtmiete": "Gesamtmiete monatlich",
        "heizkosten": "davon Heizkosten",
        "nebenkosten": "davon übrige Nebenkosten",
        "vermieter": "Vermieterin oder Vermieter",
        "bankverbindung": "Bankverbindung",
        "erklaerungen": "Erklärungen",
        "wahrheitsgemaess": "Angaben vollständig und wahrheitsgemäß",
        "datenschutz": "Datenschutzhinweise zur Kenntnis genommen",
        "anlage": "Anlage",
        "dateiname": "Dateiname",
        "inhalt": "Inhalt",
    }
)

BY_FORM: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "hundeanmeldung": MappingProxyType(
            {"name": "Name des Hundes", "art": "Art der Vergünstigung"}
        ),
        "wohngeld-mietzuschuss": MappingProxyType({"art": "Art", "name": "Name"}),
    }
)


def label(key: str, form_id: str | None = None) -> str:
    """The German caption of a field; the key itself only for a field no form declares."""
    if form_id is not None:
        specific = BY_FORM.get(form_id, {}).get(key)
        if specific is not None:
            return specific
    return LABELS.get(key, key)
