"""Alerts close themselves when their cause is gone: a dossier finished, waiting for a supplement or no longer
past due; a report submitted; a KPI back within its threshold (or the threshold removed). The detection
reopens only what it closed itself (a dossier resuming past due, a threshold crossed again that day), never
what a person resolved; it tells the owner, not the subscribers; a pass costs the same few queries however
many alerts are open."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from hanoismart.dossiers.models import Dossier
from hanoismart.dossiers.services.rollups import stocks_rebuild
from hanoismart.ioc.models import Alert, AlertEvent, KpiThreshold
from hanoismart.ioc.services import (
    alert_act,
    alert_subscribe,
    alerts_detect,
    threshold_create,
    threshold_delete,
)
from hanoismart.notifications.models import Message
from hanoismart.procedures.models import DossierStatus as Status
from hanoismart.reporting.models import Submission
from tests.ioc.conftest import NOW, _dossier, at

pytestmark = pytest.mark.django_db

#: Far enough apart for each run to do its minute checks (thresholds and closing).
MINUTE = dt.timedelta(minutes=2)


def later(steps: int) -> dt.datetime:
    return NOW + steps * MINUTE


def _dossier_alert(dossier: Dossier) -> Alert:
    return Alert.objects.get(kind="dossier_overdue", source_key__contains=str(dossier.public_id))


def timeline(alert: Alert) -> list[tuple[str, str, bool]]:
    """(action, reason, by a person) of each line, oldest first."""
    return [(e.action, e.reason, e.actor_id is not None) for e in alert.events.order_by("at", "id")]


def _set(dossier: Dossier, **values) -> None:
    """Change the dossier's row directly (as the fixtures build the city), then recount the open stocks
    the services keep on write."""
    Dossier.objects.filter(pk=dossier.pk).update(**values)
    stocks_rebuild()


@pytest.fixture
def detected(city):
    """The city after the first detection at NOW: h4 and c2 past due, Ba Đình's March report missing."""
    assert alerts_detect(now=NOW) == 3
    return city


# -- dossiers -----------------------------------------------------------------------------------------------


def test_a_finished_dossier_closes_its_alert_with_a_line_by_the_system(detected):
    h4 = detected.dossiers["h4"]
    _set(h4, status=Status.RETURNED, finished_at=later(1))

    assert alerts_detect(now=later(1)) == 0

    alert = _dossier_alert(h4)
    assert (alert.state, alert.resolved_at, alert.resolved_reason) == (
        "resolved",
        later(1),
        "dossier_finished",
    )
    assert timeline(alert) == [("raised", "", False), ("auto_resolve", "dossier_finished", False)]
    event = alert.events.get(action="auto_resolve")
    with translation.override("en"):
        assert (event.get_action_display(), event.get_reason_display()) == (
            "Resolved automatically",
            "The dossier was finished",
        )
    assert _dossier_alert(detected.dossiers["c2"]).state == "new"  # still past due: still open


def test_a_dossier_no_longer_past_due_closes_its_alert(detected):
    h4 = detected.dossiers["h4"]
    _set(h4, due_at=NOW + dt.timedelta(days=1))

    alerts_detect(now=later(1))
    alert = _dossier_alert(h4)
    assert (alert.state, alert.resolved_reason) == ("resolved", "due_moved")

    # when the new due moment passes, it is a new alert (one per dossier and due moment)
    alerts_detect(now=NOW + dt.timedelta(days=1, minutes=1))
    assert sorted(
        Alert.objects.filter(source_key__contains=str(h4.public_id)).values_list("state", flat=True)
    ) == [
        "new",
        "resolved",
    ]


def test_a_dossier_waiting_for_a_supplement_closes_its_alert_and_reopens_it_when_resumed_past_due(detected):
    h4 = detected.dossiers["h4"]
    first_key = _dossier_alert(h4).source_key
    _set(h4, status=Status.SUPPLEMENT_REQUESTED, paused_since=later(1))

    alerts_detect(now=later(1))
    alert = _dossier_alert(h4)
    assert (alert.state, alert.resolved_reason) == ("resolved", "dossier_paused")
    alerts_detect(now=later(2))  # still waiting: nothing changes
    assert timeline(alert) == [("raised", "", False), ("auto_resolve", "dossier_paused", False)]

    # the supplement arrives: due moves by the time it stood still, and is still past (it was past on pausing)
    new_due = at(3, 18, 17) + dt.timedelta(hours=2)
    _set(h4, status=Status.IN_PROGRESS, paused_since=None, due_at=new_due)
    assert alerts_detect(now=later(3)) == 0  # reopened, not raised again

    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at, alert.resolved_reason) == ("new", None, "")
    assert alert.source_key != first_key
    assert alert.source_key == f"dossier_overdue:{h4.public_id}:2026-03-18T12:00:00+00:00"
    assert alert.params["due_at"] == "2026-03-18T12:00:00+00:00"
    assert timeline(alert)[-1] == ("auto_reopen", "overdue_again", False)
    assert Alert.objects.filter(source_key__contains=str(h4.public_id)).count() == 1
    alerts_detect(now=later(4))
    assert alert.events.count() == 3


