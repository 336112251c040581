"""The token endpoint's hot path: what each server process keeps between requests, and refresh-token rotation
in a few statements.

Kept per process:

* apps by client ID (``client_app_for_token``), with their registered scopes. Every request still asks the
  database one cheap question, the app row's version (``updated``) and the columns that decide whether it
  may get a token at all (status, client secret, client type, grant type, algorithm); when any of them
  differs, the app is loaded again. A rotated secret, a suspension or any edit through a service or the
  admin (they all save the app, which moves ``updated``) therefore takes effect on the very next request in
  every process. Writes that bypass ``save()`` on other columns, or scopes written without saving the app,
  are picked up within ``APP_CACHE_SECONDS``.
* the provider's signing keys, parsed once per PEM (``id_token_sign``, ``signing_key_set``).

The reads and writes of a token request, as statements made once (``identity/statements.py``): the live
refresh token with its access token and person in one query (``refresh_token_live``), the consents
(``consents_granted``), and the inserts of the tokens, the ID token and the data-release row.

Rotation (``refresh_token_revoke_for_rotation``): the old refresh token is revoked by one conditional UPDATE
(which is also what tells two concurrent uses of the same token apart: only one of them changes the row)
and its access token deleted; the new pair is then inserted. That is django-oauth-toolkit's rotation
without its re-reads and row locks (it locks and re-reads the same rows three times).
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import DataError, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from hanoismart.identity.models import ClientApp, Consent, DataRelease, User
from hanoismart.identity.selectors.oidc import app_scopes
from hanoismart.identity.statements import ModelColumns, PreparedInsert, statement_cursor

APP_CACHE_SECONDS = 60
APP_CACHE_SIZE = 1000
# The columns that decide whether an app may get a token; compared on every request.
_VERSION_COLUMNS = (
    "id",
    "updated",
    "status",
    "client_secret",
    "client_type",
    "authorization_grant_type",
    "algorithm",
)


@dataclass(frozen=True)
class _CachedApp:
    version: tuple[Any, ...]
    app: ClientApp
    loaded_at: float


_apps: dict[str, _CachedApp] = {}
_apps_lock = threading.Lock()


@functools.cache
def _version_sql(alias: str) -> str:
    meta = ClientApp._meta
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in _VERSION_COLUMNS)
    where = quote(meta.get_field("client_id").column)
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {where} = %s"  # noqa: S608 - names from _meta


def _app_version(client_id: str) -> tuple[Any, ...] | None:
    """The app's version columns, or None when no app has this client ID: one indexed query, written by hand
    because compiling it through the ORM would cost more than running it."""
    alias = router.db_for_read(ClientApp)
    cursor = statement_cursor(alias)
    cursor.execute(_version_sql(alias), [client_id])
    row = cursor.fetchone()
    return tuple(row) if row else None


def client_app_for_token(client_id: str) -> ClientApp | None:
    """The app with this client ID, whatever its status (None when there is none), with its registered scopes
    preloaded (``app_scopes`` reads them without a query).

    The instance is shared by the requests of this process: treat it as read-only.
    """
    try:
        version = _app_version(client_id)
    except (ValueError, DataError):  # a client ID the database cannot represent (a NUL byte): no such app
        return None
    if version is None:
        return None
    cached = _apps.get(client_id)
    if (
        cached is not None
        and cached.version == version
        and time.monotonic() - cached.loaded_at < APP_CACHE_SECONDS
    ):
        return cached.app
    app = ClientApp.objects.filter(client_id=client_id).first()
    if app is None:
        return None
    app_scopes(app)  # read now, kept with the app
    with _apps_lock:
        if len(_apps) >= APP_CACHE_SIZE:
            _apps.clear()
        # Keyed on the version read before loading: a change committed in between reloads next time.
        _apps[client_id] = _CachedApp(version=version, app=app, loaded_at=time.monotonic())
    return app


def client_app_cache_clear() -> None:
    """Forget every cached app (tests; the version check makes it unnecessary in production)."""
    with _apps_lock:
        _apps.clear()


def token_generate(request: Any, refresh_token: bool = False) -> str:
    """A new access or refresh token (settings ``ACCESS_TOKEN_GENERATOR``, ``REFRESH_TOKEN_GENERATOR``): 256
    random bits from the operating system, URL-safe base64 (43 characters). oauthlib's default gives 179 bits
    (30 characters of 62), drawing each character with its own ``SystemRandom`` call."""
    return secrets.token_urlsafe(32)


# -- signing keys --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Keys:
    current: jwk.JWK
    key_set: jwk.JWKSet
    private_key: Any  # the current key as cryptography's RSA private key, for signing


_keys: dict[tuple[str, ...], _Keys] = {}


def _parsed_keys() -> _Keys:
    pems = (oauth2_settings.OIDC_RSA_PRIVATE_KEY, *oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE)
    parsed = _keys.get(pems)
    if parsed is None:
        keys = []
        for pem in pems:
            key = jwk_from_pem(pem)
            keys.append(jwk.JWK(**{**key.export(as_dict=True), "kid": key.thumbprint()}))
        key_set = jwk.JWKSet()
        for key in keys:
            key_set.add(key)
        parsed = _keys[pems] = _Keys(current=keys[0], key_set=key_set, private_key=keys[0].get_op_key("sign"))
    return parsed


def signing_key_set() -> jwk.JWKSet:
    """The current and previous signing keys, so tokens signed before a rotation still verify."""
    return _parsed_keys().key_set


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def id_token_sign(claims: dict[str, Any]) -> str:
    """``claims`` as a JWT signed with the current key: RS256, compact serialisation, ``kid`` in the header
    (RFC 7515 and 7519). What jwcrypto's ``JWT.make_signed_token`` makes, without its per-token set-up."""
    keys = _parsed_keys()
    header = {"typ": "JWT", "alg": "RS256", "kid": keys.current["kid"]}
    signing_input = (
        _b64url(json.dumps(header).encode()) + b"." + _b64url(json.dumps(claims, default=str).encode())
    )
    signature = keys.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64url(signature)).decode("ascii")


