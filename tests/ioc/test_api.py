"""The IOC's API: status codes and shapes for each tier (anonymous, resident, another ward's leader, a ward's
leader, the city manager), bearer tokens and their scopes, bad input (422 for a malformed query, 400 for a
refused one, 404 for an unknown KPI), alert actions, the live token and the server-sent events stream."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken

from hanoismart.identity.models import StaffPosition
from hanoismart.ioc import api as ioc_api
from hanoismart.ioc.models import Alert, AlertEvent
from hanoismart.ioc.services import alerts_detect
from tests.identity.oidc_support import make_app
from tests.ioc.conftest import NOW, _dossier

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MARCH = "from=2026-03-01&to=2026-03-21"


def _token(user, scope: str) -> str:
    value = f"tok-{user.pk}-{scope.replace(' ', '-')}"
    AccessToken.objects.create(
        user=user,
        application=make_app(client_id=value),
        token=value,
        scope=scope,
        expires=timezone.now() + dt.timedelta(hours=1),
    )
    return value


@pytest.fixture
def manager(sign_in, personas):
    return sign_in(personas.city_manager)


def test_the_overview_of_the_city(city, manager):
    response = manager.get(f"/api/v1/ioc/overview?{MARCH}", **EN)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"unit", "from", "to", "tiles", "index_groups", "figures", "generated_at"}
    assert (body["unit"], body["from"], body["to"]) == (None, "2026-03-01", "2026-03-21")
    tile = next(t for t in body["tiles"] if t["kpi"]["code"] == "received")
    assert tile["value"] == 10
    assert tile["kpi"] == {
        "code": "received",
        "label": "Dossiers received",
        "measure": "count",
        "higher_is_better": True,
        "source": "dossiers",
        "description": "Dossiers received in the period (received_at in the period).",
    }
    assert tile["link"] == f"/ioc/kpi/received/?{MARCH}"
    assert tile["trend"][1] == {"label": "2026-03-02", "value": 1}
    assert body["index_groups"][0]["code"] == "disclosure"
    assert body["figures"]["received"] == 10


def test_the_overview_of_a_ward(city, manager):
    body = manager.get(f"/api/v1/ioc/overview?unit=00004&{MARCH}").json()
    assert body["unit"] == {"code": "00004", "name": "Phường Ba Đình"}
    assert next(t for t in body["tiles"] if t["kpi"]["code"] == "received")["value"] == 3


def test_who_may_see_the_overview(city, client, sign_in, personas, leaders):
    assert client.get("/api/v1/ioc/overview").status_code == 401
    assert sign_in(personas.resident).get("/api/v1/ioc/overview").status_code == 403
    assert sign_in(personas.clerk_hoan_kiem).get("/api/v1/ioc/overview").status_code == 403
    leader = sign_in(leaders.hoan_kiem)
    own = leader.get("/api/v1/ioc/overview")
    assert own.status_code == 200
    assert own.json()["unit"]["code"] == "00070"
    other = leader.get("/api/v1/ioc/overview?unit=00004", **EN)
    assert other.status_code == 403
    assert other.json() == {
        "code": "permission_denied",
        "detail": "You may not see the figures of this unit.",
    }
    assert sign_in(personas.operator).get("/api/v1/ioc/overview").status_code == 200


def test_bad_input_is_refused_with_a_message(city, manager):
    malformed = manager.get("/api/v1/ioc/overview?unit=abc&from=yesterday", **EN)
    assert malformed.status_code == 422
    assert malformed.json()["detail"] == "Some fields are not valid."
    unknown = manager.get("/api/v1/ioc/overview?unit=99999", **EN)
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"unit": ["Unknown unit."]}
    backwards = manager.get("/api/v1/ioc/overview?from=2026-03-21&to=2026-03-01", **EN)
    assert backwards.status_code == 400
    assert backwards.json()["detail"] == "The period must end after it starts."


def test_bearer_tokens_need_the_read_scope(city, client, personas):
    good = _token(personas.city_manager, "openid dossiers.read")
    assert client.get("/api/v1/ioc/overview", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 200
    narrow = _token(personas.city_manager, "openid")
    response = client.get("/api/v1/ioc/overview", HTTP_AUTHORIZATION=f"Bearer {narrow}")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    resident = _token(personas.resident, "openid dossiers.read")
    assert client.get("/api/v1/ioc/overview", HTTP_AUTHORIZATION=f"Bearer {resident}").status_code == 403


def test_a_kpi_by_ward_and_its_errors(city, manager):
    response = manager.get(f"/api/v1/ioc/kpis/received?{MARCH}")
    assert response.status_code == 200
    body = response.json()
    assert (body["kpi"]["code"], body["group_by"], body["total"]) == ("received", "unit", 10)
    assert {row["key"]: row["value"] for row in body["rows"]} == {"01": 2, "00004": 3, "00070": 5}
    assert set(body["rows"][0]) == {"key", "label", "value", "figures", "link"}

    by_agency = manager.get(f"/api/v1/ioc/kpis/on_time_rate?unit=00070&group_by=agency&{MARCH}").json()
    assert [row["value"] for row in by_agency["rows"]] == [66.7]
    assert manager.get("/api/v1/ioc/kpis/happiness", **EN).json() == {
        "code": "not_found",
        "detail": "No KPI with code happiness.",
    }
    assert manager.get("/api/v1/ioc/kpis/happiness").status_code == 404
    assert manager.get("/api/v1/ioc/kpis/received?group_by=colour").status_code == 422
    assert manager.get("/api/v1/ioc/kpis/overdue?group_by=month").status_code == 400


def test_rankings(city, manager, sign_in, leaders):
    response = manager.get(f"/api/v1/ioc/rankings?index=766&level=ward&{MARCH}")
    assert response.status_code == 200
    rows = response.json()
    assert [row["rank"] for row in rows] == [1, 2]
    assert {row["key"] for row in rows} == {"00004", "00070"}
    assert len(rows[0]["groups"]) == 5
    assert manager.get("/api/v1/ioc/rankings?level=agency").status_code == 200
    assert manager.get("/api/v1/ioc/rankings?level=province").status_code == 422
    assert [r["key"] for r in sign_in(leaders.ba_dinh).get("/api/v1/ioc/rankings").json()] == ["00004"]


# -- alerts -------------------------------------------------------------------------------------------------


@pytest.fixture
def alerts(city):
    alerts_detect(now=NOW)
    return {
        alert.kind + ":" + (alert.unit.code if alert.unit else ""): alert for alert in Alert.objects.all()
    }


def test_the_alerts_feed_is_scoped_and_filtered(alerts, manager, sign_in, leaders):
    response = manager.get("/api/v1/ioc/alerts", **EN)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    item = next(i for i in body["items"] if i["kind"] == "report_late")
    assert (
        item["title"]
        == "Phường Ba Đình has not sent report MONTHLY for period 2026-03 (due 18/03/2026 17:00)"
    )
    assert item["unit"] == {"code": "00004", "name": "Phường Ba Đình"}
    assert item["state"] == "new"
    assert manager.get("/api/v1/ioc/alerts?kind=report_late").json()["count"] == 1
    assert manager.get("/api/v1/ioc/alerts?state=resolved").json()["count"] == 0
    assert manager.get("/api/v1/ioc/alerts?state=sleeping").status_code == 422
    leader = sign_in(leaders.hoan_kiem)
    assert [i["unit"]["code"] for i in leader.get("/api/v1/ioc/alerts").json()["items"]] == ["00070"]
    assert leader.get("/api/v1/ioc/alerts?unit=00004").status_code == 403


def test_acting_on_an_alert(alerts, manager, sign_in, leaders, personas):
    alert = alerts["dossier_overdue:00070"]
    url = f"/api/v1/ioc/alerts/{alert.public_id}/actions"

    response = manager.post(f"{url}/acknowledge", {"note": "Seen."}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "acknowledged"
    assert [(e["action"], e["note"]) for e in body["events"]] == [("raised", ""), ("acknowledge", "Seen.")]
    assert body["events"][1]["actor"]["name"] == personas.city_manager.full_name

    assigned = manager.post(
        f"{url}/assign", {"owner": str(leaders.hoan_kiem.public_id)}, content_type="application/json"
    )
    assert assigned.json()["owner"] == {
        "id": str(leaders.hoan_kiem.public_id),
        "name": leaders.hoan_kiem.full_name,
    }
    assert manager.post(f"{url}/resolve", content_type="application/json").json()["state"] == "resolved"
    again = manager.post(f"{url}/acknowledge", content_type="application/json", **EN)
    assert again.status_code == 400
    assert again.json()["detail"] == "A resolved alert cannot be acknowledged; reopen it first."
    assert manager.post(f"{url}/snooze", content_type="application/json").status_code == 422


def test_refused_alert_actions_write_nothing(alerts, client, sign_in, leaders, personas):
    alert = alerts["dossier_overdue:00070"]
    url = f"/api/v1/ioc/alerts/{alert.public_id}/actions/resolve"
    events = AlertEvent.objects.count()

    assert client.post(url, content_type="application/json").status_code == 401
    assert sign_in(personas.resident).post(url, content_type="application/json").status_code == 403
    assert sign_in(leaders.ba_dinh).post(url, content_type="application/json").status_code == 404
    assert sign_in(personas.operator).post(url, content_type="application/json").status_code == 403
    read_only = _token(personas.city_manager, "openid dossiers.read")
    assert (
        client.post(
            url, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {read_only}"
        ).status_code
        == 403
    )
    assert AlertEvent.objects.count() == events
    alert.refresh_from_db()
    assert alert.state == "new"


def test_one_alert_and_its_timeline(alerts, manager):
    alert = alerts["report_late:00004"]
    response = manager.get(f"/api/v1/ioc/alerts/{alert.public_id}")
    assert response.status_code == 200
    assert response.json()["events"][0]["action"] == "raised"
    assert manager.get("/api/v1/ioc/alerts/00000000-0000-0000-0000-000000000000").status_code == 404


# -- live ---------------------------------------------------------------------------------------------------


def test_the_live_token_answers_204_while_nothing_changed(city, manager):
    first = manager.get("/api/v1/ioc/live")
    assert first.status_code == 200
    body = first.json()
    assert len(body["tiles"]) == 15
    same = manager.get(f"/api/v1/ioc/live?token={body['token']}")
    assert same.status_code == 204
    assert manager.get("/api/v1/ioc/live?token=stale").status_code == 200


def test_the_overview_and_the_live_answer_read_a_bounded_number_of_queries(
    city, manager, monkeypatch, django_assert_max_num_queries
):
    moment = timezone.now()  # a still clock: the alert detection runs on the first request only
    monkeypatch.setattr(timezone, "now", lambda: moment)
    manager.get("/api/v1/ioc/overview")  # the session's first request reads more
    token = manager.get("/api/v1/ioc/live").json()["token"]

    # the session, the user and their second factor (3); the scope: positions, the city and its wards (2);
    # one roll-up query by day for the period and the one before, the open stocks and the dossiers due today
    # or soon, the report forms, their periods, reporters and submissions of two periods (1 + 2 + 6)
    with django_assert_max_num_queries(14):
        assert manager.get("/api/v1/ioc/overview").status_code == 200
    # the session and the scope (5), the detection's clock (1), the token: the next due moments (2), alerts,
    # roll-ups
    with django_assert_max_num_queries(10):
        assert manager.get(f"/api/v1/ioc/live?token={token}").status_code == 204
    # then the overview's figures, the scope not read again (its token: 10 of the 19)
    with django_assert_max_num_queries(19):
        assert manager.get("/api/v1/ioc/live?token=stale").status_code == 200


def test_a_stream_ends_at_its_next_poll_when_the_leader_leaves_the_post(city, leaders):
    leader = leaders.ba_dinh  # the same user object all along, as an open stream holds it
    assert ioc_api._poll(leader, "")

    today = timezone.localdate()
    StaffPosition.objects.filter(user=leader).update(valid_from=today - dt.timedelta(days=30), valid_to=today)

    assert ioc_api._poll(leader, "") is None


def test_the_live_endpoints_are_refused_to_residents_before_anything_runs(city, client, sign_in, personas):
    resident = sign_in(personas.resident)
    assert resident.get("/api/v1/ioc/live").status_code == 403
    assert resident.get("/api/v1/ioc/stream").status_code == 403
    assert client.get("/api/v1/ioc/stream").status_code == 401
    assert not Alert.objects.exists()


class FakeTime:
    """A clock that moves one second per reading, and a sleep that returns at once."""

    def __init__(self):
        self.now = 0.0
        self.slept = 0

    def monotonic(self) -> float:
        self.now += 1
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += 1


def test_the_stream_sends_an_event_whenever_the_token_changes_then_closes(city, manager, monkeypatch):
    tokens = itertools.chain(["ok", "a", "a", "b"], itertools.repeat("b"))
    clock = FakeTime()
    monkeypatch.setattr(ioc_api, "time", clock)
    monkeypatch.setattr(ioc_api, "STREAM_SECONDS", 10)
    monkeypatch.setattr(ioc_api.selectors, "live_token", lambda **kwargs: next(tokens))

    response = manager.get("/api/v1/ioc/stream")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    text = b"".join(response.streaming_content).decode()
    chunks = [chunk for chunk in text.split("\n\n") if chunk]
    assert chunks[0] == "retry: 1000"
    assert chunks[1:-1] == ['event: token\ndata: {"token": "a"}', 'event: token\ndata: {"token": "b"}']
    assert chunks[-1] == "event: close\ndata: {}\nretry: 1000"
    assert clock.slept >= 3  # it waited between readings, about 10 of them


def test_a_real_stream_reads_the_live_token(city, manager, monkeypatch):
    monkeypatch.setattr(ioc_api, "STREAM_SECONDS", 0)
    text = b"".join(manager.get("/api/v1/ioc/stream").streaming_content).decode()
    assert text.count("event: token") == 1
    assert text.endswith("event: close\ndata: {}\nretry: 1000\n\n")


def test_the_stream_under_asgi_waits_without_a_thread(monkeypatch):
    tokens = iter(["a", "a", "b", None])
    clock = FakeTime()
    monkeypatch.setattr(ioc_api, "time", clock)
    monkeypatch.setattr(ioc_api, "STREAM_SECONDS", 100)
    monkeypatch.setattr(ioc_api, "STREAM_POLL_SECONDS", 0)
    monkeypatch.setattr(ioc_api, "_poll", lambda actor, unit: next(tokens))

    async def read() -> list[str]:
        return [chunk async for chunk in ioc_api._stream_async(None, "")]

    chunks = asyncio.run(read())
    assert chunks == [
        "retry: 1000\n\n",
        'event: token\ndata: {"token": "a"}\n\n',
        'event: token\ndata: {"token": "b"}\n\n',
        "event: close\ndata: {}\nretry: 1000\n\n",
    ]  # None: the caller lost the right to see it, the stream ends


def test_the_alerts_list_reads_a_fixed_number_of_queries(alerts, manager, city, personas, birth_case):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager.get("/api/v1/ioc/alerts").status_code == 200
        return len(captured.captured_queries)

    count()  # the first request of a session reads more (its device, the calendar)
    before = count()
    for minute in range(1, 8):
        _dossier(
            city.bd, birth_case, personas.resident, received=NOW, due_at=NOW + dt.timedelta(minutes=minute)
        )
    alerts_detect(now=NOW + dt.timedelta(minutes=10))
    assert Alert.objects.count() == 10
    assert count() == before
