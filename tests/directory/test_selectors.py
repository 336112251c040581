"""Directory reads: the unit hierarchy (by date), agencies and the cached working calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from hanoismart.common.errors import NotFound
from hanoismart.directory.models import CalendarDay, CalendarDayKind, Unit, UnitKind
from hanoismart.directory.selectors import (
    agency_committee_of,
    agency_list,
    unit_ancestors,
    unit_by_code,
    unit_children,
    unit_descendant_ids,
    unit_list,
    units_active_on,
    working_calendar,
)
from hanoismart.directory.services import NewUnit, directory_seed, unit_reorganise
from tests.directory.factories import AgencyFactory, UnitFactory

MERGED_ON = dt.date(2026, 1, 1)


@pytest.fixture
def seeded(db):
    directory_seed(province_code="01")
    return Unit.objects.get(code="01")


@pytest.fixture
def merged(seeded):
    """Hoàn Kiếm and Cửa Nam merged into "Phường Hồ Gươm" (99001) on 1 January 2026."""
    [unit] = unit_reorganise(
        actor=None,
        new_units=[NewUnit("99001", "Phường Hồ Gươm", UnitKind.WARD, "01", ("00070", "00073"))],
        ceased_codes=["00070", "00073"],
        on_date=MERGED_ON,
    )
    return unit


def test_unit_by_code(seeded):
    assert unit_by_code("00070").name == "Phường Hoàn Kiếm"
    with pytest.raises(NotFound, match="99999"):
        unit_by_code("99999")


def test_children_and_active_units_depend_on_the_date(merged):
    city = Unit.objects.get(code="01")
    before = set(unit_children(city, on_date=dt.date(2025, 12, 31)).values_list("code", flat=True))
    after = set(unit_children(city, on_date=MERGED_ON).values_list("code", flat=True))

    assert len(before) == len(after) + 1 == 126
    assert before - after == {"00070", "00073"}
    assert after - before == {"99001"}
    assert units_active_on(dt.date(2025, 6, 30)).count() == 0
    assert units_active_on(MERGED_ON).count() == 126


def test_children_default_to_today(seeded):
    assert unit_children(seeded).count() == 126


def test_ancestors_run_from_the_top_down(db):
    city = UnitFactory(code="01", kind=UnitKind.CITY, name="Thành phố Hà Nội")
    ward = UnitFactory(code="00070", parent=city)
    group = UnitFactory(code="90001", parent=ward, kind=UnitKind.WARD)

    assert unit_ancestors(group) == [city, ward]
    assert unit_ancestors(city) == []


def test_descendants_include_the_units_themselves_and_ceased_ones(merged, django_assert_num_queries):
    city = Unit.objects.get(code="01")
    every_unit = set(Unit.objects.values_list("pk", flat=True))

    with django_assert_num_queries(2):  # the wards, then their (absent) children
        found = unit_descendant_ids([city.pk])

    assert found == every_unit
    assert len(found) == 128
    hoan_kiem = Unit.objects.get(code="00070")
    assert unit_descendant_ids([hoan_kiem.pk, merged.pk]) == {hoan_kiem.pk, merged.pk}
    assert unit_descendant_ids([]) == set()


def test_descendants_of_a_deeper_tree_in_one_query_per_level(db, django_assert_num_queries):
    root = UnitFactory(code="01", kind=UnitKind.CITY)
    level1 = [UnitFactory(parent=root) for _ in range(3)]
    level2 = [UnitFactory(parent=parent) for parent in level1 for _ in range(2)]
    level3 = [UnitFactory(parent=level2[0])]
    unrelated = UnitFactory()

    with django_assert_num_queries(3):  # two levels below, then the finding that there are no more
        found = unit_descendant_ids([level1[0].pk])

    assert found == {level1[0].pk, level2[0].pk, level2[1].pk, level3[0].pk}
    assert unrelated.pk not in unit_descendant_ids([root.pk])
    assert len(unit_descendant_ids([root.pk])) == 11


def test_unit_list_search_ignores_diacritics_and_case(seeded):
    assert [unit.name for unit in unit_list(query="HOAN kiem")] == ["Phường Hoàn Kiếm"]
    assert [unit.name for unit in unit_list(query="dong da")] == ["Phường Đống Đa"]
    assert unit_list(query="  ").count() == 127
    assert (
        unit_list(kind=UnitKind.COMMUNE, parent_code="01").count()
        + unit_list(kind=UnitKind.WARD, parent_code="01").count()
        == 126
    )


def test_agency_list_filters(seeded):
    assert [agency.code for agency in agency_list(query="tu phap")] == ["000.00.13.H26"]
    assert [agency.name for agency in agency_list(unit_code="00070")] == ["UBND Phường Hoàn Kiếm"]
    assert agency_list(kind="department").count() == 14  # 13 departments and the city inspectorate
    assert agency_committee_of(Unit.objects.get(code="00070")).name == "UBND Phường Hoàn Kiếm"


def test_the_committee_of_a_unit_id_comes_with_its_unit_in_one_query(seeded, django_assert_num_queries):
    ward = Unit.objects.get(code="00070")

    with django_assert_num_queries(1):
        committee = agency_committee_of(ward.pk)
        assert (committee.name, committee.unit.code) == ("UBND Phường Hoàn Kiếm", "00070")


def test_the_committee_of_a_unit_is_its_first_active_peoples_committee_by_code(db):
    ward, other = UnitFactory(), UnitFactory()
    assert agency_committee_of(ward) is None
    AgencyFactory(unit=ward, code="000.00.50.H26", is_active=False)
    AgencyFactory(unit=ward, code="000.00.51.H26", kind="department")
    AgencyFactory(unit=other, code="000.00.52.H26")
    assert agency_committee_of(ward.pk) is None

    AgencyFactory(unit=ward, code="000.00.54.H26")
    AgencyFactory(unit=ward, code="000.00.53.H26")

    assert agency_committee_of(ward).code == "000.00.53.H26"
    assert agency_committee_of(other.pk).unit == other


def test_working_calendar_reads_announced_days_once_per_process(db, django_assert_num_queries):
    CalendarDay.objects.create(date=dt.date(2027, 2, 11), kind=CalendarDayKind.DAY_OFF, reason="Tết")
    CalendarDay.objects.create(date=dt.date(2027, 2, 20), kind=CalendarDayKind.WORKING_DAY, reason="Làm bù")

    with django_assert_num_queries(1):
        calendar = working_calendar()
        assert working_calendar() is calendar

    assert calendar.days_off == {dt.date(2027, 2, 11)}
    assert calendar.working_days == {dt.date(2027, 2, 20)}
