"""Background jobs of the dossiers app: delivering national-portal sync messages (one task per dossier after
each status change, and a sweep every minute for retries that came due)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hanoismart.dossiers.services.portal import portal_deliver_dossier, portal_dossiers_due


# Retries are the sync message's own (with backoff, counted in the row), not huey's.
@db_task(retries=0)
def deliver_portal_messages(dossier_id: int) -> int:
    """Deliver a dossier's pending messages in order; a no-op when another worker holds them."""
    return portal_deliver_dossier(dossier_id=dossier_id)


@db_periodic_task(crontab(minute="*"))
def sweep_portal_messages() -> int:
    """Queue delivery for every dossier with a message due; returns how many dossiers were queued."""
    due = portal_dossiers_due()
    for dossier_id in due:
        deliver_portal_messages(dossier_id)
    return len(due)
