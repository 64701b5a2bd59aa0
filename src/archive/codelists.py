"""The xdomea code values the archive writes.

The code lists embedded in the XSDs (Nachrichtentyp, Aussonderungsart, Bewertungsvorschlag) are
fixed there. The file-format list (`dateiformat`) is published separately; version 1.0 is built
in (`archive.dateiformat`), so every file of the system gets its code without configuration.
`EANTRAG_XDOMEA_FORMAT_CODES` may still assign codes of that list to other extensions; a code
that is not in it is refused when the settings are read.
"""

from __future__ import annotations

from archive import dateiformat
from archive.errors import ArchiveError

NACHRICHTENTYP_URI = "urn:xoev-de:xdomea:codeliste:nachrichtentyp"
NACHRICHTENTYP_VERSION = "2.0"
AUSSONDERUNGSART_URI = "urn:xoev-de:xdomea:codeliste:aussonderungsart"
BEWERTUNGSVORSCHLAG_URI = "urn:xoev-de:xdomea:codeliste:bewertungsvorschlag"
CODELIST_VERSION_1 = "1.0"
DATEIFORMAT_URI = "urn:xoev-de:xdomea:codeliste:dateiformat"

MESSAGE_NAMES = {
    "0501": "Aussonderung.Anbieteverzeichnis",
    "0502": "Aussonderung.Bewertungsverzeichnis",
    "0503": "Aussonderung.Aussonderung",
    "0504": "Aussonderung.AnbietungEmpfangBestaetigen",
    "0505": "Aussonderung.BewertungEmpfangBestaetigen",
    "0506": "Aussonderung.AussonderungImportBestaetigen",
    "0507": "Aussonderung.AussonderungEmpfangBestaetigen",
}


def extension(filename: str) -> str:
    """The lower-case extension without the dot ("" for none); fast, it runs per file."""
    name = filename.rpartition("/")[2]
    stem, dot, suffix = name.rpartition(".")
    return suffix.lower() if dot and stem else ""


def unknown_codes(configured: dict[str, str]) -> list[str]:
    """The configured codes that are not in the built-in list (empty when all are)."""
    return sorted({code for code in configured.values() if not dateiformat.is_code(code)})


class FormatCodes:
    """File-format codes of the list Dateiformat 1.0 by extension, plus configured ones."""

    def __init__(self, configured: dict[str, str] | None = None) -> None:
        configured = configured or {}
        wrong = unknown_codes(configured)
        if wrong:
            raise ArchiveError(
                f"{', '.join(wrong)} is no code of the xdomea code list {dateiformat.NAME}"
            )
        self.codes = {**dateiformat.BY_EXTENSION, **{k.lower(): v for k, v in configured.items()}}
        self.list_version = dateiformat.VERSION

    def code(self, filename: str, conformance: str | None = None) -> str:
        """The file's code: 044 for a document known to be PDF/A, else by its extension;
        100 (Sonstiges) for a format the list does not name."""
        if conformance is not None and conformance.upper().startswith("PDF/A"):
            return dateiformat.PDF_ARCHIVAL
        return self.codes.get(extension(filename), dateiformat.SONSTIGES)

    def missing(self, filenames: list[str]) -> list[str]:
        """Extensions without a code of their own (written as 100 Sonstiges)."""
        return sorted({extension(name) for name in filenames} - set(self.codes))
