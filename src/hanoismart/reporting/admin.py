"""Operator screens for the reporting catalogue (indicators, forms, versions, assignments) and a read-only
view
of periods and submissions. Submissions change only through the workflow services (desk, review, API)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from hanoismart.reporting.models import (
    Assignment,
    FormItem,
    FormVersion,
    Indicator,
    Period,
    ReminderLog,
    ReminderRule,
    ReportForm,
    ReportRequest,
    Submission,
    ValidationRule,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "value_type", "aggregation", "is_active")
    list_filter = ("value_type", "aggregation", "is_active")
    search_fields = ("code", "name")


@admin.register(ReportForm)
class ReportFormAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "period_type", "owner_agency", "reporter_scope", "is_active")
    list_filter = ("period_type", "reporter_scope", "is_active")
    search_fields = ("code", "name")
    raw_id_fields = ("owner_agency",)


class FormItemInline(admin.TabularInline):
    model = FormItem
    extra = 0
    raw_id_fields = ("indicator",)


class ValidationRuleInline(admin.TabularInline):
    model = ValidationRule
    extra = 0
    raw_id_fields = ("indicator",)


@admin.register(FormVersion)
class FormVersionAdmin(ReadOnlyAdmin):
    list_display = ("form", "number", "published_at", "note")
    inlines = [FormItemInline, ValidationRuleInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("form", "unit", "agency", "valid_from", "valid_to")
    list_filter = ("form",)
    raw_id_fields = ("unit", "agency")


@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    list_display = ("form", "code", "start", "end", "due_on", "locks_on")
    list_filter = ("form", "period_type")


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("form", "period", "unit", "agency", "status", "submitted_at", "on_time")
    list_filter = ("form", "status", "on_time")
    list_select_related = ("form", "period", "unit", "agency")


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    """When a form's reporters are reminded; without a rule, the defaults (−3, −1, 0, then daily)."""

    list_display = (
        "form",
        "offsets",
        "repeat_while_late",
        "escalate_leader_after",
        "escalate_city_after",
        "is_active",
    )
    list_filter = ("is_active",)


@admin.register(ReminderLog)
class ReminderLogAdmin(ReadOnlyAdmin):
    """Evidence of every reminder sent: read only."""

    list_display = ("sent_at", "form", "period", "unit", "agency", "recipient", "level", "kind", "channel")
    list_filter = ("kind", "level", "channel")
    date_hierarchy = "sent_at"


@admin.register(ReportRequest)
class ReportRequestAdmin(ReadOnlyAdmin):
    """Ad-hoc requests: sent by managers from the reporting pages or the API, read only here."""

    list_display = ("title", "form", "deadline", "created_by", "created_at")
