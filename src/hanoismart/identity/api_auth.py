"""Bearer tokens from HanoiSmart's OpenID Connect provider authenticate the REST API, next to the session.

Other apps' routers use ``token_or_session(...)``::

    router = Router(auth=token_or_session("dossiers.read"))

An invalid, expired or revoked token answers 401 (``invalid_token``); a valid token without the scope the
operation needs answers 403 (``insufficient_scope``), both in the API's ``{code, detail}`` shape.

The check is one statement per request, compiled once per thread (``_token_statement``): the token's row by
its checksum with its app's status, the user's columns and whether the user holds any staff position. Nothing
is kept between requests, so a revoked token (its row deleted), an app no longer approved or a deactivated
user is refused at the very next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, django_auth
from oauth2_provider.models import get_access_token_model

from hanoismart.common.errors import NotAuthenticated, PermissionDenied
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


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    params: list[Any]
    checksum_at: int
    user_attnames: list[str]
    # (position in the row, the column's converters, its expression), as Django's compiler applies them
    converters: list[tuple[int, list[Callable[..., Any]], Any]]


_TOKEN_COLUMNS = (
    "id",
    "expires",
    "scope",
    "application_id",
    "application__status",
    "user_id",
    "holds_position",
)
_statements = threading.local()
# Stands for the checksum while the statement is compiled (a checksum is 64 hexadecimal digits).
_CHECKSUM_SLOT = "checksum"


def _token_statement(alias: str) -> _Statement:
    """The check's SQL and its row converters, compiled by the ORM once per thread and database (converters
    may be bound to the thread's connection)."""
    cache = _statements.__dict__.setdefault("by_alias", {})
    statement = cache.get(alias)
    if statement is not None:
        return statement
    user_attnames = [field.attname for field in get_user_model()._meta.concrete_fields]
    queryset = (
        get_access_token_model()
        .objects.using(alias)
        .filter(token_checksum=_CHECKSUM_SLOT)
        .annotate(holds_position=Exists(StaffPosition.objects.filter(user_id=OuterRef("user_id"))))
        .values_list(*_TOKEN_COLUMNS, *(f"user__{name}" for name in user_attnames))
    )
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    checksum_at = params.index(_CHECKSUM_SLOT)  # the other parameters are constants (EXISTS's LIMIT 1)
    columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = [
        (position, functions, expression)
        for position, (functions, expression) in compiler.get_converters(columns).items()
    ]
    statement = cache[alias] = _Statement(
        sql=sql,
        params=list(params),
        checksum_at=checksum_at,
        user_attnames=user_attnames,
        converters=converters,
    )
    return statement


def _token_lookup(checksum: str) -> tuple[tuple[Any, ...], Any] | None:
    """The token's ``_TOKEN_COLUMNS`` (converted as the ORM would) and its user (a User with every column,
    or None), or None when no token has this checksum."""
    alias = router.db_for_read(get_access_token_model())
    statement = _token_statement(alias)
    connection = connections[alias]
    params = statement.params.copy()
    params[statement.checksum_at] = checksum
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for position, functions, expression in statement.converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    user = None
    if row[5] is not None:  # user_id
        user = get_user_model().from_db(alias, statement.user_attnames, row[len(_TOKEN_COLUMNS) :])
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
