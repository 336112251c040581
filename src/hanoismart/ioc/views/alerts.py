"""The alerts feed (filters by state, kind and unit; live like the overview), one alert with its timeline and
the actions on it (acknowledge, assign to me, resolve, reopen, comment), and the manager's settings: their
subscriptions to alerts and the KPI thresholds that raise them."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from hanoismart.common.errors import ApplicationError, InvalidInput, PermissionDenied
from hanoismart.ioc import selectors, services
from hanoismart.ioc.kpis import KPIS
from hanoismart.ioc.models import AlertKind, AlertState, Comparison
from hanoismart.ioc.permissions import IocPermission, has_permission, has_permission_anywhere
from hanoismart.ioc.selectors import IocScope
from hanoismart.ioc.views._shared import LIVE_POLL_SECONDS, ioc_page, unchanged
from hanoismart.notifications.models import Channel

ALERTS_PER_PAGE = 30
#: The buttons of an alert, by state, in the order shown (the service checks the same rules).
ACTIONS_BY_STATE = {
    AlertState.NEW: ("acknowledge", "assign", "resolve"),
    AlertState.ACKNOWLEDGED: ("assign", "resolve"),
    AlertState.RESOLVED: ("reopen",),
}
ACTION_LABELS = {
    "acknowledge": gettext_lazy("Acknowledge"),
    "assign": gettext_lazy("Assign to me"),
    "resolve": gettext_lazy("Resolve"),
    "reopen": gettext_lazy("Reopen"),
    "comment": gettext_lazy("Comment"),
}
ACTION_DONE = {
    "acknowledge": gettext_lazy("The alert was acknowledged."),
    "assign": gettext_lazy("The alert is yours now."),
    "resolve": gettext_lazy("The alert was resolved."),
    "reopen": gettext_lazy("The alert was reopened."),
    "comment": gettext_lazy("Your comment was added."),
}
#: What each timeline line says.
EVENT_LABELS = {
    "raised": gettext_lazy("Raised"),
    "acknowledge": gettext_lazy("Acknowledged"),
    "acknowledged": gettext_lazy("Acknowledged"),
    "assign": gettext_lazy("Assigned"),
    "assigned": gettext_lazy("Assigned"),
    "resolve": gettext_lazy("Resolved"),
    "resolved": gettext_lazy("Resolved"),
    "reopen": gettext_lazy("Reopened"),
    "reopened": gettext_lazy("Reopened"),
    "comment": gettext_lazy("Comment"),
    "commented": gettext_lazy("Comment"),
    "notified": gettext_lazy("Subscribers notified"),
}


def _feed_filters(request: HttpRequest) -> dict[str, str]:
    return {
        "state": request.GET.get("state", "")[:20],
        "kind": request.GET.get("kind", "")[:30],
        "unit": request.GET.get("unit", "").strip()[:10],
    }


def _feed_context(
    request: HttpRequest, scope: IocScope, filters: dict[str, str], token: str = ""
) -> dict[str, Any]:
    alerts = selectors.alerts_for(actor=request.user, scope=scope, **filters)
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    for alert in page.object_list:
        alert.title = selectors.alert_title(alert)
    query = urlencode({key: value for key, value in filters.items() if value})
    page_query = f"{query}&page={page.number}" if query else f"page={page.number}"
    return {
        "page": page,
        "query_string": query,
        "live_token": token or selectors.live_token(actor=request.user, scope=scope, unit=filters["unit"]),
        "live_url": f"{reverse('ioc:alerts_live')}?{page_query}",
        "poll_seconds": LIVE_POLL_SECONDS,
    }


@require_GET
@ioc_page
def alert_list(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The alerts in the actor's scope, newest first, filtered; updated live while open."""
    filters = _feed_filters(request)
    services.alerts_detect_if_stale()
    context = {
        **_feed_context(request, scope, filters),
        "section": "alerts",
        "has_drawer": True,
        "feed_filters": filters,
        "states": AlertState.choices,
        "kinds": AlertKind.choices,
        "units": scope.units,
    }
    return render(request, "ioc/alerts.html", context)


