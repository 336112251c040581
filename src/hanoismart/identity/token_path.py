"""The token endpoint's hot path: what each server process keeps between requests, and refresh-token rotation
in one statement.

Kept per process:

* apps by client ID (``client_app_for_token``), with their registered scopes. Every request still asks the
  database one cheap question, the app row's version (``updated``) and the columns that decide whether it
  may get a token at all (status, client secret, client type, grant type, algorithm); when any of them
  differs, the app is loaded again. A rotated secret, a suspension or any edit through a service or the
  admin (they all save the app, which moves ``updated``) therefore takes effect on the very next request in
  every process. Writes that bypass ``save()`` on other columns, or scopes written without saving the app,
  are picked up within ``APP_CACHE_SECONDS``.
* the provider's signing keys, parsed once per PEM (``id_token_sign``, ``signing_key_set``).

The reads and writes of a token request, as statements made once (``identity/statements.py``): for a
refresh, the app's version with the live refresh token, its access token, person and consents in one query
(``client_app_and_refresh_token``); the new rows written from plain values, without model instances.

Rotation (``refresh_token_rotate``): the old refresh token is revoked by one conditional UPDATE (which is
also what tells two concurrent uses of the same token apart: only one of them changes the row) and its
access token deleted; the new pair, the ID token, the data releases and the audit events are inserted
only when the UPDATE revoked the token. On PostgreSQL all of that is one statement, atomic by itself (a
data-modifying WITH), and so is a client-credentials grant's token with its audit event
(``access_token_issue``): a refresh costs two round trips, a grant two. That is django-oauth-toolkit's
rotation without its re-reads and row locks (it locks and re-reads the same rows three times).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import DataError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_events_record, audit_events_statements
from hanoismart.common.queries import kept_cursor
from hanoismart.identity.models import ClientApp, Consent, DataRelease, User
from hanoismart.identity.selectors.oidc import app_scopes
from hanoismart.identity.statements import ModelColumns, PreparedInsert, RowInsert

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
    cursor = kept_cursor(alias)
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
    return _app_of_version(client_id, version)


def _app_of_version(client_id: str, version: tuple[Any, ...] | None) -> ClientApp | None:
    """The cached app if its version is ``version``, else the app loaded afresh (and cached)."""
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
    header: bytes  # the JWS header of the tokens it signs, base64url-encoded


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
        header = {"typ": "JWT", "alg": "RS256", "kid": keys[0]["kid"]}
        parsed = _keys[pems] = _Keys(
            current=keys[0],
            key_set=key_set,
            private_key=keys[0].get_op_key("sign"),
            header=_b64url(json.dumps(header).encode()),
        )
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
    signing_input = keys.header + b"." + _b64url(json.dumps(claims, default=str).encode())
    signature = keys.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64url(signature)).decode("ascii")


# -- reads and writes of a token request ---------------------------------------------------------------------

AccessToken = get_access_token_model()
IDToken = get_id_token_model()
RefreshToken = get_refresh_token_model()

# For the authorization-code flow, which saves the instances django-oauth-toolkit's code made.
access_token_insert = PreparedInsert(AccessToken)
refresh_token_insert = PreparedInsert(RefreshToken)
id_token_insert = PreparedInsert(IDToken)
data_release_insert = PreparedInsert(DataRelease)

# A refresh's new rows, written from plain values (no model instances).
_access_row = RowInsert(AccessToken)
_refresh_row = RowInsert(RefreshToken)
_id_token_row = RowInsert(IDToken)
_release_row = RowInsert(DataRelease)

# What a refresh needs of the old refresh token and its access token (read narrowly), and all of the person.
_LIVE_REFRESH_FIELDS = ("id", "user", "application", "access_token", "token_family", "resource")
_LIVE_ACCESS_FIELDS = ("expires", "scope")
_live_refresh = ModelColumns(RefreshToken, "refresh", _LIVE_REFRESH_FIELDS)
_live_access = ModelColumns(AccessToken, "access", _LIVE_ACCESS_FIELDS)
_live_user = ModelColumns(User, "person")


@dataclass(frozen=True)
class LiveRefreshToken:
    """An unrevoked refresh token as a refresh needs it: its ids, its family, its access token's expiry and
    scope, its person, and the scopes the person currently allows its app (None when not read with it)."""

    id: int
    user_id: int | None
    application_id: int
    access_token_id: int
    token_family: uuid.UUID | None
    resource: list[str]  # RFC 8707, as django-oauth-toolkit reads it from the refresh token
    access_token_expires: datetime
    access_token_scope: str
    user: User | None
    consented_scopes: frozenset[str] | None

    @property
    def pk(self) -> int:
        return self.id

    def model_instance(self) -> Any:
        """The row as django-oauth-toolkit's model with its access token (one query), for its own code."""
        return RefreshToken.objects.select_related("access_token").get(pk=self.id)


