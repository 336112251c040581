"""The catalog of administrative procedures (bộ thủ tục hành chính): fields, procedures, their cases, fees,
dossier components and workflow steps. Reference data: seeded from ``data/catalog_hanoi.json``."""

from __future__ import annotations

import uuid

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hanoismart.common.text import fold
from hanoismart.directory.models import AgencyKind
from hanoismart.identity.models import StaffRole

NATIONAL_CODE_PATTERN = r"^\d\.\d{6}$"
national_code_validator = RegexValidator(
    NATIONAL_CODE_PATTERN,
    _("A national procedure code is one digit, a dot and six digits, e.g. 1.001193."),
    code="invalid_national_code",
)


class Level(models.TextChoices):
    CITY = "city", _("City")
    WARD_COMMUNE = "ward_commune", _("Ward or commune")


class OnlineLevel(models.TextChoices):
    FULL = "full", _("Fully online")
    PARTIAL = "partial", _("Partly online")


class Subject(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    ENTERPRISE = "enterprise", _("Enterprise")
    HOUSEHOLD_BUSINESS = "household_business", _("Household business")


class TimeUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    WORKING_HOURS = "working_hours", _("working hours")
    CALENDAR_DAYS = "calendar_days", _("calendar days")


class FeeKind(models.TextChoices):
    CHARGE = "phi", _("Charge (phí)")
    FEE = "le_phi", _("Fee (lệ phí)")


class FeeSetter(models.TextChoices):
    MINISTRY_OF_FINANCE = "ministry_of_finance", _("Ministry of Finance")
    CITY_COUNCIL = "city_council", _("City People's Council")


class DossierStatus(models.TextChoices):
    """The national public status codes of a dossier, which workflow steps map to."""

    SUBMITTED = "1", _("Submitted")
    RECEIVED = "2", _("Received")
    NOT_RECEIVED = "3", _("Not received")
    IN_PROGRESS = "4", _("In progress")
    SUPPLEMENT_REQUESTED = "5", _("Supplement requested")
    FINANCIAL_OBLIGATION = "6", _("Financial obligation due")
    WITHDRAWN = "7", _("Withdrawn")
    STOPPED = "8", _("Processing stopped")
    PROCESSED = "9", _("Processed")
    RETURNED = "10", _("Result returned")


class Field(models.Model):
    """A field of administration (lĩnh vực), e.g. civil status (hộ tịch)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_folded = models.CharField(max_length=200, db_index=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("field")
        verbose_name_plural = _("fields")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_folded = fold(self.name)
        super().save(*args, **kwargs)


class Procedure(models.Model):
    """An administrative procedure as published in the national database, with Hanoi's local details."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    national_code = models.CharField(
        _("national code"), max_length=8, unique=True, validators=[national_code_validator]
    )
    is_code_provisional = models.BooleanField(
        _("national code not yet verified"),
        default=False,
        help_text=_("Set when the code was not checked against the national procedure database."),
    )
    local_code = models.CharField(_("local code"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=500)
    name_folded = models.CharField(max_length=500, db_index=True, editable=False)
    summary = models.TextField(_("what it is for"), blank=True)
    field = models.ForeignKey(
        Field, verbose_name=_("field"), on_delete=models.PROTECT, related_name="procedures"
    )
    level = models.CharField(_("implementing level"), max_length=20, choices=Level.choices)
    agency_kind = models.CharField(_("responsible agency kind"), max_length=30, choices=AgencyKind.choices)
    agency = models.ForeignKey(
        "directory.Agency",
        verbose_name=_("responsible agency"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="procedures",
    )
    where_to_file = models.CharField(_("where to file"), max_length=300, blank=True)
    online_level = models.CharField(_("online level"), max_length=10, choices=OnlineLevel.choices)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    subjects = models.JSONField(_("who may file"), default=list, help_text=_("A list of subject codes."))
    yields_result = models.BooleanField(_("yields a result document"), default=True)
    result_type_code = models.CharField(_("result document type code"), max_length=40, blank=True)
    result_type_name = models.CharField(_("result document"), max_length=300, blank=True)
    may_file_outside_ward = models.BooleanField(_("may be filed outside one's own ward"), default=False)
    popularity = models.PositiveIntegerField(_("popularity"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-popularity", "name"]
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        constraints = [
            models.CheckConstraint(
                condition=Q(national_code__regex=NATIONAL_CODE_PATTERN), name="procedure_national_code_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.national_code} {self.name}"

    def save(self, *args, **kwargs):
        self.name_folded = fold(self.name)
        super().save(*args, **kwargs)


class Case(models.Model):
    """A case (trường hợp) of a procedure, with its own processing time, fees, papers, form and steps."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="cases")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=500)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    processing_time = models.DecimalField(
        _("processing time"), max_digits=6, decimal_places=1, validators=[MinValueValidator(0)]
    )
    time_unit = models.CharField(_("time unit"), max_length=20, choices=TimeUnit.choices)
    online_processing_time = models.DecimalField(
        _("processing time when filed online"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    form_schema = models.JSONField(_("application form (JSON Schema)"), default=dict, blank=True)

    class Meta:
        ordering = ["procedure", "order", "id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["procedure", "code"], name="case_code_unique_per_procedure"),
            models.CheckConstraint(condition=Q(processing_time__gte=0), name="case_processing_time_nonneg"),
        ]

    def __str__(self) -> str:
        return self.name


class Fee(models.Model):
    """A charge (phí) or fee (lệ phí) of a case, in VND, and who set it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="fees")
    kind = models.CharField(_("kind"), max_length=10, choices=FeeKind.choices)
    name = models.CharField(_("name"), max_length=300)
    amount = models.PositiveIntegerField(_("amount (VND)"))
    set_by = models.CharField(_("set by"), max_length=30, choices=FeeSetter.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["case", "id"]
        verbose_name = _("fee")
        verbose_name_plural = _("fees")

    def __str__(self) -> str:
        return f"{self.name}: {self.amount} VND"


class Component(models.Model):
    """A paper of the dossier (thành phần hồ sơ); ``document_type_code`` lets a stored document satisfy it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="components")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("name"), max_length=500)
    is_mandatory = models.BooleanField(_("mandatory"), default=True)
    originals = models.PositiveSmallIntegerField(_("originals"), default=0)
    copies = models.PositiveSmallIntegerField(_("copies"), default=0)
    accepted_file_types = models.JSONField(_("accepted file types"), default=list, blank=True)
    document_type_code = models.CharField(_("national document type code"), max_length=40, blank=True)

    class Meta:
        ordering = ["case", "order", "id"]
        verbose_name = _("dossier component")
        verbose_name_plural = _("dossier components")

    def __str__(self) -> str:
        return self.name


class WorkflowStep(models.Model):
    """A step of a case's internal workflow: who acts, how long they have, the public status it maps to."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=300)
    role = models.CharField(_("role that acts"), max_length=20, choices=StaffRole.choices)
    working_hours = models.DecimalField(
        _("time budget (working hours)"), max_digits=6, decimal_places=1, validators=[MinValueValidator(0)]
    )
    status = models.CharField(_("dossier status"), max_length=2, choices=DossierStatus.choices)

    class Meta:
        ordering = ["case", "order"]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow steps")
        constraints = [
            models.UniqueConstraint(fields=["case", "order"], name="workflow_step_order_unique"),
        ]

    def __str__(self) -> str:
        return self.name
