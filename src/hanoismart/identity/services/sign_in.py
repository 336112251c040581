"""Signing in: password, one-time code by SMS, authenticator app (TOTP), and the lockout guarding all three.

Lockout. Failures are counted per account and per IP address (``identity.SignInThrottle``). From the
``SIGN_IN_FAILURE_THRESHOLD``-th failure on an account (``SIGN_IN_IP_FAILURE_THRESHOLD`` for an IP), each
further failure locks for ``SIGN_IN_LOCKOUT_BASE_SECONDS`` doubled per failure past the threshold, at most
``SIGN_IN_LOCKOUT_MAX_SECONDS``. While locked, nothing is checked and the attempt is not counted.
Identifiers that name no account are counted under a hash of the identifier, so an unknown account locks
exactly like a real one and the pages never reveal which accounts exist. A full sign-in (including the
second factor when one is required) clears the account's counter; the IP's counter only decays.

Failures are committed before the refusal is raised: a refusal must never roll back its own count.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import secrets
from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, InvalidInput, PermissionDenied, RateLimited
from hanoismart.common.validators import normalize_phone
from hanoismart.identity.backends import find_user_by_identifier, find_user_for_code
from hanoismart.identity.models import CodePurpose, OneTimeCode, SignInThrottle, ThrottleScope, User
from hanoismart.identity.selectors.accounts import account_is_staff, account_requires_second_factor

CODE_DIGITS = 6
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_INTERVAL = timedelta(seconds=60)
CODE_MAX_PER_HOUR = 5
# A failure older than this no longer counts: four slips a year apart must not lock anyone out.
FAILURE_MEMORY = timedelta(hours=24)

_CODE_TEMPLATES = {
    CodePurpose.SIGN_IN: "identity.sign_in_code",
    CodePurpose.PASSWORD_RESET: "identity.password_reset_code",
}


# --- lockout ---------------------------------------------------------------------------------------------


def _account_key(user: User | None, identifier: str) -> str:
    """The throttle key of an account, or of an identifier that names none (hashed, never stored in clear)."""
    if user is not None:
        return f"user:{user.pk}"
    folded = "".join((identifier or "").split()).lower()
    with contextlib.suppress(ValidationError):
        folded = normalize_phone(folded)
    return "unknown:" + hashlib.sha256(folded.encode()).hexdigest()


def _lock_seconds(failures: int, threshold: int) -> int:
    if failures < threshold:
        return 0
    return min(
        settings.SIGN_IN_LOCKOUT_BASE_SECONDS * 2 ** (failures - threshold),
        settings.SIGN_IN_LOCKOUT_MAX_SECONDS,
    )


def _seconds_locked(scope: str, key: str) -> int:
    locked_until = (
        SignInThrottle.objects.filter(scope=scope, key=key).values_list("locked_until", flat=True).first()
    )
    if locked_until is None:
        return 0
    return max(0, math.ceil((locked_until - timezone.now()).total_seconds()))


def locked_message(seconds: int) -> str:
    """The sentence shown while sign-in is locked, with the time left in whole minutes (rounded up)."""
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed attempts. Try again in %(minutes)d minute.",
        "Too many failed attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _refuse_if_locked(*, account_key: str, ip: str | None) -> None:
    seconds = max(
        _seconds_locked(ThrottleScope.ACCOUNT, account_key),
        _seconds_locked(ThrottleScope.IP, ip) if ip else 0,
    )
    if seconds:
        raise RateLimited(locked_message(seconds), retry_after=seconds, code="locked")


def _count_failure(scope: str, key: str, threshold: int) -> int:
    """Add one failure; returns the seconds the key is now locked for (0 if not locked)."""
    now = timezone.now()
    throttle, _created = SignInThrottle.objects.select_for_update().get_or_create(scope=scope, key=key)
    if throttle.last_failure_at is not None and now - throttle.last_failure_at > FAILURE_MEMORY:
        throttle.failures = 0
    throttle.failures += 1
    throttle.last_failure_at = now
    seconds = _lock_seconds(throttle.failures, threshold)
    throttle.locked_until = now + timedelta(seconds=seconds) if seconds else None
    throttle.save()
    return seconds


def _record_failure(*, user: User | None, account_key: str, ip: str | None, action: str, method: str) -> int:
    """Count a failed attempt against the account and the IP, audit it; the seconds now locked (0 if not)."""
    with transaction.atomic():
        seconds = _count_failure(ThrottleScope.ACCOUNT, account_key, settings.SIGN_IN_FAILURE_THRESHOLD)
        if ip:
            seconds = max(
                seconds, _count_failure(ThrottleScope.IP, ip, settings.SIGN_IN_IP_FAILURE_THRESHOLD)
            )
        audit_record(actor=None, action=action, obj=user, subject=user, ip=ip, details={"method": method})
    return seconds


def _refuse_after_failure(seconds_locked: int, message: str, code: str) -> NoReturn:
    if seconds_locked:
        raise RateLimited(locked_message(seconds_locked), retry_after=seconds_locked, code="locked")
    raise InvalidInput(message, code=code)


def _clear_account_failures(user: User) -> None:
    SignInThrottle.objects.filter(scope=ThrottleScope.ACCOUNT, key=_account_key(user, "")).delete()


# --- password ---------------------------------------------------------------------------------------------


def password_authenticate(*, identifier: str, password: str, ip: str | None) -> User:
    """First step of signing in: the account named by a national ID, phone or email, if the password is right.

    Unknown identifiers and wrong passwords get the same refusal and take the same time (a password hash is
    computed either way). Clears the account's failures unless a second factor is still to come.
    """
    user = find_user_by_identifier(identifier)
    account_key = _account_key(user, identifier)
    _refuse_if_locked(account_key=account_key, ip=ip)
    authenticated = authenticate(None, username=identifier, password=password)
    if authenticated is None:
        seconds = _record_failure(
            user=user, account_key=account_key, ip=ip, action="identity.sign_in.failed", method="password"
        )
        _refuse_after_failure(
            seconds,
            _("This national ID number, phone or email and password do not match an account."),
            "bad_credentials",
        )
    with transaction.atomic():
        if not account_requires_second_factor(user=authenticated):
            _clear_account_failures(authenticated)
        audit_record(
            actor=authenticated,
            action="identity.sign_in.succeeded",
            obj=authenticated,
            subject=authenticated,
            ip=ip,
            details={"method": "password"},
        )
    return authenticated


# --- one-time codes by SMS --------------------------------------------------------------------------------


def _code_hash(user: User, purpose: str, code: str) -> str:
    return salted_hmac("hanoismart.identity.one_time_code", f"{user.pk}:{purpose}:{code}").hexdigest()


def one_time_code_send(*, identifier: str, purpose: str, ip: str | None) -> OneTimeCode | None:
    """Send a fresh 6-digit code by SMS to the account named by a phone number or national ID.

    Refuses (``RateLimited``) while the account or IP is locked. Says nothing when the identifier names no
    account with a phone, and sends nothing when a code went out less than a minute ago or five in the last
    hour (the page looks the same in every case, so it reveals no account). A new code replaces earlier
    unused ones. The SMS goes through the notifications outbox once the transaction commits.
    """
    if purpose not in CodePurpose.values:
        raise InvalidInput(_("Unknown code purpose."), code="invalid_purpose")
    user = find_user_for_code(identifier)
    _refuse_if_locked(account_key=_account_key(user, identifier), ip=ip)
    if user is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        # Lock the account row so that two simultaneous requests cannot both pass the resend limit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        recent = OneTimeCode.objects.filter(
            user=user, purpose=purpose, created_at__gte=now - timedelta(hours=1)
        )
        if (
            recent.filter(created_at__gt=now - CODE_RESEND_INTERVAL).exists()
            or recent.count() >= CODE_MAX_PER_HOUR
        ):
            return None
        OneTimeCode.objects.filter(
            user=user, purpose=purpose, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        ttl = settings.ONE_TIME_CODE_TTL_SECONDS
        row = OneTimeCode.objects.create(
            user=user,
            purpose=purpose,
            code_hash=_code_hash(user, purpose, code),
            expires_at=now + timedelta(seconds=ttl),
        )
        audit_record(
            actor=None,
            action="identity.one_time_code.sent",
            obj=user,
            subject=user,
            ip=ip,
            details={"purpose": purpose},
        )
        # The outbox row commits with the code row; its delivery is queued by the outbox after commit.
        import_string(settings.USER_MESSAGE_SENDER)(
            recipient=user,
            template=_CODE_TEMPLATES[purpose],
            context={"code": code, "minutes": math.ceil(ttl / 60)},
            channels=["sms"],
            dedupe_key=f"otc:{row.pk}",
        )
    return row


def one_time_code_verify(*, identifier: str, purpose: str, code: str, ip: str | None) -> User:
    """The account whose latest code for ``purpose`` is ``code``, unexpired and unused; the code is then used
    up.

    A code allows ``CODE_MAX_ATTEMPTS`` tries; every wrong code counts toward the lockout like a wrong
    password.
    """
    user = find_user_for_code(identifier)
    account_key = _account_key(user, identifier)
    _refuse_if_locked(account_key=account_key, ip=ip)
    code = "".join((code or "").split())
    now = timezone.now()
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(user=user, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
            if user is not None
            else None
        )
        accepted = False
        if row is not None and row.attempts >= CODE_MAX_ATTEMPTS:
            # Nothing is compared, so nothing is counted: the code is simply used up.
            raise InvalidInput(_("Too many wrong codes. Ask for a new code."), code="code_exhausted")
        if row is not None and constant_time_compare(_code_hash(row.user, purpose, code), row.code_hash):
            accepted = True
            row.used_at = now
            row.save(update_fields=["used_at"])
            if purpose == CodePurpose.PASSWORD_RESET or not account_requires_second_factor(user=row.user):
                _clear_account_failures(row.user)
            if purpose == CodePurpose.SIGN_IN:
                audit_record(
                    actor=row.user,
                    action="identity.sign_in.succeeded",
                    obj=row.user,
                    subject=row.user,
                    ip=ip,
                    details={"method": "one_time_code"},
                )
        elif row is not None:
            row.attempts += 1
            row.save(update_fields=["attempts"])
    if not accepted or user is None:
        seconds = _record_failure(
            user=user,
            account_key=account_key,
            ip=ip,
            action="identity.sign_in.failed",
            method="one_time_code",
        )
        _refuse_after_failure(
            seconds, _("The code is wrong or has expired. Check the SMS or ask for a new code."), "bad_code"
        )
    return user


# --- authenticator app (TOTP) ----------------------------------------------------------------------------


def _refuse_while_device_throttled(device: TOTPDevice) -> None:
    """django-otp's own short delays between tries on one device (1, 2, 4 … seconds)."""
    allowed, info = device.verify_is_allowed()
    if not allowed and info and info.get("locked_until"):
        seconds = max(1, math.ceil((info["locked_until"] - timezone.now()).total_seconds()))
        raise RateLimited(
            ngettext(
                "Please wait %(seconds)d second before trying another code.",
                "Please wait %(seconds)d seconds before trying another code.",
                seconds,
            )
            % {"seconds": seconds},
            retry_after=seconds,
            code="device_throttled",
        )


