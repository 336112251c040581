"""The leaders' digest on paper and in a spreadsheet: ``digest_pdf`` (A4, the Noto Sans font of every
HanoiSmart PDF, from ``documents.pdf``) and ``digest_xlsx`` (a sheet of KPIs with the Decision 766 groups, a
sheet of rankings, a sheet of the procedures with late dossiers). Both render a ``digests.Digest`` in the
active language; call them inside the same ``translation.override`` as ``digest_build``."""

from __future__ import annotations

import io
from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from hanoismart.documents.pdf import new_document
from hanoismart.ioc.digests import Digest, format_value, period_label
from hanoismart.ioc.models import DigestFrequency
from hanoismart.ioc.selectors import RankingRow

PDF_MIME = "application/pdf"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: How many wards and agencies the PDF ranks (the spreadsheet lists them all).
TOP_RANKED = 10
_GREY = (90, 90, 90)
_HEADING_FILL = (230, 236, 245)
_STATUS_COLOURS = {"good": (25, 120, 60), "warning": (170, 110, 0), "bad": (180, 30, 30)}


def status_label(status: str) -> str:
    """A tile's status in words."""
    return {
        "good": _("On target"),
        "warning": _("Close to target"),
        "bad": _("Off target"),
    }.get(status, "")


def _frequency_title(frequency: str) -> str:
    return {
        DigestFrequency.DAILY: _("Daily digest"),
        DigestFrequency.WEEKLY: _("Weekly digest"),
        DigestFrequency.MONTHLY: _("Monthly digest"),
    }[frequency]


def _target(value: float | None, measure: str) -> str:
    return "" if value is None else format_value(value, measure)


def _made_at(digest: Digest) -> str:
    return dateformat.format(timezone.localtime(digest.generated_at), "d/m/Y H:i")


def _ioc_link(digest: Digest) -> str:
    query = {"from": digest.date_from.isoformat(), "to": digest.date_to.isoformat()}
    if digest.unit_code:
        query = {"unit": digest.unit_code, **query}
    return f"{settings.SITE_URL.rstrip('/')}{reverse('ioc:overview')}?{urlencode(query)}"


def filename(digest: Digest, fmt: str) -> str:
    """A download's file name: unit, frequency and first day, e.g. ``digest-00070-weekly-2026-03-09.pdf``."""
    return f"digest-{digest.unit_code or 'city'}-{digest.frequency}-{digest.date_from.isoformat()}.{fmt}"


