"""Who may use the operations center: permissions named ``<scope>:<resource>:<action>`` and the roles holding
them.

City managers, unit leaders and operators see the dashboards; managers and leaders act on alerts; managers and
operators set KPI thresholds. Where a permission applies follows the position's agency: a city-level position
(a department, the city office) covers the whole city, any other position its own unit only (a ward's leader
sees and acts on their ward). An active superuser holds every permission everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.identity.selectors.staff import is_city_level, positions_active


class IocPermission(StrEnum):
    """The ioc app's permissions (alphabetised)."""

    ALERT_ACT = "ioc:alert:act"
    DASHBOARD_VIEW = "ioc:dashboard:view"
    THRESHOLD_MANAGE = "ioc:threshold:manage"


P = IocPermission

ROLE_PERMISSIONS: dict[str, frozenset[IocPermission]] = {
    StaffRole.CLERK: frozenset(),
    StaffRole.OFFICER: frozenset(),
    StaffRole.LEADER: frozenset({P.ALERT_ACT, P.DASHBOARD_VIEW}),
    StaffRole.REPORTER: frozenset(),
    StaffRole.MANAGER: frozenset({P.ALERT_ACT, P.DASHBOARD_VIEW, P.THRESHOLD_MANAGE}),
    StaffRole.OPERATOR: frozenset({P.DASHBOARD_VIEW, P.THRESHOLD_MANAGE}),
}


def _usable(user: Any) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def positions_with(user: Any, perm: IocPermission | str) -> list[StaffPosition]:
    """The valid positions of ``user`` whose role holds ``perm``."""
    if not _usable(user):
        return []
    return [
        position
        for position in positions_active(user)
        if perm in ROLE_PERMISSIONS.get(position.role, frozenset())
    ]


def units_with(user: Any, perm: IocPermission | str) -> set[int] | None:
    """The ids of the units where ``user`` holds ``perm``: ``None`` for the whole city (a city-level position
    or a superuser), else the units of their agencies (empty: nowhere)."""
    if not _usable(user):
        return set()
    if user.is_superuser:
        return None
    positions = positions_with(user, perm)
    if any(is_city_level(position) for position in positions):
        return None
    return {position.agency.unit_id for position in positions}


def has_permission(user: Any, perm: IocPermission | str, *, unit_id: int | None = None) -> bool:
    """Whether ``user`` holds ``perm`` at ``unit_id`` (``None``: for the city as a whole, which needs a
    city-level position)."""
    units = units_with(user, perm)
    if units is None:
        return True
    return unit_id is not None and unit_id in units


def has_permission_anywhere(user: Any, perm: IocPermission | str) -> bool:
    """Whether ``user`` holds ``perm`` for at least one unit (e.g. to show the IOC in the navigation)."""
    units = units_with(user, perm)
    return units is None or bool(units)
