"""The reporting app's part of ``hanoismart seed --demo``: a monthly ward/commune socio-economic report and a
quarterly department report, with twelve months of made-up submissions (some late, some missing, some
returned) and their aggregates, computed by the same roll-up code (``aggregates_rebuild``); one ad-hoc
request (storm damage within 24 hours) to the staffed wards, and a "chase now" of the units whose latest
monthly report is not in, so the reminder log has entries.

The forms belong to the city office (Văn phòng UBND Thành phố) once it has someone who can review reports
(an officer or a leader); the demo's staff has only managers and an operator there, so until identity's
demo roster adds one, the forms are owned by Sở Tư pháp, whose officers and leader can return and accept.

Demo only; idempotent: a form that already has submissions is left alone, so a second run is a no-op.
The staffed demo wards leave the latest closed period open, so their reporters find it on their desk.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from hanoismart.directory.models import Agency, AgencyKind, Unit
from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.reporting.models import (
    Aggregation,
    DataValue,
    FormVersion,
    Indicator,
    Period,
    PeriodType,
    ReminderLog,
    ReporterScope,
    ReportForm,
    ReportRequest,
    Submission,
    SubmissionStatus,
    ValueType,
)
from hanoismart.reporting.selectors import form_current_version, reporters_expected
from hanoismart.reporting.services import (
    ItemSpec,
    RuleSpec,
    aggregates_rebuild,
    assignment_add,
    assignments_sync,
    form_upsert,
    form_version_publish,
    indicator_upsert,
    periods_between,
    reminder_chase,
    report_request_send,
)

MONTHLY_FORM = "BC-KTXH-THANG"
QUARTERLY_FORM = "BC-SO-QUY"
CITY_OFFICE = "000.00.01.H26"  # Văn phòng UBND Thành phố
SO_TU_PHAP = "000.00.13.H26"  # Sở Tư pháp: has officers and a leader in the demo
OWNER_CANDIDATES = (CITY_OFFICE, SO_TU_PHAP)
REVIEWER_ROLES = (StaffRole.OFFICER, StaffRole.LEADER)
STORM_REQUEST_KEY = "demo-storm-request"
STORM_INDICATORS = [
    (
        "STORM_HOUSES_DAMAGED",
        "Số nhà bị tốc mái, hư hỏng",
        "căn",
        ValueType.INTEGER,
        Aggregation.SUM,
        [],
        None,
    ),
    ("STORM_TREES_FALLEN", "Số cây xanh bị gãy đổ", "cây", ValueType.INTEGER, Aggregation.SUM, [], None),
    ("STORM_INJURED", "Số người bị thương", "người", ValueType.INTEGER, Aggregation.SUM, [], None),
]
STAFFED_WARDS = ("00070", "00004", "00073", "00583")
_SEX = [{"code": "sex", "options": ["male", "female"]}]

# code, name, unit of measure, value type, aggregation, disaggregations, weight indicator
MONTHLY_INDICATORS = [
    ("POP_BIRTHS", "Số trẻ em sinh ra", "người", ValueType.INTEGER, Aggregation.SUM, _SEX, None),
    ("POP_DEATHS", "Số người chết", "người", ValueType.INTEGER, Aggregation.SUM, [], None),
    ("POP_MOVE_IN", "Số người chuyển đến", "người", ValueType.INTEGER, Aggregation.SUM, [], None),
    ("POP_MOVE_OUT", "Số người chuyển đi", "người", ValueType.INTEGER, Aggregation.SUM, [], None),
    ("DOSSIER_RECEIVED", "Hồ sơ TTHC tiếp nhận", "hồ sơ", ValueType.INTEGER, Aggregation.SUM, [], None),
    ("DOSSIER_RESOLVED", "Hồ sơ TTHC đã giải quyết", "hồ sơ", ValueType.INTEGER, Aggregation.SUM, [], None),
    (
        "DOSSIER_ONTIME_RATE",
        "Tỷ lệ hồ sơ giải quyết đúng hạn",
        "%",
        ValueType.PERCENTAGE,
        Aggregation.AVERAGE,
        [],
        None,
    ),
    (
        "DOSSIER_ONLINE_RATE",
        "Tỷ lệ hồ sơ nộp trực tuyến",
        "%",
        ValueType.PERCENTAGE,
        Aggregation.WEIGHTED_AVERAGE,
        [],
        "DOSSIER_RECEIVED",
    ),
    (
        "FEEDBACK_RECEIVED",
        "Phản ánh kiến nghị tiếp nhận",
        "vụ việc",
        ValueType.INTEGER,
        Aggregation.SUM,
        [],
        None,
    ),
    (
        "FEEDBACK_HANDLED",
        "Phản ánh kiến nghị đã xử lý",
        "vụ việc",
        ValueType.INTEGER,
        Aggregation.SUM,
        [],
        None,
    ),
    ("SECURITY_INCIDENTS", "Vụ việc an ninh trật tự", "vụ", ValueType.INTEGER, Aggregation.SUM, [], None),
    (
        "DX_VNEID_ACCOUNTS",
        "Tài khoản VNeID mức 2 kích hoạt mới",
        "tài khoản",
        ValueType.INTEGER,
        Aggregation.SUM,
        [],
        None,
    ),
    (
        "DX_CASHLESS_RATE",
        "Tỷ lệ thanh toán không dùng tiền mặt",
        "%",
        ValueType.PERCENTAGE,
        Aggregation.AVERAGE,
        [],
        None,
    ),
    ("DX_PORTAL_UPDATED", "Cổng thông tin được cập nhật", "", ValueType.BOOLEAN, Aggregation.SUM, [], None),
    ("NOTES", "Kiến nghị, đề xuất", "", ValueType.TEXT, Aggregation.NONE, [], None),
]
MONTHLY_SECTIONS = {
    "POP": "I. Dân cư",
    "DOSSIER": "II. Giải quyết thủ tục hành chính",
    "FEEDBACK": "III. Phản ánh kiến nghị",
    "SECURITY": "IV. An ninh trật tự",
    "DX": "V. Chuyển đổi số",
    "NOTES": "VI. Kiến nghị",
}
QUARTERLY_INDICATORS = [
    (
        "DEPT_DOSSIER_RECEIVED",
        "Hồ sơ TTHC tiếp nhận (sở)",
        "hồ sơ",
        ValueType.INTEGER,
        Aggregation.SUM,
        [],
        None,
    ),
    (
        "DEPT_DOSSIER_RESOLVED",
        "Hồ sơ TTHC đã giải quyết (sở)",
        "hồ sơ",
        ValueType.INTEGER,
        Aggregation.SUM,
        [],
        None,
    ),
    (
        "DEPT_ONTIME_RATE",
        "Tỷ lệ giải quyết đúng hạn (sở)",
        "%",
        ValueType.PERCENTAGE,
        Aggregation.AVERAGE,
        [],
        None,
    ),
    (
        "DEPT_DISBURSEMENT_RATE",
        "Tỷ lệ giải ngân vốn đầu tư công",
        "%",
        ValueType.PERCENTAGE,
        Aggregation.AVERAGE,
        [],
        None,
    ),
    ("DEPT_INSPECTIONS", "Cuộc thanh tra, kiểm tra", "cuộc", ValueType.INTEGER, Aggregation.SUM, [], None),
]


def run(*, demo: bool, stdout: TextIO) -> None:
    """With ``demo``: the two forms, their versions and assignments, and a year of demo submissions."""
    if not demo:
        return
    owner = _owner()
    if owner is None:
        stdout.write("reporting: no city office agency; run the directory seed first\n")
        return
    monthly = _monthly_form(owner)
    quarterly = _quarterly_form(owner)
    for form in (monthly, quarterly):
        if form.owner_agency_id != owner.pk and not _has_reviewer(form.owner_agency):
            form_upsert(actor=None, code=form.code, owner_agency=owner)  # a demo seeded before this fix
    today = timezone.localdate()
    made = _demo_submissions(monthly, today=today, months=12)
    made += _demo_submissions(quarterly, today=today, months=12)
    stdout.write(f"reporting: 2 forms owned by {owner.name}, {made} demo submissions created\n")
    manager = _city_manager()
    if manager is None:
        stdout.write("reporting: no city manager in the demo staff; no ad-hoc request, no reminders\n")
        return
    if _storm_request(manager):
        stdout.write("reporting: 1 ad-hoc request (storm damage within 24 hours) sent to the staffed wards\n")
    logged = _demo_reminders(monthly, manager)
    if logged:
        stdout.write(f"reporting: {logged} reminders logged (chase of the units not in)\n")


def _has_reviewer(agency: Agency) -> bool:
    return StaffPosition.objects.filter(
        agency=agency, role__in=REVIEWER_ROLES, valid_to__isnull=True
    ).exists()


def _owner() -> Agency | None:
    """The city office if someone there can review reports, else the first candidate that has a reviewer."""
    agencies = {agency.code: agency for agency in Agency.objects.filter(code__in=OWNER_CANDIDATES)}
    for code in OWNER_CANDIDATES:
        if code in agencies and _has_reviewer(agencies[code]):
            return agencies[code]
    return agencies.get(CITY_OFFICE)


def _city_manager():
    position = (
        StaffPosition.objects.filter(role=StaffRole.MANAGER, agency__code=CITY_OFFICE, valid_to__isnull=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return position.user if position is not None else None


def _storm_request(manager) -> bool:
    """One ad-hoc request: storm damage from the staffed wards within 24 hours (once)."""
    if ReportRequest.objects.filter(idempotency_key=STORM_REQUEST_KEY).exists():
        return False
    _indicators(STORM_INDICATORS)
    report_request_send(
        actor=manager,
        title="Báo cáo nhanh thiệt hại do bão số 3",
        instructions="Đề nghị UBND các phường, xã báo cáo nhanh thiệt hại do bão trong vòng 24 giờ.",
        units=list(Unit.objects.filter(code__in=STAFFED_WARDS)),
        hours=24,
        indicator_codes=[code for code, *_rest in STORM_INDICATORS],
        questions=["Các điểm ngập úng, sạt lở cần Thành phố hỗ trợ?"],
        idempotency_key=STORM_REQUEST_KEY,
    )
    return True


def _demo_reminders(form: ReportForm, manager) -> int:
    """A "chase now" of the latest monthly period's units not in (once), so the reminder log has evidence."""
    if ReminderLog.objects.filter(form=form).exists():
        return 0
    today = timezone.localdate()
    latest = Period.objects.filter(form=form, end__lt=today).order_by("-end").first()
    if latest is None:
        return 0
    return reminder_chase(actor=manager, form=form, period=latest).logs


