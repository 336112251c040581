"""The identity API: the caller's own account and organisations, and the staff search of residents.

All operations use the browser session (``django_auth``; writes need the CSRF token); ``/me`` also accepts
a bearer token (``api_auth``). Staff operations need
identity:person:view and a confirmed second factor, and see only the residents of the units they serve.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import paginate
from ninja.security import django_auth

from hanoismart.common.errors import InvalidInput, NotFound, PermissionDenied
from hanoismart.common.pagination import PageNumber
from hanoismart.directory.selectors import unit_by_code
from hanoismart.identity.api_auth import token_or_session
from hanoismart.identity.middleware import client_ip
from hanoismart.identity.models import Organisation, StaffPosition, User
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.schemas import (
    ErrorOut,
    MeOut,
    OrganisationIn,
    OrganisationOut,
    PersonOut,
    PersonSummaryOut,
)
from hanoismart.identity.selectors.organisations import memberships_of
from hanoismart.identity.selectors.staff import people_search, positions_active
from hanoismart.identity.services.organisations import organisation_register
from hanoismart.identity.services.staff import person_open

router = Router(tags=["identity"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _unit(unit: Any) -> dict[str, str] | None:
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def _organisation(organisation: Organisation, role: str | None = None) -> dict[str, Any]:
    return {
        "public_id": organisation.public_id,
        "tax_code": organisation.tax_code,
        "name": organisation.name,
        "kind": organisation.kind,
        "address": organisation.address,
        "ward": _unit(organisation.ward),
        "role": role,
    }


def _organisations(user: User) -> list[dict[str, Any]]:
    return [_organisation(m.organisation, m.role) for m in memberships_of(user)]


def _position(position: StaffPosition) -> dict[str, Any]:
    return {
        "role": position.role,
        "role_label": position.get_role_display(),
        "title": position.title,
        "agency": {
            "code": position.agency.code,
            "name": position.agency.name,
            "unit": _unit(position.agency.unit),
        },
        "valid_from": position.valid_from,
        "valid_to": position.valid_to,
    }


def _require_staff(request: HttpRequest) -> None:
    """Refuse callers without identity:person:view, or staff whose session lacks the second factor."""
    user = request.user
    if not has_permission(user, IdentityPermission.IDENTITY_PERSON_VIEW):
        raise PermissionDenied(_("Only staff can search residents."))
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and not is_verified():
        raise PermissionDenied(
            _("Confirm your second factor (authenticator app) to use staff functions."),
            code="second_factor_required",
        )


@router.get(
    "/me",
    response={200: MeOut, **ERRORS},
    summary="My account",
    auth=token_or_session("openid", "profile", any_scope=True),
)
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller's profile, assurance level, staff positions held today and organisations. Also with a
    bearer token from the OpenID Connect provider carrying the scope ``openid`` or ``profile``."""
    user = request.user
    positions = list(positions_active(user))
    return {
        "public_id": user.public_id,
        "national_id": user.national_id,
        "full_name": user.full_name,
        "date_of_birth": user.date_of_birth,
        "phone": user.phone,
        "email": user.email,
        "ward": _unit(user.ward),
        "assurance_level": user.assurance_level,
        "assurance_level_label": user.get_assurance_level_display(),
        "is_staff_member": bool(positions),
        "positions": [_position(position) for position in positions],
        "organisations": _organisations(user),
    }


@router.get("/me/organisations", response={200: list[OrganisationOut], **ERRORS}, summary="My organisations")
def my_organisations(request: HttpRequest) -> list[dict[str, Any]]:
    """The organisations the caller may act for, with their role in each."""
    return _organisations(request.user)


@router.post(
    "/organisations",
    response={201: OrganisationOut, 400: ErrorOut, 409: ErrorOut, **ERRORS},
    summary="Register an organisation",
)
def organisation_create(request: HttpRequest, payload: OrganisationIn) -> Status:
    """Register an organisation by its tax code (MST); the caller, whose identity must be verified, becomes
    its legal representative. A wrong check digit answers 400, a tax code already registered 409."""
    ward = None
    if payload.ward_code:
        try:
            ward = unit_by_code(payload.ward_code.strip())
        except NotFound:
            message = _("No ward or commune has this code.")
            raise InvalidInput(message, code="ward_unknown", details={"ward_code": [message]}) from None
    organisation = organisation_register(
        actor=request.user,
        tax_code=payload.tax_code,
        name=payload.name,
        kind=payload.kind,
        address=payload.address,
        ward=ward,
    )
    return Status(201, _organisation(organisation, "legal_representative"))


@router.get(
    "/staff/people", response={200: list[PersonSummaryOut], **ERRORS}, summary="Search residents (staff)"
)
@paginate(PageNumber)
def staff_people(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=100, description="National ID, mobile number or name"),
):
    """Residents of the units the caller serves that the query names: a national ID or mobile number exactly,
    or a name with or without diacritics. National IDs are masked; open a record to see it in full."""
    _require_staff(request)
    return people_search(actor=request.user, query=q)


@router.get(
    "/staff/people/{public_id}",
    response={200: PersonOut, **ERRORS},
    summary="Open a resident's record (staff)",
)
def staff_person(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    """One resident's record. Opening it is recorded, and the resident sees who opened it; a resident outside
    the caller's units answers 404."""
    _require_staff(request)
    person = person_open(actor=request.user, public_id=public_id, ip=client_ip(request))
    return {
        "public_id": person.public_id,
        "national_id": person.national_id,
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth,
        "phone": person.phone,
        "email": person.email,
        "ward": _unit(person.ward),
        "assurance_level": person.assurance_level,
        "verified_at": person.verified_at,
        "is_active": person.is_active,
        "organisations": _organisations(person),
    }
