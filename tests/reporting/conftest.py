"""Reporting fixtures: a monthly form owned by the department, reporters and leaders of two wards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from hanoismart.directory.models import Agency
from hanoismart.identity.models import StaffRole, User
from hanoismart.reporting.models import Aggregation, Indicator, Period, ReportForm, ValueType
from hanoismart.reporting.services import (
    ItemSpec,
    RuleSpec,
    assignments_sync,
    form_version_publish,
    period_for,
)
from tests.conftest import _staff


@dataclass
class World:
    form: ReportForm
    period: Period
    reporter_hk: User
    leader_hk: User
    reporter_bd: User
    department_leader: User


def make_indicators() -> dict[str, Indicator]:
    specs = [
        ("BIRTHS", ValueType.INTEGER, Aggregation.SUM, [{"code": "sex", "options": ["male", "female"]}]),
        ("DOSSIERS_IN", ValueType.INTEGER, Aggregation.SUM, []),
        ("DOSSIERS_DONE", ValueType.INTEGER, Aggregation.SUM, []),
        ("ONLINE_RATE", ValueType.PERCENTAGE, Aggregation.AVERAGE, []),
        ("POPULATION", ValueType.INTEGER, Aggregation.LATEST, []),
        ("HAS_PORTAL", ValueType.BOOLEAN, Aggregation.SUM, []),
        ("NOTE", ValueType.TEXT, Aggregation.NONE, []),
    ]
    found = {
        code: Indicator.objects.create(
            code=code, name=code.title(), value_type=value_type, aggregation=aggregation, disaggregations=dis
        )
        for code, value_type, aggregation, dis in specs
    }
    found["SATISFACTION"] = Indicator.objects.create(
        code="SATISFACTION",
        name="Satisfaction",
        value_type=ValueType.DECIMAL,
        aggregation=Aggregation.WEIGHTED_AVERAGE,
        weight_indicator=found["DOSSIERS_DONE"],
    )
    return found


def make_form(owner: Agency, *, requires_sign_off: bool = False) -> ReportForm:
    make_indicators()
    form = ReportForm.objects.create(
        code="MONTHLY",
        name="Monthly report",
        owner_agency=owner,
        period_type="monthly",
        requires_sign_off=requires_sign_off,
    )
    form_version_publish(
        actor=None,
        form=form,
        items=[
            ItemSpec("Population", "BIRTHS"),
            ItemSpec("Population", "POPULATION"),
            ItemSpec("Dossiers", "DOSSIERS_IN", is_required=True),
            ItemSpec("Dossiers", "DOSSIERS_DONE"),
            ItemSpec("Dossiers", "SATISFACTION"),
            ItemSpec("Digital", "ONLINE_RATE"),
            ItemSpec("Digital", "HAS_PORTAL"),
            ItemSpec("Other", "NOTE"),
        ],
        rules=[
            RuleSpec(
                "DONE_LE_IN",
                "error",
                "Resolved cannot exceed received.",
                expression="DOSSIERS_DONE <= DOSSIERS_IN",
            ),
            RuleSpec(
                "RATE_RANGE", "error", "A rate is between 0 and 100.", expression="0 <= ONLINE_RATE <= 100"
            ),
            RuleSpec(
                "IN_JUMP",
                "warning",
                "Received changed by more than 50%.",
                change_indicator_code="DOSSIERS_IN",
                max_change_percent="50",
            ),
        ],
    )
    return form


@pytest.fixture
def world(personas, hoan_kiem, ba_dinh) -> World:
    department = personas.department_officer.positions.get().agency
    form = make_form(department)
    assignments_sync(actor=None, form=form)
    period = period_for(form=form, day=timezone.localdate() - dt.timedelta(days=20))
    hk = Agency.objects.get(unit=hoan_kiem)
    bd = Agency.objects.get(unit=ba_dinh)
    return World(
        form=form,
        period=period,
        reporter_hk=_staff(StaffRole.REPORTER, hk, "Nguyễn Báo Cáo"),
        leader_hk=_staff(StaffRole.LEADER, hk, "Trần Chủ Tịch"),
        reporter_bd=_staff(StaffRole.REPORTER, bd, "Lê Báo Cáo"),
        department_leader=_staff(StaffRole.LEADER, department, "Phó Giám Đốc"),
    )
