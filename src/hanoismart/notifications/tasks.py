"""Background delivery: one task per message after commit, and a sweep every minute for the rest
(retries that came due, messages whose worker died, messages queued while the queue was down)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hanoismart.notifications.selectors import message_ids_due
from hanoismart.notifications.services import message_deliver, message_fail_abandoned


# Retries are the outbox's (with backoff, counted in the row), not huey's.
@db_task(retries=0)
def deliver_message(message_id: str) -> None:
    """Deliver one message; a no-op when it is delivered, failed, not due, or another worker holds it."""
    message_deliver(message_id=message_id)


@db_periodic_task(crontab(minute="*"))
def sweep_due_messages() -> int:
    """Queue every message that is due (or abandoned by a dead worker); returns how many were queued.

    A message queued twice is harmless: only one worker can claim it.
    """
    message_fail_abandoned()
    due = message_ids_due()
    for message_id in due:
        deliver_message(str(message_id))
    return len(due)
