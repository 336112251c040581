import datetime as dt

from django.contrib.auth.models import AnonymousUser

from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.identity.permissions import IdentityPermission
from hanoismart.identity.selectors.staff import (
    is_staff_member,
    people_search,
    people_visible_to,
    position_serving,
    positions_active,
    units_served_by,
)
from tests.directory.factories import AgencyFactory, hanoi, ward
from tests.identity.factories import UserFactory


def _ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_positions_active_counts_from_valid_from_up_to_valid_to(personas):
    clerk = personas.clerk_hoan_kiem
    position = clerk.positions.get()
    StaffPosition.objects.filter(pk=position.pk).update(
        valid_from=dt.date(2025, 7, 1), valid_to=dt.date(2026, 7, 1)
    )
    assert list(positions_active(clerk, on_date=dt.date(2025, 7, 1))) == [position]
    assert list(positions_active(clerk, on_date=dt.date(2026, 6, 30))) == [position]
    assert list(positions_active(clerk, on_date=dt.date(2026, 7, 1))) == []
    assert list(positions_active(AnonymousUser())) == []


def test_units_served_by_a_ward_clerk_is_their_ward(personas, hoan_kiem):
    assert units_served_by(personas.clerk_hoan_kiem) == {hoan_kiem.pk}
    assert units_served_by(personas.resident) == set()


def test_units_served_by_a_city_manager_are_the_city_and_every_ward(personas, hoan_kiem, ba_dinh):
    cua_nam = ward("00073", "Phường Cửa Nam")
    assert units_served_by(personas.city_manager) == {hanoi().pk, hoan_kiem.pk, ba_dinh.pk, cua_nam.pk}


def test_is_staff_member(personas):
    assert is_staff_member(personas.clerk_hoan_kiem)
    assert is_staff_member(personas.operator)
    assert not is_staff_member(personas.resident)
    assert not is_staff_member(AnonymousUser())


def test_people_visible_to_each_tier(personas, hoan_kiem, ba_dinh):
    # given a resident of each ward and one with no ward recorded
    of_hoan_kiem = personas.resident
    of_ba_dinh = UserFactory(ward=ba_dinh)
    no_ward = UserFactory(ward=None)
    everybody = _ids(type(of_hoan_kiem).objects.all())

    assert _ids(people_visible_to(actor=AnonymousUser())) == set()
    assert _ids(people_visible_to(actor=of_hoan_kiem)) == {of_hoan_kiem.pk}
    clerk_hk = personas.clerk_hoan_kiem
    assert _ids(people_visible_to(actor=clerk_hk)) == {of_hoan_kiem.pk, clerk_hk.pk}
    clerk_bd = personas.clerk_other_ward
    assert _ids(people_visible_to(actor=clerk_bd)) == {of_ba_dinh.pk, clerk_bd.pk}
    assert _ids(people_visible_to(actor=personas.city_manager)) == everybody
    assert _ids(people_visible_to(actor=personas.department_officer)) == everybody
    assert no_ward.pk in everybody


def test_a_reporter_sees_only_themself(db, hoan_kiem):
    reporter = UserFactory(ward=hoan_kiem)
    StaffPosition.objects.create(user=reporter, role=StaffRole.REPORTER, agency=AgencyFactory(unit=hoan_kiem))
    UserFactory(ward=hoan_kiem)
    assert _ids(people_visible_to(actor=reporter)) == {reporter.pk}


def test_position_serving_prefers_the_local_position(personas, hoan_kiem, ba_dinh):
    manager = personas.city_manager
    local = StaffPosition.objects.create(
        user=manager, role=StaffRole.CLERK, agency=personas.clerk_hoan_kiem.positions.get().agency
    )
    assert position_serving(manager, IdentityPermission.IDENTITY_PERSON_VIEW, hoan_kiem.pk) == local
    city = position_serving(manager, IdentityPermission.IDENTITY_PERSON_VIEW, ba_dinh.pk)
    assert city.role == StaffRole.MANAGER
    assert (
        position_serving(personas.clerk_hoan_kiem, IdentityPermission.IDENTITY_PERSON_VIEW, ba_dinh.pk)
        is None
    )


def test_search_by_national_id_phone_or_folded_name(personas, hoan_kiem):
    resident = personas.resident  # "Trần Thị Dân"
    clerk = personas.clerk_hoan_kiem
    assert list(people_search(actor=clerk, query=resident.national_id)) == [resident]
    assert list(
        people_search(actor=clerk, query=f"{resident.national_id[:6]} {resident.national_id[6:]}")
    ) == [resident]
    spaced_phone = f"+84 {resident.phone[1:4]} {resident.phone[4:]}"
    assert list(people_search(actor=clerk, query=spaced_phone)) == [resident]
    assert list(people_search(actor=clerk, query="tran thi dan")) == [resident]
    assert list(people_search(actor=clerk, query="TRẦN  Thị")) == [resident]
    assert list(people_search(actor=clerk, query="thi dan")) == [resident]


def test_search_finds_nobody_outside_scope_or_for_useless_queries(personas, ba_dinh):
    resident = personas.resident
    UserFactory(full_name="Trần Văn Bên Kia", ward=ba_dinh)
    assert list(people_search(actor=personas.clerk_other_ward, query=resident.national_id)) == []
    assert [p.full_name for p in people_search(actor=personas.clerk_other_ward, query="tran")] == [
        "Trần Văn Bên Kia"
    ]
    assert list(people_search(actor=personas.clerk_hoan_kiem, query="")) == []
    assert list(people_search(actor=personas.clerk_hoan_kiem, query="t")) == []
    assert list(people_search(actor=personas.clerk_hoan_kiem, query="0010")) == []
    # a resident cannot search, not even for themself
    assert list(people_search(actor=resident, query=resident.national_id)) == []


def test_full_name_folded_follows_the_name(db):
    user = UserFactory(full_name="Đặng Thị Ngọc Ánh")
    assert user.full_name_folded == "dang thi ngoc anh"
    user.full_name = "Đỗ Văn Đức"
    user.save(update_fields=["full_name"])
    user.refresh_from_db()
    assert user.full_name_folded == "do van duc"
