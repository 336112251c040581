"""The daily roll-ups kept current by the services: after every step of a dossier's life the stored rows equal
their recomputation from the raw tables and ``dossier_stats`` over the same days; the rebuild and the check
command; and what the maintenance costs a filing in queries."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hanoismart.directory.models import AgencyKind
from hanoismart.documents.services import document_upload
from hanoismart.dossiers import seeds
from hanoismart.dossiers.models import (
    ROLLUP_FIGURES,
    DossierAgencyDayRollup,
    DossierAgencyMonthRollup,
    DossierDailyRollup,
    DossierOpenStock,
    PaymentStatus,
    Timeliness,
)
from hanoismart.dossiers.selectors.rollups import rollup_figures, rollups_last_change
from hanoismart.dossiers.selectors.stats import dossier_stats
from hanoismart.dossiers.services import (
    ComponentInput,
    dossier_act,
    dossier_register_at_desk,
    dossier_submit,
    portal_deliver_dossier,
    rollups,
)
from hanoismart.dossiers.services import base as service_base
from hanoismart.dossiers.services.rollups import RollupKey, rollups_check, rollups_rebuild
from hanoismart.procedures import seeds as procedure_seeds
from hanoismart.procedures.models import DossierStatus as S
from hanoismart.procedures.models import Fee
from tests.directory.factories import AgencyFactory, hanoi
from tests.dossiers.support import pdf_upload, submit
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_1 = dt.date(2025, 8, 26)  # a Tuesday
DAY_2 = dt.date(2025, 8, 27)
DAY_3 = dt.date(2025, 8, 28)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=HANOI)


@pytest.fixture
def clock(monkeypatch):
    """Set the services' clock: ``clock(datetime)`` (ratings keep the real time: ``created_at``)."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(service_base, "now", lambda: moment)

    return set_now


@pytest.fixture
def fees(birth_case):
    Fee.objects.create(case=birth_case, kind="le_phi", name="Lệ phí", amount=8_000, set_by="city_council")
    Fee.objects.create(case=birth_case, kind="phi", name="Phí", amount=5_000, set_by="ministry_of_finance")


def stored() -> dict[RollupKey, dict[str, int]]:
    """The stored rows, without their zero figures (and without rows of zeros)."""
    rows = {}
    for row in DossierDailyRollup.objects.values(
        "day", "unit_id", "agency_id", "procedure_id", *ROLLUP_FIGURES
    ):
        figures = {name: row[name] for name in ROLLUP_FIGURES if row[name]}
        if figures:
            rows[RollupKey(row["day"], row["unit_id"], row["agency_id"], row["procedure_id"])] = figures
    return rows


def assert_consistent(manager) -> None:
    """Stored rows = their recomputation = ``dossier_stats``, day by day and over the whole span."""
    assert rollups_check() == []
    rows = stored()
    days = sorted({key.day for key in rows})
    spans = [(day, day + dt.timedelta(days=1)) for day in days]
    if days:
        spans.append((days[0], days[-1] + dt.timedelta(days=1)))
    for date_from, date_to in spans:
        figures = dossier_stats(actor=manager, date_from=date_from, date_to=date_to).total.figures
        (rolled,) = rollup_figures(unit_ids=None, date_from=date_from, date_to=date_to)
        assert rolled.figures == {name: figures[name] for name in ROLLUP_FIGURES}, (date_from, date_to)
        # the same sums from the daily rows (by procedure) as from the agency rows (the total)
        by_procedure = rollup_figures(
            unit_ids=None, date_from=date_from, date_to=date_to, group_by="procedure"
        )
        summed = {name: sum(row.figures[name] for row in by_procedure) for name in ROLLUP_FIGURES}
        assert summed == rolled.figures, (date_from, date_to)
    rollups_rebuild()
    assert stored() == rows


