"""Writes to the outbox: queueing messages, delivering them with retries, marking them read, retrying.

Delivery is at-least-once towards the gateway and exactly-once in the outbox: a worker claims a message
with a conditional UPDATE (a lease), sends it with the message id as the idempotency key, then records
the outcome. A worker that dies mid-way leaves a lease that expires, and the sweep delivers again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.template import Context, Engine, TemplateDoesNotExist
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, NotFound, PermissionDenied
from hanoismart.notifications.channels import DeliveryError, adapter_for
from hanoismart.notifications.models import Channel, Message, MessageStatus
from hanoismart.notifications.selectors import claimable, messages_for

logger = logging.getLogger(__name__)

# A claim must outlast one send (the webhook timeout is 10 s); past it the worker is presumed dead.
CLAIM_LEASE = timedelta(minutes=2)
RETRY_BASE_DELAY = timedelta(minutes=1)
RETRY_MAX_DELAY = timedelta(hours=1)
_SUBJECT_CHANNELS = (Channel.EMAIL, Channel.IN_APP)


@dataclass(frozen=True)
class Outgoing:
    """What one ``message_send`` call sends (for ``message_send_many``): its arguments but the dedupe key."""

    recipient: Any | None
    template: str
    context: dict[str, Any]
    channels: Sequence[str]
    address: str = ""
    language: str | None = None


def message_send(
    *,
    recipient: Any | None,
    template: str,
    context: dict[str, Any],
    channels: Sequence[str],
    address: str = "",
    dedupe_key: str | None = None,
    language: str | None = None,
) -> list[Message]:
    """Queue one message per channel, rendered now from ``messages/<template>/<channel>.txt`` (else
    ``default.txt``) in the recipient's language, with ``recipient`` added to ``context``; deliver each
    after the caller's transaction commits.

    ``address`` overrides the recipient's phone (sms, zalo) or email for every non-in-app channel. A
    channel without an address (or in-app without a recipient) is skipped and logged. With a
    ``dedupe_key``, a second call with the same key returns the message already queued on that channel.
    """
    outgoing = Outgoing(recipient, template, context, channels, address, language)
    if dedupe_key is None:
        return _queued(_rows(outgoing))
    _check_channels(channels)
    messages: list[Message] = []
    for channel in channels:
        existing = Message.objects.filter(channel=channel, dedupe_key=dedupe_key).first()
        if existing is not None:
            messages.append(existing)
            continue
        messages += [_message_create(row, dedupe_key) for row in _rows(replace(outgoing, channels=[channel]))]
    return messages


def message_send_many(*, sends: Sequence[Outgoing]) -> list[Message]:
    """``message_send`` for many at once, without dedupe keys: the same messages, rendered the same way,
    written with one INSERT, each delivered after the caller's transaction commits. A send that cannot be
    rendered (or refers to an account deleted meanwhile) is logged and left out: it costs the others
    nothing."""
    rows: list[Message] = []
    for outgoing in sends:
        try:
            rows += _rows(outgoing)
        except Exception:
            logger.exception("Message %r to %s not queued.", outgoing.template, _whom(outgoing.recipient))
    return _queued(rows)


def _queued(rows: list[Message]) -> list[Message]:
    """Write ``rows`` with one INSERT (atomic by itself: no transaction, two more round trips, of its own)
    and queue the delivery of those not delivered at once."""
    if not rows:
        return rows
    try:
        _insert(rows)
    except IntegrityError:
        if len(rows) == 1 or transaction.get_connection().in_atomic_block:
            raise
        # An account went away since its messages were made: the others go one at a time.
        kept = []
        for row in rows:
            try:
                _insert([row])
            except IntegrityError:
                logger.exception("Message %r to %s not queued.", row.template, _whom(row.recipient))
            else:
                kept.append(row)
        rows = kept
    for row in rows:
        if row.status == MessageStatus.PENDING:
            _queue_delivery(message_id=row.pk)
    return rows


def _insert(rows: list[Message]) -> None:
    """One INSERT of ``rows`` (per batch the database takes). ``bulk_create`` would wrap it in a transaction
    of its own: two more round trips for a statement that is atomic by itself."""
    fields = [field for field in Message._meta.concrete_fields if not field.generated]
    queryset = Message.objects.all()
    size = max(connections[queryset.db].ops.bulk_batch_size(fields, rows), 1)
    for start in range(0, len(rows), size):
        queryset._insert(rows[start : start + size], fields=fields, using=queryset.db)
    for row in rows:
        row._state.adding, row._state.db = False, queryset.db


def _whom(recipient: Any | None) -> Any:
    return getattr(recipient, "public_id", "nobody")


def _check_channels(channels: Sequence[str]) -> None:
    unknown = [channel for channel in channels if channel not in Channel.values]
    if unknown:
        raise ValueError(f"Unknown channel {unknown[0]!r}; expected one of {Channel.values}.")


def _rows(outgoing: Outgoing) -> list[Message]:
    """The unsaved messages of one send: one per channel that has an address, rendered now. An in-app
    message is delivered the moment it exists (the inbox reads the outbox)."""
    _check_channels(outgoing.channels)
    recipient = outgoing.recipient
    language = _language_for(recipient=recipient, language=outgoing.language)
    context = {"recipient": recipient, **outgoing.context}
    now = timezone.now()
    rows = []
    for channel in outgoing.channels:
        to = _address_for(recipient=recipient, channel=channel, address=outgoing.address)
        if to is None:
            logger.info(
                "Skipped %s message %r to %s: no %s address.",
                channel,
                outgoing.template,
                _whom(recipient),
                channel,
            )
            continue
        subject, body = _render(
            template=outgoing.template, channel=channel, context=context, language=language
        )
        row = Message(
            recipient=recipient,
            channel=channel,
            address=to,
            template=outgoing.template,
            language=language,
            subject=subject,
            body=body,
            next_attempt_at=now,
        )
        if channel == Channel.IN_APP:
            row.status, row.delivered_at, row.attempts = MessageStatus.DELIVERED, now, 1
        rows.append(row)
    return rows


def message_claim(*, message_id: uuid.UUID | str) -> Message | None:
    """Take a due message for delivery: pending and due, or sending under a lease that expired.

    One conditional UPDATE, so of two workers only one gets it. Each claim counts as an attempt, so a
    message that kills its worker still runs out of attempts. Returns None when there is nothing to do.
    """
    now = timezone.now()
    claimed = Message.objects.filter(claimable(now=now), pk=message_id).update(
        status=MessageStatus.SENDING, claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1
    )
    return Message.objects.get(pk=message_id) if claimed else None


def message_deliver(*, message_id: uuid.UUID | str) -> Message | None:
    """Claim, send through the channel's adapter, and record the outcome. A delivered, failed, not yet
    due or claimed-elsewhere message is left alone (None), so running this twice never sends twice."""
    message = message_claim(message_id=message_id)
    if message is None:
        return None
    lease = message.claimed_until
    try:
        adapter_for(message.channel).send(message)
    except DeliveryError as exc:
        _record_failure(message=message, lease=lease, error=str(exc), permanent=exc.permanent)
    except Exception as exc:  # a bug in an adapter must not leave the message claimed until the lease ends
        logger.exception("Delivering message %s crashed.", message.pk)
        _record_failure(message=message, lease=lease, error=f"{type(exc).__name__}: {exc}", permanent=False)
    else:
        # The gateway took it: record that whatever happened to the lease meanwhile.
        Message.objects.filter(pk=message.pk).exclude(status=MessageStatus.DELIVERED).update(
            status=MessageStatus.DELIVERED, delivered_at=timezone.now(), claimed_until=None, last_error=""
        )
    message.refresh_from_db()
    return message


def message_fail_abandoned() -> int:
    """Fail messages whose worker died during their last allowed attempt (they can no longer be claimed)."""
    now = timezone.now()
    return Message.objects.filter(
        status=MessageStatus.SENDING,
        claimed_until__lt=now,
        attempts__gte=settings.NOTIFICATION_MAX_ATTEMPTS,
    ).update(
        status=MessageStatus.FAILED,
        claimed_until=None,
        last_error="The worker stopped before recording the outcome of the last attempt.",
    )


def retry_delay(*, attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failed ones: 1, 2, 4, 8… minutes, at most an hour."""
    return min(RETRY_BASE_DELAY * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY)


