"""Writes of the operations center: raising alerts (dossiers passing their due time, reports missing their
deadline, KPI thresholds crossed), acting on them (acknowledge, assign, resolve, reopen, comment), the
managers' subscriptions to alerts, and the thresholds they set.

Detection (``alerts_detect``) runs every minute in the worker, and whenever an open dashboard asks for fresh
figures and the last run is older than ``DETECTION_MAX_AGE`` (``alerts_detect_if_stale``), so an alert shows
within seconds of the moment it describes. Each alert has a ``source_key`` unique per source, so running the
detection twice (or in two processes at once) raises it once. Subscribers are told after commit, through the
notifications outbox.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hanoismart.directory.models import Unit
from hanoismart.dossiers.selectors.rollups import dossiers_passing_due
from hanoismart.identity.selectors.staff import people_visible_to, units_served_by
from hanoismart.ioc.kpis import KPIS
from hanoismart.ioc.models import (
    Alert,
    AlertDetection,
    AlertEvent,
    AlertKind,
    AlertState,
    AlertSubscription,
    Comparison,
    KpiThreshold,
)
from hanoismart.ioc.permissions import IocPermission, has_permission, has_permission_anywhere, units_with
from hanoismart.ioc.selectors import alert_title, ioc_scope, unit_kpi_values
from hanoismart.notifications.models import Channel
from hanoismart.notifications.services import message_send
from hanoismart.reporting.selectors import ReportState, completeness, form_list, period_list

#: How old the last detection may be before a live request runs it again.
DETECTION_MAX_AGE = dt.timedelta(seconds=2)
#: How far back the first detection (or one after an outage) looks for dossiers and reports passing due.
DETECTION_LOOKBACK = dt.timedelta(days=7)
#: Each run looks this far behind the previous one, so a row committed just after a run is not missed.
DETECTION_OVERLAP = dt.timedelta(minutes=5)
#: Thresholds are checked at most this often (they need a KPI computation per unit).
THRESHOLD_INTERVAL = dt.timedelta(minutes=1)

ACTIONS = ("acknowledge", "assign", "resolve", "reopen", "comment")
ALERT_TEMPLATE = "ioc.alert"
NOTE_MAX_LENGTH = 2000


# -- detection ----------------------------------------------------------------------------------------------


def _detection_state() -> AlertDetection:
    """The detection row, locked for this transaction (created on first use)."""
    state = AlertDetection.objects.select_for_update().order_by("pk").first()
    if state is None:
        try:
            with transaction.atomic():
                state = AlertDetection.objects.create(pk=1)
        except IntegrityError:  # another process made it first
            state = AlertDetection.objects.select_for_update().get(pk=1)
    return state


def _raise(
    *,
    kind: str,
    source_key: str,
    now: dt.datetime,
    params: dict[str, Any],
    link: str,
    unit_id: int | None = None,
    agency_id: int | None = None,
    owner_id: int | None = None,
) -> Alert | None:
    """Create the alert and its first timeline line, unless one with ``source_key`` exists already."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                source_key=source_key,
                unit_id=unit_id,
                agency_id=agency_id,
                owner_id=owner_id,
                params=params,
                link=link,
                raised_at=now,
            )
            AlertEvent.objects.create(alert=alert, at=now, action="raised")
    except IntegrityError:
        return None
    return alert


