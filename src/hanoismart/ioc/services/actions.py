"""People acting on alerts: acknowledge, assign, resolve, reopen, comment — each a timeline line and an audit
event."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.identity.selectors.staff import people_visible_to, units_served_by
from hanoismart.ioc.models import Alert, AlertEvent, AlertState
from hanoismart.ioc.permissions import IocPermission, has_permission, units_with
from hanoismart.ioc.services.access import require_signed_in
from hanoismart.ioc.services.notifying import send
from hanoismart.notifications.models import Channel

ACTIONS = ("acknowledge", "assign", "resolve", "reopen", "comment")
NOTE_MAX_LENGTH = 2000


def _owner_for(*, actor: Any, alert: Alert, owner: Any) -> Any:
    """The person an alert is handed to: ``owner`` (an account or its public id) among the people the actor
    may see, who must serve the alert's unit; the actor when ``owner`` is None."""
    if owner is None or owner == "":
        candidate = actor
    elif hasattr(owner, "pk"):
        candidate = owner
    else:
        try:
            key = uuid.UUID(str(owner))
        except ValueError:
            raise InvalidInput(
                _("Choose who will own the alert."), details={"owner": [_("Unknown person.")]}
            ) from None
        candidate = people_visible_to(actor=actor).filter(public_id=key).first()
        if candidate is None:
            raise InvalidInput(_("Choose who will own the alert."), details={"owner": [_("Unknown person.")]})
    served = units_served_by(candidate)
    serves = (
        (alert.unit_id in served)
        if alert.unit_id is not None
        else (units_with(candidate, IocPermission.DASHBOARD_VIEW) is None)
    )
    if not candidate.is_active or not serves:
        raise InvalidInput(
            _("%(name)s does not serve the unit of this alert.") % {"name": candidate},
            details={"owner": [_("Choose someone who serves this unit.")]},
        )
    return candidate


def alert_act(*, actor: Any, alert: Alert, action: str, note: str = "", owner: Any = None) -> Alert:
    """Act on an alert: ``acknowledge`` (a new one), ``assign`` (to ``owner``, default the actor),
    ``resolve``, ``reopen`` (a resolved one), ``comment`` (``note`` required). Needs ``ioc:alert:act`` at
    the alert's unit (the city's for an alert of the whole city). Writes a timeline line and an audit event;
    tells a new owner. ``PermissionDenied``/``InvalidInput`` leave nothing written."""
    require_signed_in(actor)
    if action not in ACTIONS:
        raise InvalidInput(
            _("Unknown action. Choose one of: %(choices)s.") % {"choices": ", ".join(ACTIONS)},
            details={"action": [_("Unknown action.")]},
        )
    if not has_permission(actor, IocPermission.ALERT_ACT, unit_id=alert.unit_id):
        raise PermissionDenied(_("You may not act on alerts of this unit."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(
            _("The note is too long (at most %(max)d characters).") % {"max": NOTE_MAX_LENGTH},
            details={"note": [_("Too long.")]},
        )
    now = timezone.now()
    with transaction.atomic():
        current = Alert.objects.select_for_update(of=("self",)).select_related("unit").get(pk=alert.pk)
        new_owner = None
        if action == "acknowledge":
            if current.state == AlertState.RESOLVED:
                raise InvalidInput(_("A resolved alert cannot be acknowledged; reopen it first."))
            if current.state == AlertState.ACKNOWLEDGED:
                raise InvalidInput(_("This alert is already acknowledged."))
            current.state = AlertState.ACKNOWLEDGED
        elif action == "assign":
            if current.state == AlertState.RESOLVED:
                raise InvalidInput(_("A resolved alert cannot be assigned; reopen it first."))
            new_owner = _owner_for(actor=actor, alert=current, owner=owner)
            current.owner = new_owner
            if current.state == AlertState.NEW:
                current.state = AlertState.ACKNOWLEDGED
        elif action == "resolve":
            if current.state == AlertState.RESOLVED:
                raise InvalidInput(_("This alert is already resolved."))
            current.state = AlertState.RESOLVED
            current.resolved_at = now
            current.resolved_reason = ""  # a person's decision: the detection will not reopen it
        elif action == "reopen":
            if current.state != AlertState.RESOLVED:
                raise InvalidInput(_("Only a resolved alert can be reopened."))
            current.state = AlertState.NEW
            current.resolved_at = None
            current.resolved_reason = ""
        elif not note:
            raise InvalidInput(_("Write a comment."), details={"note": [_("This field is required.")]})
        current.save()
        AlertEvent.objects.create(alert=current, at=now, actor=actor, action=action, note=note)
        audit_record(
            actor=actor,
            action=f"ioc.alert_{action}",
            obj=current,
            unit_code=current.unit.code if current.unit_id else "",
            details={
                "kind": current.kind,
                "state": current.state,
                **({"owner": str(new_owner.public_id)} if new_owner is not None else {}),
            },
        )
        if new_owner is not None and new_owner.pk != actor.pk:
            transaction.on_commit(
                partial(
                    send, current, new_owner, [Channel.IN_APP], "assigned", occasion=f"-{now.timestamp()}"
                ),
                robust=True,
            )
    return current