def row_of(dossier, day: dt.date) -> dict[str, int]:
    return stored().get(RollupKey(day, dossier.unit_id, dossier.agency_id, dossier.procedure_id), {})


def test_a_dossier_from_filing_to_rating_and_portal_delivery(personas, desk, birth_case, fees, clock):
    manager = personas.city_manager
    resident = personas.resident
    stored_paper = document_upload(
        actor=resident, type_code="GCS", type_name="Giấy chứng sinh", title="GCS", upload=pdf_upload()
    )
    mandatory = birth_case.components.get(is_mandatory=True)
    optional = birth_case.components.get(is_mandatory=False)

    # filed online with a reused paper and an upload: nothing counts before it is received
    clock(at(DAY_1, 10))
    dossier = dossier_submit(
        actor=resident,
        case=birth_case,
        form_data={"child_name": "Nguyễn Văn Bé"},
        components=[
            ComponentInput(component_id=mandatory.pk, document_public_id=stored_paper.public_id),
            ComponentInput(component_id=optional.pk, upload=pdf_upload()),
        ],
    )
    assert stored() == {}
    assert_consistent(manager)

    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")
    fees_of = {
        name: value
        for name, value in {
            "fee_total": dossier.fee_total,
            "fee_applicant": dossier.fee_applicant,
            "fee_city": dossier.fee_city,
        }.items()
        if value
    }
    paid_by = {PaymentStatus.CITY_PAID: "fees_city_paid", PaymentStatus.DUE: "fees_due"}[
        dossier.payment_status
    ]
    assert row_of(dossier, DAY_1) == {
        "received": 1,
        "online": 1,
        "fully_online": 1,
        "components": 2,
        "components_digitised": 2,
        "components_reused": 1,
        paid_by: 1,
        **fees_of,
    }
    assert_consistent(manager)

    # both status messages reach the national portal: in sync
    assert portal_deliver_dossier(dossier_id=dossier.pk) == 2
    assert row_of(dossier, DAY_1)["synced"] == 1
    assert_consistent(manager)

    # a supplement request queues a message (out of sync) and stops the clock; the supplement adds a paper
    clock(at(DAY_2, 9))
    dossier = dossier_act(actor=desk.officer, dossier=dossier, action="request_supplement", note="Bổ sung")
    assert "synced" not in row_of(dossier, DAY_1)
    assert_consistent(manager)
    dossier = dossier_act(
        actor=resident,
        dossier=dossier,
        action="supplement",
        components=[ComponentInput(component_id=optional.pk, upload=pdf_upload())],
    )
    assert row_of(dossier, DAY_1)["components"] == 3
    assert_consistent(manager)

    # a fee asked for and paid through the gateway
    dossier = dossier_act(actor=desk.officer, dossier=dossier, action="request_payment", amount=50_000)
    assert row_of(dossier, DAY_1)["fees_due"] == 1
    assert_consistent(manager)
    dossier = dossier_act(actor=resident, dossier=dossier, action="pay")
    assert (row_of(dossier, DAY_1)["fees_paid"], row_of(dossier, DAY_1)["fees_paid_online"]) == (1, 1)
    assert row_of(dossier, DAY_1)["fee_applicant"] == dossier.fee_applicant
    assert_consistent(manager)

    # signed early on day 3, returned, rated (ratings count on the real day they are given)
    clock(at(DAY_3, 10))
    dossier = dossier_act(actor=desk.officer, dossier=dossier, action="approve")
    dossier = dossier_act(actor=desk.leader, dossier=dossier, action="sign")
    assert dossier.timeliness == Timeliness.EARLY
    assert row_of(dossier, DAY_3) == {"finished": 1, "finished_early": 1}
    assert_consistent(manager)
    clock(at(DAY_3, 11))
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="return")
    dossier = dossier_act(
        actor=resident,
        dossier=dossier,
        action="rate",
        scores={"information": 2, "access": 2, "guidance": 2, "attitude": 1, "papers": 2}
        | {"fees": 2, "time": 2, "result": 2, "feedback": 1},
        overall="very_satisfied",
    )
    rated_on = timezone.localtime(dossier.rating.created_at, HANOI).date()
    assert row_of(dossier, rated_on) == {
        "ratings": 1,
        "ratings_satisfied": 1,
        "ratings_very_satisfied": 1,
        "rating_score_sum": 16,
    }
    assert_consistent(manager)

    # every message delivered at last: in sync again
    assert portal_deliver_dossier(dossier_id=dossier.pk) == 7
    assert row_of(dossier, DAY_1) == {
        "received": 1,
        "online": 1,
        "fully_online": 1,
        "synced": 1,
        "components": 3,
        "components_digitised": 3,
        "components_reused": 1,
        "fees_paid": 1,
        "fees_paid_online": 1,
        "fee_total": dossier.fee_total,
        "fee_applicant": dossier.fee_applicant,
        **({"fee_city": dossier.fee_city} if dossier.fee_city else {}),
    }
    assert_consistent(manager)


