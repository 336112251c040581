"""Periodic reports: indicators, report forms and their versions, periods, who must report, submissions,
their values, validation rules, and the aggregates rolled up the unit hierarchy.

Zero and missing are different: a missing value has no ``DataValue`` row; a zero has a row with 0.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CODE_MAX_LENGTH = 40
DISAGGREGATION_MAX_LENGTH = 200


class ValueType(models.TextChoices):
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    PERCENTAGE = "percentage", _("Percentage")
    BOOLEAN = "boolean", _("Yes/no")
    TEXT = "text", _("Text")


class Aggregation(models.TextChoices):
    SUM = "sum", _("Sum")
    AVERAGE = "average", _("Average")
    WEIGHTED_AVERAGE = "weighted_average", _("Weighted average")
    MIN = "min", _("Minimum")
    MAX = "max", _("Maximum")
    LATEST = "latest", _("Latest reported")
    NONE = "none", _("Not aggregated")


class Indicator(models.Model):
    """A figure units report (chỉ tiêu), how it is typed, and how it rolls up the unit hierarchy.

    ``disaggregations`` is a list of category sets, e.g. ``[{"code": "sex", "options": ["male", "female"]}]``;
    a value is then reported for the total (key ``""``) and/or per combination (key ``"sex=female"``; with
    several sets, ``"age=0-5|sex=female"``, sets sorted by code).
    """

    code = models.CharField(_("code"), max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=40, blank=True)
    value_type = models.CharField(_("value type"), max_length=20, choices=ValueType.choices)
    aggregation = models.CharField(
        _("aggregation"), max_length=20, choices=Aggregation.choices, default=Aggregation.SUM
    )
    weight_indicator = models.ForeignKey(
        "self",
        verbose_name=_("weight indicator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="weighted",
        help_text=_("For a weighted average: the indicator whose value weighs each unit's figure."),
    )
    disaggregations = models.JSONField(_("disaggregations"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.CheckConstraint(
                condition=~Q(aggregation="weighted_average") | Q(weight_indicator__isnull=False),
                name="indicator_weighted_needs_weight",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def is_numeric(self) -> bool:
        return self.value_type != ValueType.TEXT


class PeriodType(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    HALF_YEAR = "half_year", _("Six-monthly")
    NINE_MONTH = "nine_month", _("Nine-monthly")
    YEARLY = "yearly", _("Yearly")
    AD_HOC = "ad_hoc", _("Ad hoc")


class ReporterScope(models.TextChoices):
    ALL_LOCAL_UNITS = "all_local_units", _("All wards and communes")
    AGENCIES = "agencies", _("Listed agencies")
    LISTED_UNITS = "listed_units", _("Listed units")


class ReportForm(models.Model):
    """A report form (biểu mẫu báo cáo): its owner, legal basis, period calendar and who must report.

    The period calendar: data runs to ``cut_off_day`` of the period's last month (Decree 09/2019/NĐ-CP: the
    14th, from the 15th of the month before; null: calendar months), is due ``due_working_days`` working days
    after the cut-off from reporters and ``city_due_working_days`` from the city upward, and locks
    ``lock_after_days`` calendar days after the reporters' due date.
    """

    code = models.CharField(_("code"), max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(_("name"), max_length=255)
    owner_agency = models.ForeignKey(
        "directory.Agency", verbose_name=_("owner agency"), on_delete=models.PROTECT, related_name="+"
    )
    legal_basis = models.CharField(_("legal basis"), max_length=255, blank=True)
    period_type = models.CharField(_("period type"), max_length=20, choices=PeriodType.choices)
    cut_off_day = models.PositiveSmallIntegerField(
        _("cut-off day"), null=True, blank=True, default=14, help_text=_("Empty: calendar months.")
    )
    due_working_days = models.PositiveSmallIntegerField(_("due (working days after cut-off)"), default=2)
    city_due_working_days = models.PositiveSmallIntegerField(
        _("due from the city upward (working days after cut-off)"), default=5
    )
    lock_after_days = models.PositiveSmallIntegerField(_("lock (days after due date)"), default=30)
    requires_sign_off = models.BooleanField(_("leader signs off before submitting"), default=False)
    reporter_scope = models.CharField(
        _("who must report"),
        max_length=20,
        choices=ReporterScope.choices,
        default=ReporterScope.ALL_LOCAL_UNITS,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("report form")
        verbose_name_plural = _("report forms")
        constraints = [
            models.CheckConstraint(
                condition=Q(cut_off_day__isnull=True) | Q(cut_off_day__gte=1, cut_off_day__lte=28),
                name="form_cut_off_day_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class FormVersion(models.Model):
    """One version of a form's content (sections of indicators and rules); submissions keep theirs.

    The current version is the published one with the highest number.
    """

    form = models.ForeignKey(ReportForm, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    note = models.CharField(_("what changed"), max_length=255, blank=True)
    indicators = models.ManyToManyField(Indicator, through="FormItem", related_name="form_versions")

    class Meta:
        ordering = ["form", "-number"]
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="form_version_unique")]

    def __str__(self) -> str:
        return f"{self.form.code} v{self.number}"


class FormItem(models.Model):
    """An indicator's place in a form version: its section, its order, whether it must be filled."""

    version = models.ForeignKey(FormVersion, on_delete=models.CASCADE, related_name="items")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    section = models.CharField(_("section"), max_length=200)
    position = models.PositiveIntegerField(_("order"))
    is_required = models.BooleanField(_("required"), default=False)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "indicator"], name="form_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.section} #{self.position}"


