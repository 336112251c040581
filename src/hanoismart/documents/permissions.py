"""Who may do what with the document store: permissions named ``<scope>:<resource>:<action>``, and the roles.

Owners act on their own documents without any permission here (the services check ownership). Staff issue a
result only for an agency they hold a leader's position in; revoking needs a leader of the issuing agency or
an operator; a clerk, officer or leader anywhere may digitise a paper presented at their desk.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.identity.selectors.staff import positions_active


class DocumentPermission(StrEnum):
    """The documents app's permissions (alphabetised)."""

    DOCUMENT_DIGITISE = "documents:document:digitise"
    DOCUMENT_ISSUE = "documents:document:issue"
    DOCUMENT_REVOKE = "documents:document:revoke"
    DOCUMENT_REVOKE_ANY = "documents:document:revoke_any"


P = DocumentPermission

ROLE_PERMISSIONS: dict[str, frozenset[DocumentPermission]] = {
    StaffRole.CLERK: frozenset({P.DOCUMENT_DIGITISE}),
    StaffRole.OFFICER: frozenset({P.DOCUMENT_DIGITISE}),
    StaffRole.LEADER: frozenset({P.DOCUMENT_DIGITISE, P.DOCUMENT_ISSUE, P.DOCUMENT_REVOKE}),
    StaffRole.REPORTER: frozenset(),
    StaffRole.MANAGER: frozenset(),
    # Operators correct mistakes anywhere (a result issued to the wrong person).
    StaffRole.OPERATOR: frozenset({P.DOCUMENT_REVOKE, P.DOCUMENT_REVOKE_ANY}),
}


def positions_with(user: Any, perm: DocumentPermission | str) -> list[StaffPosition]:
    """The valid positions of ``user`` whose role holds ``perm``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    return [
        position
        for position in positions_active(user)
        if perm in ROLE_PERMISSIONS.get(position.role, frozenset())
    ]


def position_for(user: Any, perm: DocumentPermission | str, *, agency_id: int | None) -> StaffPosition | None:
    """The position through which ``user`` holds ``perm`` for documents of agency ``agency_id``: one in that
    agency; for revoking, also an operator's anywhere; with ``agency_id=None``, any position holding it."""
    positions = positions_with(user, perm)
    for position in positions:
        if agency_id is None or position.agency_id == agency_id:
            return position
    if perm == P.DOCUMENT_REVOKE:
        for position in positions_with(user, P.DOCUMENT_REVOKE_ANY):
            return position
    return None
