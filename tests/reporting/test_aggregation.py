"""Acceptance: the city's aggregate of every indicator equals an independent computation from the raw values
(sum, average, latest, weighted), including a period when two wards merged."""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from hanoismart.directory.models import Agency, UnitKind
from hanoismart.directory.services import NewUnit, unit_reorganise
from hanoismart.identity.models import StaffRole
from hanoismart.reporting.models import (
    COUNTED_STATUSES,
    Aggregate,
    Aggregation,
    DataValue,
    Indicator,
)
from hanoismart.reporting.selectors import completeness
from hanoismart.reporting.services import (
    ValueEntry,
    aggregates_rebuild,
    assignments_sync,
    period_for,
    submission_open,
    submission_return,
    submission_save_draft,
    submission_submit,
)
from hanoismart.reporting.services.aggregation import combine
from tests.conftest import _staff
from tests.directory.factories import AgencyFactory, ward

Q = Decimal("0.000001")


def _independent(period, unit_ids):
    """The expected aggregate per (indicator code, disaggregation), straight from the raw values."""
    rows = DataValue.objects.filter(
        submission__period=period,
        submission__status__in=COUNTED_STATUSES,
        submission__unit_id__in=unit_ids,
        number__isnull=False,
    ).values_list("submission_id", "submission__submitted_at", "indicator__code", "disaggregation", "number")
    by_key = defaultdict(list)
    per_submission = defaultdict(dict)
    for submission_id, at, code, key, number in rows:
        by_key[(code, key)].append((at, number, submission_id))
        per_submission[submission_id][(code, key)] = number
    expected = {}
    indicators = {i.code: i for i in Indicator.objects.all()}
    for (code, key), items in by_key.items():
        indicator = indicators[code]
        numbers = [number for _at, number, _s in items]
        if indicator.aggregation == Aggregation.SUM:
            value = sum(numbers)
        elif indicator.aggregation == Aggregation.AVERAGE:
            value = sum(numbers) / len(numbers)
        elif indicator.aggregation == Aggregation.LATEST:
            value = max(items)[1]
        elif indicator.aggregation == Aggregation.WEIGHTED_AVERAGE:
            weight_code = indicator.weight_indicator.code
            pairs = [
                (n, per_submission[s].get((weight_code, key), per_submission[s].get((weight_code, ""))))
                for _a, n, s in items
            ]
            pairs = [(n, w) for n, w in pairs if w]
            value = sum(n * w for n, w in pairs) / sum(w for _n, w in pairs)
        else:
            continue
        expected[(code, key)] = Decimal(value).quantize(Q, ROUND_HALF_UP)
    return expected


def _city_aggregates(period, city):
    return {
        (row.indicator.code, row.disaggregation): row.value
        for row in Aggregate.objects.filter(period=period, unit=city).select_related("indicator")
    }


def _report(world, user, unit, period, values, comments=None):
    submission = submission_open(actor=user, form=world.form, period=period, unit=unit)
    submission_save_draft(
        actor=user,
        submission=submission,
        values=[ValueEntry(code, value, disaggregation=key) for (code, key), value in values.items()],
    )
    return submission_submit(actor=user, submission=submission, comments=comments or {"IN_JUMP": "ok"})


def _values(seed):
    return {
        ("DOSSIERS_IN", ""): str(10 * seed),
        ("DOSSIERS_DONE", ""): str(7 * seed),
        ("ONLINE_RATE", ""): str(50 + seed * 3.5),
        ("POPULATION", ""): str(20000 + seed),
        ("BIRTHS", ""): str(5 + seed),
        ("BIRTHS", "sex=female"): str(2 + seed),
        ("SATISFACTION", ""): str(3 + seed / 4),
        ("HAS_PORTAL", ""): "yes" if seed % 2 else "no",
    }