@require_GET
@ioc_page
def alert_list_live(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The feed's list, polled by the open page: 204 while its ``token`` is current."""
    filters = _feed_filters(request)
    services.alerts_detect_if_stale()
    token = selectors.live_token(actor=request.user, scope=scope, unit=filters["unit"])
    if (response := unchanged(request, token)) is not None:
        return response
    response = render(request, "ioc/_alert_feed.html", _feed_context(request, scope, filters, token))
    response["Cache-Control"] = "no-store"
    return response


def _owner_for(request: HttpRequest, action: str) -> Any:
    return request.user if action == "assign" else None


@require_http_methods(["GET", "POST"])
@ioc_page
def alert_detail(request: HttpRequest, public_id: uuid.UUID, *, scope: IocScope) -> HttpResponse:
    """One alert: what it is about, its timeline, and the actions the actor may take on it now."""
    alert = selectors.alert_get(actor=request.user, scope=scope, public_id=public_id)
    problem = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            services.alert_act(
                actor=request.user,
                alert=alert,
                action=action,
                note=request.POST.get("note", ""),
                owner=_owner_for(request, action),
            )
        except PermissionDenied:
            raise
        except ApplicationError as error:
            problem = str(error.message)
        else:
            messages.success(request, ACTION_DONE.get(action, _("Done.")))
            return redirect("ioc:alert", public_id=alert.public_id)
        alert = selectors.alert_get(actor=request.user, scope=scope, public_id=public_id)
    may_act = has_permission(request.user, IocPermission.ALERT_ACT, unit_id=alert.unit_id)
    timeline = [
        {"event": event, "label": EVENT_LABELS.get(event.action, event.action)}
        for event in getattr(alert, "timeline", [])
    ]
    context = {
        "section": "alerts",
        "alert": alert,
        "title": selectors.alert_title(alert),
        "timeline": timeline,
        "may_act": may_act,
        "actions": [(action, ACTION_LABELS[action]) for action in ACTIONS_BY_STATE.get(alert.state, ())]
        if may_act
        else [],
        "problem": problem,
        "note": request.POST.get("note", "") if problem else "",
    }
    return render(request, "ioc/alert.html", context, status=422 if problem else 200)


def _settings_post(request: HttpRequest) -> str:
    """Run the settings form posted (``op``); the success message, or raise the service's refusal."""
    op = request.POST.get("op", "")
    post = request.POST
    if op == "subscribe":
        services.alert_subscribe(
            actor=request.user,
            kind=post.get("kind", ""),
            unit=post.get("unit", ""),
            channels=post.getlist("channels"),
        )
        return _("You will be told of these alerts.")
    if op == "unsubscribe":
        try:
            subscription_id = int(post.get("subscription", ""))
        except ValueError:
            raise InvalidInput(_("Choose a subscription.")) from None
        services.alert_unsubscribe(actor=request.user, subscription_id=subscription_id)
        return _("The subscription was removed.")
    if op == "threshold_create":
        services.threshold_create(
            actor=request.user,
            kpi=post.get("kpi", ""),
            unit=post.get("unit", ""),
            comparison=post.get("comparison", ""),
            value=post.get("value", "").strip().replace(",", "."),
        )
        return _("The threshold was saved; crossing it raises an alert.")
    if op == "threshold_delete":
        services.threshold_delete(actor=request.user, public_id=post.get("threshold", ""))
        return _("The threshold was removed.")
    raise InvalidInput(_("Unknown action."))


@require_http_methods(["GET", "POST"])
@ioc_page
def alert_settings(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The actor's subscriptions to alerts (kind, unit, channels) and the KPI thresholds of their scope."""
    problem = ""
    if request.method == "POST":
        try:
            done = _settings_post(request)
        except PermissionDenied:
            raise
        except ApplicationError as error:
            details = [str(item) for items in error.details.values() for item in items]
            problem = " ".join([str(error.message), *details])
        else:
            messages.success(request, done)
            return redirect("ioc:alert_settings")
    thresholds = list(selectors.thresholds_for(actor=request.user, scope=scope))
    for threshold in thresholds:
        kpi = KPIS.get(threshold.kpi)
        threshold.kpi_label = kpi.label if kpi else threshold.kpi
        threshold.measure = kpi.measure if kpi else ""
    labels = dict(Channel.choices)
    subscriptions = list(selectors.subscriptions_for(actor=request.user))
    for subscription in subscriptions:  # the app always, then the channels chosen
        channels = [Channel.IN_APP, *(c for c in subscription.channels if c != Channel.IN_APP)]
        subscription.channel_labels = ", ".join(str(labels.get(c, c)) for c in channels)
    context = {
        "section": "alerts",
        "subscriptions": subscriptions,
        "thresholds": thresholds,
        "may_manage": has_permission_anywhere(request.user, IocPermission.THRESHOLD_MANAGE),
        "kinds": AlertKind.choices,
        "units": scope.units,
        "channels": [(value, label) for value, label in Channel.choices if value != Channel.IN_APP],
        "kpis": list(KPIS.values()),
        "comparisons": Comparison.choices,
        "problem": problem,
        "posted": request.POST if problem else {},
        "posted_channels": request.POST.getlist("channels") if problem else [],
    }
    return render(request, "ioc/alert_settings.html", context, status=422 if problem else 200)
