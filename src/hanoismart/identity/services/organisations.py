"""Registering organisations and managing who may act for them.

Rules: a tax code (MST) is registered once; whoever registers an organisation becomes its legal representative
(operators may name someone else); legal representatives authorise other people, and only operators add or
remove legal representatives, since that role follows the business registration. An organisation always keeps
at least one legal representative.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from hanoismart.common.validators import normalize_tax_code
from hanoismart.directory.models import Unit
from hanoismart.identity.models import (
    AssuranceLevel,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    User,
)
from hanoismart.identity.permissions import IdentityPermission, has_permission
from hanoismart.identity.selectors.organisations import is_legal_representative

ORGANISATION_NAME_MAX_LENGTH = 255


def _require_signed_in(actor: Any) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotAuthenticated(_("Sign in to use this."))


def _is_operator(actor: Any) -> bool:
    return has_permission(actor, IdentityPermission.IDENTITY_ORGANISATION_MANAGE)


def _tax_code(value: str) -> str:
    try:
        return normalize_tax_code(value)
    except ValidationError as error:
        raise InvalidInput(error.messages[0], code=error.code, details={"tax_code": error.messages}) from None


@transaction.atomic
def organisation_register(
    *,
    actor: Any,
    tax_code: str,
    name: str,
    kind: str,
    address: str = "",
    ward: Unit | None = None,
    legal_representative: User | None = None,
) -> Organisation:
    """Register an organisation by its tax code, with ``actor`` (or, for an operator, the person named) as
    its legal representative. The registrant's identity must be verified (level 1 or above)."""
    _require_signed_in(actor)
    representative = legal_representative or actor
    if representative != actor and not _is_operator(actor):
        raise PermissionDenied(_("Only operators can register an organisation for someone else."))
    if representative.assurance_level < AssuranceLevel.LEVEL_1:
        raise PermissionDenied(
            _("The legal representative's identity must be verified before registering an organisation."),
            code="assurance_too_low",
        )
    code = _tax_code(tax_code)
    clean_name = " ".join((name or "").split())
    if not clean_name:
        raise InvalidInput(_("Enter the organisation's name."), details={"name": [_("Required.")]})
    if len(clean_name) > ORGANISATION_NAME_MAX_LENGTH:
        raise InvalidInput(_("The name is too long."), details={"name": [_("At most 255 characters.")]})
    if kind not in OrganisationKind.values:
        raise InvalidInput(
            _("Choose a kind of organisation from the list."), details={"kind": [_("Unknown.")]}
        )
    if ward is not None and ward.parent_id is None:
        raise InvalidInput(_("Choose a ward or commune."), details={"ward": [_("Not a ward or commune.")]})
    if Organisation.objects.filter(tax_code=code).exists():
        raise Conflict(_("An organisation with this tax code is already registered."), code="tax_code_taken")
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                tax_code=code, name=clean_name, kind=kind, address=(address or "").strip()[:255], ward=ward
            )
    except IntegrityError:
        raise Conflict(
            _("An organisation with this tax code is already registered."), code="tax_code_taken"
        ) from None
    Membership.objects.create(
        user=representative, organisation=organisation, role=MembershipRole.LEGAL_REPRESENTATIVE
    )
    audit_record(
        actor=actor,
        action="identity.organisation.registered",
        obj=organisation,
        subject=representative,
        unit_code=ward.code if ward else "",
        details={"tax_code": code, "legal_representative": str(representative.public_id)},
    )
    return organisation


def _check_may_manage(actor: Any, organisation: Organisation, role: str) -> None:
    """Legal representatives manage authorised members; operators manage everyone."""
    if _is_operator(actor):
        return
    if role == MembershipRole.LEGAL_REPRESENTATIVE:
        raise PermissionDenied(_("Only operators can change an organisation's legal representatives."))
    if not is_legal_representative(actor, organisation):
        raise PermissionDenied(_("Only the organisation's legal representative can do this."))


@transaction.atomic
def membership_add(*, actor: Any, organisation: Organisation, user: User, role: str) -> Membership:
    """Let ``user`` act for ``organisation`` in ``role`` (see the module's rules on who may do this)."""
    _require_signed_in(actor)
    if role not in MembershipRole.values:
        raise InvalidInput(_("Choose a role from the list."), details={"role": [_("Unknown role.")]})
    _check_may_manage(actor, organisation, role)
    if not user.is_active:
        raise InvalidInput(_("This account is deactivated."), code="user_inactive")
    if Membership.objects.filter(organisation=organisation, user=user).exists():
        raise Conflict(_("This person already acts for this organisation."), code="membership_exists")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(organisation=organisation, user=user, role=role)
    except IntegrityError:
        raise Conflict(
            _("This person already acts for this organisation."), code="membership_exists"
        ) from None
    audit_record(
        actor=actor,
        action="identity.membership.added",
        obj=organisation,
        subject=user,
        details={"tax_code": organisation.tax_code, "role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership) -> None:
    """Stop a person acting for an organisation. An authorised person may also withdraw themself; the last
    legal representative cannot be removed."""
    _require_signed_in(actor)
    membership = Membership.objects.select_related("organisation", "user").get(pk=membership.pk)
    organisation = membership.organisation
    withdrawing = membership.user_id == actor.pk and membership.role == MembershipRole.AUTHORISED
    if not withdrawing:
        _check_may_manage(actor, organisation, membership.role)
    if membership.role == MembershipRole.LEGAL_REPRESENTATIVE:
        others = Membership.objects.filter(
            organisation=organisation, role=MembershipRole.LEGAL_REPRESENTATIVE
        ).exclude(pk=membership.pk)
        if not others.exists():
            raise Conflict(
                _("An organisation keeps at least one legal representative."),
                code="last_legal_representative",
            )
    membership.delete()
    audit_record(
        actor=actor,
        action="identity.membership.removed",
        obj=organisation,
        subject=membership.user,
        details={"tax_code": organisation.tax_code, "role": membership.role},
    )


ORGANISATION_EDITABLE_FIELDS = frozenset({"name", "kind", "address", "ward"})


@transaction.atomic
def organisation_update(*, actor: Any, organisation: Organisation, changes: dict[str, Any]) -> Organisation:
    """Correct an organisation's name, kind, address or ward (its legal representative or an operator).
    The tax code never changes: a new tax code is a new organisation."""
    _require_signed_in(actor)
    if not _is_operator(actor) and not is_legal_representative(actor, organisation):
        raise PermissionDenied(_("Only the organisation's legal representative can do this."))
    unknown = set(changes) - ORGANISATION_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    if "name" in changes:
        changes["name"] = " ".join((changes["name"] or "").split())
        if not changes["name"]:
            raise InvalidInput(_("Enter the organisation's name."), details={"name": [_("Required.")]})
    if "kind" in changes and changes["kind"] not in OrganisationKind.values:
        raise InvalidInput(
            _("Choose a kind of organisation from the list."), details={"kind": [_("Unknown.")]}
        )
    ward = changes.get("ward")
    if ward is not None and ward.parent_id is None:
        raise InvalidInput(_("Choose a ward or commune."), details={"ward": [_("Not a ward or commune.")]})
    changed = sorted(field for field, value in changes.items() if getattr(organisation, field) != value)
    if not changed:
        return organisation
    for field in changed:
        setattr(organisation, field, changes[field])
    organisation.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="identity.organisation.changed",
        obj=organisation,
        details={"tax_code": organisation.tax_code, "fields": changed},
    )
    return organisation
