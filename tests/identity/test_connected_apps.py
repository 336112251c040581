"""Connected apps on the account page: what each app may receive and why, its data history (paginated), and
revocation with a confirmation step, which ends the app's tokens at once."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oauth2_provider.models import AccessToken, RefreshToken

from hanoismart.audit.models import AuditEvent
from hanoismart.identity.models import Consent, DataRelease, ReleaseChannel
from hanoismart.identity.services.oidc import consent_record, data_release_record
from tests.identity.factories import UserFactory
from tests.identity.oidc_support import REDIRECT_URI, authorize_url, code_from, consent, make_app, pkce_pair

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def resident(personas):
    return personas.resident


def _connect(sign_in, client, user, client_id="test-app", optional=("phone",)):
    """Sign ``user`` in to the app through the real flow and get tokens; the token response."""
    browser = sign_in(user)
    verifier, challenge = pkce_pair()
    response = consent(
        browser, authorize_url(client_id, challenge, scope="openid profile phone"), optional=optional
    )
    token = client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code_from(response["Location"]),
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content
    return browser, token.json()


def test_the_list_shows_each_app_with_items_purposes_and_dates(sign_in, client, resident):
    app = make_app()
    browser, token = _connect(sign_in, client, resident)
    client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")

    page = browser.get(reverse("identity:connected_apps"), HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 200
    assert app.name in html
    assert "To greet you by name." in html
    assert "To text you reminders." in html
    assert "Connected since" in html
    assert reverse("identity:connected_app_revoke", args=[app.public_id]) in html
    # and the account page links to it
    account = browser.get(reverse("identity:account"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("identity:connected_apps") in account
    assert reverse("identity:connected_app", args=[app.public_id]) in account


def test_the_detail_shows_every_release_paginated_newest_first(sign_in, resident):
    app = make_app()
    consent_record(actor=resident, app=app, granted_scopes=["openid", "profile"])
    for n in range(25):
        data_release_record(
            user=resident,
            app=app,
            scopes=["openid", "profile"],
            claims=["sub", "name"],
            channel=ReleaseChannel.USERINFO if n % 2 else ReleaseChannel.ID_TOKEN,
        )
    browser = sign_in(resident)
    url = reverse("identity:connected_app", args=[app.public_id])

    first = browser.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    second = browser.get(url + "?page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert first.count('class="list-group-item px-0 release"') == 20
    assert second.count('class="list-group-item px-0 release"') == 5
    assert "25 times in all" in first
    assert "Your full name and date of birth" in first
    assert "Userinfo" in first
    assert "ID token" in first


def test_another_resident_gets_404(sign_in, resident):
    app = make_app()
    consent_record(actor=resident, app=app, granted_scopes=["openid"])
    stranger = sign_in(UserFactory())

    for name in ("connected_app", "connected_app_revoke"):
        assert stranger.get(reverse(f"identity:{name}", args=[app.public_id])).status_code == 404
    assert stranger.post(reverse("identity:connected_app_revoke", args=[app.public_id])).status_code == 404
    assert Consent.objects.filter(user=resident, revoked_at__isnull=True).count() == 1


def test_anonymous_is_sent_to_sign_in(client):
    app = make_app()
    for url in (
        reverse("identity:connected_apps"),
        reverse("identity:connected_app", args=[app.public_id]),
        reverse("identity:connected_app_revoke", args=[app.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:sign_in"))


def test_revoking_asks_first_then_ends_every_token_at_once(sign_in, client, resident):
    app = make_app()
    browser, token = _connect(sign_in, client, resident)
    assert AccessToken.objects.filter(user=resident, application=app).exists()
    url = reverse("identity:connected_app_revoke", args=[app.public_id])

    # the GET only asks
    confirm = browser.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert confirm.status_code == 200
    assert 'id="revoke-confirm"' in confirm.content.decode()
    assert AccessToken.objects.filter(user=resident, application=app).exists()

    # the POST revokes
    done = browser.post(url)

    assert done.status_code == 302
    assert done["Location"] == reverse("identity:connected_apps")
    assert not AccessToken.objects.filter(user=resident, application=app).exists()
    assert not RefreshToken.objects.filter(user=resident, application=app, revoked__isnull=True).exists()
    assert not Consent.objects.filter(user=resident, app=app, revoked_at__isnull=True).exists()
    assert (
        AuditEvent.objects.filter(
            action="identity.oidc.consent_revoked", subject_ref=resident.public_id
        ).count()
        == 1
    )
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert userinfo.status_code == 401
    refresh = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "test-app"},
    )
    assert refresh.status_code == 400
    # the app leaves the list, its history stays readable
    listing = browser.get(reverse("identity:connected_apps")).content.decode()
    assert reverse("identity:connected_app", args=[app.public_id]) not in listing
    detail = browser.get(reverse("identity:connected_app", args=[app.public_id]))
    assert detail.status_code == 200
    assert 'id="not-connected"' in detail.content.decode()
    assert DataRelease.objects.filter(user=resident, app=app).exists()


def test_revoking_one_app_leaves_the_others(sign_in, client, resident):
    make_app()
    other = make_app("other-app")
    browser, _ = _connect(sign_in, client, resident)
    _connect(sign_in, client, resident, client_id="other-app")

    browser.post(reverse("identity:connected_app_revoke", args=[other.public_id]))

    assert AccessToken.objects.filter(user=resident, application__client_id="test-app").exists()
    assert not AccessToken.objects.filter(user=resident, application=other).exists()


def test_the_list_query_count_does_not_grow_with_apps(sign_in, resident):
    def connect(n):
        app = make_app(f"app-{n}")
        consent_record(actor=resident, app=app, granted_scopes=["openid", "profile"])
        data_release_record(user=resident, app=app, scopes=["openid"], claims=["sub"], channel="id_token")

    browser = sign_in(resident)
    connect(0)
    browser.get(reverse("identity:connected_apps"))  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert browser.get(reverse("identity:connected_apps")).status_code == 200
    for n in range(1, 6):
        connect(n)
    with CaptureQueriesContext(connection) as six:
        assert browser.get(reverse("identity:connected_apps")).status_code == 200

    assert len(six) == len(one)