@pytest.fixture
def merged(world, hoan_kiem, ba_dinh, personas):
    """Three wards report in August 2025; Hoàn Kiếm and Ba Đình merge on 1 September into one ward."""
    third = ward("00008", "Phường Thứ Ba")
    third_agency = AgencyFactory(code="000.08.01.H26", unit=third)
    reporter_third = _staff(StaffRole.REPORTER, third_agency, "Báo Cáo Ba")
    assignments_sync(actor=None, form=world.form, on_date=dt.date(2025, 8, 1))
    august = period_for(form=world.form, day=dt.date(2025, 8, 10))
    _report(world, world.reporter_hk, hoan_kiem, august, _values(1))
    _report(world, world.reporter_bd, ba_dinh, august, _values(2))
    _report(world, reporter_third, third, august, _values(3))
    (new_ward,) = unit_reorganise(
        actor=None,
        new_units=[
            NewUnit("00999", "Phường Hoàn Kiếm Mới", UnitKind.WARD, hoan_kiem.parent.code, ("00070", "00004"))
        ],
        ceased_codes=["00070", "00004"],
        on_date=dt.date(2025, 9, 1),
    )
    assignments_sync(actor=None, form=world.form, on_date=dt.date(2025, 9, 14))
    agency = Agency.objects.filter(unit=new_ward).first() or AgencyFactory(
        code="000.99.01.H26", unit=new_ward
    )
    reporter_new = _staff(StaffRole.REPORTER, agency, "Báo Cáo Mới")
    september = period_for(form=world.form, day=dt.date(2025, 9, 10))
    _report(world, reporter_new, new_ward, september, _values(4))
    _report(world, reporter_third, third, september, _values(5))
    return {
        "august": august,
        "september": september,
        "new_ward": new_ward,
        "third": third,
        "city": hoan_kiem.parent,
    }


def test_city_aggregates_equal_an_independent_computation_across_a_merge(merged, hoan_kiem, ba_dinh):
    city = merged["city"]
    for period in (merged["august"], merged["september"]):
        unit_ids = [hoan_kiem.pk, ba_dinh.pk, merged["third"].pk, merged["new_ward"].pk]
        expected = _independent(period, unit_ids)
        assert _city_aggregates(period, city) == expected
    # sum, average and latest checked by name, so the test says what it proves
    september = _city_aggregates(merged["september"], city)
    assert september[("DOSSIERS_IN", "")] == Decimal(90)
    assert september[("ONLINE_RATE", "")] == Decimal("65.750000")
    assert september[("POPULATION", "")] == Decimal(20005)  # the third ward submitted last
    assert ("NOTE", "") not in september


def test_completeness_counts_the_merged_ward_once(merged):
    august = completeness(form=merged["august"].form, period=merged["august"])
    september = completeness(form=merged["september"].form, period=merged["september"])
    assert (august.expected, august.submitted) == (3, 3)
    assert [row.reporter.unit.code for row in september.rows] == ["00008", "00999"]
    assert (september.expected, september.submitted, september.missing) == (2, 2, 0)


def test_a_returned_report_leaves_the_aggregate(merged, personas):
    september = merged["september"]
    submission = september.submissions.get(unit=merged["third"])
    submission_return(actor=personas.department_officer, submission=submission, reason="Check")
    assert _city_aggregates(september, merged["city"]) == _independent(september, [merged["new_ward"].pk])


def test_rebuild_check_finds_nothing_then_a_tampered_row(merged):
    periods = [merged["august"], merged["september"]]
    assert aggregates_rebuild(periods=periods, check_only=True) == []
    Aggregate.objects.filter(
        unit=merged["city"], indicator__code="DOSSIERS_IN", period=merged["august"]
    ).update(value=1)
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("reporting_rebuild_aggregates", "--check", stdout=out)
    assert "DOSSIERS_IN" in out.getvalue()
    call_command("reporting_rebuild_aggregates", stdout=StringIO())
    assert aggregates_rebuild(periods=periods, check_only=True) == []


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("sum", "6"), ("average", "2"), ("min", "1"), ("max", "3"), ("latest", "2"), ("none", None)],
)
def test_combine_rules(aggregation, expected):
    from hanoismart.reporting.services.aggregation import Contribution

    moments = [dt.datetime(2025, 1, day, tzinfo=dt.UTC) for day in (1, 3, 2)]
    items = [Contribution(Decimal(v), 1, Decimal(1), at) for v, at in zip((1, 2, 3), moments, strict=True)]
    result = combine(aggregation, items)
    assert (result.value if result else None) == (Decimal(expected) if expected else None)


def test_incremental_city_sums_stay_equal_to_a_rebuild_through_submit_return_and_resubmit(
    world, hoan_kiem, ba_dinh, personas
):
    def report(user, unit, values):
        submission = submission_open(actor=user, form=world.form, period=world.period, unit=unit)
        submission_save_draft(
            actor=user,
            submission=submission,
            values=[ValueEntry(code, value) for code, value in values.items()],
        )
        return submission_submit(actor=user, submission=submission)

    hk = report(world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "7", "ONLINE_RATE": "40", "POPULATION": "100"})
    report(world.reporter_bd, ba_dinh, {"DOSSIERS_IN": "5", "ONLINE_RATE": "60", "POPULATION": "200"})
    submission_return(actor=personas.department_officer, submission=hk, reason="Kiểm tra lại")
    city = hoan_kiem.parent
    assert Aggregate.objects.get(unit=city, indicator__code="DOSSIERS_IN", period=world.period).value == 5
    submission_save_draft(actor=world.reporter_hk, submission=hk, values=[ValueEntry("DOSSIERS_IN", "9")])
    submission_submit(actor=world.reporter_hk, submission=hk)
    row = Aggregate.objects.get(unit=city, indicator__code="DOSSIERS_IN", period=world.period)
    assert (row.value, row.count) == (14, 2)
    assert Aggregate.objects.get(unit=city, indicator__code="ONLINE_RATE", period=world.period).value == 50
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []


