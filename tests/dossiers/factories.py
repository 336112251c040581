"""Dossier factories: a small ward-level catalog (procedure, case, papers, the four workflow steps) and
dossiers built directly in any status, for tests that need rows rather than the filing service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from hanoismart.directory.models import Agency, AgencyKind
from hanoismart.dossiers.models import (
    DeliveryMethod,
    Dossier,
    DossierCodeSequence,
    FilingChannel,
    PaymentStatus,
)
from hanoismart.identity.models import StaffRole
from hanoismart.procedures.models import Case, Component, Field, Procedure, WorkflowStep
from hanoismart.procedures.models import DossierStatus as Status

BIRTH_FORM = {
    "type": "object",
    "title": "Tờ khai",
    "properties": {
        "child_name": {"type": "string", "title": "Họ, chữ đệm, tên trẻ", "minLength": 2, "maxLength": 100},
        "child_birth_date": {"type": "string", "format": "date", "title": "Ngày sinh"},
    },
    "required": ["child_name"],
}

#: The ward workflow of the seeded catalog: receive (clerk) → examine (officer) → sign (leader) → return.
WARD_STEPS = [
    ("Tiếp nhận, kiểm tra hồ sơ", StaffRole.CLERK, "4", Status.RECEIVED),
    ("Thẩm định, xác minh", StaffRole.OFFICER, "16", Status.IN_PROGRESS),
    ("Lãnh đạo UBND phê duyệt, ký", StaffRole.LEADER, "4", Status.PROCESSED),
    ("Trả kết quả", StaffRole.CLERK, "2", Status.RETURNED),
]


class FieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Field
        django_get_or_create = ("code",)

    code = "ho-tich"
    name = "Hộ tịch"


class ProcedureFactory(factory.django.DjangoModelFactory):
    """A ward-level, fully online procedure that yields a result (birth registration by default)."""

    class Meta:
        model = Procedure
        django_get_or_create = ("national_code",)

    national_code = factory.Sequence(lambda n: f"1.{900000 + n:06d}")
    name = factory.Sequence(lambda n: f"Đăng ký khai sinh {n}")
    field = factory.SubFactory(FieldFactory)
    level = "ward_commune"
    agency_kind = AgencyKind.PEOPLES_COMMITTEE
    online_level = "full"
    subjects = factory.LazyFunction(lambda: ["citizen"])
    yields_result = True
    result_type_code = "GKS"
    result_type_name = "Giấy khai sinh (bản chính)"
    may_file_outside_ward = False


class CaseFactory(factory.django.DjangoModelFactory):
    """A case of 3 working days, with the birth form; ``with_steps``/``with_components`` add the rest."""

    class Meta:
        model = Case
        skip_postgeneration_save = True

    procedure = factory.SubFactory(ProcedureFactory)
    code = factory.Sequence(lambda n: f"case-{n}")
    name = "Đăng ký khai sinh đúng hạn"
    processing_time = Decimal("3")
    time_unit = "working_days"
    form_schema = factory.LazyFunction(lambda: dict(BIRTH_FORM))

    @factory.post_generation
    def with_steps(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            for order, (name, role, hours, status) in enumerate(WARD_STEPS, start=1):
                WorkflowStep.objects.create(
                    case=obj, order=order, name=name, role=role, working_hours=Decimal(hours), status=status
                )

    @factory.post_generation
    def with_components(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            Component.objects.create(
                case=obj,
                order=1,
                name="Giấy chứng sinh",
                is_mandatory=True,
                originals=1,
                accepted_file_types=["pdf", "jpg", "png"],
                document_type_code="GCS",
            )
            Component.objects.create(
                case=obj,
                order=2,
                name="Văn bản ủy quyền (nếu có)",
                is_mandatory=False,
                accepted_file_types=["pdf"],
            )


def committee_of(unit) -> Agency:
    """The People's Committee of ``unit`` (created when missing), as filing looks it up."""
    agency = Agency.objects.filter(unit=unit, kind=AgencyKind.PEOPLES_COMMITTEE).order_by("code").first()
    if agency is None:
        from tests.directory.factories import AgencyFactory

        agency = AgencyFactory(unit=unit, kind=AgencyKind.PEOPLES_COMMITTEE)
    return agency


def next_code(agency: Agency, day: dt.date | None = None) -> str:
    """The next dossier code of ``agency`` on ``day``, advancing its sequence like the service does."""
    day = day or timezone.localdate()
    sequence, _ = DossierCodeSequence.objects.get_or_create(agency_code=agency.code, day=day)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{agency.code}-{day:%y%m%d}-{sequence.last_number:04d}"


class DossierFactory(factory.django.DjangoModelFactory):
    """A dossier submitted online (status 1) by ``applicant`` for ``case`` to ``agency``.

    Give ``status``/``received_at``/``due_at``/... to build one further along; rows only, no events.
    """

    class Meta:
        model = Dossier

    case = factory.SubFactory(CaseFactory)
    procedure = factory.LazyAttribute(lambda o: o.case.procedure)
    applicant = factory.SubFactory("tests.identity.factories.UserFactory")
    agency = factory.LazyAttribute(
        lambda o: committee_of(o.applicant.ward) if o.applicant and o.applicant.ward_id else None
    )
    unit = factory.LazyAttribute(lambda o: o.agency.unit)
    code = factory.LazyAttribute(lambda o: next_code(o.agency, timezone.localtime(o.submitted_at).date()))
    applicant_name = factory.LazyAttribute(lambda o: o.applicant.full_name if o.applicant else "Người nộp")
    applicant_national_id = factory.LazyAttribute(lambda o: o.applicant.national_id if o.applicant else "")
    applicant_phone = factory.LazyAttribute(lambda o: (o.applicant.phone or "") if o.applicant else "")
    channel = FilingChannel.ONLINE
    is_fully_online = True
    status = Status.SUBMITTED
    form_data = factory.LazyFunction(lambda: {"child_name": "Nguyễn Văn Bé"})
    delivery_method = DeliveryMethod.COLLECT
    payment_status = PaymentStatus.NONE
    submitted_at = factory.LazyFunction(timezone.now)
    created_by = factory.LazyAttribute(lambda o: o.applicant)
