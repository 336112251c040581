"""Excel for officials who work in spreadsheets: a report's template (pre-filled with the unit, the period,
the form's indicators and last period's values), reading a filled template back into value entries with
the cell of each, and exports of values as .xlsx and CSV.

The template's sheet "Report" keeps machine keys where people do not type: B2 the form code, B3 the unit
code, D3 the agency code (a department's report), B4 the period code, row 5 (hidden) the key of each column
(``indicator``, ``total``, a disaggregation such as ``sex=female``, ``previous``, ``comment``); the figures
start on row 7, one indicator per row.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from hanoismart.common.errors import InvalidInput
from hanoismart.reporting.models import DataValue, Indicator, Period, ReportForm, Submission, ValueType
from hanoismart.reporting.selectors import period_previous, submission_of, version_items

SHEET = "Report"
KEY_ROW = 5
HEADER_ROW = 6
FIRST_ROW = 7
MAX_ROWS = 1000
MAX_COLUMNS = 60
MAX_BYTES = 2_000_000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_GREY = PatternFill("solid", fgColor="DDDDDD")
_INPUT = PatternFill("solid", fgColor="FFF9E5")


def disaggregation_keys(indicator: Indicator) -> list[str]:
    """Every combination key of the indicator's categories (sets sorted by code): ``sex=female`` …"""
    categories = sorted(indicator.disaggregations or [], key=lambda item: item["code"])
    if not categories:
        return []
    return [
        "|".join(f"{code}={option}" for code, option in combination)
        for combination in itertools.product(*[[(c["code"], o) for o in c["options"]] for c in categories])
    ]


def _cell_value(row: DataValue | None) -> Any:
    if row is None:
        return None
    if row.number is None:
        return row.text
    number = row.number.normalize()
    return int(number) if number == number.to_integral_value() else float(number)


def _values_of(submission: Submission | None) -> dict[tuple[int, str], DataValue]:
    if submission is None or submission.pk is None:
        return {}
    return {(row.indicator_id, row.disaggregation): row for row in submission.values.all()}


def template_workbook(*, submission: Submission) -> bytes:
    """The .xlsx template of ``submission``'s report: its unit, period and indicators, the values already
    entered, and the reporter's values of the period before for reference."""
    form, period = submission.form, submission.period
    items = version_items(submission.version)
    previous_period = period_previous(period)
    previous = None
    if previous_period is not None:
        previous = submission_of(
            form=form, period=previous_period, unit=submission.unit, agency=submission.agency
        )
        if previous is not None and not previous.is_counted:
            previous = None
    current, before = _values_of(submission), _values_of(previous)
    keys: list[str] = []
    for item in items:
        for key in disaggregation_keys(item.indicator):
            if key not in keys:
                keys.append(key)
    columns = ["indicator", "name", "unit_of_measure", "total", *keys, "previous", "comment"]
    titles = {
        "indicator": _("Code"),
        "name": _("Indicator"),
        "unit_of_measure": _("Unit of measure"),
        "total": _("Total"),
        "previous": _("Previous period (%(code)s)") % {"code": previous_period.code}
        if previous_period
        else _("Previous period"),
        "comment": _("Comment"),
    }
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet["A1"] = form.name
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"], sheet["B2"] = _("Form"), form.code
    sheet["A3"], sheet["B3"], sheet["C3"] = _("Unit"), submission.unit.code, submission.unit.name
    sheet["D3"] = submission.agency.code if submission.agency else ""
    sheet["E3"] = submission.agency.name if submission.agency else ""
    sheet["A4"], sheet["B4"] = _("Period"), period.code
    sheet["C4"] = f"{period.start:%d/%m/%Y}–{period.end:%d/%m/%Y}"
    sheet["D4"] = _("Due %(date)s") % {"date": f"{period.due_on:%d/%m/%Y}"}
    for column, key in enumerate(columns, start=1):
        sheet.cell(KEY_ROW, column, key)
        cell = sheet.cell(HEADER_ROW, column, titles.get(key, key.replace("|", " · ")))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[KEY_ROW].hidden = True
    for offset, item in enumerate(items):
        row = FIRST_ROW + offset
        indicator = item.indicator
        own_keys = set(disaggregation_keys(indicator))
        sheet.cell(row, 1, indicator.code)
        sheet.cell(row, 2, indicator.name + (" *" if item.is_required else ""))
        sheet.cell(row, 3, indicator.unit_of_measure or indicator.get_value_type_display())
        for column, key in enumerate(columns, start=1):
            if key == "total":
                cell = sheet.cell(row, column, _cell_value(current.get((indicator.pk, ""))))
                cell.fill = _INPUT
            elif key in own_keys:
                cell = sheet.cell(row, column, _cell_value(current.get((indicator.pk, key))))
                cell.fill = _INPUT
            elif key == "previous":
                sheet.cell(row, column, _cell_value(before.get((indicator.pk, ""))))
            elif key == "comment":
                found = current.get((indicator.pk, ""))
                sheet.cell(row, column, found.comment if found is not None and found.comment else None)
            elif key not in ("indicator", "name", "unit_of_measure"):
                sheet.cell(row, column).fill = _GREY
    widths = {"indicator": 22, "name": 48, "unit_of_measure": 14, "comment": 30, "previous": 16}
    for column, key in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(key, 12)
    sheet.freeze_panes = sheet.cell(FIRST_ROW, 4)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


