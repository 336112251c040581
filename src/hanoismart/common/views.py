"""The home page, the health check and the error pages (Vietnamese first, usable on a phone)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


def home(request: HttpRequest) -> HttpResponse:
    # The live figures come from the public directory API in the browser: common imports no other app.
    return render(request, "common/home.html", {"province_code": settings.PROVINCE_CODE})


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the process manager and load balancer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# requires_csrf_token: the error pages carry the language switch form, and an error can happen before
# CsrfViewMiddleware has run (as Django's own handlers do).
@requires_csrf_token
def _error(request: HttpRequest, status: int, *, reason: str = "") -> HttpResponse:
    return render(request, "common/error.html", {"status": status, "reason": reason}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its valid security token, mostly a page left open past the session: say so
    (settings.CSRF_FAILURE_VIEW)."""
    return _error(request, 403, reason="csrf")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, rendered without the request's context: the database or session may be what failed."""
    return HttpResponseServerError(loader.render_to_string("common/error.html", {"status": 500}))
