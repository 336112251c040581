"""Reads of the alerts feed: alerts in the actor's scope, one alert with its timeline, its title in the
reader's language, and the actor's subscriptions and thresholds."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput, NotFound
from hanoismart.ioc.kpis import KPIS
from hanoismart.ioc.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertState,
    AlertSubscription,
    Comparison,
    KpiThreshold,
)
from hanoismart.ioc.selectors.scope import IocScope, scope_for, scope_unit


def _in_scope(queryset: QuerySet, unit_ids: set[int] | None) -> QuerySet:
    return queryset if unit_ids is None else queryset.filter(unit_id__in=unit_ids)


def alerts_visible_to(*, actor: Any, scope: IocScope | None = None) -> QuerySet[Alert]:
    """Every alert in the actor's scope (a ward's leader: their ward's; the city: all), newest first; raises
    ``PermissionDenied`` without ``ioc:dashboard:view``. ``scope``: the actor's, when the caller has it."""
    scope = scope_for(actor=actor, scope=scope)
    alerts = Alert.objects.select_related("unit", "agency", "owner")
    return _in_scope(alerts, scope.unit_ids).order_by("-raised_at", "-id")


def alerts_for(
    *, actor: Any, scope: IocScope | None = None, state: str = "", kind: str = "", unit: str = ""
) -> QuerySet[Alert]:
    """The alerts in scope filtered by state, kind and unit code (an empty filter takes everything; a ward's
    code takes that ward's alerts only, the city's code takes all). ``InvalidInput`` for an unknown state or
    kind."""
    errors: dict[str, list[str]] = {}
    if state and state not in AlertState.values:
        errors["state"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(AlertState.values)}]
    if kind and kind not in AlertKind.values:
        errors["kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(AlertKind.values)}]
    if errors:
        raise InvalidInput(_("Some filters are not valid."), details=errors)
    scope = scope_for(actor=actor, scope=scope)
    alerts = alerts_visible_to(actor=actor, scope=scope)
    if state:
        alerts = alerts.filter(state=state)
    if kind:
        alerts = alerts.filter(kind=kind)
    if unit:
        chosen = scope_unit(scope, unit)
        if chosen is not None:  # the city's code takes everything in scope, as on the overview
            alerts = alerts.filter(unit=chosen)
    return alerts


def alert_get(*, actor: Any, public_id: Any, scope: IocScope | None = None) -> Alert:
    """One alert in the actor's scope with its timeline (``alert.timeline``); ``NotFound`` otherwise.
    ``scope``: the actor's, when the caller has it."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound(_("No such alert.")) from None
    events = AlertEvent.objects.select_related("actor").order_by("at", "id")
    alert = (
        alerts_visible_to(actor=actor, scope=scope)
        .prefetch_related(Prefetch("events", queryset=events, to_attr="timeline"))
        .filter(public_id=key)
        .first()
    )
    if alert is None:
        raise NotFound(_("No such alert."))
    return alert


def _moment(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    # The city's own way of writing a moment, whatever the language (as the dossier messages do).
    return formats.date_format(timezone.localtime(moment), "d/m/Y H:i") if moment else str(value or "")


def _number(value: Any) -> str:
    try:
        return formats.number_format(float(value), decimal_pos=1, use_l10n=True)
    except (TypeError, ValueError):
        return str(value)


def alert_title(alert: Alert) -> str:
    """The alert's title in the active language, made from its kind and ``params``."""
    p = alert.params or {}
    if alert.kind == AlertKind.DOSSIER_OVERDUE:
        return _("Dossier %(code)s (%(procedure)s) passed its due time %(due)s") % {
            "code": p.get("code", ""),
            "procedure": p.get("procedure", ""),
            "due": _moment(p.get("due_at")),
        }
    if alert.kind == AlertKind.REPORT_LATE:
        return _("%(reporter)s has not sent report %(form)s for period %(period)s (due %(due)s)") % {
            "reporter": p.get("reporter", ""),
            "form": p.get("form", ""),
            "period": p.get("period", ""),
            "due": _moment(p.get("due_at")),
        }
    if alert.kind == AlertKind.THRESHOLD:
        kpi = KPIS.get(p.get("kpi", ""))
        comparison = dict(Comparison.choices).get(p.get("comparison", ""), p.get("comparison", ""))
        return _("%(kpi)s of %(unit)s is %(value)s: it %(comparison)s %(threshold)s") % {
            "kpi": kpi.label if kpi else p.get("kpi", ""),
            "unit": p.get("unit_name") or _("the city"),
            "value": _number(p.get("value")),
            "comparison": comparison,
            "threshold": _number(p.get("threshold")),
        }
    return str(alert)


def subscriptions_for(*, actor: Any) -> QuerySet[AlertSubscription]:
    """The actor's own alert subscriptions, with their units."""
    if actor is None or not actor.is_authenticated:
        return AlertSubscription.objects.none()
    return AlertSubscription.objects.filter(user=actor).select_related("unit").order_by("kind", "unit__code")


def thresholds_for(*, actor: Any, scope: IocScope | None = None) -> QuerySet[KpiThreshold]:
    """The KPI thresholds set for the units in the actor's scope (the city's own for city-level staff).
    ``scope``: the actor's, when the caller has it."""
    scope = scope_for(actor=actor, scope=scope)
    thresholds = KpiThreshold.objects.select_related("unit", "created_by").order_by("kpi", "unit__code")
    return thresholds if scope.unit_ids is None else thresholds.filter(unit_id__in=scope.unit_ids)