def _indicators(specs: list) -> None:
    for code, name, unit, value_type, aggregation, disaggregations, weight in specs:
        weight_indicator = Indicator.objects.get(code=weight) if weight is not None else None
        indicator_upsert(
            actor=None,
            code=code,
            name=name,
            unit_of_measure=unit,
            value_type=value_type,
            aggregation=aggregation,
            disaggregations=disaggregations,
            weight_indicator=weight_indicator,
        )


def _monthly_form(owner: Agency) -> ReportForm:
    existing = ReportForm.objects.filter(code=MONTHLY_FORM).first()
    if existing is not None and FormVersion.objects.filter(form=existing).exists():
        return existing
    _indicators(MONTHLY_INDICATORS)
    form = form_upsert(
        actor=None,
        code=MONTHLY_FORM,
        name="Báo cáo tình hình kinh tế - xã hội hằng tháng của phường, xã",
        owner_agency=owner,
        legal_basis="Nghị định 09/2019/NĐ-CP; Quyết định của UBND Thành phố về chế độ báo cáo",
        period_type=PeriodType.MONTHLY,
        cut_off_day=14,
        due_working_days=2,
        requires_sign_off=True,
        reporter_scope=ReporterScope.ALL_LOCAL_UNITS,
    )
    items = [
        ItemSpec(
            MONTHLY_SECTIONS[code.split("_")[0]],
            code,
            is_required=code in ("DOSSIER_RECEIVED", "DOSSIER_RESOLVED"),
        )
        for code, *_rest in MONTHLY_INDICATORS
    ]
    form_version_publish(
        actor=None,
        form=form,
        items=items,
        rules=[
            RuleSpec(
                "RESOLVED_LE_RECEIVED",
                "error",
                "Hồ sơ đã giải quyết không thể nhiều hơn hồ sơ tiếp nhận.",
                expression="DOSSIER_RESOLVED <= DOSSIER_RECEIVED",
            ),
            RuleSpec(
                "HANDLED_LE_RECEIVED",
                "error",
                "Phản ánh đã xử lý không thể nhiều hơn phản ánh tiếp nhận.",
                expression="FEEDBACK_HANDLED <= FEEDBACK_RECEIVED",
            ),
            RuleSpec(
                "ONTIME_RANGE",
                "error",
                "Tỷ lệ phải từ 0 đến 100.",
                expression="0 <= DOSSIER_ONTIME_RATE <= 100",
            ),
            RuleSpec(
                "ONLINE_RANGE",
                "error",
                "Tỷ lệ phải từ 0 đến 100.",
                expression="0 <= DOSSIER_ONLINE_RATE <= 100",
            ),
            RuleSpec(
                "SECURITY_JUMP",
                "warning",
                "Số vụ việc an ninh trật tự thay đổi hơn 100% so với kỳ trước.",
                change_indicator_code="SECURITY_INCIDENTS",
                max_change_percent="100",
            ),
        ],
        note="Phiên bản đầu tiên",
    )
    start = timezone.localdate() - dt.timedelta(days=400)
    assignments_sync(actor=None, form=form, on_date=max(start, dt.date(2025, 7, 1)))
    assignments_sync(actor=None, form=form)
    return form


