"""Registration, verification against the population registry, the account page, editing, devices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_record
from hanoismart.identity.models import AssuranceLevel, RegistryCitizen, User, UserSession
from tests.identity.factories import PASSWORD, UserFactory

REGISTER = reverse("identity:register")
ACCOUNT = reverse("identity:account")
VERIFY = reverse("identity:account_verify")
EDIT = reverse("identity:account_edit")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_pages(settings):
    """Assert the English source strings, whatever the locale files later translate them to; hash the many
    fixture passwords quickly (the one test about argon2 restores it)."""
    settings.LANGUAGE_CODE = "en"


def _form(**overrides) -> dict[str, str]:
    data = {
        "national_id": "001095000123",
        "full_name": "Nguyễn Thị Hoa",
        "date_of_birth": "1995-04-30",
        "phone": "+84 912 000 111",
        "email": "hoa@example.vn",
        "ward": "",
        "password": "mua-thu-ha-noi-2025",
        "password_confirm": "mua-thu-ha-noi-2025",
    }
    data.update(overrides)
    return data


def _errors_of(response, field: str) -> list[str]:
    return [str(error) for error in response.context["form"].errors.get(field, [])]


# --- registration --------------------------------------------------------------------------------------


def test_registration_opens_a_level_0_account_signs_in_and_audits(hoan_kiem, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    client = Client()

    response = client.post(REGISTER, _form(ward=str(hoan_kiem.pk)))

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    user = User.objects.get(national_id="001095000123")
    assert user.full_name == "Nguyễn Thị Hoa"
    assert user.phone == "0912000111"
    assert user.email == "hoa@example.vn"
    assert user.ward == hoan_kiem
    assert user.date_of_birth == dt.date(1995, 4, 30)
    assert user.assurance_level == AssuranceLevel.SELF_REGISTERED
    assert user.password.startswith("argon2")
    assert user.check_password("mua-thu-ha-noi-2025")
    event = AuditEvent.objects.get(action="identity.account.registered")
    assert event.subject_ref == user.public_id
    assert event.actor_ref == user.public_id
    assert client.get(ACCOUNT).status_code == 200  # signed in


def test_registration_page_lists_the_city_wards_and_uses_phone_friendly_inputs(hoan_kiem, ba_dinh):
    response = Client().get(REGISTER)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Phường Hoàn Kiếm" in html
    assert "Phường Ba Đình" in html
    assert 'type="tel"' in html
    assert 'inputmode="numeric"' in html
    assert 'autocomplete="new-password"' in html
    assert 'type="date"' in html
    assert "form-control-lg" in html


def test_registration_without_units_loaded_needs_no_ward():
    response = Client().post(REGISTER, _form())

    assert response.status_code == 302
    assert User.objects.get(national_id="001095000123").ward is None


def test_registration_requires_a_ward_when_the_city_has_wards(hoan_kiem):
    response = Client().post(REGISTER, _form())

    assert response.status_code == 400
    assert _errors_of(response, "ward") == ["This field is required."]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("field", "existing", "typed", "message"),
    [
        (
            "national_id",
            {"national_id": "001095000123"},
            {},
            "An account with this national ID number already exists. Sign in, or reset your password.",
        ),
        ("phone", {"phone": "0912000111"}, {}, "Another account already uses this phone number."),
        ("email", {"email": "hoa@example.vn"}, {"email": "HOA@Example.VN"}, None),
    ],
)
def test_duplicate_identifiers_are_refused_on_their_field_and_nothing_is_saved(
    field, existing, typed, message
):
    UserFactory(**existing)
    users_before = User.objects.count()

    response = Client().post(REGISTER, _form(**typed))

    assert response.status_code == 400
    expected = message or "Another account already uses this email address."
    assert _errors_of(response, field) == [expected]
    assert expected in response.content.decode()
    assert User.objects.count() == users_before
    assert not AuditEvent.objects.filter(action="identity.account.registered").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"national_id": "12345"}, "national_id", "A national ID number has exactly 12 digits."),
        ({"phone": "0123"}, "phone", "Enter a Vietnamese mobile number, e.g. 0912 345 678."),
        (
            {"password_confirm": "something-else-2025"},
            "password_confirm",
            "The two passwords are not the same.",
        ),
        (
            {"password": "48213975206", "password_confirm": "48213975206"},
            "password",
            "This password is entirely numeric.",
        ),
        (
            {"date_of_birth": "1996-04-30"},
            "date_of_birth",
            "The year of birth does not match the one encoded in your national ID number.",
        ),
        ({"date_of_birth": "not a date"}, "date_of_birth", "Enter a valid date."),
        ({"full_name": "   "}, "full_name", "This field is required."),
    ],
)
def test_bad_registration_input_is_a_400_with_the_error_next_to_the_field(overrides, field, message):
    response = Client().post(REGISTER, _form(**overrides))

    assert response.status_code == 400
    assert message in _errors_of(response, field)
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


# --- verification ------------------------------------------------------------------------------------------


def _self_registered(**fields) -> User:
    defaults = {
        "national_id": "001095000123",
        "full_name": "Nguyễn Thị Hoa",
        "date_of_birth": dt.date(1995, 4, 30),
        "assurance_level": AssuranceLevel.SELF_REGISTERED,
    }
    return UserFactory(**{**defaults, **fields})


def _citizen(**fields) -> RegistryCitizen:
    defaults = {
        "national_id": "001095000123",
        "full_name": "NGUYỄN THỊ HOA",
        "date_of_birth": dt.date(1995, 4, 30),
        "sex": "female",
        "level": AssuranceLevel.LEVEL_2,
    }
    return RegistryCitizen.objects.create(**{**defaults, **fields})


def test_verification_that_matches_raises_the_level_to_the_registrys(sign_in):
    user = _self_registered(full_name="  Nguyễn   Thị Hoa ")
    _citizen(level=AssuranceLevel.LEVEL_1)
    client = sign_in(user)

    response = client.post(VERIFY)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.LEVEL_1
    assert user.verification_method == "population_registry"
    assert user.verified_at is not None
    event = AuditEvent.objects.get(action="identity.account.verified")
    assert event.subject_ref == user.public_id
    assert event.details == {"level": 1, "method": "population_registry"}
    page = client.get(ACCOUNT).content.decode()
    assert "Level 1: verified identity" in page
    assert "Verify with the national population database" not in page


def test_the_level_0_account_page_offers_verification(sign_in):
    page = sign_in(_self_registered()).get(ACCOUNT).content.decode()

    assert "Level 0: self-registered" in page
    assert "Verify with the national population database" in page


@pytest.mark.parametrize(
    ("citizen", "message", "mismatched"),
    [
        (
            {"full_name": "NGUYỄN THỊ HỒNG"},
            "Your full name does not match the national population database.",
            ["full_name"],
        ),
        (
            {"full_name": "NGUYEN THI HOA"},  # diacritics matter in Vietnamese names
            "Your full name does not match the national population database.",
            ["full_name"],
        ),
        (
            {"date_of_birth": dt.date(1995, 5, 1)},
            "Your date of birth does not match the national population database.",
            ["date_of_birth"],
        ),
        (
            {"full_name": "TRẦN VĂN BA", "date_of_birth": dt.date(1995, 5, 1)},
            "Your full name and date of birth do not match the national population database.",
            ["full_name", "date_of_birth"],
        ),
        (
            {"national_id": "001095999999"},
            "The national population database has no record of this national ID number.",
            ["national_id"],
        ),
    ],
)
def test_verification_mismatch_names_what_differs_and_changes_nothing(sign_in, citizen, message, mismatched):
    user = _self_registered()
    record = _citizen(**citizen)
    client = sign_in(user)

    response = client.post(VERIFY)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert record.full_name not in page  # the registry's value is never shown
    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.SELF_REGISTERED
    assert user.verified_at is None
    assert user.verification_method == ""
    event = AuditEvent.objects.get(action="identity.account.verification_failed")
    assert event.details == {"mismatched": mismatched}
    assert not AuditEvent.objects.filter(action="identity.account.verified").exists()


def test_an_already_verified_account_is_not_verified_again(sign_in, personas):
    response = sign_in(personas.resident).post(VERIFY)

    assert response.status_code == 409
    assert "Your account is already verified." in response.content.decode()
    assert not AuditEvent.objects.filter(action__startswith="identity.account.verif").exists()


def test_verification_needs_a_post_and_a_signed_in_person():
    assert Client().post(VERIFY).status_code == 302
    assert not AuditEvent.objects.exists()


# --- account page --------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get(ACCOUNT)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('identity:sign_in')}?next={ACCOUNT}"


def test_account_page_shows_the_profile_with_the_national_id_masked(sign_in, personas):
    resident = personas.resident
    resident.email = "dan@example.vn"
    resident.save()

    page = sign_in(resident).get(ACCOUNT).content.decode()

    assert resident.full_name in page
    assert resident.masked_national_id in page
    assert resident.national_id not in page
    assert resident.phone in page
    assert "dan@example.vn" in page
    assert "Phường Hoàn Kiếm" in page
    assert "01/01/1990" in page
    assert "Level 2: verified identity and face" in page


def test_who_accessed_my_data_lists_events_about_me_only(sign_in, personas):
    resident = personas.resident
    audit_record(
        actor=personas.clerk_hoan_kiem,
        action="dossiers.dossier.viewed",
        subject=resident,
        actor_role="clerk",
    )
    audit_record(actor=resident, action="identity.account.updated", subject=resident)
    audit_record(actor=personas.clerk_hoan_kiem, action="dossiers.dossier.viewed", subject=personas.operator)
    Client().post(reverse("identity:sign_in"), {"identifier": resident.phone, "password": "a-wrong-guess"})

    response = sign_in(resident).get(ACCOUNT)

    log = response.context["access_log"]
    assert [(row["who"], row["role"], row["what"]) for row in log] == [
        ("Someone who was not signed in", "", "Failed sign-in attempt"),
        ("You", "", "Contact details changed"),
        ("Phạm Văn Một Cửa", "One-stop desk clerk", "dossiers.dossier.viewed"),
    ]
    assert "Phạm Văn Một Cửa" in response.content.decode()


def test_who_accessed_my_data_is_paginated(sign_in, personas):
    for _ in range(25):
        audit_record(
            actor=personas.clerk_hoan_kiem, action="dossiers.dossier.viewed", subject=personas.resident
        )
    client = sign_in(personas.resident)

    first = client.get(ACCOUNT)
    second = client.get(ACCOUNT, {"page": 2})

    assert len(first.context["access_log"]) == 20
    assert len(second.context["access_log"]) == 5
    assert "Page 2 of 2" in second.content.decode()


def test_editing_contact_details_saves_and_audits_the_changed_fields(sign_in, personas, ba_dinh):
    resident = personas.resident
    client = sign_in(resident)

    response = client.post(
        EDIT, {"phone": "0987 654 321", "email": "moi@example.vn", "ward": str(ba_dinh.pk)}
    )

    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.phone == "0987654321"
    assert resident.email == "moi@example.vn"
    assert resident.ward == ba_dinh
    event = AuditEvent.objects.get(action="identity.account.updated")
    assert event.details == {"fields": ["phone", "email", "ward"]}
    assert event.subject_ref == resident.public_id


def test_editing_to_a_phone_another_account_uses_is_refused_and_nothing_changes(sign_in, personas):
    resident = personas.resident
    phone_before = resident.phone

    response = sign_in(resident).post(
        EDIT, {"phone": personas.operator.phone, "email": "moi@example.vn", "ward": ""}
    )

    assert response.status_code == 400
    assert _errors_of(response, "phone") == ["Another account already uses this phone number."]
    resident.refresh_from_db()
    assert resident.phone == phone_before
    assert resident.email is None
    assert not AuditEvent.objects.filter(action="identity.account.updated").exists()


def test_a_verified_person_cannot_edit_their_name_but_an_unverified_one_can(sign_in, personas):
    verified_form = sign_in(personas.resident).get(EDIT).context["form"]
    assert "full_name" not in verified_form.fields

    user = _self_registered()
    response = sign_in(user).post(
        EDIT,
        {"full_name": "Nguyễn Thị Hoà", "date_of_birth": "1995-04-29", "phone": user.phone, "email": ""},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.full_name == "Nguyễn Thị Hoà"
    assert user.date_of_birth == dt.date(1995, 4, 29)


# --- devices -----------------------------------------------------------------------------------------------


def test_devices_are_listed_with_this_device_marked(personas):
    resident = personas.resident
    phone = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
    )
    laptop = Client(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/128.0")
    for client in (phone, laptop):
        client.post(reverse("identity:sign_in"), {"identifier": resident.national_id, "password": PASSWORD})

    response = laptop.get(ACCOUNT)

    sessions = response.context["sessions"]
    assert sorted((row["label"], row["is_current"]) for row in sessions) == [
        ("Chrome on Android", False),
        ("Firefox on Windows", True),
    ]
    assert all(row["ip"] == "127.0.0.1" for row in sessions)
    assert "This device" in response.content.decode()


def test_sign_out_of_other_devices_ends_their_sessions_only(personas):
    resident = personas.resident
    phone, laptop = Client(HTTP_USER_AGENT="Android Chrome/1"), Client(HTTP_USER_AGENT="Windows Firefox/1")
    for client in (phone, laptop):
        client.post(reverse("identity:sign_in"), {"identifier": resident.national_id, "password": PASSWORD})
    laptop_key = laptop.session.session_key

    response = laptop.post(reverse("identity:sign_out_other_devices"))

    assert response.status_code == 302
    assert list(UserSession.objects.filter(user=resident).values_list("session_key", flat=True)) == [
        laptop_key
    ]
    assert list(Session.objects.values_list("session_key", flat=True)) == [laptop_key]
    assert phone.get(ACCOUNT).status_code == 302  # back to sign-in
    assert laptop.get(ACCOUNT).status_code == 200
    event = AuditEvent.objects.get(action="identity.sessions.signed_out_others")
    assert event.details == {"sessions_ended": 1}


def test_sign_out_is_post_only_and_forgets_the_device(personas):
    resident = personas.resident
    client = Client()
    client.post(reverse("identity:sign_in"), {"identifier": resident.national_id, "password": PASSWORD})

    assert client.get(reverse("identity:sign_out")).status_code == 200  # a confirmation button
    assert client.get(ACCOUNT).status_code == 200  # still signed in
    response = client.post(reverse("identity:sign_out"))

    assert response.status_code == 302
    assert client.get(ACCOUNT).status_code == 302
    assert not UserSession.objects.filter(user=resident).exists()
    assert (
        AuditEvent.objects.filter(action="identity.signed_out", subject_ref=resident.public_id).count() == 1
    )


def test_the_ward_list_follows_vietnamese_alphabetical_order(db):
    # given: wards whose byte order differs from their alphabetical order (Đ sorts after every ASCII letter)
    from hanoismart.directory.models import Unit, UnitKind
    from hanoismart.identity.selectors.accounts import ward_choices
    from tests.directory.factories import UnitFactory

    city = Unit.objects.filter(code="01").first() or UnitFactory(code="01", name="Thành phố Hà Nội")
    city.kind = UnitKind.CITY
    city.save()
    wards = [("98001", "Phường Hoàng Mai"), ("98002", "Phường Hà Đông"), ("98003", "Phường Đống Đa")]
    for code, name in wards:
        UnitFactory(code=code, name=name, parent=city)
    # when
    names = [unit.name for unit in ward_choices() if unit.code.startswith("98")]
    # then: Đ is read as D, and "Hà Đông" comes before "Hoàng Mai"
    assert names == ["Phường Đống Đa", "Phường Hà Đông", "Phường Hoàng Mai"]
