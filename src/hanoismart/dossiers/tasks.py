"""Background jobs of the dossiers app: after each change, one task that tells the applicant and delivers
the dossier's national-portal sync messages (taking along the follow-ups queued behind it); and a sweep every
minute for portal messages whose retry came due (or whose task was lost)."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from hanoismart.dossiers.services.base import follow_up
from hanoismart.dossiers.services.portal import portal_deliver, portal_deliver_dossier, portal_dossiers_due
from hanoismart.tasks_queue import tasks_taken_from_queue

#: How many follow-ups one run serves at most: its own and those waiting behind it in the queue.
FOLLOW_UPS_PER_RUN = 200


# Retries are the sync message's own (with backoff, counted in the row), not huey's.
@db_task(retries=0)
def deliver_portal_messages(dossier_id: int) -> int:
    """Deliver a dossier's pending messages in order; a no-op when another worker holds them. (The sweep
    delivers itself now; kept for the calls an earlier version queued.)"""
    return portal_deliver_dossier(dossier_id=dossier_id)


def _change(dossier_id: int, notification: dict[str, Any] | None, deliver: bool) -> tuple:
    return dossier_id, notification, deliver


@db_task(retries=0)
def dossier_follow_up(dossier_id: int, notification: dict[str, Any] | None, deliver: bool) -> int:
    """What follows a committed change (``base.follow_up_after_commit``): the applicant's notification
    (queued in the notifications outbox, which delivers and retries it), then portal delivery. The
    follow-ups waiting behind this one in the queue are done with it: under load one run (one recipients'
    read, one INSERT of messages, one claim of portal messages…) serves many changes; alone, it serves one."""
    waiting = tasks_taken_from_queue(HUEY, dossier_follow_up, limit=FOLLOW_UPS_PER_RUN - 1)
    changes = [(dossier_id, notification, deliver), *(_change(*args, **kwargs) for args, kwargs in waiting)]
    return follow_up(changes=changes)


@db_periodic_task(crontab(minute="*"))
def sweep_portal_messages() -> int:
    """Deliver the messages due (retries that came due, messages whose task was lost), many dossiers at a
    time; returns how many dossiers had one."""
    due = portal_dossiers_due()
    portal_deliver(dossier_ids=due)
    return len(due)
