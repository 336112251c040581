"""Writes of the OpenID Connect provider: a resident's consent to an app, its revocation, and the record of
every time an app received a person's data.

Rules: a resident decides per app and per data item (scope); a remembered decision holds until revoked.
Revoking an app's consent ends its access at once: every access, refresh and ID token the app holds for that
person, and any unused authorization code, is deleted or revoked in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_event_build, audit_events_record, audit_record
from hanoismart.common.errors import InvalidInput, NotAuthenticated
from hanoismart.identity.models import ClientApp, Consent, DataRelease, ReleaseChannel, User
from hanoismart.identity.token_path import data_release_insert

_RELEASE_CHANNELS = frozenset(ReleaseChannel.values)  # the enum's property makes a new list each time


def _require_signed_in(actor: Any) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotAuthenticated(_("Sign in to use this."))


def _scope_list(scopes: Iterable[str]) -> list[str]:
    return sorted({scope for scope in scopes if scope})


@transaction.atomic
def consent_record(
    *,
    actor: User,
    app: ClientApp,
    granted_scopes: Iterable[str],
    denied_scopes: Iterable[str] = (),
    ip: str | None = None,
) -> list[Consent]:
    """Remember the resident's decision on each data item the app asked for (granted or denied).

    Only scopes the app registered (``ClientScope``) can be decided; a required item cannot be denied while
    others are granted (the consent screen offers only optional items to untick). Audited.
    """
    _require_signed_in(actor)
    granted, denied = _scope_list(granted_scopes), _scope_list(denied_scopes)
    if set(granted) & set(denied):
        raise InvalidInput(_("A data item cannot be both allowed and refused."), code="consent_conflict")
    registered = {cs.scope: cs for cs in app.client_scopes.all()}
    unknown = [scope for scope in granted + denied if scope not in registered]
    if unknown:
        raise InvalidInput(
            _("This app did not register these data items: %(scopes)s.") % {"scopes": ", ".join(unknown)},
            code="scope_not_registered",
        )
    required_denied = [scope for scope in denied if not registered[scope].is_optional]
    if required_denied:
        raise InvalidInput(
            _("These data items are required by the app: %(scopes)s.")
            % {"scopes": ", ".join(required_denied)},
            code="required_scope_denied",
        )
    now = timezone.now()
    consents = []
    for scope, is_granted in [(s, True) for s in granted] + [(s, False) for s in denied]:
        consent, _created = Consent.objects.update_or_create(
            user=actor,
            app=app,
            scope=scope,
            defaults={"granted": is_granted, "decided_at": now, "revoked_at": None},
        )
        consents.append(consent)
    audit_record(
        actor=actor,
        action="identity.oidc.consent_recorded",
        obj=app,
        subject=actor,
        ip=ip,
        details={"client_id": app.client_id, "granted": granted, "denied": denied},
    )
    return consents


@transaction.atomic
def consent_revoke(*, actor: User, app: ClientApp, ip: str | None = None) -> int:
    """Withdraw every consent the resident gave the app and end its access at once (tokens and codes).

    Returns how many tokens were ended. The consent rows stay, marked revoked, for the resident's history.
    """
    _require_signed_in(actor)
    now = timezone.now()
    revoked = Consent.objects.filter(user=actor, app=app, revoked_at__isnull=True).update(revoked_at=now)
    ended = tokens_end(user=actor, app=app)
    audit_record(
        actor=actor,
        action="identity.oidc.consent_revoked",
        obj=app,
        subject=actor,
        ip=ip,
        details={"client_id": app.client_id, "consents": revoked, "tokens": ended},
    )
    return ended


def tokens_end(*, user: User, app: ClientApp) -> int:
    """Revoke the refresh tokens, and delete the access tokens, ID tokens and unused codes, that ``app``
    holds for ``user``. Returns how many access and refresh tokens were ended. Callers audit."""
    now = timezone.now()
    refresh_tokens = get_refresh_token_model().objects.filter(
        user=user, application=app, revoked__isnull=True
    )
    ended = refresh_tokens.update(revoked=now)
    ended += (
        get_access_token_model()
        .objects.filter(user=user, application=app)
        .delete()[1]
        .get(get_access_token_model()._meta.label, 0)
    )
    get_id_token_model().objects.filter(user=user, application=app).delete()
    get_grant_model().objects.filter(user=user, application=app).delete()
    return ended


@dataclass(frozen=True)
class Release:
    """What one channel of a response gives an app: the scopes, the claims they became, the channel."""

    scopes: Iterable[str]
    claims: Iterable[str]
    channel: str


def _release_rows(*, user: User, app: ClientApp, releases: Sequence[Release]) -> list[dict[str, Any]]:
    """The release rows (``DataRelease``'s values by attribute name)."""
    now = timezone.now()
    rows = []
    for release in releases:
        if release.channel not in _RELEASE_CHANNELS:
            raise ValueError(f"unknown release channel {release.channel!r}")
        rows.append(
            {
                "user_id": user.pk,
                "app_id": app.pk,
                "scopes": _scope_list(release.scopes),
                "claims": _scope_list(release.claims),
                "released_at": now,
                "channel": release.channel,
            }
        )
    return rows


def _release_events(*, user: User, app: ClientApp, rows: Sequence[dict[str, Any]]) -> list[AuditEvent]:
    """The audit event of each release row."""
    return [
        audit_event_build(
            actor=None,
            actor_role="app",
            action="identity.oidc.data_released",
            obj=app,
            subject=user,
            details={
                "client_id": app.client_id,
                "scopes": row["scopes"],
                "claims": row["claims"],
                "channel": row["channel"],
            },
        )
        for row in rows
    ]


def _data_releases_insert(
    *, user: User, app: ClientApp, releases: Sequence[Release]
) -> tuple[list[DataRelease], list[AuditEvent]]:
    """Insert the release rows; return them and their audit events (one each), for the caller to record."""
    values = _release_rows(user=user, app=app, releases=releases)
    return _release_rows_insert(values), _release_events(user=user, app=app, rows=values)


def _release_rows_insert(values: Sequence[dict[str, Any]]) -> list[DataRelease]:
    rows = [DataRelease(**row) for row in values]
    if len(rows) == 1:
        data_release_insert(rows[0])  # the common case, without compiling an INSERT each time
    elif rows:
        DataRelease.objects.bulk_create(rows)
    return rows


def data_releases_record(*, user: User, app: ClientApp, releases: Sequence[Release]) -> list[DataRelease]:
    """Record (and audit, one event each) that ``app`` received ``user``'s data through each of ``releases``:
    the history residents see. Called by the provider inside the userinfo response, in its transaction when
    it has one (no savepoint: a failure there fails the response)."""
    with transaction.atomic(savepoint=False):
        rows, events = _data_releases_insert(user=user, app=app, releases=releases)
        audit_events_record(events)
    return rows


@dataclass(frozen=True)
class TokenIssuedRecords:
    """What a token response records: the release rows (``DataRelease``'s values by attribute name) and the
    audit events (the grant's, then one per release)."""

    releases: list[dict[str, Any]]
    audit_events: list[AuditEvent]


def token_issued_records(
    *,
    app: ClientApp,
    user: User | None,
    grant_type: str,
    scopes: Iterable[str],
    releases: Sequence[Release] = (),
) -> TokenIssuedRecords:
    """``token_issued_record``'s rows, built but not written: for the provider to write them in the very
    statement that saves the tokens (``token_path.refresh_token_rotate``)."""
    if releases and user is None:
        raise ValueError("a release needs the person whose data it is")
    events = [
        audit_event_build(
            actor=user,
            actor_role="" if user else "app",
            action="identity.oidc.token_issued",
            obj=app,
            subject=user,
            details={"client_id": app.client_id, "grant_type": grant_type, "scopes": _scope_list(scopes)},
        )
    ]
    rows: list[dict[str, Any]] = []
    if user is not None and releases:
        rows = _release_rows(user=user, app=app, releases=releases)
        events += _release_events(user=user, app=app, rows=rows)
    return TokenIssuedRecords(releases=rows, audit_events=events)


def token_issued_record(
    *,
    app: ClientApp,
    user: User | None,
    grant_type: str,
    scopes: Iterable[str],
    releases: Sequence[Release] = (),
) -> None:
    """Audit a token response (``identity.oidc.token_issued``: the app, the grant type, the scopes) and record
    what it releases about ``user`` (audited too, one event each), with the audit events in one INSERT.
    Called by the provider inside the token request's transaction, once the tokens are saved."""
    records = token_issued_records(
        app=app, user=user, grant_type=grant_type, scopes=scopes, releases=releases
    )
    with transaction.atomic(savepoint=False):
        _release_rows_insert(records.releases)
        audit_events_record(records.audit_events)


def data_release_record(
    *,
    user: User,
    app: ClientApp,
    scopes: Iterable[str],
    claims: Iterable[str],
    channel: str,
) -> DataRelease:
    """Record (and audit) that ``app`` received ``user``'s data for ``scopes`` through ``channel``."""
    return data_releases_record(
        user=user, app=app, releases=[Release(scopes=scopes, claims=claims, channel=channel)]
    )[0]
