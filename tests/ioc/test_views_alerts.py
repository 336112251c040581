"""The IOC's alerts pages: the feed (filters, scope, live), one alert with its timeline and actions, and the
manager's subscriptions and thresholds."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from hanoismart.audit.models import AuditEvent
from hanoismart.ioc.models import Alert, AlertEvent, AlertKind, AlertState, AlertSubscription, KpiThreshold
from hanoismart.ioc.services import alerts_detect
from tests.ioc.conftest import at
from tests.ioc.test_views import EN, Clock, install_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def _alert(unit, code: str, **values) -> Alert:
    alert = Alert.objects.create(
        kind=AlertKind.DOSSIER_OVERDUE,
        source_key=f"test:{code}",
        unit=unit,
        params={"code": code, "procedure": "Đăng ký khai sinh", "due_at": at(3, 18, 17).isoformat()},
        link=reverse("dossiers:desk_detail", kwargs={"code": code}),
        raised_at=timezone.now(),
        **values,
    )
    AlertEvent.objects.create(alert=alert, at=alert.raised_at, action="raised")
    return alert


@pytest.fixture
def alerts(city):
    """One alert in each ward, raised by the detection itself (a dossier past due in each), and the rest of
    the detection's alerts beside them."""
    alerts_detect(now=timezone.now())
    return {
        "hk": Alert.objects.get(source_key__startswith=f"dossier_overdue:{city.dossiers['h4'].public_id}"),
        "c2": Alert.objects.get(source_key__startswith=f"dossier_overdue:{city.dossiers['c2'].public_id}"),
        "bd": _alert(city.ba_dinh, city.dossiers["b2"].code),
    }


def feed_codes(html: str) -> list[str]:
    return re.findall(r'href="/ioc/alerts/([0-9a-f-]{36})/"', html[html.index('id="alert-feed"') :])


def test_the_feed_lists_the_alerts_in_scope_newest_first(sign_in, personas, leaders, city, alerts):
    manager_html = sign_in(personas.city_manager).get(reverse("ioc:alerts"), **EN).content.decode()
    leader_html = sign_in(leaders.hoan_kiem).get(reverse("ioc:alerts"), **EN).content.decode()

    everything = [str(alert.public_id) for alert in Alert.objects.order_by("-raised_at", "-id")]
    assert feed_codes(manager_html) == everything
    assert f"Dossier {city.dossiers['h4'].code} (" in manager_html
    mine = [str(a.public_id) for a in Alert.objects.filter(unit=city.hoan_kiem).order_by("-raised_at", "-id")]
    assert feed_codes(leader_html) == mine
    assert str(alerts["bd"].public_id) not in leader_html


def test_the_feed_filters_by_state_kind_and_unit(sign_in, personas, city, alerts):
    client = sign_in(personas.city_manager)
    Alert.objects.filter(pk=alerts["hk"].pk).update(state=AlertState.ACKNOWLEDGED)

    by_state = client.get(reverse("ioc:alerts") + "?state=acknowledged", **EN).content.decode()
    by_unit = client.get(reverse("ioc:alerts") + "?unit=00004&kind=dossier_overdue", **EN).content.decode()
    late_reports = client.get(reverse("ioc:alerts") + "?kind=report_late", **EN).content.decode()

    assert feed_codes(by_state) == [str(alerts["hk"].public_id)]
    assert feed_codes(by_unit) == [str(alerts["bd"].public_id)]
    assert set(feed_codes(late_reports)) == {
        str(a.public_id) for a in Alert.objects.filter(kind=AlertKind.REPORT_LATE)
    }
    bad = client.get(reverse("ioc:alerts") + "?state=forgotten", **EN)
    assert bad.status_code == 400


def test_the_feed_is_live(sign_in, personas, city, alerts, clock):
    client = sign_in(personas.city_manager)
    page = client.get(reverse("ioc:alerts"), **EN).content.decode()
    token = re.search(r'id="alert-feed"[^>]*data-token="([^"]+)"', page).group(1)
    live = reverse("ioc:alerts_live") + f"?page=1&token={token}"

    assert client.get(live, **EN).status_code == 204

    new = _alert(city.hoan_kiem, city.dossiers["h5"].code)
    clock.advance(3)
    changed = client.get(live, **EN)

    assert changed.status_code == 200
    assert feed_codes(changed.content.decode())[0] == str(new.public_id)


def test_an_alert_shows_its_timeline_and_a_leader_acts_on_it(sign_in, leaders, city, alerts):
    alert = alerts["hk"]
    client = sign_in(leaders.hoan_kiem)

    page = client.get(reverse("ioc:alert", kwargs={"public_id": alert.public_id}), **EN).content.decode()
    assert re.findall(r'id="act-(\w+)"', page) == ["acknowledge", "assign", "resolve", "comment"]
    assert "Raised" in page[page.index('id="timeline"') :]
    assert f'href="{alert.link}"' in page

    acknowledged = client.post(
        reverse("ioc:alert", kwargs={"public_id": alert.public_id}),
        {"action": "acknowledge", "note": "Đã nhắc cán bộ thụ lý."},
        follow=True,
        **EN,
    )
    assert "The alert was acknowledged." in acknowledged.content.decode()
    assigned = client.post(
        reverse("ioc:alert", kwargs={"public_id": alert.public_id}), {"action": "assign"}, follow=True, **EN
    )
    assert "The alert is yours now." in assigned.content.decode()
    client.post(reverse("ioc:alert", kwargs={"public_id": alert.public_id}), {"action": "resolve"}, **EN)

    alert.refresh_from_db()
    assert (alert.state, alert.owner) == (AlertState.RESOLVED, leaders.hoan_kiem)
    assert list(alert.events.values_list("action", "note")) == [
        ("raised", ""),
        ("acknowledge", "Đã nhắc cán bộ thụ lý."),
        ("assign", ""),
        ("resolve", ""),
    ]
    assert (
        AuditEvent.objects.filter(action__startswith="ioc.alert_", object_ref=str(alert.public_id)).count()
        == 3
    )
    page = client.get(reverse("ioc:alert", kwargs={"public_id": alert.public_id}), **EN).content.decode()
    assert re.findall(r'id="act-(\w+)"', page) == ["reopen", "comment"]
    assert "Đã nhắc cán bộ thụ lý." in page


