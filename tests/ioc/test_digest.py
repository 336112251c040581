"""The leaders' digest: its periods, the same numbers as the overview and the rankings, the PDF and the Excel
file (opened and read back), sending to subscribers once per period in their language, the download's scope
and the subscriptions.

The small city of tests/ioc/conftest.py, seen at its NOW (Friday 20 March 2026, 10:00 in Hanoi): the weekly
digest made that day covers Monday 9 to Sunday 15 March."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hanoismart.ioc.digest import digest_pdf, digest_xlsx, filename
from hanoismart.ioc.digests import (
    digest_build,
    digest_period,
    digest_send_due,
    digest_subscribe,
    digest_unsubscribe,
    format_value,
)
from hanoismart.ioc.models import DigestSubscription
from hanoismart.ioc.selectors import kpi_breakdown, overview, rankings
from hanoismart.notifications.models import Message
from tests.documents.pdf_text import pdf_text
from tests.ioc.conftest import NOW

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
TODAY = dt.date(2026, 3, 20)
WEEK = (dt.date(2026, 3, 9), dt.date(2026, 3, 16))


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    """Pages and services read the clock: it stands at the fixtures' NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def weekly(actor, unit: str = "", **extra):
    with translation.override("en"):
        return digest_build(actor=actor, unit=unit, frequency="weekly", today=TODAY, now=NOW, **extra)


# -- periods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "today", "expected"),
    [
        ("daily", dt.date(2026, 3, 20), (dt.date(2026, 3, 19), dt.date(2026, 3, 20))),
        ("daily", dt.date(2026, 1, 1), (dt.date(2025, 12, 31), dt.date(2026, 1, 1))),
        ("weekly", dt.date(2026, 3, 20), (dt.date(2026, 3, 9), dt.date(2026, 3, 16))),
        ("weekly", dt.date(2026, 3, 16), (dt.date(2026, 3, 9), dt.date(2026, 3, 16))),  # a Monday
        ("weekly", dt.date(2026, 1, 4), (dt.date(2025, 12, 22), dt.date(2025, 12, 29))),  # a Sunday
        ("monthly", dt.date(2026, 3, 20), (dt.date(2026, 2, 1), dt.date(2026, 3, 1))),
        ("monthly", dt.date(2026, 3, 1), (dt.date(2026, 2, 1), dt.date(2026, 3, 1))),
        ("monthly", dt.date(2026, 1, 15), (dt.date(2025, 12, 1), dt.date(2026, 1, 1))),
    ],
)
def test_the_period_is_the_day_iso_week_or_month_just_ended(frequency, today, expected):
    assert digest_period(frequency=frequency, today=today) == expected


def test_an_unknown_frequency_or_a_future_day_is_refused(personas, city):
    with pytest.raises(InvalidInput):
        digest_period(frequency="yearly", today=TODAY)
    with pytest.raises(InvalidInput):
        digest_build(
            actor=personas.city_manager, frequency="weekly", today=TODAY + dt.timedelta(days=1), now=NOW
        )


# -- the numbers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["", "00070", "00004"])
def test_the_digest_holds_the_overviews_numbers_for_its_period(personas, city, unit):
    digest = weekly(personas.city_manager, unit)

    expected = overview(actor=personas.city_manager, unit=unit, date_from=WEEK[0], date_to=WEEK[1], now=NOW)
    assert (digest.date_from, digest.date_to) == WEEK
    assert digest.overview.figures == expected.figures
    assert [(t.kpi.code, t.value, t.previous, t.target, t.status) for t in digest.overview.tiles] == [
        (t.kpi.code, t.value, t.previous, t.target, t.status) for t in expected.tiles
    ]
    assert [(g.code, g.points) for g in digest.overview.index_groups] == [
        (g.code, g.points) for g in expected.index_groups
    ]
    ranked = rankings(actor=personas.city_manager, level="ward", date_from=WEEK[0], date_to=WEEK[1], now=NOW)
    assert [(r.key, r.rank, r.score) for r in digest.wards] == [(r.key, r.rank, r.score) for r in ranked]


def test_the_weeks_figures_by_hand(personas, city):
    """From the fixtures' comments: in the week of 9-15 March, h2 (Hoàn Kiếm, another procedure) finished
    late and b1 (Ba Đình) on time; at NOW h4, b2 and c2 are open past due."""
    digest = weekly(personas.city_manager)

    assert digest.unit is None
    assert digest.unit_name == city.city.name
    assert digest.tile("finished").value == 2
    assert digest.overview.figures["finished_late"] == 1
    assert digest.tile("on_time_rate").value == 50.0
    assert digest.tile("overdue").value == 3
    late = {item.code: (item.finished_late, item.overdue) for item in digest.late_procedures}
    other, birth = city.dossiers["h2"].procedure.national_code, city.dossiers["h4"].procedure.national_code
    assert late == {other: (1, 1), birth: (0, 2)}  # h2 late; b2 overdue (other); h4, c2 overdue (birth)
    assert [item.code for item in digest.late_procedures] == [birth, other]  # most late first (tie: overdue)


