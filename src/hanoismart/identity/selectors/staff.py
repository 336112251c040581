"""The one place that scopes what a staff member may see (NetBox's ``restrict``): every staff list and detail
page, API and service asks these selectors which units a person serves and which people they may open."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from hanoismart.common.text import fold
from hanoismart.common.validators import normalize_phone
from hanoismart.directory.selectors import unit_descendant_ids
from hanoismart.identity.models import StaffPosition, User
from hanoismart.identity.permissions import ROLE_PERMISSIONS, IdentityPermission

# A name search needs this many letters, so a single letter does not list half the city.
NAME_QUERY_MIN_LENGTH = 2


def positions_active(user: Any, on_date: dt.date | None = None) -> QuerySet[StaffPosition]:
    """The positions ``user`` holds on ``on_date`` (today by default) in an active agency.

    A position is valid from ``valid_from`` up to, not including, ``valid_to``.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return StaffPosition.objects.none()
    return (
        StaffPosition.objects.filter(
            _valid_on(on_date or timezone.localdate()), user=user, agency__is_active=True
        )
        .select_related("agency__unit")
        .order_by("valid_from", "pk")
    )


def roles_of_request(request: Any) -> frozenset[str]:
    """The roles the signed-in user holds today, read once per request: several apps' menu links ask."""
    roles = getattr(request, "_hanoismart_roles", None)
    if roles is None:
        user = getattr(request, "user", None)
        roles = frozenset(positions_active(user).values_list("role", flat=True))
        request._hanoismart_roles = roles
    return roles


def _valid_on(day: dt.date) -> Q:
    """Positions valid on ``day``: from ``valid_from`` up to, not including, ``valid_to``."""
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def positions_in_agency(
    *, agency_id: int, roles: Iterable[str], on_date: dt.date | None = None
) -> QuerySet[StaffPosition]:
    """The positions held on ``on_date`` (today by default) in one agency with one of ``roles``, with their
    holders (e.g. the people a dossier can be handed to)."""
    return StaffPosition.objects.filter(
        _valid_on(on_date or timezone.localdate()), agency_id=agency_id, role__in=list(roles)
    ).select_related("user")


def is_city_level(position: StaffPosition) -> bool:
    """Whether the position's agency serves the whole city or province (a department, the city office):
    its unit is the top of the tree."""
    return position.agency.unit.parent_id is None


def units_served_by_positions(positions: Iterable[StaffPosition]) -> set[int]:
    """The ids of the units these positions serve: each agency's unit, and every unit below a city agency."""
    positions = list(positions)
    units = {position.agency.unit_id for position in positions}
    cities = {position.agency.unit_id for position in positions if is_city_level(position)}
    if cities:
        units |= set(unit_descendant_ids(cities))
    return units


def units_served_by(user: Any, on_date: dt.date | None = None) -> set[int]:
    """The ids of the units ``user`` serves through their valid positions (a city manager: every ward)."""
    return units_served_by_positions(positions_active(user, on_date=on_date))


def is_staff_member(user: Any) -> bool:
    """Whether ``user`` holds any valid staff position today."""
    return positions_active(user).exists()


def positions_granting(
    user: Any, perm: IdentityPermission | str, on_date: dt.date | None = None
) -> list[StaffPosition]:
    """The valid positions of ``user`` whose role holds ``perm``."""
    return [
        position
        for position in positions_active(user, on_date=on_date)
        if perm in ROLE_PERMISSIONS.get(position.role, frozenset())
    ]


def position_serving(user: Any, perm: IdentityPermission | str, unit_id: int | None) -> StaffPosition | None:
    """The position through which ``user`` exercises ``perm`` at ``unit_id``: the most local one (a ward's
    clerk before the city office), so the audit log names the unit that acted."""
    positions = positions_granting(user, perm)
    local = [p for p in positions if unit_id is not None and p.agency.unit_id == unit_id]
    city = [p for p in positions if is_city_level(p)]
    return (local or city or [None])[0]


def _people_visible_through(actor: Any, positions: list[StaffPosition]) -> QuerySet[User]:
    people = User.objects.select_related("ward")
    if actor.is_superuser or any(is_city_level(position) for position in positions):
        return people
    if positions:
        return people.filter(Q(ward_id__in=units_served_by_positions(positions)) | Q(pk=actor.pk))
    return people.filter(pk=actor.pk)


def people_visible_to(*, actor: Any) -> QuerySet[User]:
    """The accounts ``actor`` may open: everybody for a city-level role with identity:person:view, the
    residents of the wards served for a local one, and otherwise (a resident, a reporter) only themself."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return User.objects.none()
    return _people_visible_through(actor, positions_granting(actor, IdentityPermission.IDENTITY_PERSON_VIEW))


def people_search(*, actor: Any, query: str) -> QuerySet[User]:
    """The people visible to ``actor`` that ``query`` names: a national ID (exact), a mobile number (exact),
    or words of a name, diacritics ignored. Without identity:person:view, or with an empty query: nobody."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return User.objects.none()
    positions = positions_granting(actor, IdentityPermission.IDENTITY_PERSON_VIEW)
    if not positions and not actor.is_superuser:
        return User.objects.none()
    people = _people_visible_through(actor, positions).order_by("full_name_folded", "pk")
    text = " ".join((query or "").split())
    compact = text.replace(" ", "")
    if compact.isdigit() and len(compact) == 12:
        return people.filter(national_id=compact)
    try:
        return people.filter(phone=normalize_phone(text))
    except ValidationError:
        pass
    folded = fold(text)
    if len(folded.replace(" ", "")) < NAME_QUERY_MIN_LENGTH or folded.replace(" ", "").isdigit():
        return User.objects.none()
    return people.filter(full_name_folded__contains=folded)