class RuleSeverity(models.TextChoices):
    ERROR = "error", _("Error: blocks submitting")
    WARNING = "warning", _("Warning: needs an explanation")


class RuleKind(models.TextChoices):
    EXPRESSION = "expression", _("Expression over indicator codes")
    CHANGE = "change", _("Change against the previous period")


class ValidationRule(models.Model):
    """A check run on submit, over the totals of a submission's values.

    ``expression``: a comparison over indicator codes and numbers with + - * / and parentheses
    (``A <= B``, ``A = B + C``, ``0 <= A <= 100``). ``change``: the value of ``indicator`` may not move more
    than ``max_change_percent`` from the unit's previous period. A rule whose figures are missing is skipped.
    """

    version = models.ForeignKey(FormVersion, on_delete=models.CASCADE, related_name="rules")
    code = models.CharField(_("code"), max_length=CODE_MAX_LENGTH)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices, default=RuleKind.EXPRESSION)
    expression = models.CharField(_("expression"), max_length=500, blank=True)
    indicator = models.ForeignKey(
        Indicator,
        verbose_name=_("indicator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    max_change_percent = models.DecimalField(
        _("largest change (%)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    severity = models.CharField(_("severity"), max_length=10, choices=RuleSeverity.choices)
    message = models.CharField(_("message"), max_length=255)

    class Meta:
        ordering = ["version", "code"]
        verbose_name = _("validation rule")
        verbose_name_plural = _("validation rules")
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="rule_code_unique")]

    def __str__(self) -> str:
        return f"{self.code}: {self.expression or self.indicator_id}"


class Assignment(models.Model):
    """Who must report a form, and over which dates: a unit (ward/commune) or an agency (department).

    A reporter is expected for a period when its assignment is valid on the period's end date (and, for a
    unit, the unit is in force then), so units that merged or split count where they should.
    """

    form = models.ForeignKey(ReportForm, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        "directory.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agency = models.ForeignKey(
        "directory.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=True, agency__isnull=False)
                | Q(unit__isnull=False, agency__isnull=True),
                name="assignment_unit_xor_agency",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="assignment_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} → {self.unit_id or self.agency_id}"


class Period(models.Model):
    """One reporting period of a form: the data it covers, its cut-off, due dates per tier and lock date.

    Made by ``services.period_for`` (or by an ad-hoc request), never by hand: the dates follow the form's
    calendar and the city's working days.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    form = models.ForeignKey(ReportForm, on_delete=models.CASCADE, related_name="periods")
    period_type = models.CharField(_("period type"), max_length=20, choices=PeriodType.choices)
    code = models.CharField(_("code"), max_length=20)
    start = models.DateField(_("data from"))
    end = models.DateField(_("data to (cut-off)"))
    due_on = models.DateField(_("due from reporters"))
    due_at = models.DateTimeField(_("due moment"), help_text=_("End of office hours of the due date."))
    city_due_on = models.DateField(_("due from the city"))
    locks_on = models.DateField(_("locks on"))

    class Meta:
        ordering = ["form", "-end"]
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        constraints = [
            models.UniqueConstraint(fields=["form", "code"], name="period_code_unique"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="period_range"),
        ]
        indexes = [models.Index(fields=["form", "end"])]

    def __str__(self) -> str:
        return f"{self.form.code} {self.code}"


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for correction")
    ACCEPTED = "accepted", _("Accepted")
    LOCKED = "locked", _("Locked")


# Submissions whose values count in aggregates and completeness: they arrived and were not sent back.
COUNTED_STATUSES = (SubmissionStatus.SUBMITTED, SubmissionStatus.ACCEPTED, SubmissionStatus.LOCKED)


class Submission(models.Model):
    """One reporter's report for one period, on the form version it was made on.

    The reporter is a unit (a ward or commune reports for itself) or an agency (a department); ``unit`` is
    always set — for an agency, the unit it serves — and is where the values enter the roll-up.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    form = models.ForeignKey(ReportForm, on_delete=models.PROTECT, related_name="submissions")
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="submissions")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="submissions")
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(
        "directory.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_time = models.BooleanField(_("on time"), null=True, blank=True)
    signed_off_at = models.DateTimeField(_("signed off"), null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    returned_reason = models.TextField(_("reason for return"), blank=True)
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    warning_comments = models.JSONField(
        _("explanations of warnings"), default=dict, blank=True, help_text=_("Rule code → explanation.")
    )

    class Meta:
        ordering = ["-period__end", "unit__code"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        constraints = [
            models.UniqueConstraint(
                fields=["form", "period", "unit"],
                condition=Q(agency__isnull=True),
                name="submission_unit_unique",
            ),
            models.UniqueConstraint(
                fields=["form", "period", "agency"],
                condition=Q(agency__isnull=False),
                name="submission_agency_unique",
            ),
        ]
        indexes = [models.Index(fields=["period", "status"])]

    def __str__(self) -> str:
        return f"{self.form.code} {self.period.code} {self.unit_id}"

    @property
    def is_counted(self) -> bool:
        return self.status in COUNTED_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)


class DataValue(models.Model):
    """One reported figure: a submission's value of an indicator, for the total (``disaggregation=""``) or one
    combination of categories. Numbers in ``number``, text in ``text``."""

    # Keeps its own index although the unique (submission, indicator, disaggregation) starts with it: without
    # it PostgreSQL reads a period's values (156 reports) by a scan of every value (1 s instead of 47 ms at
    # 2.8 M values).
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="values")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    disaggregation = models.CharField(max_length=DISAGGREGATION_MAX_LENGTH, blank=True, default="")
    number = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    text = models.TextField(blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("data value")
        verbose_name_plural = _("data values")
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "indicator", "disaggregation"], name="data_value_unique"
            ),
        ]

    def __str__(self) -> str:
        value = self.number if self.number is not None else self.text
        return f"{self.indicator_id}[{self.disaggregation}]={value}"