def register(desk, resident, case):
    return dossier_register_at_desk(
        actor=desk.clerk,
        case=case,
        channel="in_person",
        applicant_national_id=resident.national_id,
        applicant_name="Trần Thị Dân",
        applicant_phone="0912345678",
        form_data={"child_name": "Nguyễn Văn Bé"},
        components=[ComponentInput(component_id=case.components.get(is_mandatory=True).pk, paper_only=True)],
    )


def test_desk_registration_refusal_withdrawals_a_stop_and_a_late_finish(
    personas, desk, birth_case, fees, clock
):
    manager, resident = personas.city_manager, personas.resident
    clock(at(DAY_1, 10))

    registered = register(desk, resident, birth_case)
    assert row_of(registered, DAY_1) == {
        "received": 1,
        "components": 1,
        "fees_due": 1,  # at the counter the applicant pays in full
        "fee_total": 13_000,
        "fee_applicant": 13_000,
    }
    assert_consistent(manager)

    refused = dossier_act(actor=desk.clerk, dossier=submit(resident, birth_case), action="refuse", note="Sai")
    withdrawn_unseen = dossier_act(actor=resident, dossier=submit(resident, birth_case), action="withdraw")
    withdrawn = dossier_act(actor=desk.clerk, dossier=submit(resident, birth_case), action="receive")
    withdrawn = dossier_act(actor=resident, dossier=withdrawn, action="withdraw")
    assert (refused.status, withdrawn_unseen.status, withdrawn.status) == (
        S.NOT_RECEIVED,
        S.WITHDRAWN,
        S.WITHDRAWN,
    )
    assert_consistent(manager)

    late = dossier_act(actor=desk.clerk, dossier=submit(resident, birth_case), action="receive")
    late = dossier_act(actor=desk.officer, dossier=late, action="approve")
    clock(at(DAY_1 + dt.timedelta(days=10), 10))  # past due (3 working days)
    stopped = dossier_act(
        actor=desk.officer, dossier=registered, action="stop", note="Không thuộc thẩm quyền"
    )
    late = dossier_act(actor=desk.leader, dossier=late, action="sign")
    assert (late.timeliness, stopped.status) == (Timeliness.LATE, S.STOPPED)
    new_date = at(DAY_1 + dt.timedelta(days=12), 10)
    dossier_act(actor=desk.clerk, dossier=late, action="apologise", note="Quá tải", new_due_at=new_date)
    dossier_act(actor=desk.clerk, dossier=late, action="return")

    # day 1: 3 received (registered, withdrawn, late) and 1 finished (the withdrawal after receipt: a
    # dossier refused or withdrawn before receipt is never counted); day 11: 2 finished (the stop, the late)
    day_1 = rollup_figures(unit_ids=None, date_from=DAY_1, date_to=DAY_1 + dt.timedelta(days=1))[0].figures
    day_11 = DAY_1 + dt.timedelta(days=10)
    later = rollup_figures(unit_ids=None, date_from=day_11, date_to=day_11 + dt.timedelta(days=1))[0].figures
    assert (day_1["received"], day_1["finished"]) == (3, 1)
    assert (later["finished"], later["finished_late"]) == (2, 1)
    assert_consistent(manager)