def test_the_late_procedures_are_the_breakdowns_rows(personas, city):
    digest = weekly(personas.city_manager)

    finished = kpi_breakdown(
        actor=personas.city_manager, kpi="on_time_rate", date_from=WEEK[0], date_to=WEEK[1],
        group_by="procedure", now=NOW,
    )  # fmt: skip
    overdue = kpi_breakdown(actor=personas.city_manager, kpi="overdue", group_by="procedure", now=NOW)
    for item in digest.late_procedures:
        assert item.finished_late == sum(
            r.figures["finished_late"] for r in finished.rows if r.key == item.code
        )
        assert item.overdue == sum(r.value for r in overdue.rows if r.key == item.code)


def test_a_ward_leader_gets_their_ward_and_nothing_else(leaders, city):
    digest = weekly(leaders.hoan_kiem)

    assert digest.unit == city.hoan_kiem
    assert [row.key for row in digest.wards] == [city.hoan_kiem.code]
    assert {row.key for row in digest.agencies} <= {city.hk.code}
    with pytest.raises(PermissionDenied):
        weekly(leaders.hoan_kiem, city.ba_dinh.code)


def test_people_without_the_dashboard_get_no_digest(personas, city):
    for persona in (personas.resident, personas.clerk_hoan_kiem):
        with pytest.raises(PermissionDenied):
            weekly(persona)


# -- the files ----------------------------------------------------------------------------------------------


def test_the_pdf_opens_and_shows_the_numbers(personas, city):
    digest = weekly(personas.city_manager)
    with translation.override("en"):
        pdf = digest_pdf(digest)
        labels = [str(tile.kpi.label) for tile in digest.overview.tiles]

    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert f"Leaders' digest: {city.city.name}" in text
    assert "Weekly digest · week 11 of 2026 (09/03/2026 – 15/03/2026)" in text
    for label in labels:
        assert label in text
    assert "50.0 %" in text  # the on-time rate
    assert "Finished late in the period: 1. Open and past their due time now: 3." in text
    assert city.dossiers["h2"].procedure.name in text
    assert city.hoan_kiem.name in text  # ranked


def test_the_pdf_follows_the_active_language(personas, city):
    """Vietnamese numbers in Vietnamese (the prose is translated with the rest of the site's catalog)."""
    with translation.override("vi"):
        digest = digest_build(actor=personas.city_manager, frequency="weekly", today=TODAY, now=NOW)
        text = pdf_text(digest_pdf(digest))

    assert "50,0 %" in text  # the decimal comma
    assert "50.0 %" not in text


def test_the_workbook_opens_and_holds_the_same_numbers(personas, city):
    digest = weekly(personas.city_manager)
    with translation.override("en"):
        workbook = load_workbook(io.BytesIO(digest_xlsx(digest)))
        labels = {tile.kpi.code: str(tile.kpi.label) for tile in digest.overview.tiles}

    assert workbook.sheetnames == ["KPIs", "Rankings", "Late dossiers"]
    kpis = workbook["KPIs"]
    assert kpis["A1"].value == f"Leaders' digest: {city.city.name}"
    rows = {
        row[0]: row
        for row in kpis.iter_rows(min_row=6, max_row=5 + len(digest.overview.tiles), values_only=True)
    }
    for tile in digest.overview.tiles:
        _code, label, value, previous, target, _status, _definition = rows[tile.kpi.code]
        assert (label, value, previous, target) == (
            labels[tile.kpi.code],
            tile.value,
            tile.previous,
            tile.target,
        )
    ranked = [row for row in workbook["Rankings"].iter_rows(min_row=6, values_only=True) if row[0]]
    assert len(ranked) == len(digest.wards) + len(digest.agencies)
    first_ward = next(row for row in ranked if row[2] == digest.wards[0].key)
    assert first_ward[1:5] == (
        digest.wards[0].rank,
        digest.wards[0].key,
        digest.wards[0].label,
        digest.wards[0].score,
    )
    late = [row for row in workbook["Late dossiers"].iter_rows(min_row=6, values_only=True) if row[0]]
    assert late == [(i.code, i.name, i.finished_late, i.overdue) for i in digest.late_procedures]


