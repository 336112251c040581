import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook

from hanoismart.procedures.models import Case, Fee, Procedure
from hanoismart.procedures.spreadsheets import TABLES


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _snapshot():
    return sorted(
        (f.case.procedure.national_code, f.case.code, f.name, f.amount, f.set_by)
        for f in Fee.objects.select_related("case__procedure")
    )


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_round_trips(catalog, tmp_path, fmt):
    # given an exported catalog
    path = tmp_path / ("catalog.xlsx" if fmt == "xlsx" else "catalog")
    call_command("procedures_export", "--format", fmt, str(path))
    before = (Procedure.objects.count(), Case.objects.count(), _snapshot())
    # when it is imported again
    call_command("procedures_import", str(path))
    # then nothing changed
    assert (Procedure.objects.count(), Case.objects.count(), _snapshot()) == before


def test_xlsx_has_one_sheet_per_table(catalog, tmp_path):
    path = tmp_path / "catalog.xlsx"
    call_command("procedures_export", "--format", "xlsx", str(path))
    workbook = load_workbook(path)
    assert workbook.sheetnames == list(TABLES)
    assert [cell.value for cell in workbook["fees"][1]] == TABLES["fees"]


def test_import_is_all_or_nothing_and_names_row_and_column(catalog, tmp_path):
    path = tmp_path / "catalog.xlsx"
    call_command("procedures_export", "--format", "xlsx", str(path))
    workbook = load_workbook(path)
    workbook["procedures"]["B2"] = "maybe"  # is_code_provisional
    workbook["fees"]["E3"] = "lots"  # amount
    workbook["procedures"]["C4"] = "renamed-but-never-saved"  # local_code: a valid change
    workbook.save(path)
    local_codes = list(Procedure.objects.order_by("national_code").values_list("local_code", flat=True))
    with pytest.raises(CommandError) as exc:
        call_command("procedures_import", str(path))
    message = str(exc.value)
    assert "procedures row 2, column is_code_provisional: 'maybe' is not true or false." in message
    assert "fees row 3, column amount: 'lots' is not a whole number." in message
    assert (
        list(Procedure.objects.order_by("national_code").values_list("local_code", flat=True)) == local_codes
    )


def test_import_refuses_a_file_that_is_not_a_workbook(db, tmp_path):
    path = tmp_path / "catalog.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(CommandError, match="not an Excel workbook"):
        call_command("procedures_import", str(path))
