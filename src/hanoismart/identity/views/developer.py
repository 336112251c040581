"""The developer portal (/developers/): the public list of approved apps and how to build on HanoiSmart; for
verified accounts and organisations, "My apps" (register, change, get the client secret once); and the
operators' review queue (/operator/apps/).

Thin: the forms parse, ``services.developer`` decides and audits. A client secret is put in the session by the
view that created it and shown (then dropped) by the next page: it is never readable again.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hanoismart.common.errors import ApplicationError
from hanoismart.identity.forms import PageForm
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.models import ClientApp, ClientAppStatus, Organisation
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.selectors.connected_apps import owner_label, scope_label
from hanoismart.identity.selectors.developer import (
    client_app_for_review,
    client_app_managed_by,
    client_apps_for_review,
    client_apps_managed_by,
    client_apps_public,
    developer_may_register,
    developer_organisations,
    developer_scopes,
)
from hanoismart.identity.services.developer import (
    ScopeRequest,
    client_app_register,
    client_app_review,
    client_app_secret_rotate,
    client_app_update,
)

SECRET_SESSION_KEY = "developer_new_client_secret"  # noqa: S105 - a session key's name, not a secret
OWN_NAME = ""


def _field_key(scope: str) -> str:
    return scope.replace(":", "__").replace(".", "_")


class ClientAppForm(PageForm):
    """An app's registration: details, redirect URIs (one per line), per scope its purpose and optionality."""

    name = forms.CharField(label=gettext_lazy("App name"), max_length=100)
    description = forms.CharField(
        label=gettext_lazy("What the app does"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Residents read it on the sign-in screen and in the public app list."),
    )
    logo_url = forms.CharField(
        label=gettext_lazy("Logo URL"),
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
        help_text=gettext_lazy("An https address of a square image (optional)."),
    )
    privacy_policy_url = forms.CharField(
        label=gettext_lazy("Privacy policy URL"),
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )
    redirect_uris = forms.CharField(
        label=gettext_lazy("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off"}),
        help_text=gettext_lazy(
            "One per line, matched exactly. https only, except http://127.0.0.1, http://[::1] and "
            "http://localhost for development."
        ),
    )
    client_type = forms.ChoiceField(
        label=gettext_lazy("Kind of app"),
        choices=[
            (
                ClientApp.CLIENT_CONFIDENTIAL,
                gettext_lazy("Web app with a server (confidential: keeps a client secret)"),
            ),
            (
                ClientApp.CLIENT_PUBLIC,
                gettext_lazy("Mobile or single-page app (public: no secret, PKCE only)"),
            ),
        ],
        widget=forms.RadioSelect,
        initial=ClientApp.CLIENT_CONFIDENTIAL,
    )
    organisation = forms.ChoiceField(label=gettext_lazy("Register in the name of"), required=False)

    def __init__(self, *args: Any, organisations: list[Organisation], editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organisations = {str(org.public_id): org for org in organisations}
        self.scope_rows = []
        for scope, label in developer_scopes():
            key = _field_key(scope)
            self.fields[f"scope_{key}"] = forms.BooleanField(
                label=label, required=False, initial=scope == "openid", disabled=scope == "openid"
            )
            self.fields[f"purpose_{key}"] = forms.CharField(
                label=gettext_lazy("Why the app needs it"), required=False, max_length=300
            )
            self.fields[f"optional_{key}"] = forms.BooleanField(
                label=gettext_lazy("Residents may refuse it"), required=False
            )
            self.scope_rows.append({"scope": scope, "label": label, "key": key})
        if editing:
            del self.fields["client_type"]
            del self.fields["organisation"]
        else:
            self.fields["organisation"].choices = [
                (OWN_NAME, _("Myself")),
                *((pk, org.name) for pk, org in self.organisations.items()),
            ]
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput | forms.RadioSelect):
                field.widget.attrs["class"] = "form-check-input"
            else:
                field.widget.attrs.setdefault("class", "form-control")
        for row in self.scope_rows:
            row["requested"] = self[f"scope_{row['key']}"]
            row["purpose"] = self[f"purpose_{row['key']}"]
            row["optional"] = self[f"optional_{row['key']}"]

    def scope_requests(self) -> list[ScopeRequest]:
        data = self.cleaned_data
        return [
            ScopeRequest(
                scope=row["scope"],
                purpose=data.get(f"purpose_{row['key']}", ""),
                is_optional=bool(data.get(f"optional_{row['key']}")),
            )
            for row in self.scope_rows
            if row["scope"] == "openid" or data.get(f"scope_{row['key']}")
        ]

    def chosen_organisation(self) -> Organisation | None:
        return self.organisations.get(self.cleaned_data.get("organisation") or OWN_NAME)

    def add_refusal(self, exc: ApplicationError) -> None:
        """Put a service's refusal next to the fields it names (per-scope purposes included)."""
        renames = {f"purpose:{row['scope']}": f"purpose_{row['key']}" for row in self.scope_rows}
        if exc.details:
            self.add_service_errors(exc.details, renames=renames)
        else:
            self.add_error(None, str(exc.message))


