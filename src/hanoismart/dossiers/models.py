"""Dossiers (hồ sơ) and their one-stop workflow: what was filed, by whom, where it stands (the national status
codes), its deadlines and pauses, papers, events, apology letters, payments, ratings, and the messages that
keep the national public service portal in sync. Every change goes through ``services``."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _

from hanoismart.procedures.models import DossierStatus

#: status value -> its lazy label (``Dossier.get_status_display``)
_STATUS_LABELS = dict(DossierStatus.choices)

#: Statuses in which a dossier is still being handled (its clock may run).
OPEN_STATUSES = frozenset(
    {
        DossierStatus.SUBMITTED,
        DossierStatus.RECEIVED,
        DossierStatus.IN_PROGRESS,
        DossierStatus.SUPPLEMENT_REQUESTED,
        DossierStatus.FINANCIAL_OBLIGATION,
    }
)
#: Statuses after which nothing more happens to a dossier (bar a rating).
FINAL_STATUSES = frozenset(
    {DossierStatus.NOT_RECEIVED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED, DossierStatus.RETURNED}
)


class FilingChannel(models.TextChoices):
    ONLINE = "online", _("Online")
    IN_PERSON = "in_person", _("In person at the desk")
    POST = "post", _("By post")


class DeliveryMethod(models.TextChoices):
    COLLECT = "collect", _("Collect at the desk")
    POST = "post", _("Delivered by post")
    ONLINE = "online", _("Electronic copy only")


class Timeliness(models.TextChoices):
    EARLY = "early", _("Early")
    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")


class PaymentStatus(models.TextChoices):
    NONE = "none", _("Nothing to pay")
    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Waived")
    CITY_PAID = "city_paid", _("Paid by the city")


class Dossier(models.Model):
    """One application for a procedure case, from filing to the returned result."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(_("dossier code"), max_length=60, unique=True)
    procedure = models.ForeignKey(
        "procedures.Procedure", verbose_name=_("procedure"), on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "procedures.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="+"
    )
    agency = models.ForeignKey(
        "directory.Agency",
        verbose_name=_("receiving agency"),
        on_delete=models.PROTECT,
        related_name="dossiers",
    )
    # The agency's unit, kept on the row: staff scoping and statistics filter on it without a join.
    unit = models.ForeignKey(
        "directory.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="dossiers"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant's account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers",
    )
    applicant_organisation = models.ForeignKey(
        "identity.Organisation",
        verbose_name=_("applicant organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers",
    )
    # What the applicant declared at filing (kept even if the account changes later).
    applicant_name = models.CharField(_("applicant's name"), max_length=200)
    applicant_national_id = models.CharField(_("national ID number"), max_length=12, blank=True)
    applicant_phone = models.CharField(_("phone"), max_length=20, blank=True)
    applicant_email = models.EmailField(_("email"), blank=True)
    applicant_address = models.CharField(_("address"), max_length=300, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=FilingChannel.choices)
    is_fully_online = models.BooleanField(_("fully online"), default=False)
    status = models.CharField(
        _("status"), max_length=2, choices=DossierStatus.choices, default=DossierStatus.SUBMITTED
    )
    step = models.ForeignKey(
        "procedures.WorkflowStep",
        verbose_name=_("current step"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    step_due_at = models.DateTimeField(_("step due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("held by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_dossiers",
    )
    form_data = models.JSONField(_("application form"), default=dict, blank=True)
    delivery_method = models.CharField(
        _("how the result is delivered"),
        max_length=20,
        choices=DeliveryMethod.choices,
        default=DeliveryMethod.COLLECT,
    )
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    fee_total = models.PositiveIntegerField(_("fees (VND)"), default=0)
    fee_applicant = models.PositiveIntegerField(_("paid by the applicant (VND)"), default=0)
    fee_city = models.PositiveIntegerField(_("paid by the city (VND)"), default=0)
    payment_status = models.CharField(
        _("payment"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.NONE
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    # The clock stops while a supplement is awaited; due_at moves by the working time paused.
    paused_since = models.DateTimeField(_("clock paused since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("working time paused (seconds)"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("result returned at"), null=True, blank=True)
    timeliness = models.CharField(_("timeliness"), max_length=10, choices=Timeliness.choices, blank=True)
    result_document = models.ForeignKey(
        "documents.Document",
        verbose_name=_("result"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="dossier_idempotency_unique",
            ),
            models.CheckConstraint(
                condition=Q(fee_total=models.F("fee_applicant") + models.F("fee_city")),
                name="dossier_fee_parts_add_up",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "status"], name="dossier_unit_status"),
            models.Index(fields=["agency", "status"], name="dossier_agency_status"),
            models.Index(fields=["applicant", "-submitted_at"], name="dossier_applicant"),
            models.Index(fields=["status", "due_at"], name="dossier_status_due"),
            # The open dossiers only (about 1 % of them): the IOC's stock figures count them by unit, agency
            # and procedure from this index alone on PostgreSQL (index-only scan), whatever the history.
            models.Index(
                fields=["unit", "agency", "procedure"],
                include=["due_at", "paused_since", "received_at"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="dossier_open_stock",
            ),
            # The running open dossiers (received, not waiting for a supplement) by due moment: the stock
            # figures that move with the clock (overdue since midnight, due within 24 hours) and the next due
            # moment the live token watches are a range of this index (index-only on PostgreSQL).
            models.Index(
                fields=["due_at"],
                include=["unit", "agency"],
                condition=Q(
                    status__in=sorted(OPEN_STATUSES), paused_since__isnull=True, received_at__isnull=False
                ),
                name="dossier_running_due",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_status_display(self) -> str:
        """The status's label in the active language, as Django's own ``get_status_display`` gives it,
        without making a dict of the ten lazy labels (each translated to be hashed) on every call."""
        return force_str(_STATUS_LABELS.get(self.status, self.status), strings_only=True)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ComponentSource(models.TextChoices):
    NOT_DIGITISED = "not_digitised", _("Not digitised (paper only)")
    DIGITISED = "digitised", _("Digitised (scanned or uploaded)")
    REUSED = "reused", _("Reused from the document store")
    REUSED_RESULT = "reused_result", _("Reused from another dossier's result")


class DossierComponent(models.Model):
    """One paper of a dossier: a catalog component satisfied by a file, a stored document, or paper."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(
        "procedures.Component", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=500)
    source = models.CharField(_("source"), max_length=20, choices=ComponentSource.choices)
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), upload_to="dossiers/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    is_supplement = models.BooleanField(_("added as a supplement"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dossier", "id"]
        verbose_name = _("dossier paper")
        verbose_name_plural = _("dossier papers")

    def __str__(self) -> str:
        return self.name


class DossierEvent(models.Model):
    """One step in a dossier's timeline: who did what, when, with a note and an optional attachment."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(max_length=2, choices=DossierStatus.choices, blank=True)
    to_status = models.CharField(max_length=2, choices=DossierStatus.choices, blank=True)
    step_name = models.CharField(_("step"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to="dossier-events/%Y/%m/", blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dossier", "at", "id"]
        verbose_name = _("dossier event")
        verbose_name_plural = _("dossier events")

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.action}"


class DossierCodeSequence(models.Model):
    """The last number given to an agency's dossiers on one day: codes are ``{agency}-{yyMMdd}-{nnnn}``."""

    agency_code = models.CharField(max_length=40)
    day = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_code", "day"], name="dossier_code_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agency_code} {self.day}: {self.last_number}"


class ApologyLetter(models.Model):
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả: required before a late dossier's result is returned."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="apology_letters")
    reason = models.TextField(_("reason for the delay"))
    previous_due_at = models.DateTimeField(_("previous due date"))
    new_due_at = models.DateTimeField(_("new date for the result"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dossier", "created_at"]
        verbose_name = _("apology letter")
        verbose_name_plural = _("apology letters")

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.new_due_at:%Y-%m-%d}"


class PaymentState(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class Payment(models.Model):
    """A payment of a dossier's fees through the gateway adapter (the demo uses a simulator)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveIntegerField(_("amount (VND)"))
    payer = models.CharField(_("paid by"), max_length=20, default="applicant")
    state = models.CharField(
        _("state"), max_length=20, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    gateway = models.CharField(_("gateway"), max_length=40)
    gateway_ref = models.CharField(_("gateway reference"), max_length=100, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dossier", "created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_ref"],
                condition=~Q(gateway_ref=""),
                name="payment_gateway_ref_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.amount} VND ({self.state})"


class Satisfaction(models.TextChoices):
    VERY_SATISFIED = "very_satisfied", _("Very satisfied")
    SATISFIED = "satisfied", _("Satisfied")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")


class Rating(models.Model):
    """The applicant's rating after the return: nine criteria scored 2/1/0 and an overall verdict."""

    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="rating")
    scores = models.JSONField(_("scores by criterion"), default=dict)
    total = models.PositiveSmallIntegerField(_("total score"), default=0)
    overall = models.CharField(_("overall"), max_length=20, choices=Satisfaction.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [models.CheckConstraint(condition=Q(total__lte=18), name="rating_total_max")]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.overall}"


class SyncState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class PortalSyncMessage(models.Model):
    """A status change queued for the national public service portal, delivered with retries, in order."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="portal_messages")
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=2, choices=DossierStatus.choices)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=SyncState.choices, default=SyncState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dossier", "sequence"]
        verbose_name = _("national portal sync message")
        verbose_name_plural = _("national portal sync messages")
        constraints = [
            models.UniqueConstraint(fields=["dossier", "sequence"], name="portal_sync_sequence_unique")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="portal_sync_due")]

    def __str__(self) -> str:
        return f"{self.dossier_id}#{self.sequence} → {self.status}"


class PortalSimulatorRecord(models.Model):
    """What the national portal simulator received (the demo's and the tests' stand-in for the portal), at
    most once per (dossier code, message sequence)."""

    dossier_code = models.CharField(max_length=60)
    # The message's sequence: with the code, the key that makes a re-sent message a no-op (ON CONFLICT DO
    # NOTHING). Empty only for records written without one (rows older than the key, test stand-ins).
    sequence = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=2)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier_code", "sequence"], name="portal_simulator_message_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dossier_code} → {self.status}"


#: The nine criteria of the satisfaction rating (each scored 2 good, 1 fair, 0 poor), in the order shown.
RATING_CRITERIA: dict[str, str] = {
    "information": _("The procedure's information was public and easy to find"),
    "access": _("Filing was easy (online or at the desk)"),
    "guidance": _("Staff explained clearly what was needed"),
    "attitude": _("Staff were courteous"),
    "papers": _("Only the published papers were asked for"),
    "fees": _("Only the published fees were charged"),
    "time": _("The result came by the promised date"),
    "result": _("The result was correct"),
    "feedback": _("Questions and complaints were answered"),
}


#: The flow figures a daily roll-up row carries (the names of ``selectors.stats.FIGURES`` that are flows:
#: counted on one day, so a period's figure is the sum of its days).
ROLLUP_FIGURES = (
    "received",
    "online",
    "fully_online",
    "finished",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "synced",
    "components",
    "components_digitised",
    "components_reused",
    "ratings",
    "ratings_satisfied",
    "ratings_very_satisfied",
    "rating_score_sum",
    "fees_due",
    "fees_paid",
    "fees_paid_online",
    "fees_waived",
    "fees_city_paid",
    "fee_total",
    "fee_applicant",
    "fee_city",
)


class RollupFigures(models.Model):
    """The flow figures (``ROLLUP_FIGURES``) a roll-up row carries, and when it last changed."""

    received = models.IntegerField(default=0)
    online = models.IntegerField(default=0)
    fully_online = models.IntegerField(default=0)
    finished = models.IntegerField(default=0)
    finished_early = models.IntegerField(default=0)
    finished_on_time = models.IntegerField(default=0)
    finished_late = models.IntegerField(default=0)
    synced = models.IntegerField(default=0)
    components = models.IntegerField(default=0)
    components_digitised = models.IntegerField(default=0)
    components_reused = models.IntegerField(default=0)
    ratings = models.IntegerField(default=0)
    ratings_satisfied = models.IntegerField(default=0)
    ratings_very_satisfied = models.IntegerField(default=0)
    rating_score_sum = models.IntegerField(default=0)
    fees_due = models.IntegerField(default=0)
    fees_paid = models.IntegerField(default=0)
    fees_paid_online = models.IntegerField(default=0)
    fees_waived = models.IntegerField(default=0)
    fees_city_paid = models.IntegerField(default=0)
    fee_total = models.BigIntegerField(default=0)
    fee_applicant = models.BigIntegerField(default=0)
    fee_city = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DossierDailyRollup(RollupFigures):
    """The day's flow figures of one unit × agency × procedure, kept current by every dossier change in the
    same transaction (``services.rollups``), so dashboards sum a few rows instead of scanning dossiers.

    Each dossier contributes to the row of the day it was received (received, channel, papers, fees, sync),
    of the day it finished (finished, timeliness) and of the day it was rated; ``dossier_rollups --check``
    recomputes every row from the dossier rows and reports any difference."""

    day = models.DateField(_("day"))
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey("procedures.Procedure", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("daily dossier figures")
        verbose_name_plural = _("daily dossier figures")
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "agency", "procedure"], name="dossier_rollup_key"),
        ]
        indexes = [
            models.Index(fields=["unit", "day"], name="dossier_rollup_unit_day"),
            models.Index(fields=["agency", "day"], name="dossier_rollup_agency_day"),
            models.Index(fields=["day"], name="dossier_rollup_day"),
            models.Index(fields=["updated_at"], name="dossier_rollup_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id}/{self.agency_id}/{self.procedure_id}"


class DossierAgencyDayRollup(RollupFigures):
    """The day's flow figures of one unit × agency: the sum of its ``DossierDailyRollup`` rows over the
    procedures, kept current in the same statement pair (``services.rollups.rollup_add``). About 130 rows a
    day for the whole city whatever the number of procedures, so a month's or a year's overview, a ranking or
    a drill-down by unit reads a few thousand rows; figures by field or procedure read the daily rows."""

    day = models.DateField(_("day"))
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("daily dossier figures of an agency")
        verbose_name_plural = _("daily dossier figures of agencies")
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "agency"], name="dossier_agency_rollup_key"),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="dossier_agency_rollup_unit_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id}/{self.agency_id}"


class DossierAgencyMonthRollup(RollupFigures):
    """The month's flow figures of one unit × agency: the sum of its ``DossierAgencyDayRollup`` rows of that
    month, kept current by a third upsert of the same changes (``services.rollups.rollup_add``). A year of
    the city is ≈ 1,600 such rows against ≈ 48,000 agency-day rows: figures over periods that span whole
    months read these for the whole months and the agency-day rows for the days at either end."""

    month = models.DateField(_("month (its first day)"))
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("monthly dossier figures of an agency")
        verbose_name_plural = _("monthly dossier figures of agencies")
        constraints = [
            models.UniqueConstraint(fields=["month", "unit", "agency"], name="dossier_month_rollup_key"),
        ]
        indexes = [models.Index(fields=["unit", "month"], name="dossier_month_rollup_unit")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.unit_id}/{self.agency_id}"


class StockTier(models.TextChoices):
    """How finely an open-stock row buckets the due moments: by the month (every open dossier has one such
    row) or by the day (and one such row too)."""

    MONTH = "M", _("due month")
    DAY = "D", _("due day")


#: The bucket of an open dossier without a due moment: never overdue, never due soon.
NO_DUE_DAY = dt.date(9999, 12, 31)


class DossierOpenStock(models.Model):
    """How many received dossiers of one unit × agency are open now (``open``) and how many of them wait for
    a supplement (``paused``), by the local month (tier M) and, again, by the local day (tier D) of their due
    moment; kept current by every change of a dossier's open state in the same transaction
    (``services.rollups``), so the IOC's stock figures sum a few thousand rows instead of counting the open
    dossiers: in progress and paused are the month rows' sums; overdue is the running dossiers of the months
    before this one (month rows) and of the days of this month before today (day rows), plus those due today
    before now (counted live from the ``dossier_running_due`` index, as is due soon). ``dossier_rollups
    --check`` recomputes every row from the dossier rows."""

    tier = models.CharField(_("tier"), max_length=1, choices=StockTier.choices)
    due = models.DateField(_("due month or day"))
    unit = models.ForeignKey("directory.Unit", on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("directory.Agency", on_delete=models.PROTECT, related_name="+")
    open = models.IntegerField(default=0)
    paused = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("open dossiers by due date")
        verbose_name_plural = _("open dossiers by due date")
        constraints = [
            models.UniqueConstraint(fields=["tier", "due", "unit", "agency"], name="dossier_open_stock_key"),
        ]

    def __str__(self) -> str:
        return f"{self.tier}{self.due} {self.unit_id}/{self.agency_id}"