def test_incremental_city_latest_falls_back_when_the_ward_holding_it_withdraws(
    world, hoan_kiem, ba_dinh, personas
):
    # given: Ba Đình reports last, so its population is the city's "latest"
    def report(user, unit, population):
        submission = submission_open(actor=user, form=world.form, period=world.period, unit=unit)
        submission_save_draft(
            actor=user,
            submission=submission,
            values=[
                ValueEntry("DOSSIERS_IN", "1"),
                ValueEntry("ONLINE_RATE", "50"),
                ValueEntry("POPULATION", population),
            ],
        )
        return submission_submit(actor=user, submission=submission)

    report(world.reporter_hk, hoan_kiem, "100")
    bd = report(world.reporter_bd, ba_dinh, "200")
    city = hoan_kiem.parent
    row = Aggregate.objects.get(unit=city, indicator__code="POPULATION", period=world.period)
    assert (row.value, row.count) == (200, 2)
    # when: Ba Đình's report is returned (the winning value leaves the city)
    submission_return(actor=personas.department_officer, submission=bd, reason="Kiểm tra lại")
    # then: the city's value is recomputed from the remaining ward, not kept
    row = Aggregate.objects.get(unit=city, indicator__code="POPULATION", period=world.period)
    assert (row.value, row.count) == (100, 1)
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []


def test_combine_average_divides_the_exact_weighted_sums_not_rounded_averages():
    # given two children: a third (1 over a weight of 3, stored rounded as 0.333333) and 0.000002
    from hanoismart.reporting.services.aggregation import Contribution

    third = Contribution(Decimal("0.333333"), 3, Decimal(3), None, total=Decimal(1))
    small = Contribution(Decimal("0.000002"), 1, Decimal(1), None, total=Decimal("0.000002"))
    # when
    result = combine("average", [third, small])
    # then (1 + 0.000002) / 4 = 0.2500005 rounds up; the rounded third would give 0.25000025 → 0.250000
    assert (result.value, result.total, result.weight, result.count) == (
        Decimal("0.250001"),
        Decimal("1.000002"),
        Decimal(4),
        4,
    )


def _submit_rate(world, user, unit, rate, submission=None):
    submission = submission or submission_open(actor=user, form=world.form, period=world.period, unit=unit)
    submission_save_draft(
        actor=user,
        submission=submission,
        values=[ValueEntry("DOSSIERS_IN", "10"), ValueEntry("ONLINE_RATE", rate)],
    )
    return submission_submit(actor=user, submission=submission)


def test_a_ward_changing_an_average_moves_the_city_by_its_exact_weighted_sum(
    world, hoan_kiem, ba_dinh, personas, monkeypatch
):
    from hanoismart.reporting.services import aggregation

    city = hoan_kiem.parent
    hk = _submit_rate(world, world.reporter_hk, hoan_kiem, "33.3333")
    _submit_rate(world, world.reporter_bd, ba_dinh, "66.6667")
    submission_return(actor=personas.department_officer, submission=hk, reason="Kiểm tra lại")
    recomputed_at: list[int] = []
    original = aggregation._recomputed

    def spy(period, unit_id, rules):
        recomputed_at.append(unit_id)
        return original(period, unit_id, rules)

    monkeypatch.setattr(aggregation, "_recomputed", spy)
    # when Hoàn Kiếm changes its rate and submits again
    _submit_rate(world, world.reporter_hk, hoan_kiem, "12.3457", submission=hk)
    # then the ward's and the city's averages moved by difference (nothing was recomputed) …
    assert recomputed_at == []
    row = Aggregate.objects.get(unit=city, indicator__code="ONLINE_RATE", period=world.period)
    # … to the exact figures: (12.3457 + 66.6667) / 2 = 39.5062
    assert (row.value, row.weighted_sum, row.weight, row.count) == (
        Decimal("39.506200"),
        Decimal("79.0124"),
        Decimal(2),
        2,
    )
    # and equals the recomputation from the raw values
    expected = _independent(world.period, [hoan_kiem.pk, ba_dinh.pk])
    assert _city_aggregates(world.period, city) == expected
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []


