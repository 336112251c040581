"""The dashboard selectors: roll-up sums by every grouping, filters, scope and the city → ward drill-down;
the open dossiers' figures, the late list, the dossiers passing due, the late procedures, the change
marker."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import Agency
from hanoismart.dossiers.models import ROLLUP_FIGURES
from hanoismart.dossiers.selectors import (
    dossiers_passing_due,
    late_procedures,
    open_figures,
    overdue_dossiers,
    rates,
    rollup_figures,
    rollups_changed_since,
    rollups_last_change,
)
from hanoismart.dossiers.services.rollups import RollupKey, rollup_add, stocks_rebuild
from hanoismart.procedures.models import DossierStatus as S
from hanoismart.procedures.models import WorkflowStep
from tests.dossiers.factories import DossierFactory, FieldFactory, ProcedureFactory

pytestmark = pytest.mark.django_db
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = {"date_from": dt.date(2025, 3, 1), "date_to": dt.date(2025, 4, 1)}
NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=HANOI)


def figures(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in ROLLUP_FIGURES}


@pytest.fixture
def places(personas, desk):
    hk = desk.agency
    bd = Agency.objects.get(code="000.04.01.H26")
    department = Agency.objects.get(code="000.00.13.H26")
    return hk, bd, department


@pytest.fixture
def procedures(birth_case):
    judicial = ProcedureFactory(
        national_code="2.000001",
        name="Cấp Phiếu lý lịch tư pháp",
        field=FieldFactory(code="tu-phap", name="Tư pháp"),
    )
    return birth_case.procedure, judicial


@pytest.fixture
def rows(places, procedures):
    """Roll-up rows of Hoàn Kiếm, Ba Đình and the city's Sở Tư pháp, in February, March and April."""
    hk, bd, department = places
    birth, judicial = procedures

    def row(day: dt.date, agency, procedure, **values: int) -> None:
        # through the writer the services use, which keeps the daily and the agency rows together
        rollup_add({RollupKey(day, agency.unit_id, agency.pk, procedure.pk): values})

    row(dt.date(2025, 2, 28), hk, birth, received=100)  # before March
    row(dt.date(2025, 3, 1), hk, birth, received=3, online=2, finished=1, finished_late=1)
    row(dt.date(2025, 3, 5), hk, birth, received=2, finished=2, finished_early=2)
    row(dt.date(2025, 3, 5), bd, birth, received=1, online=1, ratings=1, rating_score_sum=18)
    row(dt.date(2025, 3, 31), department, judicial, received=4, finished=3, finished_late=3)
    row(dt.date(2025, 4, 1), bd, birth, received=50)  # after March


def keyed(found) -> dict[str, dict[str, int]]:
    return {row.key: {name: value for name, value in row.figures.items() if value} for row in found}


def test_the_sums_of_a_period(rows):
    with translation.override("en"):
        (total,) = rollup_figures(unit_ids=None, **MARCH)

    assert (total.key, total.label) == ("", "All")
    assert total.figures == figures(
        received=10,
        online=3,
        finished=6,
        finished_early=2,
        finished_late=4,
        ratings=1,
        rating_score_sum=18,
    )
    assert rates(total.figures)["on_time_rate"] == 33.3  # 2 of 6


def test_grouped_by_unit_agency_field_and_procedure(rows, procedures):
    by_unit = rollup_figures(unit_ids=None, group_by="unit", **MARCH)
    by_agency = rollup_figures(unit_ids=None, group_by="agency", **MARCH)
    by_field = rollup_figures(unit_ids=None, group_by="field", **MARCH)
    by_procedure = rollup_figures(unit_ids=None, group_by="procedure", **MARCH)

    assert [(row.key, row.label, row.figures["received"]) for row in by_unit] == [
        ("00004", "Phường Ba Đình", 1),
        ("00070", "Phường Hoàn Kiếm", 5),
        ("01", "Thành phố Hà Nội", 4),
    ]
    assert [(row.key, row.figures["received"]) for row in by_agency] == [
        ("000.00.13.H26", 4),
        ("000.04.01.H26", 1),
        ("000.70.01.H26", 5),
    ]
    assert [(row.key, row.label, row.figures["received"]) for row in by_field] == [
        ("ho-tich", "Hộ tịch", 6),
        ("tu-phap", "Tư pháp", 4),
    ]
    assert [(row.key, row.figures["received"]) for row in by_procedure] == [
        (procedures[0].national_code, 6),
        ("2.000001", 4),
    ]