# -- reads and writes of a token request ---------------------------------------------------------------------

AccessToken = get_access_token_model()
IDToken = get_id_token_model()
RefreshToken = get_refresh_token_model()

access_token_insert = PreparedInsert(AccessToken)
refresh_token_insert = PreparedInsert(RefreshToken)
id_token_insert = PreparedInsert(IDToken)
data_release_insert = PreparedInsert(DataRelease)

_live_refresh = ModelColumns(RefreshToken, "refresh")
_live_access = ModelColumns(AccessToken, "access")
_live_user = ModelColumns(User, "person")


def _quoted(connection: BaseDatabaseWrapper, model: type[models.Model], field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


# The consents of the token's person to its app come with the token, as one space-separated string
# (scopes have no spaces): the aggregate of each database HanoiSmart runs on.
_SCOPE_AGGREGATES = {"postgresql": "string_agg({}, ' ')", "sqlite": "group_concat({}, ' ')"}


@functools.cache
def _live_refresh_sql(alias: str) -> tuple[str, bool]:
    """The statement, and whether it reads the consents too (one parameter more, before the checksum)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    select = ", ".join(
        columns.select_list(connection) for columns in (_live_refresh, _live_access, _live_user)
    )
    rt, at, u = (quote(columns.table_alias) for columns in (_live_refresh, _live_access, _live_user))
    rt_access, rt_user, rt_app, checksum, revoked = (
        _quoted(connection, RefreshToken, f)
        for f in ("access_token", "user", "application", "token_checksum", "revoked")
    )
    at_pk, u_pk = quote(AccessToken._meta.pk.column), quote(User._meta.pk.column)
    aggregate = _SCOPE_AGGREGATES.get(connection.vendor)
    if aggregate is not None:
        consent = {
            f: _quoted(connection, Consent, f) for f in ("scope", "user", "app", "revoked_at", "granted")
        }
        select += (
            f", (SELECT {aggregate.format(consent['scope'])}"  # noqa: S608 - names from _meta
            f" FROM {quote(Consent._meta.db_table)}"
            f" WHERE {consent['user']} = {rt}.{rt_user} AND {consent['app']} = {rt}.{rt_app}"
            f" AND {consent['revoked_at']} IS NULL AND {consent['granted']} = %s)"
        )
    sql = (
        f"SELECT {select} FROM {quote(RefreshToken._meta.db_table)} {rt}"  # noqa: S608 - names from _meta
        f" JOIN {quote(AccessToken._meta.db_table)} {at} ON {at}.{at_pk} = {rt}.{rt_access}"
        f" LEFT JOIN {quote(User._meta.db_table)} {u} ON {u}.{u_pk} = {rt}.{rt_user}"
        f" WHERE {rt}.{checksum} = %s AND {rt}.{revoked} IS NULL LIMIT 1"
    )
    return sql, aggregate is not None


def refresh_token_live(checksum: str) -> Any | None:
    """The unrevoked refresh token with this checksum, its access token and its person (``access_token`` and
    ``user`` already set), in one query; None when there is none, or when it has lost its access token.

    Its ``consented_scopes`` are the scopes its person currently allows its app (``consents_granted``), read
    by the same query; None when the database cannot say in one query (then ask ``consents_granted``)."""
    alias = router.db_for_read(RefreshToken)
    connection = connections[alias]
    sql, with_consents = _live_refresh_sql(alias)
    cursor = statement_cursor(alias)
    cursor.execute(sql, [True, checksum] if with_consents else [checksum])
    row = cursor.fetchone()
    if row is None:
        return None
    split, user_start = len(_live_refresh), len(_live_refresh) + len(_live_access)
    user_end = user_start + len(_live_user)
    refresh_token = _live_refresh.instance(row[:split], connection)
    refresh_token.access_token = _live_access.instance(row[split:user_start], connection)
    if refresh_token.user_id is not None:
        refresh_token.user = _live_user.instance(row[user_start:user_end], connection)
    refresh_token.consented_scopes = frozenset((row[user_end] or "").split()) if with_consents else None
    return refresh_token


@functools.cache
def _consents_sql(alias: str) -> str:
    connection = connections[alias]
    columns = {f: _quoted(connection, Consent, f) for f in ("scope", "user", "app", "revoked_at", "granted")}
    return (
        f"SELECT {columns['scope']} FROM {connection.ops.quote_name(Consent._meta.db_table)}"  # noqa: S608
        f" WHERE {columns['user']} = %s AND {columns['app']} = %s AND {columns['revoked_at']} IS NULL"
        f" AND {columns['granted']} = %s"
    )


def consents_granted(*, user_id: int, app_id: int) -> set[str]:
    """The scopes the person currently allows the app: ``selectors.oidc.granted_scopes`` as one hand-written
    query (the same rule: granted and not revoked)."""
    alias = router.db_for_read(Consent)
    cursor = statement_cursor(alias)
    cursor.execute(_consents_sql(alias), [user_id, app_id, True])
    return {scope for (scope,) in cursor.fetchall()}


@functools.cache
def _rotation_sql(alias: str) -> tuple[str, str, str | None]:
    """The revoking UPDATE, the DELETE of the access token, and on PostgreSQL both as one statement (a
    data-modifying WITH: the DELETE runs only when the UPDATE changed the row), answering how many it
    revoked."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ("revoked", "updated", "access_token", "id", "revoked")
    revoke = "UPDATE {} SET {} = %s, {} = %s, {} = NULL WHERE {} = %s AND {} IS NULL".format(  # noqa: S608
        quote(RefreshToken._meta.db_table), *(_quoted(connection, RefreshToken, f) for f in columns)
    )
    table, pk = quote(AccessToken._meta.db_table), quote(AccessToken._meta.pk.column)
    delete = f"DELETE FROM {table} WHERE {pk} = %s"  # noqa: S608 - names from _meta
    both = None
    if connection.vendor == "postgresql":
        # The refresh token's foreign key to the access token is checked at commit (Django makes it
        # DEFERRABLE INITIALLY DEFERRED), when the UPDATE has cleared it.
        rt_pk = _quoted(connection, RefreshToken, "id")
        both = (
            f"WITH revoked AS ({revoke} RETURNING {rt_pk}),"  # noqa: S608 - names from _meta
            f" deleted AS ({delete} AND EXISTS (SELECT 1 FROM revoked) RETURNING {pk})"
            " SELECT count(*) FROM revoked"
        )
    return revoke, delete, both


def refresh_token_revoke_for_rotation(*, refresh_token: Any, now: datetime) -> bool:
    """Revoke ``refresh_token`` and delete its access token, unless it was revoked meanwhile (used twice at
    once, or revoked by the resident): False then, and nothing is changed. Run it in the transaction that
    issues the new pair.

    The refresh token just updated was the only row pointing at its access token (one-to-one), so the delete
    needs none of the ORM's collecting of related rows (a SELECT and an UPDATE more)."""
    alias = router.db_for_write(RefreshToken)
    connection = connections[alias]
    revoke, delete, both = _rotation_sql(alias)
    stamp = RefreshToken._meta.get_field("revoked").get_db_prep_save(now, connection=connection)
    cursor = statement_cursor(alias)
    if both is not None:  # one round trip
        cursor.execute(both, [stamp, stamp, refresh_token.pk, refresh_token.access_token_id])
        return cursor.fetchone()[0] == 1
    cursor.execute(revoke, [stamp, stamp, refresh_token.pk])
    if cursor.rowcount != 1:
        return False
    if refresh_token.access_token_id is not None:
        cursor.execute(delete, [refresh_token.access_token_id])
    return True
