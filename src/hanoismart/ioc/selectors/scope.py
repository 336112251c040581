"""Who sees which part of the operations center: the city for city-level staff, their ward for a ward's
leader (``IocScope``), and the unit a request asks for, checked against it.

A request computes the scope once (``ioc_scope``: the actor's positions and the units, three small queries)
and hands it to every selector it calls (their ``scope=`` argument); a selector called without one computes
it. The scope is never kept beyond the call that made it — not on the user object, not in a cache — so a
leader removed from a post is refused from their next request on, and an open stream (which recomputes it at
each poll) stops at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import Unit
from hanoismart.directory.selectors import unit_children, units_active_on
from hanoismart.ioc.permissions import IocPermission, units_with


@dataclass
class IocScope:
    """What an actor may look at: ``unit_ids`` (None: the whole city), the units they may pick (the city
    first, then its wards by name) and the unit shown by default."""

    unit_ids: set[int] | None
    units: list[Unit]
    default_unit: Unit | None

    @property
    def is_city(self) -> bool:
        return self.unit_ids is None


def city_unit() -> Unit | None:
    """The deployment's city or province (``HANOISMART_PROVINCE_CODE``), else the first top-level unit."""
    tops = units_active_on().filter(parent__isnull=True)
    return tops.filter(code=settings.PROVINCE_CODE).first() or tops.first()


def _by_name(units: Any) -> Any:
    # By the name without diacritics, the order a Vietnamese reader expects (as identity's ward list).
    return units.order_by("name_folded", "name")


def _city_and_wards() -> tuple[Unit | None, list[Unit]]:
    """The city and its wards and communes in force today, by name: one query when the city has the
    deployment's code, else ``city_unit``'s fallback (two)."""
    code = settings.PROVINCE_CODE
    found = list(
        _by_name(
            units_active_on().filter(
                Q(parent__isnull=True, code=code) | Q(parent__code=code, parent__parent__isnull=True)
            )
        )
    )
    city = next((unit for unit in found if unit.parent_id is None), None)
    if city is None:
        city = city_unit()
        return city, list(_by_name(unit_children(city))) if city is not None else []
    return city, [unit for unit in found if unit.parent_id is not None]


def ioc_scope(*, actor: Any) -> IocScope:
    """The actor's scope in the IOC, read now; raises ``PermissionDenied`` without ``ioc:dashboard:view``.
    Compute it once per request and pass it to the selectors (``scope=``)."""
    unit_ids = units_with(actor, IocPermission.DASHBOARD_VIEW)
    if unit_ids is not None and not unit_ids:
        raise PermissionDenied(_("You may not see the operations center."))
    if unit_ids is None:
        city, wards = _city_and_wards()
        if city is None:
            return IocScope(unit_ids=None, units=[], default_unit=None)
        return IocScope(unit_ids=None, units=[city, *wards], default_unit=city)
    units = list(_by_name(Unit.objects.filter(pk__in=unit_ids)))
    return IocScope(unit_ids=set(unit_ids), units=units, default_unit=units[0] if units else None)


def scope_for(*, actor: Any, scope: IocScope | None) -> IocScope:
    """``scope`` when the caller computed it for this request, else the actor's scope now."""
    return scope if scope is not None else ioc_scope(actor=actor)


def scope_unit(scope: IocScope, code: str) -> Unit | None:
    """The unit ``code`` names (the default unit when empty), checked against the scope; ``None`` stands for
    the whole city. Raises ``InvalidInput`` for an unknown code, ``PermissionDenied`` outside the scope."""
    if not code:
        unit = scope.default_unit
    else:
        unit = next((u for u in scope.units if u.code == code), None)
        if unit is None:
            unit = Unit.objects.filter(code=code).first()
            if unit is None:
                raise InvalidInput(
                    _("No unit with code %(code)s.") % {"code": code},
                    details={"unit": [_("Unknown unit.")]},
                )
            if scope.unit_ids is not None and unit.pk not in scope.unit_ids:
                raise PermissionDenied(_("You may not see the figures of this unit."))
    if unit is None or (scope.unit_ids is None and unit.parent_id is None):
        return None
    if scope.unit_ids is not None and unit.pk not in scope.unit_ids:
        raise PermissionDenied(_("You may not see the figures of this unit."))
    return unit


def figure_unit_ids(scope: IocScope, unit: Unit | None) -> set[int] | None:
    """The unit ids whose records a figure counts: one ward, or (``unit`` None) the scope."""
    return {unit.pk} if unit is not None else scope.unit_ids
