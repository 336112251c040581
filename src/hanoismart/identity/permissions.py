"""What each staff role may do: permissions named ``<scope>:<resource>:<action>``, and the roles holding them.

A person holds a permission through a staff position that is valid today. Where the permission applies depends
on the position's agency: an agency of a ward serves that ward, an agency of the city serves every unit in it
(see ``selectors.staff.units_served_by``). An active superuser holds every permission everywhere: it is the
bootstrap account that appoints the first operator.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from hanoismart.identity.models import StaffRole

if TYPE_CHECKING:
    from hanoismart.directory.models import Unit


class IdentityPermission(StrEnum):
    """The identity app's permissions (alphabetised)."""

    AUDIT_EVENT_VIEW = "audit:event:view"
    IDENTITY_APP_REVIEW = "identity:app:review"
    IDENTITY_ORGANISATION_MANAGE = "identity:organisation:manage"
    IDENTITY_ORGANISATION_VIEW = "identity:organisation:view"
    IDENTITY_PERSON_MANAGE = "identity:person:manage"
    IDENTITY_PERSON_VIEW = "identity:person:view"
    IDENTITY_POSITION_MANAGE = "identity:position:manage"
    IDENTITY_POSITION_VIEW = "identity:position:view"
    IDENTITY_REGISTRY_MANAGE = "identity:registry:manage"


P = IdentityPermission

ROLE_PERMISSIONS: dict[StaffRole, frozenset[IdentityPermission]] = {
    # The one-stop desk receives dossiers: it must recognise the applicant and their organisation.
    StaffRole.CLERK: frozenset({P.IDENTITY_ORGANISATION_VIEW, P.IDENTITY_PERSON_VIEW}),
    StaffRole.OFFICER: frozenset({P.IDENTITY_ORGANISATION_VIEW, P.IDENTITY_PERSON_VIEW}),
    StaffRole.LEADER: frozenset(
        {P.IDENTITY_ORGANISATION_VIEW, P.IDENTITY_PERSON_VIEW, P.IDENTITY_POSITION_VIEW}
    ),
    # Reporting officers fill in figures; they never need a resident's record.
    StaffRole.REPORTER: frozenset(),
    StaffRole.MANAGER: frozenset(
        {P.AUDIT_EVENT_VIEW, P.IDENTITY_ORGANISATION_VIEW, P.IDENTITY_PERSON_VIEW, P.IDENTITY_POSITION_VIEW}
    ),
    StaffRole.OPERATOR: frozenset(P),
}


def roles_with(perm: IdentityPermission | str) -> frozenset[StaffRole]:
    """The staff roles that hold ``perm``."""
    return frozenset(role for role, perms in ROLE_PERMISSIONS.items() if perm in perms)


def has_permission(
    user: Any,
    perm: IdentityPermission | str,
    unit: Unit | int | None = None,
    *,
    on_date: dt.date | None = None,
) -> bool:
    """Whether ``user`` holds ``perm`` through a valid position (at ``unit`` when given: a Unit or its id)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    # Imported here: the selectors import this module for the role table.
    from hanoismart.identity.selectors.staff import positions_active, units_served_by_positions

    positions = [
        p
        for p in positions_active(user, on_date=on_date)
        if perm in ROLE_PERMISSIONS.get(p.role, frozenset())
    ]
    if not positions:
        return False
    if unit is None:
        return True
    unit_id = unit if isinstance(unit, int) else unit.pk
    return unit_id in units_served_by_positions(positions)
