"""The project's own code lists.

The XSDs carry the same codes as enumerations (with the names as documentation); a test keeps both
in step, so a code added on one side only cannot slip through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Codeliste:
    """A code list as XÖV names it: a URN plus a version, and its codes with their names."""

    uri: str
    version: str
    codes: Mapping[str, str]

    def name_of(self, code: str) -> str | None:
        return self.codes.get(code)


def _liste(uri: str, codes: dict[str, str], version: str = "1") -> Codeliste:
    return Codeliste(uri=uri, version=version, codes=MappingProxyType(codes))


NACHRICHTENTYP = _liste(
    "urn:eantrag:codeliste:nachrichtentyp",
    {
        "hundesteuer.anmeldung.0101": "Hundesteuer: Anmeldung eines Hundes",
        "wohngeld.mietzuschussAntrag.0101": "Wohngeld: Antrag auf Mietzuschuss",
    },
)

VERZEICHNISDIENST = _liste(
    "urn:eantrag:codeliste:verzeichnisdienst",
    {
        "dvdv": "Deutsches Verwaltungsdiensteverzeichnis",
        "fitconnect": "FIT-Connect-Zustellpunkt (Destination-ID)",
        "pvog": "Portalverbund Online-Gateway",
        "eantrag": "Teilnehmerverzeichnis von eantrag",
    },
)

HUNDERASSE = _liste(
    "urn:eantrag:codeliste:hunderasse",
    {
        "mischling": "Mischling",
        "australian-shepherd": "Australian Shepherd",
        "beagle": "Beagle",
        "berner-sennenhund": "Berner Sennenhund",
        "border-collie": "Border Collie",
        "boxer": "Deutscher Boxer",
        "chihuahua": "Chihuahua",
        "dackel": "Dackel (Teckel)",
        "deutscher-schaeferhund": "Deutscher Schäferhund",
        "dobermann": "Dobermann",
        "franzoesische-bulldogge": "Französische Bulldogge",
        "golden-retriever": "Golden Retriever",
        "havaneser": "Havaneser",
        "jack-russell-terrier": "Jack Russell Terrier",
        "labrador-retriever": "Labrador Retriever",
        "malteser": "Malteser",
        "mops": "Mops",
        "pudel": "Pudel",
        "rottweiler": "Rottweiler",
        "shih-tzu": "Shih Tzu",
        "yorkshire-terrier": "Yorkshire Terrier",
        "andere-rasse": "Andere, nicht gelistete Rasse",
        "pitbull-terrier": "Pitbull-Terrier (Listenhund)",
        "american-staffordshire-terrier": "American Staffordshire Terrier (Listenhund)",
        "staffordshire-bullterrier": "Staffordshire Bullterrier (Listenhund)",
        "bullterrier": "Bullterrier (Listenhund)",
        "kreuzung-listenhund": "Kreuzung mit einem Listenhund",
    },
)

LISTENHUNDE = frozenset(
    {
        "pitbull-terrier",
        "american-staffordshire-terrier",
        "staffordshire-bullterrier",
        "bullterrier",
        "kreuzung-listenhund",
    }
)
"""Breeds presumed dangerous by law (§ 2 Abs. 1 HundVerbrEinfG) and their crosses.

Land laws on dangerous dogs and municipal dog-tax statutes may name more breeds; taking them in
would be a new version of the list.
"""

HUNDEGESCHLECHT = _liste(
    "urn:eantrag:codeliste:hundegeschlecht",
    {"m": "männlich (Rüde)", "w": "weiblich (Hündin)"},
)

STEUERVERGUENSTIGUNG = _liste(
    "urn:eantrag:codeliste:steuerverguenstigung",
    {"ermaessigung": "Steuerermäßigung", "befreiung": "Steuerbefreiung"},
)

VERGUENSTIGUNGSGRUND = _liste(
    "urn:eantrag:codeliste:verguenstigungsgrund",
    {
        "assistenzhund": "Blindenführ- oder Assistenzhund",
        "rettungshund": "Geprüfter Rettungshund",
        "tierheim": "Hund aus einem Tierheim",
        "wachhund": "Bewachung eines abgelegenen Gebäudes",
        "sozialleistung": "Bezug von Sozialleistungen",
        "sonstiges": "Sonstiger Grund (bitte begründen)",
    },
)

ANTRAGSTELLER = "antragsteller"
"""The relationship code of the applicant within the household."""

VERWANDTSCHAFTSVERHAELTNIS = _liste(
    "urn:eantrag:codeliste:verwandtschaftsverhaeltnis",
    {
        ANTRAGSTELLER: "Antragstellende Person",
        "ehegatte": "Ehegattin oder Ehegatte",
        "lebenspartner": "Eingetragene Lebenspartnerin oder eingetragener Lebenspartner",
        "partner": "Partnerin oder Partner einer Verantwortungs- und Einstehensgemeinschaft",
        "kind": "Kind",
        "pflegekind": "Pflegekind",
        "elternteil": "Mutter oder Vater",
        "pflegeelternteil": "Pflegemutter oder Pflegevater",
        "geschwister": "Schwester oder Bruder",
        "verwandt": "Sonstige verwandte Person",
        "verschwaegert": "Verschwägerte Person",
    },
)

EINKOMMENSART = _liste(
    "urn:eantrag:codeliste:einkommensart",
    {
        "nichtselbststaendig": "Einkünfte aus nichtselbstständiger Arbeit",
        "selbststaendig": "Einkünfte aus selbstständiger Arbeit oder Gewerbebetrieb",
        "rente": "Rente",
        "pension": "Versorgungsbezüge (Pension)",
        "arbeitslosengeld": "Arbeitslosengeld",
        "krankengeld": "Krankengeld",
        "elterngeld": "Elterngeld",
        "unterhalt": "Unterhaltszahlungen",
        "unterhaltsvorschuss": "Unterhaltsvorschuss",
        "ausbildung": "Ausbildungsvergütung oder Ausbildungsförderung",
        "sonstiges": "Sonstige Einnahmen",
    },
)

ZEITRAUM = _liste(
    "urn:eantrag:codeliste:zeitraum",
    {"monatlich": "je Monat", "jaehrlich": "je Jahr"},
)

ANLAGEART = _liste(
    "urn:eantrag:codeliste:anlageart",
    {
        "mietvertrag": "Mietvertrag",
        "mietbescheinigung": "Mietbescheinigung der Vermieterin oder des Vermieters",
        "einkommensnachweis": "Einkommensnachweis",
        "kontoauszug": "Kontoauszug",
        "bescheid": "Bescheid einer anderen Stelle (etwa über Rente oder Unterhaltsvorschuss)",
        "sonstiges": "Sonstiger Nachweis",
    },
)

ALL: tuple[Codeliste, ...] = (
    NACHRICHTENTYP,
    VERZEICHNISDIENST,
    HUNDERASSE,
    HUNDEGESCHLECHT,
    STEUERVERGUENSTIGUNG,
    VERGUENSTIGUNGSGRUND,
    VERWANDTSCHAFTSVERHAELTNIS,
    EINKOMMENSART,
    ZEITRAUM,
    ANLAGEART,
)
