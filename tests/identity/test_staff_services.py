import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.selectors import audit_events_about
from hanoismart.common.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hanoismart.identity.models import AssuranceLevel, StaffPosition, StaffRole, User
from hanoismart.identity.services.staff import (
    person_create,
    person_open,
    person_update,
    position_assign,
    position_end,
)
from tests.directory.factories import AgencyFactory
from tests.identity.factories import UserFactory

# -- person_open ------------------------------------------------------------------------------------------


def test_clerk_of_the_ward_opens_a_resident_and_it_is_recorded_for_the_resident(personas):
    resident, clerk = personas.resident, personas.clerk_hoan_kiem

    opened = person_open(actor=clerk, public_id=resident.public_id, ip="203.0.113.7")

    assert opened == resident
    event = audit_events_about(subject_ref=resident.public_id).get()
    assert (
        event.action,
        event.actor_ref,
        event.actor_label,
        event.actor_role,
        event.unit_code,
        event.ip,
    ) == (
        "identity.person.viewed",
        clerk.public_id,
        "Phạm Văn Một Cửa",
        "clerk",
        "00070",
        "203.0.113.7",
    )
    assert (event.object_type, event.object_ref) == ("identity.user", str(resident.public_id))


def test_city_manager_opens_any_resident_recorded_with_the_city_unit(personas):
    resident = personas.resident
    person_open(actor=personas.city_manager, public_id=str(resident.public_id))
    event = AuditEvent.objects.get()
    assert (event.actor_label, event.actor_role, event.unit_code) == ("Vũ Văn Quản Lý", "manager", "01")


@pytest.mark.parametrize("public_id", ["not-a-uuid", uuid.uuid4()])
def test_unknown_record_is_not_found(personas, public_id):
    with pytest.raises(NotFound):
        person_open(actor=personas.clerk_hoan_kiem, public_id=public_id)
    assert AuditEvent.objects.count() == 0


def test_clerk_of_another_ward_gets_not_found_and_nothing_is_recorded(personas):
    with pytest.raises(NotFound) as excinfo:
        person_open(actor=personas.clerk_other_ward, public_id=personas.resident.public_id)
    assert excinfo.value.status == 404
    assert AuditEvent.objects.count() == 0


def test_residents_and_anonymous_are_refused_and_nothing_is_recorded(personas):
    other = UserFactory(ward=personas.resident.ward)
    with pytest.raises(PermissionDenied):
        person_open(actor=personas.resident, public_id=other.public_id)
    with pytest.raises(NotAuthenticated):
        person_open(actor=AnonymousUser(), public_id=other.public_id)
    assert AuditEvent.objects.count() == 0


# -- position_assign / position_end ---------------------------------------------------------------------


def test_operator_appoints_a_clerk(personas, hoan_kiem):
    newcomer = UserFactory(full_name="Bùi Thị Mới")
    agency = personas.clerk_hoan_kiem.positions.get().agency

    position = position_assign(
        actor=personas.operator,
        user=newcomer,
        role=StaffRole.CLERK,
        agency=agency,
        title=" Công chức một cửa ",
        valid_from=dt.date(2026, 1, 5),
    )

    assert (position.user, position.role, position.agency, position.title, position.valid_from) == (
        newcomer,
        "clerk",
        agency,
        "Công chức một cửa",
        dt.date(2026, 1, 5),
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.subject_ref, event.actor_role, event.unit_code) == (
        "identity.position.assigned",
        newcomer.public_id,
        "operator",
        "00070",
    )
    assert event.details == {"role": "clerk", "agency": agency.code, "valid_from": "2026-01-05"}


@pytest.mark.parametrize("who", ["resident", "clerk_hoan_kiem", "clerk_other_ward", "city_manager"])
def test_only_operators_appoint(personas, who):
    newcomer = UserFactory()
    with pytest.raises(PermissionDenied):
        position_assign(
            actor=getattr(personas, who),
            user=newcomer,
            role=StaffRole.CLERK,
            agency=personas.clerk_hoan_kiem.positions.get().agency,
        )
    assert not StaffPosition.objects.filter(user=newcomer).exists()
    assert AuditEvent.objects.count() == 0


def test_anonymous_cannot_appoint(personas):
    newcomer = UserFactory()
    with pytest.raises(NotAuthenticated):
        position_assign(
            actor=AnonymousUser(),
            user=newcomer,
            role="clerk",
            agency=personas.operator.positions.get().agency,
        )
    assert not StaffPosition.objects.filter(user=newcomer).exists()


def test_appointment_rules(personas, hoan_kiem):
    ward_agency = personas.clerk_hoan_kiem.positions.get().agency
    newcomer = UserFactory()
    with pytest.raises(InvalidInput):
        position_assign(actor=personas.operator, user=newcomer, role="mayor", agency=ward_agency)
    with pytest.raises(InvalidInput) as excinfo:
        position_assign(actor=personas.operator, user=newcomer, role=StaffRole.MANAGER, agency=ward_agency)
    assert excinfo.value.code == "role_needs_city"
    with pytest.raises(Conflict):
        position_assign(
            actor=personas.operator, user=personas.clerk_hoan_kiem, role=StaffRole.CLERK, agency=ward_agency
        )
    closed = AgencyFactory(unit=hoan_kiem, is_active=False)
    with pytest.raises(InvalidInput):
        position_assign(actor=personas.operator, user=newcomer, role=StaffRole.CLERK, agency=closed)
    assert StaffPosition.objects.filter(user=newcomer).count() == 0
    assert AuditEvent.objects.count() == 0


