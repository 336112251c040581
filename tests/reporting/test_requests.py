"""Ad-hoc requests (on the units' desks at once, notified in-app and by SMS, answered as submissions) and the
reminder endpoints of the API and the completeness page."""

from __future__ import annotations

import json

import pytest

from hanoismart.audit.models import AuditEvent
from hanoismart.notifications.models import Channel, Message
from hanoismart.reporting.models import ReminderLog, ReportForm, ReportRequest
from hanoismart.reporting.selectors import completeness
from hanoismart.reporting.services import (
    ValueEntry,
    submission_open,
    submission_save_draft,
    submission_submit,
)

API = "/api/v1/reporting"
STORM = {
    "title": "Thiệt hại do bão số 3",
    "instructions": "Báo cáo số nhà bị tốc mái và người bị thương.",
    "hours": 24,
    "units": ["00070", "00004"],
    "indicators": ["DOSSIERS_IN"],
    "questions": ["Có người bị thương không?"],
    "idempotency_key": "storm-3",
}


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_manager_sends_a_request_that_reaches_desks_and_phones_at_once(
    world, sign_in, personas, hoan_kiem, django_capture_on_commit_callbacks
):
    # when the city manager sends a storm damage request due in 24 hours
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(sign_in(personas.city_manager), f"{API}/requests", STORM)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["units"] == ["00004", "00070"]
    request = ReportRequest.objects.get()
    assert AuditEvent.objects.filter(action="reporting.request_send").count() == 1
    # then it is on the ward's reporter's desk, and they got an in-app message and an SMS
    desk = sign_in(world.reporter_hk).get("/reporting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Thiệt hại do bão số 3" in desk
    sent = Message.objects.filter(recipient=world.reporter_hk, template="reporting.request")
    assert sorted(sent.values_list("channel", flat=True)) == [Channel.IN_APP, Channel.SMS]
    # and sending it again with the same key changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(sign_in(personas.city_manager), f"{API}/requests", STORM)
    assert again.json()["id"] == body["id"]
    assert ReportRequest.objects.count() == ReportForm.objects.filter(period_type="ad_hoc").count() == 1

    # when Hoàn Kiếm answers, the same completeness counts it
    form, period = request.form, request.period
    assert completeness(form=form, period=period).expected == 2
    submission = submission_open(actor=world.reporter_hk, form=form, period=period, unit=hoan_kiem)
    submission_save_draft(
        actor=world.reporter_hk,
        submission=submission,
        values=[ValueEntry("DOSSIERS_IN", "3"), ValueEntry(f"{form.code}-Q1", "Hai người bị thương nhẹ.")],
    )
    submission = submission_submit(actor=world.reporter_hk, submission=submission)
    assert submission.on_time is True
    result = completeness(form=form, period=period)
    assert (result.on_time, result.missing) == (1, 1)


def test_request_refused_for_a_reporter_and_when_incomplete(world, sign_in, personas):
    response = _post(sign_in(world.reporter_hk), f"{API}/requests", STORM)
    assert response.status_code == 403
    bad = _post(
        sign_in(personas.city_manager), f"{API}/requests", {**STORM, "indicators": ["NOPE"], "questions": []}
    )
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["indicators"]
    assert not ReportRequest.objects.exists()
    assert not ReportForm.objects.filter(period_type="ad_hoc").exists()
    assert not Message.objects.exists()


def test_request_form_page(world, sign_in, personas):
    client = sign_in(personas.city_manager)
    assert client.get("/reporting/requests/new/").status_code == 200
    response = client.post(
        "/reporting/requests/new/",
        {
            "title": "Ngập úng",
            "hours": "6",
            "units": ["00070"],
            "questions": "Số hộ bị ngập?",
            "idempotency_key": "k",
        },
    )
    assert response.status_code == 302
    assert ReportRequest.objects.get().form.assignments.get().unit.code == "00070"
    assert sign_in(world.reporter_hk).get("/reporting/requests/new/").status_code == 403


def test_chase_api_for_managers_only(world, sign_in, personas):
    body = {"form": "MONTHLY", "period": world.period.code}
    assert _post(sign_in(world.reporter_hk), f"{API}/completeness/chase", body).status_code == 403
    assert not ReminderLog.objects.exists()
    response = _post(sign_in(personas.city_manager), f"{API}/completeness/chase", body)
    assert response.status_code == 200
    assert response.json() == {
        "reporters": ["Phường Ba Đình", "Phường Hoàn Kiếm"],
        "people": 2,
        "logs": 4,
        "already_chased": 0,
    }
    logs = (
        sign_in(personas.city_manager).get(f"{API}/reminders?form=MONTHLY&period={world.period.code}").json()
    )
    assert len(logs) == 4
    assert {log["kind"] for log in logs} == {"chase"}
    assert {log["delivery"] for log in logs if log["channel"] == "in_app"} == {"delivered"}


@pytest.mark.parametrize("unit", ["", "00070"])
def test_chase_button_on_the_completeness_page(world, sign_in, personas, unit):
    client = sign_in(personas.city_manager)
    page = client.get(f"/reporting/forms/MONTHLY/{world.period.code}/completeness/").content.decode()
    assert 'id="chase-all"' in page
    response = client.post(f"/reporting/forms/MONTHLY/{world.period.code}/chase/", {"unit": unit})
    assert response.status_code == 302
    assert ReminderLog.objects.filter(recipient=world.reporter_hk).exists()
    assert ReminderLog.objects.filter(recipient=world.reporter_bd).exists() is (unit == "")
    page = client.get(f"/reporting/forms/MONTHLY/{world.period.code}/completeness/").content.decode()
    assert 'id="reminder-log"' in page
    assert (
        sign_in(world.reporter_hk).post(f"/reporting/forms/MONTHLY/{world.period.code}/chase/").status_code
        == 403
    )
