"""The invoice for advance payment as a PDF: what the help desk used to fax, now a document in the chat.

fpdf2 writes the PDF; the font is Noto Sans, shipped on PyPI by `fontpkg-noto-sans`, because it has every letter
the bot writes: Serbian Latin (č ć đ š ž) and Cyrillic (ђ ћ џ љ њ), and Turkmen (ä ç ň ö ş ü ý ž). The text is
embedded as Unicode, so the PDF can be searched and read back (the tests do). Rendering takes a noticeable moment
of CPU, so callers run it in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import fontpkg_noto_sans
from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_FILE = fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"
FONT = "NotoSans"


@dataclass(frozen=True, slots=True)
class InvoiceText:
    """Everything printed, already localized by the flow: the PDF knows no language."""

    title: str
    number_line: str
    seller: list[str]
    buyer_heading: str
    buyer: list[str]
    rows: list[tuple[str, str]]  # label, value
    total: tuple[str, str]
    notes: list[str]
    payment_heading: str = ""
    payment: list[tuple[str, str]] = field(default_factory=list)  # what a payment slip needs: payee, account, …


def render_invoice(text: InvoiceText) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(text.title)
    pdf.set_creator("mila")
    pdf.add_font(FONT, "", str(FONT_FILE))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(value: str, size: float = 10, height: float = 6) -> None:
        pdf.set_font(FONT, size=size)
        pdf.multi_cell(width, height, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    for seller_line in text.seller:
        line(seller_line, 9, 5)
    pdf.ln(6)
    line(text.title, 18, 10)
    line(text.number_line, 10)
    pdf.ln(4)
    line(text.buyer_heading, 11)
    for buyer_line in text.buyer:
        line(buyer_line)
    pdf.ln(4)
    pdf.set_font(FONT, size=10)
    for label, value in [*text.rows, text.total]:
        pdf.cell(width * 0.6, 8, label, border="B")
        pdf.cell(width * 0.4, 8, value, border="B", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    if text.payment:
        line(text.payment_heading, 11)
        for label, value in text.payment:
            pdf.cell(width * 0.4, 7, label)
            pdf.cell(width * 0.6, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)
    for note in text.notes:
        line(note, 9, 5)
    return bytes(pdf.output())
