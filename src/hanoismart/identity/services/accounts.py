"""A person's own HanoiSmart ID account: registering, verifying it, editing it, resetting its password, and
the devices it is signed in on."""

from __future__ import annotations

import datetime as dt
import unicodedata
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, InvalidInput, PermissionDenied
from hanoismart.common.validators import normalize_national_id, normalize_phone, parse_national_id
from hanoismart.directory.models import Unit
from hanoismart.identity.backends import find_user_for_code
from hanoismart.identity.models import AssuranceLevel, CodePurpose, User, UserSession
from hanoismart.identity.population import get_population_registry
from hanoismart.identity.selectors.accounts import ward_choices
from hanoismart.identity.services.sign_in import one_time_code_verify

VERIFICATION_METHOD = "population_registry"
OLDEST_BIRTH_DATE = dt.date(1900, 1, 1)


def normalize_person_name(name: str) -> str:
    """A name as typed, in Unicode NFC with single spaces (the form it is stored and compared in)."""
    return " ".join(unicodedata.normalize("NFC", name or "").split())


def _names_match(typed: str, registered: str) -> bool:
    """Names match when equal after NFC, whitespace and case folding. Diacritics are kept: "Lê" and "Lễ" are
    different names. Case is not: the citizen card prints names in capitals, people type them either way."""
    return normalize_person_name(typed).casefold() == normalize_person_name(registered).casefold()


def _ip_or_none(ip: str | None) -> str | None:
    return ip or None


# --- field rules shared by registration and editing ---------------------------------------------------------


def _clean_contact(
    *, phone: str, email: str | None, ward: Unit | None, exclude: User | None, errors: dict[str, list[Any]]
) -> tuple[str, str | None]:
    """Normalised phone and email (``None`` when empty), checked unique; problems go into ``errors``."""
    others = User.objects.all() if exclude is None else User.objects.exclude(pk=exclude.pk)
    try:
        phone = normalize_phone(phone)
    except ValidationError as exc:
        errors.setdefault("phone", []).extend(exc.messages)
    else:
        if others.filter(phone=phone).exists():
            errors.setdefault("phone", []).append(_("Another account already uses this phone number."))
    clean_email = (email or "").strip() or None
    if clean_email is not None:
        local, _at, domain = clean_email.rpartition("@")
        clean_email = f"{local}@{domain.lower()}"
        try:
            validate_email(clean_email)
        except ValidationError as exc:
            errors.setdefault("email", []).extend(exc.messages)
        else:
            if others.filter(email__iexact=clean_email).exists():
                errors.setdefault("email", []).append(_("Another account already uses this email address."))
    if ward is not None and not ward_choices().filter(pk=ward.pk).exists():
        errors.setdefault("ward", []).append(_("Choose a ward or commune of the city."))
    return phone, clean_email


def _check_date_of_birth(date_of_birth: dt.date, national_id: str, errors: dict[str, list[Any]]) -> None:
    today = timezone.localdate()
    if not OLDEST_BIRTH_DATE <= date_of_birth <= today:
        errors.setdefault("date_of_birth", []).append(_("Enter your real date of birth."))
        return
    try:
        facts = parse_national_id(national_id)
    except ValidationError:
        return  # the national ID's own error is reported on its field
    if facts.birth_year != date_of_birth.year:
        errors.setdefault("date_of_birth", []).append(
            _("The year of birth does not match the one encoded in your national ID number.")
        )


def _raise_if_errors(errors: dict[str, list[Any]]) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first, code="invalid_fields", details=errors)


# --- registration and verification -------------------------------------------------------------------------


