"""The live token: a short string that changes whenever a figure of the overview or the alerts feed would
change, so an open dashboard re-fetches only then. Cheap: no sums over the roll-ups."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from hanoismart.dossiers.selectors import next_due_moments, rollups_last_change
from hanoismart.ioc.models import Alert
from hanoismart.ioc.selectors.scope import IocScope, figure_unit_ids, scope_for, scope_unit


def live_token(
    *,
    actor: Any,
    scope: IocScope | None = None,
    unit: str = "",
    now: dt.datetime | None = None,
) -> str:
    """A token of what the overview and the alerts feed of ``unit`` show at ``now``: the last roll-up change
    (every dossier write that moves a figure, or its open state), the next moments the clock moves a stock
    figure (a running dossier turning overdue, or due soon: ``next_due_moments``), the newest alert and the
    last alert change in scope, and the day (the default period moves at midnight). Four queries besides
    the scope: three index probes (the two due moments, the last roll-up change) and one over the alerts in
    scope; ``scope``: the actor's, when the caller has it. ``PermissionDenied`` outside the scope."""
    scope = scope_for(actor=actor, scope=scope)
    chosen = scope_unit(scope, unit)
    now = now or timezone.now()
    turning = next_due_moments(unit_ids=figure_unit_ids(scope, chosen), now=now)
    alerts = Alert.objects.all()
    if scope.unit_ids is not None:
        alerts = alerts.filter(unit_id__in=scope.unit_ids)
    latest = alerts.aggregate(count=Count("pk"), changed=Max("updated_at"))
    parts = [
        str(rollups_last_change()),
        ",".join(str(moment) for moment in turning),
        str(latest["count"]),
        str(latest["changed"]),
        timezone.localdate(now).isoformat(),
        chosen.code if chosen else "",
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
