"""Connected apps, under the account page: the apps a resident allowed, what each receives and why, the
history of every time each received data, and "Revoke access" (with a confirmation step).

Revocation is ``services.oidc.consent_revoke``: it ends the app's tokens at once. An app the resident never
connected answers 404, whoever asks.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from hanoismart.common.errors import ApplicationError
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.selectors.connected_apps import (
    connected_app_detail,
    connected_app_history,
    connected_app_list,
    scope_label,
    scope_order,
)
from hanoismart.identity.services.oidc import consent_revoke

HISTORY_PAGE_SIZE = 20


@login_required
@require_GET
def connected_apps(request: HttpRequest) -> HttpResponse:
    """The apps the resident allows to receive their data."""
    return render(request, "identity/connected_apps/list.html", {"apps": connected_app_list(request.user)})


@login_required
@require_GET
def connected_app(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One app: what it may receive and why, and every time it received the resident's data (paginated)."""
    detail = connected_app_detail(request.user, public_id)
    if detail is None:
        raise Http404
    page = Paginator(connected_app_history(request.user, detail.app), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    history = [
        {
            "at": release.released_at,
            "channel": release.get_channel_display(),
            "items": [scope_label(scope) for scope in sorted(release.scopes, key=scope_order)],
        }
        for release in page.object_list
    ]
    return render(
        request,
        "identity/connected_apps/detail.html",
        {"detail": detail, "app": detail.app, "page": page, "history": history},
    )


@login_required
@require_http_methods(["GET", "POST"])
def connected_app_revoke(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Ask to confirm (GET), then withdraw every consent given to the app and end its tokens (POST)."""
    detail = connected_app_detail(request.user, public_id)
    if detail is None:
        raise Http404
    if request.method == "POST":
        try:
            consent_revoke(actor=request.user, app=detail.app, ip=client_ip(request))
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return redirect("identity:connected_app", public_id=public_id)
        messages.success(
            request,
            _("%(app)s no longer has access to your data. It must ask you again to sign you in.")
            % {"app": detail.app.name},
        )
        return redirect("identity:connected_apps")
    if not detail.is_connected:
        return redirect("identity:connected_app", public_id=public_id)
    return render(request, "identity/connected_apps/revoke.html", {"detail": detail, "app": detail.app})


urlpatterns = [
    path("account/apps/", connected_apps, name="connected_apps"),
    path("account/apps/<uuid:public_id>/", connected_app, name="connected_app"),
    path("account/apps/<uuid:public_id>/revoke/", connected_app_revoke, name="connected_app_revoke"),
]
