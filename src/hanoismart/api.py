"""The REST API at /api/v1/: one NinjaAPI that mounts each app's router and turns errors into 4xx."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from hanoismart.common.errors import ApplicationError, RateLimited
from hanoismart.directory.api import router as directory_router
from hanoismart.documents.api import router as documents_router
from hanoismart.dossiers.api import router as dossiers_router
from hanoismart.identity.api import router as identity_router
from hanoismart.notifications.api import router as notifications_router
from hanoismart.procedures.api import router as procedures_router
from hanoismart.reporting.api import router as reporting_router

api = NinjaAPI(
    title="HanoiSmart API",
    version="1",
    description="Open API of the HanoiSmart city platform. Errors are JSON: {code, detail, errors?}.",
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/", directory_router)
api.add_router("/", identity_router)
api.add_router("/", notifications_router)
api.add_router("/", procedures_router)
api.add_router("/", documents_router)
api.add_router("/", "hanoismart.dossiers.api_stats.router")  # before dossiers: /dossiers/stats
api.add_router("/", dossiers_router)
api.add_router("/reporting/", reporting_router)
api.add_router("/", "hanoismart.ioc.api.router")


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    body = {"code": "invalid", "detail": _("Some fields are not valid."), "errors": exc.errors}
    return api.create_response(request, body, status=422)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"code": "not_found", "detail": _("Not found.")}, status=404)


@api.exception_handler(AuthenticationError)
def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {"code": "not_authenticated", "detail": _("Sign in to use this.")}
    return api.create_response(request, body, status=401)


_HTTP_ERROR_CODES = {
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own refusals (e.g. a failed CSRF check) in the same {code, detail} shape as ours."""
    if exc.status_code == 403 and "CSRF" in str(exc):
        body = {"code": "csrf_failed", "detail": _("Your session's security token is missing or expired.")}
    else:
        body = {"code": _HTTP_ERROR_CODES.get(exc.status_code, "invalid"), "detail": str(exc)}
    return api.create_response(request, body, status=exc.status_code)
