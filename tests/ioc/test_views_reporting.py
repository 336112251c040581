"""The IOC's reporting view: the completeness heatmap, chasing the units whose report is not in (through the
reporting app's reminder service, which logs each reminder), and the indicator explorer with its Excel."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from hanoismart.audit.models import AuditEvent
from hanoismart.reporting.models import Aggregate, Indicator, ReminderKind, ReminderLog
from hanoismart.reporting.services import period_for
from tests.ioc.test_views import EN, Clock, install_clock
from tests.reporting.conftest import make_form


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    return install_clock(monkeypatch)


def heatmap(html: str, form_code: str) -> dict[str, list[str]]:
    """Reporter → the states of its cells, oldest period first, from one form's heatmap."""
    block = html[html.index(f'id="form-{form_code.lower()}"') :]
    block = block[: block.index("</table>")]
    rows = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>(.*?)</tr>', block, re.S)
    return {name.strip(): re.findall(r'class="heat heat-(\w+)"', cells) for name, cells in rows}


def test_the_heatmap_shows_each_reporter_period_by_period(sign_in, personas, city):
    html = sign_in(personas.city_manager).get(reverse("ioc:reporting"), **EN).content.decode()

    assert re.findall(r'<th scope="col" class="heat text-nowrap">([^<]+)</th>', html) == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert heatmap(html, "MONTHLY") == {
        "Phường Hoàn Kiếm": ["on_time", "on_time", "on_time"],
        "Sở Tư pháp": ["missing", "missing", "late"],
        "Phường Ba Đình": ["missing", "missing", "missing"],
    }
    # the latest period past due: who is not in, with a chase button for the manager
    assert "Not in for 2026-03 (due 18/03/2026 17:00)" in html
    late = html[html.index('class="list-group list-group-flush small late-units"') :]
    assert "Phường Ba Đình" in late
    assert "Draft" in late
    assert 'data-unit="00004"' in late
    assert 'id="chase-all-monthly"' in html


def test_a_ward_leader_sees_their_ward_and_cannot_chase(sign_in, leaders, city):
    html = sign_in(leaders.hoan_kiem).get(reverse("ioc:reporting"), **EN).content.decode()

    assert heatmap(html, "MONTHLY") == {"Phường Hoàn Kiếm": ["on_time", "on_time", "on_time"]}
    assert "Every report is in." in html
    assert "chase-all" not in html


def test_chasing_a_unit_calls_the_reminder_service_which_logs_it(sign_in, personas, leaders, city):
    client = sign_in(personas.city_manager)

    response = client.post(
        reverse("ioc:reporting_chase"),
        {"form": "MONTHLY", "period": "2026-03", "unit": "00004", "back": "unit=01"},
        follow=True,
        **EN,
    )

    assert response.redirect_chain == [(f"{reverse('ioc:reporting')}?unit=01", 302)]
    assert "Reminded 1 person about Phường Ba Đình." in response.content.decode()
    logs = ReminderLog.objects.filter(kind=ReminderKind.CHASE)
    assert {log.unit.code for log in logs} == {"00004"}
    assert {log.recipient for log in logs} == {leaders.ba_dinh}
    assert logs.first().sent_by == personas.city_manager
    assert AuditEvent.objects.filter(action="reporting.reminder_chase", unit_code="00004").count() == 1

    # chasing again the same day reminds no one twice
    again = client.post(
        reverse("ioc:reporting_chase"),
        {"form": "MONTHLY", "period": "2026-03", "unit": "00004"},
        follow=True,
        **EN,
    )
    assert "Everyone concerned was already reminded today." in again.content.decode()
    assert ReminderLog.objects.filter(kind=ReminderKind.CHASE).count() == logs.count()


def test_chasing_is_refused_to_a_ward_leader_and_nothing_is_sent(sign_in, leaders, city):
    response = sign_in(leaders.hoan_kiem).post(
        reverse("ioc:reporting_chase"),
        {"form": "MONTHLY", "period": "2026-03", "unit": "00004"},
        follow=True,
        **EN,
    )

    assert response.status_code == 200
    assert (
        "Only city managers and the form&#x27;s owner agency can chase reports." in response.content.decode()
    )
    assert not ReminderLog.objects.exists()
    assert not AuditEvent.objects.filter(action="reporting.reminder_chase").exists()


