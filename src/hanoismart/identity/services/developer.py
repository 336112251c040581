"""Writes of the developer portal: register an app, change it, review it (operators), rotate its secret.

Rules:

- Any verified account (assurance level 1 or more) registers apps in its own name; anyone who acts for an
  organisation registers apps in the organisation's name. An app starts ``in_review`` and cannot sign anyone
  in until an operator (``identity:app:review``) approves it; a rejection carries a reason. An operator never
  reviews an app they manage themselves.
- Redirect URIs match exactly and are https, except on loopback (``identity.redirect_uris``). Each requested
  scope states its purpose; ``openid`` is always requested and never optional.
- A change that widens what an approved app can do or changes what residents see on the consent screen (a new
  redirect URI, a new scope, a new or changed purpose, an optional item made required, a new name or logo)
  sends it back to review, and the app stops signing people in until it is approved again. Narrowing
  changes (removing a redirect URI or a scope, making an item optional) and a new description or
  privacy-policy URL keep it approved. Editing a rejected app resubmits it; a suspended app cannot be edited.
- The client secret exists only hashed (django-oauth-toolkit's ``ClientSecretField``). A new app gets a random
  secret nobody ever sees; once a confidential app is approved its manager creates the real one with
  ``client_app_secret_rotate``, which returns it in plain text exactly once; the previous secret stops working
  at once. Tokens already issued stay valid until they expire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from hanoismart.identity.models import (
    AssuranceLevel,
    ClientApp,
    ClientAppStatus,
    ClientScope,
    Organisation,
    User,
)
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.redirect_uris import redirect_uri_problems
from hanoismart.identity.selectors.developer import (
    DEVELOPER_SCOPES_EXCLUDED,
    client_app_is_managed_by,
)
from hanoismart.identity.selectors.organisations import acting_as

CLIENT_TYPES = (ClientApp.CLIENT_CONFIDENTIAL, ClientApp.CLIENT_PUBLIC)
REVIEW_DECISIONS = ("approve", "reject")
NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 2000
PURPOSE_MAX_LENGTH = 300
REDIRECT_URIS_MAX = 10
REASON_MAX_LENGTH = 2000


@dataclass(frozen=True)
class ScopeRequest:
    """One data item (scope) an app asks for, the purpose it tells residents, whether they may refuse it."""

    scope: str
    purpose: str
    is_optional: bool = False


def _require_signed_in(actor: Any) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotAuthenticated(_("Sign in to use this."))


def _require_may_register(actor: Any, organisation: Organisation | None) -> None:
    _require_signed_in(actor)
    if organisation is not None:
        if not acting_as(actor, organisation):
            raise PermissionDenied(_("You do not act for this organisation."))
        return
    if actor.assurance_level < AssuranceLevel.LEVEL_1:
        raise PermissionDenied(
            _("Verify your identity on your account page before you register an app in your own name."),
            code="verification_required",
        )


def _require_manager(actor: Any, app: ClientApp) -> None:
    _require_signed_in(actor)
    if not client_app_is_managed_by(app, actor):
        raise PermissionDenied(_("Only the app's owner (or its organisation) can change it."))


def _https_url_problem(value: str, *, required: bool) -> str | None:
    if not value:
        return _("This field is required.") if required else None
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        return _("Enter a full https:// address.")
    if len(value) > 200:
        return _("The address is too long (200 characters at most).")
    return None


def _clean_redirect_uris(uris: Iterable[str]) -> tuple[list[str], list[str]]:
    cleaned: list[str] = []
    for uri in (u.strip() for u in uris):
        if uri and uri not in cleaned:
            cleaned.append(uri)
    problems = [problem for uri in cleaned for problem in redirect_uri_problems(uri)]
    if not cleaned:
        problems.append(_("Register at least one redirect URI."))
    elif len(cleaned) > REDIRECT_URIS_MAX:
        problems.append(_("Register %(count)d redirect URIs at most.") % {"count": REDIRECT_URIS_MAX})
    return cleaned, problems


def _clean_scopes(scopes: Iterable[ScopeRequest]) -> tuple[list[ScopeRequest], dict[str, list[str]]]:
    known = settings.OAUTH2_PROVIDER["SCOPES"]
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, ScopeRequest] = {}
    for item in scopes:
        scope, purpose = item.scope.strip(), " ".join(item.purpose.split())
        if scope not in known or scope in DEVELOPER_SCOPES_EXCLUDED:
            errors.setdefault("scopes", []).append(
                _("“%(scope)s” is not a scope apps can ask for.") % {"scope": scope}
            )
            continue
        if not purpose:
            errors.setdefault(f"purpose:{scope}", []).append(_("Tell residents why the app needs this item."))
        elif len(purpose) > PURPOSE_MAX_LENGTH:
            errors.setdefault(f"purpose:{scope}", []).append(
                _("Keep the purpose short (%(count)d characters at most).") % {"count": PURPOSE_MAX_LENGTH}
            )
        # "openid" is the sign-in itself: a resident cannot untick it.
        cleaned[scope] = ScopeRequest(scope, purpose, item.is_optional and scope != "openid")
    if "openid" not in cleaned:
        errors.setdefault("scopes", []).append(_("Every app asks for “openid”: it is the sign-in itself."))
    return list(cleaned.values()), errors


def _clean_details(
    *,
    name: str,
    description: str,
    logo_url: str,
    privacy_policy_url: str,
    redirect_uris: Iterable[str],
    scopes: Iterable[ScopeRequest],
) -> tuple[dict[str, Any], list[ScopeRequest]]:
    """The registration's fields, tidied; InvalidInput with a message per field when any is wrong."""
    errors: dict[str, list[str]] = {}
    name = " ".join(name.split())
    description = description.strip()
    logo_url, privacy_policy_url = logo_url.strip(), privacy_policy_url.strip()
    if not name:
        errors["name"] = [_("Give the app a name.")]
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = [
            _("The name is too long (%(count)d characters at most).") % {"count": NAME_MAX_LENGTH}
        ]
    if len(description) > DESCRIPTION_MAX_LENGTH:
        errors["description"] = [
            _("The description is too long (%(count)d characters at most).")
            % {"count": DESCRIPTION_MAX_LENGTH}
        ]
    if problem := _https_url_problem(logo_url, required=False):
        errors["logo_url"] = [problem]
    if problem := _https_url_problem(privacy_policy_url, required=True):
        errors["privacy_policy_url"] = [problem]
    uris, uri_problems = _clean_redirect_uris(redirect_uris)
    if uri_problems:
        errors["redirect_uris"] = uri_problems
    cleaned_scopes, scope_errors = _clean_scopes(scopes)
    errors.update(scope_errors)
    if errors:
        raise InvalidInput(_("Check the app's details."), code="invalid_app", details=errors)
    fields = {
        "name": name,
        "description": description,
        "logo_url": logo_url,
        "privacy_policy_url": privacy_policy_url,
        "redirect_uris": " ".join(uris),
    }
    return fields, cleaned_scopes