def test_a_dossier_resumed_before_its_new_due_moment_is_no_longer_followed(detected):
    h4 = detected.dossiers["h4"]
    _set(h4, status=Status.SUPPLEMENT_REQUESTED, paused_since=later(1))
    alerts_detect(now=later(1))
    _set(h4, status=Status.IN_PROGRESS, paused_since=None, due_at=NOW + dt.timedelta(days=2))

    alerts_detect(now=later(2))

    alert = _dossier_alert(h4)
    assert (alert.state, alert.resolved_reason) == ("resolved", "due_moved")  # why it stays resolved
    assert alert.events.count() == 2  # no new line: nothing happened to the alert itself
    assert not Alert.objects.filter(resolved_reason="dossier_paused").exists()


def test_an_alert_a_person_resolved_is_left_alone(detected, personas):
    h4 = detected.dossiers["h4"]
    alert = alert_act(actor=personas.city_manager, alert=_dossier_alert(h4), action="resolve", note="Called.")
    resolved_at = alert.resolved_at
    _set(h4, status=Status.RETURNED)

    alerts_detect(now=later(1))

    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at, alert.resolved_reason) == ("resolved", resolved_at, "")
    assert timeline(alert) == [("raised", "", False), ("resolve", "", True)]


def test_running_the_detection_again_changes_nothing(detected):
    _set(detected.dossiers["h4"], status=Status.RETURNED)
    Submission.objects.filter(unit=detected.ba_dinh, period__code="2026-03").update(status="submitted")
    alerts_detect(now=later(1))
    state = sorted(Alert.objects.values_list("source_key", "state", "resolved_at", "resolved_reason"))
    events = AlertEvent.objects.count()

    for steps in (1, 2, 3):  # the same moment again, then later
        assert alerts_detect(now=later(steps)) == 0

    assert sorted(Alert.objects.values_list("source_key", "state", "resolved_at", "resolved_reason")) == state
    assert AlertEvent.objects.count() == events


def test_closing_waits_for_the_minute_checks(detected):
    _set(detected.dossiers["h4"], status=Status.RETURNED)

    alerts_detect(now=NOW + dt.timedelta(seconds=30))
    assert _dossier_alert(detected.dossiers["h4"]).state == "new"
    alerts_detect(now=NOW + dt.timedelta(seconds=61))
    assert _dossier_alert(detected.dossiers["h4"]).state == "resolved"


# -- reports ------------------------------------------------------------------------------------------------


def test_a_report_submitted_closes_its_alert_a_draft_does_not(detected):
    alert = Alert.objects.get(kind="report_late")
    alerts_detect(now=later(1))  # Ba Đình's March report is a draft
    alert.refresh_from_db()
    assert alert.state == "new"

    Submission.objects.filter(unit=detected.ba_dinh, period__code="2026-03").update(status="submitted")
    alerts_detect(now=later(2))

    alert.refresh_from_db()
    assert (alert.state, alert.resolved_reason) == ("resolved", "report_submitted")
    with translation.override("en"):
        assert alert.events.get(action="auto_resolve").get_reason_display() == "The report was submitted"


def test_an_agencys_report_closes_its_own_alert_only(detected):
    april_due = at(4, 16, 17) + dt.timedelta(minutes=1)
    assert alerts_detect(now=april_due) == 3  # nobody sent April's: both wards and the department
    april = detected.form.periods.get(code="2026-04")
    Submission.objects.create(
        form=detected.form,
        version=detected.form.versions.get(),
        period=april,
        unit=detected.city,
        agency=detected.department,
        status="submitted",
        on_time=False,
    )

    alerts_detect(now=april_due + MINUTE)

    april_alerts = Alert.objects.filter(kind="report_late", params__period="2026-04")
    assert dict(april_alerts.values_list("agency__code", "state")) == {
        detected.department.code: "resolved",
        None: "new",
    }
    assert april_alerts.filter(state="new").count() == 2


# -- thresholds ---------------------------------------------------------------------------------------------


def test_a_threshold_alert_closes_when_the_kpi_is_back_and_reopens_when_crossed_again_that_day(
    detected, personas
):
    threshold_create(actor=personas.city_manager, kpi="overdue", comparison="above", value="2")
    b2 = detected.dossiers["b2"]
    alerts_detect(now=later(1))  # h4, b2 and c2 overdue: 3 > 2
    alert = Alert.objects.get(kind="threshold")
    assert alert.params["value"] == 3

    _set(b2, status=Status.RETURNED)
    alerts_detect(now=later(2))
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_reason) == ("resolved", "back_within")

    _set(b2, status=Status.IN_PROGRESS)
    assert alerts_detect(now=later(3)) == 0  # the day's alert reopens: its key is per threshold and day
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_at, alert.resolved_reason) == ("new", None, "")
    assert alert.params["value"] == 3
    assert timeline(alert) == [
        ("raised", "", False),
        ("auto_resolve", "back_within", False),
        ("auto_reopen", "crossed_again", False),
    ]
    with translation.override("en"):
        assert (
            alert.events.get(action="auto_reopen").get_reason_display() == "The threshold was crossed again"
        )
    assert Alert.objects.filter(kind="threshold").count() == 1


