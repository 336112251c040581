"""The OAuth endpoints' short middleware chain (identity/oauth_handler.py): the production entry points send
exactly the token, revocation and introspection paths there, and its answers (headers, errors, languages)
are those of the full site stack."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sys

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from hanoismart.audit.models import AuditEvent
from hanoismart.identity.oauth_handler import (
    OAuthEndpointASGIHandler,
    OAuthEndpointWSGIHandler,
    oauth_handler_middleware,
    oauth_handler_paths,
)
from hanoismart.wsgi import application as wsgi_application
from tests.identity.oidc_support import make_app

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_token_caches")]

FORM = "application/x-www-form-urlencoded"
SECRET = "agency-secret-123"


@pytest.fixture
def agency():
    return make_app(
        "agency",
        is_city_agency=True,
        client_type="confidential",
        grant_type="client-credentials",
        client_secret=SECRET,
        scopes=(("dossiers.read", "x", False),),
    )


def _basic(secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"agency:{secret}".encode()).decode()


class _Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.content = body


def _wsgi(
    path: str, body: bytes = b"", *, method: str = "POST", host: str = "127.0.0.1", **headers: str
) -> _Response:
    """One request through the production WSGI application, as granian hands it over (``headers`` by their
    WSGI names without ``HTTP_``: ``AUTHORIZATION``, ``ACCEPT_LANGUAGE``)."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": FORM,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": host,
        **{f"HTTP_{name}": value for name, value in headers.items()},
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    started: list = []

    def start_response(status, headers, exc_info=None):
        started.extend([status, headers])

    # A real server closes a connection left in a transaction when a request starts and ends; the test's
    # transaction must survive (Django's test client does the same, per request).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = wsgi_application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return _Response(started[0], started[1], content)


@pytest.fixture
def handled(monkeypatch) -> list[str]:
    """The paths the OAuth handler of the production WSGI application answered."""
    handler = wsgi_application.oauth_handler
    paths: list[str] = []
    get_response = handler.get_response

    def spy(request):
        paths.append(request.path_info)
        return get_response(request)

    monkeypatch.setattr(handler, "get_response", spy)
    return paths


# -- routing -------------------------------------------------------------------------------------------------


