"""The reporting demo seed: forms owned by an agency that can review them, an ad-hoc request, reminders."""

from __future__ import annotations

from io import StringIO

from hanoismart.directory.models import Agency
from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.reporting import seeds
from hanoismart.reporting.models import ReminderLog, ReportForm, ReportRequest, Submission
from tests.conftest import _staff


def test_demo_seed_gives_the_forms_a_reviewing_owner_a_request_and_reminders(personas, hoan_kiem):
    # given the city office with managers only, and Sở Tư pháp with an officer (as in the demo roster)
    reporter = _staff(StaffRole.REPORTER, Agency.objects.get(unit=hoan_kiem), "Bùi Thanh Tâm")
    StaffPosition.objects.update(valid_from="2024-01-01")
    # when the demo is seeded
    seeds.run(demo=True, stdout=StringIO())
    # then Sở Tư pháp owns the forms, so someone can return and accept reports
    owners = set(
        ReportForm.objects.exclude(period_type="ad_hoc").values_list("owner_agency__code", flat=True)
    )
    assert owners == {seeds.SO_TU_PHAP}
    request = ReportRequest.objects.get()
    assert request.form.assignments.filter(unit=hoan_kiem).exists()
    assert ReminderLog.objects.filter(recipient=reporter, kind="chase").exists()
    counts = (Submission.objects.count(), ReminderLog.objects.count(), ReportRequest.objects.count())
    # and a second run changes nothing
    seeds.run(demo=True, stdout=StringIO())
    assert (Submission.objects.count(), ReminderLog.objects.count(), ReportRequest.objects.count()) == counts
