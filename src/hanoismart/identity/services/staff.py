"""What staff and operators do with people's records: open one (audited, so the resident sees it), create and
correct accounts at the operator desk, and appoint or end staff positions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hanoismart.common.validators import normalize_phone, parse_national_id
from hanoismart.directory.models import Agency, Unit
from hanoismart.identity.models import AssuranceLevel, StaffPosition, StaffRole, User
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.selectors.staff import people_visible_to, position_serving, positions_active

# Roles that only make sense for the whole city: they act on every ward.
CITY_ONLY_ROLES = frozenset({StaffRole.MANAGER, StaffRole.OPERATOR})
# Account fields an operator may correct at the desk (identity facts come from the population registry).
OPERATOR_EDITABLE_FIELDS = frozenset(
    {"full_name", "phone", "email", "date_of_birth", "ward", "preferred_language", "is_active", "is_staff"}
)


def _require(actor: Any, perm: IdentityPermission, message: str) -> None:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in to use this."))
    if not has_permission(actor, perm):
        raise PermissionDenied(message)


def _role_and_unit(actor: Any, perm: IdentityPermission, unit_id: int | None) -> tuple[str, str]:
    """The role and unit code the audit log records for ``actor`` acting at ``unit_id``."""
    position = position_serving(actor, perm, unit_id)
    if position is None:
        position = positions_active(actor).first()
    if position is None:
        return ("superuser" if actor.is_superuser else "", "")
    return (position.role, position.agency.unit.code)


@transaction.atomic
def person_open(*, actor: Any, public_id: uuid.UUID | str, ip: str | None = None) -> User:
    """Open a resident's record for a staff member with identity:person:view, within the units they serve.

    Records ``identity.person.viewed`` naming the staff member, their role and unit, so the resident sees it
    under "who accessed my data". A record outside the actor's units is reported as not found, as if it did
    not exist, and nothing is recorded.
    """
    _require(actor, IdentityPermission.IDENTITY_PERSON_VIEW, _("Only staff can open a resident's record."))
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound(_("No such person.")) from None
    person = people_visible_to(actor=actor).filter(public_id=key).first()
    if person is None:
        raise NotFound(_("No such person."))
    role, unit_code = _role_and_unit(actor, IdentityPermission.IDENTITY_PERSON_VIEW, person.ward_id)
    audit_record(
        actor=actor,
        action="identity.person.viewed",
        obj=person,
        subject=person,
        actor_role=role,
        unit_code=unit_code,
        ip=ip,
    )
    return person


def _check_national_id(national_id: str, date_of_birth: dt.date | None) -> str:
    number = (national_id or "").strip().replace(" ", "")
    try:
        facts = parse_national_id(number)
    except ValidationError as error:
        raise InvalidInput(
            error.messages[0], code=error.code, details={"national_id": error.messages}
        ) from None
    if date_of_birth is not None and date_of_birth.year != facts.birth_year:
        message = _("The national ID number says the person was born in %(year)s.") % {
            "year": facts.birth_year
        }
        raise InvalidInput(message, code="national_id_birth_year", details={"date_of_birth": [message]})
    return number


def _check_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return normalize_phone(phone)
    except ValidationError as error:
        raise InvalidInput(error.messages[0], code=error.code, details={"phone": error.messages}) from None


@transaction.atomic
def person_create(
    *,
    actor: Any,
    national_id: str,
    full_name: str,
    date_of_birth: dt.date | None = None,
    phone: str | None = None,
    email: str | None = None,
    ward: Unit | None = None,
    ip: str | None = None,
) -> User:
    """Create an account at the operator desk (identity:person:manage), for someone who cannot register
    online. The CCCD must be well formed and agree with the birth year; the account has no password until
    its owner sets one, and starts self-registered until verified against the population registry."""
    _require(actor, IdentityPermission.IDENTITY_PERSON_MANAGE, _("Only operators can create accounts."))
    number = _check_national_id(national_id, date_of_birth)
    name = " ".join((full_name or "").split())
    if not name:
        raise InvalidInput(_("Enter the person's full name."), details={"full_name": [_("Required.")]})
    if User.objects.filter(national_id=number).exists():
        raise Conflict(_("An account with this national ID number already exists."), code="national_id_taken")
    phone = _check_phone(phone)
    if phone and User.objects.filter(phone=phone).exists():
        raise Conflict(_("Another account uses this mobile number."), code="phone_taken")
    email = (email or "").strip().lower() or None
    if email and User.objects.filter(email__iexact=email).exists():
        raise Conflict(_("Another account uses this email address."), code="email_taken")
    user = User(
        national_id=number,
        full_name=name,
        date_of_birth=date_of_birth,
        phone=phone,
        email=email,
        ward=ward,
        assurance_level=AssuranceLevel.SELF_REGISTERED,
    )
    user.set_unusable_password()
    user.save()
    audit_record(
        actor=actor,
        action="identity.person.created",
        obj=user,
        subject=user,
        actor_role=_role_and_unit(actor, IdentityPermission.IDENTITY_PERSON_MANAGE, None)[0],
        ip=ip,
    )
    return user


@transaction.atomic
def person_update(*, actor: Any, person: User, changes: dict[str, Any], ip: str | None = None) -> User:
    """Correct an account's contact details or status at the operator desk (identity:person:manage).

    Only ``OPERATOR_EDITABLE_FIELDS`` may change; the audit event lists the fields changed, not their values.
    """
    _require(actor, IdentityPermission.IDENTITY_PERSON_MANAGE, _("Only operators can change accounts."))
    unknown = set(changes) - OPERATOR_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    if "phone" in changes:
        changes["phone"] = _check_phone(changes["phone"])
        if changes["phone"] and User.objects.filter(phone=changes["phone"]).exclude(pk=person.pk).exists():
            raise Conflict(_("Another account uses this mobile number."), code="phone_taken")
    if "date_of_birth" in changes and changes["date_of_birth"] is not None:
        _check_national_id(person.national_id, changes["date_of_birth"])
    changed = sorted(field for field, value in changes.items() if getattr(person, field) != value)
    if not changed:
        return person
    for field in changed:
        setattr(person, field, changes[field])
    person.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="identity.person.changed",
        obj=person,
        subject=person,
        actor_role=_role_and_unit(actor, IdentityPermission.IDENTITY_PERSON_MANAGE, None)[0],
        ip=ip,
        details={"fields": changed},
    )
    return person


@transaction.atomic
def position_assign(
    *,
    actor: Any,
    user: User,
    role: str,
    agency: Agency,
    title: str = "",
    valid_from: dt.date | None = None,
) -> StaffPosition:
    """Appoint ``user`` to ``role`` in ``agency`` from ``valid_from`` (today by default); operators only
    (identity:position:manage). Managers and operators belong to a city-level agency."""
    _require(actor, IdentityPermission.IDENTITY_POSITION_MANAGE, _("Only operators can appoint staff."))
    if role not in StaffRole.values:
        raise InvalidInput(_("Choose a staff role from the list."), details={"role": [_("Unknown role.")]})
    if not user.is_active:
        raise InvalidInput(_("This account is deactivated."), code="user_inactive")
    if not agency.is_active:
        raise InvalidInput(_("This agency is no longer active."), code="agency_inactive")
    if role in CITY_ONLY_ROLES and agency.unit.parent_id is not None:
        raise InvalidInput(
            _("A city manager or operator is appointed to a city-level agency."), code="role_needs_city"
        )
    start = valid_from or timezone.localdate()
    if StaffPosition.objects.filter(user=user, role=role, agency=agency, valid_to__isnull=True).exists():
        raise Conflict(_("This person already holds this role in this agency."), code="position_exists")
    try:
        with transaction.atomic():
            position = StaffPosition.objects.create(
                user=user, role=role, agency=agency, title=(title or "").strip(), valid_from=start
            )
    except IntegrityError:
        raise Conflict(
            _("This person already holds this role in this agency."), code="position_exists"
        ) from None
    audit_record(
        actor=actor,
        action="identity.position.assigned",
        obj=position,
        subject=user,
        actor_role=_role_and_unit(actor, IdentityPermission.IDENTITY_POSITION_MANAGE, None)[0],
        unit_code=agency.unit.code,
        details={"role": role, "agency": agency.code, "valid_from": start.isoformat()},
    )
    return position


@transaction.atomic
def position_end(*, actor: Any, position: StaffPosition, on_date: dt.date) -> StaffPosition:
    """End a staff position: from ``on_date`` on, it no longer counts. Operators only
    (identity:position:manage); the end falls after the start, and a position ends once."""
    _require(actor, IdentityPermission.IDENTITY_POSITION_MANAGE, _("Only operators can end staff positions."))
    position = StaffPosition.objects.select_for_update().select_related("agency__unit").get(pk=position.pk)
    if position.valid_to is not None:
        raise Conflict(_("This position has already ended."), code="position_ended")
    if on_date <= position.valid_from:
        raise InvalidInput(
            _("A position ends after the day it started (%(day)s).")
            % {"day": position.valid_from.isoformat()},
            code="position_end_before_start",
        )
    position.valid_to = on_date
    position.save(update_fields=["valid_to"])
    audit_record(
        actor=actor,
        action="identity.position.ended",
        obj=position,
        subject=position.user,
        actor_role=_role_and_unit(actor, IdentityPermission.IDENTITY_POSITION_MANAGE, None)[0],
        unit_code=position.agency.unit.code,
        details={"role": position.role, "agency": position.agency.code, "valid_to": on_date.isoformat()},
    )
    return position