def test_a_paused_dossier_moves_the_last_change_without_changing_a_figure(personas, desk, birth_case, clock):
    clock(at(DAY_1, 10))
    dossier = dossier_act(actor=desk.clerk, dossier=submit(personas.resident, birth_case), action="receive")
    rows_before = stored()
    DossierDailyRollup.objects.update(updated_at=at(DAY_1, 11))

    dossier_act(actor=desk.officer, dossier=dossier, action="request_supplement", note="Bổ sung")

    assert stored() == rows_before
    assert rollups_last_change() > at(DAY_1, 11)


def test_an_untracked_change_is_refused_loudly(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)

    with pytest.raises(RuntimeError, match="tracked"):
        service_base.record(
            dossier.__class__.objects.get(pk=dossier.pk), acting=None, action="x", from_status="1"
        )


@pytest.fixture
def demo_city(personas, desk):
    """The seeded catalog, Sở Xây dựng and the demo resident (as in test_seeds)."""
    procedure_seeds.run(demo=False, stdout=io.StringIO())
    AgencyFactory(code=seeds.SO_XAY_DUNG, name="Sở Xây dựng", kind=AgencyKind.DEPARTMENT, unit=hanoi())
    return UserFactory(national_id="001099000001", full_name="Nguyễn Văn An", ward=personas.resident.ward)


def test_the_demo_seed_ends_with_exact_rollups(demo_city, personas):
    out = io.StringIO()

    seeds.run(demo=True, stdout=out)

    assert (
        out.getvalue().splitlines()[-1]
        == f"dossiers: {DossierDailyRollup.objects.count()} daily roll-up rows rebuilt"
    )
    assert rollups_check() == []
    today = timezone.localdate()
    period = {"date_from": today - dt.timedelta(days=400), "date_to": today + dt.timedelta(days=1)}
    stats = dossier_stats(actor=personas.city_manager, group_by="unit", **period)
    rolled = rollup_figures(unit_ids=None, group_by="unit", **period)
    assert stats.total.figures["received"] > 100
    assert [(row.key, {n: row.figures[n] for n in ROLLUP_FIGURES}) for row in stats.groups] == [
        (row.key, row.figures) for row in rolled
    ]
    # the whole months of the period come from the agency-month rows, its ends from the agency-day rows:
    # the same as the total of the raw rows, and each month the same as its days summed
    (total,) = rollup_figures(unit_ids=None, **period)
    assert total.figures == {name: stats.total.figures[name] for name in ROLLUP_FIGURES}
    by_month = rollup_figures(unit_ids=None, group_by="month", **period)
    assert (by_month[0].key, by_month[-1].key) == (f"{period['date_from']:%Y-%m}", f"{today:%Y-%m}")
    for row in by_month:
        start = max(dt.date.fromisoformat(f"{row.key}-01"), period["date_from"])
        end = min((start.replace(day=28) + dt.timedelta(days=4)).replace(day=1), period["date_to"])
        days = rollup_figures(unit_ids=None, group_by="day", date_from=start, date_to=end)
        assert row.figures == {name: sum(day.figures[name] for day in days) for name in ROLLUP_FIGURES}


# -- rebuild and check -------------------------------------------------------------------------------------


