"""Signing in: password, lockout, one-time code through the outbox, authenticator app, password reset."""

from __future__ import annotations

import re
import time
from base64 import b32encode
from datetime import timedelta

import pyotp
import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from hanoismart.audit.models import AuditEvent
from hanoismart.identity.models import OneTimeCode, SignInThrottle, ThrottleScope, User, UserSession
from hanoismart.notifications.models import Message
from tests.identity.factories import PASSWORD, confirmed_totp_device

SIGN_IN = reverse("identity:sign_in")
CODE = reverse("identity:sign_in_code")
CODE_ENTER = reverse("identity:sign_in_code_enter")
TOTP = reverse("identity:sign_in_totp")
ENROL = reverse("identity:totp_enrol")
ACCOUNT = reverse("identity:account")
RESET = reverse("identity:password_reset")
RESET_CODE = reverse("identity:password_reset_code")
WRONG_CREDENTIALS = "This national ID number, phone or email and password do not match an account."
WRONG_CODE = "The code is wrong or has expired. Check the SMS or ask for a new code."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_pages(settings):
    """Assert the English source strings, whatever the locale files later translate them to; hash the fixture
    passwords quickly."""
    settings.LANGUAGE_CODE = "en"


def _post_password(client: Client, identifier: str, password: str = PASSWORD, **extra):
    return client.post(SIGN_IN, {"identifier": identifier, "password": password}, **extra)


def _let_locks_expire() -> None:
    SignInThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))


def _page_error(response) -> str:
    return " ".join(str(error) for errors in response.context["form"].errors.values() for error in errors)


def _totp(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the person's app shows (``steps_ahead`` 30-second steps later: a step is accepted once)."""
    return pyotp.TOTP(b32encode(device.bin_key).decode()).at(time.time() + 30 * steps_ahead)


# --- password ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["national_id", "phone", "email"])
def test_a_resident_signs_in_with_any_identifier(which, personas):
    resident = personas.resident
    resident.email = "dan@example.vn"
    resident.save()
    identifier = {"national_id": resident.national_id, "phone": resident.phone, "email": "DAN@example.vn"}[
        which
    ]
    client = Client()

    response = _post_password(client, identifier)

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    assert client.get(ACCOUNT).status_code == 200
    event = AuditEvent.objects.get(action="identity.sign_in.succeeded")
    assert event.subject_ref == resident.public_id
    assert event.details == {"method": "password"}
    assert event.ip == "127.0.0.1"


def test_sign_in_follows_a_safe_next_and_ignores_another_site(personas):
    resident = personas.resident

    inside = Client().post(
        SIGN_IN + "?next=/account/edit/", {"identifier": resident.national_id, "password": PASSWORD}
    )
    outside = Client().post(
        SIGN_IN + "?next=https://evil.example/", {"identifier": resident.national_id, "password": PASSWORD}
    )

    assert inside["Location"] == "/account/edit/"
    assert outside["Location"] == ACCOUNT


def test_wrong_password_and_unknown_account_get_the_same_refusal(personas):
    wrong = _post_password(Client(), personas.resident.national_id, "not-the-password")
    unknown = _post_password(Client(), "001099999999", "not-the-password")

    assert wrong.status_code == unknown.status_code == 400
    assert _page_error(wrong) == _page_error(unknown) == WRONG_CREDENTIALS
    assert "_auth_user_id" not in wrong.wsgi_request.session
    assert not AuditEvent.objects.filter(action="identity.sign_in.succeeded").exists()
    assert AuditEvent.objects.filter(action="identity.sign_in.failed").count() == 2


def test_ten_wrong_passwords_lock_the_account_and_the_page_says_so(personas):
    resident = personas.resident
    client = Client()

    responses = [_post_password(client, resident.national_id, f"wrong-{n}") for n in range(10)]
    with_right_password = _post_password(client, resident.national_id)

    assert [r.status_code for r in responses] == [400] * 4 + [429] * 6
    assert _page_error(responses[3]) == WRONG_CREDENTIALS
    assert "Too many failed attempts. Try again in 1 minute." in responses[9].content.decode()
    assert with_right_password.status_code == 429
    assert "Too many failed attempts. Try again in 1 minute." in with_right_password.content.decode()
    assert with_right_password["Retry-After"] in {"59", "60"}
    assert "_auth_user_id" not in with_right_password.wsgi_request.session
    throttle = SignInThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key=f"user:{resident.pk}")
    assert throttle.failures == 5  # attempts while locked are not even checked, so not counted
    assert not AuditEvent.objects.filter(action="identity.sign_in.succeeded").exists()


