"""Keeping the national public service portal in sync: each status change queued a ``PortalSyncMessage``
(``base.portal_message_queue``); these deliver them in sequence order per dossier through an adapter
(``settings.NATIONAL_PORTAL_ADAPTER``; the default simulator writes ``PortalSimulatorRecord``), with
retries and exponential backoff. A message is claimed with one conditional ``UPDATE … RETURNING`` (a
lease), so two workers never deliver it twice, and the simulator keys its record by (dossier code,
sequence)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any, Protocol

from django.conf import settings
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
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
    """The demo's national portal: records what it received, once per message (one INSERT that the
    (dossier code, sequence) key turns into a no-op for a message sent again)."""

    def send(self, *, message: PortalSyncMessage) -> None:
        record = PortalSimulatorRecord(
            dossier_code=message.payload.get("code", ""),
            sequence=message.sequence,
            status=message.status,
            payload={**message.payload, "sequence": message.sequence},
        )
        PortalSimulatorRecord.objects.bulk_create([record], ignore_conflicts=True)


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


@functools.cache
def _claim_sql(vendor: str) -> str:
    """Lease the dossier's first undelivered message, if it may be attempted now, and return it: the
    ``_claimable`` rule, in one statement (a failed or leased first message holds the later ones back)."""
    meta = PortalSyncMessage._meta
    quote = connections[router.db_for_write(PortalSyncMessage)].ops.quote_name
    names = ("id", "dossier", "sequence", "state", "attempts", "next_attempt_at")
    c = {name: quote(meta.get_field(name).column) for name in names}
    table = quote(meta.db_table)
    returning = ", ".join(quote(field.column) for field in meta.concrete_fields)
    first_undelivered = (
        f"SELECT {c['id']} FROM {table} WHERE {c['dossier']} = %s AND {c['state']} <> %s"  # noqa: S608 - names from _meta
        f" ORDER BY {c['sequence']} LIMIT 1"
    )
    return (
        f"UPDATE {table} SET {c['next_attempt_at']} = %s, {c['attempts']} = {c['attempts']} + 1"  # noqa: S608
        f" WHERE {c['id']} = ({first_undelivered}) AND {c['state']} = %s"
        f" AND ({c['next_attempt_at']} IS NULL OR {c['next_attempt_at']} <= %s) AND {c['attempts']} < %s"
        f" RETURNING {returning}"
    )


def _from_row(connection: BaseDatabaseWrapper, row: tuple[Any, ...]) -> PortalSyncMessage:
    """The message from a row of ``PortalSyncMessage``'s columns, converted as the ORM converts them."""
    fields = PortalSyncMessage._meta.concrete_fields
    values = []
    for field, value in zip(fields, row, strict=True):
        col = field.get_col(PortalSyncMessage._meta.db_table)
        for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = converter(value, col, connection)
        values.append(value)
    return PortalSyncMessage.from_db(connection.alias, [field.attname for field in fields], values)


def _claim_next(dossier_id: int) -> PortalSyncMessage | None:
    """Claim the dossier's next message (``_claim_sql``): the leased row with its attempt counted, or None
    when there is none to attempt now (all delivered, the first failed, not due yet, or leased by another
    worker)."""
    now = timezone.now()
    connection = connections[router.db_for_write(PortalSyncMessage)]
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        adapt(now + CLAIM_LEASE),
        dossier_id,
        SyncState.DELIVERED,
        SyncState.PENDING,
        adapt(now),
        settings.NATIONAL_PORTAL_MAX_ATTEMPTS,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor), params)
        row = cursor.fetchone()
    return _from_row(connection, row) if row is not None else None


def portal_deliver_dossier(*, dossier_id: int) -> int:
    """Deliver the dossier's pending messages in sequence order, stopping at the first that fails (a later
    status must not overtake an earlier one). Returns how many were delivered.

    Per message: the claim, the adapter's send, the row marked delivered and the roll-ups' hook; the next
    message is claimed in the same transaction, after the hook has locked the dossier, so a message queued
    by a status change meanwhile is either claimed here or queued after this commit (and its own task finds
    this one delivered)."""
    delivered = 0
    adapter = portal_adapter()
    message = _claim_next(dossier_id)
    while message is not None:
        try:
            with transaction.atomic():
                adapter.send(message=message)
                message.state = SyncState.DELIVERED
                message.delivered_at = timezone.now()
                message.last_error = ""
                message.save(update_fields=["state", "delivered_at", "last_error"])
                rollups.portal_delivered(dossier_id=dossier_id)
                following = _claim_next(dossier_id)
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
        message = following
    return delivered


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
