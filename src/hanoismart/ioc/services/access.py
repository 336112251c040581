"""Who may do what here: being signed in, and the unit a manager's setting applies to."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput, NotAuthenticated, PermissionDenied
from hanoismart.directory.models import Unit
from hanoismart.ioc.permissions import IocPermission, has_permission, has_permission_anywhere


def require_signed_in(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise NotAuthenticated(_("Sign in to do this."))


def unit_in_scope(*, actor: Any, perm: IocPermission, code: str, whole_scope: bool = False) -> Unit | None:
    """The unit ``code`` names (``None`` for "" or the city itself), where ``actor`` must hold ``perm``; with
    ``whole_scope``, ``None`` stands for "every unit the actor oversees" and needs ``perm`` anywhere, else it
    stands for the city as a whole and needs a city-level position."""
    unit: Unit | None = None
    if code:
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise InvalidInput(
                _("No unit with code %(code)s.") % {"code": code}, details={"unit": [_("Unknown unit.")]}
            )
        if unit.parent_id is None:
            unit = None
    if unit is None and whole_scope:
        allowed = has_permission_anywhere(actor, perm)
    else:
        allowed = has_permission(actor, perm, unit_id=unit.pk if unit else None)
    if not allowed:
        raise PermissionDenied(_("You may not do this for this unit."))
    return unit