def test_a_threshold_alert_a_person_resolved_waits_for_the_next_day(detected, personas):
    threshold_create(actor=personas.city_manager, kpi="overdue", comparison="above", value="2")
    alerts_detect(now=later(1))
    alert = alert_act(
        actor=personas.city_manager, alert=Alert.objects.get(kind="threshold"), action="resolve"
    )

    alerts_detect(now=later(2))  # still crossed
    alert.refresh_from_db()
    assert (alert.state, alert.events.count()) == ("resolved", 2)
    alerts_detect(now=NOW + dt.timedelta(days=1))  # a new day, a new alert
    assert sorted(Alert.objects.filter(kind="threshold").values_list("state", flat=True)) == [
        "new",
        "resolved",
    ]


def test_removing_a_threshold_closes_its_alerts(detected, personas):
    threshold = threshold_create(actor=personas.city_manager, kpi="overdue", comparison="above", value="2")
    alerts_detect(now=later(1))
    threshold_delete(actor=personas.city_manager, public_id=threshold.public_id)

    alerts_detect(now=later(2))

    alert = Alert.objects.get(kind="threshold")
    assert (alert.state, alert.resolved_reason) == ("resolved", "threshold_removed")
    assert not KpiThreshold.objects.exists()


# -- telling people -----------------------------------------------------------------------------------------


def test_the_owner_is_told_of_an_automatic_change_the_subscribers_are_not(
    detected, personas, leaders, django_capture_on_commit_callbacks
):
    owner = leaders.hoan_kiem
    owner.preferred_language = "en"
    owner.phone = "0987650001"
    owner.save(update_fields=["preferred_language", "phone"])
    alert_subscribe(actor=owner, kind="dossier_overdue", channels=["sms"])
    alert_subscribe(actor=personas.city_manager, channels=["sms"])
    h4 = detected.dossiers["h4"]
    alert = alert_act(actor=owner, alert=_dossier_alert(h4), action="assign")  # acknowledged, theirs
    _set(h4, status=Status.RETURNED)
    Message.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        alerts_detect(now=later(1))

    alert.refresh_from_db()
    assert (alert.state, alert.owner) == ("resolved", owner)
    sent = Message.objects.filter(template="ioc.alert")
    assert sorted(sent.values_list("recipient__full_name", "channel")) == [
        (owner.full_name, "in_app"),
        (owner.full_name, "sms"),
    ]
    body = sent.get(channel="in_app").body
    assert body.startswith("An alert you hold was resolved automatically:")
    assert "The dossier was finished" in body
    assert f"/ioc/alerts/{alert.public_id}/" in body

    with django_capture_on_commit_callbacks(execute=True):
        alerts_detect(now=later(2))  # nothing changed: nobody is told again
    assert sent.count() == 2


def test_the_timeline_shows_the_automatic_line_and_its_reason(detected, personas, sign_in):
    h4 = detected.dossiers["h4"]
    _set(h4, status=Status.RETURNED)
    alerts_detect(now=later(1))
    alert = _dossier_alert(h4)

    response = sign_in(personas.city_manager).get(
        reverse("ioc:alert", kwargs={"public_id": alert.public_id}), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Resolved automatically" in page
    assert '<div class="text-break" data-reason="dossier_finished">The dossier was finished</div>' in page


# -- cost ---------------------------------------------------------------------------------------------------


def _overdue_dossiers(city, personas, birth_case, count: int, due: dt.datetime) -> list[Dossier]:
    return [
        _dossier(city.bd, birth_case, personas.resident, received=at(3, 19), due_at=due) for _ in range(count)
    ]


def test_a_pass_costs_the_same_few_queries_however_many_alerts_it_closes(
    detected, personas, birth_case, django_assert_max_num_queries
):
    threshold_create(actor=personas.city_manager, kpi="received", comparison="above", value="100000")
    few = _overdue_dossiers(detected, personas, birth_case, 2, NOW + dt.timedelta(minutes=1))
    alerts_detect(now=later(1))
    Dossier.objects.filter(pk__in=[d.pk for d in few]).update(status=Status.RETURNED)
    with CaptureQueriesContext(connection) as small:
        alerts_detect(now=later(2))

    many = _overdue_dossiers(detected, personas, birth_case, 40, later(2) + dt.timedelta(minutes=1))
    alerts_detect(now=later(3))
    assert Alert.objects.filter(kind="dossier_overdue", state="new").count() == 42  # c2, h4 and these 40
    Dossier.objects.filter(pk__in=[d.pk for d in many]).update(status=Status.RETURNED)
    with django_assert_max_num_queries(len(small)) as large:
        alerts_detect(now=later(4))

    assert Alert.objects.filter(resolved_reason="dossier_finished").count() == 42
    assert len(large) == len(small)
