import datetime as dt

import pytest
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.identity.models import (
    Membership,
    MembershipRole,
    Organisation,
    RegistryCitizen,
    StaffPosition,
    User,
)
from tests.identity.factories import UserFactory


@pytest.fixture
def operator_client(personas, sign_in):
    return sign_in(personas.operator)


def test_operator_sees_the_identity_screens(operator_client):
    for name in ("user", "organisation", "staffposition", "registrycitizen"):
        response = operator_client.get(reverse(f"admin:identity_{name}_changelist"))
        assert response.status_code == 200, name


@pytest.mark.parametrize("who", ["resident", "clerk_hoan_kiem", "city_manager"])
def test_others_are_kept_out_even_with_operator_site_access(personas, sign_in, who):
    user = getattr(personas, who)
    user.is_staff = True
    user.save()
    client = sign_in(user)
    for name in ("user", "organisation", "staffposition", "registrycitizen"):
        assert client.get(reverse(f"admin:identity_{name}_changelist")).status_code == 403, name


def test_an_operator_role_without_site_access_is_kept_out(personas, sign_in):
    personas.operator.is_staff = False
    personas.operator.save()
    response = sign_in(personas.operator).get(reverse("admin:identity_user_changelist"))
    assert response.status_code == 302


def test_user_search_by_national_id_phone_and_folded_name(personas, operator_client):
    resident = personas.resident
    url = reverse("admin:identity_user_changelist")
    for term in (resident.national_id, f"+84 {resident.phone[1:]}", "tran thi dan", "Trần Thị"):
        response = operator_client.get(url, {"q": term})
        assert list(response.context["cl"].result_list) == [resident], term


def test_user_screen_never_shows_the_password_hash_and_opening_is_audited(personas, operator_client):
    resident = personas.resident
    response = operator_client.get(reverse("admin:identity_user_change", args=[resident.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert resident.password not in html
    assert "argon2" not in html
    event = AuditEvent.objects.get(subject_ref=resident.public_id)
    assert (event.action, event.actor_role) == ("identity.person.viewed", "operator")


def test_operator_creates_an_account_through_the_form(personas, operator_client, hoan_kiem):
    response = operator_client.post(
        reverse("admin:identity_user_add"),
        {
            "national_id": "001185004321",
            "full_name": "Lý Thị Hoa",
            "date_of_birth": "1985-04-02",
            "phone": "0987 654 321",
            "email": "",
            "ward": hoan_kiem.pk,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(national_id="001185004321")
    assert (user.full_name, user.phone, user.has_usable_password()) == ("Lý Thị Hoa", "0987654321", False)
    assert (
        AuditEvent.objects.filter(action="identity.person.created", subject_ref=user.public_id).count() == 1
    )


@pytest.mark.parametrize(
    ("national_id", "born"), [("001185004321", "1986-04-02"), ("003185004321", "1985-04-02"), ("12345", "")]
)
def test_account_form_refuses_a_bad_cccd(operator_client, national_id, born):
    before = User.objects.count()
    response = operator_client.post(
        reverse("admin:identity_user_add"),
        {
            "national_id": national_id,
            "full_name": "Lý Thị Hoa",
            "date_of_birth": born,
            "phone": "",
            "email": "",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert User.objects.count() == before
    assert not AuditEvent.objects.filter(action="identity.person.created").exists()


def test_operator_appoints_and_ends_a_position(personas, operator_client):
    newcomer = UserFactory(full_name="Dương Văn Mới")
    agency = personas.clerk_hoan_kiem.positions.get().agency
    response = operator_client.post(
        reverse("admin:identity_staffposition_add"),
        {
            "person": newcomer.national_id,
            "role": "clerk",
            "agency": agency.pk,
            "title": "",
            "valid_from": "2026-01-05",
        },
    )
    assert response.status_code == 302
    position = StaffPosition.objects.get(user=newcomer)
    assert (position.role, position.agency, position.valid_from) == ("clerk", agency, dt.date(2026, 1, 5))

    response = operator_client.post(
        reverse("admin:identity_staffposition_change", args=[position.pk]), {"valid_to": "2026-06-01"}
    )
    assert response.status_code == 302
    position.refresh_from_db()
    assert position.valid_to == dt.date(2026, 6, 1)
    assert list(
        AuditEvent.objects.filter(subject_ref=newcomer.public_id)
        .order_by("at")
        .values_list("action", flat=True)
    ) == [
        "identity.position.assigned",
        "identity.position.ended",
    ]


def test_a_refused_appointment_is_a_message_not_a_500(personas, operator_client):
    agency = personas.clerk_hoan_kiem.positions.get().agency
    before = StaffPosition.objects.count()
    response = operator_client.post(
        reverse("admin:identity_staffposition_add"),
        {
            "person": personas.resident.national_id,
            "role": "manager",
            "agency": agency.pk,
            "valid_from": "2026-01-05",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Cán bộ quản lý cấp Thành phố và quản trị hệ thống chỉ được phân công vào cơ quan cấp Thành phố."
    ]
    assert StaffPosition.objects.count() == before
    assert not AuditEvent.objects.filter(action="identity.position.assigned").exists()


def test_operator_registers_an_organisation_for_a_representative(personas, operator_client):
    response = operator_client.post(
        reverse("admin:identity_organisation_add"),
        {
            "tax_code": "0100109106",
            "name": "Công ty Cổ phần Tràng Tiền",
            "kind": "enterprise",
            "address": "",
            "ward": "",
            "legal_representative": personas.resident.national_id,
        },
    )
    assert response.status_code == 302
    organisation = Organisation.objects.get()
    assert list(organisation.memberships.values_list("user", "role")) == [
        (personas.resident.pk, MembershipRole.LEGAL_REPRESENTATIVE)
    ]


def test_organisation_form_refuses_a_bad_tax_code(personas, operator_client):
    response = operator_client.post(
        reverse("admin:identity_organisation_add"),
        {
            "tax_code": "0100109107",
            "name": "X",
            "kind": "enterprise",
            "legal_representative": personas.resident.national_id,
        },
    )
    assert response.status_code == 200
    assert "tax_code" in response.context["adminform"].form.errors
    assert Organisation.objects.count() == 0


def test_registry_form_checks_the_cccd_against_sex_and_birth_year(operator_client):
    url = reverse("admin:identity_registrycitizen_add")
    bad = {
        "national_id": "001099000123",
        "full_name": "Vũ Thị Lan",
        "date_of_birth": "1998-01-01",
        "sex": "female",
        "ward_code": "00070",
        "level": 2,
    }
    response = operator_client.post(url, bad)
    assert set(response.context["adminform"].form.errors) == {"sex", "date_of_birth"}
    good = {**bad, "national_id": "001199000123", "date_of_birth": "1999-01-01"}
    assert operator_client.post(url, good).status_code == 302
    assert RegistryCitizen.objects.get().full_name == "Vũ Thị Lan"


def test_membership_inline_keeps_a_legal_representative(personas, operator_client):
    organisation = Organisation.objects.create(tax_code="0100109106", name="Công ty A", kind="enterprise")
    membership = Membership.objects.create(
        user=personas.resident, organisation=organisation, role=MembershipRole.LEGAL_REPRESENTATIVE
    )
    data = {
        "name": "Công ty A",
        "kind": "enterprise",
        "address": "",
        "ward": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": membership.pk,
        "memberships-0-organisation": organisation.pk,
        "memberships-0-DELETE": "on",
    }
    response = operator_client.post(
        reverse("admin:identity_organisation_change", args=[organisation.pk]), data
    )
    assert response.status_code == 200
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.filter(action="identity.membership.removed").exists()