def totp_verify(*, actor: User, token: str, ip: str | None) -> TOTPDevice:
    """Second step of signing in: the actor's authenticator app shows ``token``. Returns the device, for
    ``django_otp.login``. Wrong codes count toward the lockout; success clears the account's failures."""
    account_key = _account_key(actor, "")
    _refuse_if_locked(account_key=account_key, ip=ip)
    device = TOTPDevice.objects.filter(user=actor, confirmed=True).order_by("-id").first()
    if device is None:
        raise InvalidInput(_("Set up an authenticator app first."), code="no_device")
    _refuse_while_device_throttled(device)
    verified = verify_token(actor, device.persistent_id, "".join((token or "").split()))
    if verified is None:
        seconds = _record_failure(
            user=actor,
            account_key=account_key,
            ip=ip,
            action="identity.sign_in.second_factor_failed",
            method="totp",
        )
        _refuse_after_failure(
            seconds, _("The code is not right. Enter the code your app shows now."), "bad_totp"
        )
    with transaction.atomic():
        _clear_account_failures(actor)
        audit_record(
            actor=actor,
            action="identity.sign_in.second_factor",
            obj=actor,
            subject=actor,
            ip=ip,
            details={"method": "totp"},
        )
    return verified


def totp_device_start(*, actor: User) -> TOTPDevice:
    """The authenticator device being set up for the actor (created unconfirmed with a fresh secret if
    needed).

    Refuses when the actor already has a confirmed device: it must be turned off first.
    """
    with transaction.atomic():
        if TOTPDevice.objects.filter(user=actor, confirmed=True).exists():
            raise Conflict(
                _("An authenticator app is already set up for this account."), code="device_exists"
            )
        device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("-id").first()
        if device is None:
            device = TOTPDevice.objects.create(user=actor, name="default", confirmed=False)
    return device