def _quarterly_form(owner: Agency) -> ReportForm:
    existing = ReportForm.objects.filter(code=QUARTERLY_FORM).first()
    if existing is not None and FormVersion.objects.filter(form=existing).exists():
        return existing
    _indicators(QUARTERLY_INDICATORS)
    form = form_upsert(
        actor=None,
        code=QUARTERLY_FORM,
        name="Báo cáo kết quả thực hiện nhiệm vụ hằng quý của các sở, ngành",
        owner_agency=owner,
        legal_basis="Nghị định 09/2019/NĐ-CP",
        period_type=PeriodType.QUARTERLY,
        cut_off_day=14,
        due_working_days=5,
        reporter_scope=ReporterScope.AGENCIES,
    )
    form_version_publish(
        actor=None,
        form=form,
        items=[ItemSpec("Kết quả", code, is_required=True) for code, *_rest in QUARTERLY_INDICATORS],
        rules=[
            RuleSpec(
                "DEPT_RESOLVED_LE_RECEIVED",
                "error",
                "Hồ sơ đã giải quyết không thể nhiều hơn hồ sơ tiếp nhận.",
                expression="DEPT_DOSSIER_RESOLVED <= DEPT_DOSSIER_RECEIVED",
            )
        ],
    )
    departments = Agency.objects.filter(kind=AgencyKind.DEPARTMENT, is_active=True, unit__parent__isnull=True)
    for agency in departments.order_by("code")[:20]:
        assignment_add(actor=None, form=form, agency=agency, valid_from=dt.date(2024, 1, 1))
    return form


