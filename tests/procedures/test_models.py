import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import translation

from hanoismart.procedures.models import national_code_validator
from tests.procedures.conftest import make_procedure


@pytest.mark.parametrize("code", ["1.001193", "2.000815", "3.123456"])
def test_national_code_accepts_digit_dot_six_digits(code):
    national_code_validator(code)


@pytest.mark.parametrize(
    "code", ["", "1001193", "1.00119", "1.0011933", "a.001193", "12.001193", " 1.001193"]
)
def test_national_code_refuses_other_shapes(code):
    with pytest.raises(ValidationError) as exc:
        national_code_validator(code)
    assert exc.value.messages == [
        "A national procedure code is one digit, a dot and six digits, e.g. 1.001193."
    ]


def test_database_refuses_a_malformed_national_code(civil_status):
    with pytest.raises(IntegrityError):
        make_procedure("1.23", "Sai mã", field=civil_status)


def test_name_is_folded_for_search(civil_status):
    procedure = make_procedure("1.001193", "Đăng ký khai sinh", field=civil_status)
    assert procedure.name_folded == "dang ky khai sinh"
    assert civil_status.name_folded == "ho tich"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield
