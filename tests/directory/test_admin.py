"""Operator screens: announced calendar days go through the services; unit search ignores diacritics."""

from __future__ import annotations

import datetime as dt

import pytest

from hanoismart.directory.models import CalendarDay, CalendarDayKind
from hanoismart.directory.selectors import working_calendar
from hanoismart.directory.services import directory_seed
from tests.identity.factories import UserFactory


@pytest.fixture
def operator_client(db, sign_in):
    operator = UserFactory(is_staff=True, is_superuser=True)
    return sign_in(operator)


def test_announcing_a_day_off_in_the_admin_reaches_the_working_calendar(operator_client):
    bridge_day = dt.date(2027, 2, 11)
    assert working_calendar().is_working_day(bridge_day)

    response = operator_client.post(
        "/operator/directory/calendarday/add/",
        {"date": "2027-02-11", "kind": CalendarDayKind.DAY_OFF, "reason": "Nghỉ Tết 2027"},
    )

    assert response.status_code == 302
    assert list(CalendarDay.objects.values_list("date", "kind", "reason")) == [
        (bridge_day, CalendarDayKind.DAY_OFF, "Nghỉ Tết 2027")
    ]
    assert not working_calendar().is_working_day(bridge_day)


def test_deleting_an_announcement_in_the_admin_reaches_the_working_calendar(operator_client):
    day = CalendarDay.objects.create(
        date=dt.date(2027, 2, 20), kind=CalendarDayKind.WORKING_DAY, reason="Làm bù"
    )
    assert working_calendar().is_working_day(day.date)

    response = operator_client.post(f"/operator/directory/calendarday/{day.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not CalendarDay.objects.exists()
    assert not working_calendar().is_working_day(day.date)


def test_unit_search_in_the_admin_ignores_diacritics(operator_client):
    directory_seed(province_code="01")

    response = operator_client.get("/operator/directory/unit/", {"q": "Đống Đa"})

    assert response.status_code == 200
    assert [unit.name for unit in response.context["cl"].result_list] == ["Phường Đống Đa"]
    assert operator_client.get("/operator/directory/unit/add/").status_code == 403
