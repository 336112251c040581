"""Telling people about alerts through the notifications outbox, in their language: the subscribers of a new
alert (by kind and unit, within what they may see), a new owner, and the owner of an alert the detection
resolved or reopened by itself."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import translation

from hanoismart.ioc.models import Alert, AlertSubscription, AutoReason
from hanoismart.ioc.permissions import IocPermission, has_permission
from hanoismart.ioc.selectors import alert_title
from hanoismart.notifications.models import Channel
from hanoismart.notifications.services import message_send

if TYPE_CHECKING:
    from hanoismart.ioc.services.closing import Change

ALERT_TEMPLATE = "ioc.alert"


def _language(user: Any) -> str:
    language = getattr(user, "preferred_language", "")
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def send(
    alert: Alert, user: Any, channels: list[str], event: str, *, occasion: str = "", reason: str = ""
) -> None:
    """Queue the message about ``alert`` to ``user``: ``event`` is "raised", "assigned", "resolved" or
    "reopened" (with the ``AutoReason`` ``reason``); ``occasion`` tells apart two messages of one event (an
    alert assigned twice), once per person."""
    language = _language(user)
    with translation.override(language):
        title = alert_title(alert)
        because = str(AutoReason(reason).label) if reason in AutoReason.values else ""
    message_send(
        recipient=user,
        template=ALERT_TEMPLATE,
        context={
            "title": title,
            "event": event,
            "reason": because,
            "kind": alert.kind,
            "link": settings.SITE_URL.rstrip("/")
            + reverse("ioc:alert", kwargs={"public_id": alert.public_id}),
        },
        channels=channels,
        dedupe_key=f"{ALERT_TEMPLATE}:{alert.public_id}:{event}{occasion}:{user.public_id}",
        language=language,
    )


def _matches(subscription: AlertSubscription, alert: Alert) -> bool:
    return subscription.kind in ("", alert.kind) and subscription.unit_id in (None, alert.unit_id)


def alert_notify(*, alert_id: int) -> int:
    """Tell the subscribers of an alert (by kind and unit, within what they may see) in the app and on the
    channels they chose; once per alert and person. Returns how many people were told."""
    alert = Alert.objects.select_related("unit", "agency").filter(pk=alert_id).first()
    if alert is None:
        return 0
    subscriptions = (
        AlertSubscription.objects.filter(kind__in=["", alert.kind])
        .filter(Q(unit__isnull=True) | Q(unit_id=alert.unit_id))
        .select_related("user")
    )
    channels: dict[int, set[str]] = defaultdict(set)
    users: dict[int, Any] = {}
    for subscription in subscriptions:
        users[subscription.user_id] = subscription.user
        channels[subscription.user_id] |= {Channel.IN_APP, *subscription.channels}
    told = 0
    for user_id, user in users.items():
        if not user.is_active or not has_permission(
            user, IocPermission.DASHBOARD_VIEW, unit_id=alert.unit_id
        ):
            continue
        send(alert, user, sorted(channels[user_id]), "raised")
        told += 1
    return told


def owners_notify(*, changes: Iterable[Change], at: dt.datetime) -> int:
    """Tell the owners of alerts the detection resolved or reopened at ``at``, in the app and on the channels
    of their subscriptions that match the alert (the same path as a new alert's), while they may still see
    it. Returns how many messages were queued (one per alert and owner, whatever the channels)."""
    changes = list(changes)
    alerts = {
        alert.pk: alert
        for alert in Alert.objects.select_related("owner").filter(
            pk__in=[change.alert_id for change in changes], owner__isnull=False
        )
    }
    subscriptions: dict[int, list[AlertSubscription]] = defaultdict(list)
    for subscription in AlertSubscription.objects.filter(user_id__in={a.owner_id for a in alerts.values()}):
        subscriptions[subscription.user_id].append(subscription)
    told = 0
    for change in changes:
        alert = alerts.get(change.alert_id)
        if alert is None:
            continue
        owner = alert.owner
        if not owner.is_active or not has_permission(
            owner, IocPermission.DASHBOARD_VIEW, unit_id=alert.unit_id
        ):
            continue
        channels = {Channel.IN_APP}
        for subscription in subscriptions[owner.pk]:
            if _matches(subscription, alert):
                channels |= set(subscription.channels)
        send(
            alert, owner, sorted(channels), change.event, occasion=f"-{at.timestamp()}", reason=change.reason
        )
        told += 1
    return told
