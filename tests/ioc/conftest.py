"""IOC fixtures: the leaders of the two personas' wards and of a department, and a small city around
20 March 2026 — dossiers of Hoàn Kiếm, Ba Đình and a city department with their papers, ratings, payments
and portal messages, and a monthly report expected from both wards and the department — with the roll-ups
rebuilt from those rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from hanoismart.directory.models import Agency, Unit
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
from hanoismart.dossiers.services.rollups import rollups_rebuild
from hanoismart.identity.models import StaffRole, User
from hanoismart.procedures.models import DossierStatus as Status
from hanoismart.reporting.models import Assignment, FormVersion, Period, ReportForm, Submission
from tests.conftest import _staff
from tests.dossiers.conftest import birth_case, desk  # noqa: F401 - fixtures shared with the dossier tests
from tests.dossiers.factories import CaseFactory
from tests.dossiers.support import papers, rate, stats_dossier, sync

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: The moment the figures are read at: Friday 20 March 2026, 10:00 in Hanoi.
NOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=HANOI)
#: The overview's default period at NOW: this month so far.
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 21))


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=HANOI)


@dataclass
class Leaders:
    hoan_kiem: User
    ba_dinh: User
    department: User


@pytest.fixture
def leaders(personas, desk) -> Leaders:  # noqa: F811 - desk is the fixture imported above
    return Leaders(
        hoan_kiem=desk.leader,
        ba_dinh=_staff(StaffRole.LEADER, Agency.objects.get(code="000.04.01.H26"), "Lý Văn Chủ Tịch"),
        department=_staff(StaffRole.LEADER, Agency.objects.get(code="000.00.13.H26"), "Phó Giám Đốc Sở"),
    )


@dataclass
class City:
    city: Unit
    hoan_kiem: Unit
    ba_dinh: Unit
    hk: Agency
    bd: Agency
    department: Agency
    dossiers: dict[str, Dossier] = field(default_factory=dict)
    form: ReportForm | None = None


def _dossier(agency: Agency, case, applicant, *, received: dt.datetime | None, **values) -> Dossier:
    return stats_dossier(
        agency, case, applicant, received=received, submitted_at=received or at(3, 19), **values
    )


def _period(
    form: ReportForm, code: str, start: dt.date, end: dt.date, due: dt.date, locks: dt.date
) -> Period:
    return Period.objects.create(
        form=form,
        period_type="monthly",
        code=code,
        start=start,
        end=end,
        due_on=due,
        due_at=dt.datetime.combine(due, dt.time(17), tzinfo=HANOI),
        city_due_on=due + dt.timedelta(days=3),
        locks_on=locks,
    )


def _reporting(city: City) -> None:
    """A monthly form expected from both wards and the department. At NOW: January is locked, February is
    past due and open (Hoàn Kiếm sent it; Ba Đình and the department did not), March is past due (Hoàn Kiếm
    on time, the department late, Ba Đình's is a draft), April is not due yet."""
    form = ReportForm.objects.create(
        code="MONTHLY", name="Monthly report", owner_agency=city.department, period_type="monthly"
    )
    version = FormVersion.objects.create(form=form, number=1, published_at=at(1, 1))
    for unit in (city.hoan_kiem, city.ba_dinh):
        Assignment.objects.create(form=form, unit=unit, valid_from=dt.date(2025, 7, 1))
    Assignment.objects.create(form=form, agency=city.department, valid_from=dt.date(2025, 7, 1))
    jan = _period(
        form,
        "2026-01",
        dt.date(2025, 12, 15),
        dt.date(2026, 1, 14),
        dt.date(2026, 1, 16),
        dt.date(2026, 2, 15),
    )
    feb = _period(
        form,
        "2026-02",
        dt.date(2026, 1, 15),
        dt.date(2026, 2, 14),
        dt.date(2026, 2, 18),
        dt.date(2026, 3, 20),
    )
    mar = _period(
        form,
        "2026-03",
        dt.date(2026, 2, 15),
        dt.date(2026, 3, 14),
        dt.date(2026, 3, 18),
        dt.date(2026, 4, 17),
    )
    _period(
        form,
        "2026-04",
        dt.date(2026, 3, 15),
        dt.date(2026, 4, 14),
        dt.date(2026, 4, 16),
        dt.date(2026, 5, 16),
    )

    def submission(period: Period, status: str, *, unit: Unit, agency: Agency | None = None, on_time=None):
        Submission.objects.create(
            form=form,
            version=version,
            period=period,
            unit=unit,
            agency=agency,
            status=status,
            on_time=on_time,
        )

    submission(jan, "locked", unit=city.hoan_kiem, on_time=True)
    submission(feb, "accepted", unit=city.hoan_kiem, on_time=True)
    submission(mar, "submitted", unit=city.hoan_kiem, on_time=True)
    submission(mar, "submitted", unit=city.city, agency=city.department, on_time=False)
    submission(mar, "draft", unit=city.ba_dinh)
    city.form = form


@pytest.fixture
def city(personas, desk, birth_case, hoan_kiem, ba_dinh) -> City:  # noqa: F811
    """The dossiers, each commented with how it counts in March (1-20) and in the 20 days before."""
    hk = desk.agency
    bd = Agency.objects.get(code="000.04.01.H26")
    department = Agency.objects.get(code="000.00.13.H26")
    found = City(
        city=hoan_kiem.parent, hoan_kiem=hoan_kiem, ba_dinh=ba_dinh, hk=hk, bd=bd, department=department
    )
    who = personas.resident
    case = birth_case
    other_case = CaseFactory()  # a second procedure
    done = {"status": Status.RETURNED}
    d = found.dossiers
    # h1: received and finished early in March, online and fully online, paid online, synced, 2 papers
    # (digitised, reused), rated very satisfied (18).
    d["h1"] = _dossier(
        hk,
        case,
        who,
        received=at(3, 2),
        finished_at=at(3, 4),
        timeliness=Timeliness.EARLY,
        channel=FilingChannel.ONLINE,
        is_fully_online=True,
        payment_status=PaymentStatus.PAID,
        fee_total=8000,
        fee_applicant=8000,
        **done,
    )
    papers(d["h1"], ComponentSource.DIGITISED, ComponentSource.REUSED)
    Payment.objects.create(dossier=d["h1"], amount=8000, state=PaymentState.PAID, gateway="simulator")
    sync(d["h1"], SyncState.DELIVERED)
    rate(d["h1"], Satisfaction.VERY_SATISFIED, 18, at(3, 5))
    # h2: received in March, finished late, at the desk, paid in cash, one paper on paper, sync failed, rated
    # not satisfied (6).
    d["h2"] = _dossier(
        hk,
        other_case,
        who,
        received=at(3, 3),
        finished_at=at(3, 10),
        timeliness=Timeliness.LATE,
        payment_status=PaymentStatus.PAID,
        fee_total=8000,
        fee_applicant=8000,
        **done,
    )
    papers(d["h2"], ComponentSource.NOT_DIGITISED)
    sync(d["h2"], SyncState.DELIVERED, SyncState.FAILED)
    rate(d["h2"], Satisfaction.NOT_SATISFIED, 6, at(3, 11))
    # h3: received in February (previous period), finished on time in March.
    d["h3"] = _dossier(
        hk, case, who, received=at(2, 20), finished_at=at(3, 2), timeliness=Timeliness.ON_TIME, **done
    )
    # h4: received in March, open and overdue now (due 18 March), online.
    d["h4"] = _dossier(hk, case, who, received=at(3, 5), due_at=at(3, 18, 17), channel=FilingChannel.ONLINE)
    # h5: received in March, open, due within 24 hours.
    d["h5"] = _dossier(hk, other_case, who, received=at(3, 6), due_at=at(3, 20, 20))
    # h6: received in March, waiting for a supplement since 15 March: its clock stands still (not overdue).
    d["h6"] = _dossier(
        hk,
        case,
        who,
        received=at(3, 7),
        due_at=at(3, 16, 17),
        status=Status.SUPPLEMENT_REQUESTED,
        paused_since=at(3, 15),
    )
    # h7: filed online yesterday, not received yet: counts nowhere.
    d["h7"] = _dossier(hk, case, who, received=None, status=Status.SUBMITTED, channel=FilingChannel.ONLINE)
    # h8: received and finished on time in February (previous period), online.
    d["h8"] = _dossier(
        hk,
        case,
        who,
        received=at(2, 25),
        finished_at=at(2, 27),
        timeliness=Timeliness.ON_TIME,
        channel=FilingChannel.ONLINE,
        **done,
    )
    # b1: Ba Đình, received and finished on time in March, fully online, fee waived, a reused result, rated
    # satisfied (14).
    d["b1"] = _dossier(
        bd,
        case,
        who,
        received=at(3, 8),
        finished_at=at(3, 9),
        timeliness=Timeliness.ON_TIME,
        channel=FilingChannel.ONLINE,
        is_fully_online=True,
        payment_status=PaymentStatus.WAIVED,
        **done,
    )
    papers(d["b1"], ComponentSource.REUSED_RESULT)
    sync(d["b1"], SyncState.DELIVERED, SyncState.DELIVERED)
    rate(d["b1"], Satisfaction.SATISFIED, 14, at(3, 10))
    # b2: Ba Đình, received in March, open and overdue (due 12 March).
    d["b2"] = _dossier(bd, other_case, who, received=at(3, 10), due_at=at(3, 12, 17))
    # b3: Ba Đình, received just after midnight on 1 March, open, due 25 March.
    d["b3"] = _dossier(bd, case, who, received=at(3, 1, 0, 30), due_at=at(3, 25, 17))
    # c1: the department (city level), received in March, finished early, fee due, a digitised paper.
    d["c1"] = _dossier(
        department,
        other_case,
        who,
        received=at(3, 4),
        finished_at=at(3, 6),
        timeliness=Timeliness.EARLY,
        payment_status=PaymentStatus.DUE,
        fee_total=5000,
        fee_applicant=5000,
        **done,
    )
    papers(d["c1"], ComponentSource.DIGITISED)
    # c2: the department, received in March, open and overdue (due yesterday).
    d["c2"] = _dossier(department, case, who, received=at(3, 5), due_at=at(3, 19, 17))
    _reporting(found)
    rollups_rebuild()
    return found
