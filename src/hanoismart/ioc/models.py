"""The operations center's own records: alerts that need a manager's attention (with their timeline and
owner), who subscribes to which alerts, the thresholds managers set on KPIs, and the leaders' scheduled
digests. Figures themselves are not stored here: they are read from the other apps' roll-ups."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    DOSSIER_OVERDUE = "dossier_overdue", _("Dossier past its due time")
    REPORT_LATE = "report_late", _("Report deadline missed")
    THRESHOLD = "threshold", _("KPI threshold crossed")


class AlertState(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


#: The states in which an alert still needs attention.
OPEN_ALERT_STATES = (AlertState.NEW, AlertState.ACKNOWLEDGED)


class AlertAction(models.TextChoices):
    """What a line of an alert's timeline records: the raise, a person's action (``services.ACTIONS``), or
    the detection closing or reopening the alert by itself (with an ``AutoReason``)."""

    RAISED = "raised", _("Raised")
    ACKNOWLEDGE = "acknowledge", _("Acknowledged")
    ASSIGN = "assign", _("Assigned")
    RESOLVE = "resolve", _("Resolved")
    REOPEN = "reopen", _("Reopened")
    COMMENT = "comment", _("Comment")
    AUTO_RESOLVE = "auto_resolve", _("Resolved automatically")
    AUTO_REOPEN = "auto_reopen", _("Reopened automatically")


class AutoReason(models.TextChoices):
    """Why the detection closed (or reopened) an alert by itself."""

    DOSSIER_FINISHED = "dossier_finished", _("The dossier was finished")
    DOSSIER_PAUSED = "dossier_paused", _("The dossier is waiting for a supplement")
    DUE_MOVED = "due_moved", _("The dossier's due time moved")
    OVERDUE_AGAIN = "overdue_again", _("The dossier is overdue again")
    REPORT_SUBMITTED = "report_submitted", _("The report was submitted")
    BACK_WITHIN = "back_within", _("Back within the threshold")
    THRESHOLD_REMOVED = "threshold_removed", _("The threshold was removed")
    CROSSED_AGAIN = "crossed_again", _("The threshold was crossed again")


class Alert(models.Model):
    """Something that needs attention, raised once per source (``source_key``), with an owner and a state.

    ``params`` holds what the message is made from (codes, names, figures), so the title is rendered in the
    reader's language; ``link`` leads to the records behind it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=30, choices=AlertKind.choices)
    state = models.CharField(_("state"), max_length=20, choices=AlertState.choices, default=AlertState.NEW)
    source_key = models.CharField(max_length=200, unique=True)
    unit = models.ForeignKey(
        "directory.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    agency = models.ForeignKey(
        "directory.Agency",
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised at"))
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # Why the detection resolved it ("" while open or when a person resolved it): the detection reopens only
    # what it closed itself, and follows the alerts of dossiers waiting for a supplement.
    resolved_reason = models.CharField(
        _("resolved because"), max_length=30, choices=AutoReason.choices, blank=True
    )

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["state", "-raised_at"], name="ioc_alert_state"),
            models.Index(fields=["unit", "-raised_at"], name="ioc_alert_unit"),
            # The few alerts closed while their dossier waits for a supplement, read on every detection.
            models.Index(
                fields=["kind"],
                condition=models.Q(resolved_reason=AutoReason.DOSSIER_PAUSED),
                name="ioc_alert_paused",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_key}"


class AlertEvent(models.Model):
    """One line of an alert's timeline: raised, acknowledged, assigned, commented, resolved, reopened — by a
    person (``actor``), or by the detection (no actor, with a ``reason``)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=30, choices=AlertAction.choices)
    note = models.TextField(_("note"), blank=True)
    reason = models.CharField(_("reason"), max_length=30, choices=AutoReason.choices, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")

    def __str__(self) -> str:
        return f"{self.alert_id} {self.action}"


class AlertSubscription(models.Model):
    """A manager's wish to be told of alerts of one kind (or all) in one unit (or all they oversee)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=30, choices=AlertKind.choices, blank=True)
    unit = models.ForeignKey(
        "directory.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    channels = models.JSONField(_("channels"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alert subscription")
        verbose_name_plural = _("alert subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "unit"],
                name="ioc_subscription_unique",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind or '*'} {self.unit_id or '*'}"


class Comparison(models.TextChoices):
    BELOW = "below", _("falls below")
    ABOVE = "above", _("rises above")


class KpiThreshold(models.Model):
    """A manager's threshold on a KPI for a unit (or the city): crossing it raises an alert."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kpi = models.CharField(_("KPI"), max_length=40)
    unit = models.ForeignKey(
        "directory.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    comparison = models.CharField(_("when it"), max_length=10, choices=Comparison.choices)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("KPI threshold")
        verbose_name_plural = _("KPI thresholds")

    def __str__(self) -> str:
        return f"{self.kpi} {self.comparison} {self.value}"


class DigestFrequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class DigestSubscription(models.Model):
    """A leader's scheduled digest: a PDF and Excel summary of a unit (or the city), sent through the
    outbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(
        "directory.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    frequency = models.CharField(_("frequency"), max_length=10, choices=DigestFrequency.choices)
    is_active = models.BooleanField(_("active"), default=True)
    last_sent_on = models.DateField(_("last sent on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("digest subscription")
        verbose_name_plural = _("digest subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "frequency"], name="ioc_digest_unique", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.frequency} {self.unit_id or '*'}"


class AlertDetection(models.Model):
    """One row: when alerts were last detected, and when the once-a-minute checks last ran (thresholds, and
    closing the alerts whose cause is gone: ``thresholds_checked_at``). Kept in the database because the
    cache is per process (LocMem), and every web process and the worker must agree, so that an open
    dashboard triggers a detection at most every few seconds whoever serves it."""

    last_run_at = models.DateTimeField(null=True, blank=True)
    thresholds_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert detection")
        verbose_name_plural = _("alert detection")

    def __str__(self) -> str:
        return f"alerts detected at {self.last_run_at}"
