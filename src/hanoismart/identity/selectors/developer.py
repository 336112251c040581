"""Reads of the developer portal: the apps a person manages, the review queue, the scopes apps may ask for."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from hanoismart.identity.models import AssuranceLevel, ClientApp, ClientAppStatus, Organisation
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.selectors.organisations import organisations_of

# Scopes for agency systems only: registered by operators, never offered in the portal.
DEVELOPER_SCOPES_EXCLUDED = frozenset({"introspection"})


def developer_scopes() -> list[tuple[str, str]]:
    """The scopes an app registered in the portal may ask for, with their labels, in settings' order."""
    return [
        (scope, str(label))
        for scope, label in settings.OAUTH2_PROVIDER["SCOPES"].items()
        if scope not in DEVELOPER_SCOPES_EXCLUDED
    ]


def _managed_filter(user: Any) -> Q:
    return Q(owner=user) | Q(owner_organisation__memberships__user=user)


def client_apps_managed_by(user: Any) -> QuerySet[ClientApp]:
    """The apps ``user`` owns or manages for an organisation they act for, newest first."""
    if user is None or not user.is_authenticated:
        return ClientApp.objects.none()
    ids = ClientApp.objects.filter(_managed_filter(user)).values("pk")
    return (
        ClientApp.objects.filter(pk__in=ids)
        .select_related("owner", "owner_organisation")
        .prefetch_related("client_scopes")
        .order_by("-created_at", "-pk")
    )


def client_app_managed_by(user: Any, public_id: uuid.UUID | str) -> ClientApp | None:
    """One app ``user`` manages, by its public ID (None when there is none, or it is someone else's)."""
    return client_apps_managed_by(user).filter(public_id=public_id).first()


def client_app_is_managed_by(app: ClientApp, user: Any) -> bool:
    """Whether ``user`` owns ``app`` or acts for the organisation that owns it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if app.owner_id is not None and app.owner_id == user.pk:
        return True
    return app.owner_organisation_id is not None and (
        Organisation.objects.filter(pk=app.owner_organisation_id, memberships__user=user).exists()
    )


def developer_organisations(user: Any) -> QuerySet[Organisation]:
    """The organisations in whose name ``user`` may register apps."""
    return organisations_of(user)


def developer_may_register(user: Any) -> bool:
    """Whether ``user`` may register an app at all: verified (level 1+), or acting for an organisation."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.assurance_level >= AssuranceLevel.LEVEL_1 or developer_organisations(user).exists()


def client_apps_for_review(*, actor: Any, status: str = ClientAppStatus.IN_REVIEW) -> QuerySet[ClientApp]:
    """Apps with ``status`` for an operator who reviews apps (none for anyone else), oldest first."""
    if not has_permission(actor, IdentityPermission.IDENTITY_APP_REVIEW):
        return ClientApp.objects.none()
    return (
        ClientApp.objects.filter(status=status)
        .select_related("owner", "owner_organisation", "reviewed_by")
        .prefetch_related("client_scopes")
        .order_by("created_at", "pk")
    )


def client_app_for_review(*, actor: Any, public_id: uuid.UUID | str) -> ClientApp | None:
    """One app, whatever its status, for an operator who reviews apps (None for anyone else)."""
    if not has_permission(actor, IdentityPermission.IDENTITY_APP_REVIEW):
        return None
    return (
        ClientApp.objects.filter(public_id=public_id)
        .select_related("owner", "owner_organisation", "reviewed_by")
        .prefetch_related("client_scopes")
        .first()
    )


def client_apps_public() -> QuerySet[ClientApp]:
    """The approved apps residents can sign in to (machine clients left out), with their owners, by name."""
    return (
        ClientApp.objects.filter(
            status=ClientAppStatus.APPROVED, authorization_grant_type=ClientApp.GRANT_AUTHORIZATION_CODE
        )
        .select_related("owner", "owner_organisation")
        .order_by("name", "pk")
    )
