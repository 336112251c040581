"""PDF rendering of results, receipts and letters: A4, a Unicode font (Vietnamese diacritics), the national
motto, the issuer, the title, the printed fields and paragraphs, and a QR code at the top left whose payload
lets anyone check the paper at /verify."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

import qrcode
from django.conf import settings
from fpdf import FPDF

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
QR_SIZE_MM = 28
MARGIN_MM = 15

# fontTools logs every table it subsets at INFO: a dozen lines per rendered PDF.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


def qr_png(payload: str) -> bytes:
    """A QR code of ``payload`` as PNG bytes (error correction M: survives a crease or a smudge)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(payload)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def new_document() -> FPDF:
    """An empty A4 portrait document with the margins and the Unicode font ("NotoSans", regular and "B")
    of every PDF HanoiSmart renders; other apps (the IOC's digest) lay out their own pages on it."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.add_font("NotoSans", "", settings.PDF_FONT_REGULAR)
    pdf.add_font("NotoSans", "B", settings.PDF_FONT_BOLD)
    pdf.set_creator("HanoiSmart")
    return pdf


def render_pdf(
    *,
    title: str,
    subtitle: str = "",
    issuer: str,
    fields: Sequence[tuple[str, str]],
    paragraphs: Sequence[str] = (),
    qr_payload: str,
    footer: str = "",
) -> bytes:
    """One page (more if the content needs it): QR top left, issuer and the national motto side by side
    beneath it, the title, the label/value fields, the paragraphs and a footer. Returns the PDF's bytes."""
    pdf = new_document()
    pdf.set_title(title)
    pdf.set_author(issuer)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN_MM

    # The QR code top left, where verifiers (and Decree 30/2020's layout) expect the issuer's block.
    pdf.image(io.BytesIO(qr_png(qr_payload)), x=MARGIN_MM, y=MARGIN_MM, w=QR_SIZE_MM, h=QR_SIZE_MM)
    header_x = MARGIN_MM + QR_SIZE_MM + 4
    header_width = width - QR_SIZE_MM - 4
    issuer_width = header_width * 0.42
    motto_width = header_width - issuer_width

    pdf.set_xy(header_x, MARGIN_MM + 1)
    pdf.set_font("NotoSans", "B", 9.5)
    pdf.multi_cell(issuer_width, 5, issuer.upper(), align="C")
    pdf.set_xy(header_x + issuer_width, MARGIN_MM + 1)
    pdf.set_font("NotoSans", "B", 9.5)
    pdf.multi_cell(motto_width, 5, NATIONAL_NAME, align="C")
    pdf.set_x(header_x + issuer_width)
    pdf.set_font("NotoSans", "B", 10.5)
    pdf.multi_cell(motto_width, 6, NATIONAL_MOTTO, align="C")
    pdf.set_draw_color(0, 0, 0)
    underline_y = pdf.get_y()
    motto_left = header_x + issuer_width
    pdf.line(motto_left + motto_width * 0.25, underline_y, motto_left + motto_width * 0.75, underline_y)

    pdf.set_y(max(pdf.get_y(), MARGIN_MM + QR_SIZE_MM) + 8)
    pdf.set_font("NotoSans", "B", 15)
    pdf.multi_cell(width, 8, title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    if subtitle:
        pdf.set_font("NotoSans", "", 11)
        pdf.multi_cell(width, 6, subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)

    label_width = width * 0.36
    for label, value in fields:
        pdf.set_font("NotoSans", "", 11)
        top = pdf.get_y()
        pdf.multi_cell(label_width, 6.5, f"{label}:", new_x="RIGHT", new_y="TOP")
        label_bottom = pdf.get_y()
        pdf.set_xy(MARGIN_MM + label_width, top)
        pdf.set_font("NotoSans", "B", 11)
        pdf.multi_cell(width - label_width, 6.5, str(value) or "—", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), label_bottom))

    if paragraphs:
        pdf.ln(3)
        pdf.set_font("NotoSans", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(width, 6.5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)

    if footer:
        pdf.ln(6)
        pdf.set_font("NotoSans", "", 8.5)
        pdf.set_text_color(80, 80, 80)
        pdf.multi_cell(width, 4.5, footer, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
