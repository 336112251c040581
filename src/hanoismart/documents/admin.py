"""Operator screens of the document store: read-only, since every change goes through a service (revoking
and superseding audit and notify the owner)."""

from django.contrib import admin

from hanoismart.documents.models import Document, DocumentFile, DocumentShare


class DocumentFileInline(admin.TabularInline):
    model = DocumentFile
    extra = 0
    can_delete = False
    fields = ("name", "content_type", "size", "sha256", "is_signed_pdf", "created_at")
    readonly_fields = fields


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "type_code", "issuer_name", "provenance", "status", "issued_on", "reuse_count")
    list_filter = ("provenance", "status", "type_code")
    search_fields = ("=public_id", "=number", "=source_dossier_code")
    inlines = [DocumentFileInline]
    list_select_related = ("issuer_agency",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DocumentShare)
class DocumentShareAdmin(admin.ModelAdmin):
    list_display = ("document", "created_at", "expires_at", "revoked_at", "view_count")
    exclude = ("token_digest",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