def test_each_failure_after_the_lock_doubles_the_delay_and_success_resets_it(personas):
    resident = personas.resident
    client = Client()
    for n in range(5):
        _post_password(client, resident.national_id, f"wrong-{n}")

    _let_locks_expire()
    sixth = _post_password(client, resident.national_id, "wrong-6")
    _let_locks_expire()
    seventh = _post_password(client, resident.national_id, "wrong-7")

    assert "Try again in 2 minutes." in sixth.content.decode()
    assert "Try again in 4 minutes." in seventh.content.decode()
    _let_locks_expire()
    assert _post_password(client, resident.national_id).status_code == 302
    assert not SignInThrottle.objects.filter(scope=ThrottleScope.ACCOUNT).exists()


def test_the_delay_never_exceeds_the_maximum(personas, settings):
    settings.SIGN_IN_LOCKOUT_MAX_SECONDS = 180
    resident = personas.resident
    for n in range(8):
        _let_locks_expire()
        last = _post_password(Client(), resident.national_id, f"wrong-{n}")

    assert "Try again in 3 minutes." in last.content.decode()


def test_unknown_identifiers_lock_like_real_accounts():
    client = Client()

    responses = [_post_password(client, "001099999999", f"wrong-{n}") for n in range(6)]

    assert [r.status_code for r in responses] == [400] * 4 + [429] * 2
    assert "Too many failed attempts. Try again in 1 minute." in responses[5].content.decode()


def test_failures_from_one_ip_lock_every_account_from_that_ip(personas, settings):
    settings.SIGN_IN_IP_FAILURE_THRESHOLD = 4
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(4):  # a different unknown account each time: no account reaches its own threshold
        _post_password(attacker, f"00109900000{n}", "guess")

    from_attacker = _post_password(attacker, personas.resident.national_id)
    from_elsewhere = _post_password(Client(REMOTE_ADDR="198.51.100.7"), personas.resident.national_id)

    assert from_attacker.status_code == 429
    assert "Too many failed attempts. Try again in 1 minute." in from_attacker.content.decode()
    assert from_elsewhere.status_code == 302
    assert SignInThrottle.objects.get(scope=ThrottleScope.IP, key="203.0.113.9").failures == 4


def test_empty_sign_in_form_is_a_400_with_field_errors():
    response = Client().post(SIGN_IN, {})

    assert response.status_code == 400
    assert response.context["form"].errors["identifier"] == ["This field is required."]
    assert not SignInThrottle.objects.exists()


# --- one-time code by SMS ----------------------------------------------------------------------------------


def _request_code(client: Client, identifier: str, capture, url: str = CODE):
    with capture(execute=True):
        return client.post(url, {"identifier": identifier})


