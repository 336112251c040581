"""Operator screens for the operations center: read-only views of alerts (with their timeline),
subscriptions, thresholds and digests. Every change goes through the services (the IOC's pages and API), so
it is checked and leaves a trace; here the operator only looks."""

from django.contrib import admin
from django.http import HttpRequest

from hanoismart.ioc.models import Alert, AlertEvent, AlertSubscription, DigestSubscription, KpiThreshold


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    fields = ["at", "action", "actor", "reason", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["raised_at", "kind", "state", "unit", "agency", "owner", "source_key"]
    list_filter = ["kind", "state", "resolved_reason"]
    search_fields = ["source_key", "unit__name", "agency__name"]
    list_select_related = ["unit", "agency", "owner"]
    inlines = [AlertEventInline]


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "unit", "channels", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["user", "unit"]


@admin.register(KpiThreshold)
class KpiThresholdAdmin(ReadOnlyAdmin):
    list_display = ["kpi", "unit", "comparison", "value", "is_active", "created_by", "created_at"]
    list_filter = ["kpi", "comparison", "is_active"]
    list_select_related = ["unit", "created_by"]


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["user", "unit", "frequency", "is_active", "last_sent_on"]
    list_filter = ["frequency", "is_active"]
    list_select_related = ["user", "unit"]
