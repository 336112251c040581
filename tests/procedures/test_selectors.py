from decimal import Decimal

import pytest

from hanoismart.directory.models import Agency
from hanoismart.procedures import selectors
from hanoismart.procedures.models import Case, Component, Fee, Field, Procedure, WorkflowStep
from hanoismart.procedures.selectors import case_for_filing, procedure_search
from tests.procedures.conftest import make_procedure


def _codes(queryset):
    return [p.national_code for p in queryset]


def test_search_ignores_diacritics(civil_status):
    make_procedure("1.001193", "Đăng ký khai sinh", field=civil_status)
    make_procedure("1.000656", "Đăng ký khai tử", field=civil_status)
    assert _codes(procedure_search(query="khai sinh")) == ["1.001193"]
    assert _codes(procedure_search(query="ĐĂNG KÝ KHAI SINH")) == ["1.001193"]


def test_name_matches_rank_above_field_matches_then_popularity(civil_status):
    residence = Field.objects.create(code="cu-tru", name="Đăng ký cư trú")
    make_procedure("1.000001", "Xác nhận thông tin", field=residence, popularity=999)  # field matches
    make_procedure("1.000002", "Đăng ký kết hôn", field=civil_status, popularity=10)
    make_procedure("1.000003", "Đăng ký khai sinh", field=civil_status, popularity=50)
    assert _codes(procedure_search(query="dang ky")) == ["1.000003", "1.000002", "1.000001"]


def test_search_by_code_and_filters(civil_status):
    make_procedure("1.001193", "Đăng ký khai sinh", field=civil_status, subjects=["citizen"])
    make_procedure(
        "2.000720", "Đăng ký hộ kinh doanh", field=civil_status, level="city", subjects=["household_business"]
    )
    assert _codes(procedure_search(query="2.000720")) == ["2.000720"]
    assert _codes(procedure_search(query="", level="city")) == ["2.000720"]
    assert _codes(procedure_search(query="", subject="citizen")) == ["1.001193"]
    assert _codes(procedure_search(query="", field="khac")) == []


def test_inactive_procedures_are_not_found(civil_status):
    make_procedure("1.001193", "Đăng ký khai sinh", field=civil_status, is_active=False)
    assert _codes(procedure_search(query="khai sinh")) == []


# -- case_for_filing: the process's copy of a case, checked against the database on every call ----------


@pytest.fixture
def filing_case(fee_case):
    """The fee case with a paper and two steps, read once so the process keeps it."""
    Component.objects.create(
        case=fee_case, order=1, name="Tờ khai", is_mandatory=True, document_type_code="TK"
    )
    for order in (1, 2):
        WorkflowStep.objects.create(
            case=fee_case,
            order=order,
            name=f"Bước {order}",
            role="clerk",
            working_hours=Decimal("4"),
            status="2",
        )
    assert case_for_filing(procedure_code="1.000001", case_code="mac-dinh") is not None
    return fee_case


def _filing_case():
    return case_for_filing(procedure_code="1.000001", case_code="mac-dinh")


def test_case_for_filing_answers_the_case_and_its_rows_in_one_plain_read(
    filing_case, django_assert_num_queries
):
    with django_assert_num_queries(1):
        case = _filing_case()
        papers = [(c.name, c.is_mandatory) for c in case.components.all()]
        steps = [s.name for s in case.steps.all()]
        fees = [(f.name, f.amount) for f in case.fees.all()]
        procedure = case.procedure.national_code

    assert case.pk == filing_case.pk
    assert papers == [("Tờ khai", True)]
    assert steps == ["Bước 1", "Bước 2"]
    assert fees == [("Lệ phí", 100_000), ("Phí", 8_000)]
    assert procedure == "1.000001"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda case: Fee.objects.filter(case=case, name="Phí").update(amount=9_000), id="fee amount"
        ),
        pytest.param(lambda case: Fee.objects.filter(case=case, name="Phí").delete(), id="fee removed"),
        pytest.param(lambda case: Component.objects.filter(case=case).update(is_mandatory=False), id="paper"),
        pytest.param(
            lambda case: Component.objects.create(case=case, order=2, name="Ảnh", is_mandatory=True),
            id="paper added",
        ),
        pytest.param(
            lambda case: WorkflowStep.objects.filter(case=case, order=2).update(name="Duyệt"), id="step"
        ),
        pytest.param(
            lambda case: Case.objects.filter(pk=case.pk).update(form_schema={"type": "object"}), id="form"
        ),
        pytest.param(
            lambda case: Procedure.objects.filter(pk=case.procedure_id).update(name="Tên mới"), id="name"
        ),
    ],
)
def test_a_catalog_edit_shows_at_the_next_filing(filing_case, edit):
    # given: the process keeps the case as it was
    before = _filing_case()

    # when: the catalog is edited behind its back (a plain UPDATE: no signal, no save(), another process)
    edit(filing_case)

    # then: the next call answers the edited rows
    after = _filing_case()
    fresh = Case.objects.get(pk=filing_case.pk)
    assert [(f.name, f.amount) for f in after.fees.all()] == list(
        fresh.fees.order_by("id").values_list("name", "amount")
    )
    assert [(c.name, c.is_mandatory) for c in after.components.all()] == list(
        fresh.components.values_list("name", "is_mandatory")
    )
    assert [s.name for s in after.steps.all()] == list(fresh.steps.values_list("name", flat=True))
    assert after.form_schema == fresh.form_schema
    assert after.procedure.name == fresh.procedure.name
    assert _state_of(after) != _state_of(before)


def _state_of(case):
    return (
        [(f.name, f.amount) for f in case.fees.all()],
        [(c.name, c.is_mandatory) for c in case.components.all()],
        [s.name for s in case.steps.all()],
        case.form_schema,
        case.procedure.name,
    )


def test_a_deactivated_procedure_or_agency_shows_at_once(filing_case, personas):
    agency = Agency.objects.get(code="000.70.01.H26")
    Procedure.objects.filter(pk=filing_case.procedure_id).update(agency=agency)
    assert _filing_case().procedure.agency.is_active is True

    Agency.objects.filter(pk=agency.pk).update(is_active=False)
    assert _filing_case().procedure.agency.is_active is False

    Procedure.objects.filter(pk=filing_case.procedure_id).update(is_active=False)
    assert _filing_case() is None


def test_unknown_codes_are_none_and_not_kept(filing_case):
    assert case_for_filing(procedure_code="1.000001", case_code="khong-co") is None
    assert case_for_filing(procedure_code="9.999999", case_code="mac-dinh") is None
    assert ("default", "9.999999", "mac-dinh") not in selectors._filing_cases


def test_each_caller_gets_its_own_instances(filing_case):
    first, second = _filing_case(), _filing_case()

    first.procedure.name = "changed by one caller"
    first.components.all()[0].name = "changed too"

    assert second.procedure.name == "Thủ tục thử"
    assert second.components.all()[0].name == "Tờ khai"
    assert _filing_case().procedure.name == "Thủ tục thử"