def _sms_code(user: User, template: str = "identity.sign_in_code") -> str:
    message = Message.objects.filter(recipient=user, channel="sms", template=template).latest("created_at")
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_sign_in_by_code_end_to_end_through_the_outbox(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()

    asked = _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    message = Message.objects.get(recipient=resident, channel="sms")
    code = _sms_code(resident)
    entered = client.post(CODE_ENTER, {"code": code})

    assert asked.status_code == 302
    assert asked["Location"] == CODE_ENTER
    assert message.address == resident.phone
    assert message.template == "identity.sign_in_code"
    assert message.dedupe_key == f"otc:{OneTimeCode.objects.get(user=resident).pk}"
    assert entered.status_code == 302
    assert entered["Location"] == ACCOUNT
    assert client.get(ACCOUNT).status_code == 200
    row = OneTimeCode.objects.get(user=resident)
    assert row.code_hash != code
    assert code not in row.code_hash
    assert row.used_at is not None
    assert AuditEvent.objects.get(action="identity.sign_in.succeeded").details == {"method": "one_time_code"}


def test_asking_for_a_code_looks_the_same_for_an_unknown_number(django_capture_on_commit_callbacks):
    client = Client()

    asked = _request_code(client, "0988 777 666", django_capture_on_commit_callbacks)
    entered = client.post(CODE_ENTER, {"code": "123456"})

    assert asked.status_code == 302
    assert asked["Location"] == CODE_ENTER
    assert not Message.objects.exists()
    assert entered.status_code == 400
    assert _page_error(entered) == WRONG_CODE


def test_a_code_works_once(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.national_id, django_capture_on_commit_callbacks)
    code = _sms_code(resident)
    client.post(CODE_ENTER, {"code": code})
    client.post(reverse("identity:sign_out"))
    again = Client()
    session = again.session
    session["sign_in_code_identifier"] = resident.national_id
    session.save()

    reused = again.post(CODE_ENTER, {"code": code})

    assert reused.status_code == 400
    assert _page_error(reused) == WRONG_CODE
    assert "_auth_user_id" not in reused.wsgi_request.session


def test_an_expired_code_is_refused(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    code = _sms_code(resident)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(CODE_ENTER, {"code": code})

    assert response.status_code == 400
    assert _page_error(response) == WRONG_CODE
    assert OneTimeCode.objects.get().used_at is None
    assert client.get(ACCOUNT).status_code == 302


def test_five_wrong_codes_lock_and_use_the_code_up(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    code = _sms_code(resident)
    wrong = "000000" if code != "000000" else "111111"

    responses = [client.post(CODE_ENTER, {"code": wrong}) for _ in range(5)]
    while_locked = client.post(CODE_ENTER, {"code": code})
    _let_locks_expire()
    after_lock = client.post(CODE_ENTER, {"code": code})

    assert [r.status_code for r in responses] == [400] * 4 + [429]
    assert "Too many failed attempts. Try again in 1 minute." in responses[4].content.decode()
    assert while_locked.status_code == 429
    assert after_lock.status_code == 400
    assert _page_error(after_lock) == "Too many wrong codes. Ask for a new code."
    assert OneTimeCode.objects.get().attempts == 5
    assert OneTimeCode.objects.get().used_at is None
    assert client.get(ACCOUNT).status_code == 302


def test_a_second_code_within_a_minute_is_refused_and_not_sent(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks)

    again = _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    from_another_browser = _request_code(Client(), resident.phone, django_capture_on_commit_callbacks)

    assert again.status_code == 429
    assert "A code was sent a moment ago. You can ask for another in" in again.content.decode()
    assert from_another_browser.status_code == 302  # same page as ever, but no SMS
    assert Message.objects.filter(recipient=resident).count() == 1
    assert OneTimeCode.objects.count() == 1


def test_a_new_code_replaces_the_previous_one(personas, django_capture_on_commit_callbacks, monkeypatch):
    codes = iter([111111, 222222])
    monkeypatch.setattr("hanoismart.identity.services.sign_in.secrets.randbelow", lambda _n: next(codes))
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    session = client.session
    session.pop("code_sent_at:sign_in")
    session.save()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks)

    first = client.post(CODE_ENTER, {"code": "111111"})
    second = client.post(CODE_ENTER, {"code": "222222"})

    assert _sms_code(resident) == "222222"
    assert first.status_code == 400
    assert _page_error(first) == WRONG_CODE
    assert second.status_code == 302


def test_the_code_page_without_a_request_goes_back_to_asking():
    response = Client().get(CODE_ENTER)

    assert response.status_code == 302
    assert response["Location"] == CODE


# --- authenticator app (TOTP) ------------------------------------------------------------------------------


def test_staff_cannot_reach_their_account_without_the_authenticator_code(personas):
    clerk = personas.clerk_hoan_kiem
    client = Client()

    signed_in = _post_password(client, clerk.national_id)
    account = client.get(ACCOUNT)
    api = client.get("/api/v1/openapi.json")
    home = client.get("/")

    assert signed_in["Location"] == TOTP
    assert account.status_code == 302
    assert account["Location"] == TOTP
    assert home["Location"] == TOTP
    assert api.status_code == 401
    assert api.json()["code"] == "second_factor_required"
    assert client.get(TOTP).status_code == 200


def test_staff_finish_signing_in_with_a_correct_code(personas):
    clerk = personas.clerk_hoan_kiem
    device = confirmed_totp_device(clerk)
    client = Client()
    _post_password(client, clerk.national_id)

    response = client.post(TOTP, {"code": _totp(device)})

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    assert client.get(ACCOUNT).status_code == 200
    assert AuditEvent.objects.filter(
        action="identity.sign_in.second_factor", subject_ref=clerk.public_id
    ).exists()


def test_staff_keep_the_next_page_through_the_second_step(personas):
    clerk = personas.clerk_hoan_kiem
    device = confirmed_totp_device(clerk)
    client = Client()
    client.post(SIGN_IN + "?next=/account/edit/", {"identifier": clerk.national_id, "password": PASSWORD})

    response = client.post(TOTP, {"code": _totp(device)})

    assert response["Location"] == "/account/edit/"


def test_wrong_authenticator_codes_count_toward_the_lockout(personas):
    clerk = personas.clerk_hoan_kiem
    device = confirmed_totp_device(clerk)
    client = Client()
    _post_password(client, clerk.national_id)
    right = _totp(device)
    wrong = "000000" if right != "000000" else "111111"

    responses = []
    for _ in range(5):
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=None
        )  # skip django-otp's pause
        responses.append(client.post(TOTP, {"code": wrong}))
    with_right_code = client.post(TOTP, {"code": right})

    assert [r.status_code for r in responses] == [400] * 4 + [429]
    assert _page_error(responses[0]) == "The code is not right. Enter the code your app shows now."
    assert with_right_code.status_code == 429
    assert "Too many failed attempts. Try again in 1 minute." in with_right_code.content.decode()
    assert client.get(ACCOUNT)["Location"] == TOTP
    assert SignInThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key=f"user:{clerk.pk}").failures == 5


