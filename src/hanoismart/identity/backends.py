"""Sign in with a national ID number, a phone number or an email address, and a password."""

from __future__ import annotations

import contextlib

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db.models import Q

from hanoismart.common.validators import normalize_phone
from hanoismart.identity.models import User


def find_user_by_identifier(identifier: str) -> User | None:
    """The account a sign-in identifier names: a 12-digit CCCD, a mobile number, or an email."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    lookups = Q(national_id=identifier.replace(" ", ""))
    if "@" in identifier:
        lookups |= Q(email__iexact=identifier)
    else:
        with contextlib.suppress(ValidationError):  # not a phone number: the other identifiers remain
            lookups |= Q(phone=normalize_phone(identifier))
    return User.objects.filter(lookups).first()


def find_user_for_code(identifier: str) -> User | None:
    """The active account with a phone that a phone number or national ID names: where an SMS code can go."""
    identifier = (identifier or "").strip()
    if not identifier or "@" in identifier:
        return None
    user = find_user_by_identifier(identifier)
    if user is None or not user.is_active or not user.phone:
        return None
    return user


class IdentifierBackend(ModelBackend):
    """Django's model backend, with the username being any of the account's identifiers."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = find_user_by_identifier(username or kwargs.get("national_id") or "")
        if user is None:
            User().set_password(password)  # same work as a real check, so timing does not reveal accounts
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