@dataclass(frozen=True)
class CellEntry:
    """One value read from a cell: indicator code, disaggregation key ("" for the total), raw value, comment
    (the fields of ``services.ValueEntry``; this module sits below the services, which import it)."""

    indicator: str
    value: Any
    disaggregation: str = ""
    comment: str = ""


@dataclass
class ParsedTemplate:
    """What a filled template holds: the entries, the cell each came from, and the raw value of each cell."""

    entries: list[CellEntry] = field(default_factory=list)
    cells: dict[tuple[str, str], str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def workbook_read(content: bytes) -> Any:
    """The template's sheet from an uploaded file; ``InvalidInput`` for anything that is not an .xlsx file of
    a sensible size."""
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            _("The file is too large (at most %(size)d MB).") % {"size": MAX_BYTES // 1_000_000},
            code="too_large",
        )
    if not content.startswith(b"PK\x03\x04"):
        raise InvalidInput(_("This is not an Excel (.xlsx) file."), code="not_xlsx")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InvalidInput(_("This is not an Excel (.xlsx) file."), code="not_xlsx") from None
    if SHEET not in book.sheetnames:
        raise InvalidInput(
            _("The file has no sheet named %(sheet)s: download the template again.") % {"sheet": SHEET},
            code="not_template",
        )
    return book[SHEET]


def template_parse(content: bytes, *, submission: Submission) -> ParsedTemplate:
    """The value entries of a filled template for ``submission``; checks that the file is this report's
    template (form, unit, agency, period) and notes a value typed in a greyed-out cell as an error."""
    sheet = workbook_read(content)
    rows = list(
        sheet.iter_rows(min_row=1, max_row=FIRST_ROW + MAX_ROWS, max_col=MAX_COLUMNS, values_only=True)
    )

    def at(row: int, column: int) -> Any:
        if row - 1 >= len(rows) or column - 1 >= len(rows[row - 1]):
            return None
        return rows[row - 1][column - 1]

    expected = {
        "B2": (at(2, 2), submission.form.code),
        "B3": (at(3, 2), submission.unit.code),
        "D3": (at(3, 4), submission.agency.code if submission.agency else ""),
        "B4": (at(4, 2), submission.period.code),
    }
    for cell, (found, wanted) in expected.items():
        if _text(found) != wanted:
            raise InvalidInput(
                _("%(cell)s: this file is for '%(found)s', not '%(wanted)s'.")
                % {"cell": cell, "found": _text(found), "wanted": wanted},
                code="wrong_template",
            )
    keys = [_text(value) for value in (rows[KEY_ROW - 1] if len(rows) >= KEY_ROW else ())]
    if "indicator" not in keys or "total" not in keys:
        raise InvalidInput(
            _("Row 5 of the template was changed: download the template again."), code="not_template"
        )
    indicator_column = keys.index("indicator")
    comment_column = keys.index("comment") if "comment" in keys else None
    items = {item.indicator.code: item.indicator for item in version_items(submission.version)}
    parsed = ParsedTemplate()
    for number, values in enumerate(rows[FIRST_ROW - 1 :], start=FIRST_ROW):
        code = _text(values[indicator_column] if indicator_column < len(values) else None)
        if not code:
            continue
        indicator = items.get(code)
        own_keys = set(disaggregation_keys(indicator)) if indicator is not None else set()
        comment = (
            _text(values[comment_column])
            if comment_column is not None and comment_column < len(values)
            else ""
        )
        for column, key in enumerate(keys):
            if key in ("", "indicator", "name", "unit_of_measure", "previous", "comment"):
                continue
            cell = f"{get_column_letter(column + 1)}{number}"
            value = values[column] if column < len(values) else None
            if key != "total" and key not in own_keys:
                if _text(value):
                    parsed.errors.setdefault(cell, []).append(
                        _("%(cell)s: %(code)s has no figure for %(key)s.")
                        % {"cell": cell, "code": code, "key": key}
                    )
                continue
            if isinstance(value, str):
                value = value.strip()
            disaggregation = "" if key == "total" else key
            if indicator is not None and indicator.value_type == ValueType.TEXT and value is not None:
                value = str(value)
            parsed.entries.append(
                CellEntry(
                    indicator=code,
                    disaggregation=disaggregation,
                    value=value,
                    comment=comment if key == "total" else "",
                )
            )
            parsed.cells[(code, disaggregation)] = cell
            parsed.raw[cell] = value
    return parsed


def _plain(value: Any) -> Any:
    return "" if value is None else value


def export_rows(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """Rows as plain values (Decimals as numbers for Excel)."""
    out = []
    for row in rows:
        out.append([float(v) if hasattr(v, "as_tuple") else _plain(v) for v in row])
    return out


def export_xlsx(*, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An .xlsx file of one sheet: a bold header row then ``rows``."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31] or "Values"
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in export_rows(rows):
        sheet.append(row)
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def export_csv(*, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (UTF-8 with a BOM added by the caller for Excel) of ``rows`` under ``header``."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return output.getvalue()


def form_period_label(form: ReportForm, period: Period) -> str:
    """A file name stem: ``BC-KTXH-THANG_2025-09``."""
    return f"{form.code}_{period.code}"