@pytest.fixture
def history(personas, desk, birth_case, clock):
    """Three dossiers received on day 1, one finished on day 2."""
    clock(at(DAY_1, 10))
    dossiers = [
        dossier_act(actor=desk.clerk, dossier=submit(personas.resident, birth_case), action="receive")
    ]
    dossiers += [register(desk, personas.resident, birth_case) for _n in range(2)]
    clock(at(DAY_2, 10))
    dossier_act(actor=desk.officer, dossier=dossiers[1], action="approve")
    dossier_act(actor=desk.leader, dossier=dossiers[1], action="sign")
    return dossiers


def test_check_lists_a_planted_difference_and_a_rebuild_mends_it(history):
    row = DossierDailyRollup.objects.get(day=DAY_1)
    DossierDailyRollup.objects.filter(pk=row.pk).update(received=7, online=2)
    stray = DossierDailyRollup.objects.create(
        day=DAY_3, unit_id=row.unit_id, agency_id=row.agency_id, procedure_id=row.procedure_id, finished=1
    )
    DossierDailyRollup.objects.create(  # a row of zeros is fine
        day=DAY_3 + dt.timedelta(days=1),
        unit_id=row.unit_id,
        agency_id=row.agency_id,
        procedure_id=row.procedure_id,
    )
    out = io.StringIO()

    with pytest.raises(SystemExit) as failed:
        call_command("dossier_rollups", "--check", stdout=out)

    assert failed.value.code == 1
    unit, agency, procedure = row.unit.code, row.agency.code, row.procedure.national_code
    assert out.getvalue().splitlines() == [
        f"{DAY_1} unit {unit} agency {agency} procedure {procedure} received: stored 7, expected 3",
        f"{DAY_1} unit {unit} agency {agency} procedure {procedure} online: stored 2, expected 1",
        f"{DAY_3} unit {unit} agency {agency} procedure {procedure} finished: stored 1, expected 0",
        "3 mismatches from the first day to the last day.",
    ]
    assert [(m.key.day, m.figure) for m in rollups_check(date_from=DAY_3)] == [(DAY_3, "finished")]

    out = io.StringIO()
    call_command("dossier_rollups", "--rebuild", "--check", stdout=out)

    assert out.getvalue().splitlines() == [
        "2 roll-up rows rebuilt from the first day to the last day.",
        "0 mismatches from the first day to the last day.",
    ]
    assert not DossierDailyRollup.objects.filter(pk=stray.pk).exists()


def test_check_lists_a_wrong_agency_row_and_a_rebuild_mends_it(history):
    row = DossierAgencyDayRollup.objects.get(day=DAY_1)
    DossierAgencyDayRollup.objects.filter(pk=row.pk).update(received=5)
    out = io.StringIO()

    with pytest.raises(SystemExit):
        call_command("dossier_rollups", "--check", stdout=out)

    unit, agency = row.unit.code, row.agency.code
    assert out.getvalue().splitlines() == [
        f"{DAY_1} unit {unit} agency {agency} procedure (all: agency row) received: stored 5, expected 3",
        # its month's row holds the right sum, which no longer equals the sum of the month's agency rows
        f"{DAY_1.replace(day=1)} unit {unit} agency {agency} (month: agency row) received: "
        "stored 3, expected 5",
        "2 mismatches from the first day to the last day.",
    ]
    (city,) = rollup_figures(unit_ids=None, date_from=DAY_1, date_to=DAY_2)
    assert city.figures["received"] == 5  # what the dashboards read until the rebuild

    call_command("dossier_rollups", "--rebuild", "--check", stdout=io.StringIO())

    (city,) = rollup_figures(unit_ids=None, date_from=DAY_1, date_to=DAY_2)
    assert city.figures["received"] == 3


