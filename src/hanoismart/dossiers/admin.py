"""Operator screens for dossiers: read-only (every change goes through the services and leaves a trace),
and the national-portal sync queue, where a failed message can be put back in the queue."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hanoismart.dossiers.models import Dossier, DossierEvent, PortalSyncMessage
from hanoismart.dossiers.services.portal import portal_message_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class DossierEventInline(admin.TabularInline):
    model = DossierEvent
    fields = ["at", "action", "actor_label", "actor_role", "from_status", "to_status", "step_name", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    list_display = ["code", "procedure", "agency", "status", "channel", "submitted_at", "due_at"]
    list_filter = ["status", "channel", "timeliness", "payment_status"]
    search_fields = ["code"]
    inlines = [DossierEventInline]


@admin.register(PortalSyncMessage)
class PortalSyncMessageAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "sequence", "status", "state", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["state", "status"]
    search_fields = ["dossier__code"]
    actions = ["retry"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser or request.user.is_staff

    @admin.action(description=_("Put the failed messages back in the queue"))
    def retry(self, request: HttpRequest, queryset) -> None:
        for message in queryset.filter(state="failed"):
            portal_message_retry(actor=request.user, message=message)
