"""Request-level guards of HanoiSmart ID: the staff second factor, and tracking of signed-in devices."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from hanoismart.identity.selectors.accounts import account_requires_second_factor
from hanoismart.identity.services.accounts import user_session_touch

# Pages a signed-in person who still owes their second factor may open (names in the "identity" namespace).
SECOND_FACTOR_PAGES = frozenset({"sign_in_totp", "totp_enrol", "sign_out"})
SESSION_SEEN_KEY = "_hanoismart_seen_at"
SESSION_TOUCH_INTERVAL_SECONDS = 60


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the web server saw it (a proxy in front must set REMOTE_ADDR correctly)."""
    return request.META.get("REMOTE_ADDR") or None


def _is_exempt(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith(settings.STATIC_URL) or path.startswith("/i18n/"):
        return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.namespace == "identity" and match.url_name in SECOND_FACTOR_PAGES


class StaffSecondFactorMiddleware:
    """Until a staff member (or a resident who turned the authenticator app on) has typed their TOTP code in
    this session, they reach only the second-factor pages, sign-out, static files and language switching:
    other pages redirect to the second-factor step, the API answers 401. Runs after django_otp's
    OTPMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not _is_exempt(request)
            and account_requires_second_factor(user=user)
        ):
            if request.path_info.startswith("/api/"):
                body = {
                    "code": "second_factor_required",
                    "detail": _("Finish signing in with your authenticator app code."),
                }
                return JsonResponse(body, status=401)
            return redirect("identity:sign_in_totp")
        return self.get_response(request)


class SessionTrackingMiddleware:
    """Keeps ``identity.UserSession`` (device, IP, last seen) for signed-in sessions, writing at most once a
    minute per session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # After the view: a sign-in in this request is recorded too, under its new session key.
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is None or session is None or not user.is_authenticated or not session.session_key:
            return response
        now = time.time()
        seen_key, seen_at = session.get(SESSION_SEEN_KEY) or ("", 0)
        if seen_key != session.session_key or now - seen_at >= SESSION_TOUCH_INTERVAL_SECONDS:
            user_session_touch(
                user=user,
                session_key=session.session_key,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
            session[SESSION_SEEN_KEY] = [session.session_key, now]
        return response
