"""The access report as PDF, for a person who asked on paper or wants a printable copy (GDPR
Art. 15(3)).

A report can hold tens of thousands of messages, which fpdf2's laid-out cells render far too
slowly, so the body is set in a monospaced font, wrapped by character count and written line by
line; headings stay in Helvetica. Latin-1 only, like the other documents (German fits).
"""

from __future__ import annotations

import textwrap

from fpdf import FPDF

from chatproof.domain.processing import Document
from chatproof.services.documents_pdf import _latin1

MARGIN = 16.0
BODY_PT = 8.0
LINE_MM = 3.6
_PT_TO_MM = 25.4 / 72
_COURIER_EM = 0.6
"""Every Courier glyph is 600/1000 em wide."""


class _Writer:
    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4")
        self.pdf.set_title(title)
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.width = self.pdf.w - 2 * MARGIN
        self.columns = int(self.width / (BODY_PT * _COURIER_EM * _PT_TO_MM))
        self.bottom = self.pdf.h - MARGIN
        self.y = self.bottom  # the first line opens a page

    def _room(self, height: float) -> None:
        if self.y + height > self.bottom:
            self.pdf.add_page()
            self.y = MARGIN

    def heading(self, text: str, size: float) -> None:
        self._room(size * 0.6 + LINE_MM * 2)
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.set_xy(MARGIN, self.y)
        self.pdf.multi_cell(self.width, size * 0.45, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.y = self.pdf.get_y() + 1.5

    def lines(self, text: str, indent: str = "") -> None:
        self.pdf.set_font("Courier", "", BODY_PT)
        wrapped = textwrap.wrap(
            _latin1(text),
            self.columns,
            subsequent_indent=indent,
            break_long_words=True,
            replace_whitespace=True,
        ) or [""]
        for line in wrapped:
            self._room(LINE_MM)
            self.pdf.text(MARGIN, self.y + LINE_MM * 0.8, line)
            self.y += LINE_MM

    def gap(self) -> None:
        self.y += LINE_MM / 2


def report_pdf(doc: Document) -> bytes:
    out = _Writer(_latin1(doc.title))
    out.heading(doc.title, 15)
    out.lines(doc.subtitle)
    for section in doc.sections:
        out.gap()
        out.heading(section.heading, 11)
        for paragraph in section.paragraphs:
            out.lines(paragraph)
            out.gap()
        for key, value in section.rows:
            out.lines(f"{key}: {value}", "  ")
        for bullet in section.bullets:
            out.lines(f"- {bullet}", "  ")
    return bytes(out.pdf.output())