def _scopes_snapshot(scopes: Iterable[ScopeRequest]) -> list[dict[str, Any]]:
    return [{"scope": s.scope, "purpose": s.purpose, "optional": s.is_optional} for s in scopes]


@transaction.atomic
def client_app_register(
    *,
    actor: User,
    name: str,
    description: str,
    logo_url: str,
    privacy_policy_url: str,
    redirect_uris: Sequence[str],
    scopes: Sequence[ScopeRequest],
    client_type: str,
    organisation: Organisation | None = None,
    ip: str | None = None,
) -> ClientApp:
    """Register an app (authorization code + PKCE) in review, owned by ``actor`` or their ``organisation``.

    Needs a verified account (level 1+) for an app in one's own name, or acting for ``organisation``.
    The app gets a random client secret that nobody sees (see ``client_app_secret_rotate``). Audited.
    """
    _require_may_register(actor, organisation)
    if client_type not in CLIENT_TYPES:
        raise InvalidInput(
            _("Choose the kind of app."), code="invalid_app", details={"client_type": [_("Choose one.")]}
        )
    fields, cleaned_scopes = _clean_details(
        name=name,
        description=description,
        logo_url=logo_url,
        privacy_policy_url=privacy_policy_url,
        redirect_uris=redirect_uris,
        scopes=scopes,
    )
    app = ClientApp(
        **fields,
        client_type=client_type,
        authorization_grant_type=ClientApp.GRANT_AUTHORIZATION_CODE,
        client_secret=generate_client_secret(),  # hashed on save, never shown
        hash_client_secret=True,
        algorithm=ClientApp.RS256_ALGORITHM,
        owner=actor,
        owner_organisation=organisation,
        status=ClientAppStatus.IN_REVIEW,
    )
    try:
        app.full_clean()
    except ValidationError as error:
        raise InvalidInput(
            _("Check the app's details."), code="invalid_app", details=error.message_dict
        ) from None
    app.save()
    ClientScope.objects.bulk_create(
        ClientScope(app=app, scope=s.scope, purpose=s.purpose, is_optional=s.is_optional)
        for s in cleaned_scopes
    )
    audit_record(
        actor=actor,
        action="identity.client_app.registered",
        obj=app,
        ip=ip,
        details={
            "client_id": app.client_id,
            "name": app.name,
            "client_type": client_type,
            "organisation": organisation.tax_code if organisation else "",
            "redirect_uris": app.redirect_uris.split(),
            "scopes": _scopes_snapshot(cleaned_scopes),
        },
    )
    return app


