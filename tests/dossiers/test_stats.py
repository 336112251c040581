"""Dossier statistics: each figure against a count done by hand over rows built for March 2025, the scope
of each tier, the Decision 766 index and the API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import Agency
from hanoismart.dossiers.models import (
    ComponentSource,
    Dossier,
    FilingChannel,
    Payment,
    PaymentState,
    PaymentStatus,
    Satisfaction,
    SyncState,
    Timeliness,
)
from hanoismart.dossiers.selectors.stats import FIGURES, dossier_stats, index_766
from hanoismart.procedures.models import DossierStatus as Status
from tests.dossiers.support import papers, rate, stats_dossier, sync

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = {"date_from": dt.date(2025, 3, 1), "date_to": dt.date(2025, 4, 1)}
URL = "/api/v1/dossiers/stats"


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=HANOI)


def dossier(agency: Agency, case, applicant, *, received: dt.datetime | None, **values) -> Dossier:
    return stats_dossier(
        agency, case, applicant, received=received, submitted_at=received or at(3, 30), **values
    )


@pytest.fixture
def city(personas, desk, birth_case):
    """Dossiers of Hoàn Kiếm (d…) and Ba Đình (e…) around March 2025; comments say how each one counts."""
    hk = desk.agency
    bd = Agency.objects.get(code="000.04.01.H26")
    who = personas.resident
    returned = {"status": Status.RETURNED}
    # d1: received in March, finished early, online and fully online, paid online, synced.
    d1 = dossier(
        hk,
        birth_case,
        who,
        received=at(3, 5),
        finished_at=at(3, 7),
        timeliness=Timeliness.EARLY,
        channel=FilingChannel.ONLINE,
        is_fully_online=True,
        payment_status=PaymentStatus.PAID,
        fee_total=8000,
        fee_applicant=8000,
        **returned,
    )
    papers(d1, ComponentSource.DIGITISED, ComponentSource.REUSED)
    rate(d1, Satisfaction.VERY_SATISFIED, 18, at(3, 8))
    Payment.objects.create(dossier=d1, amount=8000, state=PaymentState.PAID, gateway="simulator")
    sync(d1, SyncState.DELIVERED, SyncState.DELIVERED)
    # d2: received in March, finished late, at the desk, paid in cash, its sync failed.
    d2 = dossier(
        hk,
        birth_case,
        who,
        received=at(3, 10),
        finished_at=at(3, 20),
        timeliness=Timeliness.LATE,
        payment_status=PaymentStatus.PAID,
        fee_total=8000,
        fee_applicant=8000,
        **returned,
    )
    papers(d2, ComponentSource.NOT_DIGITISED, ComponentSource.DIGITISED)
    rate(d2, Satisfaction.NOT_SATISFIED, 6, at(3, 21))
    sync(d2, SyncState.DELIVERED, SyncState.FAILED)
    # d3: received in February, finished on time in March: carried over.
    d3 = dossier(
        hk,
        birth_case,
        who,
        received=at(2, 20),
        finished_at=at(3, 3),
        timeliness=Timeliness.ON_TIME,
        **returned,
    )
    papers(d3, ComponentSource.DIGITISED)  # received before March: not in March's papers
    # d4: received in February, still open, due 15 March: carried over, in progress and overdue.
    dossier(hk, birth_case, who, received=at(2, 25), due_at=at(3, 15))
    # d5: received in March, online (partly), open, due in April, fee due.
    d5 = dossier(
        hk,
        birth_case,
        who,
        received=at(3, 25),
        due_at=at(4, 5),
        channel=FilingChannel.ONLINE,
        payment_status=PaymentStatus.DUE,
        fee_total=8000,
        fee_applicant=8000,
    )
    papers(d5, ComponentSource.NOT_DIGITISED)
    # d6: received in March, waiting for a supplement since 29 March (clock paused): not overdue.
    dossier(
        hk,
        birth_case,
        who,
        received=at(3, 28),
        due_at=at(3, 30),
        status=Status.SUPPLEMENT_REQUESTED,
        paused_since=at(3, 29),
    )
    # d7: submitted online, not yet received: counts nowhere.
    dossier(hk, birth_case, who, received=None, status=Status.SUBMITTED, channel=FilingChannel.ONLINE)
    # d8: received and finished before March, rated in February: counts nowhere.
    d8 = dossier(
        hk,
        birth_case,
        who,
        received=at(1, 10),
        finished_at=at(2, 1),
        timeliness=Timeliness.ON_TIME,
        **returned,
    )
    rate(d8, Satisfaction.SATISFIED, 12, at(2, 2))
    # d9: received in April: counts nowhere.
    dossier(hk, birth_case, who, received=at(4, 2))
    # d10: received in February, withdrawn on 12 March: carried over, finished (without a timeliness).
    dossier(hk, birth_case, who, received=at(2, 1), finished_at=at(3, 12), status=Status.WITHDRAWN)
    # e1: Ba Đình, received in March, on time, fully online, reused another result, fee waived.
    e1 = dossier(
        bd,
        birth_case,
        who,
        received=at(3, 6),
        finished_at=at(3, 8),
        timeliness=Timeliness.ON_TIME,
        channel=FilingChannel.ONLINE,
        is_fully_online=True,
        payment_status=PaymentStatus.WAIVED,
        **returned,
    )
    papers(e1, ComponentSource.REUSED_RESULT)
    rate(e1, Satisfaction.SATISFIED, 14, at(3, 9))
    sync(e1, SyncState.DELIVERED, SyncState.PENDING)
    # e2: Ba Đình, received in March, open and overdue (due 20 March), fees paid by the city.
    dossier(
        bd,
        birth_case,
        who,
        received=at(3, 15),
        due_at=at(3, 20),
        payment_status=PaymentStatus.CITY_PAID,
        fee_total=100_000,
        fee_city=100_000,
    )


def test_city_manager_gets_every_figure_counted_by_hand(personas, city):
    report = dossier_stats(actor=personas.city_manager, **MARCH)

    assert report.total.figures == {
        "received": 6,  # d1 d2 d5 d6 e1 e2
        "carried_over": 3,  # d3 d4 d10
        "in_progress": 4,  # d4 d5 d6 e2
        "finished": 5,  # d1 d2 d3 d10 e1
        "finished_early": 1,  # d1
        "finished_on_time": 2,  # d3 e1
        "finished_late": 1,  # d2
        "overdue": 2,  # d4 e2 (d6 is paused, d5 due in April)
        "online": 3,  # d1 d5 e1
        "fully_online": 2,  # d1 e1
        "synced": 1,  # d1 (d2 failed, e1 pending)
        "components": 6,  # d1 ×2, d2 ×2, d5, e1
        "components_digitised": 4,  # d1 ×2, d2, e1
        "components_reused": 2,  # d1, e1
        "ratings": 3,  # d1 d2 e1
        "ratings_satisfied": 2,  # d1 e1
        "ratings_very_satisfied": 1,  # d1
        "rating_score_sum": 38,  # 18 + 6 + 14
        "fees_due": 1,  # d5
        "fees_paid": 2,  # d1 d2
        "fees_paid_online": 1,  # d1
        "fees_waived": 1,  # e1
        "fees_city_paid": 1,  # e2
        "fee_total": 124_000,
        "fee_applicant": 24_000,
        "fee_city": 100_000,
    }
    assert report.total.rates == {
        "online_rate": 50.0,  # 3 / 6
        "fully_online_rate": 33.3,  # 2 / 6
        "on_time_rate": 75.0,  # (1 + 2) / 4
        "digitisation_rate": 66.7,  # 4 / 6
        "reuse_rate": 33.3,  # 2 / 6
        "satisfaction_rate": 66.7,  # 2 / 3
        "rating_score_average": 12.67,  # 38 / 3
        "synced_rate": 16.7,  # 1 / 6
    }
    assert [(group.code, group.points) for group in report.total.index] == [
        ("disclosure", 3.0),  # 18 × 1/6
        ("timeliness", 10.0),  # 20 × 3 / (4 finished + 2 overdue)
        ("digitisation", 12.0),  # 14 × 4/6 + 8 × 2/6
        ("online", 10.0),  # 6 × 3/6 + 6 × 2/6 + 10 × 1/2
        ("satisfaction", 12.33),  # 9 × 2/3 + 9 × 38 / (18 × 3)
    ]
    assert report.total.score == 47.33
    assert report.groups == []


def test_grouped_by_unit_splits_the_same_rows(personas, city):
    report = dossier_stats(actor=personas.city_manager, group_by="unit", **MARCH)

    assert [(row.key, row.label) for row in report.groups] == [
        ("00004", "Phường Ba Đình"),
        ("00070", "Phường Hoàn Kiếm"),
    ]
    ba_dinh, hoan_kiem = report.groups
    assert (ba_dinh.figures["received"], hoan_kiem.figures["received"]) == (2, 4)
    assert (ba_dinh.figures["overdue"], hoan_kiem.figures["overdue"]) == (1, 1)
    assert (ba_dinh.figures["components"], hoan_kiem.figures["components"]) == (1, 5)
    assert (ba_dinh.figures["ratings"], hoan_kiem.figures["ratings"]) == (1, 2)
    for name in FIGURES:
        assert ba_dinh.figures[name] + hoan_kiem.figures[name] == report.total.figures[name]


def test_ward_leader_sees_only_their_ward(personas, desk, city):
    report = dossier_stats(actor=desk.leader, group_by="agency", **MARCH)

    assert [row.key for row in report.groups] == ["000.70.01.H26"]
    figures = report.total.figures
    assert (figures["received"], figures["carried_over"], figures["in_progress"]) == (4, 3, 3)
    assert (figures["finished"], figures["overdue"], figures["ratings"]) == (4, 1, 2)


def test_ward_leader_may_not_ask_for_another_ward(desk, city):
    with pytest.raises(PermissionDenied):
        dossier_stats(actor=desk.leader, unit="00004", **MARCH)


def test_filters_by_unit_field_and_procedure(personas, birth_case, city):
    by_unit = dossier_stats(actor=personas.city_manager, unit="00004", **MARCH)
    by_field = dossier_stats(actor=personas.city_manager, field="ho-tich", **MARCH)
    by_procedure = dossier_stats(
        actor=personas.city_manager, procedure=birth_case.procedure.national_code, **MARCH
    )

    assert by_unit.total.figures["received"] == 2
    assert by_field.total.figures["received"] == 6
    assert by_procedure.total.figures["received"] == 6


@pytest.mark.parametrize("persona", ["resident", "clerk_hoan_kiem", "department_officer"])
def test_people_without_the_permission_are_refused(personas, city, persona):
    with pytest.raises(PermissionDenied):
        dossier_stats(actor=getattr(personas, persona), **MARCH)


def test_unknown_codes_and_empty_periods_are_refused(personas, settings):
    settings.LANGUAGE_CODE = "en"
    with pytest.raises(InvalidInput) as unknown:
        dossier_stats(actor=personas.city_manager, unit="99999", procedure="9.999999", **MARCH)
    with pytest.raises(InvalidInput):
        dossier_stats(actor=personas.city_manager, date_from=dt.date(2025, 4, 1), date_to=dt.date(2025, 4, 1))
    with pytest.raises(InvalidInput):
        dossier_stats(actor=personas.city_manager, group_by="colour", **MARCH)

    assert sorted(unknown.value.details) == ["procedure", "unit"]


def test_index_leaves_out_what_cannot_be_measured():
    figures = dict.fromkeys(FIGURES, 0)
    nothing, no_score = index_766(figures)

    assert [group.points for group in nothing] == [None] * 5
    assert no_score is None

    # two received online, one fully online; nothing paid, no papers, no rating, nothing finished
    figures.update(received=2, online=2, fully_online=1, synced=2)
    groups, score = index_766(figures)

    assert [group.points for group in groups] == [18.0, None, None, 16.5, None]  # 22 × (6 + 3) / 12
    assert score == 90.0  # (18 + 9) / (18 + 12) × 100


# -- the API ---------------------------------------------------------------------------------------------


def test_api_gives_the_grouped_figures(personas, city, sign_in, django_assert_max_num_queries):
    client = sign_in(personas.city_manager)
    client.get(URL)  # the first request of a session loads what later ones find cached

    # session, user, second factor, positions, then one query per table whatever the number of groups
    with django_assert_max_num_queries(7):
        response = client.get(
            URL, {"from": "2025-03-01", "to": "2025-04-01", "group_by": "unit"}, HTTP_ACCEPT_LANGUAGE="en"
        )

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["group_by"]) == ("2025-03-01", "2025-04-01", "unit")
    assert body["total"]["figures"]["received"] == 6
    assert body["total"]["score"] == 47.33
    assert [row["key"] for row in body["groups"]] == ["00004", "00070"]
    assert body["total"]["index"][0] == {
        "code": "disclosure",
        "name": "Disclosure and publicity",
        "max_points": 18,
        "points": 3.0,
    }


def test_api_refuses_each_tier_without_the_permission(personas, sign_in):
    anonymous = Client().get(URL, HTTP_ACCEPT_LANGUAGE="en")
    resident = sign_in(personas.resident).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    clerk = sign_in(personas.clerk_hoan_kiem).get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert anonymous.status_code == 401
    assert resident.status_code == 403
    assert resident.json() == {"code": "permission_denied", "detail": "You may not see dossier statistics."}
    assert clerk.status_code == 403


def test_api_refuses_bad_input_with_a_4xx(personas, sign_in):
    client = sign_in(personas.city_manager)

    backwards = client.get(URL, {"from": "2025-04-01", "to": "2025-03-01"}, HTTP_ACCEPT_LANGUAGE="en")
    grouping = client.get(URL, {"group_by": "colour"}, HTTP_ACCEPT_LANGUAGE="en")
    unknown = client.get(URL, {"unit": "99999"}, HTTP_ACCEPT_LANGUAGE="en")

    assert backwards.status_code == 400
    assert backwards.json()["errors"] == {"to": ["Must be after the start."]}
    assert grouping.status_code == 422
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"unit": ["No unit with code 99999."]}


def test_api_is_not_read_as_a_dossier_code(personas, sign_in):
    response = sign_in(personas.city_manager).get(URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.json()["total"]["figures"]["received"] == 0
