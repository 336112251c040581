"""The IOC's figures: every KPI of the overview, for the city and two wards, against an independent
computation over the raw rows (dossiers, papers, ratings, payments, portal messages, report submissions);
scope; breakdowns and their links; rankings; the records behind a figure; the live token; query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from hanoismart.common.errors import InvalidInput, NotFound, PermissionDenied
from hanoismart.dossiers.models import (
    OPEN_STATUSES,
    ComponentSource,
    Dossier,
    DossierComponent,
    Payment,
    PaymentState,
    PaymentStatus,
    PortalSyncMessage,
    Rating,
    Satisfaction,
    SyncState,
    Timeliness,
)
from hanoismart.dossiers.services.rollups import rollups_rebuild
from hanoismart.identity.models import StaffPosition
from hanoismart.ioc.kpis import KPIS, TARGETS
from hanoismart.ioc.selectors import (
    alerts_for,
    ioc_scope,
    kpi_breakdown,
    live_token,
    overview,
    rankings,
    records_behind,
    report_figures,
    thresholds_for,
)
from hanoismart.ioc.selectors import scope as scope_module
from hanoismart.procedures.models import DossierStatus as Status
from hanoismart.reporting.models import Assignment, Period, Submission
from tests.ioc.conftest import HANOI, MARCH, NOW, _dossier, at

pytestmark = pytest.mark.django_db

# -- the independent computation ---------------------------------------------------------------------------


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=HANOI)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def raw_kpis(units: set[int] | None, date_from: dt.date, date_to: dt.date, now: dt.datetime) -> dict:
    """Every KPI straight from the rows, in plain Python over plain querysets (no IOC or stats code)."""
    start, end = _moment(date_from), _moment(date_to)
    dossiers = list(Dossier.objects.all() if units is None else Dossier.objects.filter(unit_id__in=units))
    ids = {d.pk for d in dossiers}
    received = [d for d in dossiers if d.received_at and start <= d.received_at < end]
    finished = [d for d in dossiers if d.finished_at and start <= d.finished_at < end]
    received_ids = {d.pk for d in received}
    papers = [c for c in DossierComponent.objects.all() if c.dossier_id in received_ids]
    ratings = [r for r in Rating.objects.all() if r.dossier_id in ids and start <= r.created_at < end]
    states: dict[int, set[str]] = {}
    for message in PortalSyncMessage.objects.all():
        states.setdefault(message.dossier_id, set()).add(message.state)
    paid_by_gateway = {p.dossier_id for p in Payment.objects.filter(state=PaymentState.PAID)}

    early = sum(d.timeliness == Timeliness.EARLY for d in finished)
    on_time = sum(d.timeliness == Timeliness.ON_TIME for d in finished)
    late = sum(d.timeliness == Timeliness.LATE for d in finished)
    online = sum(d.channel == "online" for d in received)
    fully = sum(d.is_fully_online for d in received)
    digitised = sum(
        c.source in (ComponentSource.DIGITISED, ComponentSource.REUSED, ComponentSource.REUSED_RESULT)
        for c in papers
    )
    reused = sum(c.source in (ComponentSource.REUSED, ComponentSource.REUSED_RESULT) for c in papers)
    satisfied = sum(r.overall in (Satisfaction.SATISFIED, Satisfaction.VERY_SATISFIED) for r in ratings)
    score_sum = sum(r.total for r in ratings)
    synced = sum(states.get(d.pk, set()) == {SyncState.DELIVERED} for d in received)
    paid = [d for d in received if d.payment_status == PaymentStatus.PAID]
    paid_online = sum(d.pk in paid_by_gateway for d in paid)

    running = [
        d for d in dossiers if d.status in OPEN_STATUSES and d.received_at is not None and d.received_at < now
    ]
    unpaused = [d for d in running if d.paused_since is None or d.paused_since > now]
    overdue = sum(d.due_at is not None and d.due_at < now for d in unpaused)
    due_soon = sum(d.due_at is not None and now <= d.due_at < now + dt.timedelta(hours=24) for d in unpaused)

    # Decision 766: the criteria with something to measure, scaled to 100 (docs/statistics.md).
    index_overdue = overdue if date_to > now.astimezone(HANOI).date() else 0
    criteria = [
        (18, _ratio(synced, len(received))),
        (20, _ratio(early + on_time, early + on_time + late + index_overdue)),
        (14, _ratio(digitised, len(papers))),
        (8, _ratio(reused, len(papers))),
        (6, _ratio(online, len(received))),
        (6, _ratio(fully, len(received))),
        (10, _ratio(paid_online, len(paid))),
        (9, _ratio(satisfied, len(ratings))),
        (9, _ratio(score_sum, 18 * len(ratings))),
    ]
    measured = [(weight, ratio) for weight, ratio in criteria if ratio is not None]
    score = (
        round(100 * sum(w * r for w, r in measured) / sum(w for w, _r in measured), 2) if measured else None
    )

    # Reporting: the expected reporters (assignments valid at a period's end), the reports counted.
    today = now.astimezone(HANOI).date()
    expected = submitted = reports_late = 0
    for form_id in {a.form_id for a in Assignment.objects.all()}:
        periods = list(Period.objects.filter(form_id=form_id).order_by("-end"))
        due = [p for p in periods if p.due_at <= now]

        def reporters(period: Period) -> list[tuple[int, int | None]]:
            found = []
            for a in Assignment.objects.filter(form_id=period.form_id).select_related("agency"):
                if a.valid_from <= period.end and (a.valid_to is None or a.valid_to > period.end):
                    unit_id = a.unit_id or a.agency.unit_id
                    if units is None or unit_id in units:
                        found.append((unit_id, a.agency_id))
            return found

        def counted(period: Period, unit_id: int, agency_id: int | None) -> bool:
            return Submission.objects.filter(
                period=period,
                unit_id=unit_id,
                agency_id=agency_id,
                status__in=["submitted", "accepted", "locked"],
            ).exists()

        if due:
            for unit_id, agency_id in reporters(due[0]):
                expected += 1
                submitted += counted(due[0], unit_id, agency_id)
        for period in due:
            if period.locks_on >= today:
                reports_late += sum(not counted(period, u, a) for u, a in reporters(period))
    return {
        "received": len(received),
        "finished": len(finished),
        "on_time_rate": _pct(early + on_time, early + on_time + late),
        "online_rate": _pct(online, len(received)),
        "fully_online_rate": _pct(fully, len(received)),
        "digitisation_rate": _pct(digitised, len(papers)),
        "reuse_rate": _pct(reused, len(papers)),
        "satisfaction_rate": _pct(satisfied, len(ratings)),
        "rating_score_average": None if not ratings else round(score_sum / len(ratings), 2),
        "index_766": score,
        "in_progress": len(running),
        "overdue": overdue,
        "due_soon": due_soon,
        "reporting_completeness": _pct(submitted, expected),
        "reports_late": reports_late,
    }


def tile_values(found) -> dict:
    return {tile.kpi.code: tile.value for tile in found.tiles}


# -- acceptance ---------------------------------------------------------------------------------------------


def test_every_kpi_of_the_city_and_two_wards_equals_the_raw_rows(city, personas, leaders):
    cases = [
        (personas.city_manager, "", None),
        (personas.city_manager, city.hoan_kiem.code, {city.hoan_kiem.pk}),
        (personas.city_manager, city.ba_dinh.code, {city.ba_dinh.pk}),
        (leaders.ba_dinh, "", {city.ba_dinh.pk}),
    ]
    for actor, unit, units in cases:
        found = overview(actor=actor, unit=unit, now=NOW)
        assert (found.date_from, found.date_to) == MARCH
        expected = raw_kpis(units, *MARCH, NOW)
        assert list(tile_values(found)) == list(KPIS)
        for code, value in tile_values(found).items():
            assert value == pytest.approx(expected[code], abs=0.01), (unit, code)
        # the previous period: the 20 days before
        previous = raw_kpis(units, dt.date(2026, 2, 9), dt.date(2026, 3, 1), NOW)
        for tile in found.tiles:
            if tile.kpi.kind == "flow" and tile.kpi.code != "index_766":
                assert tile.previous == pytest.approx(previous[tile.kpi.code], abs=0.01), (
                    unit,
                    tile.kpi.code,
                )


def test_the_city_overview_in_figures_counted_by_hand(city, personas):
    found = overview(actor=personas.city_manager, now=NOW)

    values = tile_values(found)
    assert found.unit is None
    assert values["received"] == 10  # h1 h2 h4 h5 h6 b1 b2 b3 c1 c2
    assert values["finished"] == 5  # h1 h2 h3 b1 c1
    assert values["on_time_rate"] == 80.0  # 2 early + 2 on time of 5
    assert values["online_rate"] == 30.0  # h1 h4 b1
    assert values["fully_online_rate"] == 20.0
    assert values["digitisation_rate"] == 80.0  # 4 of 5 papers
    assert values["reuse_rate"] == 40.0
    assert values["satisfaction_rate"] == 66.7
    assert values["rating_score_average"] == 12.67
    assert (values["in_progress"], values["overdue"], values["due_soon"]) == (6, 3, 1)
    assert values["reporting_completeness"] == 66.7  # March: Hoàn Kiếm and the department of 3
    assert values["reports_late"] == 3  # February: Ba Đình, the department; March: Ba Đình
    assert found.figures["received"] == 10
    assert found.figures["index_overdue"] == 3
    assert [group.code for group in found.index_groups] == [
        "disclosure",
        "timeliness",
        "digitisation",
        "online",
        "satisfaction",
    ]
    on_time = next(tile for tile in found.tiles if tile.kpi.code == "on_time_rate")
    assert on_time.target == TARGETS["on_time_rate"] == 95.0
    assert on_time.status == "bad"  # 80 < 95 - 9.5
    assert on_time.link == "/ioc/kpi/on_time_rate/?from=2026-03-01&to=2026-03-21"
    assert [label for label, _v in on_time.trend][:2] == ["2026-03-01", "2026-03-02"]
    assert len(on_time.trend) == 20
    received = next(tile for tile in found.tiles if tile.kpi.code == "received")
    assert dict(received.trend)["2026-03-02"] == 1  # h1
    assert received.previous == 2  # h3 h8
    completeness = next(tile for tile in found.tiles if tile.kpi.code == "reporting_completeness")
    assert completeness.previous == 33.3  # February: Hoàn Kiếm of 3


def test_a_long_period_has_a_monthly_trend_of_the_last_twelve_months(city, personas):
    found = overview(
        actor=personas.city_manager, date_from=dt.date(2025, 7, 1), date_to=dt.date(2026, 4, 1), now=NOW
    )

    received = next(tile for tile in found.tiles if tile.kpi.code == "received")
    assert [label for label, _v in received.trend] == [f"2025-{m:02d}" for m in range(4, 13)] + [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert dict(received.trend)["2026-02"] == 2
    assert dict(received.trend)["2026-03"] == 10
    assert received.value == 12


def test_a_past_period_counts_no_open_dossier_in_the_766_timeliness(city, personas):
    found = overview(
        actor=personas.city_manager, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 15), now=NOW
    )
    assert found.figures["index_overdue"] == 0
    assert tile_values(found)["index_766"] == pytest.approx(
        raw_kpis(None, dt.date(2026, 3, 1), dt.date(2026, 3, 15), NOW)["index_766"], abs=0.01
    )


# -- scope --------------------------------------------------------------------------------------------------


def test_city_staff_see_the_city_and_a_ward_leader_only_their_ward(city, personas, leaders):
    manager = ioc_scope(actor=personas.city_manager)
    assert manager.unit_ids is None
    assert [u.code for u in manager.units] == ["01", "00004", "00070"]  # the city, then wards by name
    assert manager.default_unit == city.city
    assert ioc_scope(actor=personas.operator).unit_ids is None
    assert ioc_scope(actor=leaders.department).unit_ids is None  # a department is city level

    ward = ioc_scope(actor=leaders.hoan_kiem)
    assert ward.unit_ids == {city.hoan_kiem.pk}
    assert ward.units == [city.hoan_kiem] == [ward.default_unit]
    assert overview(actor=leaders.hoan_kiem, now=NOW).unit == city.hoan_kiem
    with pytest.raises(PermissionDenied):
        overview(actor=leaders.hoan_kiem, unit=city.ba_dinh.code, now=NOW)
    with pytest.raises(PermissionDenied):
        overview(actor=leaders.hoan_kiem, unit=city.city.code, now=NOW)
    with pytest.raises(PermissionDenied):
        kpi_breakdown(actor=leaders.hoan_kiem, kpi="received", unit=city.ba_dinh.code, now=NOW)


def test_the_city_and_its_wards_are_found_without_the_deployments_code_too(city, personas, settings):
    expected = ioc_scope(actor=personas.city_manager)
    settings.PROVINCE_CODE = "99"  # no such unit: the first top-level unit is the city

    found = ioc_scope(actor=personas.city_manager)

    assert (found.units, found.default_unit) == (expected.units, expected.default_unit) != ([], None)


def test_a_scope_handed_to_the_selectors_is_not_read_again(city, personas, monkeypatch):
    manager = personas.city_manager
    scope = ioc_scope(actor=manager)
    expected = tile_values(overview(actor=manager, now=NOW))

    def refuse(**kwargs):
        raise AssertionError("the scope was read again")

    monkeypatch.setattr(scope_module, "ioc_scope", refuse)
    assert tile_values(overview(actor=manager, scope=scope, now=NOW)) == expected
    kpi_breakdown(actor=manager, scope=scope, kpi="index_766", now=NOW)
    rankings(actor=manager, scope=scope, now=NOW)
    records_behind(actor=manager, scope=scope, kpi="overdue", unit=city.hoan_kiem.code, now=NOW)
    live_token(actor=manager, scope=scope, unit=city.ba_dinh.code, now=NOW)
    list(alerts_for(actor=manager, scope=scope, unit=city.ba_dinh.code))
    list(thresholds_for(actor=manager, scope=scope))
    with pytest.raises(AssertionError):
        overview(actor=manager, now=NOW)


def test_the_scope_is_read_at_every_call_never_kept_on_the_actor(city, leaders):
    """A leader removed from their post (the same user object, as a stream or a task holds it) is refused
    at the next call: nothing memoises the scope."""
    leader = leaders.ba_dinh
    assert live_token(actor=leader, now=NOW)
    assert overview(actor=leader, now=NOW).unit == city.ba_dinh

    today = timezone.localdate()
    StaffPosition.objects.filter(user=leader).update(valid_from=today - dt.timedelta(days=30), valid_to=today)

    with pytest.raises(PermissionDenied):
        live_token(actor=leader, now=NOW)
    with pytest.raises(PermissionDenied):
        overview(actor=leader, now=NOW)


@pytest.mark.parametrize("who", ["resident", "clerk_hoan_kiem", "department_officer"])
def test_people_without_the_dashboard_permission_are_refused(city, personas, who):
    with pytest.raises(PermissionDenied):
        overview(actor=getattr(personas, who), now=NOW)


def test_an_unknown_unit_or_an_empty_period_is_refused(city, personas):
    with pytest.raises(InvalidInput):
        overview(actor=personas.city_manager, unit="99999", now=NOW)
    with pytest.raises(InvalidInput):
        overview(actor=personas.city_manager, date_from=MARCH[1], date_to=MARCH[0], now=NOW)


# -- breakdowns ---------------------------------------------------------------------------------------------


def test_the_city_by_unit_lists_its_wards_and_its_own_departments(city, personas):
    with translation.override("en"):
        found = kpi_breakdown(actor=personas.city_manager, kpi="received", now=NOW)

    rows = {row.key: row for row in found.rows}
    assert found.total == 10
    assert {key: row.value for key, row in rows.items()} == {"01": 2, "00004": 3, "00070": 5}
    assert rows["01"].label == "City level (departments)"
    assert rows["00070"].label == "Phường Hoàn Kiếm"
    assert rows["00070"].link == "/ioc/kpi/received/?unit=00070&group_by=unit&from=2026-03-01&to=2026-03-21"
    assert rows["01"].link == "/ioc/records/?kpi=received&unit=01&from=2026-03-01&to=2026-03-21"


def test_a_ward_by_unit_lists_its_agencies_and_links_to_their_records(city, personas):
    found = kpi_breakdown(actor=personas.city_manager, kpi="on_time_rate", unit=city.hoan_kiem.code, now=NOW)

    assert found.unit == city.hoan_kiem
    assert [(row.key, row.value) for row in found.rows] == [(city.hk.code, 66.7)]  # h1 h3 of h1 h2 h3
    assert found.total == 66.7
    assert found.rows[0].link == (
        f"/ioc/records/?kpi=on_time_rate&unit=00070&agency={city.hk.code}&from=2026-03-01&to=2026-03-21"
    )


def test_breakdowns_by_procedure_and_over_time(city, personas):
    by_procedure = kpi_breakdown(actor=personas.city_manager, kpi="received", group_by="procedure", now=NOW)
    assert sum(row.value for row in by_procedure.rows) == 10
    assert all(row.link.startswith("/ioc/records/?kpi=received&procedure=") for row in by_procedure.rows)

    by_day = kpi_breakdown(actor=personas.city_manager, kpi="received", group_by="day", now=NOW)
    assert len(by_day.rows) == 20
    assert by_day.rows[1].key == "2026-03-02"
    assert by_day.rows[1].value == 1
    assert by_day.rows[1].link == "/ioc/records/?kpi=received&from=2026-03-02&to=2026-03-03"


def test_stocks_break_down_by_unit_now_and_not_over_time(city, personas):
    found = kpi_breakdown(actor=personas.city_manager, kpi="overdue", now=NOW)
    assert {row.key: row.value for row in found.rows} == {"01": 1, "00004": 1, "00070": 1}
    assert found.total == 3
    with pytest.raises(InvalidInput):
        kpi_breakdown(actor=personas.city_manager, kpi="overdue", group_by="month", now=NOW)


def test_reporting_breaks_down_by_reporting_unit(city, personas):
    found = kpi_breakdown(actor=personas.city_manager, kpi="reports_late", now=NOW)
    assert {row.key: row.value for row in found.rows} == {"01": 1, "00004": 2, "00070": 0}
    assert found.total == 3
    assert {row.key: row.link for row in found.rows}["01"] == "/ioc/reporting/?unit=01"
    completeness = kpi_breakdown(actor=personas.city_manager, kpi="reporting_completeness", now=NOW)
    assert {row.key: row.value for row in completeness.rows} == {"01": 100.0, "00004": 0.0, "00070": 100.0}


def test_an_unknown_kpi_is_not_found(city, personas):
    with pytest.raises(NotFound):
        kpi_breakdown(actor=personas.city_manager, kpi="happiness", now=NOW)


# -- rankings -----------------------------------------------------------------------------------------------


def test_wards_are_ranked_by_their_766_index(city, personas, leaders):
    found = rankings(actor=personas.city_manager, now=NOW)

    raw = {
        "00070": raw_kpis({city.hoan_kiem.pk}, *MARCH, NOW)["index_766"],
        "00004": raw_kpis({city.ba_dinh.pk}, *MARCH, NOW)["index_766"],
    }
    assert [row.key for row in found] == sorted(raw, key=lambda key: -raw[key])
    for row in found:
        assert row.score == pytest.approx(raw[row.key], abs=0.01)
    assert [row.rank for row in found] == [1, 2]
    assert len(found[0].groups) == 5

    agencies = rankings(actor=personas.city_manager, level="agency", now=NOW)
    assert {row.key for row in agencies} == {city.hk.code, city.bd.code, city.department.code}
    assert [row.key for row in rankings(actor=leaders.hoan_kiem, now=NOW)] == ["00070"]
    with pytest.raises(InvalidInput):
        rankings(actor=personas.city_manager, index="999", now=NOW)


# -- records ------------------------------------------------------------------------------------------------


def test_the_records_behind_each_dossier_figure(city, personas, leaders):
    d = city.dossiers

    def codes(**filters) -> set[str]:
        found = records_behind(actor=personas.city_manager, now=NOW, **filters)
        return {dossier.code for dossier in found}

    def named(*keys: str) -> set[str]:
        return {d[key].code for key in keys}

    period = {"date_from": MARCH[0], "date_to": MARCH[1]}
    assert codes(kpi="received", **period) == named(
        "h1", "h2", "h4", "h5", "h6", "b1", "b2", "b3", "c1", "c2"
    )
    assert codes(kpi="on_time_rate", **period) == named("h1", "h2", "h3", "b1", "c1")
    assert codes(kpi="satisfaction_rate", **period) == named("h1", "h2", "b1")
    assert codes(kpi="overdue") == named("h4", "b2", "c2")
    assert codes(kpi="due_soon") == named("h5")
    assert codes(kpi="in_progress", unit=city.ba_dinh.code) == named("b2", "b3")
    assert codes(kpi="received", unit=city.city.code, **period) == named("c1", "c2")
    assert codes(kpi="received", agency=city.bd.code, **period) == named("b1", "b2", "b3")
    assert records_behind(actor=personas.city_manager, kpi="reports_late", now=NOW) is None
    ward = records_behind(actor=leaders.hoan_kiem, kpi="overdue", now=NOW)
    assert {dossier.code for dossier in ward} == named("h4")
    with pytest.raises(PermissionDenied):
        records_behind(actor=leaders.hoan_kiem, kpi="overdue", unit=city.ba_dinh.code, now=NOW)


# -- live ---------------------------------------------------------------------------------------------------


def test_the_live_token_changes_with_a_new_record_and_with_time(city, personas, birth_case):
    manager = personas.city_manager
    first = live_token(actor=manager, now=NOW)
    assert live_token(actor=manager, now=NOW) == first

    # a dossier passing its due time changes the overdue count (no write needed)
    later = at(3, 20, 21)
    assert live_token(actor=manager, now=later) != first
    # a new received dossier changes the roll-ups
    _dossier(city.hk, birth_case, personas.resident, received=NOW - dt.timedelta(minutes=5))
    rollups_rebuild()
    assert live_token(actor=manager, now=NOW) != first


def test_the_live_token_moves_when_a_dossier_comes_due_within_a_day_and_only_then(city, personas):
    manager = personas.city_manager
    # b3 (Ba Đình) is due on 25 March at 17:00: it counts as due soon from 24 March, 17:00
    quiet = live_token(actor=manager, now=at(3, 24, 16, 0))

    assert live_token(actor=manager, now=at(3, 24, 16, 30)) == quiet  # no due moment crossed
    assert live_token(actor=manager, now=at(3, 24, 17, 1)) != quiet


# -- query counts -------------------------------------------------------------------------------------------


def _queries(function) -> int:
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured.captured_queries)


def test_overview_and_breakdown_queries_do_not_grow_with_the_dossiers(
    city, personas, birth_case, django_assert_max_num_queries
):
    manager = personas.city_manager
    views = [
        lambda: overview(actor=manager, now=NOW),
        lambda: overview(actor=manager, unit=city.hoan_kiem.code, now=NOW),
        lambda: kpi_breakdown(actor=manager, kpi="index_766", now=NOW),
        lambda: kpi_breakdown(actor=manager, kpi="received", group_by="month", now=NOW),
        lambda: rankings(actor=manager, now=NOW),
    ]
    before = [_queries(view) for view in views]
    for day in range(1, 20):
        _dossier(city.bd, birth_case, personas.resident, received=at(3, day), due_at=at(3, day, 17))
        _dossier(city.hk, birth_case, personas.resident, received=at(2, day), finished_at=at(3, day))
    rollups_rebuild()
    assert [_queries(view) for view in views] == before
    # the scope (positions, then the city and its wards), one roll-up query by day for the period, the one
    # before and the trend, the open stocks and the dossiers due today or soon, the report forms, their
    # periods and each period's reporters and submissions (two periods here)
    with django_assert_max_num_queries(11):
        overview(actor=manager, now=NOW)
    scope = ioc_scope(actor=manager)
    with django_assert_max_num_queries(9):
        overview(actor=manager, scope=scope, now=NOW)
    # the scope (2), the roll-ups by unit, the open stocks and the dossiers due today or soon by unit
    with django_assert_max_num_queries(5):
        kpi_breakdown(actor=manager, kpi="index_766", now=NOW)


def test_a_late_report_of_an_older_period_still_counts(city):
    """Late reports are those of every period past due and not locked, not only the latest two."""
    before = report_figures(unit_id=None, now=NOW)
    Period.objects.filter(form=city.form, code="2026-01").update(locks_on=dt.date(2026, 4, 30))

    after = report_figures(unit_id=None, now=NOW)

    assert (before.late, after.late) == (3, 5)  # January: Ba Đình and the department never sent it
    assert (after.expected, after.submitted) == (before.expected, before.submitted) == (3, 2)
    assert after.previous_expected == before.previous_expected == 3


def test_a_moment_in_another_time_zone_reads_the_same_local_day(city, personas):
    utc = NOW.astimezone(dt.UTC)
    assert tile_values(overview(actor=personas.city_manager, now=utc)) == tile_values(
        overview(actor=personas.city_manager, now=NOW)
    )
    assert timezone.localdate(utc) == dt.date(2026, 3, 20)


def test_a_pending_payment_is_not_an_online_payment(city, personas):
    h2 = city.dossiers["h2"]
    Payment.objects.create(dossier=h2, amount=8000, state=PaymentState.PENDING, gateway="simulator")
    Dossier.objects.filter(pk=h2.pk).update(status=Status.RETURNED)
    rollups_rebuild()
    found = overview(actor=personas.city_manager, unit=city.hoan_kiem.code, now=NOW)
    assert tile_values(found)["index_766"] == pytest.approx(
        raw_kpis({city.hoan_kiem.pk}, *MARCH, NOW)["index_766"], abs=0.01
    )
