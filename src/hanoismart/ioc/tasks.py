"""Background jobs of the operations center: detecting alerts every minute (dossiers passing their due time,
reports missing their deadline, KPI thresholds crossed) and closing those whose cause is gone (a dossier
finished or waiting for a supplement, a report submitted, a KPI back within its threshold). An open
dashboard also triggers the detection when the last run is older than two seconds
(``services.alerts_detect_if_stale``), so this task is the floor for when nobody is looking."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hanoismart.ioc.services import alerts_detect


@db_periodic_task(crontab(minute="*"))
def detect_alerts() -> int:
    """Raise the alerts due now and resolve those whose cause is gone (idempotent: each source raises one
    alert; an alert already resolved is left alone)."""
    return alerts_detect()


@db_periodic_task(crontab(minute="30"))
def send_digests() -> int:
    """Send the leaders' digests whose day, week or month has ended: hourly, so a digest goes out at the
    first half hour after its period (and a missed run is made up an hour later); idempotent, each
    subscription is sent once per period (``digests.digest_send_due``)."""
    # Imported here, not at the top: this task was appended to the module, whose imports are the alerts'.
    from hanoismart.ioc.digests import digest_send_due

    return digest_send_due()