def _quoted(connection: BaseDatabaseWrapper, model: type[models.Model], field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


# The consents of the token's person to its app come with the token, as one space-separated string
# (scopes have no spaces): the aggregate of each database HanoiSmart runs on.
_SCOPE_AGGREGATES = {"postgresql": "string_agg({}, ' ')", "sqlite": "group_concat({}, ' ')"}


@functools.cache
def _live_refresh_sql(alias: str, *, with_app: bool = False) -> tuple[str, bool]:
    """The statement, and whether it reads the consents too (one parameter more, before the checksum).

    ``with_app``: the app's version columns first, from the app with the client ID given after the checksum,
    and the token's columns (NULL when there is no such token) after them."""
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
    refresh_table, access_table = quote(RefreshToken._meta.db_table), quote(AccessToken._meta.db_table)
    joins = (
        f" JOIN {access_table} {at} ON {at}.{at_pk} = {rt}.{rt_access}"
        f" LEFT JOIN {quote(User._meta.db_table)} {u} ON {u}.{u_pk} = {rt}.{rt_user}"
    )
    if with_app:
        meta = ClientApp._meta
        version = ", ".join(f"app.{quote(meta.get_field(name).column)}" for name in _VERSION_COLUMNS)
        sql = (
            f"SELECT {version}, {select} FROM {quote(meta.db_table)} app"  # noqa: S608 - names from _meta
            f" LEFT JOIN ({refresh_table} {rt}{joins})"
            f" ON {rt}.{checksum} = %s AND {rt}.{revoked} IS NULL"
            f" WHERE app.{quote(meta.get_field('client_id').column)} = %s LIMIT 1"
        )
    else:
        sql = (
            f"SELECT {select} FROM {refresh_table} {rt}{joins}"  # noqa: S608 - names from _meta
            f" WHERE {rt}.{checksum} = %s AND {rt}.{revoked} IS NULL LIMIT 1"
        )
    return sql, aggregate is not None


def refresh_token_live(checksum: str) -> LiveRefreshToken | None:
    """The unrevoked refresh token with this checksum, with its access token's expiry and scope, its person
    and the consents in force, in one query; None when there is none, or when it has lost its access token.

    ``consented_scopes`` is None when the database cannot say in the same query (then ask
    ``consents_granted``)."""
    alias = router.db_for_read(RefreshToken)
    sql, with_consents = _live_refresh_sql(alias)
    cursor = kept_cursor(alias)
    cursor.execute(sql, [True, checksum] if with_consents else [checksum])
    row = cursor.fetchone()
    return None if row is None else _live_from_row(row, connections[alias], with_consents)


def client_app_and_refresh_token(
    client_id: str, checksum: str
) -> tuple[ClientApp | None, LiveRefreshToken | None]:
    """``client_app_for_token(client_id)`` and ``refresh_token_live(checksum)`` in one query: a refresh
    presents both at once."""
    alias = router.db_for_read(RefreshToken)
    sql, with_consents = _live_refresh_sql(alias, with_app=True)
    cursor = kept_cursor(alias)
    try:
        cursor.execute(sql, [True, checksum, client_id] if with_consents else [checksum, client_id])
    except (ValueError, DataError):  # a client ID the database cannot represent (a NUL byte): no such app
        return None, None
    row = cursor.fetchone()
    if row is None:
        return None, None
    versions = len(_VERSION_COLUMNS)
    app = _app_of_version(client_id, tuple(row[:versions]))
    # No token: every column of the outer join is NULL, its primary key first.
    live = (
        None if row[versions] is None else _live_from_row(row[versions:], connections[alias], with_consents)
    )
    return app, live


def _live_from_row(
    row: Sequence[Any], connection: BaseDatabaseWrapper, with_consents: bool
) -> LiveRefreshToken:
    split, user_start = len(_live_refresh), len(_live_refresh) + len(_live_access)
    user_end = user_start + len(_live_user)
    token_id, user_id, application_id, access_token_id, token_family, resource = _live_refresh.convert(
        row[:split], connection
    )
    expires, scope = _live_access.convert(row[split:user_start], connection)
    return LiveRefreshToken(
        id=token_id,
        user_id=user_id,
        application_id=application_id,
        access_token_id=access_token_id,
        token_family=token_family,
        resource=resource,
        access_token_expires=expires,
        access_token_scope=scope,
        user=_live_user.instance(row[user_start:user_end], connection) if user_id is not None else None,
        consented_scopes=frozenset((row[user_end] or "").split()) if with_consents else None,
    )


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
    cursor = kept_cursor(alias)
    cursor.execute(_consents_sql(alias), [user_id, app_id, True])
    return {scope for (scope,) in cursor.fetchall()}


def token_columns(raw_token: str) -> dict[str, str]:
    """The ``token`` and ``token_checksum`` columns of a new access or refresh token, as django-oauth-toolkit
    stores them (``set_token_value`` and ``TokenChecksumField``): the SHA-256 of the raw token, by which it
    is looked up, and the raw token itself only when tokens are not kept hashed at rest
    (``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``)."""
    return {
        "token": "" if oauth2_settings.COMPLIANT_BCP_RFC9700_TOKEN_STORAGE else raw_token,
        "token_checksum": hashlib.sha256(raw_token.encode("utf-8")).hexdigest(),
    }


@dataclass(frozen=True)
class Rotation:
    """The rows a refresh writes beside revoking the old token: the new access and refresh tokens' values
    (by attribute name, without the columns that point at rows of the same write), the ID token's (None when
    none was signed), the data releases' and the audit events."""

    access_token: dict[str, Any]
    refresh_token: dict[str, Any]
    id_token: dict[str, Any] | None
    releases: Sequence[dict[str, Any]]
    audit_events: Sequence[AuditEvent]


@functools.cache
def _revoke_sql(alias: str) -> tuple[str, str]:
    """The revoking UPDATE and the DELETE of the old access token."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = ("revoked", "updated", "access_token", "id", "revoked")
    revoke = "UPDATE {} SET {} = %s, {} = %s, {} = NULL WHERE {} = %s AND {} IS NULL".format(  # noqa: S608
        quote(RefreshToken._meta.db_table), *(_quoted(connection, RefreshToken, f) for f in columns)
    )
    table, pk = quote(AccessToken._meta.db_table), quote(AccessToken._meta.pk.column)
    delete = f"DELETE FROM {table} WHERE {pk} = %s"  # noqa: S608 - names from _meta
    return revoke, delete


def refresh_token_rotate(*, previous: LiveRefreshToken, now: datetime, rotation: Rotation) -> bool:
    """Revoke ``previous`` and delete its access token, and write ``rotation``'s rows (the new access token
    points at ``previous`` and at the ID token, the new refresh token at the access token); unless
    ``previous`` was revoked meanwhile (used twice at once, or revoked by the resident): False then, and
    nothing is written.

    On PostgreSQL it is one statement, atomic by itself: a data-modifying WITH whose inserts select from the
    revoking UPDATE's result, so they write only when it revoked the token (the foreign keys are checked at
    commit: Django makes them DEFERRABLE INITIALLY DEFERRED). Elsewhere, a few statements to run in a
    transaction. The refresh token just revoked was the only row pointing at its access token (one-to-one),
    so the delete needs none of the ORM's collecting of related rows."""
    alias = router.db_for_write(RefreshToken)
    connection = connections[alias]
    revoke, delete = _revoke_sql(alias)
    stamp = RefreshToken._meta.get_field("revoked").get_db_prep_save(now, connection=connection)
    cursor = kept_cursor(alias)
    if connection.vendor == "postgresql":
        sql, params = _rotation_statement(connection, revoke, delete, rotation)
        cursor.execute(sql, [stamp, stamp, previous.id, previous.access_token_id, *params])
        return cursor.fetchone()[0] == 1
    with transaction.atomic(using=alias, savepoint=False):
        cursor.execute(revoke, [stamp, stamp, previous.id])
        if cursor.rowcount != 1:
            return False
        cursor.execute(delete, [previous.access_token_id])
        id_token_id = None
        if rotation.id_token is not None:
            id_token_id = _insert_returning_pk(cursor, connection, _id_token_row, rotation.id_token)
        values = {**rotation.access_token, "source_refresh_token_id": previous.id, "id_token_id": id_token_id}
        access_token_id = _insert_returning_pk(cursor, connection, _access_row, values)
        values = {**rotation.refresh_token, "access_token_id": access_token_id}
        cursor.execute(_refresh_row.sql(connection), _refresh_row.params(connection, values))
        for release in rotation.releases:
            cursor.execute(_release_row.sql(connection), _release_row.params(connection, release))
        audit_events_record(rotation.audit_events)
    return True


