import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from hanoismart.common.validators import (
    normalize_national_id,
    normalize_phone,
    normalize_tax_code,
    parse_national_id,
)


def test_national_id_tells_birth_province_sex_and_year():
    facts = parse_national_id("001099000001")
    assert (facts.birth_province_code, facts.sex, facts.birth_year) == ("001", "male", 1999)
    assert parse_national_id("079305001234").sex == "female"
    assert parse_national_id("079305001234").birth_year == 2005


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("00109900000", "national_id_format"),
        ("00109900000a", "national_id_format"),
        ("003099000001", "national_id_province"),
        ("001299000001", "national_id_year"),
    ],
)
def test_national_id_refuses_bad_structure(value, code):
    with pytest.raises(ValidationError) as excinfo:
        parse_national_id(value, today=dt.date(2026, 11, 22))
    assert excinfo.value.code == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0912 345 678", "0912345678"), ("+84912345678", "0912345678"), ("84-386.123.456", "0386123456")],
)
def test_phone_is_normalised(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize("value", ["0112345678", "091234567", "0212345678", "abc"])
def test_phone_refuses_non_mobile(value):
    with pytest.raises(ValidationError):
        normalize_phone(value)


def test_tax_code_checksum_and_branch():
    assert normalize_tax_code("0100109106") == "0100109106"
    assert normalize_tax_code("0100109106001") == "0100109106-001"
    with pytest.raises(ValidationError) as excinfo:
        normalize_tax_code("0100109107")
    assert excinfo.value.code == "tax_code_checksum"
    with pytest.raises(ValidationError):
        normalize_tax_code("0100109106-000")
    assert normalize_national_id(" 001099000001") == "001099000001"
