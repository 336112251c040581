"""Journey of a monthly report: a ward's reporter fills it in (on a phone, and on a desktop), explains a
validation warning, the ward's leader signs off, and the city manager sees completeness move."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from hanoismart.directory.models import Agency
from hanoismart.identity.models import StaffRole
from hanoismart.reporting.models import Submission, SubmissionStatus
from hanoismart.reporting.services import (
    ValueEntry,
    assignments_sync,
    period_for,
    submission_open,
    submission_save_draft,
    submission_submit,
)
from tests.conftest import _staff
from tests.reporting.conftest import make_form

pytestmark = pytest.mark.e2e


def _act_as(page: Page, sign_in, user, live_server) -> None:
    """Put ``user``'s signed-in session (second factor confirmed) in the browser: the sign-in pages have
    their own journey (test_accounts.py); this one is about reports."""
    client = sign_in(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


@pytest.fixture
def monthly(personas, hoan_kiem, ba_dinh):
    """The department's monthly form (leader's sign-off required); Hoàn Kiếm reported 100 dossiers last
    month, so 200 this month raises the "changed by more than 50%" warning."""
    department = personas.department_officer.positions.get().agency
    form = make_form(department)
    assignments_sync(actor=None, form=form)
    period = period_for(form=form, day=timezone.localdate() - dt.timedelta(days=20))
    previous = period_for(form=form, day=period.start - dt.timedelta(days=1))
    hk = Agency.objects.get(unit=hoan_kiem)
    reporter = _staff(StaffRole.REPORTER, hk, "Bùi Thanh Tâm")
    leader = _staff(StaffRole.LEADER, hk, "Nguyễn Đức Thắng")
    earlier = submission_open(actor=reporter, form=form, period=previous, unit=hoan_kiem)
    submission_save_draft(actor=reporter, submission=earlier, values=[ValueEntry("DOSSIERS_IN", "100")])
    submission_submit(actor=reporter, submission=earlier)
    form.requires_sign_off = True  # from this month on, the ward's leader signs off
    form.save(update_fields=["requires_sign_off"])
    return form, period, reporter, leader


def test_a_ward_reports_explains_a_warning_the_leader_signs_off_and_the_city_sees_it(
    page, screenshot, live_server, sign_in, personas, monthly
):
    form, period, reporter, leader = monthly
    completeness = f"/reporting/forms/{form.code}/{period.code}/completeness/"

    # given the city manager looking at the month's completeness: nobody has reported
    _act_as(page, sign_in, personas.city_manager, live_server)
    page.goto(completeness)
    expect(page.locator("#expected")).to_have_text("2")
    expect(page.locator("#missing")).to_have_text("2")
    screenshot("completeness-before")

    # when the ward's reporter opens their desk and starts the report
    _act_as(page, sign_in, reporter, live_server)
    page.goto("/reporting/")
    expect(page.locator("main")).to_contain_text(form.name)
    screenshot("desk")
    page.locator(f'form[action*="/reporting/start/{form.code}/{period.code}/00070/"] button').click()
    expect(page).to_have_url(re.compile(r"/reporting/reports/[0-9a-f-]+/$"))
    report_url = page.url

    # and fills in the figures and saves the draft
    page.locator('[id="f-DOSSIERS_IN"]').fill("200")
    page.locator('[id="f-DOSSIERS_DONE"]').fill("150")
    page.locator('[id="f-BIRTHS[sex=female]"]').fill("4")
    screenshot("report-filled")
    page.locator('button[name="action"][value="save"]').click()

    # then the page explains that the figure looks unusual and asks why
    warning = page.locator('[id="c-IN_JUMP"]')
    expect(warning).to_be_visible()
    screenshot("warning")

    # when the leader of the ward signs off
    _act_as(page, sign_in, leader, live_server)
    page.goto(report_url)
    page.locator('button[name="action"][value="sign_off"]').click()
    expect(page.locator("#signed-off")).to_be_visible()
    screenshot("signed-off")
    submission = Submission.objects.get(form=form, period=period)
    assert submission.signed_off_by == leader

    # and the reporter explains the warning and submits
    _act_as(page, sign_in, reporter, live_server)
    page.goto(report_url)
    page.locator('[id="c-IN_JUMP"]').fill("Lũ lụt: nhiều hồ sơ hỗ trợ thiệt hại.")
    page.locator('button[name="action"][value="submit"]').click()
    expect(page.locator("#status")).to_have_text(re.compile(r"\S"))
    expect(page.locator('[id="c-IN_JUMP"]')).to_have_count(0)
    screenshot("submitted")
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.warning_comments == {"IN_JUMP": "Lũ lụt: nhiều hồ sơ hỗ trợ thiệt hại."}

    # then the city manager sees completeness move
    _act_as(page, sign_in, personas.city_manager, live_server)
    page.goto(completeness)
    expect(page.locator("#missing")).to_have_text("1")
    submitted = int(page.locator("#on-time").inner_text()) + int(page.locator("#late").inner_text())
    assert submitted == 1
    screenshot("completeness-after")