def access_token_issue(*, access_token: dict[str, Any], audit_events: Sequence[AuditEvent]) -> None:
    """Write a new access token alone (the client-credentials grant: no refresh token, no ID token) from its
    values by attribute name, and its audit events: one statement on PostgreSQL (a data-modifying WITH,
    atomic by itself), two in a transaction elsewhere."""
    alias = router.db_for_write(AccessToken)
    connection = connections[alias]
    cursor = kept_cursor(alias)
    if connection.vendor == "postgresql":
        parts = [f"new_access AS ({_access_row.sql(connection, returning_pk=True)})"]
        params = _access_row.params(connection, access_token)
        for index, (sql, event_params) in enumerate(
            audit_events_statements(audit_events, alias=alias, source="new_access")
        ):
            parts.append(f"audit_{index} AS ({sql})")
            params += event_params
        cursor.execute("WITH " + ", ".join(parts) + " SELECT 1", params)
        return
    with transaction.atomic(using=alias, savepoint=False):
        cursor.execute(_access_row.sql(connection), _access_row.params(connection, access_token))
        audit_events_record(audit_events)


def _insert_returning_pk(cursor: Any, connection: BaseDatabaseWrapper, row: RowInsert, values: dict) -> int:
    returns = connection.features.can_return_columns_from_insert
    cursor.execute(row.sql(connection, returning_pk=returns), row.params(connection, values))
    if returns:
        return cursor.fetchone()[0]
    meta = row.model._meta
    return connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)