def _needs_review(
    app: ClientApp, fields: dict[str, Any], before: dict[str, ClientScope], after: list[ScopeRequest]
) -> bool:
    """Whether a change widens what the app can do or changes what residents are shown (see the module)."""
    if fields["name"] != app.name or fields["logo_url"] != app.logo_url:
        return True
    if not set(fields["redirect_uris"].split()) <= set(app.redirect_uris.split()):
        return True
    for item in after:
        old = before.get(item.scope)
        if old is None or old.purpose != item.purpose or (old.is_optional and not item.is_optional):
            return True
    return False


@transaction.atomic
def client_app_update(
    *,
    actor: User,
    app: ClientApp,
    name: str,
    description: str,
    logo_url: str,
    privacy_policy_url: str,
    redirect_uris: Sequence[str],
    scopes: Sequence[ScopeRequest],
    ip: str | None = None,
) -> ClientApp:
    """Change an app's details, redirect URIs and scopes (its owner or organisation only).

    A widening change to an approved app, or any change to a rejected one, (re)submits it for review; a
    suspended app cannot be changed. The client type is fixed at registration. Audited.
    """
    _require_manager(actor, app)
    app = ClientApp.objects.select_for_update().get(pk=app.pk)
    if app.status == ClientAppStatus.SUSPENDED:
        raise Conflict(_("This app is suspended; contact the city's operators."), code="app_suspended")
    fields, cleaned_scopes = _clean_details(
        name=name,
        description=description,
        logo_url=logo_url,
        privacy_policy_url=privacy_policy_url,
        redirect_uris=redirect_uris,
        scopes=scopes,
    )
    before = {cs.scope: cs for cs in app.client_scopes.all()}
    previous_status = app.status
    to_review = app.status == ClientAppStatus.REJECTED or (
        app.status == ClientAppStatus.APPROVED and _needs_review(app, fields, before, cleaned_scopes)
    )
    changed = [key for key, value in fields.items() if getattr(app, key) != value]
    for key, value in fields.items():
        setattr(app, key, value)
    if to_review:
        app.status = ClientAppStatus.IN_REVIEW
    try:
        app.full_clean()
    except ValidationError as error:
        raise InvalidInput(
            _("Check the app's details."), code="invalid_app", details=error.message_dict
        ) from None
    app.save()
    new_scopes = {s.scope: s for s in cleaned_scopes}
    if set(new_scopes) != set(before) or any(
        (before[s].purpose, before[s].is_optional) != (new_scopes[s].purpose, new_scopes[s].is_optional)
        for s in new_scopes
        if s in before
    ):
        changed.append("scopes")
        ClientScope.objects.filter(app=app).exclude(scope__in=new_scopes).delete()
        for item in cleaned_scopes:
            ClientScope.objects.update_or_create(
                app=app, scope=item.scope, defaults={"purpose": item.purpose, "is_optional": item.is_optional}
            )
    audit_record(
        actor=actor,
        action="identity.client_app.updated",
        obj=app,
        ip=ip,
        details={
            "client_id": app.client_id,
            "changed": changed,
            "status_before": previous_status,
            "status": app.status,
            "redirect_uris": app.redirect_uris.split(),
            "scopes": _scopes_snapshot(cleaned_scopes),
        },
    )
    return app


