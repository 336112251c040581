"""Excel: a pre-filled template; a filled file is all or nothing, one message per bad cell; exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from hanoismart.reporting.models import DataValue
from hanoismart.reporting.services import (
    ValueEntry,
    period_for,
    submission_open,
    submission_save_draft,
    submission_submit,
)

API = "/api/v1/reporting"
# Rows of the test form's indicators in the template (row 7 on, in form order); columns A code, B name,
# C unit of measure, D total, E sex=male, F sex=female, G previous period, H comment.
ROW = {"BIRTHS": 7, "POPULATION": 8, "DOSSIERS_IN": 9, "DOSSIERS_DONE": 10, "HAS_PORTAL": 13, "NOTE": 14}


@pytest.fixture
def submission(world, hoan_kiem):
    return submission_open(actor=world.reporter_hk, form=world.form, period=world.period, unit=hoan_kiem)


def _template(client, world, unit="00070"):
    response = client.get(f"/reporting/forms/MONTHLY/template.xlsx?unit={unit}&period={world.period.code}")
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.content))


def _bytes(book) -> bytes:
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def _upload(client, submission, content: bytes, name="report.xlsx"):
    return client.post(
        f"{API}/submissions/{submission.public_id}/xlsx",
        {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_template_is_prefilled_with_unit_period_indicators_and_last_period(
    world, hoan_kiem, sign_in, submission
):
    # given last period's accepted figure and a figure already entered
    previous = period_for(form=world.form, day=world.period.start - dt.timedelta(days=1))
    earlier = submission_open(actor=world.reporter_hk, form=world.form, period=previous, unit=hoan_kiem)
    submission_save_draft(
        actor=world.reporter_hk, submission=earlier, values=[ValueEntry("DOSSIERS_IN", "100")]
    )
    submission_submit(actor=world.reporter_hk, submission=earlier)
    submission_save_draft(
        actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "7")]
    )
    # when the reporter downloads the template
    sheet = _template(sign_in(world.reporter_hk), world)["Report"]
    # then
    assert (sheet["B2"].value, sheet["B3"].value, sheet["B4"].value) == (
        "MONTHLY",
        "00070",
        world.period.code,
    )
    assert [sheet.cell(5, c).value for c in range(1, 9)] == [
        "indicator",
        "name",
        "unit_of_measure",
        "total",
        "sex=male",
        "sex=female",
        "previous",
        "comment",
    ]
    assert sheet["A9"].value == "DOSSIERS_IN"
    assert (sheet["D9"].value, sheet["G9"].value) == (7, 100)


def test_a_file_with_three_bad_cells_is_refused_cell_by_cell_and_nothing_is_saved(world, sign_in, submission):
    client = sign_in(world.reporter_hk)
    book = _template(client, world)
    sheet = book["Report"]
    sheet["D7"], sheet["F7"] = 5, 3  # BIRTHS total and female: fine
    sheet["D9"] = "abc"  # DOSSIERS_IN, a whole number
    sheet["D10"] = 1.5  # DOSSIERS_DONE, a whole number
    sheet["D13"] = "maybe"  # HAS_PORTAL, yes/no
    response = _upload(client, submission, _bytes(book))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_cells"
    assert body["errors"] == {
        "D9": ["D9: 'abc': Enter a number."],
        "D10": ["D10: '1.5': Enter a whole number."],
        "D13": ["D13: 'maybe': Answer yes or no."],
    }
    assert not DataValue.objects.exists()

    # when the cells are corrected, everything is saved
    sheet["D9"], sheet["D10"], sheet["D13"] = 12, 10, "yes"
    response = _upload(client, submission, _bytes(book))
    assert response.status_code == 200, response.content
    assert response.json()["import_count"]["imported"] == 5
    assert dict(
        DataValue.objects.filter(submission=submission, disaggregation="").values_list(
            "indicator__code", "number"
        )
    ) == {"BIRTHS": 5, "DOSSIERS_IN": 12, "DOSSIERS_DONE": 10, "HAS_PORTAL": 1}


def test_a_value_in_a_grey_cell_is_an_error_too(world, sign_in, submission):
    client = sign_in(world.reporter_hk)
    book = _template(client, world)
    book["Report"]["E9"] = 4  # DOSSIERS_IN has no breakdown by sex
    response = _upload(client, submission, _bytes(book))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["E9"]
    assert not DataValue.objects.exists()


def test_not_an_xlsx_too_large_or_another_units_template_is_refused(world, sign_in, submission, ba_dinh):
    client = sign_in(world.reporter_hk)
    assert _upload(client, submission, b"indicator,value\nX,1\n", name="x.csv").json()["code"] == "not_xlsx"
    assert _upload(client, submission, b"PK\x03\x04" + b"0" * 2_100_000).json()["code"] == "too_large"
    other = _template(sign_in(world.reporter_bd), world, unit="00004")
    response = _upload(client, submission, _bytes(other))
    assert (response.status_code, response.json()["code"]) == (400, "wrong_template")
    assert not DataValue.objects.exists()


def test_the_upload_page_lists_each_bad_cell(world, sign_in, submission):
    client = sign_in(world.reporter_hk)
    book = _template(client, world)
    book["Report"]["D9"] = "abc"
    response = client.post(
        f"/reporting/reports/{submission.public_id}/xlsx/",
        {"file": SimpleUploadedFile("r.xlsx", _bytes(book))},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "D9: &#x27;abc&#x27;: Enter a number." in response.content.decode()


def test_template_of_another_ward_is_not_for_a_reporter(world, sign_in, submission):
    response = sign_in(world.reporter_hk).get(
        f"/reporting/forms/MONTHLY/template.xlsx?unit=00004&period={world.period.code}"
    )
    assert response.status_code == 403


def test_values_export_csv_and_xlsx_for_overseers_only(world, sign_in, submission, personas):
    submission_save_draft(
        actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "7")]
    )
    submission_submit(actor=world.reporter_hk, submission=submission)
    client = sign_in(personas.city_manager)
    response = client.get(f"{API}/values.csv?form=MONTHLY&period={world.period.code}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["unit_code", "unit", "indicator"]
    assert ["01", "Thành phố Hà Nội", "DOSSIERS_IN"] in [row[:3] for row in rows]
    assert ["00070", "Phường Hoàn Kiếm", "DOSSIERS_IN"] in [row[:3] for row in rows]
    raw = client.get(f"{API}/values.csv?form=MONTHLY&period={world.period.code}&unit=00070&rollup=false")
    assert "DOSSIERS_IN" in raw.content.decode("utf-8-sig")
    book = load_workbook(
        io.BytesIO(client.get(f"{API}/values.xlsx?form=MONTHLY&period={world.period.code}").content)
    )
    assert book.active["C1"].value == "indicator"
    assert (
        sign_in(world.reporter_hk)
        .get(f"{API}/values.csv?form=MONTHLY&period={world.period.code}")
        .status_code
        == 403
    )