def totp_device_confirm(*, actor: User, token: str, ip: str | None) -> TOTPDevice:
    """Turn on the authenticator app being set up once the actor types a code it shows. Returns the device,
    for ``django_otp.login``; a wrong code counts toward the lockout."""
    account_key = _account_key(actor, "")
    _refuse_if_locked(account_key=account_key, ip=ip)
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("-id").first()
    if device is None:
        raise InvalidInput(_("Start setting up the authenticator app again."), code="no_pending_device")
    _refuse_while_device_throttled(device)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        accepted = device.verify_token("".join((token or "").split()))
    if not accepted:
        seconds = _record_failure(
            user=actor,
            account_key=account_key,
            ip=ip,
            action="identity.sign_in.second_factor_failed",
            method="totp_setup",
        )
        _refuse_after_failure(
            seconds, _("The code is not right. Enter the code your app shows now."), "bad_totp"
        )
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
        _clear_account_failures(actor)
        audit_record(actor=actor, action="identity.totp.enabled", obj=actor, subject=actor, ip=ip)
    return device


def totp_device_remove(*, actor: User, ip: str | None) -> None:
    """Turn off the actor's authenticator app. Staff cannot: their second factor is required."""
    if account_is_staff(user=actor):
        raise PermissionDenied(
            _("Staff accounts must keep an authenticator app."), code="second_factor_required"
        )
    with transaction.atomic():
        deleted, _details = TOTPDevice.objects.filter(user=actor).delete()
        if not deleted:
            raise InvalidInput(_("No authenticator app is turned on."), code="no_device")
        audit_record(actor=actor, action="identity.totp.disabled", obj=actor, subject=actor, ip=ip)
