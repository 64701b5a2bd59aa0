"""The xdomea code values the archive writes.

The code lists embedded in the XSDs (Nachrichtentyp, Aussonderungsart, Bewertungsvorschlag) are
fixed there. The file-format list (`dateiformat`) is published separately; only codes checked
against real messages are built in, the rest come from `EANTRAG_XDOMEA_FORMAT_CODES`.
"""

from __future__ import annotations

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

BUILTIN_FORMAT_CODES = {
    # PDF: "018" in list version 2.0 (a BRAK sample message) and 1.0 (x-man's test data).
    "pdf": "018",
    # Unicode text: "045" in list version 2.0 (Landesarchiv NRW's annotated 0503).
    "txt": "045",
}


def extension(filename: str) -> str:
    """The lower-case extension without the dot ("" for none); fast, it runs per file."""
    name = filename.rpartition("/")[2]
    stem, dot, suffix = name.rpartition(".")
    return suffix.lower() if dot and stem else ""


class FormatCodes:
    """File-format codes by extension: the built-in ones plus what the operator configured."""

    def __init__(self, configured: dict[str, str], list_version: str) -> None:
        self.codes = {**BUILTIN_FORMAT_CODES, **{k.lower(): v for k, v in configured.items()}}
        self.list_version = list_version

    def code(self, filename: str) -> str:
        ext = extension(filename)
        try:
            return self.codes[ext]
        except KeyError:
            raise ArchiveError(
                f"no xdomea file-format code for {ext or 'files without extension'!r} "
                f"({filename}); add it to EANTRAG_XDOMEA_FORMAT_CODES from the published "
                f"code list {DATEIFORMAT_URI} version {self.list_version}"
            ) from None

    def missing(self, filenames: list[str]) -> list[str]:
        return sorted({extension(name) for name in filenames} - set(self.codes))
