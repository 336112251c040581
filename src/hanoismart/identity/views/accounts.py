"""Pages of a person's own account: register, sign in (password, SMS code, authenticator app), reset the
password, the account page with its devices and "who accessed my data", and sign out. Thin: parse, call a
service, render."""

from __future__ import annotations

import time
from base64 import b32encode
from typing import Any

import qrcode
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from hanoismart.common.errors import ApplicationError, InvalidInput, RateLimited
from hanoismart.identity.forms import (
    AccountEditForm,
    CodeForm,
    CodeRequestForm,
    PageForm,
    PasswordResetCodeForm,
    RegistrationForm,
    SignInForm,
)
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.models import AssuranceLevel, CodePurpose, StaffRole, User
from hanoismart.identity.selectors.accounts import (
    account_access_log,
    account_is_staff,
    account_requires_second_factor,
    audit_action_label,
    totp_device_for,
    user_agent_label,
    user_session_list,
)
from hanoismart.identity.selectors.connected_apps import connected_app_list
from hanoismart.identity.services.accounts import (
    account_password_reset,
    account_register,
    account_update,
    account_verify,
    user_session_end,
    user_sessions_sign_out_others,
)
from hanoismart.identity.services.sign_in import (
    CODE_RESEND_INTERVAL,
    one_time_code_send,
    one_time_code_verify,
    password_authenticate,
    totp_device_confirm,
    totp_device_remove,
    totp_device_start,
    totp_verify,
)

BACKEND = "hanoismart.identity.backends.IdentifierBackend"
NEXT_KEY = "sign_in_next"
CODE_IDENTIFIER_KEYS = {
    CodePurpose.SIGN_IN: "sign_in_code_identifier",
    CodePurpose.PASSWORD_RESET: "password_reset_identifier",
}
ACCESS_LOG_PAGE_SIZE = 20


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # behind login_required


def _posted(request: HttpRequest) -> Any:
    """The submitted data on a POST (even an empty one, so that it is validated), else None."""
    return request.POST if request.method == "POST" else None


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _refuse_on_form(form: PageForm, exc: ApplicationError, *, field: str | None = None) -> int:
    """Show a service's refusal on the form; the HTTP status of the page that shows it."""
    if exc.details and not isinstance(exc, RateLimited):
        form.add_service_errors(exc.details)
    else:
        form.add_error(field if isinstance(exc, InvalidInput) else None, str(exc.message))
        form.mark_invalid_fields()
    return exc.status


