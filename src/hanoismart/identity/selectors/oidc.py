"""Reads of the OpenID Connect provider: the apps a resident connected, their consents and data history."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Prefetch, QuerySet

from hanoismart.identity.models import ClientApp, ClientAppStatus, ClientScope, Consent, DataRelease


def app_by_client_id(client_id: str) -> ClientApp | None:
    """The app with this client ID, whatever its status (None when there is none)."""
    return ClientApp.objects.filter(client_id=client_id).select_related("owner", "owner_organisation").first()


def app_scopes(app: ClientApp) -> dict[str, ClientScope]:
    """The scopes the app registered, by name, with their stated purpose (read once per app instance)."""
    scopes = app.__dict__.get("_registered_scopes")
    if scopes is None:
        scopes = app.__dict__["_registered_scopes"] = {
            cs.scope: cs for cs in ClientScope.objects.filter(app=app)
        }
    return scopes


def consents_active(user: Any, app: ClientApp) -> dict[str, bool]:
    """The resident's remembered (not revoked) decisions for the app: scope → granted."""
    if user is None or not user.is_authenticated:
        return {}
    rows = Consent.objects.filter(user=user, app=app, revoked_at__isnull=True).values_list("scope", "granted")
    return dict(rows)


def granted_scopes(user: Any, app: ClientApp) -> set[str]:
    """The scopes the resident currently allows the app."""
    return {scope for scope, granted in consents_active(user, app).items() if granted}


def connected_apps_for(user: Any) -> QuerySet[ClientApp]:
    """The apps the resident allows something, each with ``active_consents`` (their remembered decisions, by
    scope) and ``consented_at`` (the latest decision); most recent first."""
    if user is None or not user.is_authenticated:
        return ClientApp.objects.none()
    active = Consent.objects.filter(user=user, revoked_at__isnull=True).order_by("scope")
    return (
        ClientApp.objects.filter(
            consents__user=user, consents__revoked_at__isnull=True, consents__granted=True
        )
        .distinct()
        .select_related("owner", "owner_organisation")
        .prefetch_related(Prefetch("consents", queryset=active, to_attr="active_consents"))
        .annotate(consented_at=Max("consents__decided_at"))
        .order_by("-consented_at", "pk")
    )


def data_releases_for(user: Any, app: ClientApp | None = None) -> QuerySet[DataRelease]:
    """Every time an app (or the given one) received the resident's data, newest first."""
    if user is None or not user.is_authenticated:
        return DataRelease.objects.none()
    releases = DataRelease.objects.filter(user=user).select_related("app")
    if app is not None:
        releases = releases.filter(app=app)
    return releases.order_by("-released_at", "-pk")


def apps_approved() -> QuerySet[ClientApp]:
    """The approved apps, by name (the public app list)."""
    return ClientApp.objects.filter(status=ClientAppStatus.APPROVED).order_by("name", "pk")
