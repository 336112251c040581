"""Directory services: seeding from vietnam-provinces, reorganising units, announcing calendar days."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from vietnam_provinces import ProvinceCode, Ward

from hanoismart.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hanoismart.directory import seeds
from hanoismart.directory.models import Agency, AgencyKind, CalendarDay, CalendarDayKind, Unit, UnitKind
from hanoismart.directory.selectors import working_calendar
from hanoismart.directory.services import (
    NewUnit,
    calendar_day_remove,
    calendar_day_set,
    committee_code,
    committee_position,
    directory_seed,
    unit_reorganise,
)
from tests.identity.factories import UserFactory

HANOI_WARDS = sorted(Ward.iter_by_province(ProvinceCode(1)), key=lambda ward: ward.code.value)
REORGANISED_ON = dt.date(2026, 1, 1)


@pytest.fixture
def seeded(db):
    return directory_seed(province_code="01")


# -- seeding ----------------------------------------------------------------------------------------------


def test_seed_loads_hanoi_and_its_126_wards_and_communes(seeded):
    city = Unit.objects.get(code="01")
    assert (city.name, city.kind, city.parent_id, city.valid_from) == (
        "Thành phố Hà Nội",
        UnitKind.CITY,
        None,
        dt.date(2025, 7, 1),
    )
    local = Unit.objects.filter(parent=city).order_by("code")
    assert [(unit.code, unit.name) for unit in local] == [
        (f"{ward.code.value:05d}", ward.name) for ward in HANOI_WARDS
    ]
    assert local.count() == 126
    assert set(local.values_list("kind", flat=True)) == {UnitKind.WARD, UnitKind.COMMUNE}
    hoan_kiem = Unit.objects.get(code="00070")
    assert (hoan_kiem.name, hoan_kiem.kind, hoan_kiem.name_folded) == (
        "Phường Hoàn Kiếm",
        UnitKind.WARD,
        "phuong hoan kiem",
    )
    assert Unit.objects.get(name="Xã Kim Anh").kind == UnitKind.COMMUNE
    assert (seeded.units_created, seeded.units_updated) == (127, 0)


def test_seed_loads_the_city_agencies_and_one_committee_per_ward(seeded):
    city = Unit.objects.get(code="01")
    justice = Agency.objects.get(code="000.00.13.H26")
    assert (justice.name, justice.kind, justice.unit, justice.parent.code) == (
        "Sở Tư pháp",
        AgencyKind.DEPARTMENT,
        city,
        "000.00.00.H26",
    )
    assert Agency.objects.get(code="000.00.01.H26").name == "Văn phòng UBND Thành phố"
    assert Agency.objects.filter(unit=city).count() == 21
    committees = Agency.objects.filter(kind=AgencyKind.PEOPLES_COMMITTEE).exclude(unit=city)
    assert committees.count() == 126
    assert set(committees.values_list("unit__parent__code", flat=True)) == {"01"}
    first, last = HANOI_WARDS[0], HANOI_WARDS[-1]
    assert Agency.objects.get(unit__code=f"{first.code.value:05d}").code == "000.01.90.H26"
    assert Agency.objects.get(unit__code=f"{last.code.value:05d}").code == "000.27.91.H26"
    assert Agency.objects.get(code="000.01.90.H26").name == f"UBND {first.name}"
    assert (seeded.agencies_created, seeded.agencies_updated) == (147, 0)


def test_a_second_seed_changes_nothing_in_a_handful_of_queries(seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        again = directory_seed(province_code="01")

    assert not again.changed
    assert Unit.objects.count() == 127
    assert Agency.objects.count() == 147


def test_seed_repairs_a_changed_name_and_keeps_a_ceased_units_end(seeded):
    Unit.objects.filter(code="00070").update(name="Sai tên")
    Unit.objects.filter(code="00073").update(valid_to=dt.date(2026, 1, 1))

    again = directory_seed(province_code="01")

    assert (again.units_created, again.units_updated) == (0, 1)
    assert Unit.objects.get(code="00070").name == "Phường Hoàn Kiếm"
    assert Unit.objects.get(code="00073").valid_to == dt.date(2026, 1, 1)


def test_seed_keeps_an_existing_committee_and_its_code(db):
    # given: the personas' way of making Hoàn Kiếm's committee, with another code
    from tests.directory.factories import AgencyFactory, ward

    committee = AgencyFactory(
        code="000.70.01.H26", name="UBND Phường Hoàn Kiếm", unit=ward("00070", "Phường Hoàn Kiếm")
    )

    directory_seed(province_code="01")

    assert list(Agency.objects.filter(unit__code="00070").values_list("pk", "code")) == [
        (committee.pk, "000.70.01.H26")
    ]


def test_seed_of_a_province_without_agency_data_loads_units_only(db):
    result = directory_seed(province_code="79")

    assert Unit.objects.get(code="79").kind == UnitKind.CITY
    assert Unit.objects.filter(parent__code="79").count() == len(
        list(Ward.iter_by_province(ProvinceCode(79)))
    )
    assert Agency.objects.count() == 0
    assert result.notes == ["No agency data for province 79; units only."]


@pytest.mark.parametrize("code", ["", "99", "abc"])
def test_seed_refuses_an_unknown_province(db, code):
    with pytest.raises(InvalidInput):
        directory_seed(province_code=code)

    assert Unit.objects.count() == 0


def test_seeds_run_uses_the_configured_province(db, settings):
    settings.PROVINCE_CODE = "01"
    out = io.StringIO()

    seeds.run(demo=True, stdout=out)

    assert Unit.objects.filter(parent__code="01").count() == 126
    assert out.getvalue() == "directory: units 127 created, 0 updated; agencies 147 created, 0 updated\n"


@pytest.mark.parametrize(
    ("position", "code"),
    [
        (1, "000.01.90.H26"),
        (70, "000.70.90.H26"),
        (99, "000.99.90.H26"),
        (100, "000.01.91.H26"),
        (990, "000.99.99.H26"),
    ],
)
def test_committee_codes_round_trip(position, code):
    assert committee_code(position=position, level1_code="H26") == code
    assert committee_position(code) == position


def test_committee_codes_do_not_collide_with_city_bodies():
    assert committee_position("000.00.13.H26") is None
    assert committee_position("000.70.01.H26") is None
    with pytest.raises(ValueError, match="position"):
        committee_code(position=991, level1_code="H26")


# -- reorganisation ---------------------------------------------------------------------------------------


def test_merging_two_wards_keeps_their_history(seeded):
    # when: Hoàn Kiếm (00070) and Cửa Nam (00073) merge into a new ward
    [merged] = unit_reorganise(
        actor=None,
        new_units=[NewUnit("99001", "Phường Hồ Gươm", UnitKind.WARD, "01", ("00070", "00073"))],
        ceased_codes=["00070", "00073"],
        on_date=REORGANISED_ON,
    )

    # then
    assert Unit.objects.get(code="00070").valid_to == REORGANISED_ON
    assert Unit.objects.get(code="00073").valid_to == REORGANISED_ON
    assert (merged.valid_from, merged.parent.code, merged.valid_to) == (REORGANISED_ON, "01", None)
    assert sorted(merged.predecessors.values_list("code", flat=True)) == ["00070", "00073"]
    assert list(Unit.objects.get(code="00070").successors.values_list("code", flat=True)) == ["99001"]
    assert not Agency.objects.get(unit__code="00070").is_active
    new_committee = Agency.objects.get(unit=merged)
    assert (new_committee.code, new_committee.name, new_committee.is_active) == (
        "000.28.91.H26",
        "UBND Phường Hồ Gươm",
        True,
    )


def test_splitting_a_ward(seeded):
    created = unit_reorganise(
        actor=None,
        new_units=[
            NewUnit("99001", "Phường Bắc", UnitKind.WARD, "01", ("00070",)),
            NewUnit("99002", "Phường Nam", UnitKind.WARD, "01", ("00070",)),
        ],
        ceased_codes=["00070"],
        on_date=REORGANISED_ON,
    )

    assert [unit.code for unit in created] == ["99001", "99002"]
    assert sorted(Unit.objects.get(code="00070").successors.values_list("code", flat=True)) == [
        "99001",
        "99002",
    ]
    assert sorted(Agency.objects.filter(unit__in=created).values_list("code", flat=True)) == [
        "000.28.91.H26",
        "000.29.91.H26",
    ]


@pytest.mark.parametrize(
    ("new_units", "ceased", "error"),
    [
        ([], ["01"], InvalidInput),  # the city still has wards under it
        ([], ["12345"], NotFound),
        ([NewUnit("00004", "Trùng mã", UnitKind.WARD, "01")], [], Conflict),
        ([NewUnit("99001", "Phường Mới", UnitKind.WARD, "01", ("55555",))], [], NotFound),
        ([NewUnit("99001", "Phường Mới", "district", "01")], [], InvalidInput),
        ([NewUnit("99001", " ", UnitKind.WARD, "01")], [], InvalidInput),
        ([NewUnit("99001", "Phường Mới", UnitKind.WARD, "00070")], ["00070"], InvalidInput),
        ([], ["00070", "00070"], InvalidInput),
        ([], [], InvalidInput),
    ],
)
def test_a_bad_reorganisation_changes_nothing(seeded, new_units, ceased, error):
    with pytest.raises(error):
        unit_reorganise(actor=None, new_units=new_units, ceased_codes=ceased, on_date=REORGANISED_ON)

    assert Unit.objects.count() == 127
    assert not Unit.objects.filter(valid_to__isnull=False).exists()
    assert Agency.objects.filter(is_active=False).count() == 0


def test_a_unit_cannot_cease_twice_or_before_it_began(seeded):
    unit_reorganise(actor=None, new_units=[], ceased_codes=["00070"], on_date=REORGANISED_ON)

    with pytest.raises(InvalidInput):
        unit_reorganise(actor=None, new_units=[], ceased_codes=["00070"], on_date=dt.date(2026, 6, 1))
    with pytest.raises(InvalidInput):
        unit_reorganise(actor=None, new_units=[], ceased_codes=["00073"], on_date=dt.date(2025, 7, 1))
    assert Unit.objects.get(code="00070").valid_to == REORGANISED_ON
    assert Unit.objects.get(code="00073").valid_to is None


def test_a_resident_cannot_reorganise_units(seeded):
    resident = UserFactory()

    with pytest.raises(PermissionDenied):
        unit_reorganise(actor=resident, new_units=[], ceased_codes=["00070"], on_date=REORGANISED_ON)

    assert Unit.objects.get(code="00070").valid_to is None


# -- announced calendar days --------------------------------------------------------------------------------


@pytest.fixture
def calendar_operator(db):
    operator = UserFactory()
    operator.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="directory",
            codename__in=["add_calendarday", "change_calendarday", "delete_calendarday"],
        )
    )
    return operator


def test_announcing_a_day_off_changes_the_working_calendar_at_once(calendar_operator):
    bridge_day = dt.date(2027, 2, 11)
    assert working_calendar().is_working_day(bridge_day)  # cached before the change

    day = calendar_day_set(
        actor=calendar_operator, date=bridge_day, kind=CalendarDayKind.DAY_OFF, reason="  Tết  2027 "
    )

    assert (day.date, day.kind, day.reason) == (bridge_day, CalendarDayKind.DAY_OFF, "Tết 2027")
    assert not working_calendar().is_working_day(bridge_day)


def test_changing_and_withdrawing_an_announcement(calendar_operator):
    saturday = dt.date(2027, 2, 20)
    calendar_day_set(actor=calendar_operator, date=saturday, kind=CalendarDayKind.DAY_OFF, reason="Nhầm")
    calendar_day_set(
        actor=calendar_operator, date=saturday, kind=CalendarDayKind.WORKING_DAY, reason="Làm bù Tết"
    )

    assert list(CalendarDay.objects.values_list("date", "kind")) == [(saturday, CalendarDayKind.WORKING_DAY)]
    assert working_calendar().is_working_day(saturday)

    assert calendar_day_remove(actor=calendar_operator, date=saturday) is True
    assert calendar_day_remove(actor=calendar_operator, date=saturday) is False
    assert not CalendarDay.objects.exists()
    assert not working_calendar().is_working_day(saturday)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("holiday", "Tết"), (CalendarDayKind.DAY_OFF, "   "), (CalendarDayKind.DAY_OFF, "x" * 256)],
)
def test_a_bad_announcement_is_refused(calendar_operator, kind, reason):
    with pytest.raises(InvalidInput):
        calendar_day_set(actor=calendar_operator, date=dt.date(2027, 2, 11), kind=kind, reason=reason)

    assert not CalendarDay.objects.exists()


def test_staff_without_the_permission_cannot_announce_days(db):
    clerk = UserFactory()

    with pytest.raises(PermissionDenied):
        calendar_day_set(actor=clerk, date=dt.date(2027, 2, 11), kind=CalendarDayKind.DAY_OFF, reason="Tết")

    assert not CalendarDay.objects.exists()
    assert working_calendar().is_working_day(dt.date(2027, 2, 11))
