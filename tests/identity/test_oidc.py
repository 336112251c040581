"""The OpenID Connect provider through Django's test client: consent, refusals, claims, levels, bearer
tokens on the API, rate limits."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
from django.core.cache import cache
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from hanoismart.audit.models import AuditEvent
from hanoismart.identity.models import ClientApp, ClientAppStatus, Consent, DataRelease
from hanoismart.identity.oidc_provider import subject_for
from hanoismart.identity.services.oidc import consent_revoke
from tests.identity.factories import UserFactory
from tests.identity.oidc_support import (
    REDIRECT_URI,
    authorize_url,
    code_from,
    consent,
    make_app,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def resident(personas):
    return personas.resident


def _exchange(client, code, verifier, *, client_id="test-app", **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return client.post("/o/token/", data | extra)


def _signed_in_code(sign_in, user, *, scope="openid profile", optional=(), client_id="test-app", **extra):
    browser = sign_in(user)
    verifier, challenge = pkce_pair()
    response = consent(browser, authorize_url(client_id, challenge, scope=scope, **extra), optional=optional)
    assert response.status_code == 302, response.content[:300]
    return browser, code_from(response["Location"]), verifier


def test_consent_screen_lists_items_with_purposes(sign_in, resident):
    make_app()
    browser = sign_in(resident)
    _, challenge = pkce_pair()

    page = browser.get(authorize_url("test-app", challenge, scope="openid profile phone"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "App test-app" in html
    assert "To greet you by name." in html
    assert 'name="optional_scope" value="phone"' in html
    assert 'name="optional_scope" value="profile"' not in html


def test_anonymous_visitor_is_sent_to_sign_in(client):
    make_app()
    _, challenge = pkce_pair()

    response = client.get(authorize_url("test-app", challenge))

    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=/o/authorize/")


def test_unticked_optional_item_is_remembered_and_not_released(sign_in, resident, client):
    app = make_app()
    browser, code, verifier = _signed_in_code(sign_in, resident, scope="openid profile phone")

    token = _exchange(client, code, verifier).json()

    assert token["scope"] == "openid profile"
    decisions = dict(Consent.objects.filter(user=resident, app=app).values_list("scope", "granted"))
    assert decisions == {"openid": True, "profile": True, "phone": False}
    userinfo = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").json()
    assert set(userinfo) == {"sub", "name", "birthdate"}
    # The second time, every item has a decision: no screen, straight back to the app.
    verifier, challenge = pkce_pair()
    again = browser.get(authorize_url("test-app", challenge, scope="openid profile phone"))
    assert again.status_code == 302
    assert query_of(again["Location"])["code"]


def test_deny_returns_access_denied_and_records_nothing(sign_in, resident):
    app = make_app()
    browser = sign_in(resident)
    _, challenge = pkce_pair()

    response = consent(browser, authorize_url("test-app", challenge), decision="deny")

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == ["access_denied"]
    assert query_of(response["Location"])["state"] == ["state-123"]
    assert not Consent.objects.filter(user=resident, app=app).exists()
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    "status", [ClientAppStatus.IN_REVIEW, ClientAppStatus.REJECTED, ClientAppStatus.SUSPENDED]
)
def test_unapproved_app_gets_an_error_page_not_a_redirect(sign_in, resident, status):
    make_app(status=status)
    browser = sign_in(resident)
    _, challenge = pkce_pair()

    response = browser.get(authorize_url("test-app", challenge))

    assert response.status_code == 400
    assert b'id="oidc-error"' in response.content
    assert not Grant.objects.exists()


def test_unapproved_app_gets_no_token(client):
    make_app(
        "agency",
        status=ClientAppStatus.SUSPENDED,
        client_type=ClientApp.CLIENT_CONFIDENTIAL,
        grant_type=ClientApp.GRANT_CLIENT_CREDENTIALS,
        client_secret="s3cret-s3cret",
        scopes=(("dossiers.read", "x", False),),
    )

    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "agency", "client_secret": "s3cret-s3cret"},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_wrong_redirect_uri_gets_an_error_page(sign_in, resident):
    make_app()
    browser = sign_in(resident)
    _, challenge = pkce_pair()

    response = browser.get(authorize_url("test-app", challenge, redirect_uri="https://evil.example/cb"))

    assert response.status_code == 400
    assert "Location" not in response
    assert b'id="oidc-error"' in response.content
    assert not Grant.objects.exists()


def test_missing_pkce_challenge_is_refused(sign_in, resident):
    make_app()
    browser = sign_in(resident)

    response = browser.get(authorize_url("test-app", None))

    assert response.status_code == 302
    query = query_of(response["Location"])
    assert query["error"] == ["invalid_request"]
    assert not Grant.objects.exists()


def test_plain_pkce_is_refused(sign_in, resident):
    make_app()
    browser = sign_in(resident)

    response = browser.get(
        authorize_url("test-app", None, code_challenge="a" * 43, code_challenge_method="plain")
    )

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == ["invalid_request"]
    assert not Grant.objects.exists()


def test_missing_pkce_verifier_gets_no_token(sign_in, resident, client):
    make_app()
    _, code, _verifier = _signed_in_code(sign_in, resident)

    response = _exchange(client, code, None)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_wrong_pkce_verifier_gets_no_token(sign_in, resident, client):
    make_app()
    _, code, _verifier = _signed_in_code(sign_in, resident)

    response = _exchange(client, code, "x" * 50)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_replayed_code_is_refused(sign_in, resident, client):
    make_app()
    _, code, verifier = _signed_in_code(sign_in, resident)
    first = _exchange(client, code, verifier)
    assert first.status_code == 200

    replay = _exchange(client, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert "access_token" not in replay.json()
    assert AccessToken.objects.count() == 1


def test_level_0_resident_asked_for_level_2_gets_no_code(sign_in, client):
    make_app()
    resident = UserFactory(assurance_level=0)
    browser = sign_in(resident)
    _, challenge = pkce_pair()
    url = authorize_url("test-app", challenge, acr_values="hanoismart:loa2")

    page = browser.get(url)

    assert page.status_code == 200
    assert b"oidc-raise-level" in page.content
    assert b"/account/#verification" in page.content
    assert not Grant.objects.exists()
    # Forcing "allow" does not help: the page comes back, still without a code.
    from tests.identity.oidc_support import hidden_fields

    fields = hidden_fields(page.content.decode())
    forced = browser.post("/o/authorize/", {**fields, "decision": "allow"})
    assert forced.status_code == 200
    assert not Grant.objects.exists()
    # Declining sends the client the OIDC error, with its state.
    declined = browser.post("/o/authorize/", {**fields, "decision": "decline"})
    assert declined.status_code == 302
    assert query_of(declined["Location"])["error"] == ["unmet_authentication_requirements"]
    assert query_of(declined["Location"])["state"] == ["state-123"]
    assert not Grant.objects.exists()
    assert not AccessToken.objects.exists()


def test_app_minimum_level_applies_without_acr_values(sign_in):
    make_app(min_assurance_level=1)
    browser = sign_in(UserFactory(assurance_level=0))
    _, challenge = pkce_pair()

    page = browser.get(authorize_url("test-app", challenge))

    assert b"oidc-raise-level" in page.content


def test_id_token_claims_acr_nonce_and_release_history(sign_in, resident, client):
    app = make_app()
    _, code, verifier = _signed_in_code(
        sign_in, resident, scope="openid profile address hanoismart:national_id", optional=("address",)
    )

    token = _exchange(client, code, verifier).json()

    payload = token["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == subject_for(resident, app)
    assert claims["acr"] == "hanoismart:loa2"
    assert claims["nonce"] == "nonce-456"
    assert claims["name"] == resident.full_name
    assert claims["address"]["hanoismart:ward_code"] == "00070"
    assert claims["hanoismart:ward_code"] == "00070"
    assert "hanoismart:national_id" not in claims  # optional and left unticked
    release = DataRelease.objects.get(user=resident, app=app)
    assert release.channel == "id_token"
    assert release.scopes == ["address", "openid", "profile"]
    event = AuditEvent.objects.get(action="identity.oidc.data_released")
    assert event.subject_ref == resident.public_id
    assert event.details["client_id"] == "test-app"


def test_pairwise_sub_differs_per_app_and_is_stable(personas):
    resident = personas.resident
    first, second = make_app("app-one"), make_app("app-two")
    agency = make_app("agency-app", is_city_agency=True)

    assert subject_for(resident, first) != subject_for(resident, second)
    assert subject_for(resident, first) == subject_for(resident, first)
    assert subject_for(resident, first) != str(resident.public_id)
    assert subject_for(resident, agency) == str(resident.public_id)


def test_pairwise_sub_is_the_documented_hmac(personas, settings):
    # Apps keep the sub they saw: the formula must never change (oidc_provider.subject_for).
    resident, app = personas.resident, make_app("app-one")
    message = f"app-one:{resident.public_id}".encode()
    digest = hmac.new(settings.OIDC_PAIRWISE_SECRET.encode(), message, hashlib.sha256).digest()

    assert subject_for(resident, app) == str(uuid.UUID(bytes=digest[:16], version=4))


def test_client_credentials_for_the_agency(client):
    make_app(
        "agency",
        is_city_agency=True,
        client_type=ClientApp.CLIENT_CONFIDENTIAL,
        grant_type=ClientApp.GRANT_CLIENT_CREDENTIALS,
        client_secret="agency-secret-123",
        scopes=(("dossiers.read", "x", False), ("introspection", "y", False)),
    )
    basic = base64.b64encode(b"agency:agency-secret-123").decode()

    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"dossiers.read", "introspection"}
    assert "refresh_token" not in body
    introspected = client.post(
        "/o/introspect/", {"token": body["access_token"]}, HTTP_AUTHORIZATION=f"Basic {basic}"
    ).json()
    assert introspected["active"] is True
    assert AuditEvent.objects.filter(action="identity.oidc.token_issued").count() == 1


def test_wrong_client_secret_gets_no_token(client):
    make_app(
        "agency",
        client_type=ClientApp.CLIENT_CONFIDENTIAL,
        grant_type=ClientApp.GRANT_CLIENT_CREDENTIALS,
        client_secret="agency-secret-123",
        scopes=(("dossiers.read", "x", False),),
    )

    response = client.post(
        "/o/token/", {"grant_type": "client_credentials", "client_id": "agency", "client_secret": "nope"}
    )

    assert response.status_code == 401
    assert not AccessToken.objects.exists()


def test_consent_revocation_ends_tokens_at_once(sign_in, resident, client):
    app = make_app()
    _, code, verifier = _signed_in_code(sign_in, resident)
    token = _exchange(client, code, verifier).json()

    ended = consent_revoke(actor=resident, app=app, ip="127.0.0.1")

    assert ended == 2
    assert not AccessToken.objects.filter(user=resident).exists()
    assert RefreshToken.objects.get(user=resident).revoked is not None
    refresh = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "test-app"},
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert me.status_code == 401
    assert Consent.objects.filter(user=resident, app=app, revoked_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="identity.oidc.consent_revoked").count() == 1


# -- bearer tokens on the API -------------------------------------------------------------------------------


def _token(user, app, scope, *, expires_in=3600):
    return AccessToken.objects.create(
        user=user,
        application=app,
        token=f"tok-{scope.replace(' ', '-')}-{expires_in}",
        scope=scope,
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
    )


def test_bearer_token_on_me(client, resident):
    app = make_app()
    _token(resident, app, "openid profile")

    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer tok-openid-profile-3600")

    assert response.status_code == 200
    assert response.json()["public_id"] == str(resident.public_id)


def test_bearer_token_without_the_scope_is_forbidden(client, resident):
    app = make_app()
    _token(resident, app, "dossiers.read")

    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer tok-dossiers.read-3600")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_expired_bearer_token_is_unauthenticated(client, resident):
    app = make_app()
    _token(resident, app, "openid", expires_in=-10)

    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer tok-openid--10")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_unknown_bearer_token_is_unauthenticated(client):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer nope")

    assert response.status_code == 401
    assert set(response.json()) == {"code", "detail"}


def test_token_of_a_suspended_app_is_unauthenticated(client, resident):
    app = make_app()
    _token(resident, app, "openid")
    ClientApp.objects.filter(pk=app.pk).update(status=ClientAppStatus.SUSPENDED)

    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer tok-openid-3600")

    assert response.status_code == 401


# -- hardening ---------------------------------------------------------------------------------------------


def test_token_endpoint_rate_limit(client, settings):
    settings.OIDC_TOKEN_RATE_LIMIT = 3
    for _ in range(3):
        assert (
            client.post("/o/token/", {"grant_type": "client_credentials", "client_id": "x"}).status_code
            == 401
        )

    response = client.post("/o/token/", {"grant_type": "client_credentials", "client_id": "x"})

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["error"] == "rate_limited"


def test_authorize_endpoint_rate_limit(client, settings):
    settings.OIDC_AUTHORIZE_RATE_LIMIT = 2
    client.get("/o/authorize/?client_id=x")
    client.get("/o/authorize/?client_id=x")

    response = client.get("/o/authorize/?client_id=x")

    assert response.status_code == 429
    assert response["Retry-After"]


def test_redirect_uris_must_be_https_except_loopback():
    from django.core.exceptions import ValidationError

    app = ClientApp(
        client_id="x",
        name="x",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris="http://example.com/cb",
    )
    with pytest.raises(ValidationError) as raised:
        app.clean()
    assert "redirect_uris" in raised.value.message_dict
    app.redirect_uris = "https://example.com/cb http://127.0.0.1:9000/cb http://[::1]/cb"
    app.clean()


def test_discovery_at_root_and_under_o(client):
    root = client.get("/.well-known/openid-configuration").json()
    under = client.get("/o/.well-known/openid-configuration").json()

    assert root == under
    assert root["code_challenge_methods_supported"] == ["S256"]
    assert root["acr_values_supported"] == ["hanoismart:loa0", "hanoismart:loa1", "hanoismart:loa2"]
    assert root["subject_types_supported"] == ["pairwise", "public"]
    assert root["end_session_endpoint"].endswith("/o/logout/")
    assert "dossiers.write" in root["scopes_supported"]


def test_jwks_publishes_current_and_previous_keys(client, settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from oauth2_provider.settings import oauth2_settings

    old = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old]}
    try:
        keys = client.get("/o/.well-known/jwks.json").json()["keys"]
    finally:
        oauth2_settings.reload()

    assert len(keys) == 2
    assert {key["alg"] for key in keys} == {"RS256"}
    assert keys[0]["kid"] != keys[1]["kid"]
