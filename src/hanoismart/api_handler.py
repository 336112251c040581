"""The API's own request handler for requests authenticated by ``Authorization: Bearer``: the OAuth endpoints'
short middleware chain (identity/oauth_handler.py) for the REST API's operations that a bearer token decides.

An operation whose first authentication is a bearer token (``token_or_session``) is decided by the token
alone when the request carries one: the token is checked, ``request.user`` becomes the person it acts for, or
the answer is 401/403; the session is never consulted, and the views are CSRF-exempt and render no page. So
the site's session, authentication, CSRF, second-factor, session-tracking, messages, htmx and static-file
middleware (``OAUTH_HANDLER_SKIPPED_MIDDLEWARE``) would only cost time there: ``wsgi.py`` and ``asgi.py``
send such requests to a handler without them. Every other middleware of ``settings.MIDDLEWARE`` still runs
in the same order (security headers, locale, the NUL check, ``CommonMiddleware``, X-Frame-Options).

Everything else keeps the whole site chain: requests without a bearer header (a browser's session),
paths outside the API, and operations that a session or nothing authenticates (``django_auth``, public
ones), whose views may read the session's user. The path is resolved once, by the router, with the site's
URLconf; the handler reuses that match. Error pages come from the site's handlers as everywhere else.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.asgi import get_script_prefix as asgi_script_prefix
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, URLResolver, get_resolver, get_script_prefix, reverse
from ninja.operation import PathView

from hanoismart.identity.api_auth import BearerToken
from hanoismart.identity.oauth_handler import _middleware_setting, oauth_handler_middleware

# Where the router hands the handler the match it resolved (a WSGI environ or an ASGI scope key).
MATCH_KEY = "hanoismart.bearer_api_match"

# view function -> the HTTP methods whose operation a bearer token decides (filled as views are met)
_bearer_methods: dict[Callable[..., Any], frozenset[str]] = {}


def api_path_prefix() -> str:
    """The REST API's path prefix (as ``request.path_info``), e.g. ``/api/v1/``."""
    schema = reverse("api:openapi-json").removeprefix(get_script_prefix())
    return "/" + schema.rsplit("/", 1)[0] + "/"


def bearer_decided_methods(view: Callable[..., Any]) -> frozenset[str]:
    """The HTTP methods of a Ninja path's view whose operation authenticates first with a bearer token;
    none for any other view."""
    methods = _bearer_methods.get(view)
    if methods is None:
        path_view = inspect.getclosurevars(view).nonlocals.get("self")
        methods = frozenset(
            method
            for operation in (path_view.operations if isinstance(path_view, PathView) else ())
            if operation.auth_callbacks and isinstance(operation.auth_callbacks[0], BearerToken)
            for method in operation.methods
        )
        _bearer_methods[view] = methods
    return methods


def is_bearer(authorization: str | None) -> bool:
    """Whether an ``Authorization`` header is a bearer one, as Ninja's ``HttpBearer`` reads it."""
    return bool(authorization) and authorization.split(" ", 1)[0].lower() == "bearer"


@functools.lru_cache(maxsize=4096)
def _resolved(resolver: URLResolver, path_info: str) -> ResolverMatch | None:
    # A URLconf does not change while it serves (its resolver is itself cached per URLconf): the API's paths
    # are walked through once each instead of through the site's hundred patterns per request.
    try:
        return resolver.resolve(path_info)
    except Resolver404:
        return None


def bearer_api_match(path_info: str, method: str, prefix: str) -> ResolverMatch | None:
    """The site's match for a bearer request to ``path_info`` when the short chain answers it, else None."""
    if not path_info.startswith(prefix) or not path_info.isascii():
        return None  # non-ASCII: the request's path_info would be decoded differently; the site resolves it
    match = _resolved(get_resolver(), path_info)
    if match is None or method not in bearer_decided_methods(match.func):
        return None
    # A match of its own per request, as Django makes one (a ResolverMatch cannot be copied).
    return ResolverMatch(
        match.func,
        match.args,
        dict(match.kwargs),
        url_name=match.url_name,
        app_names=match.app_names,
        namespaces=match.namespaces,
        route=match.route,
        captured_kwargs=dict(match.captured_kwargs),
        extra_kwargs=dict(match.extra_kwargs),
    )


class _BearerAPIHandlerMixin(BaseHandler):
    """A handler with the short middleware chain that takes the match the router resolved."""

    def load_middleware(self, is_async: bool = False) -> None:
        with _middleware_setting(oauth_handler_middleware()):
            super().load_middleware(is_async=is_async)

    def _routed_match(self, request: HttpRequest) -> ResolverMatch | None:
        raise NotImplementedError

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = self._routed_match(request)
        if match is None or hasattr(request, "urlconf"):
            return super().resolve_request(request)
        request.resolver_match = match
        return match

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        # No session here: the bearer token sets the user; until then (and for a machine client's token)
        # the request is anonymous, as a request without a session cookie is on the site.
        request.user = AnonymousUser()
        return super().get_response(request)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        request.user = AnonymousUser()
        return await super().get_response_async(request)


class BearerAPIWSGIHandler(_BearerAPIHandlerMixin, WSGIHandler):
    """Django's WSGI handler for bearer API requests (see the module's docstring)."""

    def _routed_match(self, request: HttpRequest) -> ResolverMatch | None:
        return request.environ.get(MATCH_KEY)  # type: ignore[attr-defined]


class BearerAPIASGIHandler(_BearerAPIHandlerMixin, ASGIHandler):
    """Django's ASGI handler for bearer API requests (see the module's docstring)."""

    def _routed_match(self, request: HttpRequest) -> ResolverMatch | None:
        return request.scope.get(MATCH_KEY)  # type: ignore[attr-defined]


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def bearer_api_wsgi(site: WSGIApp) -> WSGIApp:
    """``site`` with bearer requests to the API's token-decided operations answered by
    ``BearerAPIWSGIHandler``."""
    handler = BearerAPIWSGIHandler()
    prefix = api_path_prefix()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_bearer(environ.get("HTTP_AUTHORIZATION")):
            match = bearer_api_match(environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", ""), prefix)
            if match is not None:
                environ[MATCH_KEY] = match
                return handler(environ, start_response)
        return site(environ, start_response)

    application.api_handler = handler  # type: ignore[attr-defined]
    return application


def bearer_api_asgi(site: Any) -> Any:
    """``site`` with bearer requests to the API's token-decided operations answered by
    ``BearerAPIASGIHandler``."""
    handler = BearerAPIASGIHandler()
    prefix = api_path_prefix()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            authorization = next(
                (value for name, value in scope.get("headers", ()) if name.lower() == b"authorization"), None
            )
            if authorization is not None and is_bearer(authorization.decode("latin-1")):
                # As ASGIRequest takes path_info: the path without the script prefix.
                script_prefix = asgi_script_prefix(scope)
                path_info = scope["path"].removeprefix(script_prefix) if script_prefix else scope["path"]
                match = bearer_api_match(path_info, scope.get("method", ""), prefix)
                if match is not None:
                    await handler({**scope, MATCH_KEY: match}, receive, send)
                    return
        await site(scope, receive, send)

    application.api_handler = handler  # type: ignore[attr-defined]
    return application
