"""The dossiers app's part of ``hanoismart seed --demo``: a living city for the statistics and the IOC.

* Twelve months of dossiers across every ward and commune and the departments, heavier in the four staffed
  wards and in Sở Tư pháp and Sở Xây dựng, with realistic channels (~45% online), deadlines counted on the
  working calendar, outcomes (mostly early or on time, ~7% late, a few overdue, refused, withdrawn), papers
  digitised or reused, fees and payments, events, national-portal messages and ratings. Written in bulk
  (``bulk_create``) for speed: the app writing its own tables; codes follow ``{agency}-{yyMMdd}-{nnnn}`` and
  the daily sequences are moved past them, so live filings never collide.
* The demo resident (001099000001): a returned dossier whose signed result is in their store (issued by
  ``documents.services.document_issue_result``), a digitised birth certificate from the hospital (type GCS)
  that a birth registration can reuse, and an open dossier waiting for a supplement.

The daily roll-ups are rebuilt at the end of every demo seed (the rows above bypass the services that keep
them current).

Demo only; idempotent: the history is made once (its dossiers carry ``demo-history-*`` idempotency keys),
and each of the resident's records is looked up before it is made.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from hanoismart.audit.services import audit_record
from hanoismart.directory.models import Agency, AgencyKind, Unit
from hanoismart.directory.selectors import agency_committee_of, working_calendar
from hanoismart.documents.pdf import render_pdf
from hanoismart.documents.selectors import documents_of
from hanoismart.documents.services import document_digitise, document_issue_result
from hanoismart.dossiers import deadlines
from hanoismart.dossiers.models import (
    RATING_CRITERIA,
    ComponentSource,
    DeliveryMethod,
    Dossier,
    DossierCodeSequence,
    DossierComponent,
    DossierEvent,
    FilingChannel,
    Payment,
    PaymentState,
    PaymentStatus,
    PortalSyncMessage,
    Rating,
    Satisfaction,
    SyncState,
)
from hanoismart.dossiers.services.codes import dossier_code_allocate
from hanoismart.dossiers.services.rollups import rollups_rebuild
from hanoismart.identity.demo_data import DEMO_RESIDENT, SO_TU_PHAP, SO_XAY_DUNG, STAFFED_UNIT_CODES
from hanoismart.identity.models import StaffPosition, StaffRole, User
from hanoismart.procedures.models import Case, Component, Level, Procedure, WorkflowStep
from hanoismart.procedures.models import DossierStatus as S
from hanoismart.procedures.selectors import fee_for

HISTORY_KEY = "demo-history-"
RESULT_KEY = "demo-resident-result"
SUPPLEMENT_KEY = "demo-resident-supplement"
DAYS = 365

#: Dossiers a year per agency: the staffed wards and the two staffed departments carry the demo.
STAFFED_WARD_VOLUME = 330
OTHER_WARD_VOLUME = 12
DEPARTMENT_VOLUME = {SO_TU_PHAP: 340, SO_XAY_DUNG: 220}
OTHER_DEPARTMENT_VOLUME = 50
#: Which department receives a city-level procedure of a field when the catalog names no agency.
FIELD_DEPARTMENTS = {
    "xay-dung": SO_XAY_DUNG,
    "ly-lich-tu-phap": SO_TU_PHAP,
    "dat-dai": "000.00.05.H26",  # Sở Nông nghiệp và Môi trường
    "doanh-nghiep": "000.00.03.H26",  # Sở Tài chính
    "lao-dong": "000.00.02.H26",  # Sở Nội vụ
    "nguoi-co-cong": "000.00.02.H26",
    "giao-duc": "000.00.08.H26",  # Sở Giáo dục và Đào tạo
}
ONLINE_SHARE = 0.45
WALK_IN_NAMES = [
    "Nguyễn Văn Hải",
    "Trần Thị Lan",
    "Lê Minh Tuấn",
    "Phạm Thị Hoa",
    "Vũ Đức Long",
    "Đỗ Thu Trang",
]
SUPPLEMENT_ITEMS = [
    "Bản sao giấy tờ chứng minh quyền sử dụng đất có chứng thực",
    "Bản vẽ thiết kế có chữ ký của chủ đầu tư",
    "Giấy tờ tùy thân của người được ủy quyền",
]


@dataclass
class _Planned:
    """One dossier of the history and what hangs off it, before the rows exist."""

    dossier: Dossier
    events: list[tuple[str, str, str, dt.datetime]] = field(default_factory=list)
    papers: list[tuple[Component, str]] = field(default_factory=list)
    rating: tuple[dict[str, int], dt.datetime] | None = None
    paid_online: bool = False


def run(*, demo: bool, stdout: TextIO) -> None:
    """With ``demo``: a year of dossiers, then the demo resident's own records."""
    if not demo:
        return
    if not Procedure.objects.exists():
        stdout.write("dossiers: no procedures; run the procedures seed first\n")
        return
    made = history_seed()
    stdout.write(f"dossiers: {made} dossiers of the past twelve months created\n")
    lines = resident_seed()
    for line in lines:
        stdout.write(f"dossiers: {line}\n")
    # The history and the resident's records are written row by row, past the services that keep the
    # roll-ups current: recompute them (fast, and it also mends a database seeded before roll-ups existed).
    rows = rollups_rebuild()
    if made or lines:
        stdout.write(f"dossiers: {rows} daily roll-up rows rebuilt\n")


