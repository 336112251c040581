"""What every dossier service shares: who may act (one check), locking the row, and the record each change
leaves behind — the timeline event, the audit event, the national-portal sync message and the applicant's
notification (after commit). A refused action raises before any of these is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_event_build, audit_events_record
from hanoismart.common.errors import NotAuthenticated, PermissionDenied
from hanoismart.directory.selectors import working_calendar
from hanoismart.dossiers.models import Dossier, DossierEvent, PortalSyncMessage
from hanoismart.dossiers.permissions import DossierPermission, position_for
from hanoismart.dossiers.services import rollups
from hanoismart.dossiers.services.portal import portal_deliver_dossier
from hanoismart.notifications.services import message_send

NOTIFY_CHANNELS = ("in_app", "sms")


@dataclass(frozen=True)
class Acting:
    """How an actor acts on a dossier: as its applicant, through a staff position, or as a superuser."""

    user: Any
    role: str
    label: str


def now() -> dt.datetime:
    return timezone.now()


def calendar():
    """The city's working calendar (cached per process by directory)."""
    return working_calendar()


def require_signed_in(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise NotAuthenticated(_("Sign in to do this."))


def acting_as_staff(actor: Any, dossier: Dossier, *perms: DossierPermission) -> Acting:
    """The position through which ``actor`` holds one of ``perms`` in the dossier's agency (a superuser
    passes); PermissionDenied otherwise, before anything is written."""
    require_signed_in(actor)
    if actor.is_superuser:
        return Acting(user=actor, role="superuser", label=str(actor))
    for perm in perms:
        position = position_for(actor, perm, agency_id=dossier.agency_id)
        if position is not None:
            return Acting(user=actor, role=position.role, label=str(actor))
    raise PermissionDenied(
        _("You do not serve the agency handling this dossier, or your role cannot do this.")
    )


def acting_as_applicant(actor: Any, dossier: Dossier) -> Acting:
    """The applicant acting on their own dossier; PermissionDenied for anyone else."""
    require_signed_in(actor)
    if dossier.applicant_id is None or dossier.applicant_id != actor.pk:
        raise PermissionDenied(_("Only the applicant can do this."))
    return Acting(user=actor, role="applicant", label=str(actor))


def locked(dossier: Dossier) -> Dossier:
    """The dossier re-read under a row lock, so two actions on one dossier run one after the other, with
    its roll-up contribution taken then (``rollups.track``; ``record`` applies the change)."""
    current = (
        Dossier.objects.select_for_update(of=("self",))
        .select_related("case", "procedure", "agency", "step")
        .get(pk=dossier.pk)
    )
    return rollups.track(current)


def portal_payload(dossier: Dossier) -> dict[str, Any]:
    """What the national portal receives on a status change: codes, status and dates (no personal data
    beyond what the portal already holds about the dossier)."""

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "code": dossier.code,
        "procedure_code": dossier.procedure.national_code,
        "agency_code": dossier.agency.code,
        "status": dossier.status,
        "channel": dossier.channel,
        "submitted_at": iso(dossier.submitted_at),
        "received_at": iso(dossier.received_at),
        "due_at": iso(dossier.due_at),
        "finished_at": iso(dossier.finished_at),
        "returned_at": iso(dossier.returned_at),
        "timeliness": dossier.timeliness,
        "result_document": str(dossier.result_document.public_id) if dossier.result_document_id else None,
    }


def portal_message_queue(*, dossier: Dossier, is_first: bool = False) -> PortalSyncMessage:
    """Queue the dossier's current status for the national portal (next sequence number of the dossier; 1
    without asking when ``is_first``, for a dossier created in this transaction). ``record`` has it delivered
    after commit; the periodic sweep delivers whatever that missed."""
    if is_first:
        last = 0
    else:
        last = PortalSyncMessage.objects.filter(dossier=dossier).aggregate(last=Max("sequence"))["last"] or 0
    message = PortalSyncMessage.objects.create(
        dossier=dossier,
        sequence=last + 1,
        status=dossier.status,
        payload=portal_payload(dossier),
        next_attempt_at=now(),
    )
    rollups.portal_message_queued(dossier)
    return message


