"""Keeping the national public service portal in sync: each status change queued a ``PortalSyncMessage``
(``base.portal_message_queue``); these deliver them in sequence order per dossier through an adapter
(``settings.NATIONAL_PORTAL_ADAPTER``; the default simulator writes ``PortalSimulatorRecord``), with
retries and exponential backoff. Messages are claimed with one conditional ``UPDATE … RETURNING`` (a
lease), so two workers never deliver one twice; many dossiers' messages go together (``portal_deliver``):
one claim, one send where the adapter takes a batch (the simulator: one INSERT keyed by (dossier code,
sequence)), one UPDATE marking them delivered."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
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
    """Sends one message; an adapter that can also take many at once has ``send_many(*, messages)``, which
    sends them all or raises (then each is sent again on its own)."""

    def send(self, *, message: PortalSyncMessage) -> None: ...


class SimulatorPortal:
    """The demo's national portal: records what it received, once per message (one INSERT that the
    (dossier code, sequence) key turns into a no-op for a message sent again)."""

    def send(self, *, message: PortalSyncMessage) -> None:
        self.send_many(messages=[message])

    def send_many(self, *, messages: Sequence[PortalSyncMessage]) -> None:
        records = [
            PortalSimulatorRecord(
                dossier_code=message.payload.get("code", ""),
                sequence=message.sequence,
                status=message.status,
                payload={**message.payload, "sequence": message.sequence},
            )
            for message in messages
        ]
        PortalSimulatorRecord.objects.bulk_create(records, ignore_conflicts=True)


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
def _claim_sql(vendor: str, count: int) -> str:
    """Lease the first undelivered message of each of ``count`` dossiers (on PostgreSQL any number: one
    array), if it may be attempted now, and return them: the ``_claimable`` rule in one statement (a failed
    or leased first message holds the later ones back). On PostgreSQL a row another transaction holds is
    skipped, not waited for: it is being delivered."""
    meta = PortalSyncMessage._meta
    connection = connections[router.db_for_write(PortalSyncMessage)]
    quote = connection.ops.quote_name
    names = ("id", "dossier", "sequence", "state", "attempts", "next_attempt_at")
    c = {name: quote(meta.get_field(name).column) for name in names}
    table = quote(meta.db_table)
    returning = ", ".join(quote(field.column) for field in meta.concrete_fields)
    postgresql = vendor == "postgresql"
    if postgresql:  # one parameter of one type whatever the ids: one prepared statement
        dossiers = f"= ANY(%s::{meta.get_field('dossier').rel_db_type(connection)}[])"
    else:
        dossiers = f"IN ({', '.join(['%s'] * count)})"
    first_undelivered = (
        f"SELECT {c['dossier']}, MIN({c['sequence']}) FROM {table}"  # noqa: S608 - names from _meta
        f" WHERE {c['dossier']} {dossiers} AND {c['state']} <> %s GROUP BY {c['dossier']}"
    )
    due = (
        f"SELECT {c['id']} FROM {table} WHERE ({c['dossier']}, {c['sequence']}) IN ({first_undelivered})"  # noqa: S608
        f" AND {c['state']} = %s AND ({c['next_attempt_at']} IS NULL OR {c['next_attempt_at']} <= %s)"
        f" AND {c['attempts']} < %s{' FOR UPDATE SKIP LOCKED' if postgresql else ''}"
    )
    return (
        f"UPDATE {table} SET {c['next_attempt_at']} = %s, {c['attempts']} = {c['attempts']} + 1"  # noqa: S608
        f" WHERE {c['id']} IN ({due}) RETURNING {returning}"
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


def _claim_next(dossier_ids: Sequence[int]) -> list[PortalSyncMessage]:
    """Claim the next message of each dossier (``_claim_sql``): the leased rows with their attempt counted,
    none for a dossier with nothing to attempt now (all delivered, the first failed, not due yet, or leased
    by another worker)."""
    now = timezone.now()
    connection = connections[router.db_for_write(PortalSyncMessage)]
    adapt = connection.ops.adapt_datetimefield_value
    postgresql = connection.vendor == "postgresql"
    params = [
        adapt(now + CLAIM_LEASE),
        *([list(dossier_ids)] if postgresql else dossier_ids),
        SyncState.DELIVERED,
        SyncState.PENDING,
        adapt(now),
        settings.NATIONAL_PORTAL_MAX_ATTEMPTS,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor, 0 if postgresql else len(dossier_ids)), params)
        rows = cursor.fetchall()
    return sorted((_from_row(connection, row) for row in rows), key=lambda message: message.dossier_id)


def _sent(adapter: PortalAdapter, messages: Sequence[PortalSyncMessage]) -> tuple[list, list]:
    """Send ``messages``: those the portal took, and (message, error) for those it did not. A batch goes in
    one call when the adapter takes batches (its error propagates); else each on its own."""
    send_many = getattr(adapter, "send_many", None)
    if send_many is not None:
        send_many(messages=messages)
        return list(messages), []
    sent, failed = [], []
    for message in messages:
        try:
            adapter.send(message=message)
        except DatabaseError:
            raise  # the transaction is broken: the batch is tried again one message at a time
        except Exception as exc:  # the portal's answer or a bug: either way, retry later
            failed.append((message, exc))
        else:
            sent.append(message)
    return sent, failed


def _failed(message: PortalSyncMessage, exc: Exception) -> None:
    """Record a failed attempt: retried after the backoff, or failed for good (permanent, out of attempts)."""
    permanent = isinstance(exc, PortalError) and exc.permanent
    out_of_attempts = message.attempts >= settings.NATIONAL_PORTAL_MAX_ATTEMPTS
    PortalSyncMessage.objects.filter(pk=message.pk).update(
        state=SyncState.FAILED if permanent or out_of_attempts else SyncState.PENDING,
        next_attempt_at=timezone.now() + retry_delay(attempts=message.attempts),
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )
    logger.warning("Portal sync of %s #%s failed: %s", message.dossier_id, message.sequence, exc)


def _deliver(adapter: PortalAdapter, messages: Sequence[PortalSyncMessage]) -> tuple[int, list]:
    """Deliver claimed messages (at most one per dossier) in one transaction: the send, the rows marked
    delivered, the roll-ups' hook, and the claim of each dossier's next message. Returns how many went and
    the next messages. If the batch fails as a whole (the adapter's batch refused, a database error), each
    message is tried on its own, so one bad message costs the others nothing."""
    try:
        with transaction.atomic():
            sent, failed = _sent(adapter, messages)
            following: list[PortalSyncMessage] = []
            if sent:
                PortalSyncMessage.objects.filter(pk__in=[message.pk for message in sent]).update(
                    state=SyncState.DELIVERED, delivered_at=timezone.now(), last_error=""
                )
                dossier_ids = [message.dossier_id for message in sent]
                rollups.portal_delivered(dossier_ids=dossier_ids)
                following = _claim_next(dossier_ids)
    except Exception as exc:
        if len(messages) == 1:
            _failed(messages[0], exc)
            return 0, []
        logger.warning("Portal sync of %s messages together failed (%s); one by one", len(messages), exc)
        delivered, following = 0, []
        for message in messages:
            went, after = _deliver(adapter, [message])
            delivered, following = delivered + went, following + after
        return delivered, following
    for message, error in failed:
        _failed(message, error)
    return len(sent), following


def portal_deliver(*, dossier_ids: Iterable[int]) -> int:
    """Deliver the pending messages of these dossiers in sequence order per dossier, a dossier stopping at
    its first message that fails (a later status must not overtake an earlier one); the dossiers' messages go
    together, one round per sequence step. Returns how many were delivered.

    The next message of a dossier is claimed in the transaction that marked its previous one delivered,
    after the roll-ups' hook has locked the dossier, so a message queued by a status change meanwhile is
    either claimed here or queued after this commit (and its own follow-up finds this one delivered)."""
    ids = sorted(set(dossier_ids))
    if not ids:
        return 0
    adapter = portal_adapter()
    delivered = 0
    messages = _claim_next(ids)
    while messages:
        went, messages = _deliver(adapter, messages)
        delivered += went
    return delivered


def portal_deliver_dossier(*, dossier_id: int) -> int:
    """Deliver one dossier's pending messages in order (``portal_deliver``). Returns how many went."""
    return portal_deliver(dossier_ids=[dossier_id])


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