def test_the_short_chain_is_the_site_chain_without_the_browser_middleware():
    assert oauth_handler_middleware() == [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "hanoismart.common.middleware.RejectNulCharactersMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]


def test_a_middleware_added_to_the_site_runs_on_the_oauth_endpoints_too(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.identity.test_oauth_handler.Tagging"]

    assert oauth_handler_middleware()[-1] == "tests.identity.test_oauth_handler.Tagging"


def test_the_handlers_resolve_exactly_the_three_oauth_endpoints():
    assert oauth_handler_paths() == ["/o/token/", "/o/revoke_token/", "/o/introspect/"]
    assert isinstance(wsgi_application.oauth_handler, OAuthEndpointWSGIHandler)
    assert sorted(wsgi_application.oauth_handler._matches) == sorted(oauth_handler_paths())


@pytest.mark.parametrize("path", ["/o/token/", "/o/revoke_token/", "/o/introspect/"])
def test_the_production_entry_point_sends_the_oauth_endpoints_to_the_short_chain(handled, path):
    _wsgi(path, b"token=x", AUTHORIZATION=_basic())

    assert handled == [path]


@pytest.mark.parametrize("path", ["/o/token", "/o/token/x", "/o/authorize/", "/o/userinfo/", "/healthz", "/"])
def test_every_other_path_goes_through_the_whole_site(handled, path):
    _wsgi(path, method="GET")

    assert handled == []


def test_the_short_chain_runs_no_session_or_user_middleware(monkeypatch, agency):
    seen = {}
    match = wsgi_application.oauth_handler._matches["/o/token/"]
    view = match.func

    def spy(request, *args, **kwargs):
        seen.update(session=hasattr(request, "session"), user=hasattr(request, "user"))
        return view(request, *args, **kwargs)

    monkeypatch.setattr(match, "func", spy)

    response = _wsgi("/o/token/", b"grant_type=client_credentials", AUTHORIZATION=_basic())

    assert response.status_code == 200
    assert seen == {"session": False, "user": False}
    assert "set-cookie" not in response.headers


# -- the answers: as through the full stack ------------------------------------------------------------------


def test_a_grant_answers_with_the_security_headers_of_the_site(client, agency):
    # given: the same refused request through the full stack (the test client) and the short chain
    full = client.post("/o/token/", "grant_type=client_credentials", FORM, AUTHORIZATION=_basic("wrong"))

    short = _wsgi("/o/token/", b"grant_type=client_credentials", AUTHORIZATION=_basic("wrong"))

    assert (short.status_code, full.status_code) == (401, 401)
    full_headers = {name.lower(): value for name, value in full.headers.items()}
    # The full stack reads the session (for request.user) and so varies by cookie; nothing here depends on a
    # cookie (and no-store keeps every cache out anyway).
    assert full_headers.pop("vary") == "Accept-Language, Cookie"
    assert short.headers.pop("vary") == "Accept-Language"
    assert short.headers == full_headers
    assert short.headers["x-frame-options"] == "DENY"
    assert short.headers["x-content-type-options"] == "nosniff"
    assert short.headers["cache-control"] == "no-store"


def test_a_grant_through_the_short_chain_issues_and_audits_the_token(agency):
    response = _wsgi("/o/token/", b"grant_type=client_credentials", AUTHORIZATION=_basic())

    assert response.status_code == 200, response.content
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-length"] == str(len(response.content))
    event = AuditEvent.objects.get(action="identity.oidc.token_issued")
    assert event.details == {
        "client_id": "agency",
        "grant_type": "client_credentials",
        "scopes": ["dossiers.read"],
    }


def test_a_nul_character_is_refused_with_a_400_page(agency):
    response = _wsgi("/o/token/", b"grant_type=client_credentials&scope=a%00b", AUTHORIZATION=_basic())

    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_an_unknown_host_is_refused_with_a_400():
    response = _wsgi("/o/token/", b"grant_type=client_credentials", host="evil.example")

    assert response.status_code == 400


def test_a_wrong_method_is_refused_with_a_405():
    response = _wsgi("/o/token/", method="GET")

    assert response.status_code == 405


def test_an_error_in_the_view_is_the_site_500_page(monkeypatch):
    def broken(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("hanoismart.identity.views.oidc.TokenView.post", broken)

    response = _wsgi("/o/token/", b"grant_type=client_credentials")

    assert response.status_code == 500
    assert "text/html" in response.headers["content-type"]
    assert "500" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "Too many requests"), ("vi", "Có quá nhiều yêu cầu")]
)
def test_the_rate_limit_answers_in_the_client_language(settings, language, expected):
    settings.OIDC_TOKEN_RATE_LIMIT = 1
    _wsgi("/o/token/", b"grant_type=client_credentials", ACCEPT_LANGUAGE=language)

    limited = _wsgi("/o/token/", b"grant_type=client_credentials", ACCEPT_LANGUAGE=language)

    assert limited.status_code == 429
    assert limited.headers["content-language"] == language
    assert json.loads(limited.content)["error_description"].startswith(expected)


# -- ASGI ----------------------------------------------------------------------------------------------------


def test_the_asgi_entry_point_sends_the_token_endpoint_to_the_short_chain(monkeypatch):
    from hanoismart.asgi import application

    handler = application.oauth_handler
    assert isinstance(handler, OAuthEndpointASGIHandler)
    handled: list[str] = []
    get_response_async = handler.get_response_async

    async def spy(request):
        handled.append(request.path_info)
        return await get_response_async(request)

    monkeypatch.setattr(handler, "get_response_async", spy)
    sent: list[dict] = []

    async def call(path: str) -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive():
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # the client stays connected until the answer is sent

        async def send(message):
            sent.append(message)

        await application(scope, receive, send)

    async_to_sync(call)("/o/token/")

    assert handled == ["/o/token/"]
    assert sent[0]["status"] == 405


class Tagging:
    """A middleware some later change might add to the site."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
