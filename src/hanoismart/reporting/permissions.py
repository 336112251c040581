"""Who may do what with reports: permissions named ``<scope>:<resource>:<action>`` and the roles holding them.

Where a permission applies depends on the position's agency, as in identity (``units_served_by``), with two
tightenings: filling in and signing off a unit's report needs a position in an agency *of that unit* (a
department's reporter does not fill in a ward's report), and reviewing (return, accept, reopen) needs a
position in the form's *owner agency*. An active superuser holds every permission everywhere.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.identity.selectors.staff import positions_active, units_served_by_positions


class ReportingPermission(StrEnum):
    """The reporting app's permissions (alphabetised)."""

    REPORTING_FORM_MANAGE = "reporting:form:manage"
    REPORTING_REMINDER_SEND = "reporting:reminder:send"
    REPORTING_REQUEST_SEND = "reporting:request:send"
    REPORTING_SUBMISSION_EDIT = "reporting:submission:edit"
    REPORTING_SUBMISSION_REVIEW = "reporting:submission:review"
    REPORTING_SUBMISSION_SIGN_OFF = "reporting:submission:sign_off"
    REPORTING_SUBMISSION_VIEW = "reporting:submission:view"


P = ReportingPermission

ROLE_PERMISSIONS: dict[str, frozenset[ReportingPermission]] = {
    StaffRole.CLERK: frozenset({P.REPORTING_SUBMISSION_VIEW}),
    # An officer of the owner agency reviews reports; of a ward, may also fill them in.
    StaffRole.OFFICER: frozenset({P.REPORTING_SUBMISSION_VIEW, P.REPORTING_SUBMISSION_REVIEW}),
    StaffRole.LEADER: frozenset(
        {
            P.REPORTING_SUBMISSION_EDIT,
            P.REPORTING_SUBMISSION_REVIEW,
            P.REPORTING_SUBMISSION_SIGN_OFF,
            P.REPORTING_SUBMISSION_VIEW,
        }
    ),
    StaffRole.REPORTER: frozenset({P.REPORTING_SUBMISSION_EDIT, P.REPORTING_SUBMISSION_VIEW}),
    StaffRole.MANAGER: frozenset(
        {P.REPORTING_REMINDER_SEND, P.REPORTING_REQUEST_SEND, P.REPORTING_SUBMISSION_VIEW}
    ),
    StaffRole.OPERATOR: frozenset({P.REPORTING_FORM_MANAGE, P.REPORTING_SUBMISSION_VIEW}),
}


def _usable(user: Any) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def positions_with(user: Any, perm: ReportingPermission | str, *, on_date: dt.date | None = None) -> list:
    """The valid positions of ``user`` whose role holds ``perm``."""
    if not _usable(user):
        return []
    return [
        position
        for position in positions_active(user, on_date=on_date)
        if perm in ROLE_PERMISSIONS.get(position.role, frozenset())
    ]


def has_permission(user: Any, perm: ReportingPermission | str, *, on_date: dt.date | None = None) -> bool:
    """Whether ``user`` holds ``perm`` anywhere (through a valid position, or as a superuser)."""
    if not _usable(user):
        return False
    return bool(user.is_superuser or positions_with(user, perm, on_date=on_date))


def units_with(user: Any, perm: ReportingPermission | str) -> set[int] | None:
    """The ids of the units where ``user`` holds ``perm`` (a city position: every unit); None means all."""
    if not _usable(user):
        return set()
    if user.is_superuser:
        return None
    return units_served_by_positions(positions_with(user, perm))


def reporter_position(
    user: Any, perm: ReportingPermission | str, *, unit_id: int, agency_id: int | None
) -> StaffPosition | None:
    """The position through which ``user`` acts for a reporter with ``perm`` (edit or sign off): a position
    in that agency, or, for a unit's own report, in an agency of that very unit."""
    for position in positions_with(user, perm):
        if agency_id is not None and position.agency_id == agency_id:
            return position
        if agency_id is None and position.agency.unit_id == unit_id:
            return position
    return None


def owner_position(user: Any, *, owner_agency_id: int) -> StaffPosition | None:
    """The position through which ``user`` reviews a form's reports: officer or leader of its owner agency."""
    for position in positions_with(user, P.REPORTING_SUBMISSION_REVIEW):
        if position.agency_id == owner_agency_id:
            return position
    return None


def can_oversee(user: Any, *, owner_agency_id: int | None = None) -> bool:
    """Whether ``user`` sees a form's reports across all units (completeness, any unit's values): a city-level
    position with reporting:submission:view (a city manager), or the staff of the form's owner agency."""
    if not _usable(user):
        return False
    if user.is_superuser:
        return True
    if owner_agency_id is not None and owner_position(user, owner_agency_id=owner_agency_id) is not None:
        return True
    return any(
        position.agency.unit.parent_id is None
        for position in positions_with(user, ReportingPermission.REPORTING_SUBMISSION_VIEW)
    )
