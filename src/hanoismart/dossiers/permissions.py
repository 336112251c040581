"""Who may do what with dossiers: permissions named ``<scope>:<resource>:<action>``, and the roles.

A staff member acts on a dossier through a valid position in the dossier's receiving agency, or in an agency
of the city (a city-level position serves every unit, as in identity). Residents act on their own dossiers
without any permission here: ownership is checked by the services (``dossier.applicant == actor``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from hanoismart.identity.api_auth import holds_no_staff_position
from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.identity.selectors.staff import is_city_level, positions_active


class DossierPermission(StrEnum):
    """The dossiers app's permissions (alphabetised)."""

    DOSSIER_ASSIGN = "dossiers:dossier:assign"
    DOSSIER_PROCESS = "dossiers:dossier:process"
    DOSSIER_RECEIVE = "dossiers:dossier:receive"
    DOSSIER_REGISTER = "dossiers:dossier:register"
    DOSSIER_RETURN = "dossiers:dossier:return"
    DOSSIER_SIGN = "dossiers:dossier:sign"
    DOSSIER_STATS_VIEW = "dossiers:stats:view"
    DOSSIER_VIEW = "dossiers:dossier:view"


P = DossierPermission

ROLE_PERMISSIONS: dict[str, frozenset[DossierPermission]] = {
    # The one-stop desk: registers paper dossiers, receives or refuses, asks for supplements, returns results.
    StaffRole.CLERK: frozenset(
        {P.DOSSIER_ASSIGN, P.DOSSIER_RECEIVE, P.DOSSIER_REGISTER, P.DOSSIER_RETURN, P.DOSSIER_VIEW}
    ),
    # The processing officer examines, asks for supplements, proposes a decision.
    StaffRole.OFFICER: frozenset({P.DOSSIER_PROCESS, P.DOSSIER_VIEW}),
    # The leader approves and signs results, and hands dossiers to officers.
    StaffRole.LEADER: frozenset(
        {P.DOSSIER_ASSIGN, P.DOSSIER_PROCESS, P.DOSSIER_SIGN, P.DOSSIER_STATS_VIEW, P.DOSSIER_VIEW}
    ),
    StaffRole.REPORTER: frozenset(),
    StaffRole.MANAGER: frozenset({P.DOSSIER_STATS_VIEW, P.DOSSIER_VIEW}),
    StaffRole.OPERATOR: frozenset({P.DOSSIER_STATS_VIEW, P.DOSSIER_VIEW}),
}


def positions_with(user: Any, perm: DossierPermission | str, *, on_date: dt.date | None = None) -> list:
    """The valid positions of ``user`` whose role holds ``perm`` (no query for a user known to hold none)."""
    if user is None or not user.is_authenticated or not user.is_active or holds_no_staff_position(user):
        return []
    return [
        position
        for position in positions_active(user, on_date=on_date)
        if perm in ROLE_PERMISSIONS.get(position.role, frozenset())
    ]


def position_for(user: Any, perm: DossierPermission | str, *, agency_id: int) -> StaffPosition | None:
    """The position through which ``user`` holds ``perm`` on dossiers of agency ``agency_id``: one in that
    agency, else (for oversight only: view and statistics) a city-level one."""
    positions = positions_with(user, perm)
    for position in positions:
        if position.agency_id == agency_id:
            return position
    if perm in (P.DOSSIER_VIEW, P.DOSSIER_STATS_VIEW):
        for position in positions:
            if is_city_level(position):
                return position
    return None
