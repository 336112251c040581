"""Closing the alerts whose cause is gone, and reopening those whose cause came back, in the minute checks of
the detection. A few queries per kind of alert, whatever the number of alerts open:

* a dossier's alert is resolved when the dossier is finished (or closed otherwise), waits for a supplement
  (the ball is in the applicant's court) or is no longer past due (its due moment moved). One resolved while
  the dossier waited is followed: when the dossier resumes past its (moved) due moment — always, if it was
  overdue when it stopped — the same alert reopens for the new due moment, keeping its owner and history;
* a report's alert is resolved when the report now counts (submitted, accepted or locked);
* a threshold's alert is resolved when its KPI is back within the threshold (or the threshold was removed);
  crossed again the same day, the day's alert reopens (its key is per threshold and day, so there is no
  second one); on a later day, a new alert is raised as before.

Alerts a person resolved are never touched, nor reopened: only what the detection closed itself. Alerts a
person is acting on at that moment (row locked) are skipped until the next run. Each change leaves a line on
the alert's timeline by the system with its reason; the owner, if any, is told after commit (subscribers are
told of new alerts only: an automatic change concerns whoever holds the alert).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from hanoismart.dossiers.selectors.open_state import dossier_clocks
from hanoismart.ioc.kpis import KPIS
from hanoismart.ioc.models import (
    OPEN_ALERT_STATES,
    Alert,
    AlertAction,
    AlertEvent,
    AlertKind,
    AlertState,
    AutoReason,
    Comparison,
    KpiThreshold,
)
from hanoismart.ioc.selectors import unit_kpi_values
from hanoismart.ioc.services.raising import existing_keys, overdue_key, raise_alert, utc
from hanoismart.reporting.selectors import reports_counted

#: Alerts updated per statement: well below SQLite's limit of bound parameters (with several fields changed
#: per alert, a quarter of it).
BULK_BATCH = 2000


def _batches(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + BULK_BATCH] for start in range(0, len(ids), BULK_BATCH)]


@dataclass(frozen=True)
class Change:
    """An automatic change to tell the alert's owner about: ``event`` is "resolved" or "reopened"."""

    alert_id: int
    event: str
    reason: str