def test_grouped_by_day_and_month_lists_every_one(rows):
    by_day = rollup_figures(unit_ids=None, group_by="day", **MARCH)
    by_month = rollup_figures(
        unit_ids=None, group_by="month", date_from=dt.date(2025, 2, 15), date_to=dt.date(2025, 4, 2)
    )

    assert len(by_day) == 31
    assert keyed(by_day)["2025-03-05"] == {
        "received": 3,
        "online": 1,
        "finished": 2,
        "finished_early": 2,
        "ratings": 1,
        "rating_score_sum": 18,
    }
    assert keyed(by_day)["2025-03-02"] == {}
    assert [(row.key, row.label, row.figures["received"]) for row in by_month] == [
        ("2025-02", "2025-02", 100),
        ("2025-03", "2025-03", 10),
        ("2025-04", "2025-04", 50),
    ]


def test_filters_by_code(rows, procedures):
    def received(**codes: str) -> int:
        return rollup_figures(unit_ids=None, **MARCH, **codes)[0].figures["received"]

    assert received(unit="00070") == 5
    assert received(unit="01") == 4  # the city's own agencies
    assert received(agency="000.04.01.H26") == 1
    assert received(field="tu-phap") == 4
    assert received(procedure=procedures[0].national_code) == 6
    with pytest.raises(InvalidInput) as unknown:
        received(unit="99999", field="nope")
    assert sorted(unknown.value.details) == ["field", "unit"]


def test_city_drills_down_to_its_wards(rows):
    city = rollup_figures(unit_ids=None, group_by="unit", unit="01", **MARCH)
    ward = rollup_figures(unit_ids=None, group_by="unit", unit="00070", **MARCH)

    # the city itself (its departments) and each child unit with figures
    assert [(row.key, row.figures["received"]) for row in city] == [("00004", 1), ("00070", 5), ("01", 4)]
    assert [(row.key, row.figures["received"]) for row in ward] == [("00070", 5)]


def test_a_ward_scope_sees_only_its_ward(rows, places):
    hk = places[0]

    (total,) = rollup_figures(unit_ids={hk.unit_id}, **MARCH)
    by_unit = rollup_figures(unit_ids={hk.unit_id}, group_by="unit", **MARCH)

    assert total.figures["received"] == 5
    assert [row.key for row in by_unit] == ["00070"]
    with pytest.raises(PermissionDenied):
        rollup_figures(unit_ids={hk.unit_id}, unit="00004", **MARCH)
    with pytest.raises(PermissionDenied):
        rollup_figures(unit_ids={hk.unit_id}, group_by="unit", unit="01", **MARCH)


def test_bad_groupings_and_periods_are_refused(rows):
    with pytest.raises(InvalidInput):
        rollup_figures(unit_ids=None, group_by="colour", **MARCH)
    with pytest.raises(InvalidInput):
        rollup_figures(unit_ids=None, date_from=dt.date(2025, 3, 2), date_to=dt.date(2025, 3, 2))
    with pytest.raises(InvalidInput):
        open_figures(unit_ids=None, now=NOW, group_by="day")


# -- the open dossiers -------------------------------------------------------------------------------------


@pytest.fixture
def open_dossiers(personas, desk, places, birth_case):
    """Around NOW (20 March 2025, 12:00): comments say how each one counts."""
    hk, bd, _department = places
    examine = WorkflowStep.objects.get(case=birth_case, order=2)
    sign = WorkflowStep.objects.get(case=birth_case, order=3)

    def make(agency, **values):
        values.setdefault("status", S.IN_PROGRESS)
        values.setdefault("received_at", NOW - dt.timedelta(days=5))
        return DossierFactory(agency=agency, case=birth_case, applicant=personas.resident, **values)

    made = {
        # overdue since yesterday, held by the officer
        "a": make(hk, due_at=NOW - dt.timedelta(days=1), step=examine, assignee=desk.officer),
        # due tomorrow morning: due soon, at the leader's step, nobody assigned
        "b": make(hk, due_at=NOW + dt.timedelta(hours=20), step=sign),
        # past due but waiting for a supplement: paused, not overdue
        "c": make(
            hk,
            status=S.SUPPLEMENT_REQUESTED,
            due_at=NOW - dt.timedelta(days=1),
            paused_since=NOW - dt.timedelta(days=2),
        ),
        # Ba Đình, due next week: only in progress
        "d": make(bd, due_at=NOW + dt.timedelta(days=5)),
        # submitted, not received; returned: not open
        "e": make(hk, status=S.SUBMITTED, received_at=None),
        "f": make(hk, status=S.RETURNED, due_at=NOW - dt.timedelta(days=3), finished_at=NOW),
    }
    stocks_rebuild()  # made by the factory, not the services: count the open stocks the services keep
    return made