# -- twelve months of dossiers -----------------------------------------------------------------------------


class _Catalog:
    """The procedures, their cases, papers, steps and fees, loaded once."""

    def __init__(self) -> None:
        self.cases: dict[int, list[Case]] = defaultdict(list)
        for case in Case.objects.select_related("procedure__field").filter(procedure__is_active=True):
            self.cases[case.procedure_id].append(case)
        self.procedures = {
            p.pk: p for p in Procedure.objects.filter(pk__in=self.cases).select_related("field")
        }
        self.components: dict[int, list[Component]] = defaultdict(list)
        for component in Component.objects.order_by("case_id", "order"):
            self.components[component.case_id].append(component)
        self.steps: dict[tuple[int, str], WorkflowStep] = {}
        for step in WorkflowStep.objects.order_by("case_id", "order"):
            self.steps.setdefault((step.case_id, step.status), step)
        self._fees: dict[tuple[int, str, bool], tuple[int, int]] = {}

    def of_level(self, level: str) -> list[Procedure]:
        return [p for p in self.procedures.values() if p.level == level]

    def fees(self, case: Case, channel: str, day: dt.date) -> tuple[int, int]:
        """(the applicant's part, the city's part); the rules change once, on 1 January 2026."""
        key = (case.pk, channel, day >= dt.date(2026, 1, 1))
        if key not in self._fees:
            quote = fee_for(case=case, channel="online" if channel == "online" else "counter", on_date=day)
            self._fees[key] = (quote.resident_pays, quote.city_pays)
        return self._fees[key]


def _agencies_and_volumes(catalog: _Catalog) -> list[tuple[Agency, list[Procedure], int]]:
    """Each receiving agency, the procedures it takes and how many dossiers it gets in a year."""
    plan = []
    ward_procedures = catalog.of_level(Level.WARD_COMMUNE)
    wards = Unit.objects.filter(parent__isnull=False, valid_to__isnull=True).order_by("code")
    committees = {
        agency.unit_id: agency
        for agency in Agency.objects.filter(
            kind=AgencyKind.PEOPLES_COMMITTEE, is_active=True, unit__in=wards
        ).order_by("-code")
    }
    for unit in wards:
        agency = committees.get(unit.pk)
        if agency is None or not ward_procedures:
            continue
        volume = STAFFED_WARD_VOLUME if unit.code in STAFFED_UNIT_CODES else OTHER_WARD_VOLUME
        plan.append((agency, ward_procedures, volume))
    by_department: dict[str, list[Procedure]] = defaultdict(list)
    for procedure in catalog.of_level(Level.CITY):
        code = (
            procedure.agency.code
            if procedure.agency_id and procedure.agency
            else FIELD_DEPARTMENTS.get(procedure.field.code)
        )
        if code:
            by_department[code].append(procedure)
    departments = {a.code: a for a in Agency.objects.filter(code__in=by_department, is_active=True)}
    for code, procedures in sorted(by_department.items()):
        if code in departments:
            volume = DEPARTMENT_VOLUME.get(code, OTHER_DEPARTMENT_VOLUME)
            plan.append((departments[code], procedures, volume))
    return plan


def _staff_by_agency() -> dict[int, dict[str, User]]:
    staff: dict[int, dict[str, User]] = defaultdict(dict)
    for position in StaffPosition.objects.filter(valid_to__isnull=True).select_related("user").order_by("pk"):
        staff[position.agency_id].setdefault(position.role, position.user)
    return staff