@transaction.atomic
def client_app_review(
    *, actor: User, app: ClientApp, decision: str, reason: str = "", ip: str | None = None
) -> ClientApp:
    """Approve or reject an app in review (operators: ``identity:app:review``); a rejection needs a reason.

    Nobody reviews an app they manage. The owner is told the outcome in their messages and by email. Audited.
    """
    _require_signed_in(actor)
    if not has_permission(actor, IdentityPermission.IDENTITY_APP_REVIEW):
        raise PermissionDenied(_("Only the city's operators review apps."))
    if decision not in REVIEW_DECISIONS:
        raise InvalidInput(_("Approve or reject the app."), code="invalid_decision")
    reason = reason.strip()
    if decision == "reject" and not reason:
        raise InvalidInput(
            _("Tell the developer why the app is rejected."),
            code="reason_required",
            details={"reason": [_("Tell the developer why the app is rejected.")]},
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(
            _("The reason is too long (%(count)d characters at most).") % {"count": REASON_MAX_LENGTH},
            code="invalid_reason",
            details={"reason": [_("Keep it shorter.")]},
        )
    app = ClientApp.objects.select_for_update(of=("self",)).select_related("owner").get(pk=app.pk)
    if client_app_is_managed_by(app, actor):
        raise PermissionDenied(_("Another operator must review an app you manage."), code="own_app")
    if app.status != ClientAppStatus.IN_REVIEW:
        raise Conflict(
            _("This app is not in review (it is %(status)s).") % {"status": app.get_status_display()},
            code="not_in_review",
        )
    app.status = ClientAppStatus.APPROVED if decision == "approve" else ClientAppStatus.REJECTED
    app.review_reason = reason
    app.reviewed_by = actor
    app.reviewed_at = timezone.now()
    app.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at", "updated"])
    event = audit_record(
        actor=actor,
        action=f"identity.client_app.{'approved' if decision == 'approve' else 'rejected'}",
        obj=app,
        ip=ip,
        actor_role="operator",
        details={"client_id": app.client_id, "reason": reason},
    )
    if app.owner is not None:
        # The outbox row commits with the review; delivery is queued after commit.
        import_string(settings.USER_MESSAGE_SENDER)(
            recipient=app.owner,
            template="identity.client_app_reviewed",
            context={
                "app_name": app.name,
                "approved": app.status == ClientAppStatus.APPROVED,
                "is_confidential": app.client_type == ClientApp.CLIENT_CONFIDENTIAL,
                "reason": reason,
                "app_url": settings.SITE_URL + reverse("identity:developer_app", args=[app.public_id]),
            },
            channels=["in_app", "email"],
            dedupe_key=f"identity.client_app_reviewed:{event.pk}",
        )
    return app


@transaction.atomic
def client_app_secret_rotate(*, actor: User, app: ClientApp, ip: str | None = None) -> str:
    """Give an approved confidential app a new client secret and return it: the only time it is readable.

    The previous secret stops working at once (only a hash is kept). Its owner or organisation only. Audited.
    """
    _require_manager(actor, app)
    app = ClientApp.objects.select_for_update().get(pk=app.pk)
    if app.client_type != ClientApp.CLIENT_CONFIDENTIAL:
        raise Conflict(_("Public apps (mobile and single-page) have no client secret."), code="public_client")
    if app.status != ClientAppStatus.APPROVED:
        raise Conflict(_("The client secret is issued once the app is approved."), code="not_approved")
    secret = generate_client_secret()
    app.client_secret = secret
    app.hash_client_secret = True
    app.save(update_fields=["client_secret", "hash_client_secret", "updated"])
    audit_record(
        actor=actor,
        action="identity.client_app.secret_rotated",
        obj=app,
        ip=ip,
        details={"client_id": app.client_id},
    )
    return secret
