"""Reads of the outbox: a person's in-app inbox, the messages due for delivery, the demo's SMS log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from hanoismart.notifications.models import Channel, Message, MessageStatus


def messages_for(*, user: Any) -> QuerySet[Message]:
    """The user's in-app messages, newest first; nothing for an anonymous visitor."""
    if not user.is_authenticated:
        return Message.objects.none()
    return Message.objects.filter(
        recipient=user, channel=Channel.IN_APP, status=MessageStatus.DELIVERED
    ).order_by("-created_at")


def unread_count(*, user: Any) -> int:
    """How many of the user's in-app messages they have not read yet."""
    return messages_for(user=user).filter(read_at__isnull=True).count()


def claimable(*, now: datetime) -> Q:
    """Messages a worker may claim at ``now``: pending and due, or sending under an expired lease (its
    worker died), with attempts left. In-app messages are delivered when created, never claimed."""
    due = Q(status=MessageStatus.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=MessageStatus.SENDING, claimed_until__lt=now)
    return (due | abandoned) & Q(attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS) & ~Q(channel=Channel.IN_APP)


def message_ids_due(*, limit: int = 200) -> list[uuid.UUID]:
    """Ids of the messages claimable now, the longest waiting first."""
    return list(
        Message.objects.filter(claimable(now=timezone.now()))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def demo_text_messages(*, limit: int = 20) -> QuerySet[Message]:
    """The last SMS/Zalo messages, for the demo page where visitors read the codes sent to them."""
    return Message.objects.filter(channel__in=(Channel.SMS, Channel.ZALO)).order_by("-created_at")[:limit]


def message_statuses(*, ids: Iterable[uuid.UUID | str]) -> dict[uuid.UUID, str]:
    """Message id → its delivery status (pending, sending, delivered, failed), for the given ids that exist:
    how other apps show whether what they sent arrived."""
    wanted = [value for value in ids if value]
    if not wanted:
        return {}
    return dict(Message.objects.filter(pk__in=wanted).values_list("pk", "status"))