def _applicants(rng: random.Random) -> tuple[dict[int, list[dict]], list[dict]]:
    people = list(
        User.objects.filter(is_active=True, ward__isnull=False, positions__isnull=True)
        .exclude(national_id=DEMO_RESIDENT.national_id)
        .values("pk", "full_name", "national_id", "phone", "ward_id")
        .order_by("pk")
    )
    by_ward: dict[int, list[dict]] = defaultdict(list)
    for person in people:
        by_ward[person["ward_id"]].append(person)
    return by_ward, people


def _moment_in_office(rng: random.Random, day: dt.date, zone) -> dt.datetime:
    minutes = rng.randint(7 * 60 + 30, 16 * 60 + 45)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)


def _scores(rng: random.Random, *, late: bool) -> dict[str, int]:
    scores = {}
    for criterion in RATING_CRITERIA:
        roll = rng.random()
        good = 0.55 if late else 0.8
        scores[criterion] = 2 if roll < good else (1 if roll < good + 0.15 else 0)
    if late:
        scores["time"] = 0
    return scores


def _overall(total: int) -> str:
    if total >= 16:
        return Satisfaction.VERY_SATISFIED
    if total >= 11:
        return Satisfaction.SATISFIED
    return Satisfaction.NOT_SATISFIED


def _plan_one(
    rng: random.Random,
    *,
    catalog: _Catalog,
    calendar,
    agency: Agency,
    procedure: Procedure,
    submitted_at: dt.datetime,
    now: dt.datetime,
    applicant: dict | None,
    index: int,
) -> _Planned:
    case = rng.choice(catalog.cases[procedure.pk])
    online = applicant is not None and rng.random() < ONLINE_SHARE
    channel = (
        FilingChannel.ONLINE if online else rng.choice([FilingChannel.IN_PERSON] * 12 + [FilingChannel.POST])
    )
    if not online and rng.random() < 0.35:
        applicant = None  # a walk-in without an account
    resident_pays, city_pays = catalog.fees(case, channel, submitted_at.date())
    dossier = Dossier(
        code="",
        procedure=procedure,
        case=case,
        agency=agency,
        unit_id=agency.unit_id,
        applicant_id=applicant["pk"] if applicant else None,
        applicant_name=applicant["full_name"] if applicant else rng.choice(WALK_IN_NAMES),
        applicant_national_id=applicant["national_id"] if applicant else "",
        applicant_phone=(applicant["phone"] or "") if applicant else "",
        channel=channel,
        is_fully_online=online and procedure.online_level == "full" and rng.random() < 0.8,
        form_data={},
        delivery_method=rng.choice(
            [DeliveryMethod.COLLECT] * 6
            + [DeliveryMethod.POST]
            + ([DeliveryMethod.ONLINE] * 2 if online else [])
        ),
        fee_total=resident_pays + city_pays,
        fee_applicant=resident_pays,
        fee_city=city_pays,
        submitted_at=submitted_at,
        created_by_id=applicant["pk"] if online else None,
        idempotency_key=f"{HISTORY_KEY}{index:06d}",
    )
    if dossier.delivery_method == DeliveryMethod.POST:
        dossier.delivery_address = f"Số {rng.randint(1, 200)}, {agency.unit.name}, Hà Nội"
    planned = _Planned(dossier=dossier)
    events = planned.events
    if online:
        events.append(("submit", "", S.SUBMITTED, submitted_at))
        if rng.random() < 0.02 or submitted_at > now - dt.timedelta(hours=20):
            if submitted_at < now - dt.timedelta(hours=20):  # refused at the desk
                refused_at = calendar.next_working_moment(submitted_at + dt.timedelta(hours=2))
                dossier.status = S.NOT_RECEIVED
                events.append(("refuse", S.SUBMITTED, S.NOT_RECEIVED, min(refused_at, now)))
            else:
                dossier.status = S.SUBMITTED
            return planned
        received_at = calendar.next_working_moment(submitted_at + dt.timedelta(hours=rng.uniform(0.5, 16)))
        events.append(("receive", S.SUBMITTED, S.RECEIVED, received_at))
    else:
        received_at = submitted_at
        events.append(("register", "", S.RECEIVED, received_at))
    if received_at >= now:
        dossier.status = S.SUBMITTED
        events.pop()
        return planned
    dossier.received_at = received_at
    amount, unit = deadlines.processing_budget(case=case, channel=channel)
    due = deadlines.due_at(calendar, received_at=received_at, amount=amount, unit=unit)
    dossier.due_at = due
    for component in catalog.components[case.pk]:
        if not component.is_mandatory and rng.random() > 0.3:
            continue
        roll = rng.random()
        if online:
            source = ComponentSource.REUSED if roll < 0.3 else ComponentSource.DIGITISED
            if roll < 0.06:
                source = ComponentSource.REUSED_RESULT
        else:
            source = ComponentSource.NOT_DIGITISED if roll < 0.3 else ComponentSource.DIGITISED
            if roll > 0.9:
                source = ComponentSource.REUSED
        if not component.document_type_code and source in (
            ComponentSource.REUSED,
            ComponentSource.REUSED_RESULT,
        ):
            source = ComponentSource.DIGITISED
        planned.papers.append((component, source))
    if dossier.fee_applicant:
        dossier.payment_status = PaymentStatus.PAID
        planned.paid_online = (online and rng.random() < 0.9) or (not online and rng.random() < 0.15)
    elif dossier.fee_city:
        dossier.payment_status = PaymentStatus.CITY_PAID
    span = due - received_at
    forward_at = min(received_at + dt.timedelta(hours=rng.uniform(0.2, 3)), now)
    events.append(("forward", S.RECEIVED, S.IN_PROGRESS, forward_at))
    # How it ends: ~50% early, ~43% on time, ~7% late; a few withdrawn or stopped; recent ones still open.
    roll = rng.random()
    if roll < 0.5:
        finished = received_at + span * rng.uniform(0.1, 0.6)
    elif roll < 0.93:
        finished = due - dt.timedelta(minutes=rng.randint(5, 180))
    else:
        finished = due + dt.timedelta(days=rng.uniform(0.5, 8))
    if dossier.due_at and now - due > dt.timedelta(days=20) and rng.random() < 0.004:
        finished = now + dt.timedelta(days=1)  # forgotten: open and long overdue
    finished = max(finished, forward_at + dt.timedelta(minutes=10))
    ending = rng.random()
    if finished >= now:
        status = S.IN_PROGRESS
        if rng.random() < 0.12:
            paused = min(forward_at + span * 0.3, now - dt.timedelta(minutes=5))
            dossier.paused_since = paused
            status = S.SUPPLEMENT_REQUESTED
            events.append(("request_supplement", S.IN_PROGRESS, status, paused))
        elif dossier.fee_applicant and rng.random() < 0.3:
            status = S.FINANCIAL_OBLIGATION
            dossier.payment_status = PaymentStatus.DUE
            planned.paid_online = False
            events.append(("request_payment", S.IN_PROGRESS, status, forward_at))
        dossier.status = status
        dossier.step = catalog.steps.get((case.pk, S.IN_PROGRESS))
        return planned
    dossier.finished_at = finished
    if ending < 0.01:
        dossier.status = S.WITHDRAWN
        events.append(("withdraw", S.IN_PROGRESS, S.WITHDRAWN, finished))
        return planned
    if ending < 0.015:
        dossier.status = S.STOPPED
        events.append(("stop", S.IN_PROGRESS, S.STOPPED, finished))
        return planned
    dossier.timeliness = deadlines.timeliness(calendar, finished_at=finished, due=due)
    events.append(("sign", S.IN_PROGRESS, S.PROCESSED, finished))
    returned = calendar.next_working_moment(finished + dt.timedelta(hours=rng.uniform(0.5, 30)))
    if returned >= now:
        dossier.status = S.PROCESSED
        dossier.step = catalog.steps.get((case.pk, S.RETURNED))
        return planned
    dossier.status = S.RETURNED
    dossier.returned_at = returned
    events.append(("return", S.PROCESSED, S.RETURNED, returned))
    rated_at = returned + dt.timedelta(hours=rng.uniform(1, 72))
    if dossier.applicant_id and rng.random() < 0.4 and rated_at < now:
        planned.rating = (_scores(rng, late=dossier.timeliness == "late"), rated_at)
        events.append(("rate", S.RETURNED, S.RETURNED, rated_at))
    return planned