def test_an_average_stored_without_its_weighted_sum_is_recomputed_then_repaired(world, hoan_kiem, ba_dinh):
    # given a city average stored before weighted sums were kept
    _submit_rate(world, world.reporter_hk, hoan_kiem, "40")
    city = hoan_kiem.parent
    Aggregate.objects.filter(unit=city, indicator__code="ONLINE_RATE").update(weighted_sum=None)
    (mismatch,) = aggregates_rebuild(periods=[world.period], check_only=True)
    assert (mismatch.unit_id, mismatch.stored, mismatch.expected) == (city.pk, Decimal(40), Decimal(40))
    # when another ward reports, the city's average is recomputed from its wards (not moved from nothing)
    _submit_rate(world, world.reporter_bd, ba_dinh, "61")
    row = Aggregate.objects.get(unit=city, indicator__code="ONLINE_RATE", period=world.period)
    assert (row.value, row.weighted_sum, row.count) == (Decimal("50.500000"), Decimal(101), 2)
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []
    # and a rebuild limited to the averages (what the migration runs) repairs such a row
    Aggregate.objects.filter(unit=city, indicator__code="ONLINE_RATE").update(weighted_sum=None)
    averages = list(Indicator.objects.filter(aggregation="average").values_list("pk", flat=True))
    assert len(aggregates_rebuild(periods=[world.period], indicator_ids=averages)) == 1
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []


def test_a_department_report_enters_and_leaves_at_the_city_by_difference(
    world, hoan_kiem, ba_dinh, personas, monkeypatch
):
    # given two wards' reports, and the department reporting the same form (its values enter at the city)
    from hanoismart.reporting.models import Assignment
    from hanoismart.reporting.services import aggregation

    department = personas.department_officer.positions.get().agency
    city = hoan_kiem.parent
    Assignment.objects.create(form=world.form, agency=department, valid_from=dt.date(2020, 1, 1))
    reporter = _staff(StaffRole.REPORTER, department, "Cán Bộ Sở")
    _report(world, world.reporter_hk, hoan_kiem, world.period, _values(1))
    _report(world, world.reporter_bd, ba_dinh, world.period, _values(2))
    recomputed_at: list[int] = []
    original = aggregation._recomputed

    def spy(period, unit_id, rules):
        recomputed_at.append(unit_id)
        return original(period, unit_id, rules)

    monkeypatch.setattr(aggregation, "_recomputed", spy)
    # when the department reports
    submission = submission_open(
        actor=reporter, form=world.form, period=world.period, unit=city, agency=department
    )
    submission_save_draft(
        actor=reporter,
        submission=submission,
        values=[ValueEntry(code, value, disaggregation=key) for (code, key), value in _values(3).items()],
    )
    submission_submit(actor=reporter, submission=submission, comments={"IN_JUMP": "ok"})
    # then the city moved by what the report brings, without re-reading the wards
    assert recomputed_at == []
    units = [hoan_kiem.pk, ba_dinh.pk, city.pk]
    assert _city_aggregates(world.period, city) == _independent(world.period, units)
    # weighted by dossiers resolved: (3.25 × 7 + 3.5 × 14 + 3.75 × 21) / 42 = 150.5 / 42
    assert _city_aggregates(world.period, city)[("SATISFACTION", "")] == Decimal("3.583333")
    row = Aggregate.objects.get(unit=city, indicator__code="SATISFACTION", period=world.period)
    assert (row.weighted_sum, row.weight, row.count) == (Decimal("150.5"), Decimal(42), 3)
    # when it is returned: its population was the latest, so that one indicator is recomputed
    submission_return(actor=personas.department_officer, submission=submission, reason="Kiểm tra lại")
    assert recomputed_at == [city.pk]
    assert _city_aggregates(world.period, city) == _independent(world.period, units)
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []


def test_refresh_after_a_value_changed_outside_the_workflow(world, hoan_kiem, ba_dinh):
    # given two reports, then a counted value corrected in the table itself
    from hanoismart.reporting.services import aggregates_refresh

    hk = _submit_rate(world, world.reporter_hk, hoan_kiem, "40")
    _submit_rate(world, world.reporter_bd, ba_dinh, "61")
    DataValue.objects.filter(submission=hk, indicator__code="ONLINE_RATE").update(number=Decimal("40.5"))
    assert len(aggregates_rebuild(periods=[world.period], check_only=True)) == 2  # the ward and the city
    # when
    aggregates_refresh(period=world.period, unit=hoan_kiem)
    # then
    city = _city_aggregates(world.period, hoan_kiem.parent)
    assert (city[("ONLINE_RATE", "")], city[("DOSSIERS_IN", "")]) == (Decimal("50.750000"), Decimal(20))
    assert aggregates_rebuild(periods=[world.period], check_only=True) == []
