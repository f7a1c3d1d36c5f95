"""Documents as PDF, for the DPO's files and the supervisory authority (Art. 30 (4) GDPR).

fpdf2 is pure Python and its built-in Helvetica needs no fonts from the system; it covers
Latin-1, which holds German text. Characters beyond it (dashes, arrows) are written as their
closest Latin-1 form."""

from __future__ import annotations

from fpdf import FPDF

from chatproof.domain.processing import Document

_REPLACE = str.maketrans(
    {"–": "-", "—": "-", "‑": "-", "→": "->", "…": "...", "‖": "||", "“": '"', "”": '"',
     "„": '"', "‘": "'", "’": "'", "·": "·", "\u202f": " ", "≥": ">=", "≤": "<="}
)  # fmt: skip


def _latin1(text: str) -> str:
    return text.translate(_REPLACE).encode("latin-1", "replace").decode("latin-1")


def to_pdf(doc: Document) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(doc.title))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(width, 8, _latin1(doc.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(width, 5, _latin1(doc.subtitle), new_x="LMARGIN", new_y="NEXT")
    for section in doc.sections:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(width, 7, _latin1(section.heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for paragraph in section.paragraphs:
            pdf.multi_cell(width, 5, _latin1(paragraph), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        if section.rows:
            with pdf.table(col_widths=(30, 70), text_align="LEFT", line_height=5) as table:
                for key, value in section.rows:
                    row = table.row()
                    row.cell(_latin1(key))
                    row.cell(_latin1(value))
        for bullet in section.bullets:
            pdf.multi_cell(width, 5, _latin1(f"- {bullet}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
