"""The OAuth endpoints' own request handler: the token, revocation and introspection endpoints skip what only
browser pages need.

A client authenticates itself on these endpoints (client credentials, a refresh token or a bearer token, all
in the request), never with a session cookie; the views are CSRF-exempt and render no page. So the site's
session, authentication, CSRF, second-factor, session-tracking, messages, htmx and static-file middleware
would only cost time here: ``wsgi.py`` and ``asgi.py`` send requests for exactly these paths to a handler
without them (``OAUTH_HANDLER_SKIPPED_MIDDLEWARE``). Every other middleware of ``settings.MIDDLEWARE`` still
runs, in the same order: security headers, locale (the language of the rate-limit message), the NUL check,
``CommonMiddleware`` (host validation, Content-Length), X-Frame-Options; a middleware added to the site later
runs here too unless it is added to the skipped ones.

The view is resolved once per path at start-up with the site's own URLconf, so the view, its URL name and
namespace are the site's; error pages (400, 404, 500) come from the site's handlers as everywhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.asgi import get_script_prefix as asgi_script_prefix
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import ResolverMatch, get_resolver, get_script_prefix, reverse

# django-oauth-toolkit's names of the endpoints that take the short path (in its "oauth2_provider" namespace).
OAUTH_HANDLER_URL_NAMES = ("token", "revoke-token", "introspect")
# The site's middleware that serve browser sessions and pages only; the rest of settings.MIDDLEWARE runs.
OAUTH_HANDLER_SKIPPED_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "hanoismart.identity.middleware.StaffSecondFactorMiddleware",
        "hanoismart.identity.middleware.SessionTrackingMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
    }
)

_load_lock = threading.Lock()


def oauth_handler_middleware() -> list[str]:
    """The middleware the OAuth endpoints run: the site's, in its order, without the skipped ones."""
    return [path for path in settings.MIDDLEWARE if path not in OAUTH_HANDLER_SKIPPED_MIDDLEWARE]


def oauth_handler_paths() -> list[str]:
    """The paths (as ``request.path_info``) of the endpoints that take the short path."""
    prefix = get_script_prefix()
    return ["/" + reverse(f"oauth2_provider:{name}").removeprefix(prefix) for name in OAUTH_HANDLER_URL_NAMES]


@contextmanager
def _middleware_setting(middleware: list[str]) -> Iterator[None]:
    # Django builds a handler's chain from settings.MIDDLEWARE and nothing else; the handlers are built once,
    # at start-up, before any request is served.
    with _load_lock:
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = middleware
        try:
            yield
        finally:
            settings.MIDDLEWARE = site_middleware


class _OAuthEndpointHandlerMixin(BaseHandler):
    """A handler with the short middleware chain, resolving its few paths from a table made at start-up."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._matches = {path: get_resolver().resolve(path) for path in oauth_handler_paths()}
        with _middleware_setting(oauth_handler_middleware()):
            super().load_middleware(is_async=is_async)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = self._matches.get(request.path_info)
        if match is None or hasattr(request, "urlconf"):
            return super().resolve_request(request)
        # A match of its own per request, as Django makes one (a ResolverMatch cannot be copied).
        request.resolver_match = match = ResolverMatch(
            match.func,
            match.args,
            match.kwargs,
            url_name=match.url_name,
            app_names=match.app_names,
            namespaces=match.namespaces,
            route=match.route,
            captured_kwargs=match.captured_kwargs,
            extra_kwargs=match.extra_kwargs,
        )
        return match


class OAuthEndpointWSGIHandler(_OAuthEndpointHandlerMixin, WSGIHandler):
    """Django's WSGI handler for the OAuth endpoints (see the module's docstring)."""


class OAuthEndpointASGIHandler(_OAuthEndpointHandlerMixin, ASGIHandler):
    """Django's ASGI handler for the OAuth endpoints (see the module's docstring)."""


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def oauth_endpoints_wsgi(site: WSGIApp) -> WSGIApp:
    """``site`` with the OAuth endpoints' paths answered by ``OAuthEndpointWSGIHandler``."""
    handler = OAuthEndpointWSGIHandler()
    paths = frozenset(handler._matches)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # PATH_INFO is what Django's WSGIRequest takes as path_info (ASCII paths read the same either way).
        if environ.get("PATH_INFO") in paths:
            return handler(environ, start_response)
        return site(environ, start_response)

    application.oauth_handler = handler  # type: ignore[attr-defined]
    return application


def oauth_endpoints_asgi(site: Any) -> Any:
    """``site`` with the OAuth endpoints' paths answered by ``OAuthEndpointASGIHandler``."""
    handler = OAuthEndpointASGIHandler()
    paths = frozenset(handler._matches)

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            # As ASGIRequest takes path_info: the path without the script prefix.
            prefix = asgi_script_prefix(scope)
            path_info = scope["path"].removeprefix(prefix) if prefix else scope["path"]
            if path_info in paths:
                await handler(scope, receive, send)
                return
        await site(scope, receive, send)

    application.oauth_handler = handler  # type: ignore[attr-defined]
    return application