class Aggregate(models.Model):
    """An indicator's value for a unit and its subtree in one period, kept up to date as submissions arrive.

    ``count`` is how many reports contributed; ``weight`` is the sum of weights behind an average (the count
    for a plain average); ``weighted_sum`` is, for an average, the exact sum of value × weight behind it (the
    value is that divided by ``weight``, rounded), so an average can move by difference like a sum (null for
    the other rules); ``latest_at`` is when the contributing report behind a "latest" value was submitted.
    """

    # No index of their own: the unique (indicator, period, unit, disaggregation) and (period, unit) serve;
    # a ward's report writes 600 aggregates, each index one more to keep up.
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+", db_index=False)
    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="aggregates", db_index=False)
    unit = models.ForeignKey("directory.Unit", on_delete=models.CASCADE, related_name="+")
    disaggregation = models.CharField(max_length=DISAGGREGATION_MAX_LENGTH, blank=True, default="")
    value = models.DecimalField(max_digits=28, decimal_places=6)
    count = models.PositiveIntegerField(default=0)
    weight = models.DecimalField(max_digits=28, decimal_places=6, default=0)
    # values (4 decimals, 16 digits before the point) × weights (the same): 8 decimals, room for the sum
    weighted_sum = models.DecimalField(max_digits=48, decimal_places=8, null=True, blank=True)
    latest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("aggregate")
        verbose_name_plural = _("aggregates")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period", "unit", "disaggregation"], name="aggregate_unique"
            ),
        ]
        indexes = [models.Index(fields=["period", "unit"])]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.period_id} {self.unit_id}[{self.disaggregation}]={self.value}"


