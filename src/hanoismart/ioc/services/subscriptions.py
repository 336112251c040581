"""Managers' subscriptions to alerts: by kind and unit, told in the app and on the channels they choose."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput, NotFound
from hanoismart.ioc.models import AlertKind, AlertSubscription
from hanoismart.ioc.permissions import IocPermission
from hanoismart.ioc.selectors import ioc_scope
from hanoismart.ioc.services.access import require_signed_in, unit_in_scope
from hanoismart.notifications.models import Channel


def _channels(channels: list[str] | None) -> list[str]:
    chosen = sorted(set(channels or []))
    unknown = [channel for channel in chosen if channel not in Channel.values]
    if unknown:
        raise InvalidInput(
            _("Unknown channel %(channel)s.") % {"channel": unknown[0]},
            details={"channels": [_("Choose among: %(choices)s.") % {"choices": ", ".join(Channel.values)}]},
        )
    return [channel for channel in chosen if channel != Channel.IN_APP]


def _kind(kind: str) -> str:
    if kind and kind not in AlertKind.values:
        raise InvalidInput(
            _("Unknown kind of alert."),
            details={"kind": [_("Choose one of: %(choices)s.") % {"choices": ", ".join(AlertKind.values)}]},
        )
    return kind


def alert_subscribe(*, actor: Any, kind: str = "", unit: str = "", channels: list[str]) -> AlertSubscription:
    """Subscribe ``actor`` to alerts of ``kind`` (all when empty) in ``unit`` (a unit code; empty: every unit
    they oversee), told in the app and on ``channels`` (email, sms, zalo). Subscribing again to the same kind
    and unit changes the channels."""
    require_signed_in(actor)
    ioc_scope(actor=actor)  # PermissionDenied without ioc:dashboard:view
    kind = _kind(kind)
    chosen = _channels(channels)
    target = unit_in_scope(actor=actor, perm=IocPermission.DASHBOARD_VIEW, code=unit, whole_scope=True)
    with transaction.atomic():
        subscription, _created = AlertSubscription.objects.update_or_create(
            user=actor, kind=kind, unit=target, defaults={"channels": chosen}
        )
        audit_record(
            actor=actor,
            action="ioc.alert_subscribe",
            obj=subscription,
            unit_code=target.code if target else "",
            details={"kind": kind, "channels": chosen},
        )
    return subscription


def own_subscription_delete(
    *, model: Any, actor: Any, subscription_id: int, action: str, fields: list[str]
) -> None:
    """Delete the actor's own subscription row of ``model`` (alerts, digests), audited as ``action`` with the
    row's ``fields`` (the unit as its id); ``NotAuthenticated`` without a signed-in actor, ``NotFound`` for
    anyone else's, which stays as it was."""
    require_signed_in(actor)
    with transaction.atomic():
        subscription = model.objects.filter(pk=subscription_id, user=actor).first()
        if subscription is None:
            raise NotFound(_("No such subscription."))
        details = {name: getattr(subscription, "unit_id" if name == "unit" else name) for name in fields}
        audit_record(actor=actor, action=action, obj=subscription, details=details)
        subscription.delete()


def alert_unsubscribe(*, actor: Any, subscription_id: int) -> None:
    """Remove one of the actor's own subscriptions; ``NotFound`` for anyone else's."""
    own_subscription_delete(
        model=AlertSubscription,
        actor=actor,
        subscription_id=subscription_id,
        action="ioc.alert_unsubscribe",
        fields=["kind", "unit"],
    )