def _allocate_codes(planned: list[_Planned]) -> list[DossierCodeSequence]:
    """Give each dossier the next number of its agency's day, after any number already taken that day."""
    zone = timezone.get_current_timezone()
    days = {p.dossier.submitted_at.astimezone(zone).date() for p in planned}
    agency_codes = {p.dossier.agency.code for p in planned}
    existing = {
        (s.agency_code, s.day): s
        for s in DossierCodeSequence.objects.filter(
            agency_code__in=agency_codes,
            day__gte=min(days),
            day__lte=max(days),
        )
    }
    last = {key: sequence.last_number for key, sequence in existing.items()}
    for item in sorted(planned, key=lambda p: p.dossier.submitted_at):
        day = item.dossier.submitted_at.astimezone(zone).date()
        key = (item.dossier.agency.code, day)
        last[key] = last.get(key, 0) + 1
        item.dossier.code = f"{key[0]}-{day:%y%m%d}-{last[key]:04d}"
    updated = []
    for key, number in last.items():
        sequence = existing.get(key) or DossierCodeSequence(agency_code=key[0], day=key[1])
        sequence.last_number = number
        updated.append(sequence)
    return updated


def _event_actor(staff: dict[int, dict[str, User]], agency_id: int, action: str) -> tuple[User | None, str]:
    role = {
        "receive": StaffRole.CLERK,
        "register": StaffRole.CLERK,
        "refuse": StaffRole.CLERK,
        "return": StaffRole.CLERK,
        "forward": StaffRole.CLERK,
        "request_supplement": StaffRole.OFFICER,
        "request_payment": StaffRole.OFFICER,
        "stop": StaffRole.LEADER,
        "sign": StaffRole.LEADER,
    }.get(action, "")
    return staff.get(agency_id, {}).get(role), role