def applicant_notification(
    *, dossier: Dossier, event: str, extra: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """What to tell the applicant about ``event`` (in-app and SMS; without an account, an SMS to the phone
    they gave): ``message_send``'s arguments, with the recipient's id, picklable for a task. None when there
    is nobody to tell. The context is taken now, so a later change cannot alter what this one says."""
    applicant_id = dossier.applicant_id
    channels = NOTIFY_CHANNELS if applicant_id is not None else ("sms",)
    address = "" if applicant_id is not None else dossier.applicant_phone
    if applicant_id is None and not address:
        return None
    context = {
        "code": dossier.code,
        "procedure": dossier.procedure.name,
        "status": str(dossier.get_status_display()),
        "status_code": dossier.status,
        "event": event,
        "due_at": timezone.localtime(dossier.due_at) if dossier.due_at else None,
        **(extra or {}),
    }
    return {
        "recipient_id": applicant_id,
        "template": "dossiers.status",
        "context": context,
        "channels": list(channels),
        "address": address,
    }


def follow_up_after_commit(*, dossier: Dossier, notification: dict[str, Any] | None, deliver: bool) -> None:
    """After commit, one background task for this change: the applicant's notification and the delivery of
    the dossier's portal messages. One queue write per change (not one per message), and the rendering and
    writing of the notification happen in the worker, not in the request. If the queue refuses the task the
    change stands: the portal sweep still delivers, only this notification is lost (logged)."""
    if notification is None and not deliver:
        return
    dossier_id = dossier.pk

    def enqueue() -> None:
        from hanoismart.dossiers.tasks import dossier_follow_up

        dossier_follow_up(dossier_id, notification, deliver)

    transaction.on_commit(enqueue, robust=True)


def follow_up(*, dossier_id: int, notification: dict[str, Any] | None, deliver: bool) -> int:
    """The work ``follow_up_after_commit`` queued: deliver the dossier's pending portal messages (in order,
    retried by their own schedule), then send the notification. Returns how many portal messages went."""
    delivered = portal_deliver_dossier(dossier_id=dossier_id) if deliver else 0
    if notification is not None:
        arguments = dict(notification)
        recipient_id = arguments.pop("recipient_id")
        recipient = get_user_model().objects.filter(pk=recipient_id).first() if recipient_id else None
        if recipient_id is not None and recipient is None:
            return delivered  # the account is gone: nobody to tell in-app
        message_send(recipient=recipient, **arguments)
    return delivered


def record(
    dossier: Dossier,
    *,
    acting: Acting | None,
    action: str,
    from_status: str,
    note: str = "",
    details: dict[str, Any] | None = None,
    attachment: Any = None,
    notify: bool = True,
    notify_extra: dict[str, Any] | None = None,
    audit_also: Sequence[AuditEvent] = (),
) -> DossierEvent:
    """Leave the trace of one change: the event, the audit event (subject: the applicant's account), the
    national-portal sync message when the status changed, the applicant's notification, and the change of
    the daily roll-ups (``rollups.apply``; the dossier must come from ``locked`` or be new). ``audit_also``:
    audit events the change built but did not write (a filing's reused documents), written with its own in
    one INSERT."""
    event = DossierEvent(
        dossier=dossier,
        at=now(),
        actor=acting.user if acting else None,
        actor_label=acting.label if acting else "",
        actor_role=acting.role if acting else "",
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        step_name=dossier.step.name if dossier.step_id else "",
        note=note,
        details=details or {},
    )
    if attachment is not None:
        event.attachment = attachment
    event.save()
    own = audit_event_build(
        actor=acting.user if acting else None,
        action=f"dossiers.{action}",
        obj=dossier,
        subject=dossier.applicant,
        unit_code=dossier.unit.code if dossier.unit_id else "",
        actor_role=acting.role if acting else "",
        details={"code": dossier.code, "from": from_status, "to": dossier.status, **(details or {})},
    )
    audit_events_record([*audit_also, own])
    status_changed = dossier.status != from_status
    if status_changed:
        portal_message_queue(dossier=dossier, is_first=not from_status)
    notification = (
        applicant_notification(dossier=dossier, event=action, extra=notify_extra) if notify else None
    )
    follow_up_after_commit(dossier=dossier, notification=notification, deliver=status_changed)
    rollups.apply(dossier)
    return event