def _initial_for(app: ClientApp) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": app.name,
        "description": app.description,
        "logo_url": app.logo_url,
        "privacy_policy_url": app.privacy_policy_url,
        "redirect_uris": "\n".join(app.redirect_uris.split()),
    }
    for cs in app.client_scopes.all():
        key = _field_key(cs.scope)
        initial |= {f"scope_{key}": True, f"purpose_{key}": cs.purpose, f"optional_{key}": cs.is_optional}
    return initial


def _redirect_uris(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _app_scopes(app: ClientApp) -> list[dict[str, Any]]:
    return [
        {
            "scope": cs.scope,
            "label": scope_label(cs.scope),
            "purpose": cs.purpose,
            "is_optional": cs.is_optional,
        }
        for cs in app.client_scopes.all()
    ]


# --- the public portal ------------------------------------------------------------------------------------


@require_GET
def portal(request: HttpRequest) -> HttpResponse:
    """Approved apps, how to build on HanoiSmart, and (signed in) the person's own apps."""
    user = request.user
    context = {
        "public_apps": [{"app": app, "owner": owner_label(app)} for app in client_apps_public()],
        "discovery_url": request.build_absolute_uri(reverse("oidc_discovery")),
        "scopes": [{"scope": scope, "label": label} for scope, label in developer_scopes()],
        "my_apps": client_apps_managed_by(user) if user.is_authenticated else [],
        "may_register": developer_may_register(user),
        "may_review": has_permission(user, IdentityPermission.IDENTITY_APP_REVIEW),
    }
    return render(request, "identity/developer/portal.html", context)


# --- my apps ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def app_register(request: HttpRequest) -> HttpResponse:
    """Register an app; it goes to review."""
    user = request.user
    organisations = list(developer_organisations(user))
    if not developer_may_register(user):
        return render(request, "identity/developer/verify_first.html", status=403)
    form = ClientAppForm(request.POST or None, organisations=organisations)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                app = client_app_register(
                    actor=user,
                    name=data["name"],
                    description=data["description"],
                    logo_url=data["logo_url"],
                    privacy_policy_url=data["privacy_policy_url"],
                    redirect_uris=_redirect_uris(data["redirect_uris"]),
                    scopes=form.scope_requests(),
                    client_type=data["client_type"],
                    organisation=form.chosen_organisation(),
                    ip=client_ip(request),
                )
            except ApplicationError as exc:
                form.add_refusal(exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("%(app)s is registered and waits for review by the city's operators.")
                    % {"app": app.name},
                )
                return redirect("identity:developer_app", public_id=app.public_id)
    return render(request, "identity/developer/app_form.html", {"form": form, "app": None}, status=status)


def _my_app(request: HttpRequest, public_id: uuid.UUID) -> ClientApp:
    app = client_app_managed_by(request.user, public_id)
    if app is None:
        raise Http404
    return app


@login_required
@require_GET
def app_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One of my apps: status, review outcome, client ID, the new secret (once), redirect URIs and scopes."""
    app = _my_app(request, public_id)
    secret = None
    pending = request.session.get(SECRET_SESSION_KEY)
    if pending and pending.get("app") == str(app.public_id):
        secret = pending["secret"]
        del request.session[SECRET_SESSION_KEY]  # shown once: gone from the session as the page renders
    context = {
        "app": app,
        "owner": owner_label(app),
        "scopes": _app_scopes(app),
        "redirect_uris": app.redirect_uris.split(),
        "new_secret": secret,
        "is_confidential": app.client_type == ClientApp.CLIENT_CONFIDENTIAL,
        "discovery_url": request.build_absolute_uri(reverse("oidc_discovery")),
    }
    response = render(request, "identity/developer/app.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def app_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Change one of my apps; a widening change to an approved app sends it back to review."""
    app = _my_app(request, public_id)
    form = ClientAppForm(request.POST or None, organisations=[], editing=True, initial=_initial_for(app))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            was_approved = app.status == ClientAppStatus.APPROVED
            try:
                app = client_app_update(
                    actor=request.user,
                    app=app,
                    name=data["name"],
                    description=data["description"],
                    logo_url=data["logo_url"],
                    privacy_policy_url=data["privacy_policy_url"],
                    redirect_uris=_redirect_uris(data["redirect_uris"]),
                    scopes=form.scope_requests(),
                    ip=client_ip(request),
                )
            except ApplicationError as exc:
                form.add_refusal(exc)
                status = exc.status
            else:
                if app.status == ClientAppStatus.IN_REVIEW:
                    messages.warning(
                        request,
                        _(
                            "Your changes are saved and the app is back in review: it cannot sign anyone in "
                            "until it is approved again."
                        )
                        if was_approved
                        else _("Your changes are saved and the app is in review."),
                    )
                else:
                    messages.success(request, _("Your changes are saved."))
                return redirect("identity:developer_app", public_id=app.public_id)
    return render(request, "identity/developer/app_form.html", {"form": form, "app": app}, status=status)


@login_required
@require_POST
def app_secret(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Create a new client secret (the previous one stops working) and show it once on the app's page."""
    app = _my_app(request, public_id)
    try:
        secret = client_app_secret_rotate(actor=request.user, app=app, ip=client_ip(request))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        request.session[SECRET_SESSION_KEY] = {"app": str(app.public_id), "secret": secret}
    return redirect("identity:developer_app", public_id=app.public_id)


# --- operators' review ------------------------------------------------------------------------------------


def _review_gate(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_permission(request.user, IdentityPermission.IDENTITY_APP_REVIEW):
        raise PermissionDenied
    return None


class ReviewForm(PageForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Sent to the developer. Required to reject."),
    )


REVIEW_TABS = (
    (ClientAppStatus.IN_REVIEW, gettext_lazy("In review")),
    (ClientAppStatus.APPROVED, gettext_lazy("Approved")),
    (ClientAppStatus.REJECTED, gettext_lazy("Rejected")),
)


@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    """Apps waiting for review (or, by tab, approved and rejected ones)."""
    if (response := _review_gate(request)) is not None:
        return response
    status = request.GET.get("status", ClientAppStatus.IN_REVIEW)
    if status not in dict(REVIEW_TABS):
        status = ClientAppStatus.IN_REVIEW
    apps = client_apps_for_review(actor=request.user, status=status)
    rows = [{"app": app, "owner": owner_label(app), "scopes": _app_scopes(app)} for app in apps]
    return render(
        request,
        "identity/developer/review_list.html",
        {"rows": rows, "status": status, "tabs": REVIEW_TABS},
    )


@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One app's details, and approve or reject it with a reason."""
    if (response := _review_gate(request)) is not None:
        return response
    app = client_app_for_review(actor=request.user, public_id=public_id)
    if app is None:
        raise Http404
    form = ReviewForm(request.POST or None)
    status = 200
    if request.method == "POST" and not form.is_valid():
        status = 400
    elif request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            app = client_app_review(
                actor=request.user,
                app=app,
                decision=decision,
                reason=form.cleaned_data["reason"],
                ip=client_ip(request),
            )
        except ApplicationError as exc:
            if exc.details:
                form.add_service_errors(exc.details)
            else:
                form.add_error(None, str(exc.message))
            status = exc.status
        else:
            if app.status == ClientAppStatus.APPROVED:
                messages.success(request, _("%(app)s is approved; its owner is told.") % {"app": app.name})
            else:
                messages.success(
                    request, _("%(app)s is rejected; its owner is told why.") % {"app": app.name}
                )
            return redirect("identity:app_review_list")
    context = {
        "app": app,
        "owner": owner_label(app),
        "scopes": _app_scopes(app),
        "redirect_uris": app.redirect_uris.split(),
        "form": form,
    }
    return render(request, "identity/developer/review.html", context, status=status)


urlpatterns = [
    path("developers/", portal, name="developers"),
    path("developers/apps/new/", app_register, name="developer_app_register"),
    path("developers/apps/<uuid:public_id>/", app_detail, name="developer_app"),
    path("developers/apps/<uuid:public_id>/edit/", app_edit, name="developer_app_edit"),
    path("developers/apps/<uuid:public_id>/secret/", app_secret, name="developer_app_secret"),
    path("operator/apps/", review_list, name="app_review_list"),
    path("operator/apps/<uuid:public_id>/", review, name="app_review"),
]