def history_seed(*, days: int = DAYS, scale: float = 1.0) -> int:
    """Twelve months (``days``) of dossiers, written in bulk; returns how many (0 when already there)."""
    if Dossier.objects.filter(idempotency_key__startswith=HISTORY_KEY).exists():
        return 0
    rng = random.Random("hanoismart-dossiers-history")  # noqa: S311 - demo data, not security
    catalog = _Catalog()
    calendar = working_calendar()
    zone = timezone.get_current_timezone()
    now = timezone.now()
    today = timezone.localdate()
    by_ward, everybody = _applicants(rng)
    staff = _staff_by_agency()
    weekdays = [today - dt.timedelta(days=n) for n in range(1, days + 1)]
    working = [day for day in weekdays if calendar.is_working_day(day)] or weekdays
    planned: list[_Planned] = []
    for agency, procedures, volume in _agencies_and_volumes(catalog):
        weights = [max(p.popularity, 10) for p in procedures]
        count = max(1, round(volume * scale * days / DAYS * rng.uniform(0.85, 1.15)))
        locals_ = by_ward.get(agency.unit_id) or everybody
        for _n in range(count):
            procedure = rng.choices(procedures, weights)[0]
            day = rng.choice(working) if rng.random() < 0.93 else rng.choice(weekdays)
            submitted_at = _moment_in_office(rng, day, zone)
            applicant = rng.choice(locals_ if rng.random() < 0.85 else everybody) if everybody else None
            planned.append(
                _plan_one(
                    rng,
                    catalog=catalog,
                    calendar=calendar,
                    agency=agency,
                    procedure=procedure,
                    submitted_at=submitted_at,
                    now=now,
                    applicant=applicant,
                    index=len(planned),
                )
            )
    if not planned:
        return 0
    with transaction.atomic():
        sequences = _allocate_codes(planned)
        Dossier.objects.bulk_create([p.dossier for p in planned], batch_size=500)
        DossierCodeSequence.objects.bulk_create([s for s in sequences if s.pk is None], batch_size=1000)
        DossierCodeSequence.objects.bulk_update(
            [s for s in sequences if s.pk], ["last_number"], batch_size=500
        )
        _write_children(planned, staff=staff, now=now, rng=rng)
    return len(planned)


def _supplement_request(item: str) -> dict[str, Any]:
    """The note and details of a supplement request, as the workflow's service writes them."""
    if not item:
        return {}
    return {
        "note": f"Đề nghị bổ sung: {item}.",
        "details": {"items": [item], "resume_status": S.IN_PROGRESS},
    }


