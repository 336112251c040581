"""Helpers of the OpenID Connect tests: registered apps, PKCE pairs, and driving the authorize step with
Django's test client (the resident's browser)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client

from hanoismart.identity.models import ClientApp, ClientAppStatus, ClientScope

REDIRECT_URI = "http://127.0.0.1:8765/callback"
APP_SCOPES = (
    ("openid", "To recognise you.", False),
    ("profile", "To greet you by name.", False),
    ("phone", "To text you reminders.", True),
    ("address", "To show your ward's news.", True),
    ("hanoismart:national_id", "To fill in forms.", True),
    ("dossiers.read", "To show your dossiers.", True),
)


def make_app(
    client_id: str = "test-app",
    *,
    status: str = ClientAppStatus.APPROVED,
    is_city_agency: bool = False,
    min_assurance_level: int = 0,
    client_type: str = ClientApp.CLIENT_PUBLIC,
    grant_type: str = ClientApp.GRANT_AUTHORIZATION_CODE,
    client_secret: str = "",
    scopes=APP_SCOPES,
) -> ClientApp:
    app = ClientApp.objects.create(
        client_id=client_id,
        name=f"App {client_id}",
        description="A test app.",
        client_type=client_type,
        authorization_grant_type=grant_type,
        redirect_uris=REDIRECT_URI if grant_type == ClientApp.GRANT_AUTHORIZATION_CODE else "",
        post_logout_redirect_uris="http://127.0.0.1:8765/",
        client_secret=client_secret,
        status=status,
        is_city_agency=is_city_agency,
        min_assurance_level=min_assurance_level,
    )
    ClientScope.objects.bulk_create(
        ClientScope(app=app, scope=scope, purpose=purpose, is_optional=optional)
        for scope, purpose, optional in scopes
    )
    return app


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(client_id: str, challenge: str | None, *, scope: str = "openid profile", **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "state-123",
        "nonce": "nonce-456",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= extra
    return "/o/authorize/?" + urlencode(params)


def hidden_fields(html: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: unescape(value) for name, value in pairs}


def consent(client: Client, url: str, *, optional: tuple[str, ...] = (), decision: str = "allow"):
    """Open the consent screen at ``url`` and submit it; the response to the POST."""
    page = client.get(url)
    assert page.status_code == 200, page.content[:500]
    fields = hidden_fields(page.content.decode())
    data = {**fields, "decision": decision, "optional_scope": list(optional)}
    return client.post("/o/authorize/", data)


def code_from(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["state-123"], location
    return query["code"][0]


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)