def _render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    exc: Exception | None = None,
) -> HttpResponse:
    response = render(request, template, context, status=status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _finish_first_step(request: HttpRequest, user: User, next_url: str | None) -> HttpResponse:
    """Signed in with a password or an SMS code: done, or on to the authenticator code when one is owed."""
    auth_login(request, user, backend=BACKEND)
    if account_requires_second_factor(user=user):
        if next_url:
            request.session[NEXT_KEY] = next_url
        return redirect("identity:sign_in_totp")
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


# --- registration ------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Open a HanoiSmart ID account (level 0), then sign in."""
    if request.user.is_authenticated:
        return redirect("identity:account")
    form = RegistrationForm(_posted(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = account_register(
                    actor=None,
                    national_id=data["national_id"],
                    full_name=data["full_name"],
                    date_of_birth=data["date_of_birth"],
                    phone=data["phone"],
                    email=data["email"] or None,
                    ward=data["ward"],
                    password=data["password"],
                    ip=client_ip(request),
                )
            except ApplicationError as exc:
                status = _refuse_on_form(form, exc)
            else:
                auth_login(request, user, backend=BACKEND)
                messages.success(
                    request,
                    _(
                        "Your account is open. Verify it with the national population database "
                        "to use every service."
                    ),
                )
                return redirect("identity:account")
    return render(request, "identity/register.html", {"form": form}, status=status)


# --- sign-in -----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """First step: national ID, phone or email, and the password."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    form = SignInForm(_posted(request))
    status, exc = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = password_authenticate(
                    identifier=form.cleaned_data["identifier"],
                    password=form.cleaned_data["password"],
                    ip=client_ip(request),
                )
            except ApplicationError as refusal:
                exc = refusal
                status = _refuse_on_form(form, refusal)
            else:
                return _finish_first_step(request, user, next_url)
    return _render(
        request, "identity/sign_in.html", {"form": form, "next": next_url or ""}, status=status, exc=exc
    )


def _code_request(request: HttpRequest, *, purpose: str, template: str, next_page: str) -> HttpResponse:
    """Ask for an SMS code for ``purpose``; the same page follows whether or not the identifier names an
    account."""
    form = CodeRequestForm(_posted(request))
    status, exc = 200, None
    sent_key = f"code_sent_at:{purpose}"
    if request.method == "POST":
        status = 400
        wait = int(CODE_RESEND_INTERVAL.total_seconds() - (time.time() - request.session.get(sent_key, 0)))
        if wait > 0:
            form.add_error(
                None,
                ngettext(
                    "A code was sent a moment ago. You can ask for another in %(seconds)d second.",
                    "A code was sent a moment ago. You can ask for another in %(seconds)d seconds.",
                    wait,
                )
                % {"seconds": wait},
            )
            status = 429
        elif form.is_valid():
            identifier = form.cleaned_data["identifier"]
            try:
                one_time_code_send(identifier=identifier, purpose=purpose, ip=client_ip(request))
            except ApplicationError as refusal:
                exc = refusal
                status = _refuse_on_form(form, refusal)
            else:
                request.session[CODE_IDENTIFIER_KEYS[purpose]] = identifier
                request.session[sent_key] = time.time()
                next_url = _safe_next(request, request.POST.get("next"))
                if next_url:
                    request.session[NEXT_KEY] = next_url
                messages.info(
                    request, _("If this number belongs to an account, a code is on its way by SMS.")
                )
                return redirect(next_page)
    context = {
        "form": form,
        "next": _safe_next(request, request.GET.get("next") or request.POST.get("next")) or "",
    }
    return _render(request, template, context, status=status, exc=exc)


@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """Sign in without a password: ask for a code by SMS."""
    if request.user.is_authenticated and request.method == "GET":
        return redirect(settings.LOGIN_REDIRECT_URL)
    return _code_request(
        request,
        purpose=CodePurpose.SIGN_IN,
        template="identity/sign_in_code.html",
        next_page="identity:sign_in_code_enter",
    )


@require_http_methods(["GET", "POST"])
def sign_in_code_enter(request: HttpRequest) -> HttpResponse:
    """Sign in without a password: type the code from the SMS."""
    identifier = request.session.get(CODE_IDENTIFIER_KEYS[CodePurpose.SIGN_IN])
    if not identifier:
        return redirect("identity:sign_in_code")
    form = CodeForm(_posted(request))
    status, exc = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = one_time_code_verify(
                    identifier=identifier,
                    purpose=CodePurpose.SIGN_IN,
                    code=form.cleaned_data["code"],
                    ip=client_ip(request),
                )
            except ApplicationError as refusal:
                exc = refusal
                status = _refuse_on_form(form, refusal, field="code")
            else:
                next_url = request.session.pop(NEXT_KEY, None)
                request.session.pop(CODE_IDENTIFIER_KEYS[CodePurpose.SIGN_IN], None)
                return _finish_first_step(request, user, _safe_next(request, next_url))
    return _render(request, "identity/sign_in_code_enter.html", {"form": form}, status=status, exc=exc)


@login_required
@require_http_methods(["GET", "POST"])
def sign_in_totp(request: HttpRequest) -> HttpResponse:
    """Second step: the code of the authenticator app (required for staff)."""
    user = _user(request)
    if user.is_verified() or not account_requires_second_factor(user=user):
        return redirect(
            _safe_next(request, request.session.pop(NEXT_KEY, None)) or settings.LOGIN_REDIRECT_URL
        )
    if totp_device_for(user=user) is None:
        return redirect("identity:totp_enrol")
    form = CodeForm(_posted(request))
    status, exc = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = totp_verify(actor=user, token=form.cleaned_data["code"], ip=client_ip(request))
            except ApplicationError as refusal:
                exc = refusal
                status = _refuse_on_form(form, refusal, field="code")
            else:
                request.session.cycle_key()
                otp_login(request, device)
                return redirect(
                    _safe_next(request, request.session.pop(NEXT_KEY, None)) or settings.LOGIN_REDIRECT_URL
                )
    return _render(request, "identity/sign_in_totp.html", {"form": form}, status=status, exc=exc)


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=SvgPathImage, box_size=8, border=2)
    # The SVG comes from our own data (the otpauth URI), not from user input.
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


@login_required
@require_http_methods(["GET", "POST"])
def totp_enrol(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: scan the QR code (or type the secret), then confirm with a code."""
    user = _user(request)
    if totp_device_for(user=user) is not None:
        if user.is_verified():
            messages.info(request, _("Your authenticator app is already turned on."))
            return redirect("identity:account")
        return redirect("identity:sign_in_totp")
    device: TOTPDevice = totp_device_start(actor=user)
    form = CodeForm(_posted(request))
    status, exc = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = totp_device_confirm(
                    actor=user, token=form.cleaned_data["code"], ip=client_ip(request)
                )
            except ApplicationError as refusal:
                exc = refusal
                status = _refuse_on_form(form, refusal, field="code")
            else:
                request.session.cycle_key()
                otp_login(request, device)
                messages.success(request, _("Your authenticator app is turned on."))
                return redirect(
                    _safe_next(request, request.session.pop(NEXT_KEY, None)) or settings.LOGIN_REDIRECT_URL
                )
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr_svg": _qr_svg(device.config_url),
        "otpauth_uri": device.config_url,
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "is_staff_member": account_is_staff(user=user),
    }
    return _render(request, "identity/totp_enrol.html", context, status=status, exc=exc)


@login_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    """Turn the authenticator app off (residents only)."""
    try:
        totp_device_remove(actor=_user(request), ip=client_ip(request))
    except ApplicationError as exc:
        return _account_page(request, error=str(exc.message), status=exc.status)
    messages.success(request, _("Your authenticator app is turned off."))
    return redirect("identity:account")


@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out (POST); a GET shows a button, so that a link or a prefetch cannot sign anyone out."""
    if request.method == "GET":
        return render(request, "identity/sign_out.html")
    if request.user.is_authenticated:
        user_session_end(actor=_user(request), session_key=request.session.session_key, ip=client_ip(request))
    auth_logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


# --- password reset ----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Forgot the password: ask for a code by SMS."""
    return _code_request(
        request,
        purpose=CodePurpose.PASSWORD_RESET,
        template="identity/password_reset.html",
        next_page="identity:password_reset_code",
    )


@require_http_methods(["GET", "POST"])
def password_reset_code(request: HttpRequest) -> HttpResponse:
    """Forgot the password: the code from the SMS and the new password."""
    identifier = request.session.get(CODE_IDENTIFIER_KEYS[CodePurpose.PASSWORD_RESET])
    if not identifier:
        return redirect("identity:password_reset")
    form = PasswordResetCodeForm(_posted(request))
    status, exc = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                account_password_reset(
                    identifier=identifier,
                    code=form.cleaned_data["code"],
                    new_password=form.cleaned_data["password"],
                    ip=client_ip(request),
                )
            except ApplicationError as refusal:
                exc = refusal
                status = _refuse_on_form(form, refusal, field="code")
            else:
                if request.user.is_authenticated:
                    auth_logout(request)
                messages.success(request, _("Your password is changed. Sign in with the new password."))
                return redirect("identity:sign_in")
    return _render(request, "identity/password_reset_code.html", {"form": form}, status=status, exc=exc)


# --- the account page --------------------------------------------------------------------------------------


def _account_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    user = _user(request)
    sessions = [
        {
            "label": user_agent_label(row.user_agent),
            "ip": row.ip,
            "last_seen_at": row.last_seen_at,
            "is_current": row.session_key == request.session.session_key,
        }
        for row in user_session_list(user=user)
    ]
    page = Paginator(account_access_log(user=user), ACCESS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    access_log = [
        {
            "at": event.at,
            "who": _("You")
            if event.actor_ref == user.public_id
            else (event.actor_label or _("Someone who was not signed in")),
            "role": StaffRole(event.actor_role).label
            if event.actor_role in StaffRole.values
            else event.actor_role,
            "what": audit_action_label(event.action),
            "ip": event.ip,
        }
        for event in page.object_list
    ]
    context = {
        "account": user,
        "is_verified_level": user.assurance_level != AssuranceLevel.SELF_REGISTERED,
        "has_totp": totp_device_for(user=user) is not None,
        "is_staff_member": account_is_staff(user=user),
        "sessions": sessions,
        "other_sessions": sum(1 for row in sessions if not row["is_current"]),
        "access_page": page,
        "access_log": access_log,
        "connected_apps": connected_app_list(user),
        "error": error,
    }
    return render(request, "identity/account.html", context, status=status)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The account page: profile, assurance level, second factor, devices, connected apps, who accessed my
    data."""
    return _account_page(request)


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest) -> HttpResponse:
    """Change phone, email and ward (and name and date of birth while unverified)."""
    user = _user(request)
    can_edit_identity = user.assurance_level == AssuranceLevel.SELF_REGISTERED
    initial = {
        "full_name": user.full_name,
        "date_of_birth": user.date_of_birth,
        "phone": user.phone,
        "email": user.email,
        "ward": user.ward_id,
    }
    form = AccountEditForm(_posted(request), initial=initial, can_edit_identity=can_edit_identity)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                account_update(
                    actor=user,
                    user=user,
                    phone=data["phone"],
                    email=data["email"] or None,
                    ward=data["ward"],
                    full_name=data.get("full_name"),
                    date_of_birth=data.get("date_of_birth"),
                    ip=client_ip(request),
                )
            except ApplicationError as refusal:
                status = _refuse_on_form(form, refusal)
            else:
                messages.success(request, _("Your details are saved."))
                return redirect("identity:account")
    return render(request, "identity/account_edit.html", {"form": form}, status=status)


@login_required
@require_POST
def account_verify_view(request: HttpRequest) -> HttpResponse:
    """Verify the account against the national population database."""
    user = _user(request)
    try:
        account_verify(actor=user, user=user, ip=client_ip(request))
    except ApplicationError as exc:
        return _account_page(request, error=str(exc.message), status=exc.status)
    messages.success(
        request,
        _("Your identity is verified: %(level)s.") % {"level": AssuranceLevel(user.assurance_level).label},
    )
    return redirect("identity:account")


@login_required
@require_POST
def sign_out_other_devices(request: HttpRequest) -> HttpResponse:
    """Sign out of every device but this one."""
    ended = user_sessions_sign_out_others(
        actor=_user(request), current_session_key=request.session.session_key, ip=client_ip(request)
    )
    messages.success(
        request,
        ngettext("Signed out of %(count)d other device.", "Signed out of %(count)d other devices.", ended)
        % {"count": ended},
    )
    return redirect(reverse("identity:account") + "#devices")


urlpatterns = [
    path("register/", register, name="register"),
    path("sign-in/", sign_in, name="sign_in"),
    path("sign-in/code/", sign_in_code, name="sign_in_code"),
    path("sign-in/code/enter/", sign_in_code_enter, name="sign_in_code_enter"),
    path("sign-in/two-factor/", sign_in_totp, name="sign_in_totp"),
    path("sign-out/", sign_out, name="sign_out"),
    path("password-reset/", password_reset, name="password_reset"),
    path("password-reset/code/", password_reset_code, name="password_reset_code"),
    path("account/", account, name="account"),
    path("account/edit/", account_edit, name="account_edit"),
    path("account/verify/", account_verify_view, name="account_verify"),
    path("account/two-factor/setup/", totp_enrol, name="totp_enrol"),
    path("account/two-factor/off/", totp_disable, name="totp_disable"),
    path("account/devices/sign-out-others/", sign_out_other_devices, name="sign_out_other_devices"),
]