@dataclass
class Review:
    """The changes of one run, written together by ``save`` (a few statements, whatever their number)."""

    now: dt.datetime
    resolved: dict[str, list[Alert]] = field(default_factory=lambda: defaultdict(list))
    reopened: list[tuple[Alert, str]] = field(default_factory=list)
    retagged: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def resolve(self, alert: Alert, reason: str) -> None:
        alert.state, alert.resolved_at, alert.resolved_reason = AlertState.RESOLVED, self.now, reason
        self.resolved[reason].append(alert)

    def reopen(self, alert: Alert, reason: str, **params: Any) -> None:
        alert.state, alert.resolved_at, alert.resolved_reason = AlertState.NEW, None, ""
        alert.params = {**alert.params, **params}
        self.reopened.append((alert, reason))

    def retag(self, alert: Alert, reason: str) -> None:
        """Change why a resolved alert stays resolved, without a timeline line (the dossier it waited for
        moved on; its alert is no longer followed)."""
        alert.resolved_reason = reason
        self.retagged[reason].append(alert.pk)

    def save(self) -> list[Change]:
        """Write the changes and their timeline lines; the changes whose owner is to be told."""
        changed_at = timezone.now()  # what ``auto_now`` would write: the live token follows it
        events = []
        for reason, alerts in self.resolved.items():
            for batch in _batches([a.pk for a in alerts]):
                Alert.objects.filter(pk__in=batch).update(
                    state=AlertState.RESOLVED,
                    resolved_at=self.now,
                    resolved_reason=reason,
                    updated_at=changed_at,
                )
            events += [
                AlertEvent(alert=a, at=self.now, action=AlertAction.AUTO_RESOLVE, reason=reason)
                for a in alerts
            ]
        for reason, ids in self.retagged.items():
            for batch in _batches(ids):
                Alert.objects.filter(pk__in=batch).update(resolved_reason=reason)
        if self.reopened:
            for alert, _reason in self.reopened:
                alert.updated_at = changed_at
            Alert.objects.bulk_update(
                [alert for alert, _reason in self.reopened],
                ["state", "resolved_at", "resolved_reason", "source_key", "params", "updated_at"],
                batch_size=BULK_BATCH // 4,
            )
            events += [
                AlertEvent(alert=a, at=self.now, action=AlertAction.AUTO_REOPEN, reason=reason)
                for a, reason in self.reopened
            ]
        AlertEvent.objects.bulk_create(events, batch_size=BULK_BATCH // 4)
        told = [
            Change(alert_id=a.pk, event="resolved", reason=reason)
            for reason, alerts in self.resolved.items()
            for a in alerts
            if a.owner_id is not None
        ]
        return told + [
            Change(alert_id=a.pk, event="reopened", reason=reason)
            for a, reason in self.reopened
            if a.owner_id is not None
        ]


def _under_review(kind: str) -> Any:
    """The alerts of ``kind`` the detection may change, locked for the run; those a person holds are
    skipped."""
    return Alert.objects.select_for_update(skip_locked=True).filter(kind=kind).order_by("pk")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def review_dossier_alerts(review: Review) -> None:
    """Resolve the open alerts of dossiers no longer overdue; follow those resolved while their dossier
    waited for a supplement. Two queries (three with a reopening)."""
    now = review.now
    alerts = list(
        _under_review(AlertKind.DOSSIER_OVERDUE).filter(
            Q(state__in=OPEN_ALERT_STATES) | Q(resolved_reason=AutoReason.DOSSIER_PAUSED)
        )
    )
    dossier_of = {alert.pk: _uuid(alert.params.get("dossier")) for alert in alerts}
    clocks = dossier_clocks(public_ids={key for key in dossier_of.values() if key is not None})
    resumed = []
    for alert in alerts:
        key = dossier_of[alert.pk]
        clock = clocks.get(key) if key is not None else None
        if clock is None:
            continue
        if alert.state != AlertState.RESOLVED:
            if not clock.is_open:
                review.resolve(alert, AutoReason.DOSSIER_FINISHED)
            elif clock.is_paused:
                review.resolve(alert, AutoReason.DOSSIER_PAUSED)
            elif clock.due_at is None or clock.due_at > now:
                review.resolve(alert, AutoReason.DUE_MOVED)
        elif not clock.is_open:
            review.retag(alert, AutoReason.DOSSIER_FINISHED)
        elif not clock.is_paused:
            if clock.due_at is not None and clock.due_at <= now:
                resumed.append((alert, clock.due_at, overdue_key(clock.public_id, clock.due_at)))
            else:  # its new due moment is ahead: passing it raises a new alert
                review.retag(alert, AutoReason.DUE_MOVED)
    taken = existing_keys(key for _alert, _due, key in resumed)
    for alert, due_at, key in resumed:
        if key != alert.source_key and key in taken:  # another alert has that due moment already
            review.retag(alert, AutoReason.DUE_MOVED)
            continue
        taken.add(key)
        alert.source_key = key
        review.reopen(alert, AutoReason.OVERDUE_AGAIN, due_at=utc(due_at))


def review_report_alerts(review: Review) -> None:
    """Resolve the open alerts of reports that now count. Two queries."""
    alerts = list(_under_review(AlertKind.REPORT_LATE).filter(state__in=OPEN_ALERT_STATES))
    report_of = {
        alert.pk: (
            str(alert.params.get("form", "")),
            str(alert.params.get("period", "")),
            alert.unit_id,
            alert.agency_id,
        )
        for alert in alerts
        if alert.unit_id is not None
    }
    counted = reports_counted(wanted=report_of.values())  # type: ignore[arg-type]
    for alert in alerts:
        if report_of.get(alert.pk) in counted:
            review.resolve(alert, AutoReason.REPORT_SUBMITTED)


def crossed(comparison: str, value: float, threshold: Decimal) -> bool:
    if comparison == Comparison.BELOW:
        return Decimal(str(value)) < threshold
    return Decimal(str(value)) > threshold


def check_thresholds(review: Review) -> list[Alert]:
    """Active thresholds whose KPI, for this month so far (stocks: now), is beyond them: at most one alert
    per threshold and day, reopened when it was closed automatically and the KPI crosses again that day.
    Open threshold alerts whose KPI is back within are resolved. Returns the alerts raised. Two queries and
    the KPIs of each unit with a threshold."""
    now = review.now
    today = timezone.localdate(now)
    thresholds = list(KpiThreshold.objects.filter(is_active=True).select_related("unit").order_by("pk"))
    by_public_id = {str(t.public_id): t for t in thresholds}
    keys = {t.pk: f"threshold:{t.public_id}:{today.isoformat()}" for t in thresholds}
    alerts = list(
        _under_review(AlertKind.THRESHOLD).filter(
            Q(state__in=OPEN_ALERT_STATES) | Q(source_key__in=list(keys.values()))
        )
    )
    values: dict[int | None, dict[str, Any]] = {}

    def value_of(threshold: KpiThreshold) -> Any:
        if threshold.unit_id not in values:
            values[threshold.unit_id] = unit_kpi_values(unit=threshold.unit, now=now)
        return values[threshold.unit_id].get(threshold.kpi)

    for alert in alerts:
        if alert.state == AlertState.RESOLVED:
            continue
        threshold = by_public_id.get(str(alert.params.get("threshold_id", "")))
        if threshold is None:
            review.resolve(alert, AutoReason.THRESHOLD_REMOVED)
        elif threshold.kpi in KPIS:
            value = value_of(threshold)
            if value is not None and not crossed(threshold.comparison, value, threshold.value):
                review.resolve(alert, AutoReason.BACK_WITHIN)

    todays = {alert.source_key: alert for alert in alerts}
    raised = []
    for threshold in thresholds:
        alert = todays.get(keys[threshold.pk])
        if threshold.kpi not in KPIS or (alert is not None and not alert.resolved_reason):
            continue  # today's alert is open, or a person resolved it: nothing more today
        value = value_of(threshold)
        if value is None or not crossed(threshold.comparison, value, threshold.value):
            continue
        if alert is not None:
            review.reopen(alert, AutoReason.CROSSED_AGAIN, value=value)
            continue
        query = urlencode({"unit": threshold.unit.code}) if threshold.unit else ""
        new = raise_alert(
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
        if new is not None:
            raised.append(new)
    return raised
