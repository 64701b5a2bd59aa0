"""What a PDF/A validator checks first, read with pikepdf; and the text a reader sees (pypdf)."""

from __future__ import annotations

import io
from typing import Any

import pikepdf
import pypdf


def _fonts(pdf: pikepdf.Pdf) -> list[Any]:
    fonts = []
    for page in pdf.pages:
        resources = page.obj.get("/Resources", {})
        for font in resources.get("/Font", {}).values():
            fonts.append(font)
            fonts.extend(font.get("/DescendantFonts", []))
    return fonts


def assert_pdfa(data: bytes) -> str:
    """Fail unless the bytes are a PDF/A-2b candidate: identification in XMP, an output intent
    with an ICC profile, every font embedded, no encryption. Returns the document's text."""
    assert data.startswith(b"%PDF-1.7"), data[:16]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert not pdf.is_encrypted
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "2", meta.get("pdfaid:part")
        assert meta.get("pdfaid:conformance") == "B", meta.get("pdfaid:conformance")
        intents = pdf.Root.get("/OutputIntents")
        assert intents is not None and len(intents) >= 1, "no output intent"
        intent = intents[0]
        assert intent.get("/S") == "/GTS_PDFA1"
        profile = intent.get("/DestOutputProfile")
        assert profile is not None and int(profile.get("/N")) == 3
        fonts = _fonts(pdf)
        assert fonts, "no fonts"
        for font in fonts:
            if font.get("/Subtype") == "/Type0":
                continue  # its descendant carries the descriptor
            descriptor = font.get("/FontDescriptor")
            assert descriptor is not None, f"{font.get('/BaseFont')} has no descriptor"
            embedded = [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor]
            assert embedded, f"{font.get('/BaseFont')} is not embedded"
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)