def _rotation_statement(
    connection: BaseDatabaseWrapper, revoke: str, delete: str, rotation: Rotation
) -> tuple[str, list[Any]]:
    """The PostgreSQL statement of ``refresh_token_rotate`` and its parameters after the revoking UPDATE's
    and the DELETE's.

    The new rows take their person, app, family and time from the revoked row (the UPDATE returns them):
    the same values as the rotation's, in fewer parameters, which keeps the statement within what psycopg
    caches the parsing of (50 parameters). The text depends only on the rotation's shape (an ID token or
    not, how many releases and audit events): it is made once per shape."""
    computed = _rotation_computed(connection.alias)
    params: list[Any] = []
    if rotation.id_token is not None:
        params += _id_token_row.params(connection, rotation.id_token, computed=computed.id_token)
    params += _access_row.params(connection, rotation.access_token, computed=computed.access)
    params += _refresh_row.params(connection, rotation.refresh_token, computed=computed.refresh)
    for release in rotation.releases:
        params += _release_row.params(connection, release, computed=computed.release)
    audit = audit_events_statements(rotation.audit_events, alias=connection.alias, source="revoked")
    for _sql, event_params in audit:
        params += event_params
    sql = _rotation_sql(
        connection.alias,
        revoke,
        delete,
        rotation.id_token is not None,
        len(rotation.releases),
        tuple(sql for sql, _params in audit),
    )
    return sql, params


