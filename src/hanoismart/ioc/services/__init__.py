"""Writes of the operations center; import from here. ``detection``: the run that raises alerts (dossiers
passing their due time, reports missing their deadline — ``raising``; KPI thresholds crossed) and closes
those whose cause is gone (``closing``); ``notifying``: subscribers and owners told through the
notifications outbox; ``actions``: people acting on alerts (acknowledge, assign, resolve, reopen, comment);
``subscriptions`` and ``thresholds``: what managers set up.

Each alert has a ``source_key`` unique per source, so running the detection twice (or in two processes at
once) raises it once.
"""

from hanoismart.ioc.services.actions import ACTIONS, NOTE_MAX_LENGTH, alert_act
from hanoismart.ioc.services.detection import (
    DETECTION_LOOKBACK,
    DETECTION_MAX_AGE,
    DETECTION_OVERLAP,
    THRESHOLD_INTERVAL,
    alerts_detect,
    alerts_detect_if_stale,
)
from hanoismart.ioc.services.notifying import ALERT_TEMPLATE, alert_notify, owners_notify
from hanoismart.ioc.services.subscriptions import alert_subscribe, alert_unsubscribe
from hanoismart.ioc.services.thresholds import threshold_create, threshold_delete

__all__ = [
    "ACTIONS",
    "ALERT_TEMPLATE",
    "DETECTION_LOOKBACK",
    "DETECTION_MAX_AGE",
    "DETECTION_OVERLAP",
    "NOTE_MAX_LENGTH",
    "THRESHOLD_INTERVAL",
    "alert_act",
    "alert_notify",
    "alert_subscribe",
    "alert_unsubscribe",
    "alerts_detect",
    "alerts_detect_if_stale",
    "owners_notify",
    "threshold_create",
    "threshold_delete",
]