def test_chasing_an_unknown_form_says_so(sign_in, personas, city):
    response = sign_in(personas.city_manager).post(
        reverse("ioc:reporting_chase"), {"form": "NOPE", "period": "2026-03"}, follow=True, **EN
    )

    assert "No report form with code NOPE." in response.content.decode()
    assert not ReminderLog.objects.exists()


def test_the_chase_needs_the_dashboard_and_a_post(client, sign_in, personas, city):
    assert client.post(reverse("ioc:reporting_chase"), {"form": "MONTHLY"}).status_code == 302
    assert (
        sign_in(personas.resident).post(reverse("ioc:reporting_chase"), {"form": "MONTHLY"}).status_code
        == 403
    )
    assert sign_in(personas.city_manager).get(reverse("ioc:reporting_chase")).status_code == 405
    assert not ReminderLog.objects.exists()


# -- the indicator explorer -------------------------------------------------------------------------------


@pytest.fixture
def births(personas, hoan_kiem, ba_dinh):
    """A monthly form with births by sex, rolled up for the city for December to February."""
    department = personas.department_officer.positions.get().agency
    form = make_form(department)
    city = hoan_kiem.parent
    births = Indicator.objects.get(code="BIRTHS")
    values = {"2025-12": (30, 14, 16), "2026-01": (25, 12, 13), "2026-02": (40, 22, 18)}
    for day in (dt.date(2025, 12, 10), dt.date(2026, 1, 10), dt.date(2026, 2, 10)):
        period = period_for(form=form, day=day)
        total, male, female = values[period.code]
        for key, value in (("", total), ("sex=male", male), ("sex=female", female)):
            Aggregate.objects.create(
                indicator=births, period=period, unit=city, disaggregation=key, value=Decimal(value), count=2
            )
    return form


def test_the_explorer_shows_an_indicator_over_periods_by_disaggregation(sign_in, personas, births):
    query = "?form=MONTHLY&indicator=BIRTHS&by=sex&p_from=2025-12&p_to=2026-02"

    html = sign_in(personas.city_manager).get(reverse("ioc:reporting") + query, **EN).content.decode()

    table = html[html.index('id="explorer-table"') :]
    table = table[: table.index("</table>")]
    assert re.findall(r'<th scope="col" class="text-end">([^<]+)</th>', table) == ["Total", "female", "male"]
    rows = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>((?:<td[^>]*>[^<]*</td>)+)', table)
    assert [(period, re.findall(r">([^<]*)</td>", cells)) for period, cells in rows] == [
        ("2025-12", ["30", "16", "14"]),
        ("2026-01", ["25", "13", "12"]),
        ("2026-02", ["40", "18", "22"]),
    ]
    # the last period against the one before and the same period last year (not reported)
    assert re.search(
        r"2026-02: <strong[^>]*>40</strong>\s*· previous period 25\s*· same period last year —", html
    )


def test_the_explorer_exports_its_table_to_excel(sign_in, personas, births):
    query = "?form=MONTHLY&indicator=BIRTHS&by=sex&p_from=2026-01&p_to=2026-02&format=xlsx"

    response = sign_in(personas.city_manager).get(reverse("ioc:reporting") + query, **EN)

    assert response["Content-Disposition"] == 'attachment; filename="ioc_MONTHLY_BIRTHS_2026-01_2026-02.xlsx"'
    rows = [
        list(row) for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    ]
    header_at = next(i for i, row in enumerate(rows) if row[0] == "Period")
    assert rows[header_at] == ["Period", "From", "To", "Total", "female", "male"]
    assert [[row[0], *row[3:]] for row in rows[header_at + 1 :]] == [
        ["2026-01", 25, 13, 12],
        ["2026-02", 40, 18, 22],
    ]
