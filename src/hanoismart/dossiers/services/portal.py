"""Keeping the national public service portal in sync: each status change queued a ``PortalSyncMessage``
(``base.portal_message_queue``); these deliver them in sequence order per dossier through an adapter
(``settings.NATIONAL_PORTAL_ADAPTER``; the default simulator writes ``PortalSimulatorRecord``), with
retries and exponential backoff. A message is claimed with a conditional UPDATE (a lease), so two workers
never deliver it twice, and the simulator keys its record by (dossier, sequence)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from hanoismart.dossiers.models import PortalSimulatorRecord, PortalSyncMessage, SyncState
from hanoismart.dossiers.services import rollups

logger = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(minutes=2)
RETRY_BASE_DELAY = dt.timedelta(minutes=1)
RETRY_MAX_DELAY = dt.timedelta(hours=6)


class PortalError(Exception):
    """The portal refused or could not be reached; ``permanent`` stops the retries."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class PortalAdapter(Protocol):
    def send(self, *, message: PortalSyncMessage) -> None: ...


class SimulatorPortal:
    """The demo's national portal: records what it received, once per message."""

    def send(self, *, message: PortalSyncMessage) -> None:
        payload = {**message.payload, "sequence": message.sequence}
        exists = PortalSimulatorRecord.objects.filter(
            dossier_code=message.payload.get("code", ""), payload__sequence=message.sequence
        ).exists()
        if not exists:
            PortalSimulatorRecord.objects.create(
                dossier_code=message.payload.get("code", ""), status=message.status, payload=payload
            )


def portal_adapter() -> PortalAdapter:
    return import_string(settings.NATIONAL_PORTAL_ADAPTER)()


def retry_delay(*, attempts: int) -> dt.timedelta:
    """1, 2, 4, 8… minutes after each failed attempt, at most six hours."""
    return min(RETRY_BASE_DELAY * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY)


def _claimable(now: dt.datetime) -> Q:
    return (
        Q(state=SyncState.PENDING)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & Q(attempts__lt=settings.NATIONAL_PORTAL_MAX_ATTEMPTS)
    )


def portal_deliver_dossier(*, dossier_id: int) -> int:
    """Deliver the dossier's pending messages in sequence order, stopping at the first that fails (a later
    status must not overtake an earlier one). Returns how many were delivered."""
    delivered = 0
    adapter = portal_adapter()
    while True:
        now = timezone.now()
        first_pending = (
            PortalSyncMessage.objects.filter(dossier_id=dossier_id)
            .exclude(state=SyncState.DELIVERED)
            .order_by("sequence")
            .first()
        )
        if first_pending is None or first_pending.state == SyncState.FAILED:
            return delivered
        lease_until = now + CLAIM_LEASE
        claimed = PortalSyncMessage.objects.filter(_claimable(now), pk=first_pending.pk).update(
            next_attempt_at=lease_until, attempts=F("attempts") + 1
        )
        if not claimed:
            return delivered
        message = PortalSyncMessage.objects.get(pk=first_pending.pk)
        try:
            with transaction.atomic():
                adapter.send(message=message)
                message.state = SyncState.DELIVERED
                message.delivered_at = timezone.now()
                message.last_error = ""
                message.save(update_fields=["state", "delivered_at", "last_error"])
                rollups.portal_delivered(dossier_id=dossier_id)
        except Exception as exc:  # the portal's answer or a bug: either way, retry later
            permanent = isinstance(exc, PortalError) and exc.permanent
            out_of_attempts = message.attempts >= settings.NATIONAL_PORTAL_MAX_ATTEMPTS
            PortalSyncMessage.objects.filter(pk=message.pk).update(
                state=SyncState.FAILED if permanent or out_of_attempts else SyncState.PENDING,
                next_attempt_at=timezone.now() + retry_delay(attempts=message.attempts),
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
            )
            logger.warning("Portal sync of %s #%s failed: %s", dossier_id, message.sequence, exc)
            return delivered
        delivered += 1


def portal_dossiers_due(*, limit: int = 500) -> list[int]:
    """Ids of dossiers with a message that may be delivered now (for the periodic sweep)."""
    return list(
        PortalSyncMessage.objects.filter(_claimable(timezone.now()))
        .order_by("dossier_id")
        .values_list("dossier_id", flat=True)
        .distinct()[:limit]
    )


def portal_message_retry(*, actor: Any, message: PortalSyncMessage) -> PortalSyncMessage:
    """An operator puts a failed message back in the queue (from the admin)."""
    PortalSyncMessage.objects.filter(pk=message.pk, state=SyncState.FAILED).update(
        state=SyncState.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    message.refresh_from_db()
    return message
