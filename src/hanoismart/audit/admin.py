from django.contrib import admin

from hanoismart.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Operators search the log; nobody edits or deletes it."""

    list_display = (
        "at",
        "actor_label",
        "actor_role",
        "action",
        "object_type",
        "object_ref",
        "unit_code",
        "ip",
    )
    list_filter = ("action", "object_type", "unit_code")
    search_fields = ("actor_label", "action", "object_ref", "=subject_ref", "=actor_ref", "ip")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    # Operators are staff but not superusers and hold no model permissions, so Django's defaults would
    # hide the log from them (403); operator site access is what lets them read it.
    def has_module_permission(self, request):
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request, obj=None):
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