def test_a_refused_action_says_why_and_writes_nothing(sign_in, leaders, city, alerts):
    alert = alerts["hk"]
    events = AlertEvent.objects.count()

    response = sign_in(leaders.hoan_kiem).post(
        reverse("ioc:alert", kwargs={"public_id": alert.public_id}), {"action": "comment", "note": "  "}, **EN
    )

    assert response.status_code == 422
    assert "Write a comment." in response.content.decode()
    assert AlertEvent.objects.count() == events


def test_alerts_of_another_ward_are_not_found_and_cannot_be_acted_on(
    sign_in, personas, leaders, city, alerts
):
    alert = alerts["bd"]
    target = reverse("ioc:alert", kwargs={"public_id": alert.public_id})
    events = AlertEvent.objects.count()

    assert sign_in(leaders.hoan_kiem).get(target, **EN).status_code == 404
    assert sign_in(leaders.hoan_kiem).post(target, {"action": "resolve"}, **EN).status_code == 404
    assert sign_in(personas.resident).post(target, {"action": "resolve"}, **EN).status_code == 403
    assert sign_in(personas.clerk_other_ward).post(target, {"action": "resolve"}, **EN).status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.NEW
    assert AlertEvent.objects.count() == events


def test_an_operator_sees_alerts_but_gets_no_buttons(sign_in, personas, city, alerts):
    target = reverse("ioc:alert", kwargs={"public_id": alerts["bd"].public_id})

    page = sign_in(personas.operator).get(target, **EN)
    refused = sign_in(personas.operator).post(target, {"action": "acknowledge"}, **EN)

    assert page.status_code == 200
    assert 'id="alert-act"' not in page.content.decode()
    assert refused.status_code == 403


# -- subscriptions and thresholds ---------------------------------------------------------------------------


def test_a_manager_subscribes_and_unsubscribes(sign_in, personas, city):
    client = sign_in(personas.city_manager)

    done = client.post(
        reverse("ioc:alert_settings"),
        {"op": "subscribe", "kind": "dossier_overdue", "unit": "00070", "channels": ["in_app", "email"]},
        follow=True,
        **EN,
    )

    assert "You will be told of these alerts." in done.content.decode()
    subscription = AlertSubscription.objects.get(user=personas.city_manager)
    assert (subscription.kind, subscription.unit, sorted(subscription.channels)) == (
        "dossier_overdue",
        city.hoan_kiem,
        ["email"],
    )
    assert "Dossier past its due time · Phường Hoàn Kiếm · In-app, Email" in done.content.decode()

    client.post(reverse("ioc:alert_settings"), {"op": "unsubscribe", "subscription": subscription.pk}, **EN)
    assert not AlertSubscription.objects.exists()


def test_a_bad_subscription_is_refused_with_its_reason(sign_in, personas, city):
    response = sign_in(personas.city_manager).post(
        reverse("ioc:alert_settings"), {"op": "subscribe", "kind": "weather", "channels": ["in_app"]}, **EN
    )

    assert response.status_code == 422
    assert 'id="problem"' in response.content.decode()
    assert not AlertSubscription.objects.exists()


def test_a_manager_sets_and_removes_a_threshold(sign_in, personas, city):
    client = sign_in(personas.city_manager)

    client.post(
        reverse("ioc:alert_settings"),
        {
            "op": "threshold_create",
            "kpi": "on_time_rate",
            "unit": "00004",
            "comparison": "below",
            "value": "90,5",
        },
        **EN,
    )

    threshold = KpiThreshold.objects.get()
    assert (threshold.kpi, threshold.unit, threshold.comparison, str(threshold.value)) == (
        "on_time_rate",
        city.ba_dinh,
        "below",
        "90.50",
    )
    page = client.get(reverse("ioc:alert_settings"), **EN).content.decode()
    assert "On-time rate · Phường Ba Đình · falls below 90.5" in page
    client.post(
        reverse("ioc:alert_settings"), {"op": "threshold_delete", "threshold": threshold.public_id}, **EN
    )
    assert not KpiThreshold.objects.exists()


def test_a_ward_leader_may_not_set_thresholds(sign_in, leaders, city):
    client = sign_in(leaders.hoan_kiem)

    page = client.get(reverse("ioc:alert_settings"), **EN).content.decode()
    refused = client.post(
        reverse("ioc:alert_settings"),
        {"op": "threshold_create", "kpi": "overdue", "unit": "00070", "comparison": "above", "value": "3"},
        **EN,
    )

    assert 'id="threshold-new"' not in page
    assert refused.status_code == 403
    assert not KpiThreshold.objects.exists()
