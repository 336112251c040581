"""The live token: a short string that changes whenever a figure of the overview or the alerts feed would
change, so an open dashboard re-fetches only then. Cheap: no sums over the roll-ups."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from hanoismart.dossiers.selectors import open_figures, rollups_last_change
from hanoismart.ioc.models import Alert
from hanoismart.ioc.selectors.scope import figure_unit_ids, ioc_scope, scope_unit


def live_token(*, actor: Any, unit: str = "", now: dt.datetime | None = None) -> str:
    """A token of what the overview and the alerts feed of ``unit`` show at ``now``: the last roll-up change
    (every dossier write that moves a figure, or its open state), the open dossiers' counts now (overdue,
    due soon: they change as time passes), the newest alert and the last alert change in scope, and the
    day (the default period moves at midnight). Four small queries; ``PermissionDenied`` outside the scope."""
    now = now or timezone.now()
    scope = ioc_scope(actor=actor)
    chosen = scope_unit(scope, unit)
    unit_ids = figure_unit_ids(scope, chosen)
    stocks = open_figures(unit_ids=unit_ids, now=now)
    alerts = Alert.objects.all()
    if scope.unit_ids is not None:
        alerts = alerts.filter(unit_id__in=scope.unit_ids)
    latest = alerts.aggregate(count=Count("pk"), changed=Max("updated_at"))
    parts = [
        str(rollups_last_change()),
        ",".join(f"{k}={v}" for k, v in sorted(stocks[0].figures.items())) if stocks else "",
        str(latest["count"]),
        str(latest["changed"]),
        timezone.localdate(now).isoformat(),
        chosen.code if chosen else "",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
