"""The staff second-factor guard and the tracking of signed-in devices."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hanoismart.identity.middleware import SESSION_SEEN_KEY
from hanoismart.identity.models import StaffPosition, UserSession
from hanoismart.identity.selectors.accounts import account_is_staff, user_agent_label
from tests.identity.factories import PASSWORD

TOTP = reverse("identity:sign_in_totp")
ACCOUNT = reverse("identity:account")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_pages(settings):
    settings.LANGUAGE_CODE = "en"


def _half_signed_in(user) -> Client:
    """Signed in with the password only: the second factor is still owed."""
    client = Client()
    client.force_login(user)
    return client


def test_staff_owing_the_second_factor_reach_only_its_pages(personas):
    client = _half_signed_in(personas.city_manager)

    assert client.get(ACCOUNT)["Location"] == TOTP
    assert client.get("/")["Location"] == TOTP
    assert client.get("/operator/")["Location"] == TOTP
    assert client.get("/no-such-page/")["Location"] == TOTP
    assert client.get(TOTP).status_code == 200
    assert client.get(reverse("identity:sign_out")).status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"})["Location"] == "/"


def test_the_api_answers_401_json_to_staff_owing_the_second_factor(personas):
    response = _half_signed_in(personas.operator).get("/api/v1/openapi.json")

    assert response.status_code == 401
    assert response.json() == {
        "code": "second_factor_required",
        "detail": "Finish signing in with your authenticator app code.",
    }


def test_staff_with_the_second_factor_and_residents_pass(personas, sign_in):
    assert sign_in(personas.city_manager).get(ACCOUNT).status_code == 200
    assert _half_signed_in(personas.resident).get(ACCOUNT).status_code == 200


def test_a_position_that_ended_no_longer_requires_the_second_factor(personas):
    user = personas.department_officer
    StaffPosition.objects.filter(user=user).update(
        valid_from=dt.date(2020, 1, 1), valid_to=timezone.localdate() - timedelta(days=1)
    )
    user.totpdevice_set.all().delete()

    assert account_is_staff(user=user) is False
    assert _half_signed_in(user).get(ACCOUNT).status_code == 200


def test_a_position_ending_tomorrow_still_requires_it(personas):
    user = personas.department_officer
    StaffPosition.objects.filter(user=user).update(
        valid_from=dt.date(2020, 1, 1), valid_to=timezone.localdate() + timedelta(days=1)
    )

    assert account_is_staff(user=user) is True
    assert _half_signed_in(user).get(ACCOUNT)["Location"] == TOTP


def test_a_signed_in_session_is_recorded_with_its_device(personas):
    client = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Version/17.5 Mobile Safari/604.1"
    )

    client.post(
        reverse("identity:sign_in"), {"identifier": personas.resident.national_id, "password": PASSWORD}
    )

    row = UserSession.objects.get(user=personas.resident)
    assert row.session_key == client.session.session_key
    assert row.ip == "127.0.0.1"
    assert user_agent_label(row.user_agent) == "Safari on iPhone"


def test_the_device_row_is_written_at_most_once_a_minute(personas):
    client = Client()
    client.post(
        reverse("identity:sign_in"), {"identifier": personas.resident.national_id, "password": PASSWORD}
    )
    first_seen = UserSession.objects.get().last_seen_at

    client.get(ACCOUNT)
    assert UserSession.objects.get().last_seen_at == first_seen

    session = client.session
    key, seen_at = session[SESSION_SEEN_KEY]
    session[SESSION_SEEN_KEY] = [key, seen_at - 61]
    session.save()
    client.get(ACCOUNT)
    assert UserSession.objects.get().last_seen_at > first_seen


def test_anonymous_visits_record_nothing():
    Client().get("/")

    assert not UserSession.objects.exists()


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        ("curl/8.5.0", "curl"),
        ("", "Unknown device"),
    ],
)
def test_user_agent_labels(user_agent, label):
    assert user_agent_label(user_agent) == label
