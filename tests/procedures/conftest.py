"""Procedure fixtures: a tiny catalog built by hand, and the full seeded catalog when a test needs it."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from hanoismart.procedures import seeds
from hanoismart.procedures.models import Case, Fee, Field, Procedure


def make_procedure(code: str, name: str, *, field: Field, popularity: int = 0, **extra) -> Procedure:
    values = {"level": "ward_commune", "agency_kind": "peoples_committee", "online_level": "full"}
    values.update(extra)
    return Procedure.objects.create(
        national_code=code, name=name, field=field, popularity=popularity, **values
    )


def make_case(procedure: Procedure, *, form_schema: dict | None = None) -> Case:
    return Case.objects.create(
        procedure=procedure,
        code="mac-dinh",
        name="Mặc định",
        processing_time=Decimal("3"),
        time_unit="working_days",
        form_schema=form_schema or {},
    )


@pytest.fixture
def civil_status(db) -> Field:
    return Field.objects.create(code="ho-tich", name="Hộ tịch")


@pytest.fixture
def fee_case(civil_status) -> Case:
    """A case with one city-council fee of 100,000 đồng and one Ministry-of-Finance charge of 8,000."""
    case = make_case(make_procedure("1.000001", "Thủ tục thử", field=civil_status))
    Fee.objects.create(case=case, kind="le_phi", name="Lệ phí", amount=100_000, set_by="city_council")
    Fee.objects.create(case=case, kind="phi", name="Phí", amount=8_000, set_by="ministry_of_finance")
    return case


@pytest.fixture
def catalog(db) -> None:
    """The seeded Hanoi catalog."""
    seeds.run(demo=False, stdout=io.StringIO())