@transaction.atomic
def message_mark_read(*, actor: Any, message_id: uuid.UUID | str) -> Message:
    """Mark one of the actor's in-app messages read. Anyone else's message is NotFound, and unchanged."""
    message = messages_for(user=actor).filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("This message does not exist or is not yours."))
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


@transaction.atomic
def message_retry(*, actor: Any, message_id: uuid.UUID | str) -> Message:
    """Give a failed message a fresh set of attempts (operators only), audited, delivered after commit."""
    if not (actor.is_authenticated and actor.is_active and actor.is_staff):
        raise PermissionDenied(_("Only operators can retry messages."))
    message = Message.objects.select_for_update().filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("This message does not exist."))
    if message.status != MessageStatus.FAILED:
        raise Conflict(_("Only failed messages can be retried."), code="not_failed")
    previous_error = message.last_error
    message.status = MessageStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.claimed_until = None
    message.save(update_fields=["status", "attempts", "next_attempt_at", "claimed_until"])
    audit_record(
        actor=actor,
        action="notifications.message_retry",
        obj=message,
        subject=message.recipient,
        details={"channel": message.channel, "template": message.template, "previous_error": previous_error},
    )
    _queue_delivery(message_id=message.pk)
    return message


def _record_failure(*, message: Message, lease: datetime | None, error: str, permanent: bool) -> None:
    gave_up = permanent or message.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
    changes: dict[str, Any] = {"claimed_until": None, "last_error": error[:2000]}
    if gave_up:
        changes["status"] = MessageStatus.FAILED
    else:
        changes["status"] = MessageStatus.PENDING
        changes["next_attempt_at"] = timezone.now() + retry_delay(attempts=message.attempts)
    # Only under our own lease: if it expired and another worker took over, the outcome is theirs.
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING, claimed_until=lease).update(**changes)
    logger.warning(
        "Message %s (%s) attempt %s failed%s: %s",
        message.pk,
        message.channel,
        message.attempts,
        "; giving up" if gave_up else "",
        error,
    )