def test_the_file_name_says_unit_frequency_and_period(personas, city):
    assert filename(weekly(personas.city_manager, "00070"), "pdf") == "digest-00070-weekly-2026-03-09.pdf"
    assert filename(weekly(personas.city_manager), "xlsx") == "digest-city-weekly-2026-03-09.xlsx"


def test_values_are_written_as_a_reader_expects():
    with translation.override("en"):
        written = (format_value(12345, "count"), format_value(95.04, "percent"), format_value(None, "score"))
        assert written == ("12,345", "95.0 %", "—")
    with translation.override("vi"):
        assert (format_value(12345, "count"), format_value(95.04, "percent")) == ("12.345", "95,0 %")


# -- sending ------------------------------------------------------------------------------------------------


def subscribe(user, unit=None, frequency="weekly", **values) -> DigestSubscription:
    return DigestSubscription.objects.create(user=user, unit=unit, frequency=frequency, **values)


def test_due_digests_are_sent_once_per_period(personas, leaders, city):
    manager = personas.city_manager
    manager.email = "manager@example.vn"
    manager.preferred_language = "en"
    manager.save(update_fields=["email", "preferred_language"])
    city_weekly = subscribe(manager)
    ward_daily = subscribe(leaders.hoan_kiem, city.hoan_kiem, "daily")

    # when
    sent = digest_send_due(today=TODAY, now=NOW)

    # then: each subscription once, in the inbox (and by email where there is an address)
    assert sent == 2
    city_weekly.refresh_from_db()
    ward_daily.refresh_from_db()
    assert (city_weekly.last_sent_on, ward_daily.last_sent_on) == (TODAY, TODAY)
    to_manager = Message.objects.filter(recipient=manager, template="ioc.digest")
    assert sorted(to_manager.values_list("channel", flat=True)) == ["email", "in_app"]
    message = to_manager.get(channel="email")
    assert (
        message.subject == f"HanoiSmart digest: {city.city.name}, week 11 of 2026 (09/03/2026 – 15/03/2026)"
    )
    assert "- Dossiers resolved: 2" in message.body
    assert "- On-time rate: 50.0 %" in message.body
    assert "/ioc/digest/?frequency=weekly&format=pdf&on=2026-03-20" in message.body
    assert "/ioc/digest/?frequency=weekly&format=xlsx&on=2026-03-20" in message.body
    to_leader = Message.objects.get(recipient=leaders.hoan_kiem, template="ioc.digest")
    assert to_leader.channel == "in_app"  # no email address
    assert to_leader.language == "vi"
    assert "unit=00070&frequency=daily" in to_leader.body

    # and again the same day, or later in the same week: nothing new for the weekly one
    assert digest_send_due(today=TODAY, now=NOW) == 0
    assert digest_send_due(today=TODAY + dt.timedelta(days=2), now=NOW + dt.timedelta(days=2)) == 1  # daily
    assert Message.objects.filter(recipient=manager, template="ioc.digest").count() == 2
    # the next week's
    assert digest_send_due(today=dt.date(2026, 3, 23), now=NOW + dt.timedelta(days=3)) == 2
    assert Message.objects.filter(recipient=manager, template="ioc.digest").count() == 4


def test_the_link_in_the_message_downloads_that_digest(sign_in, personas, city):
    subscribe(personas.city_manager)
    digest_send_due(today=TODAY, now=NOW)
    body = Message.objects.get(recipient=personas.city_manager, channel="in_app").body
    link = re.search(r"https?://\S+format=pdf\S*", body).group(0)

    response = sign_in(personas.city_manager).get(link[link.index("/ioc/") :], **EN)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "digest-city-weekly-2026-03-09.pdf" in response["Content-Disposition"]


def test_inactive_subscriptions_and_people_who_lost_the_dashboard_get_nothing(personas, leaders, city):
    stopped = subscribe(personas.city_manager, is_active=False)
    moved_on = subscribe(personas.clerk_hoan_kiem, city.hoan_kiem)  # a clerk: no dashboard

    assert digest_send_due(today=TODAY, now=NOW) == 0

    assert not Message.objects.filter(template="ioc.digest").exists()
    stopped.refresh_from_db()
    moved_on.refresh_from_db()
    assert (stopped.last_sent_on, moved_on.last_sent_on) == (None, None)


def test_the_periodic_task_sends_the_due_digests(personas, city):
    from hanoismart.ioc.tasks import send_digests

    subscribe(personas.city_manager, frequency="monthly")

    assert send_digests.call_local() == 1
    assert send_digests.call_local() == 0


# -- the download -------------------------------------------------------------------------------------------


def download(client, query: str):
    return client.get(reverse("ioc_digest:download") + query, **EN)