def _monthly_values(rng: random.Random, size: float) -> dict[tuple[str, str], Decimal | str]:
    received = int(rng.uniform(80, 400) * size)
    feedback = int(rng.uniform(5, 40) * size)
    births = int(rng.uniform(10, 60) * size)
    female = int(births * rng.uniform(0.45, 0.52))
    values: dict[tuple[str, str], Decimal | str] = {
        ("POP_BIRTHS", ""): Decimal(births),
        ("POP_BIRTHS", "sex=female"): Decimal(female),
        ("POP_BIRTHS", "sex=male"): Decimal(births - female),
        ("POP_DEATHS", ""): Decimal(int(rng.uniform(5, 30) * size)),
        ("POP_MOVE_IN", ""): Decimal(int(rng.uniform(20, 120) * size)),
        ("POP_MOVE_OUT", ""): Decimal(int(rng.uniform(15, 100) * size)),
        ("DOSSIER_RECEIVED", ""): Decimal(received),
        ("DOSSIER_RESOLVED", ""): Decimal(int(received * rng.uniform(0.85, 1.0))),
        ("DOSSIER_ONTIME_RATE", ""): Decimal(str(round(rng.uniform(90, 100), 1))),
        ("DOSSIER_ONLINE_RATE", ""): Decimal(str(round(rng.uniform(40, 90), 1))),
        ("FEEDBACK_RECEIVED", ""): Decimal(feedback),
        ("FEEDBACK_HANDLED", ""): Decimal(int(feedback * rng.uniform(0.7, 1.0))),
        ("SECURITY_INCIDENTS", ""): Decimal(rng.randint(0, 8)),
        ("DX_VNEID_ACCOUNTS", ""): Decimal(int(rng.uniform(50, 500) * size)),
        ("DX_CASHLESS_RATE", ""): Decimal(str(round(rng.uniform(30, 80), 1))),
        ("DX_PORTAL_UPDATED", ""): Decimal(rng.random() < 0.8),
    }
    if rng.random() < 0.2:
        values[("NOTES", "")] = "Đề nghị bổ sung biên chế cho bộ phận một cửa."
    return values