def _language_for(*, recipient: Any | None, language: str | None) -> str:
    available = {code for code, _name in settings.LANGUAGES}
    for candidate in (language, getattr(recipient, "preferred_language", None)):
        if candidate in available:
            return candidate
    return "vi"


def _address_for(*, recipient: Any | None, channel: str, address: str) -> str | None:
    """Where to send on ``channel``, or None when there is nowhere to send."""
    if channel == Channel.IN_APP:
        return "" if recipient is not None else None
    if address:
        return address
    field = "email" if channel == Channel.EMAIL else "phone"
    return getattr(recipient, field, None) or None


def _render(*, template: str, channel: str, context: dict[str, Any], language: str) -> tuple[str, str]:
    """Subject and body in ``language``. Plain text, so nothing is HTML-escaped."""
    engine = Engine.get_default()
    folder = f"messages/{template}"
    with translation.override(language):
        body_template = engine.select_template([f"{folder}/{channel}.txt", f"{folder}/default.txt"])
        body = body_template.render(Context(context, autoescape=False)).strip()
        subject = ""
        if channel in _SUBJECT_CHANNELS:
            try:
                subject_template = engine.select_template(
                    [f"{folder}/{channel}_subject.txt", f"{folder}/subject.txt"]
                )
            except TemplateDoesNotExist:
                if channel == Channel.EMAIL:
                    raise
            else:
                # One line: a mail header cannot hold a newline.
                subject = " ".join(subject_template.render(Context(context, autoescape=False)).split())
    return subject[:255], body


def _message_create(row: Message, dedupe_key: str) -> Message:
    row.dedupe_key = dedupe_key
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Another request with the same key won the race.
        return Message.objects.get(channel=row.channel, dedupe_key=dedupe_key)
    if row.status == MessageStatus.PENDING:
        _queue_delivery(message_id=row.pk)
    return row


def _queue_delivery(*, message_id: uuid.UUID) -> None:
    """Deliver after commit. If the queue is down the message stays pending and the sweep sends it."""
    # tasks.py imports this module, so the task is looked up when needed rather than at import time.
    from hanoismart.notifications.tasks import deliver_message

    transaction.on_commit(partial(deliver_message, str(message_id)), robust=True)