def _write_children(planned: list[_Planned], *, staff, now: dt.datetime, rng: random.Random) -> None:
    events, papers, ratings, payments, messages = [], [], [], [], []
    for item in planned:
        dossier = item.dossier
        for action, from_status, to_status, at in item.events:
            actor, role = _event_actor(staff, dossier.agency_id, action)
            if action in ("submit", "withdraw", "rate"):
                actor, role = None, "applicant"
            events.append(
                DossierEvent(
                    dossier=dossier,
                    at=at,
                    actor=actor,
                    actor_label=actor.full_name
                    if actor
                    else (dossier.applicant_name if role == "applicant" else dossier.agency.name),
                    actor_role=role,
                    action=action,
                    from_status=from_status,
                    to_status=to_status,
                    **_supplement_request(
                        rng.choice(SUPPLEMENT_ITEMS) if action == "request_supplement" else ""
                    ),
                )
            )
        for component, source in item.papers:
            papers.append(
                DossierComponent(dossier=dossier, component=component, name=component.name, source=source)
            )
        if item.rating is not None:
            scores, at = item.rating
            total = sum(scores.values())
            ratings.append(
                Rating(dossier=dossier, scores=scores, total=total, overall=_overall(total), created_at=at)
            )
        if item.paid_online and dossier.received_at:
            payments.append(
                Payment(
                    dossier=dossier,
                    amount=dossier.fee_applicant,
                    state=PaymentState.PAID,
                    gateway="simulator",
                    gateway_ref=f"demo-{dossier.code}",
                    receipt_number=f"BL-{dossier.code[-11:]}",
                    paid_at=dossier.received_at,
                )
            )
        if dossier.status != S.SUBMITTED:
            last = item.events[-1][3]
            failed = rng.random() < 0.02
            messages.append(
                PortalSyncMessage(
                    dossier=dossier,
                    sequence=1,
                    status=dossier.status,
                    payload={"code": dossier.code, "status": dossier.status},
                    state=SyncState.FAILED if failed else SyncState.DELIVERED,
                    attempts=8 if failed else 1,
                    delivered_at=None if failed else min(last + dt.timedelta(minutes=1), now),
                    last_error="Cổng Dịch vụ công quốc gia không phản hồi (hết thời gian chờ)."
                    if failed
                    else "",
                )
            )
    DossierEvent.objects.bulk_create(events, batch_size=2000)
    DossierComponent.objects.bulk_create(papers, batch_size=2000)
    # A rating's moment is when the applicant gave it, months ago: auto_now_add would stamp today instead.
    created_at = Rating._meta.get_field("created_at")
    created_at.auto_now_add = False
    try:
        Rating.objects.bulk_create(ratings, batch_size=1000)
    finally:
        created_at.auto_now_add = True
    Payment.objects.bulk_create(payments, batch_size=1000)
    PortalSyncMessage.objects.bulk_create(messages, batch_size=2000)


# -- the demo resident ------------------------------------------------------------------------------------