def test_a_new_password_sign_in_does_not_reset_the_authenticator_failures(personas):
    clerk = personas.clerk_hoan_kiem
    device = confirmed_totp_device(clerk)
    client = Client()
    _post_password(client, clerk.national_id)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    client.post(TOTP, {"code": "000000" if _totp(device) != "000000" else "111111"})

    client.post(reverse("identity:sign_out"))
    _post_password(Client(), clerk.national_id)

    assert SignInThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key=f"user:{clerk.pk}").failures == 1


def test_staff_without_a_device_enrol_with_a_qr_code_then_get_in(personas):
    clerk = personas.clerk_other_ward
    TOTPDevice.objects.filter(user=clerk).delete()
    client = Client()
    _post_password(client, clerk.national_id)

    to_step = client.get(TOTP)
    page = client.get(ENROL)
    device = TOTPDevice.objects.get(user=clerk)
    wrong = client.post(ENROL, {"code": "000000" if _totp(device) != "000000" else "111111"})
    confirmed_after_wrong = TOTPDevice.objects.get(pk=device.pk).confirmed
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    right = client.post(ENROL, {"code": _totp(device)})

    assert to_step["Location"] == ENROL
    html = page.content.decode()
    assert "<svg" in html
    assert "otpauth://totp/HanoiSmart" in html
    assert b32encode(device.bin_key).decode()[:4] in html
    assert wrong.status_code == 400
    assert confirmed_after_wrong is False
    assert right.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed is True
    assert client.get(ACCOUNT).status_code == 200
    assert AuditEvent.objects.filter(action="identity.totp.enabled", subject_ref=clerk.public_id).count() == 1


def test_a_resident_without_the_app_signs_in_with_the_password_alone(personas):
    client = Client()

    response = _post_password(client, personas.resident.national_id)

    assert response["Location"] == ACCOUNT
    assert client.get(ACCOUNT).status_code == 200
    assert "Turn on two-step sign-in" in client.get(ACCOUNT).content.decode()


def test_a_resident_may_turn_the_app_on_and_then_needs_it_to_sign_in(personas, sign_in):
    resident = personas.resident
    client = sign_in(resident)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=resident)
    client.post(ENROL, {"code": _totp(device)})

    fresh = Client()
    after_password = _post_password(fresh, resident.national_id)
    blocked = fresh.get(ACCOUNT)
    fresh.post(TOTP, {"code": _totp(device, steps_ahead=1)})

    assert after_password["Location"] == TOTP
    assert blocked["Location"] == TOTP
    assert fresh.get(ACCOUNT).status_code == 200