def test_operator_ends_a_position_and_it_stops_counting(personas):
    clerk = personas.clerk_hoan_kiem
    position = clerk.positions.get()
    StaffPosition.objects.filter(pk=position.pk).update(valid_from=dt.date(2025, 7, 1))

    ended = position_end(actor=personas.operator, position=position, on_date=dt.date(2026, 3, 1))

    assert ended.valid_to == dt.date(2026, 3, 1)
    event = AuditEvent.objects.get()
    assert (event.action, event.subject_ref, event.unit_code, event.details["valid_to"]) == (
        "identity.position.ended",
        clerk.public_id,
        "00070",
        "2026-03-01",
    )
    with pytest.raises(Conflict):
        position_end(actor=personas.operator, position=position, on_date=dt.date(2026, 4, 1))
    assert AuditEvent.objects.count() == 1


def test_a_position_ends_after_it_starts(personas):
    position = personas.clerk_hoan_kiem.positions.get()
    with pytest.raises(InvalidInput):
        position_end(actor=personas.operator, position=position, on_date=position.valid_from)
    position.refresh_from_db()
    assert position.valid_to is None
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("who", ["resident", "clerk_hoan_kiem", "clerk_other_ward", "city_manager"])
def test_only_operators_end_positions(personas, who):
    position = personas.clerk_hoan_kiem.positions.get()
    with pytest.raises(PermissionDenied):
        position_end(actor=getattr(personas, who), position=position, on_date=dt.date(2099, 1, 1))
    position.refresh_from_db()
    assert position.valid_to is None
    assert AuditEvent.objects.count() == 0


# -- person_create / person_update ----------------------------------------------------------------------


def test_operator_creates_an_account_without_password(personas, hoan_kiem):
    user = person_create(
        actor=personas.operator,
        national_id="001 185 004321",
        full_name="  Lý  Thị Hoa ",
        date_of_birth=dt.date(1985, 4, 2),
        phone="+84 987 654 321",
        ward=hoan_kiem,
    )
    user.refresh_from_db()
    assert (user.national_id, user.full_name, user.phone, user.assurance_level) == (
        "001185004321",
        "Lý Thị Hoa",
        "0987654321",
        AssuranceLevel.SELF_REGISTERED,
    )
    assert not user.has_usable_password()
    event = AuditEvent.objects.get()
    assert (event.action, event.subject_ref, event.actor_role) == (
        "identity.person.created",
        user.public_id,
        "operator",
    )


@pytest.mark.parametrize(
    ("national_id", "born", "code"),
    [
        ("00118500432", None, "national_id_format"),
        ("003185004321", None, "national_id_province"),
        ("001185004321", dt.date(1986, 1, 1), "national_id_birth_year"),
    ],
)
def test_create_refuses_a_bad_cccd(personas, national_id, born, code):
    before = User.objects.count()
    with pytest.raises(InvalidInput) as excinfo:
        person_create(
            actor=personas.operator, national_id=national_id, full_name="Lý Thị Hoa", date_of_birth=born
        )
    assert excinfo.value.code == code
    assert User.objects.count() == before
    assert AuditEvent.objects.count() == 0


def test_create_refuses_duplicates_and_non_operators(personas):
    before = User.objects.count()
    with pytest.raises(Conflict):
        person_create(actor=personas.operator, national_id=personas.resident.national_id, full_name="X Y")
    with pytest.raises(Conflict):
        person_create(
            actor=personas.operator,
            national_id="001185004321",
            full_name="X Y",
            phone=personas.resident.phone,
        )
    for who in ("resident", "clerk_hoan_kiem", "city_manager"):
        with pytest.raises(PermissionDenied):
            person_create(actor=getattr(personas, who), national_id="001185004321", full_name="X Y")
    assert User.objects.count() == before
    assert AuditEvent.objects.count() == 0


def test_operator_corrects_contact_details_and_the_fields_are_recorded(personas):
    resident = personas.resident
    person_update(actor=personas.operator, person=resident, changes={"phone": "0388 123 456", "email": None})
    resident.refresh_from_db()
    assert resident.phone == "0388123456"
    event = AuditEvent.objects.get()
    assert (event.action, event.subject_ref, event.details) == (
        "identity.person.changed",
        resident.public_id,
        {"fields": ["phone"]},
    )


def test_update_refuses_identity_fields_and_non_operators(personas):
    resident = personas.resident
    with pytest.raises(InvalidInput):
        person_update(actor=personas.operator, person=resident, changes={"national_id": "001099000009"})
    with pytest.raises(PermissionDenied):
        person_update(actor=personas.clerk_hoan_kiem, person=resident, changes={"full_name": "Khác"})
    resident.refresh_from_db()
    assert resident.full_name == "Trần Thị Dân"
    assert AuditEvent.objects.count() == 0