def _first_staff(agency: Agency, role: str) -> User | None:
    position = (
        StaffPosition.objects.filter(agency=agency, role=role, valid_to__isnull=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return position.user if position else None


def _paper_pdf(*, title: str, issuer: str, fields: list[tuple[str, str]]) -> SimpleUploadedFile:
    pdf = render_pdf(title=title, issuer=issuer, fields=fields, qr_payload=title)
    return SimpleUploadedFile(f"{title}.pdf", pdf, content_type="application/pdf")


def resident_seed() -> list[str]:
    """The demo resident's birth certificate (GCS) in their store, a returned dossier with its signed result,
    and an open dossier waiting for a supplement; each made once. Returns one line per record made."""
    resident = User.objects.filter(national_id=DEMO_RESIDENT.national_id).select_related("ward").first()
    if resident is None or resident.ward is None:
        return ["no demo resident; run the identity seed first"]
    agency = agency_committee_of(resident.ward)
    clerk = _first_staff(agency, StaffRole.CLERK) if agency else None
    leader = _first_staff(agency, StaffRole.LEADER) if agency else None
    if agency is None or clerk is None or leader is None:
        return ["the demo resident's ward has no clerk or leader; run the identity seed first"]
    lines = []
    if not documents_of(actor=resident).filter(type_code="GCS").exists():
        _birth_certificate(resident, clerk)
        lines.append("the demo resident's hospital birth certificate (GCS) digitised into their store")
    if not Dossier.objects.filter(created_by=resident, idempotency_key=RESULT_KEY).exists():
        dossier = _returned_dossier(resident, agency, leader, clerk)
        if dossier is not None:
            lines.append(f"the demo resident's returned dossier {dossier.code} with its signed result")
    if not Dossier.objects.filter(created_by=resident, idempotency_key=SUPPLEMENT_KEY).exists():
        dossier = _supplement_dossier(resident, agency, clerk)
        if dossier is not None:
            lines.append(f"the demo resident's dossier {dossier.code} waiting for a supplement")
    return lines


def _birth_certificate(resident: User, clerk: User) -> None:
    born = timezone.localdate() - dt.timedelta(days=12)
    fields = [
        ("Họ và tên mẹ", "Lê Thị Minh Thư"),
        ("Họ và tên cha", resident.full_name),
        ("Ngày sinh của con", born.strftime("%d/%m/%Y")),
        ("Giới tính", "Nữ"),
        ("Nơi sinh", "Bệnh viện Phụ sản Hà Nội"),
    ]
    document_digitise(
        actor=clerk,
        owner_user=resident,
        type_code="GCS",
        type_name="Giấy chứng sinh",
        title="Giấy chứng sinh của con",
        upload=_paper_pdf(title="GIẤY CHỨNG SINH", issuer="Bệnh viện Phụ sản Hà Nội", fields=fields),
        number=f"{born:%y}-{DEMO_RESIDENT.national_id[-4:]}/GCS",
        issuer_name="Bệnh viện Phụ sản Hà Nội",
        issued_on=born,
    )


def _case(national_code: str) -> Case | None:
    return (
        Case.objects.filter(procedure__national_code=national_code)
        .select_related("procedure")
        .order_by("order")
        .first()
    )


def _new_dossier(
    resident: User, agency: Agency, case: Case, *, key: str, submitted_at: dt.datetime
) -> Dossier:
    with transaction.atomic():
        code = dossier_code_allocate(agency_code=agency.code, on_date=timezone.localtime(submitted_at).date())
        dossier = Dossier.objects.create(
            code=code,
            procedure=case.procedure,
            case=case,
            agency=agency,
            unit_id=agency.unit_id,
            applicant=resident,
            applicant_name=resident.full_name,
            applicant_national_id=resident.national_id,
            applicant_phone=resident.phone or "",
            applicant_email=resident.email or "",
            channel=FilingChannel.ONLINE,
            is_fully_online=case.procedure.online_level == "full",
            submitted_at=submitted_at,
            created_by=resident,
            idempotency_key=key,
        )
        audit_record(
            actor=None, action="dossiers.demo_seeded", obj=dossier, subject=resident, details={"code": code}
        )
    return dossier


def _events(dossier: Dossier, steps: list[tuple[str, str, str, dt.datetime, User | None, str, str]]) -> None:
    DossierEvent.objects.bulk_create(
        DossierEvent(
            dossier=dossier,
            action=action,
            from_status=from_status,
            to_status=to_status,
            at=at,
            actor=actor,
            actor_label=actor.full_name if actor else dossier.applicant_name,
            actor_role=role,
            **(_supplement_request(note) if action == "request_supplement" else {"note": note}),
        )
        for action, from_status, to_status, at, actor, role, note in steps
    )
    PortalSyncMessage.objects.create(
        dossier=dossier,
        sequence=1,
        status=dossier.status,
        payload={"code": dossier.code, "status": dossier.status},
        state=SyncState.DELIVERED,
        attempts=1,
        delivered_at=steps[-1][3],
    )


def _returned_dossier(resident: User, agency: Agency, leader: User, clerk: User) -> Dossier | None:
    """A marital-status certificate (1.004873), filed online three weeks ago, returned with its result."""
    case = _case("1.004873")
    if case is None:
        return None
    calendar = working_calendar()
    submitted = calendar.next_working_moment(
        _moment_in_office(
            random.Random(1),  # noqa: S311 - demo data
            timezone.localdate() - dt.timedelta(days=21),
            timezone.get_current_timezone(),
        )
    )
    received = calendar.next_working_moment(submitted + dt.timedelta(hours=1))
    amount, unit = deadlines.processing_budget(case=case, channel=FilingChannel.ONLINE)
    due = deadlines.due_at(calendar, received_at=received, amount=amount, unit=unit)
    finished = received + (due - received) / 3
    returned = calendar.next_working_moment(finished + dt.timedelta(hours=2))
    dossier = _new_dossier(resident, agency, case, key=RESULT_KEY, submitted_at=submitted)
    procedure = case.procedure
    document = document_issue_result(
        actor=leader,
        agency=agency,
        owner_user=resident,
        dossier_code=dossier.code,
        procedure_code=procedure.national_code,
        type_code=procedure.result_type_code or "XNTTHN",
        type_name=procedure.result_type_name or "Giấy xác nhận tình trạng hôn nhân",
        title=procedure.result_type_name or "Giấy xác nhận tình trạng hôn nhân",
        number=f"{dossier.code[-4:]}/{timezone.localtime(finished):%Y}/XNTTHN",
        printed={
            "Họ, chữ đệm, tên": resident.full_name,
            "Số định danh cá nhân": resident.national_id,
            "Nơi cư trú": f"{resident.ward.name}, Thành phố Hà Nội",
            "Tình trạng hôn nhân": "Chưa đăng ký kết hôn với ai",
        },
        paragraphs=["Giấy này có giá trị sử dụng 6 tháng kể từ ngày cấp, để làm thủ tục đăng ký kết hôn."],
        issued_on=timezone.localtime(finished).date(),
        valid_until=timezone.localtime(finished).date() + dt.timedelta(days=182),
    )
    Dossier.objects.filter(pk=dossier.pk).update(
        status=S.RETURNED,
        received_at=received,
        due_at=due,
        finished_at=finished,
        returned_at=returned,
        timeliness=deadlines.timeliness(calendar, finished_at=finished, due=due),
        delivery_method=DeliveryMethod.ONLINE,
        result_document=document,
        form_data={"purpose": "Đăng ký kết hôn"},
    )
    dossier.refresh_from_db()
    for component in Component.objects.filter(case=case, is_mandatory=True):
        DossierComponent.objects.create(
            dossier=dossier, component=component, name=component.name, source=ComponentSource.DIGITISED
        )
    _events(
        dossier,
        [
            ("submit", "", S.SUBMITTED, submitted, None, "applicant", ""),
            ("receive", S.SUBMITTED, S.RECEIVED, received, clerk, StaffRole.CLERK, ""),
            (
                "forward",
                S.RECEIVED,
                S.IN_PROGRESS,
                received + dt.timedelta(minutes=20),
                clerk,
                StaffRole.CLERK,
                "",
            ),
            ("sign", S.IN_PROGRESS, S.PROCESSED, finished, leader, StaffRole.LEADER, ""),
            (
                "return",
                S.PROCESSED,
                S.RETURNED,
                returned,
                clerk,
                StaffRole.CLERK,
                "Kết quả điện tử đã vào kho dữ liệu của công dân.",
            ),
        ],
    )
    return dossier


def _supplement_dossier(resident: User, agency: Agency, clerk: User) -> Dossier | None:
    """A repair permit for a house (1.009974), filed online last week; the officer asked for a drawing."""
    case = _case("1.009974")
    if case is None:
        return None
    calendar = working_calendar()
    zone = timezone.get_current_timezone()
    submitted = calendar.next_working_moment(
        _moment_in_office(
            random.Random(2),  # noqa: S311 - demo data
            timezone.localdate() - dt.timedelta(days=7),
            zone,
        )
    )
    received = calendar.next_working_moment(submitted + dt.timedelta(hours=2))
    asked = calendar.next_working_moment(received + dt.timedelta(hours=10))
    now = timezone.now()
    asked = min(asked, now - dt.timedelta(minutes=1))
    amount, unit = deadlines.processing_budget(case=case, channel=FilingChannel.ONLINE)
    due = deadlines.due_at(calendar, received_at=received, amount=amount, unit=unit)
    quote = fee_for(case=case, channel="online", on_date=timezone.localtime(submitted).date())
    officer = _first_staff(agency, StaffRole.OFFICER) or clerk
    dossier = _new_dossier(resident, agency, case, key=SUPPLEMENT_KEY, submitted_at=submitted)
    Dossier.objects.filter(pk=dossier.pk).update(
        status=S.SUPPLEMENT_REQUESTED,
        received_at=received,
        due_at=due,
        paused_since=asked,
        step=WorkflowStep.objects.filter(case=case, status=S.IN_PROGRESS).order_by("order").first(),
        form_data={"address": f"Số 12, {resident.ward.name}", "works": "Sửa mái, thay cầu thang"},
        delivery_method=DeliveryMethod.COLLECT,
        fee_total=quote.resident_pays + quote.city_pays,
        fee_applicant=quote.resident_pays,
        fee_city=quote.city_pays,
        payment_status=PaymentStatus.PAID
        if quote.resident_pays
        else (PaymentStatus.CITY_PAID if quote.city_pays else PaymentStatus.NONE),
    )
    dossier.refresh_from_db()
    for component in Component.objects.filter(case=case, is_mandatory=True):
        DossierComponent.objects.create(
            dossier=dossier, component=component, name=component.name, source=ComponentSource.DIGITISED
        )
    note = "Bản vẽ thiết kế sửa chữa, cải tạo có chữ ký của chủ nhà"
    _events(
        dossier,
        [
            ("submit", "", S.SUBMITTED, submitted, None, "applicant", ""),
            ("receive", S.SUBMITTED, S.RECEIVED, received, clerk, StaffRole.CLERK, ""),
            (
                "forward",
                S.RECEIVED,
                S.IN_PROGRESS,
                received + dt.timedelta(minutes=30),
                clerk,
                StaffRole.CLERK,
                "",
            ),
            (
                "request_supplement",
                S.IN_PROGRESS,
                S.SUPPLEMENT_REQUESTED,
                asked,
                officer,
                StaffRole.OFFICER,
                note,
            ),
        ],
    )
    return dossier
