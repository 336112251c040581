"""Reporting at city scale: rolled-up values, completeness and accepting a report, against a plain GROUP BY.

    scripts/postgres.sh .venv/bin/python bench/reporting.py   # PostgreSQL (a throwaway local cluster)
    .venv/bin/python bench/reporting.py --periods 12          # SQLite under var/bench/, smaller

Generates (in bulk: COPY on PostgreSQL) one monthly form of ``--indicators`` indicators (80 % sum, 10 %
average, 10 % latest) that the city's 126 wards/communes and ``--departments`` departments report, over
``--periods`` monthly periods, every reporter every period: 156 × 300 × 60 ≈ 2.8 million values at the
defaults. The aggregates are built by the app's own ``aggregates_rebuild``. Then it measures, ``--reps``
times each after a warm-up, the p50/p95/max of:

(a) a rolled-up value for the city (``selectors.aggregate_total``), and the same through ``GET
    /api/v1/reporting/values`` (with the previous period and the same period last year);
(b) a completeness summary of one form-period (``selectors.completeness``), and ``GET .../completeness``;
(c) accepting a 300-value submission including roll-up (``submission_save_draft`` + ``submission_submit``,
    which refreshes the aggregates of the ward and the city), with the CPU time each one cost this process
    (``time.process_time()``) and, on a local PostgreSQL, its server process (``/proc/<pid>/stat``): on a
    shared machine, the figures to compare;

and side by side the same answers computed by a plain GROUP BY over the raw values (and checks they are
equal; after (c), every city average also equals SUM / COUNT over the raw values, rounded). It flushes the
database it is given: it refuses anything but SQLite under var/bench/ or a server
on 127.0.0.1. Results go to var/bench/reporting-<time>.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))
VAR = PROJECT / "var" / "bench"


def _database_guard() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        VAR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR / 'reporting.sqlite3'}"
        os.environ["DATABASE_URL"] = url
    if url.startswith("sqlite:") and str(VAR) in url:
        return url
    if "@127.0.0.1:" in url or "@localhost:" in url:
        return url
    sys.exit(f"bench/reporting.py flushes its database; refusing {url!r} (use scripts/postgres.sh).")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p95": round(p95 * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


def backend_cpu_seconds(connection) -> float | None:
    """CPU time used so far by this connection's PostgreSQL server process (None: not readable here)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine or in a container
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(function, reps: int, warmup: int = 3):
    for _ in range(warmup):
        function()
    samples = []
    result = None
    for _ in range(reps):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    return percentiles(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--indicators", type=int, default=300)
    parser.add_argument("--periods", type=int, default=60)
    parser.add_argument("--departments", type=int, default=30)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--submit-reps", type=int, default=40, help="(c) needs one fresh ward per repetition")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data of an earlier run with the same sizes (no flush)"
    )
    args = parser.parse_args()
    url = _database_guard()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Count, Sum
    from django.test import Client
    from django.utils import timezone

    from hanoismart.directory.models import Agency, AgencyKind, Unit
    from hanoismart.directory.services import directory_seed
    from hanoismart.identity.models import User
    from hanoismart.reporting import selectors
    from hanoismart.reporting.models import (
        COUNTED_STATUSES,
        Aggregate,
        Aggregation,
        Assignment,
        DataValue,
        FormItem,
        FormVersion,
        Indicator,
        ReporterScope,
        ReportForm,
        Submission,
        SubmissionStatus,
        ValueType,
    )
    from hanoismart.reporting.services import (
        ValueEntry,
        aggregates_rebuild,
        periods_between,
        submission_open,
        submission_save_draft,
        submission_submit,
    )

    vendor = connection.vendor
    report: dict = {
        "when": timezone.now().isoformat(timespec="seconds"),
        "database": vendor,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "args": vars(args),
    }
    print(f"==> {vendor} ({url.split('@')[-1]}); migrating", flush=True)
    call_command("migrate", verbosity=0)
    table = DataValue._meta.db_table
    reusable = (
        args.reuse
        and ReportForm.objects.filter(code="BENCH").exists()
        and Indicator.objects.filter(code__startswith="B").count() == args.indicators
        and Submission.objects.filter(form__code="BENCH").values("period").distinct().count() == args.periods
    )
    if reusable:
        print("==> reusing the data of an earlier run", flush=True)
        form = ReportForm.objects.get(code="BENCH")
        indicators = list(Indicator.objects.filter(code__startswith="B").order_by("code"))
        periods = list(
            form.periods.filter(pk__in=Submission.objects.filter(form=form).values("period")).order_by("end")
        )
        city = Unit.objects.get(parent__isnull=True)
        wards = list(Unit.objects.filter(parent=city, valid_to__isnull=True).order_by("code"))
        superuser = User.objects.get(national_id="001000000001")
        rng = random.Random(2026)
        report["data"] = {
            "values": DataValue.objects.count(),
            "aggregates": Aggregate.objects.count(),
            "reused": True,
        }
    else:
        print("==> flushing and generating", flush=True)
        call_command("flush", interactive=False, verbosity=0)
        directory_seed()
        city = Unit.objects.get(parent__isnull=True)
        wards = list(Unit.objects.filter(parent=city, valid_to__isnull=True).order_by("code"))
        departments = list(
            Agency.objects.filter(kind=AgencyKind.DEPARTMENT, unit=city, is_active=True).order_by("code")[
                : args.departments
            ]
        )
        for number in range(len(departments), args.departments):  # the directory lists fewer: add stand-ins
            departments.append(
                Agency.objects.create(
                    code=f"BENCH.{number:02d}",
                    name=f"Sở thử nghiệm {number}",
                    kind=AgencyKind.DEPARTMENT,
                    unit=city,
                )
            )
        owner = departments[0]
        superuser = User.objects.create_superuser(national_id="001000000001", password="bench-only")  # noqa: S106

        started = time.perf_counter()
        rng = random.Random(2026)
        kinds = (
            [Aggregation.SUM] * (args.indicators * 8 // 10)
            + [Aggregation.AVERAGE] * (args.indicators // 10)
            + [Aggregation.LATEST] * args.indicators
        )[: args.indicators]
        indicators = Indicator.objects.bulk_create(
            [
                Indicator(
                    code=f"B{number:03d}",
                    name=f"Chỉ tiêu thử nghiệm {number}",
                    value_type=ValueType.INTEGER if kind == Aggregation.SUM else ValueType.DECIMAL,
                    aggregation=kind,
                )
                for number, kind in enumerate(kinds, start=1)
            ]
        )
        form = ReportForm.objects.create(
            code="BENCH",
            name="Bench monthly report",
            owner_agency=owner,
            period_type="monthly",
            reporter_scope=ReporterScope.LISTED_UNITS,
        )
        version = FormVersion.objects.create(form=form, number=1, published_at=timezone.now())
        FormItem.objects.bulk_create(
            [
                FormItem(version=version, indicator=indicator, section="Bench", position=position)
                for position, indicator in enumerate(indicators, start=1)
            ]
        )
        start_day = dt.date(2020, 1, 1)
        Assignment.objects.bulk_create(
            [Assignment(form=form, unit=ward, valid_from=start_day) for ward in wards]
            + [Assignment(form=form, agency=agency, valid_from=start_day) for agency in departments]
        )
        today = timezone.localdate()
        last_end = dt.date(today.year, today.month, 14) - dt.timedelta(days=40)
        first_day = dt.date(last_end.year - (args.periods // 12) - 1, 1, 1)
        periods = list(periods_between(form=form, start=first_day, end=last_end))[-args.periods :]
        reporters = [(ward, None) for ward in wards] + [(agency.unit, agency) for agency in departments]
        tz = timezone.get_current_timezone()
        submissions = []
        for period in periods:
            at = dt.datetime.combine(period.due_on, dt.time(9), tzinfo=tz)
            for unit, agency in reporters:
                submissions.append(
                    Submission(
                        form=form,
                        version=version,
                        period=period,
                        unit=unit,
                        agency=agency,
                        status=SubmissionStatus.ACCEPTED,
                        submitted_at=at - dt.timedelta(minutes=rng.randint(0, 5000)),
                        on_time=True,
                    )
                )
        Submission.objects.bulk_create(submissions, batch_size=2000)
        submission_ids = list(
            Submission.objects.filter(form=form).order_by("pk").values_list("pk", flat=True)
        )
        now = timezone.now()
        count = 0

        def rows():
            nonlocal count
            for submission_id in submission_ids:
                for indicator in indicators:
                    count += 1
                    value = (
                        rng.randint(0, 5000)
                        if indicator.aggregation == Aggregation.SUM
                        else rng.randint(0, 10000) / 100
                    )
                    yield (submission_id, indicator.pk, "", value, "", "", now)

        columns = "submission_id, indicator_id, disaggregation, number, text, comment, updated_at"
        print(
            f"==> {len(submission_ids)} submissions; {len(submission_ids) * len(indicators):,} values",
            flush=True,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            if vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows():
                        copy.write_row(row)
            else:
                batch = []
                sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
                for row in rows():
                    batch.append(row)
                    if len(batch) >= 20_000:
                        cursor.executemany(sql, batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")
        values_seconds = time.perf_counter() - started
        print(
            f"==> {count:,} values in {values_seconds:.0f} s; rolling up {len(periods)} periods", flush=True
        )
        started = time.perf_counter()
        aggregates_rebuild(periods=periods)
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Aggregate._meta.db_table}")
                cursor.execute(f"ANALYZE {Submission._meta.db_table}")
        rollup_seconds = time.perf_counter() - started
        report["data"] = {
            "units": len(wards),
            "departments": len(departments),
            "indicators": len(indicators),
            "periods": len(periods),
            "values": DataValue.objects.count(),
            "aggregates": Aggregate.objects.count(),
            "generate_values_s": round(values_seconds, 1),
            "rollup_all_periods_s": round(rollup_seconds, 1),
        }
        print(f"==> roll-up of every period: {rollup_seconds:.0f} s; {report['data']}", flush=True)

    period = periods[-1]
    sum_indicator = indicators[0]
    client = Client()
    client.force_login(superuser)
    results: dict = {}

    # (a) a rolled-up value for the city
    results["a_city_value_aggregate"], value = timed(
        lambda: selectors.aggregate_total(indicator=sum_indicator, period=period, unit=city), args.reps
    )
    # Table names come from the models; every value is a query parameter.
    join = f"FROM {table} v JOIN {Submission._meta.db_table} s ON s.id = v.submission_id"
    group_by_value = (
        f"SELECT SUM(v.number) {join} "
        "WHERE s.period_id = %s AND s.status IN %s AND v.indicator_id = %s AND v.disaggregation = ''"
    )
    counted = tuple(str(status) for status in COUNTED_STATUSES)

    def plain_value():
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute(
                    group_by_value.replace("IN %s", "= ANY(%s)"), [period.pk, list(counted), sum_indicator.pk]
                )
            else:
                cursor.execute(
                    group_by_value.replace("IN %s", f"IN ({', '.join(['%s'] * len(counted))})"),
                    [period.pk, *counted, sum_indicator.pk],
                )
            return cursor.fetchone()[0]

    results["a_city_value_group_by"], raw = timed(plain_value, args.reps)
    assert Decimal(value) == Decimal(raw), (value, raw)
    url = (
        f"/api/v1/reporting/values?indicator={sum_indicator.code}&period={period.code}"
        f"&form=BENCH&unit={city.code}"
    )
    api_ok = True
    try:
        results["a_city_value_api"], response = timed(lambda: client.get(url), args.reps)
        assert response.status_code == 200, response.content
    except Exception as error:  # the rest of the tree may be mid-change: keep the other numbers
        api_ok = False
        results["api_error"] = f"{type(error).__name__}: {error}"

    # the whole city dashboard of one period: every indicator
    results["a_all_indicators_aggregate"], _rows_found = timed(
        lambda: list(
            Aggregate.objects.filter(period=period, unit=city, disaggregation="").values_list(
                "indicator_id", "value"
            )
        ),
        max(10, args.reps // 5),
    )
    all_sql = (
        f"SELECT v.indicator_id, SUM(v.number) {join} "
        "WHERE s.period_id = %s AND v.disaggregation = '' GROUP BY v.indicator_id"
    )

    def plain_all():
        with connection.cursor() as cursor:
            cursor.execute(all_sql, [period.pk])
            return cursor.fetchall()

    results["a_all_indicators_group_by"], _rows = timed(plain_all, max(10, args.reps // 5))

    # (b) completeness of one form-period
    results["b_completeness_selector"], summary = timed(
        lambda: selectors.completeness(form=form, period=period), args.reps
    )
    completeness_sql = (
        "SELECT COUNT(*) FILTER (WHERE s.on_time), COUNT(*) FILTER (WHERE NOT s.on_time) "  # noqa: S608
        f"FROM {Submission._meta.db_table} s "
        "WHERE s.form_id = %s AND s.period_id = %s AND s.status IN ('submitted', 'accepted', 'locked')"
    )
    if vendor != "postgresql":
        completeness_sql = completeness_sql.replace(
            "COUNT(*) FILTER (WHERE s.on_time)", "SUM(s.on_time = 1)"
        ).replace("COUNT(*) FILTER (WHERE NOT s.on_time)", "SUM(s.on_time = 0)")

    def plain_completeness():
        with connection.cursor() as cursor:
            cursor.execute(completeness_sql, [form.pk, period.pk])
            return cursor.fetchone()

    results["b_completeness_group_by"], counts = timed(plain_completeness, args.reps)
    assert (summary.on_time, summary.late) == (int(counts[0] or 0), int(counts[1] or 0)), (summary, counts)
    if api_ok:
        results["b_completeness_api"], response = timed(
            lambda: client.get(f"/api/v1/reporting/completeness?form=BENCH&period={period.code}"), args.reps
        )
        assert response.status_code == 200

    # (c) accepting a 300-value submission, roll-up included: wards that have not reported this period yet
    fresh = wards[-args.submit_reps :]
    Submission.objects.filter(period=period, unit__in=fresh, agency__isnull=True).delete()
    aggregates_rebuild(periods=[period])
    samples, submit_only, cpu, db_cpu = [], [], [], []
    for ward in fresh:
        entries = [ValueEntry(indicator.code, str(rng.randint(0, 5000))) for indicator in indicators]
        db_before = backend_cpu_seconds(connection)
        cpu_before = time.process_time()
        start = time.perf_counter()
        submission = submission_open(actor=superuser, form=form, period=period, unit=ward)
        submission_save_draft(actor=superuser, submission=submission, values=entries)
        middle = time.perf_counter()
        submission_submit(actor=superuser, submission=submission)
        end = time.perf_counter()
        cpu.append(time.process_time() - cpu_before)
        db_after = backend_cpu_seconds(connection)
        if db_before is not None and db_after is not None:
            db_cpu.append(db_after - db_before)
        samples.append(end - start)
        submit_only.append(end - middle)
    results["c_accept_300_values_with_rollup"] = percentiles(samples)
    results["c_submit_and_rollup_only"] = percentiles(submit_only)
    results["c_accept_cpu_of_this_process"] = percentiles(cpu)
    if db_cpu:  # the kernel counts in clock ticks (10 ms): read the mean, not one sample
        results["c_accept_cpu_of_the_db_server"] = {
            **percentiles(db_cpu),
            "mean": round(statistics.mean(db_cpu) * 1000, 2),
        }
    mismatches = aggregates_rebuild(periods=[period], check_only=True)
    report["rollup_check_mismatches"] = len(mismatches)
    # the averages, exact: SUM / COUNT over the raw values against the stored city value
    averages = {i.pk: i.code for i in indicators if i.aggregation == Aggregation.AVERAGE}
    raw_sums = (
        DataValue.objects.filter(
            submission__period=period,
            submission__status__in=COUNTED_STATUSES,
            indicator_id__in=averages,
            disaggregation="",
            number__isnull=False,
        )
        .values("indicator_id")
        .annotate(total=Sum("number"), count=Count("id"))
        .values_list("indicator_id", "total", "count")
    )
    with localcontext(prec=80):
        by_group_by = {
            pk: (total / count).quantize(Decimal("0.000001"), ROUND_HALF_UP) for pk, total, count in raw_sums
        }
    stored_averages = dict(
        Aggregate.objects.filter(
            period=period, unit=city, indicator_id__in=averages, disaggregation=""
        ).values_list("indicator_id", "value")
    )
    report["city_averages_equal_group_by"] = (
        f"{sum(by_group_by[pk] == stored_averages.get(pk) for pk in by_group_by)} of {len(averages)}"
    )
    results["a_city_value_after_c"] = {
        "aggregate": str(selectors.aggregate_total(indicator=sum_indicator, period=period, unit=city)),
        "group_by": str(plain_value()),
    }
    report["results"] = results
    VAR.mkdir(parents=True, exist_ok=True)
    out = VAR / f"reporting-{timezone.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(
        f"\n{vendor}: {report['data']}; rebuild check after (c): {len(mismatches)} mismatches; "
        f"city averages equal to SUM / COUNT over the raw values: {report['city_averages_equal_group_by']}\n"
    )
    print("| measure | p50 ms | p95 ms | max ms | n |\n| --- | ---: | ---: | ---: | ---: |")
    for name, row in results.items():
        if "p95" in row:
            print(f"| {name} | {row['p50']} | {row['p95']} | {row['max']} | {row['n']} |")
    print(f"\nraw results: {out.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
