"""Acceptance: a standard OIDC client library (Authlib) against the live server: discovery, authorize with
PKCE (signing in and consenting as the resident in a requests session), token, ID token checked against the
JWKS, userinfo, refresh with rotation, and refresh refused once the resident revokes consent."""

from __future__ import annotations

import re
import warnings
from html import unescape

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache

with warnings.catch_warnings():  # authlib.jose is deprecated in favour of joserfc, still the brief's choice
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt

from hanoismart.identity.models import ClientApp
from hanoismart.identity.oidc_provider import subject_for
from hanoismart.identity.selectors.oidc import data_releases_for
from hanoismart.identity.services.oidc import consent_revoke
from tests.identity.factories import PASSWORD
from tests.identity.oidc_support import REDIRECT_URI, make_app


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def _hidden(html: str) -> dict[str, str]:
    return {
        n: unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def _browser_authorize(base: str, url: str, national_id: str) -> str:
    """The resident's browser: sign in, consent, and return the redirect back to the app."""
    browser = requests.Session()
    sign_in_page = browser.get(url, timeout=10)  # redirected to the sign-in page
    assert "/sign-in/" in sign_in_page.url
    fields = _hidden(sign_in_page.text)
    consent_page = browser.post(
        sign_in_page.url,
        data={**fields, "identifier": national_id, "password": PASSWORD},
        timeout=10,
    )
    assert "/o/authorize/" in consent_page.url, consent_page.text[:300]
    decision = browser.post(
        f"{base}/o/authorize/",
        data={**_hidden(consent_page.text), "decision": "allow", "optional_scope": ["phone", "address"]},
        allow_redirects=False,
        timeout=10,
    )
    assert decision.status_code == 302, decision.text[:300]
    return decision.headers["Location"]


@pytest.mark.django_db(transaction=True)
def test_code_flow_with_pkce_refresh_and_revocation(live_server, personas):
    # given: an approved public app and the resident
    app = make_app()
    resident = personas.resident
    base = live_server.url

    # discovery
    metadata = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == f"{base}/o"
    assert metadata["code_challenge_methods_supported"] == ["S256"]

    # authorize with PKCE (Authlib makes the verifier and the S256 challenge)
    client = OAuth2Session(
        client_id="test-app",
        redirect_uri=REDIRECT_URI,
        scope="openid profile phone address",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = "v" * 20 + "erifier-of-the-acceptance-test-0123456789"
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-0S6_WzA2Mj"
    )
    callback = _browser_authorize(base, url, resident.national_id)

    # token
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    assert set(token["scope"].split()) == {"openid", "profile", "phone", "address"}

    # the ID token's signature against the JWKS, and its claims
    jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], jwks)
    claims.validate()
    assert claims["iss"] == metadata["issuer"]
    assert claims["aud"] == "test-app"
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["acr"] == "hanoismart:loa2"
    assert claims["sub"] == subject_for(resident, app)

    # userinfo: exactly the consented claims
    userinfo = client.get(metadata["userinfo_endpoint"], timeout=10).json()
    assert userinfo == {
        "sub": subject_for(resident, app),
        "name": resident.full_name,
        "birthdate": "1990-01-01",
        "phone_number": "+84" + resident.phone[1:],
        "phone_number_verified": False,
        "address": {
            "formatted": "Phường Hoàn Kiếm, Thành phố Hà Nội",
            "locality": "Phường Hoàn Kiếm",
            "region": "Thành phố Hà Nội",
            "country": "VN",
            "hanoismart:ward_code": "00070",
            "hanoismart:province_code": "01",
        },
        "hanoismart:ward_code": "00070",
    }
    assert [r.channel for r in data_releases_for(resident, app)] == ["userinfo", "id_token"]

    # refresh: rotated, and the new token works
    first_refresh = token["refresh_token"]
    refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh
    assert client.get(metadata["userinfo_endpoint"], timeout=10).status_code == 200

    # the resident revokes consent: the refresh token no longer works, nor the access token
    consent_revoke(actor=resident, app=ClientApp.objects.get(pk=app.pk), ip="127.0.0.1")
    refused = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed["refresh_token"],
            "client_id": "test-app",
        },
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert client.get(metadata["userinfo_endpoint"], timeout=10).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_old_refresh_token_is_refused_after_rotation(live_server, personas):
    make_app()
    base = live_server.url
    client = OAuth2Session(
        client_id="test-app",
        redirect_uri=REDIRECT_URI,
        scope="openid profile",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = "another-verifier-for-the-rotation-test-0123456789"
    url, _state = client.create_authorization_url(f"{base}/o/authorize/", code_verifier=verifier)
    callback = _browser_authorize(base, url, personas.resident.national_id)
    token = client.fetch_token(f"{base}/o/token/", authorization_response=callback, code_verifier=verifier)
    client.refresh_token(f"{base}/o/token/", refresh_token=token["refresh_token"])

    reused = requests.post(
        f"{base}/o/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": "test-app",
        },
        timeout=10,
    )

    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


@pytest.mark.django_db(transaction=True)
def test_client_credentials_with_authlib(live_server):
    make_app(
        "agency",
        is_city_agency=True,
        client_type=ClientApp.CLIENT_CONFIDENTIAL,
        grant_type=ClientApp.GRANT_CLIENT_CREDENTIALS,
        client_secret="agency-secret-123",
        scopes=(("dossiers.read", "x", False),),
    )
    client = OAuth2Session(client_id="agency", client_secret="agency-secret-123")

    token = client.fetch_token(f"{live_server.url}/o/token/", grant_type="client_credentials")

    assert token["scope"] == "dossiers.read"
    assert token["expires_in"] == 3600
