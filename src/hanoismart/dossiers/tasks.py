"""Background jobs of the dossiers app: after each change, one task that delivers the dossier's
national-portal sync messages and tells the applicant; and a sweep every minute for portal messages whose
retry came due (or whose task was lost)."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hanoismart.dossiers.services.base import follow_up
from hanoismart.dossiers.services.portal import portal_deliver_dossier, portal_dossiers_due


# Retries are the sync message's own (with backoff, counted in the row), not huey's.
@db_task(retries=0)
def deliver_portal_messages(dossier_id: int) -> int:
    """Deliver a dossier's pending messages in order; a no-op when another worker holds them."""
    return portal_deliver_dossier(dossier_id=dossier_id)


@db_task(retries=0)
def dossier_follow_up(dossier_id: int, notification: dict[str, Any] | None, deliver: bool) -> int:
    """What follows a committed change (``base.follow_up_after_commit``): portal delivery, then the
    applicant's notification (queued in the notifications outbox, which delivers and retries it)."""
    return follow_up(dossier_id=dossier_id, notification=notification, deliver=deliver)


@db_periodic_task(crontab(minute="*"))
def sweep_portal_messages() -> int:
    """Queue delivery for every dossier with a message due; returns how many dossiers were queued."""
    due = portal_dossiers_due()
    for dossier_id in due:
        deliver_portal_messages(dossier_id)
    return len(due)
