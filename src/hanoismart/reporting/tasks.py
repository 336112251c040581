"""Background jobs of the reporting app: locking received reports once their period's lock date passed,
keeping "every ward/commune" forms assigned to the units in force (after a merge or a split), and sending
the reminders due (every 15 minutes)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hanoismart.reporting.models import ReporterScope, ReportForm
from hanoismart.reporting.services import assignments_sync, reminders_due, submissions_lock_due


@db_periodic_task(crontab(hour="0", minute="15"))
def lock_due_submissions() -> int:
    """Lock the reports of periods past their lock date (idempotent)."""
    return submissions_lock_due()


@db_periodic_task(crontab(hour="0", minute="5"))
def sync_assignments() -> int:
    """Assign new wards/communes and end the assignments of ceased ones (idempotent)."""
    forms = ReportForm.objects.filter(is_active=True, reporter_scope=ReporterScope.ALL_LOCAL_UNITS)
    return sum(assignments_sync(actor=None, form=form) for form in forms)


@db_periodic_task(crontab(minute="*/15"))
def send_due_reminders() -> int:
    """Send the reminders due now (đôn đốc): idempotent, so running it every 15 minutes sends each once."""
    return reminders_due()
