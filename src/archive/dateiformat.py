"""The xdomea code list "Dateiformat", version 1.0, built in.

Source: the published genericode list `urn:xoev-de:xdomea:codeliste:dateiformat` version 1.0
of the AG xdomea des IT-Planungsrates (valid from 2016-01-01), as carried by the Landesarchiv
Thüringen's xdomea_toolkit (`message_generation/schemes/xdomea_3.0.0/code_lists/
Dateiformat_1.0.xml`). Version 1.0 is the one whose full content is published; the state
archives' own software (x-man) writes it with `listVersionID="1.0"`. The codes are standard
data, kept here verbatim (a test compares them with the published file), so an export needs no
hand-configured codes and a mistyped one cannot reach an archive.

Which code a file gets: the system's own PDF/A documents 044 ("Archival"), other PDFs 018, XML
030, HTML 008, text 045; a format the list lacks (JSON) is 100 "Sonstiges"; other extensions by
the description's leading extension (`docx` 035, `png` 019, …).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

URI = "urn:xoev-de:xdomea:codeliste:dateiformat"
VERSION = "1.0"
NAME = f"Dateiformat {VERSION} ({URI})"

CODES: Mapping[str, str] = MappingProxyType(
    {
        "001": "bmp - Windows Bitmap",
        "002": "csv - Comma Separated Values",
        "003": "doc - Microsoft Word for Windows Document",
        "004": "doc - Microsoft Word for MS-DOS Document",
        "005": "doc - Microsoft Word for Macintosh Document",
        "006": "eml - Outlook Express Electronic Mail",
        "007": "htm - Hypertext Markup Language",
        "008": "html - Hypertext Markup Language",
        "009": "jpe - JPEG File Interchange Format",
        "010": "jpeg - JPEG File Interchange Format",
        "011": "jpg - JPEG File Interchange Format",
        "012": "msg - Microsoft Outlook Email Message",
        "013": "odp - OpenDocument Presentation Format",
        "014": "ods - OpenDocument Spreadsheet Format",
        "015": "odt - OpenDocument Text Format",
        "016": "otp - OpenDocument Presentation Format Template",
        "017": "ots - OpenDocument Spreadsheet Format Template",
        "018": "pdf - Portable Document Format",
        "019": "png - Portable Network Graphics",
        "020": "ppt - Microsoft PowerPoint",
        "021": "ps - PostScript",
        "022": "rtf - Rich Text Format",
        "023": "tif - Tagged Image File Format",
        "024": "tiff - Tagged Image File Format",
        "025": "wps - Microsoft Works for Windows",
        "026": "xlc - Microsoft Excel Chart",
        "027": "xlm - Microsoft Excel Macro",
        "028": "xls - Binary Interchange File Format (BIFF) Worksheet",
        "029": "xlw - Binary Interchange File Format (BIFF) Workbook",
        "030": "xml - eXtensible Markup Language",
        "031": "xsd - XML Schema Definition",
        "032": "dot - Microsoft Word Template",
        "033": "pot - Microsoft Powerpoint Design Template",
        "034": "xlt - Mircosoft Excel Template",
        "035": "docx - Office Open XML Text",
        "036": "xlsx - Office Open XML Spreadsheet",
        "037": "pptx - Office Open XML Presentation",
        "038": "dotx - Office Open XML Text Template",
        "039": "xltx - Office Open XML Spreadsheet Template",
        "040": "potx - Office Open XML Presentation Template",
        "041": "dtd - Document Type Definition",
        "042": "mpp - Microsoft Project",
        "043": "ott - OpenDocument Text Format Template",
        "044": "pdf - Portable Document Format (Archival)",
        "045": "txt - Unicode Text File",
        "100": "Sonstiges",
    }
)

PDF_ARCHIVAL = "044"
SONSTIGES = "100"

BY_EXTENSION: Mapping[str, str] = MappingProxyType(
    {
        **{
            description.split(" - ")[0]: code
            for code, description in sorted(CODES.items(), reverse=True)
            if " - " in description
        },
        # the list names three Word formats "doc" and two PDFs; the first of each is meant
        "doc": "003",
        "pdf": "018",
        # what version 1.0 lacks
        "json": SONSTIGES,
    }
)
"""Extension → code. Where two codes share an extension the general one wins (`pdf` 018;
044 is given to documents known to be PDF/A, not guessed from a name)."""


def is_code(code: str) -> bool:
    return code in CODES