def _counted(now: dt.datetime) -> dict[str, int]:
    """The open figures at ``now`` by counting the open dossiers (the path taken with a procedure grouping),
    summed over the procedures."""
    totals = dict.fromkeys(("in_progress", "overdue", "due_soon", "paused"), 0)
    for row in open_figures(unit_ids=None, now=now, group_by="procedure"):
        for name, amount in row.figures.items():
            totals[name] += amount
    return totals


@pytest.mark.parametrize(
    "moment",
    [
        NOW,
        NOW + dt.timedelta(hours=19, minutes=59),  # b due within the hour
        NOW + dt.timedelta(hours=20, minutes=1),  # b overdue since a minute, today (after midnight)
        NOW + dt.timedelta(days=1),  # b due earlier today
        NOW + dt.timedelta(days=2),  # b overdue since a day of this month
        NOW + dt.timedelta(days=14),  # d overdue too; next month
    ],
)
def test_the_stocks_kept_on_write_equal_a_count_of_the_open_dossiers(open_dossiers, moment):
    (total,) = open_figures(unit_ids=None, now=moment)

    assert total.figures == _counted(moment)


def test_open_figures_count_the_open_dossiers_now(open_dossiers, places):
    (total,) = open_figures(unit_ids=None, now=NOW)
    by_unit = open_figures(unit_ids=None, now=NOW, group_by="unit")
    ward_only = open_figures(unit_ids={places[1].unit_id}, now=NOW)

    assert total.figures == {"in_progress": 4, "overdue": 1, "due_soon": 1, "paused": 1}
    assert [(row.key, row.figures) for row in by_unit] == [
        ("00004", {"in_progress": 1, "overdue": 0, "due_soon": 0, "paused": 0}),
        ("00070", {"in_progress": 3, "overdue": 1, "due_soon": 1, "paused": 1}),
    ]
    assert ward_only[0].figures["in_progress"] == 1


def test_overdue_dossiers_say_who_holds_them_and_nothing_of_the_applicant(open_dossiers, desk):
    late = overdue_dossiers(unit_ids=None, now=NOW)
    only_overdue = overdue_dossiers(unit_ids=None, now=NOW, include_due_within_hours=0)

    assert [row.code for row in late] == [open_dossiers["a"].code, open_dossiers["b"].code]
    first, second = late
    assert (first.holder, first.holder_role, first.step_name) == (
        "Bùi Văn Thẩm Định",
        "officer",
        "Thẩm định, xác minh",
    )
    assert first.overdue_by == dt.timedelta(days=1)
    assert (second.holder, second.holder_role, second.overdue_by) == ("", "leader", -dt.timedelta(hours=20))
    assert (first.unit_code, first.agency_code, first.procedure_code) == (
        "00070",
        "000.70.01.H26",
        open_dossiers["a"].procedure.national_code,
    )
    assert not {"applicant_name", "applicant_national_id", "applicant"} & set(vars(first))
    assert [row.code for row in only_overdue] == [open_dossiers["a"].code]
    assert overdue_dossiers(unit_ids=None, now=NOW, limit=1)[0].code == open_dossiers["a"].code


def test_dossiers_passing_due_in_a_window(open_dossiers):
    passing = dossiers_passing_due(since=NOW - dt.timedelta(days=2), until=NOW)
    later = dossiers_passing_due(since=NOW, until=NOW + dt.timedelta(days=1))

    # a passed due yesterday; c too, but its clock is stopped; f is finished
    assert [row.code for row in passing] == [open_dossiers["a"].code]
    assert [row.code for row in later] == [open_dossiers["b"].code]
    assert passing[0].due_at == NOW - dt.timedelta(days=1)


def test_late_procedures_add_the_late_finished_and_the_overdue(rows, open_dossiers, procedures):
    ranked = late_procedures(unit_ids=None, now=NOW, **MARCH)

    assert [(p.code, p.finished_late, p.overdue, p.finished) for p in ranked] == [
        ("2.000001", 3, 0, 3),
        (procedures[0].national_code, 1, 1, 3),
    ]
    assert late_procedures(unit_ids=None, now=NOW, limit=1, **MARCH)[0].code == "2.000001"


def test_the_change_marker(rows):
    last = rollups_last_change()

    assert last is not None
    assert rollups_changed_since(last - dt.timedelta(seconds=1))
    assert not rollups_changed_since(last)
