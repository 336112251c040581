"""Alerts: detection (a dossier passing its due time raises exactly one alert, however often detection runs;
a report missing its deadline; a threshold crossed, once a day), subscribers told through the outbox, actions
on alerts and their refusals (which write nothing), subscriptions and thresholds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import translation

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hanoismart.ioc.models import Alert, AlertDetection, AlertEvent, AlertSubscription, KpiThreshold
from hanoismart.ioc.selectors import alert_get, alert_title, alerts_for
from hanoismart.ioc.services import (
    alert_act,
    alert_subscribe,
    alert_unsubscribe,
    alerts_detect,
    alerts_detect_if_stale,
    threshold_create,
    threshold_delete,
)
from hanoismart.notifications.models import Message
from tests.ioc.conftest import NOW, _dossier, at

pytestmark = pytest.mark.django_db


def traces() -> tuple[int, int, int, int]:
    """(alert events, audit events, messages, subscriptions + thresholds): a refusal leaves all unchanged."""
    return (
        AlertEvent.objects.count(),
        AuditEvent.objects.count(),
        Message.objects.count(),
        AlertSubscription.objects.count() + KpiThreshold.objects.count(),
    )


# -- detection ----------------------------------------------------------------------------------------------


def test_the_first_detection_looks_back_a_week(city):
    raised = alerts_detect(now=NOW)

    # h4 (due 18 March) and c2 (19 March); b2 (12 March) is older than the look-back; Ba Đình's March report
    assert raised == 3
    keys = set(Alert.objects.values_list("source_key", flat=True))
    d = city.dossiers
    assert keys == {
        f"dossier_overdue:{d['h4'].public_id}:2026-03-18T10:00:00+00:00",
        f"dossier_overdue:{d['c2'].public_id}:2026-03-19T10:00:00+00:00",
        "report_late:MONTHLY:2026-03:00004",
    }
    alert = Alert.objects.get(source_key__startswith=f"dossier_overdue:{d['h4'].public_id}")
    assert (alert.kind, alert.state, alert.unit, alert.agency) == (
        "dossier_overdue",
        "new",
        city.hoan_kiem,
        city.hk,
    )
    assert alert.link == f"/desk/dossiers/{d['h4'].code}/"
    assert alert.params["code"] == d["h4"].code
    assert list(alert.events.values_list("action", flat=True)) == ["raised"]
    with translation.override("en"):
        assert (
            alert_title(alert)
            == f"Dossier {d['h4'].code} ({d['h4'].procedure.name}) passed its due time 18/03/2026 17:00"
        )
        report = Alert.objects.get(kind="report_late")
        assert (
            alert_title(report)
            == "Phường Ba Đình has not sent report MONTHLY for period 2026-03 (due 18/03/2026 17:00)"
        )
        assert report.link == "/reporting/forms/MONTHLY/2026-03/completeness/"


def test_a_dossier_passing_its_due_time_raises_exactly_one_alert(city, personas, birth_case):
    alerts_detect(now=NOW)
    due = NOW + dt.timedelta(minutes=1)
    dossier = _dossier(city.bd, birth_case, personas.resident, received=at(3, 19), due_at=due)

    assert alerts_detect(now=NOW + dt.timedelta(seconds=30)) == 0
    assert alerts_detect(now=NOW + dt.timedelta(minutes=2)) == 1
    assert alerts_detect(now=NOW + dt.timedelta(minutes=3)) == 0
    assert alerts_detect(now=NOW + dt.timedelta(minutes=2)) == 0  # a run behind the clock changes nothing
    assert Alert.objects.filter(source_key__contains=str(dossier.public_id)).count() == 1


def test_a_paused_or_finished_dossier_raises_nothing(city, personas, birth_case):
    alerts_detect(now=NOW)
    due = NOW + dt.timedelta(minutes=1)
    _dossier(city.bd, birth_case, personas.resident, received=at(3, 19), due_at=due, paused_since=NOW)
    _dossier(city.bd, birth_case, personas.resident, received=at(3, 19), due_at=due, status="10")
    assert alerts_detect(now=NOW + dt.timedelta(minutes=2)) == 0


def test_detection_when_stale_runs_at_most_every_two_seconds(city, personas, birth_case):
    AlertDetection.objects.create(pk=1, last_run_at=NOW, thresholds_checked_at=NOW)
    _dossier(city.bd, birth_case, personas.resident, received=at(3, 19), due_at=NOW + dt.timedelta(seconds=1))

    assert alerts_detect_if_stale(now=NOW + dt.timedelta(seconds=1.5)) == 0  # the last run is recent
    assert AlertDetection.objects.get().last_run_at == NOW
    assert alerts_detect_if_stale(now=NOW + dt.timedelta(seconds=3)) == 1
    assert AlertDetection.objects.get().last_run_at == NOW + dt.timedelta(seconds=3)


def test_a_threshold_crossed_raises_one_alert_a_day(city, personas):
    threshold = threshold_create(
        actor=personas.city_manager, kpi="on_time_rate", comparison="below", value="90"
    )
    threshold_create(actor=personas.city_manager, kpi="received", comparison="above", value=100)

    alerts_detect(now=NOW)  # on-time this month: 80 % < 90 %; received: 10, not above 100
    alerts_detect(now=NOW + dt.timedelta(minutes=5))

    alert = Alert.objects.get(kind="threshold")
    assert alert.source_key == f"threshold:{threshold.public_id}:2026-03-20"
    assert alert.unit is None
    assert alert.params["value"] == 80.0
    assert alert.link == "/ioc/kpi/on_time_rate/"
    with translation.override("en"):
        assert alert_title(alert) == "On-time rate of the city is 80.0: it falls below 90.0"
    alerts_detect(now=NOW + dt.timedelta(days=1))
    assert Alert.objects.filter(kind="threshold").count() == 2  # the next day, once more


def test_subscribers_are_told_in_the_app_and_on_their_channels_within_their_scope(
    city, personas, leaders, birth_case, django_capture_on_commit_callbacks
):
    alert_subscribe(actor=personas.city_manager, channels=["sms"])
    alert_subscribe(actor=leaders.ba_dinh, kind="dossier_overdue", channels=[])
    alert_subscribe(actor=leaders.hoan_kiem, channels=["in_app"])
    alerts_detect(now=NOW)
    Message.objects.all().delete()
    dossier = _dossier(
        city.bd, birth_case, personas.resident, received=at(3, 19), due_at=NOW + dt.timedelta(minutes=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        alerts_detect(now=NOW + dt.timedelta(minutes=2))

    sent = set(Message.objects.values_list("recipient__full_name", "channel", "template"))
    assert sent == {
        (personas.city_manager.full_name, "in_app", "ioc.alert"),
        (personas.city_manager.full_name, "sms", "ioc.alert"),
        (leaders.ba_dinh.full_name, "in_app", "ioc.alert"),
    }  # not the leader of Hoàn Kiếm: not their ward
    alert = Alert.objects.get(source_key__contains=str(dossier.public_id))
    body = Message.objects.get(recipient=leaders.ba_dinh).body
    assert dossier.code in body
    assert f"/ioc/alerts/{alert.public_id}/" in body


# -- acting on alerts ---------------------------------------------------------------------------------------


@pytest.fixture
def hk_alert(city) -> Alert:
    alerts_detect(now=NOW)
    return Alert.objects.get(source_key__startswith=f"dossier_overdue:{city.dossiers['h4'].public_id}")


def test_an_alert_goes_from_new_to_acknowledged_to_resolved_and_back(hk_alert, personas):
    manager = personas.city_manager

    alert = alert_act(actor=manager, alert=hk_alert, action="acknowledge")
    assert alert.state == "acknowledged"
    alert = alert_act(actor=manager, alert=alert, action="comment", note="Calling the ward.")
    alert = alert_act(actor=manager, alert=alert, action="resolve", note="Done.")
    assert alert.state == "resolved"
    assert alert.resolved_at is not None
    with (
        pytest.raises(InvalidInput, match="resolved alert cannot be acknowledged"),
        translation.override("en"),
    ):
        alert_act(actor=manager, alert=alert, action="acknowledge")
    alert = alert_act(actor=manager, alert=alert, action="reopen")
    assert (alert.state, alert.resolved_at) == ("new", None)

    timeline = alert_get(actor=manager, public_id=alert.public_id).timeline
    assert [(e.action, e.note) for e in timeline] == [
        ("raised", ""),
        ("acknowledge", ""),
        ("comment", "Calling the ward."),
        ("resolve", "Done."),
        ("reopen", ""),
    ]
    assert sorted(
        AuditEvent.objects.filter(object_ref=str(alert.public_id)).values_list("action", flat=True)
    ) == ["ioc.alert_acknowledge", "ioc.alert_comment", "ioc.alert_reopen", "ioc.alert_resolve"]


def test_assigning_hands_the_alert_to_someone_serving_its_unit(
    hk_alert, personas, leaders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_act(
            actor=personas.city_manager,
            alert=hk_alert,
            action="assign",
            owner=str(leaders.hoan_kiem.public_id),
        )
    assert alert.owner == leaders.hoan_kiem
    assert alert.state == "acknowledged"
    assert (
        Message.objects.filter(recipient=leaders.hoan_kiem, template="ioc.alert", channel="in_app").count()
        == 1
    )

    before = traces()
    with pytest.raises(InvalidInput):
        alert_act(actor=personas.city_manager, alert=alert, action="assign", owner=leaders.ba_dinh)
    assert traces() == before
    alert = alert_act(actor=leaders.hoan_kiem, alert=alert, action="assign")
    assert alert.owner == leaders.hoan_kiem


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("other_ward_leader", PermissionDenied),
        ("operator", PermissionDenied),
        ("resident", PermissionDenied),
        ("clerk", PermissionDenied),
        ("anonymous", NotAuthenticated),
    ],
)
def test_refused_actions_write_nothing(hk_alert, personas, leaders, who, error):
    actor = {
        "other_ward_leader": leaders.ba_dinh,
        "operator": personas.operator,
        "resident": personas.resident,
        "clerk": personas.clerk_hoan_kiem,
        "anonymous": AnonymousUser(),
    }[who]
    before = traces()
    for action in ("acknowledge", "resolve", "comment"):
        with pytest.raises(error):
            alert_act(actor=actor, alert=hk_alert, action=action, note="x")
    hk_alert.refresh_from_db()
    assert hk_alert.state == "new"
    assert traces() == before


def test_a_ward_leader_acts_on_their_ward_and_sees_only_its_alerts(hk_alert, city, leaders):
    alert = alert_act(actor=leaders.hoan_kiem, alert=hk_alert, action="acknowledge")
    assert alert.state == "acknowledged"
    assert {a.unit_id for a in alerts_for(actor=leaders.hoan_kiem)} == {city.hoan_kiem.pk}
    other = Alert.objects.get(kind="report_late")
    with pytest.raises(NotFound):
        alert_get(actor=leaders.hoan_kiem, public_id=other.public_id)
    with pytest.raises(PermissionDenied):
        alerts_for(actor=leaders.hoan_kiem, unit=city.ba_dinh.code)
    with pytest.raises(InvalidInput):
        alerts_for(actor=leaders.hoan_kiem, state="sleeping")


def test_a_comment_needs_a_note_and_an_action_must_exist(hk_alert, personas):
    before = traces()
    with pytest.raises(InvalidInput):
        alert_act(actor=personas.city_manager, alert=hk_alert, action="comment", note="  ")
    with pytest.raises(InvalidInput):
        alert_act(actor=personas.city_manager, alert=hk_alert, action="delete")
    assert traces() == before


# -- subscriptions and thresholds ---------------------------------------------------------------------------


def test_subscribing_again_changes_the_channels_and_unsubscribing_removes(city, personas, leaders):
    first = alert_subscribe(
        actor=leaders.hoan_kiem, kind="report_late", unit=city.hoan_kiem.code, channels=["sms"]
    )
    again = alert_subscribe(
        actor=leaders.hoan_kiem, kind="report_late", unit=city.hoan_kiem.code, channels=["email", "in_app"]
    )
    assert again.pk == first.pk
    assert again.channels == ["email"]  # in the app always

    before = traces()
    with pytest.raises(PermissionDenied):
        alert_subscribe(actor=leaders.hoan_kiem, unit=city.ba_dinh.code, channels=[])
    with pytest.raises(PermissionDenied):
        alert_subscribe(actor=personas.resident, channels=[])
    with pytest.raises(InvalidInput):
        alert_subscribe(actor=leaders.hoan_kiem, channels=["pigeon"])
    with pytest.raises(NotFound):
        alert_unsubscribe(actor=leaders.ba_dinh, subscription_id=first.pk)
    assert traces() == before
    alert_unsubscribe(actor=leaders.hoan_kiem, subscription_id=first.pk)
    assert not AlertSubscription.objects.exists()


def test_thresholds_are_set_by_managers_and_operators_within_their_scope(city, personas, leaders):
    ward = threshold_create(
        actor=personas.city_manager, kpi="overdue", unit=city.ba_dinh.code, comparison="above", value="0"
    )
    ward.refresh_from_db()
    assert (ward.unit, ward.comparison, str(ward.value)) == (city.ba_dinh, "above", "0.00")

    before = traces()
    with pytest.raises(PermissionDenied):
        threshold_create(
            actor=leaders.hoan_kiem, kpi="overdue", unit=city.hoan_kiem.code, comparison="above", value=1
        )
    for bad in (
        {"kpi": "happiness"},
        {"value": "lots"},
        {"value": "101", "kpi": "online_rate"},
        {"comparison": "near"},
    ):
        values = {"kpi": "overdue", "comparison": "above", "value": "1", **bad}
        with pytest.raises(InvalidInput):
            threshold_create(actor=personas.city_manager, **values)
    with pytest.raises(NotFound):
        threshold_delete(actor=leaders.hoan_kiem, public_id=ward.public_id)
    with pytest.raises(PermissionDenied):
        threshold_delete(actor=leaders.ba_dinh, public_id=ward.public_id)
    assert traces() == before

    threshold_delete(actor=personas.operator, public_id=ward.public_id)
    assert not KpiThreshold.objects.exists()
    assert AuditEvent.objects.filter(action="ioc.threshold_delete").count() == 1