def test_a_resident_may_turn_the_app_off_but_staff_may_not(personas, sign_in):
    resident, clerk = personas.resident, personas.clerk_hoan_kiem
    device = confirmed_totp_device(resident)
    resident_client = sign_in(resident)
    session = resident_client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id  # signed in with the app, as turning it off needs
    session.save()

    resident_response = resident_client.post(reverse("identity:totp_disable"))
    clerk_response = sign_in(clerk).post(reverse("identity:totp_disable"))

    assert resident_response.status_code == 302
    assert not TOTPDevice.objects.filter(user=resident).exists()
    assert clerk_response.status_code == 403
    assert "Staff accounts must keep an authenticator app." in clerk_response.content.decode()
    assert TOTPDevice.objects.filter(user=clerk, confirmed=True).exists()
    assert not AuditEvent.objects.filter(
        action="identity.totp.disabled", subject_ref=clerk.public_id
    ).exists()


# --- password reset ----------------------------------------------------------------------------------------


def test_password_reset_by_phone_code_signs_out_everywhere(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    elsewhere = Client()
    _post_password(elsewhere, resident.national_id)
    assert UserSession.objects.filter(user=resident).count() == 1
    client = Client()

    asked = _request_code(client, resident.phone, django_capture_on_commit_callbacks, url=RESET)
    code = _sms_code(resident, template="identity.password_reset_code")
    response = client.post(
        RESET_CODE, {"code": code, "password": "mua-xuan-ho-guom-9", "password_confirm": "mua-xuan-ho-guom-9"}
    )

    assert asked["Location"] == RESET_CODE
    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    resident.refresh_from_db()
    assert resident.check_password("mua-xuan-ho-guom-9")
    assert not UserSession.objects.filter(user=resident).exists()
    assert not Session.objects.filter(session_key=elsewhere.session.session_key).exists()
    assert elsewhere.get(ACCOUNT).status_code == 302
    event = AuditEvent.objects.get(action="identity.password.reset")
    assert event.details == {"method": "sms_code", "sessions_ended": 1}
    assert _post_password(Client(), resident.national_id, "mua-xuan-ho-guom-9").status_code == 302


def test_password_reset_with_a_weak_password_keeps_the_code_and_the_old_password(
    personas, django_capture_on_commit_callbacks
):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks, url=RESET)
    code = _sms_code(resident, template="identity.password_reset_code")

    response = client.post(
        RESET_CODE, {"code": code, "password": "48213975206", "password_confirm": "48213975206"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["password"] == ["This password is entirely numeric."]
    resident.refresh_from_db()
    assert resident.check_password(PASSWORD)
    assert OneTimeCode.objects.get().used_at is None
    assert not AuditEvent.objects.filter(action="identity.password.reset").exists()


def test_password_reset_with_a_wrong_code_changes_nothing(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks, url=RESET)
    code = _sms_code(resident, template="identity.password_reset_code")
    wrong = "000000" if code != "000000" else "111111"

    response = client.post(
        RESET_CODE,
        {"code": wrong, "password": "mua-xuan-ho-guom-9", "password_confirm": "mua-xuan-ho-guom-9"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["code"] == [WRONG_CODE]
    resident.refresh_from_db()
    assert resident.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="identity.password.reset").exists()


def test_a_sign_in_code_cannot_reset_the_password(personas, django_capture_on_commit_callbacks):
    resident = personas.resident
    client = Client()
    _request_code(client, resident.phone, django_capture_on_commit_callbacks)
    code = _sms_code(resident)
    session = client.session
    session["password_reset_identifier"] = resident.phone
    session.save()

    response = client.post(
        RESET_CODE, {"code": code, "password": "mua-xuan-ho-guom-9", "password_confirm": "mua-xuan-ho-guom-9"}
    )

    assert response.status_code == 400
    resident.refresh_from_db()
    assert resident.check_password(PASSWORD)