def _existing(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(Alert.objects.filter(source_key__in=keys).values_list("source_key", flat=True))


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _detect_overdue(since: dt.datetime, now: dt.datetime) -> list[Alert]:
    """Open, unpaused dossiers whose due time fell in ``(since, now]``: one alert per dossier and due time
    (a due time moved by a supplement can pass again), owned by the dossier's holder."""
    rows = list(dossiers_passing_due(since=since, until=now))
    keys = {row.public_id: f"dossier_overdue:{row.public_id}:{_utc(row.due_at)}" for row in rows}
    existing = _existing(list(keys.values()))
    raised = []
    for row in rows:
        key = keys[row.public_id]
        if key in existing:
            continue
        alert = _raise(
            kind=AlertKind.DOSSIER_OVERDUE,
            source_key=key,
            now=now,
            unit_id=row.unit_id,
            agency_id=row.agency_id,
            owner_id=row.assignee_id,
            params={
                "code": row.code,
                "dossier": str(row.public_id),
                "procedure": row.procedure_name,
                "due_at": _utc(row.due_at),
            },
            link=reverse("dossiers:desk_detail", kwargs={"code": row.code}),
        )
        if alert is not None:
            raised.append(alert)
    return raised


def _detect_report_late(since: dt.datetime, now: dt.datetime) -> list[Alert]:
    """Reporters (units or agencies) whose report was not in when their period's due moment, in
    ``(since, now]``, passed: one alert per form, period and reporter."""
    raised = []
    for form in form_list():
        periods = period_list(form).filter(
            due_at__gt=since, due_at__lte=now, locks_on__gte=timezone.localdate(now)
        )
        for period in periods:
            missing = [
                row for row in completeness(form=form, period=period).rows if row.state == ReportState.MISSING
            ]
            keys = {}
            for row in missing:
                reporter = row.reporter
                suffix = (
                    f"{reporter.unit.code}:{reporter.agency.code}" if reporter.agency else reporter.unit.code
                )
                keys[reporter.key] = f"report_late:{form.code}:{period.code}:{suffix}"
            existing = _existing(list(keys.values()))
            for row in missing:
                reporter = row.reporter
                if keys[reporter.key] in existing:
                    continue
                alert = _raise(
                    kind=AlertKind.REPORT_LATE,
                    source_key=keys[reporter.key],
                    now=now,
                    unit_id=reporter.unit.pk,
                    agency_id=reporter.agency.pk if reporter.agency else None,
                    params={
                        "form": form.code,
                        "form_name": form.name,
                        "period": period.code,
                        "reporter": reporter.name,
                        "due_at": _utc(period.due_at),
                    },
                    link=reverse(
                        "reporting:completeness", kwargs={"form_code": form.code, "period_code": period.code}
                    ),
                )
                if alert is not None:
                    raised.append(alert)
    return raised


def _crossed(comparison: str, value: float, threshold: Decimal) -> bool:
    if comparison == Comparison.BELOW:
        return Decimal(str(value)) < threshold
    return Decimal(str(value)) > threshold


def _detect_thresholds(now: dt.datetime) -> list[Alert]:
    """Active thresholds whose KPI, for this month so far (stocks: now), is beyond them: at most one alert
    per threshold and day."""
    today = timezone.localdate(now)
    thresholds = list(KpiThreshold.objects.filter(is_active=True).select_related("unit"))
    keys = {t.pk: f"threshold:{t.public_id}:{today.isoformat()}" for t in thresholds}
    existing = _existing(list(keys.values()))
    values: dict[int | None, dict[str, Any]] = {}
    raised = []
    for threshold in thresholds:
        if keys[threshold.pk] in existing or threshold.kpi not in KPIS:
            continue
        if threshold.unit_id not in values:
            values[threshold.unit_id] = unit_kpi_values(unit=threshold.unit, now=now)
        value = values[threshold.unit_id].get(threshold.kpi)
        if value is None or not _crossed(threshold.comparison, value, threshold.value):
            continue
        query = urlencode({"unit": threshold.unit.code}) if threshold.unit else ""
        alert = _raise(
            kind=AlertKind.THRESHOLD,
            source_key=keys[threshold.pk],
            now=now,
            unit_id=threshold.unit_id,
            params={
                "kpi": threshold.kpi,
                "threshold_id": str(threshold.public_id),
                "comparison": threshold.comparison,
                "threshold": str(threshold.value),
                "value": value,
                "unit_name": threshold.unit.name if threshold.unit else "",
            },
            link=reverse("ioc:kpi", kwargs={"kpi": threshold.kpi}) + (f"?{query}" if query else ""),
        )
        if alert is not None:
            raised.append(alert)
    return raised


def alerts_detect(*, now: dt.datetime | None = None) -> int:
    """Raise the alerts due at ``now``: dossiers that passed their due time and reports that missed their
    deadline since the previous run (with an overlap; the first run looks back ``DETECTION_LOOKBACK``), and,
    at most once a minute, thresholds crossed. Idempotent through ``Alert.source_key``; subscribers are told
    after commit. Returns how many alerts were raised."""
    return _detect(now=now or timezone.now(), max_age=None)


def _fresh(last: dt.datetime | None, now: dt.datetime, max_age: dt.timedelta) -> bool:
    return last is not None and dt.timedelta(0) <= now - last < max_age


def _detect(*, now: dt.datetime, max_age: dt.timedelta | None) -> int:
    """One detection run under the detection row's lock; with ``max_age``, none when another process ran
    one that recently (it held the lock while this one waited)."""
    with transaction.atomic():
        state = _detection_state()
        if max_age is not None and _fresh(state.last_run_at, now, max_age):
            return 0
        since = now - DETECTION_LOOKBACK
        if state.last_run_at is not None:
            since = min(max(since, state.last_run_at - DETECTION_OVERLAP), now)
        raised = _detect_overdue(since, now) + _detect_report_late(since, now)
        if not _fresh(state.thresholds_checked_at, now, THRESHOLD_INTERVAL):
            raised += _detect_thresholds(now)
            state.thresholds_checked_at = now
        state.last_run_at = now
        state.save(update_fields=["last_run_at", "thresholds_checked_at"])
        for alert in raised:
            transaction.on_commit(partial(alert_notify, alert_id=alert.pk), robust=True)
    return len(raised)


def alerts_detect_if_stale(*, now: dt.datetime | None = None) -> int:
    """Run the detection when its last run is older than ``DETECTION_MAX_AGE`` (what the live endpoints
    call before reading their token: an open dashboard sees a dossier pass its due time within seconds).
    One cheap read when the last run is recent; two processes finding it stale at once run it once."""
    now = now or timezone.now()
    last = AlertDetection.objects.order_by("pk").values_list("last_run_at", flat=True).first()
    if _fresh(last, now, DETECTION_MAX_AGE):
        return 0
    return _detect(now=now, max_age=DETECTION_MAX_AGE)


# -- telling subscribers ----------------------------------------------------------------------------------


def _language(user: Any) -> str:
    language = getattr(user, "preferred_language", "")
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _send(alert: Alert, user: Any, channels: list[str], event: str) -> None:
    language = _language(user)
    with translation.override(language):
        title = alert_title(alert)
    message_send(
        recipient=user,
        template=ALERT_TEMPLATE,
        context={
            "title": title,
            "event": event,
            "kind": alert.kind,
            "link": settings.SITE_URL.rstrip("/")
            + reverse("ioc:alert", kwargs={"public_id": alert.public_id}),
        },
        channels=channels,
        dedupe_key=f"{ALERT_TEMPLATE}:{alert.public_id}:{event}:{user.public_id}",
        language=language,
    )


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
        _send(alert, user, sorted(channels[user_id]), "raised")
        told += 1
    return told


# -- acting on alerts ---------------------------------------------------------------------------------------


def _require_signed_in(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise NotAuthenticated(_("Sign in to do this."))


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
    _require_signed_in(actor)
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
        elif action == "reopen":
            if current.state != AlertState.RESOLVED:
                raise InvalidInput(_("Only a resolved alert can be reopened."))
            current.state = AlertState.NEW
            current.resolved_at = None
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
                partial(_send, current, new_owner, [Channel.IN_APP], f"assigned-{now.timestamp()}"),
                robust=True,
            )
    return current


# -- subscriptions ----------------------------------------------------------------------------------------


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


def _unit_in_scope(*, actor: Any, perm: IocPermission, code: str, whole_scope: bool = False) -> Unit | None:
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


def alert_subscribe(*, actor: Any, kind: str = "", unit: str = "", channels: list[str]) -> AlertSubscription:
    """Subscribe ``actor`` to alerts of ``kind`` (all when empty) in ``unit`` (a unit code; empty: every unit
    they oversee), told in the app and on ``channels`` (email, sms, zalo). Subscribing again to the same kind
    and unit changes the channels."""
    _require_signed_in(actor)
    ioc_scope(actor=actor)  # PermissionDenied without ioc:dashboard:view
    kind = _kind(kind)
    chosen = _channels(channels)
    target = _unit_in_scope(actor=actor, perm=IocPermission.DASHBOARD_VIEW, code=unit, whole_scope=True)
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


def alert_unsubscribe(*, actor: Any, subscription_id: int) -> None:
    """Remove one of the actor's own subscriptions; ``NotFound`` for anyone else's."""
    _require_signed_in(actor)
    with transaction.atomic():
        subscription = AlertSubscription.objects.filter(pk=subscription_id, user=actor).first()
        if subscription is None:
            raise NotFound(_("No such subscription."))
        audit_record(
            actor=actor,
            action="ioc.alert_unsubscribe",
            obj=subscription,
            details={"kind": subscription.kind, "unit": subscription.unit_id},
        )
        subscription.delete()


# -- thresholds -------------------------------------------------------------------------------------------


def threshold_create(*, actor: Any, kpi: str, unit: str = "", comparison: str, value: Any) -> KpiThreshold:
    """Set a threshold on ``kpi`` for ``unit`` (a unit code; empty or the city's code: the city as a whole):
    crossing it ``below``/``above`` ``value`` raises an alert (at most one a day). Needs
    ``ioc:threshold:manage`` there; percentages must lie in 0–100."""
    _require_signed_in(actor)
    errors: dict[str, list[str]] = {}
    if kpi not in KPIS:
        errors["kpi"] = [_("Unknown KPI.")]
    if comparison not in Comparison.values:
        errors["comparison"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Comparison.values)}]
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        number = None
        errors["value"] = [_("Enter a number.")]
    if number is not None:
        if abs(number) >= Decimal("1e12") or number != number.quantize(Decimal("0.01")):
            errors["value"] = [_("Enter a number with at most two decimals.")]
        elif kpi in KPIS and KPIS[kpi].measure == "percent" and not (0 <= number <= 100):
            errors["value"] = [_("A percentage lies between 0 and 100.")]
        elif number < 0:
            errors["value"] = [_("Enter a number of zero or more.")]
    if errors:
        raise InvalidInput(_("The threshold is not valid."), details=errors)
    target = _unit_in_scope(actor=actor, perm=IocPermission.THRESHOLD_MANAGE, code=unit)
    with transaction.atomic():
        threshold = KpiThreshold.objects.create(
            kpi=kpi, unit=target, comparison=comparison, value=number, created_by=actor
        )
        audit_record(
            actor=actor,
            action="ioc.threshold_create",
            obj=threshold,
            unit_code=target.code if target else "",
            details={"kpi": kpi, "comparison": comparison, "value": str(number)},
        )
    return threshold