def account_register(
    *,
    actor: User | None,
    national_id: str,
    full_name: str,
    date_of_birth: dt.date,
    phone: str,
    email: str | None,
    ward: Unit | None,
    password: str,
    ip: str | None = None,
) -> User:
    """Open a self-registered account (assurance level 0), with an argon2-hashed password.

    One account per national ID, phone and email: a duplicate is refused on its field and nothing is saved.
    The password must pass Django's validators; the date of birth must agree with the year in the national ID.
    ``actor`` is who registers (``None`` for someone registering themselves).
    """
    errors: dict[str, list[Any]] = {}
    try:
        national_id = normalize_national_id(national_id)
    except ValidationError as exc:
        errors.setdefault("national_id", []).extend(exc.messages)
    else:
        if User.objects.filter(national_id=national_id).exists():
            errors.setdefault("national_id", []).append(
                _("An account with this national ID number already exists. Sign in, or reset your password.")
            )
    full_name = normalize_person_name(full_name)
    if not full_name:
        errors.setdefault("full_name", []).append(_("Enter your full name as on your citizen card."))
    _check_date_of_birth(date_of_birth, national_id, errors)
    phone, email = _clean_contact(phone=phone, email=email, ward=ward, exclude=None, errors=errors)
    user = User(
        national_id=national_id,
        full_name=full_name,
        date_of_birth=date_of_birth,
        phone=phone,
        email=email,
        ward=ward,
        assurance_level=AssuranceLevel.SELF_REGISTERED,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    _raise_if_errors(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            audit_record(
                actor=actor or user,
                action="identity.account.registered",
                obj=user,
                subject=user,
                ip=_ip_or_none(ip),
            )
    except IntegrityError:  # a simultaneous registration took the national ID, phone or email first
        raise Conflict(
            _("An account with these details was just created. Sign in, or reset your password."),
            code="duplicate_account",
        ) from None
    return user


def account_verify(*, actor: User, user: User, ip: str | None = None) -> User:
    """Verify the account against the national population database and raise it to the level the registry
    vouches for. Name and date of birth must match the record of the account's national ID; on a mismatch the
    refusal names what did not match (never the registry's value) and nothing changes. Audited either way."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("Only the account holder can verify their account."))
    if user.assurance_level != AssuranceLevel.SELF_REGISTERED:
        raise Conflict(_("Your account is already verified."), code="already_verified")
    record = get_population_registry().lookup(user.national_id)
    mismatched: list[str] = []
    if record is None:
        message = _("The national population database has no record of this national ID number.")
        mismatched.append("national_id")
    else:
        if not _names_match(user.full_name, record.full_name):
            mismatched.append("full_name")
        if user.date_of_birth != record.date_of_birth:
            mismatched.append("date_of_birth")
        if mismatched == ["full_name"]:
            message = _("Your full name does not match the national population database.")
        elif mismatched == ["date_of_birth"]:
            message = _("Your date of birth does not match the national population database.")
        else:
            message = _("Your full name and date of birth do not match the national population database.")
    with transaction.atomic():
        if mismatched:
            audit_record(
                actor=actor,
                action="identity.account.verification_failed",
                obj=user,
                subject=user,
                ip=_ip_or_none(ip),
                details={"mismatched": mismatched},
            )
        else:
            assert record is not None  # noqa: S101 - nothing mismatched implies a record
            user.assurance_level = record.level
            user.verified_at = timezone.now()
            user.verification_method = VERIFICATION_METHOD
            user.save(update_fields=["assurance_level", "verified_at", "verification_method"])
            audit_record(
                actor=actor,
                action="identity.account.verified",
                obj=user,
                subject=user,
                ip=_ip_or_none(ip),
                details={"level": record.level, "method": VERIFICATION_METHOD},
            )
    if mismatched:
        raise InvalidInput(message, code="verification_mismatch", details={"mismatched": mismatched})
    return user


# --- editing ----------------------------------------------------------------------------------------------


def account_update(
    *,
    actor: User,
    user: User,
    phone: str,
    email: str | None,
    ward: Unit | None,
    full_name: str | None = None,
    date_of_birth: dt.date | None = None,
    ip: str | None = None,
) -> User:
    """Change the account's phone, email and ward (and, while unverified, its name and date of birth, so that
    a typo can be fixed before verifying). Duplicates are refused on their field and nothing is saved. Audited
    with the names of the changed fields, not their values."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("Only the account holder can change these details."))
    errors: dict[str, list[Any]] = {}
    phone, email = _clean_contact(phone=phone, email=email, ward=ward, exclude=user, errors=errors)
    changes: dict[str, Any] = {"phone": phone, "email": email, "ward": ward}
    is_verified = user.assurance_level != AssuranceLevel.SELF_REGISTERED
    if full_name is not None and normalize_person_name(full_name) != user.full_name:
        if is_verified:
            errors.setdefault("full_name", []).append(
                _("Your name comes from the national population database and cannot be changed here.")
            )
        elif not normalize_person_name(full_name):
            errors.setdefault("full_name", []).append(_("Enter your full name as on your citizen card."))
        changes["full_name"] = normalize_person_name(full_name)
    if date_of_birth is not None and date_of_birth != user.date_of_birth:
        if is_verified:
            errors.setdefault("date_of_birth", []).append(
                _(
                    "Your date of birth comes from the national population database "
                    "and cannot be changed here."
                )
            )
        else:
            _check_date_of_birth(date_of_birth, user.national_id, errors)
        changes["date_of_birth"] = date_of_birth
    _raise_if_errors(errors)
    changed = [name for name, value in changes.items() if getattr(user, name) != value]
    if not changed:
        return user
    try:
        with transaction.atomic():
            for name in changed:
                setattr(user, name, changes[name])
            user.save(update_fields=changed)
            audit_record(
                actor=actor,
                action="identity.account.updated",
                obj=user,
                subject=user,
                ip=_ip_or_none(ip),
                details={"fields": changed},
            )
    except IntegrityError:
        user.refresh_from_db()
        raise Conflict(
            _("Another account took this phone or email just now."), code="duplicate_contact"
        ) from None
    return user


# --- password reset and devices ---------------------------------------------------------------------------


def _end_sessions(user: User, *, keep_session_key: str | None) -> int:
    """Delete the person's Django sessions (all but ``keep_session_key``) and their device rows."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


def account_password_reset(*, identifier: str, code: str, new_password: str, ip: str | None) -> User:
    """Set a new password for the account named by a phone or national ID, given the password-reset code sent
    to its phone. Signs the account out everywhere. A new password that breaks the rules is refused before the
    code is used up; a wrong code counts toward the lockout like a wrong password."""
    user = find_user_for_code(identifier)
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise InvalidInput(
            exc.messages[0], code="invalid_password", details={"password": exc.messages}
        ) from None
    user = one_time_code_verify(identifier=identifier, purpose=CodePurpose.PASSWORD_RESET, code=code, ip=ip)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ended = _end_sessions(user, keep_session_key=None)
        audit_record(
            actor=user,
            action="identity.password.reset",
            obj=user,
            subject=user,
            ip=_ip_or_none(ip),
            details={"method": "sms_code", "sessions_ended": ended},
        )
    return user


def user_session_touch(*, user: User, session_key: str, ip: str | None, user_agent: str) -> UserSession:
    """Record that the person's session was seen now, from this IP and browser (not audited: no data is
    read)."""
    session, _created = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "ip": _ip_or_none(ip), "user_agent": (user_agent or "")[:300]},
    )
    return session


def user_session_end(*, actor: User, session_key: str | None, ip: str | None) -> None:
    """Forget the device row of the session being signed out of, and audit the sign-out."""
    with transaction.atomic():
        if session_key:
            UserSession.objects.filter(user=actor, session_key=session_key).delete()
        audit_record(actor=actor, action="identity.signed_out", obj=actor, subject=actor, ip=_ip_or_none(ip))


def user_sessions_sign_out_others(*, actor: User, current_session_key: str | None, ip: str | None) -> int:
    """Sign the actor out of every device but this one; returns how many were signed out."""
    with transaction.atomic():
        ended = _end_sessions(actor, keep_session_key=current_session_key)
        audit_record(
            actor=actor,
            action="identity.sessions.signed_out_others",
            obj=actor,
            subject=actor,
            ip=_ip_or_none(ip),
            details={"sessions_ended": ended},
        )
    return ended