def test_a_city_manager_downloads_the_pdf_and_the_workbook(sign_in, personas, city):
    client = sign_in(personas.city_manager)

    pdf = download(client, "?frequency=weekly&format=pdf")
    xlsx = download(client, "?unit=00004&frequency=monthly&format=xlsx&on=2026-03-05")

    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert f"Leaders' digest: {city.city.name}" in pdf_text(pdf.content)
    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"] == 'attachment; filename="digest-00004-monthly-2026-02-01.xlsx"'
    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert workbook["KPIs"]["A1"].value == f"Leaders' digest: {city.ba_dinh.name}"


def test_a_ward_leader_downloads_their_ward_only(sign_in, leaders, city):
    client = sign_in(leaders.hoan_kiem)

    own = download(client, "?format=pdf")
    other = download(client, "?unit=00004&format=pdf")

    assert own.status_code == 200
    assert f"Leaders' digest: {city.hoan_kiem.name}" in pdf_text(own.content)
    assert other.status_code == 403


def test_the_download_refuses_strangers_and_bad_requests(client, sign_in, personas, city):
    assert download(client, "?format=pdf").status_code == 302  # to sign in
    assert download(sign_in(personas.resident), "?format=pdf").status_code == 403
    assert download(sign_in(personas.clerk_hoan_kiem), "?format=pdf").status_code == 403
    manager = sign_in(personas.city_manager)
    bad_format = download(manager, "?format=docx")
    assert bad_format.status_code == 400
    assert b"A digest comes as PDF or Excel." in bad_format.content
    assert download(manager, "?frequency=yearly").status_code == 400
    assert download(manager, "?on=2026-13-01").status_code == 400
    assert download(manager, "?on=2026-03-21").status_code == 400  # not over yet
    assert download(manager, "?unit=99999").status_code == 400


# -- subscriptions ------------------------------------------------------------------------------------------


def test_subscribing_and_stopping(personas, leaders, city):
    subscription = digest_subscribe(actor=leaders.hoan_kiem, unit="00070", frequency="monthly")

    assert (subscription.unit, subscription.frequency, subscription.is_active) == (
        city.hoan_kiem,
        "monthly",
        True,
    )
    assert AuditEvent.objects.filter(action="ioc.digest_subscribe").count() == 1
    assert digest_subscribe(actor=leaders.hoan_kiem, unit="00070", frequency="monthly") == subscription
    with pytest.raises(PermissionDenied):
        digest_subscribe(actor=leaders.hoan_kiem, unit="00004", frequency="monthly")
    with pytest.raises(InvalidInput):
        digest_subscribe(actor=leaders.hoan_kiem, frequency="hourly")
    with pytest.raises(NotAuthenticated):  # 401, as for the alert subscriptions
        digest_unsubscribe(actor=AnonymousUser(), subscription_id=subscription.pk)
    with pytest.raises(NotFound):
        digest_unsubscribe(actor=personas.city_manager, subscription_id=subscription.pk)
    assert DigestSubscription.objects.filter(pk=subscription.pk).exists()

    digest_unsubscribe(actor=leaders.hoan_kiem, subscription_id=subscription.pk)

    assert not DigestSubscription.objects.filter(pk=subscription.pk).exists()
    assert AuditEvent.objects.filter(action="ioc.digest_unsubscribe").count() == 1


def test_the_digest_page_subscribes_and_stops(sign_in, personas, city):
    client = sign_in(personas.city_manager)
    page = reverse("ioc_digest:settings")

    assert client.get(page, **EN).status_code == 200
    response = client.post(page, {"op": "subscribe", "unit": "00004", "frequency": "daily"}, **EN)
    assert response.status_code == 302
    subscription = DigestSubscription.objects.get(user=personas.city_manager)
    assert (subscription.unit, subscription.frequency) == (city.ba_dinh, "daily")
    html = client.get(page, **EN).content.decode()
    assert city.ba_dinh.name in html[html.index('id="digest-subscriptions"') :]
    bad = client.post(page, {"op": "subscribe", "frequency": "hourly"}, **EN)
    assert bad.status_code == 422
    assert "Unknown frequency." in bad.content.decode()

    client.post(page, {"op": "unsubscribe", "subscription": subscription.pk}, **EN)

    assert not DigestSubscription.objects.exists()


def test_the_email_goes_out_through_the_outbox(personas, city, django_capture_on_commit_callbacks):
    personas.city_manager.email = "manager@example.vn"
    personas.city_manager.save(update_fields=["email"])
    subscribe(personas.city_manager)

    with django_capture_on_commit_callbacks(execute=True):
        digest_send_due(today=TODAY, now=NOW)

    assert [m.to for m in mail.outbox] == [["manager@example.vn"]]