# -- PDF ----------------------------------------------------------------------------------------------------


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - pdf.b_margin - 35:  # no heading alone at the foot of a page
        pdf.add_page()
    else:
        pdf.ln(4)
    pdf.set_font("NotoSans", "B", 12)
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(0, 7, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _line(pdf: FPDF, text: str, *, size: float = 10, bold: bool = False, grey: bool = False) -> None:
    pdf.set_font("NotoSans", "B" if bold else "", size)
    pdf.set_text_color(*(_GREY if grey else (0, 0, 0)))
    pdf.multi_cell(0, 5.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _table(
    pdf: FPDF,
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    align: Sequence[str],
    colours: Sequence[tuple[int, int, int] | None] = (),
) -> None:
    """A bordered table with a shaded heading row; ``colours`` tints the last cell of each row."""
    pdf.set_font("NotoSans", "", 9)
    heading_style = FontFace(emphasis="BOLD", fill_color=_HEADING_FILL)
    with pdf.table(
        col_widths=tuple(widths),
        text_align=tuple(align),
        headings_style=heading_style,
        line_height=5,
        padding=1,
        width=pdf.epw,
    ) as table:
        row = table.row()
        for heading in headings:
            row.cell(heading)
        for number, values in enumerate(rows):
            row = table.row()
            colour = colours[number] if number < len(colours) else None
            for index, value in enumerate(values):
                last = index == len(values) - 1
                style = FontFace(color=colour, emphasis="BOLD") if last and colour else None
                row.cell(value, style=style)


def _ranking_rows(rows: list[RankingRow]) -> list[list[str]]:
    return [[str(row.rank), row.label, format_value(row.score, "score")] for row in rows[:TOP_RANKED]]


def digest_pdf(digest: Digest) -> bytes:
    """The digest as an A4 PDF: key figures against the period before and the targets, the Decision 766
    groups, late dossiers and the procedures with most of them, reporting, the top wards and agencies."""
    pdf = new_document()
    title = _("Leaders' digest")
    pdf.set_title(f"{title} — {digest.unit_name}")
    pdf.set_author("HanoiSmart")
    pdf.add_page()
    period = period_label(frequency=digest.frequency, date_from=digest.date_from, date_to=digest.date_to)

    _line(pdf, _("HanoiSmart · Intelligent Operations Center").upper(), size=8.5, bold=True, grey=True)
    pdf.ln(1)
    pdf.set_font("NotoSans", "B", 16)
    pdf.multi_cell(0, 8, f"{title}: {digest.unit_name}", align="L", new_x="LMARGIN", new_y="NEXT")
    _line(pdf, f"{_frequency_title(digest.frequency)} · {period}", size=11)
    _line(
        pdf,
        _(
            "Made on %(moment)s. Dossiers in progress, overdue or due soon and late reports are counted at "
            "that moment; every other figure covers the period."
        )
        % {"moment": _made_at(digest)},
        size=8.5,
        grey=True,
    )
    _line(
        pdf,
        _("Every figure leads to the records behind it in the operations center: %(link)s")
        % {"link": _ioc_link(digest)},
        size=8.5,
        grey=True,
    )

    _heading(pdf, _("Key figures"))
    tiles = digest.overview.tiles
    _table(
        pdf,
        [_("Indicator"), _("Value"), _("Period before"), _("Target"), _("Status")],
        [
            [
                str(tile.kpi.label),
                format_value(tile.value, tile.kpi.measure),
                ""
                if tile.kpi.kind != "flow" and tile.previous is None
                else format_value(tile.previous, tile.kpi.measure),
                _target(tile.target, tile.kpi.measure),
                status_label(tile.status),
            ]
            for tile in tiles
        ],
        widths=(62, 27, 30, 22, 39),
        align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        colours=[_STATUS_COLOURS.get(tile.status) for tile in tiles],
    )

    _heading(pdf, _("Decision 766 index"))
    score = digest.tile("index_766")
    _line(
        pdf, _("Score: %(score)s of 100 points.") % {"score": format_value(score.value, "score")}, bold=True
    )
    pdf.ln(1)
    _table(
        pdf,
        [_("Group"), _("Points"), _("Maximum")],
        [
            [str(group.name), format_value(group.points, "score"), str(group.max_points)]
            for group in digest.overview.index_groups
        ],
        widths=(110, 35, 35),
        align=("LEFT", "RIGHT", "RIGHT"),
    )

    _heading(pdf, _("Late dossiers"))
    figures = digest.overview.figures
    _line(
        pdf,
        _("Finished late in the period: %(late)s. Open and past their due time now: %(overdue)s.")
        % {
            "late": format_value(figures.get("finished_late", 0), "count"),
            "overdue": format_value(digest.tile("overdue").value, "count"),
        },
    )
    if digest.late_procedures:
        pdf.ln(1)
        _table(
            pdf,
            [_("Procedure"), _("Finished late"), _("Overdue now")],
            [
                [
                    f"{item.code} {item.name}",
                    format_value(item.finished_late, "count"),
                    format_value(item.overdue, "count"),
                ]
                for item in digest.late_procedures
            ],
            widths=(120, 30, 30),
            align=("LEFT", "RIGHT", "RIGHT"),
        )
    else:
        _line(pdf, _("No procedure had late dossiers."), grey=True)

    _heading(pdf, _("Reporting"))
    _line(
        pdf,
        _(
            "Reports submitted of those expected for the latest period past due: %(completeness)s. "
            "Reports past their due date and not submitted: %(late)s."
        )
        % {
            "completeness": format_value(digest.tile("reporting_completeness").value, "percent"),
            "late": format_value(digest.tile("reports_late").value, "count"),
        },
    )

    _heading(pdf, _("Rankings by the Decision 766 index"))
    for caption, rows in ((_("Wards and communes"), digest.wards), (_("Agencies"), digest.agencies)):
        ranked = [row for row in rows if row.score is not None]
        _line(pdf, caption, bold=True)
        if ranked:
            _table(
                pdf,
                [_("Rank"), _("Name"), _("Score")],
                _ranking_rows(ranked),
                widths=(20, 130, 30),
                align=("RIGHT", "LEFT", "RIGHT"),
            )
        else:
            _line(pdf, _("Nothing to rank in this period."), grey=True)
        pdf.ln(2)

    return bytes(pdf.output())


# -- Excel --------------------------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_NUMBER_FORMATS = {"count": "#,##0", "percent": "0.0", "points": "0.00", "score": "0.0"}


def _sheet_header(sheet, digest: Digest, title: str) -> int:
    """The title lines of a sheet; returns the next free row."""
    period = period_label(frequency=digest.frequency, date_from=digest.date_from, date_to=digest.date_to)
    sheet["A1"] = f"{title}: {digest.unit_name}"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = f"{_frequency_title(digest.frequency)} · {period}"
    sheet["A3"] = _("Made on %(moment)s") % {"moment": _made_at(digest)}
    return 5


def _headings(sheet, row: int, headings: Sequence[str]) -> None:
    for column, heading in enumerate(headings, start=1):
        cell = sheet.cell(row=row, column=column, value=heading)
        cell.font = _BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(sheet, widths: Sequence[int]) -> None:
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _kpi_sheet(sheet, digest: Digest) -> None:
    row = _sheet_header(sheet, digest, _("Leaders' digest"))
    _headings(
        sheet,
        row,
        [
            _("Code"),
            _("Indicator"),
            _("Value"),
            _("Period before"),
            _("Target"),
            _("Status"),
            _("Definition"),
        ],
    )
    for tile in digest.overview.tiles:
        row += 1
        number_format = _NUMBER_FORMATS.get(tile.kpi.measure, "General")
        values = [tile.kpi.code, str(tile.kpi.label), tile.value, tile.previous, tile.target]
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            if column >= 3:
                cell.number_format = number_format
        sheet.cell(row=row, column=6, value=status_label(tile.status))
        sheet.cell(row=row, column=7, value=str(tile.kpi.description))
    row += 2
    sheet.cell(row=row, column=1, value=_("Decision 766 index")).font = _BOLD
    row += 1
    _headings(sheet, row, [_("Code"), _("Group"), _("Points"), _("Maximum")])
    for group in digest.overview.index_groups:
        row += 1
        for column, value in enumerate(
            [group.code, str(group.name), group.points, group.max_points], start=1
        ):
            sheet.cell(row=row, column=column, value=value)
    _widths(sheet, (24, 34, 12, 14, 10, 18, 70))
    sheet.freeze_panes = "A6"


def _ranking_sheet(sheet, digest: Digest) -> None:
    row = _sheet_header(sheet, digest, _("Rankings by the Decision 766 index"))
    groups = digest.overview.index_groups
    _headings(
        sheet,
        row,
        [_("Level"), _("Rank"), _("Code"), _("Name"), _("Score"), *(str(group.name) for group in groups)],
    )
    for level, rows in ((_("Ward or commune"), digest.wards), (_("Agency"), digest.agencies)):
        for ranked in rows:
            row += 1
            points = [group.points for group in ranked.groups]
            values = [level, ranked.rank, ranked.key, ranked.label, ranked.score, *points]
            for column, value in enumerate(values, start=1):
                sheet.cell(row=row, column=column, value=value)
    _widths(sheet, (18, 8, 16, 44, 10, *(16 for _group in groups)))
    sheet.freeze_panes = "A6"


def _late_sheet(sheet, digest: Digest) -> None:
    row = _sheet_header(sheet, digest, _("Late dossiers"))
    _headings(sheet, row, [_("Procedure code"), _("Procedure"), _("Finished late"), _("Overdue now")])
    for item in digest.late_procedures:
        row += 1
        for column, value in enumerate([item.code, item.name, item.finished_late, item.overdue], start=1):
            sheet.cell(row=row, column=column, value=value)
    _widths(sheet, (16, 70, 14, 14))
    sheet.freeze_panes = "A6"


def digest_xlsx(digest: Digest) -> bytes:
    """The digest as a workbook: "KPIs" (every tile and the 766 groups), "Rankings" (every ward and agency
    ranked) and "Late dossiers" (the procedures with most late dossiers); numbers stay numbers."""
    workbook = Workbook()
    kpis = workbook.active
    kpis.title = _("KPIs")[:31]
    _kpi_sheet(kpis, digest)
    _ranking_sheet(workbook.create_sheet(_("Rankings")[:31]), digest)
    _late_sheet(workbook.create_sheet(_("Late dossiers")[:31]), digest)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