def test_check_lists_a_wrong_open_stock_and_a_rebuild_mends_it(history):
    row = DossierAgencyDayRollup.objects.get(day=DAY_1)
    month = dt.date(2001, 1, 1)  # nothing of the history is due then
    stray = {"unit": row.unit, "agency": row.agency, "open": 2, "paused": 1}
    DossierOpenStock.objects.create(tier="M", due=month, **stray)
    out = io.StringIO()

    with pytest.raises(SystemExit):
        call_command("dossier_rollups", "--check", stdout=out)

    unit, agency = row.unit.code, row.agency.code
    assert out.getvalue().splitlines() == [
        f"{month} unit {unit} agency {agency} open stock due that month open: stored 2, expected 0",
        f"{month} unit {unit} agency {agency} open stock due that month paused: stored 1, expected 0",
        "2 mismatches from the first day to the last day.",
    ]

    call_command("dossier_rollups", "--rebuild", "--check", stdout=io.StringIO())

    assert not DossierOpenStock.objects.filter(tier="M", due=month, unit=row.unit, agency=row.agency).exists()


def test_a_rebuild_of_some_days_leaves_the_others_alone(history):
    DossierDailyRollup.objects.update(received=9)

    rows = rollups_rebuild(date_from=DAY_1, date_to=DAY_2)

    assert rows == 1
    assert DossierDailyRollup.objects.get(day=DAY_1).received == 3
    assert DossierDailyRollup.objects.get(day=DAY_2).received == 9
    assert [(m.key.day, m.figure, m.stored, m.expected) for m in rollups_check()] == [
        (DAY_2, "received", 9, 0)
    ]


def test_the_command_refuses_what_it_cannot_do():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--rebuild, --check"):
        call_command("dossier_rollups")
    with pytest.raises(CommandError, match="after"):
        call_command("dossier_rollups", "--check", "--from", "2025-03-02", "--to", "2025-03-01")


# -- what it costs ------------------------------------------------------------------------------------------


def _queries(run) -> tuple[int, int]:
    """(all queries, upserts into the roll-up tables: daily, agency-day and agency-month rows, open stocks)
    of ``run()``."""
    tables = (
        DossierDailyRollup._meta.db_table,
        DossierAgencyDayRollup._meta.db_table,
        DossierAgencyMonthRollup._meta.db_table,
        DossierOpenStock._meta.db_table,
    )
    with CaptureQueriesContext(connection) as captured:
        run()
    upserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT INTO")]
    return len(captured), sum(any(table in sql for table in tables) for sql in upserts)


def _without_rollups(monkeypatch) -> None:
    monkeypatch.setattr(rollups, "track", lambda dossier: dossier)
    monkeypatch.setattr(rollups, "apply", lambda dossier: {})


def test_a_submission_costs_no_query_and_a_desk_registration_four_upserts(
    personas, desk, birth_case, monkeypatch, django_assert_max_num_queries
):
    def online():
        submit(personas.resident, birth_case)

    def at_desk():
        register(desk, personas.resident, birth_case)

    online(), at_desk()  # the first filing of each kind loads what later ones find cached
    with_rollups = (_queries(online), _queries(at_desk))
    with monkeypatch.context() as patched:
        _without_rollups(patched)
        without = (_queries(online), _queries(at_desk))

    assert with_rollups[0] == (without[0][0], 0)  # online: not received yet, nothing to add
    assert with_rollups[1] == (without[1][0] + 4, 4)  # at the desk: one upsert of each table
    with django_assert_max_num_queries(with_rollups[0][0]):
        online()


def test_receiving_costs_one_read_and_four_upserts(personas, desk, birth_case, monkeypatch):
    first, second = submit(personas.resident, birth_case), submit(personas.resident, birth_case)
    dossier_act(actor=desk.clerk, dossier=first, action="receive")  # warm the caches

    with_rollups = _queries(lambda: dossier_act(actor=desk.clerk, dossier=second, action="receive"))
    third = submit(personas.resident, birth_case)
    with monkeypatch.context() as patched:
        _without_rollups(patched)
        without = _queries(lambda: dossier_act(actor=desk.clerk, dossier=third, action="receive"))

    # received: its papers, payments and portal messages are read once, then one upsert of each table
    assert with_rollups == (without[0] + 5, 4)
