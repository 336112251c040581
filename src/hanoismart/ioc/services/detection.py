"""The detection run: every minute in the worker, and whenever an open dashboard asks for fresh figures and
the last run is older than ``DETECTION_MAX_AGE``, so an alert shows within seconds of the moment it
describes. Each run raises the alerts of dossiers and reports that passed their due moment since the last
one; at most once a minute it also checks the thresholds and closes (or reopens) the alerts whose cause is
gone (or back). Runs are serialised by the detection row's lock; subscribers and owners are told after
commit."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from hanoismart.ioc.models import AlertDetection
from hanoismart.ioc.services.closing import (
    Review,
    check_thresholds,
    review_dossier_alerts,
    review_report_alerts,
)
from hanoismart.ioc.services.notifying import alert_notify, owners_notify
from hanoismart.ioc.services.raising import detect_overdue, detect_report_late

#: How old the last detection may be before a live request runs it again.
DETECTION_MAX_AGE = dt.timedelta(seconds=2)
#: How far back the first detection (or one after an outage) looks for dossiers and reports passing due.
DETECTION_LOOKBACK = dt.timedelta(days=7)
#: Each run looks this far behind the previous one, so a row committed just after a run is not missed.
DETECTION_OVERLAP = dt.timedelta(minutes=5)
#: Thresholds are checked, and alerts whose cause is gone closed, at most this often (the thresholds need a
#: KPI computation per unit).
THRESHOLD_INTERVAL = dt.timedelta(minutes=1)


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


def _fresh(last: dt.datetime | None, now: dt.datetime, max_age: dt.timedelta) -> bool:
    return last is not None and dt.timedelta(0) <= now - last < max_age


def alerts_detect(*, now: dt.datetime | None = None) -> int:
    """Raise the alerts due at ``now``: dossiers that passed their due time and reports that missed their
    deadline since the previous run (with an overlap; the first run looks back ``DETECTION_LOOKBACK``), and,
    at most once a minute, thresholds crossed — then also resolve the alerts whose cause is gone
    (``closing``). Idempotent through ``Alert.source_key``; subscribers of new alerts and owners of changed
    ones are told after commit. Returns how many alerts were raised."""
    return _detect(now=now or timezone.now(), max_age=None)


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
        raised = []
        if not _fresh(state.thresholds_checked_at, now, THRESHOLD_INTERVAL):
            # Before raising: an alert reopened for a dossier's new due moment is not raised twice.
            review = Review(now=now)
            review_dossier_alerts(review)
            review_report_alerts(review)
            raised += check_thresholds(review)
            changes = review.save()
            if changes:
                transaction.on_commit(partial(owners_notify, changes=changes, at=now), robust=True)
            state.thresholds_checked_at = now
        raised += detect_overdue(since, now) + detect_report_late(since, now)
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
