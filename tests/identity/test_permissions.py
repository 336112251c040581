import datetime as dt
import re

import pytest
from django.contrib.auth.models import AnonymousUser

from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.identity.permissions import ROLE_PERMISSIONS, IdentityPermission, has_permission, roles_with
from tests.directory.factories import AgencyFactory
from tests.identity.factories import UserFactory

P = IdentityPermission


def test_permissions_are_named_scope_resource_action_and_alphabetised():
    values = [perm.value for perm in IdentityPermission]
    assert values == sorted(values)
    assert all(re.fullmatch(r"[a-z]+:[a-z_]+:[a-z_]+", value) for value in values)
    assert [perm.name for perm in IdentityPermission] == [v.upper().replace(":", "_") for v in values]


def test_every_role_has_an_entry_and_the_table_is_as_documented():
    assert set(ROLE_PERMISSIONS) == set(StaffRole)
    assert ROLE_PERMISSIONS[StaffRole.CLERK] == {P.IDENTITY_ORGANISATION_VIEW, P.IDENTITY_PERSON_VIEW}
    assert ROLE_PERMISSIONS[StaffRole.OFFICER] == {P.IDENTITY_ORGANISATION_VIEW, P.IDENTITY_PERSON_VIEW}
    assert ROLE_PERMISSIONS[StaffRole.LEADER] == {
        P.IDENTITY_ORGANISATION_VIEW,
        P.IDENTITY_PERSON_VIEW,
        P.IDENTITY_POSITION_VIEW,
    }
    assert ROLE_PERMISSIONS[StaffRole.REPORTER] == frozenset()
    assert ROLE_PERMISSIONS[StaffRole.MANAGER] == {
        P.AUDIT_EVENT_VIEW,
        P.IDENTITY_ORGANISATION_VIEW,
        P.IDENTITY_PERSON_VIEW,
        P.IDENTITY_POSITION_VIEW,
    }
    assert ROLE_PERMISSIONS[StaffRole.OPERATOR] == set(IdentityPermission)
    assert roles_with(P.IDENTITY_POSITION_MANAGE) == {StaffRole.OPERATOR}


def test_anonymous_and_residents_hold_nothing(personas):
    for perm in IdentityPermission:
        assert not has_permission(AnonymousUser(), perm)
        assert not has_permission(None, perm)
        assert not has_permission(personas.resident, perm)


def test_clerk_holds_person_view_only_in_their_ward(personas, hoan_kiem, ba_dinh):
    clerk = personas.clerk_hoan_kiem
    assert has_permission(clerk, P.IDENTITY_PERSON_VIEW)
    assert has_permission(clerk, P.IDENTITY_PERSON_VIEW, hoan_kiem)
    assert has_permission(clerk, P.IDENTITY_PERSON_VIEW, hoan_kiem.pk)
    assert not has_permission(clerk, P.IDENTITY_PERSON_VIEW, ba_dinh)
    assert not has_permission(clerk, P.IDENTITY_POSITION_MANAGE)
    assert not has_permission(personas.clerk_other_ward, P.IDENTITY_PERSON_VIEW, hoan_kiem)


def test_city_level_roles_hold_their_permissions_in_every_ward(personas, hoan_kiem, ba_dinh):
    for unit in (hoan_kiem, ba_dinh):
        assert has_permission(personas.city_manager, P.IDENTITY_PERSON_VIEW, unit)
        assert has_permission(personas.department_officer, P.IDENTITY_PERSON_VIEW, unit)
        assert has_permission(personas.operator, P.IDENTITY_POSITION_MANAGE, unit)
    assert has_permission(personas.city_manager, P.AUDIT_EVENT_VIEW)
    assert not has_permission(personas.city_manager, P.IDENTITY_POSITION_MANAGE)
    assert not has_permission(personas.department_officer, P.AUDIT_EVENT_VIEW)


def test_reporter_holds_no_identity_permission(db, hoan_kiem):
    reporter = UserFactory()
    StaffPosition.objects.create(user=reporter, role=StaffRole.REPORTER, agency=AgencyFactory(unit=hoan_kiem))
    assert not any(has_permission(reporter, perm) for perm in IdentityPermission)


def test_ended_future_and_inactive_positions_grant_nothing(personas):
    clerk = personas.clerk_hoan_kiem
    position = clerk.positions.get()
    position.valid_from = dt.date(2025, 7, 1)
    position.valid_to = dt.date(2026, 1, 1)
    position.save()
    assert has_permission(clerk, P.IDENTITY_PERSON_VIEW, on_date=dt.date(2025, 12, 31))
    assert not has_permission(clerk, P.IDENTITY_PERSON_VIEW, on_date=dt.date(2026, 1, 1))
    assert not has_permission(clerk, P.IDENTITY_PERSON_VIEW, on_date=dt.date(2025, 6, 30))

    officer = personas.department_officer
    agency = officer.positions.get().agency
    agency.is_active = False
    agency.save()
    assert not has_permission(officer, P.IDENTITY_PERSON_VIEW)


def test_deactivated_staff_hold_nothing(personas):
    personas.operator.is_active = False
    personas.operator.save()
    assert not has_permission(personas.operator, P.IDENTITY_POSITION_MANAGE)


@pytest.mark.parametrize("perm", list(IdentityPermission))
def test_active_superuser_holds_everything(db, perm):
    root = UserFactory(is_superuser=True)
    assert has_permission(root, perm)
