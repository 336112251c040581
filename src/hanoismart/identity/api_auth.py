"""Bearer tokens from HanoiSmart's OpenID Connect provider authenticate the REST API, next to the session.

Other apps' routers use ``token_or_session(...)``::

    router = Router(auth=token_or_session("dossiers.read"))

An invalid, expired or revoked token answers 401 (``invalid_token``); a valid token without the scope the
operation needs answers 403 (``insufficient_scope``), both in the API's ``{code, detail}`` shape.

The check is one statement per request, compiled once per thread (``_TOKEN_STATEMENT``): the token's row by
its checksum with its app's status, the user's columns and whether the user holds any staff position. Nothing
is kept between requests, so a revoked token (its row deleted), an app no longer approved or a deactivated
user is refused at the very next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import router
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, django_auth
from oauth2_provider.models import get_access_token_model

from hanoismart.common.errors import NotAuthenticated, PermissionDenied
from hanoismart.common.queries import CompiledQuery, Param
from hanoismart.identity.models import ClientAppStatus, StaffPosition

# Set on the User a bearer token authenticated when they hold no staff position at all (no row, whatever
# its dates): read by ``holds_no_staff_position``.
_NO_STAFF_POSITION = "_hanoismart_holds_no_staff_position"


@dataclass(frozen=True, slots=True)
class BearerGrant:
    """What an accepted bearer token grants (``request.auth``): its app, the person it acts for (None for a
    machine client) and its scopes."""

    token_id: int
    application_id: int
    user_id: int | None
    scopes: frozenset[str]
    expires: dt.datetime


_TOKEN_COLUMNS = (
    "id",
    "expires",
    "scope",
    "application_id",
    "application__status",
    "user_id",
    "holds_position",
)


def _user_attnames() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


def _token_queryset(checksum: str) -> QuerySet[Any]:
    return (
        get_access_token_model()
        .objects.filter(token_checksum=checksum)
        .annotate(holds_position=Exists(StaffPosition.objects.filter(user_id=OuterRef("user_id"))))
        .values_list(*_TOKEN_COLUMNS, *(f"user__{name}" for name in _user_attnames()))
    )


# The check's SQL and its row converters, compiled by the ORM once per thread and database; "checksum"
# stands for the checksum while it is compiled (a checksum is 64 hexadecimal digits).
_TOKEN_STATEMENT = CompiledQuery(
    _token_queryset,
    checksum=Param(get_access_token_model()._meta.get_field("token_checksum"), "checksum"),
)


def _token_lookup(checksum: str) -> tuple[tuple[Any, ...], Any] | None:
    """The token's ``_TOKEN_COLUMNS`` (converted as the ORM would) and its user (a User with every column,
    or None), or None when no token has this checksum."""
    alias = router.db_for_read(get_access_token_model())
    rows = _TOKEN_STATEMENT.rows(using=alias, checksum=checksum)
    if not rows:
        return None
    row = rows[0]
    user = None
    if row[5] is not None:  # user_id
        user = get_user_model().from_db(alias, _user_attnames(), row[len(_TOKEN_COLUMNS) :])
    return tuple(row[: len(_TOKEN_COLUMNS)]), user


def holds_no_staff_position(user: Any) -> bool:
    """True when ``user`` is known, without a query, to hold no staff position at all (a user a bearer token
    authenticated in this request); False when they hold one or it is not known."""
    return getattr(user, _NO_STAFF_POSITION, False) is True


class BearerToken(HttpBearer):
    """``Authorization: Bearer <access token>``: the token must be live, its app approved, and it must carry
    every scope in ``scopes`` (or, with ``any_scope=True``, at least one). Sets ``request.user`` to the person
    the token acts for; tokens of machine clients (client credentials) are refused unless
    ``allow_clients``."""

    def __init__(self, scopes: Iterable[str] = (), *, any_scope: bool = False, allow_clients: bool = False):
        super().__init__()
        self.scopes = frozenset(scopes)
        self.any_scope = any_scope
        self.allow_clients = allow_clients

    def authenticate(self, request: HttpRequest, token: str) -> BearerGrant:
        found = _token_lookup(hashlib.sha256(token.encode()).hexdigest())
        if found is None:
            raise NotAuthenticated(_("The access token is invalid or has expired."), code="invalid_token")
        (token_id, expires, scope, application_id, app_status, user_id, holds_position), user = found
        if (
            expires is None
            or timezone.now() >= expires
            or application_id is None
            or app_status != ClientAppStatus.APPROVED
            or (user is not None and not user.is_active)
        ):
            raise NotAuthenticated(_("The access token is invalid or has expired."), code="invalid_token")
        granted = frozenset(scope.split())
        has_scope = bool(granted & self.scopes) if self.any_scope else self.scopes <= granted
        if self.scopes and not has_scope:
            raise PermissionDenied(
                _("The access token does not allow this (it needs the scope %(scopes)s).")
                % {
                    "scopes": " or ".join(sorted(self.scopes))
                    if self.any_scope
                    else " ".join(sorted(self.scopes))
                },
                code="insufficient_scope",
            )
        if user is None and not self.allow_clients:
            raise PermissionDenied(_("This operation acts for a person; use a token a person granted."))
        if user is not None:
            if not holds_position:
                setattr(user, _NO_STAFF_POSITION, True)
            request.user = user
        return BearerGrant(
            token_id=token_id,
            application_id=application_id,
            user_id=user_id,
            scopes=granted,
            expires=expires,
        )


def token_or_session(*scopes: str, any_scope: bool = False, allow_clients: bool = False) -> list[Any]:
    """The auth list for an API operation: a bearer token with ``scopes``, or the browser session."""
    return [BearerToken(scopes, any_scope=any_scope, allow_clients=allow_clients), django_auth]