# -- reminders (đôn đốc) and ad-hoc requests --------------------------------------------------------------


def default_reminder_offsets() -> list[int]:
    return [-3, -1, 0]


def default_reminder_channels() -> list[str]:
    return ["in_app", "sms"]


class ReminderRule(models.Model):
    """When a form's reporters are chased: ``offsets`` in working days relative to the due date (−3: three
    working days before, 0: on the due date), then every working day while late; the unit's leader is added
    after ``escalate_leader_after`` working days late, the city's office (the owner agency's leaders and the
    city managers) after ``escalate_city_after``. A form without a rule uses these defaults."""

    form = models.OneToOneField(ReportForm, on_delete=models.CASCADE, related_name="reminder_rule")
    offsets = models.JSONField(
        _("reminder days (working days from the due date)"), default=default_reminder_offsets
    )
    repeat_while_late = models.BooleanField(_("remind every working day while late"), default=True)
    escalate_leader_after = models.PositiveSmallIntegerField(
        _("escalate to the unit's leader after (working days late)"), default=2
    )
    escalate_city_after = models.PositiveSmallIntegerField(
        _("escalate to the city's office after (working days late)"), default=5
    )
    channels = models.JSONField(_("channels"), default=default_reminder_channels)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(escalate_city_after__gte=models.F("escalate_leader_after")),
                name="reminder_escalation_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.form_id}: {self.offsets}"


class ReminderLevel(models.TextChoices):
    REPORTER = "reporter", _("Reporter")
    LEADER = "leader", _("Unit leader")
    CITY = "city", _("City office")


class ReminderKind(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CHASE = "chase", _("Chased by hand")


class ReminderLog(models.Model):
    """Evidence of one reminder: who was reminded of which reporter's report for which period, when, through
    which channel and outbox message (whether it was delivered is read from the outbox)."""

    form = models.ForeignKey(ReportForm, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="reminders")
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(
        "directory.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(_("level"), max_length=10, choices=ReminderLevel.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=ReminderKind.choices)
    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=10)
    message_id = models.UUIDField(_("outbox message"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "pk"]
        verbose_name = _("reminder log entry")
        verbose_name_plural = _("reminder log")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period", "unit", "recipient", "channel", "day"],
                condition=Q(agency__isnull=True),
                name="reminder_once_per_day_unit",
            ),
            models.UniqueConstraint(
                fields=["kind", "period", "agency", "recipient", "channel", "day"],
                condition=Q(agency__isnull=False),
                name="reminder_once_per_day_agency",
            ),
        ]
        indexes = [models.Index(fields=["period", "unit"]), models.Index(fields=["recipient", "day"])]

    def __str__(self) -> str:
        return f"{self.period_id} {self.unit_id} → {self.recipient_id} {self.channel} {self.day}"


class ReportRequest(models.Model):
    """An ad-hoc report request (e.g. storm damage within 24 hours): a form of its own (selected indicators
    and free-text questions) with one ad-hoc period, assigned to the chosen units; answers are submissions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    form = models.OneToOneField(ReportForm, on_delete=models.CASCADE, related_name="request")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=255)
    instructions = models.TextField(_("instructions"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("report request")
        verbose_name_plural = _("report requests")

    def __str__(self) -> str:
        return self.title