def threshold_delete(*, actor: Any, public_id: Any) -> None:
    """Remove a threshold; needs ``ioc:threshold:manage`` at its unit. ``NotFound`` for a threshold outside
    the actor's scope."""
    _require_signed_in(actor)
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFound(_("No such threshold.")) from None
    with transaction.atomic():
        threshold = KpiThreshold.objects.select_related("unit").filter(public_id=key).first()
        if threshold is None or not has_permission(
            actor, IocPermission.DASHBOARD_VIEW, unit_id=threshold.unit_id
        ):
            raise NotFound(_("No such threshold."))
        if not has_permission(actor, IocPermission.THRESHOLD_MANAGE, unit_id=threshold.unit_id):
            raise PermissionDenied(_("You may not change the thresholds of this unit."))
        audit_record(
            actor=actor,
            action="ioc.threshold_delete",
            obj=threshold,
            unit_code=threshold.unit.code if threshold.unit_id else "",
            details={"kpi": threshold.kpi, "comparison": threshold.comparison, "value": str(threshold.value)},
        )
        threshold.delete()


__all__ = [
    "alert_act",
    "alert_notify",
    "alert_subscribe",
    "alert_unsubscribe",
    "alerts_detect",
    "alerts_detect_if_stale",
    "threshold_create",
    "threshold_delete",
]
