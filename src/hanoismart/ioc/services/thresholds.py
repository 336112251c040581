"""The thresholds managers set on KPIs: crossing one raises an alert (``closing.check_thresholds``)."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput, NotFound, PermissionDenied
from hanoismart.ioc.kpis import KPIS
from hanoismart.ioc.models import Comparison, KpiThreshold
from hanoismart.ioc.permissions import IocPermission, has_permission
from hanoismart.ioc.services.access import require_signed_in, unit_in_scope


def threshold_create(*, actor: Any, kpi: str, unit: str = "", comparison: str, value: Any) -> KpiThreshold:
    """Set a threshold on ``kpi`` for ``unit`` (a unit code; empty or the city's code: the city as a whole):
    crossing it ``below``/``above`` ``value`` raises an alert (at most one a day). Needs
    ``ioc:threshold:manage`` there; percentages must lie in 0–100."""
    require_signed_in(actor)
    errors: dict[str, list[str]] = {}
    if kpi not in KPIS:
        errors["kpi"] = [_("Unknown KPI.")]
    if comparison not in Comparison.values:
        errors["comparison"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Comparison.values)}]
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        number = None
        errors["value"] = [_("Enter a number.")]
    if number is not None:
        if abs(number) >= Decimal("1e12") or number != number.quantize(Decimal("0.01")):
            errors["value"] = [_("Enter a number with at most two decimals.")]
        elif kpi in KPIS and KPIS[kpi].measure == "percent" and not (0 <= number <= 100):
            errors["value"] = [_("A percentage lies between 0 and 100.")]
        elif number < 0:
            errors["value"] = [_("Enter a number of zero or more.")]
    if errors:
        raise InvalidInput(_("The threshold is not valid."), details=errors)
    target = unit_in_scope(actor=actor, perm=IocPermission.THRESHOLD_MANAGE, code=unit)
    with transaction.atomic():
        threshold = KpiThreshold.objects.create(
            kpi=kpi, unit=target, comparison=comparison, value=number, created_by=actor
        )
        audit_record(
            actor=actor,
            action="ioc.threshold_create",
            obj=threshold,
            unit_code=target.code if target else "",
            details={"kpi": kpi, "comparison": comparison, "value": str(number)},
        )
    return threshold


def threshold_delete(*, actor: Any, public_id: Any) -> None:
    """Remove a threshold; needs ``ioc:threshold:manage`` at its unit. ``NotFound`` for a threshold outside
    the actor's scope."""
    require_signed_in(actor)
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound(_("No such threshold.")) from None
    with transaction.atomic():
        threshold = KpiThreshold.objects.select_related("unit").filter(public_id=key).first()
        if threshold is None or not has_permission(
            actor, IocPermission.DASHBOARD_VIEW, unit_id=threshold.unit_id
        ):
            raise NotFound(_("No such threshold."))
        if not has_permission(actor, IocPermission.THRESHOLD_MANAGE, unit_id=threshold.unit_id):
            raise PermissionDenied(_("You may not change the thresholds of this unit."))
        audit_record(
            actor=actor,
            action="ioc.threshold_delete",
            obj=threshold,
            unit_code=threshold.unit.code if threshold.unit_id else "",
            details={"kpi": threshold.kpi, "comparison": threshold.comparison, "value": str(threshold.value)},
        )
        threshold.delete()
