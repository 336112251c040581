from hanoismart.procedures.models import Field
from hanoismart.procedures.selectors import procedure_search
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