@dataclass(frozen=True)
class _RotationComputed:
    """The columns of the rotation's new rows that take an SQL expression (from the revoked row, or another
    new row) instead of a parameter."""

    id_token: dict[str, str]
    access: dict[str, str]
    refresh: dict[str, str]
    release: dict[str, str]


@functools.cache
def _rotation_computed(alias: str) -> _RotationComputed:
    connection = connections[alias]
    quote = connection.ops.quote_name
    at_pk = quote(AccessToken._meta.pk.column)
    old = {f: f"revoked.{_quoted(connection, RefreshToken, f)}" for f in _RETURNED}
    owner = {"user_id": old["user"], "application_id": old["application"]}
    stamps = {"created": old["revoked"], "updated": old["revoked"]}
    return _RotationComputed(
        id_token={**owner, **stamps},
        # id_token_id: replaced by the new ID token's key when there is one (_rotation_sql)
        access={**owner, **stamps, "source_refresh_token_id": old["id"], "id_token_id": "NULL"},
        refresh={
            **owner,
            **stamps,
            "token_family": old["token_family"],
            "access_token_id": f"new_access.{at_pk}",
            "revoked": "NULL",
        },
        release={"user_id": old["user"], "app_id": old["application"], "released_at": old["revoked"]},
    )


@functools.lru_cache(maxsize=64)
def _rotation_sql(
    alias: str, revoke: str, delete: str, with_id_token: bool, releases: int, audit: tuple[str, ...]
) -> str:
    """The text of ``_rotation_statement``'s statement for one shape of rotation."""
    connection = connections[alias]
    computed = _rotation_computed(alias)
    quote = connection.ops.quote_name
    at_pk = quote(AccessToken._meta.pk.column)
    # Every name below comes from _meta or from this code.
    returned = ", ".join(_quoted(connection, RefreshToken, f) for f in _RETURNED)
    parts = [
        f"revoked AS ({revoke} RETURNING {returned})",
        f"deleted AS ({delete} AND EXISTS (SELECT 1 FROM revoked) RETURNING {at_pk})",  # noqa: S608
    ]
    access_computed = computed.access
    if with_id_token:
        id_token = _id_token_row.sql(
            connection, computed=computed.id_token, source="revoked", returning_pk=True
        )
        parts.append(f"new_id_token AS ({id_token})")
        new_id_token = f"(SELECT {quote(IDToken._meta.pk.column)} FROM new_id_token)"  # noqa: S608
        access_computed = {**access_computed, "id_token_id": new_id_token}
    access = _access_row.sql(connection, computed=access_computed, source="revoked", returning_pk=True)
    parts.append(f"new_access AS ({access})")
    refresh = _refresh_row.sql(connection, computed=computed.refresh, source="revoked, new_access")
    parts.append(f"new_refresh AS ({refresh})")
    release = _release_row.sql(connection, computed=computed.release, source="revoked")
    parts += [f"release_{index} AS ({release})" for index in range(releases)]
    parts += [f"audit_{index} AS ({sql})" for index, sql in enumerate(audit)]
    return "WITH " + ", ".join(parts) + " SELECT count(*) FROM revoked"  # noqa: S608


# What the revoking UPDATE returns on PostgreSQL, for the new rows.
_RETURNED = ("id", "user", "application", "token_family", "revoked")
