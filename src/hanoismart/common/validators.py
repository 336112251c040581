"""Validators for Vietnamese identifiers: national ID (CCCD), mobile phone, tax code (MST).

Each ``normalize_*`` returns the canonical form or raises ``django.core.exceptions.ValidationError`` with a
translated message; the ``validate_*`` wrappers fit Django's ``validators=[...]``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Province-of-birth codes printed in the first three digits of a CCCD (Circular 59/2021/TT-BCA, annex).
BIRTH_PROVINCE_CODES = frozenset(
    (
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    )
)

_NATIONAL_ID = re.compile(r"^\d{12}$")
# Mobile prefixes of Vietnamese carriers after the 2018 renumbering (03x, 05x, 07x, 08x, 09x).
_MOBILE = re.compile(r"^0(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9\d)\d{7}$")
_TAX_CODE = re.compile(r"^(\d{10})(?:-?(\d{3}))?$")
_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass(frozen=True)
class NationalIdFacts:
    """What the structure of a CCCD number tells: where its holder was born, sex and year of birth."""

    birth_province_code: str
    sex: str  # "male" or "female"
    birth_year: int


def parse_national_id(value: str, *, today: dt.date | None = None) -> NationalIdFacts:
    """Check a 12-digit CCCD number's structure and return what it encodes."""
    number = (value or "").strip().replace(" ", "")
    if not _NATIONAL_ID.match(number):
        raise ValidationError(_("A national ID number has exactly 12 digits."), code="national_id_format")
    province = number[:3]
    if province not in BIRTH_PROVINCE_CODES:
        raise ValidationError(
            _("The first three digits (%(code)s) are not a province code."),
            code="national_id_province",
            params={"code": province},
        )
    century_sex = int(number[3])
    century = 1900 + (century_sex // 2) * 100
    birth_year = century + int(number[4:6])
    this_year = (today or dt.date.today()).year  # noqa: DTZ011 - a calendar year, no time zone involved
    if birth_year > this_year:
        raise ValidationError(
            _("The birth year encoded in this number (%(year)s) is in the future."),
            code="national_id_year",
            params={"year": birth_year},
        )
    return NationalIdFacts(
        birth_province_code=province, sex="female" if century_sex % 2 else "male", birth_year=birth_year
    )


def normalize_national_id(value: str) -> str:
    """The CCCD number without spaces, after checking its structure."""
    parse_national_id(value)
    return value.strip().replace(" ", "")


def normalize_phone(value: str) -> str:
    """A Vietnamese mobile number in its national form 0XXXXXXXXX (accepts +84, 84, spaces, dots, dashes)."""
    digits = re.sub(r"[\s.\-()]", "", value or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _MOBILE.match(digits):
        raise ValidationError(_("Enter a Vietnamese mobile number, e.g. 0912 345 678."), code="phone_format")
    return digits


def normalize_tax_code(value: str) -> str:
    """A tax code (MST) of 10 digits, or 13 for a branch written 0100109106-001, with its check digit."""
    match = _TAX_CODE.match((value or "").strip().replace(" ", ""))
    if not match:
        raise ValidationError(
            _("A tax code has 10 digits, or 13 for a branch (e.g. 0100109106-001)."), code="tax_code_format"
        )
    main, branch = match.groups()
    total = sum(int(digit) * weight for digit, weight in zip(main[:9], _TAX_WEIGHTS, strict=True))
    check = 10 - total % 11
    if check == 10 or check != int(main[9]):
        raise ValidationError(_("This tax code's check digit is wrong."), code="tax_code_checksum")
    if branch is not None and branch == "000":
        raise ValidationError(_("A branch number runs from 001 to 999."), code="tax_code_branch")
    return f"{main}-{branch}" if branch else main


def validate_national_id(value: str) -> None:
    normalize_national_id(value)


def validate_phone(value: str) -> None:
    normalize_phone(value)


def validate_tax_code(value: str) -> None:
    normalize_tax_code(value)
