"""PDF/A-2b documents for people and archives: the rendering of an application, the Bescheid.

fpdf2 writes them: pure Python (the image needs no Pango, Cairo or fontconfig), a PDF/A
compliance mode (2.8: XMP identification `pdfaid:part`/`conformance`, no document info
dictionary, refuses encryption and unembedded fonts), and the sRGB IEC61966-2.1 profile it ships
as the output intent. WeasyPrint would lay out HTML/CSS, but needs Pango from the system and is
several times slower per page. The fonts are DejaVu Sans from the package itself (`fonts/`,
licence beside them), subset to Latin, Greek and Cyrillic, so nothing is read from the host or
downloaded, and the ~160 KB font parses in a few milliseconds per document instead of ~150 for
the full 750 KB one; each PDF embeds only the glyphs it uses.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import OutputIntentSubType, XPos, YPos
from fpdf.output import PDFICCProfile

from casefile.readable import Field
from eantrag.blobs import TieredBlobStore
from eantrag.db import Insert

PDF = "application/pdf"
CONFORMANCE = "PDF/A-2B"  # fpdf2's name of the level
CONFORMANCE_NAME = "PDF/A-2b"  # as documents and the archive name it
FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
LABEL_WIDTH = 62.0  # mm of the caption column; the value column takes the rest
LINE = 5.2  # mm per text line at 9.5 pt


@cache
def _srgb_profile() -> bytes:
    return (resources.files("fpdf") / "data" / "color_profiles" / "sRGB2014.icc").read_bytes()


class _Pdf(FPDF):
    """A4 pages with a footer that names the document and counts the pages."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(90, 90, 90)
        page = f"Seite {self.page_no()} von {{nb}}"
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, page, align="R")
        self.set_text_color(0, 0, 0)


class PdfaDocument:
    """One PDF/A-2b document, written top to bottom."""

    def __init__(
        self, *, title: str, author: str, subject: str, created_at: datetime, footer: str
    ) -> None:
        pdf = _Pdf(format="A4", unit="mm", enforce_compliance=CONFORMANCE)
        pdf.footer_text = footer
        pdf.set_lang("de-DE")
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_subject(subject)
        pdf.set_creator("eantrag")
        pdf.set_creation_date(created_at)
        pdf.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
        pdf.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        pdf.add_output_intent(
            OutputIntentSubType.PDFA,
            output_condition_identifier="sRGB IEC61966-2.1",
            registry_name="http://www.color.org",
            dest_output_profile=PDFICCProfile(_srgb_profile(), 3, "DeviceRGB"),
            info="sRGB IEC61966-2.1",
        )
        pdf.set_margins(22, 18, 18)
        pdf.set_auto_page_break(True, margin=20)
        pdf.add_page()
        self.pdf = pdf

    @property
    def width(self) -> float:
        return float(self.pdf.epw)

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(FONT, "B" if bold else "", size)

    def title(self, text: str) -> None:
        self.font(15, bold=True)
        self.pdf.multi_cell(0, 7.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(2)

    def heading(self, text: str, level: int = 1) -> None:
        if self.pdf.will_page_break(18):
            self.pdf.add_page()
        self.pdf.ln(3 if level <= 1 else 1.5)
        self.font(11.5 if level <= 1 else 10, bold=True)
        self.pdf.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(0.5)

    def paragraph(self, text: str, size: float = 9.5, bold: bool = False, gap: float = 2) -> None:
        self.font(size, bold)
        for part in text.split("\n"):
            if part.strip():
                self.pdf.multi_cell(0, LINE, part, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            else:
                self.pdf.ln(LINE / 2)
        self.pdf.ln(gap)

    def lines(self, lines: Sequence[str], size: float = 9.5, x: float | None = None) -> None:
        self.font(size)
        for line in lines:
            if x is not None:
                self.pdf.set_x(x)
            self.pdf.cell(0, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def fields(self, fields: Sequence[Field], size: float = 9.5) -> None:
        """Caption and value side by side, left-aligned; a value too long for its column wraps,
        and a field never starts on a page it does not fit on."""
        pdf = self.pdf
        value_width = self.width - LABEL_WIDTH
        for field in fields:
            self.font(size)
            value_lines = self._lines(field.value, value_width - 2)
            label_lines = self._lines(field.label, LABEL_WIDTH - 4)
            if pdf.will_page_break(LINE * max(value_lines, label_lines)):
                pdf.add_page()
            top, page = pdf.get_y(), pdf.page
            pdf.set_text_color(70, 70, 70)
            pdf.multi_cell(
                LABEL_WIDTH - 2, LINE, field.label, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            label_bottom = pdf.get_y()
            pdf.set_text_color(0, 0, 0)
            pdf.set_xy(pdf.l_margin + LABEL_WIDTH, top)
            if value_lines == 1:
                pdf.cell(value_width, LINE, field.value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            else:
                pdf.multi_cell(
                    value_width, LINE, field.value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
                )
            if pdf.page == page:
                pdf.set_y(max(pdf.get_y(), label_bottom))
        pdf.ln(1)

    def _lines(self, text: str, width: float) -> int:
        """About how many lines `text` takes in `width` (for keeping a field together)."""
        parts = text.split("\n")
        return sum(max(1, math.ceil(self.pdf.get_string_width(part) / width)) for part in parts)

    def rule(self) -> None:
        y = self.pdf.get_y() + 1
        self.pdf.set_draw_color(160, 160, 160)
        self.pdf.line(self.pdf.l_margin, y, self.pdf.l_margin + self.width, y)
        self.pdf.ln(3)

    def output(self) -> bytes:
        data: Any = self.pdf.output()
        return bytes(data)


async def keep(blobs: TieredBlobStore, data: bytes) -> tuple[str, str, list[Insert]]:
    """Store a produced PDF: (blob key, SHA-256, rows for the caller's transaction). A small one
    becomes a row of that transaction; a large one goes to the blob store now, durably."""
    sha256 = hashlib.sha256(data).hexdigest()
    inline = blobs.inline_row(data, sha256)
    if inline is not None:
        key, row = inline
        return key, sha256, [row]
    return await blobs.put(io.BytesIO(data), sha256, len(data), PDF), sha256, []
