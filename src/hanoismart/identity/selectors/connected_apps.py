"""Reads behind "Connected apps" on the account page: the apps a resident allowed, what each may receive and
why, and every time each received the resident's data."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils.translation import gettext as _

from hanoismart.identity.models import ClientApp, ClientScope, Consent, DataRelease
from hanoismart.identity.selectors.oidc import connected_apps_for, data_releases_for


@dataclass
class GrantedItem:
    """One data item a resident allows an app, with the purpose the app stated."""

    scope: str
    label: str
    purpose: str


@dataclass
class ConnectedApp:
    """An app as the resident sees it under "Connected apps"."""

    app: ClientApp
    items: list[GrantedItem] = field(default_factory=list)
    refused: list[GrantedItem] = field(default_factory=list)
    first_connected_at: dt.datetime | None = None
    last_decided_at: dt.datetime | None = None
    last_release_at: dt.datetime | None = None
    release_count: int = 0
    is_connected: bool = True

    @property
    def owner_label(self) -> str:
        return owner_label(self.app)


def owner_label(app: ClientApp) -> str:
    """Who is behind the app: its organisation, else the person who registered it, else the city."""
    if app.owner_organisation_id:
        return app.owner_organisation.name
    if app.owner_id:
        return app.owner.full_name
    return _("Hanoi People's Committee")


def scope_label(scope: str) -> str:
    """The resident-facing name of a scope (the scope itself when unknown)."""
    return str(settings.OAUTH2_PROVIDER["SCOPES"].get(scope, scope))


def scope_order(scope: str) -> tuple[int, str]:
    """Sort key: scopes in the order settings list them (``openid`` first), unknown ones last."""
    known = list(settings.OAUTH2_PROVIDER["SCOPES"])
    return (known.index(scope) if scope in known else len(known), scope)


def _items(consents: list[Consent], purposes: dict[str, str], granted: bool) -> list[GrantedItem]:
    chosen = sorted(
        (c for c in consents if c.granted is granted and c.revoked_at is None),
        key=lambda c: scope_order(c.scope),
    )
    return [
        GrantedItem(scope=c.scope, label=scope_label(c.scope), purpose=purposes.get(c.scope, ""))
        for c in chosen
    ]


def _purposes(apps: list[ClientApp]) -> dict[int, dict[str, str]]:
    by_app: dict[int, dict[str, str]] = {}
    for row in ClientScope.objects.filter(app__in=apps).values("app_id", "scope", "purpose"):
        by_app.setdefault(row["app_id"], {})[row["scope"]] = row["purpose"]
    return by_app


def _release_stats(user: Any, apps: list[ClientApp]) -> dict[int, dict[str, Any]]:
    rows = (
        DataRelease.objects.filter(user=user, app__in=apps)
        .values("app_id")
        .annotate(first=Min("released_at"), last=Max("released_at"), count=Count("pk"))
    )
    return {row["app_id"]: row for row in rows}


def connected_app_list(user: Any) -> list[ConnectedApp]:
    """The apps the resident currently allows something, most recently decided first (a fixed number of
    queries whatever the number of apps)."""
    apps = list(connected_apps_for(user))
    if not apps:
        return []
    purposes = _purposes(apps)
    stats = _release_stats(user, apps)
    first_decisions = dict(
        Consent.objects.filter(user=user, app__in=apps)
        .values("app_id")
        .annotate(first=Min("decided_at"))
        .values_list("app_id", "first")
    )
    result = []
    for app in apps:
        consents = app.active_consents  # prefetched by connected_apps_for: active decisions only
        row = stats.get(app.pk, {})
        first = min(filter(None, [row.get("first"), first_decisions.get(app.pk)]), default=None)
        result.append(
            ConnectedApp(
                app=app,
                items=_items(consents, purposes.get(app.pk, {}), True),
                refused=_items(consents, purposes.get(app.pk, {}), False),
                first_connected_at=first,
                last_decided_at=app.consented_at,
                last_release_at=row.get("last"),
                release_count=row.get("count", 0),
            )
        )
    return result


def connected_app_detail(user: Any, public_id: uuid.UUID | str) -> ConnectedApp | None:
    """One app the resident allowed now or before (or that received their data), else None."""
    if user is None or not user.is_authenticated:
        return None
    app = (
        ClientApp.objects.filter(public_id=public_id)
        .filter(Q(consents__user=user) | Q(data_releases__user=user))
        .select_related("owner", "owner_organisation")
        .distinct()
        .first()
    )
    if app is None:
        return None
    consents = list(Consent.objects.filter(user=user, app=app).order_by("scope"))
    purposes = _purposes([app]).get(app.pk, {})
    row = _release_stats(user, [app]).get(app.pk, {})
    decided = [c.decided_at for c in consents]
    first = min(filter(None, [row.get("first"), min(decided, default=None)]), default=None)
    items = _items(consents, purposes, True)
    return ConnectedApp(
        app=app,
        items=items,
        refused=_items(consents, purposes, False),
        first_connected_at=first,
        last_decided_at=max(decided, default=None),
        last_release_at=row.get("last"),
        release_count=row.get("count", 0),
        is_connected=bool(items),
    )


def connected_app_history(user: Any, app: ClientApp) -> QuerySet[DataRelease]:
    """Every time ``app`` received the resident's data, newest first."""
    return data_releases_for(user, app)