def _quarterly_values(rng: random.Random, size: float) -> dict[tuple[str, str], Decimal | str]:
    received = int(rng.uniform(500, 5000) * size)
    return {
        ("DEPT_DOSSIER_RECEIVED", ""): Decimal(received),
        ("DEPT_DOSSIER_RESOLVED", ""): Decimal(int(received * rng.uniform(0.85, 1.0))),
        ("DEPT_ONTIME_RATE", ""): Decimal(str(round(rng.uniform(85, 100), 1))),
        ("DEPT_DISBURSEMENT_RATE", ""): Decimal(str(round(rng.uniform(20, 95), 1))),
        ("DEPT_INSPECTIONS", ""): Decimal(rng.randint(1, 20)),
    }


def _demo_submissions(form: ReportForm, *, today: dt.date, months: int) -> int:
    """A year of closed periods of ``form`` with made-up reports, written in bulk, then rolled up."""
    if Submission.objects.filter(form=form).exists():
        return 0
    rng = random.Random(f"hanoismart-reporting-{form.code}")  # noqa: S311 - demo data, not security
    version = form_current_version(form)
    indicators = {item.indicator.code: item.indicator for item in version.items.select_related("indicator")}
    periods = [
        p
        for p in periods_between(form=form, start=today - dt.timedelta(days=30 * months), end=today)
        if p.end < today
    ]
    if not periods:
        return 0
    latest = periods[-1]
    tz = timezone.get_current_timezone()
    made: list[tuple[Submission, dict]] = []
    with transaction.atomic():
        for period in periods:
            for reporter in reporters_expected(form=form, period=period):
                if period == latest and reporter.agency is None and reporter.unit.code in STAFFED_WARDS:
                    continue  # left for the demo's reporters
                roll = rng.random()
                if roll < 0.06:
                    continue  # missing
                late = roll < 0.18
                due = dt.datetime.combine(period.due_on, dt.time(16, 0), tzinfo=tz)
                submitted_at = (
                    due + dt.timedelta(days=rng.randint(1, 6))
                    if late
                    else due - dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 6))
                )
                status = SubmissionStatus.ACCEPTED
                if roll > 0.97:
                    status = SubmissionStatus.RETURNED
                elif period.locks_on < today:
                    status = SubmissionStatus.LOCKED
                elif roll > 0.8:
                    status = SubmissionStatus.SUBMITTED
                submission = Submission(
                    form=form,
                    version=version,
                    period=period,
                    unit=reporter.unit,
                    agency=reporter.agency,
                    status=status,
                    submitted_at=submitted_at,
                    on_time=not late,
                    signed_off_at=submitted_at - dt.timedelta(hours=2) if form.requires_sign_off else None,
                    accepted_at=submitted_at + dt.timedelta(days=2)
                    if status != SubmissionStatus.SUBMITTED
                    else None,
                    returned_reason="Số liệu hồ sơ tiếp nhận chưa khớp với hệ thống một cửa."
                    if status == SubmissionStatus.RETURNED
                    else "",
                )
                size = 1.0 + (int(reporter.unit.code) % 7) / 5
                values = (
                    _quarterly_values(rng, size)
                    if form.period_type == PeriodType.QUARTERLY
                    else _monthly_values(rng, size)
                )
                made.append((submission, values))
        Submission.objects.bulk_create([submission for submission, _values in made], batch_size=500)
        rows = [
            DataValue(
                submission=submission,
                indicator=indicators[code],
                disaggregation=key,
                number=value if isinstance(value, Decimal) else None,
                text=value if isinstance(value, str) else "",
            )
            for submission, values in made
            for (code, key), value in values.items()
        ]
        DataValue.objects.bulk_create(rows, batch_size=2000)
        aggregates_rebuild(periods=Period.objects.filter(pk__in=[p.pk for p in periods]))
    return len(made)
