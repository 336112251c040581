"""The API's bearer requests on the short middleware chain (hanoismart/api_handler.py): the production entry
points send exactly the bearer requests to token-decided operations there, and its answers (status, body,
headers, languages) are those of the full site stack."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from hanoismart.api_handler import BearerAPIASGIHandler, BearerAPIWSGIHandler, bearer_api_match
from hanoismart.dossiers.models import Dossier
from hanoismart.identity.api_auth import BearerToken
from hanoismart.wsgi import application as wsgi_application
from tests.dossiers.factories import CaseFactory
from tests.dossiers.test_api import _body, _token
from tests.identity.test_oauth_handler import _wsgi as oauth_wsgi

pytestmark = pytest.mark.django_db

JSON = "application/json"
SCOPES = "dossiers.read dossiers.write openid"


def _wsgi(method: str, path: str, body: str = "", **headers: str):
    """One request through the production WSGI application (``headers`` by their WSGI names without
    ``HTTP_``: ``AUTHORIZATION``, ``ACCEPT_LANGUAGE``)."""
    return oauth_wsgi(path, body.encode(), method=method, **headers)


@pytest.fixture
def handled(monkeypatch) -> list[str]:
    """The paths the bearer API handler of the production WSGI application answered."""
    paths: list[str] = []
    answer = BearerAPIWSGIHandler.get_response
    monkeypatch.setattr(
        BearerAPIWSGIHandler,
        "get_response",
        lambda self, request: paths.append(request.path_info) or answer(self, request),
    )
    return paths


def _bearer(token: str) -> dict[str, str]:
    return {"AUTHORIZATION": f"Bearer {token}"}


def _filing(case) -> str:
    return json.dumps(_body(case))


# -- routing -------------------------------------------------------------------------------------------------


def test_the_production_entry_point_files_a_dossier_through_the_short_chain(handled, personas):
    case = CaseFactory()
    headers = {**_bearer(_token(personas.resident, SCOPES)), "IDEMPOTENCY_KEY": "k-1"}

    response = _wsgi("POST", "/api/v1/dossiers", _filing(case), **headers)

    assert response.status_code == 201, response.content
    assert handled == ["/api/v1/dossiers"]
    dossier = Dossier.objects.get()
    assert json.loads(response.content)["code"] == dossier.code
    assert dossier.applicant_id == personas.resident.pk
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "authorization"),
    [
        ("GET", "/api/v1/dossiers", ""),  # a browser's session request
        ("GET", "/api/v1/dossiers", "Basic eDp5"),
        ("GET", "/api/v1/notifications", "Bearer x"),  # the session alone decides (django_auth)
        ("GET", "/api/v1/dossiers/lookup", "Bearer x"),  # public: auth=None
        ("GET", "/api/v1/nowhere", "Bearer x"),  # no such path: the site's 404
        ("GET", "/o/userinfo/", "Bearer x"),  # not the API
    ],
)
def test_every_other_request_goes_through_the_whole_site(handled, method, path, authorization):
    headers = {"AUTHORIZATION": authorization} if authorization else {}

    _wsgi(method, path, **headers)

    assert handled == []


def test_the_match_is_the_sites_and_only_for_the_methods_a_token_decides():
    match = bearer_api_match("/api/v1/dossiers", "POST", "/api/v1/")

    assert match is not None
    assert match.url_name == "dossier_create"
    assert bearer_api_match("/api/v1/dossiers", "DELETE", "/api/v1/") is None
    assert bearer_api_match("/api/v1/dossiers/HS-1", "GET", "/api/v1/").kwargs == {"code": "HS-1"}
    assert isinstance(wsgi_application.api_handler, BearerAPIWSGIHandler)


def test_the_short_chain_runs_no_session_or_user_middleware(monkeypatch, personas):
    seen = []
    authenticate = BearerToken.authenticate

    def spy(self, request, token):
        # before the token's check: no session, and an anonymous user (not the session's)
        seen.append((hasattr(request, "session"), request.user.is_authenticated))
        return authenticate(self, request, token)

    monkeypatch.setattr(BearerToken, "authenticate", spy)

    response = _wsgi("GET", "/api/v1/me", **_bearer(_token(personas.resident, SCOPES)))

    assert response.status_code == 200, response.content
    assert json.loads(response.content)["public_id"] == str(personas.resident.public_id)
    assert seen == [(False, False)]


# -- the answers: as through the full stack ------------------------------------------------------------------


def _both(client, method: str, path: str, body: str = "", **headers: str):
    full = client.generic(
        method, path, body, JSON, **{f"HTTP_{name}": value for name, value in headers.items()}
    )
    short = _wsgi(method, path, body, **headers)
    full_headers = {name.lower(): value for name, value in full.headers.items()}
    # The full stack reads the session (for request.user) and so varies by cookie; nothing here depends on a
    # cookie.
    assert full_headers.pop("vary") == "Accept-Language, Cookie"
    assert short.headers.pop("vary") == "Accept-Language"
    assert short.headers == full_headers
    assert short.content == full.content
    return short


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The access token is invalid or has expired."),
        ("vi", "Mã truy cập không hợp lệ hoặc đã hết hạn."),
    ],
)
def test_an_unknown_token_is_a_401_in_the_clients_language(client, handled, language, expected):
    response = _both(client, "GET", "/api/v1/dossiers", AUTHORIZATION="Bearer nope", ACCEPT_LANGUAGE=language)

    assert response.status_code == 401
    assert json.loads(response.content) == {"code": "invalid_token", "detail": expected}
    assert response.headers["content-language"] == language
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert handled == ["/api/v1/dossiers"]


def test_a_token_without_the_scope_is_a_403(client, personas):
    token = _token(personas.resident, "dossiers.read")

    response = _both(client, "POST", "/api/v1/dossiers", "{}", ACCEPT_LANGUAGE="en", **_bearer(token))

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "insufficient_scope"


def test_an_unknown_dossier_is_a_404(client, personas):
    token = _token(personas.resident, SCOPES)

    response = _both(client, "GET", "/api/v1/dossiers/NOPE-1", ACCEPT_LANGUAGE="vi", **_bearer(token))

    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "not_found"


def test_a_body_that_is_not_a_filing_is_a_422(client, personas):
    token = _token(personas.resident, SCOPES)

    response = _both(
        client, "POST", "/api/v1/dossiers", '{"procedure": "x"}', ACCEPT_LANGUAGE="en", **_bearer(token)
    )

    assert response.status_code == 422
    assert json.loads(response.content)["detail"] == "Some fields are not valid."
    assert not Dossier.objects.exists()


def test_a_form_that_does_not_validate_is_a_400(client, personas):
    case = CaseFactory()
    body = json.loads(_filing(case))
    body["form_data"] = {}
    token = _token(personas.resident, SCOPES)

    response = _both(client, "POST", "/api/v1/dossiers", json.dumps(body), **_bearer(token))

    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "form_invalid"
    assert not Dossier.objects.exists()


def test_an_error_in_the_view_is_the_site_500_page(monkeypatch, personas):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("hanoismart.dossiers.selectors.dossier_list_for", broken)

    response = _wsgi("GET", "/api/v1/dossiers", **_bearer(_token(personas.resident, SCOPES)))

    assert response.status_code == 500
    assert "text/html" in response.headers["content-type"]


# -- ASGI ----------------------------------------------------------------------------------------------------


def test_the_asgi_entry_point_sends_bearer_api_requests_to_the_short_chain(monkeypatch):
    from hanoismart.asgi import application

    assert isinstance(application.api_handler, BearerAPIASGIHandler)
    handled: list[str] = []
    answer = BearerAPIASGIHandler.get_response_async

    async def spy(self, request):
        handled.append(request.path_info)
        return await answer(self, request)

    monkeypatch.setattr(BearerAPIASGIHandler, "get_response_async", spy)

    async def status_of(authorization: bytes) -> int:
        headers = [(b"host", b"127.0.0.1"), (b"authorization", authorization)]
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/api/v1/me",
            "query_string": b"",
            "headers": headers,
        }
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=30)
        await communicator.receive_output(timeout=30)  # the body
        return start["status"]

    # as in _wsgi: the test's transaction must survive the requests' start and end
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        statuses = [async_to_sync(status_of)(b"Bearer nope"), async_to_sync(status_of)(b"Basic eDp5")]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    assert statuses == [401, 401]
    assert handled == ["/api/v1/me"]
