import io

import pytest
from django.utils import translation

from hanoismart.common.errors import InvalidInput
from hanoismart.procedures import seeds
from hanoismart.procedures.models import Case, Component, Fee, Procedure, WorkflowStep
from hanoismart.procedures.services import catalog_load


def _counts():
    return [m.objects.count() for m in (Procedure, Case, Fee, Component, WorkflowStep)]


def test_seed_loads_at_least_40_procedures_and_is_idempotent(catalog):
    first = _counts()
    ids = sorted(Case.objects.values_list("id", flat=True))
    out = io.StringIO()
    seeds.run(demo=False, stdout=out)
    assert _counts() == first
    assert sorted(Case.objects.values_list("id", flat=True)) == ids  # nothing was rewritten
    assert "0 created, 0 updated" in out.getvalue()
    assert first[0] >= 40


def test_seeded_catalog_has_the_core_procedures(catalog):
    birth = Procedure.objects.get(national_code="1.001193")
    assert birth.name == "Đăng ký khai sinh"
    assert birth.is_code_provisional is False
    case = birth.cases.get(code="dung-han")
    assert case.form_schema["required"][:2] == ["applicant_name", "applicant_id"]
    assert [s.status for s in case.steps.all()] == ["2", "4", "9", "10"]
    assert set(Procedure.objects.values_list("national_code", flat=True)) >= {
        "1.000894",
        "1.000656",
        "2.000815",
    }


def test_load_is_all_or_nothing_and_names_each_problem(db):
    fields = [{"code": "ho-tich", "name": "Hộ tịch"}]
    good = {
        "national_code": "1.000001",
        "name": "Tốt",
        "field_code": "ho-tich",
        "level": "ward_commune",
        "online_level": "full",
        "agency_kind": "peoples_committee",
        "cases": [{"code": "a", "name": "A", "processing_time": 1, "time_unit": "working_days"}],
    }
    bad = {**good, "national_code": "1.2", "level": "province", "cases": []}
    with pytest.raises(InvalidInput) as exc:
        catalog_load(fields=fields, entries=[good, bad])
    assert exc.value.details["catalog"] == [
        "procedure 2 (1.2): A national procedure code is one digit, a dot and six digits, e.g. 1.001193.",
        "procedure 2 (1.2) level: 'province' is not one of city, ward_commune.",
        "procedure 2 (1.2): at least one case is needed.",
    ]
    assert Procedure.objects.count() == 0


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield
