"""Raising alerts: one per source (``Alert.source_key``), with its first timeline line; the dossiers that
passed their due time and the reporters that missed a report's deadline in a window of time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from hanoismart.dossiers.selectors.rollups import DueDossier, dossiers_passing_due
from hanoismart.ioc.models import Alert, AlertAction, AlertEvent, AlertKind
from hanoismart.reporting.selectors import ReportState, completeness, form_list, period_list


def raise_alert(
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
            AlertEvent.objects.create(alert=alert, at=now, action=AlertAction.RAISED)
    except IntegrityError:
        return None
    return alert


def existing_keys(keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` some alert has already."""
    keys = list(keys)
    if not keys:
        return set()
    return set(Alert.objects.filter(source_key__in=keys).values_list("source_key", flat=True))


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def overdue_key(public_id: Any, due_at: dt.datetime) -> str:
    """One alert per dossier and due moment: a due moment moved by a supplement can pass again."""
    return f"dossier_overdue:{public_id}:{utc(due_at)}"


def raise_overdue(rows: Iterable[DueDossier], now: dt.datetime) -> list[Alert]:
    """An alert for each dossier of ``rows`` past its due moment, unless it has one for that moment, owned by
    the dossier's holder."""
    rows = [row for row in rows if row.due_at is not None]
    keys = {row.public_id: overdue_key(row.public_id, row.due_at) for row in rows}
    existing = existing_keys(keys.values())
    raised = []
    for row in rows:
        key = keys[row.public_id]
        if key in existing:
            continue
        alert = raise_alert(
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
                "due_at": utc(row.due_at),
            },
            link=reverse("dossiers:desk_detail", kwargs={"code": row.code}),
        )
        if alert is not None:
            raised.append(alert)
    return raised


def detect_overdue(since: dt.datetime, now: dt.datetime) -> list[Alert]:
    """Open, unpaused dossiers whose due time fell in ``(since, now]``."""
    return raise_overdue(dossiers_passing_due(since=since, until=now), now)


def detect_report_late(since: dt.datetime, now: dt.datetime) -> list[Alert]:
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
            existing = existing_keys(keys.values())
            for row in missing:
                reporter = row.reporter
                if keys[reporter.key] in existing:
                    continue
                alert = raise_alert(
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
                        "due_at": utc(period.due_at),
                    },
                    link=reverse(
                        "reporting:completeness", kwargs={"form_code": form.code, "period_code": period.code}
                    ),
                )
                if alert is not None:
                    raised.append(alert)
    return raised
