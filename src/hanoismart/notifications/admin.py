"""Operator screen for the outbox: see what was sent, what failed and why, and retry failed messages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hanoismart.common.errors import ApplicationError
from hanoismart.notifications.models import Message, MessageStatus
from hanoismart.notifications.services import message_retry


def _is_operator(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: the outbox is written by services. Operators may only retry failed messages."""

    list_display = ("created_at", "channel", "template", "address", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "channel", "template")
    search_fields = ("=id", "address", "template", "=dedupe_key")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    actions = ["retry_failed"]
    fields = (
        "id",
        "recipient",
        "channel",
        "address",
        "template",
        "language",
        "subject",
        "shown_body",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "delivered_at",
        "last_error",
        "read_at",
        "created_at",
        "dedupe_key",
    )
    readonly_fields = fields

    @admin.display(description=_("body"))
    def shown_body(self, obj: Message) -> str:
        # Bodies carry sign-in codes; outside the demo an operator must not be able to read them.
        if settings.DEMO_MODE:
            return obj.body
        return _("(hidden outside the demo: it may contain a sign-in code)")

    @admin.action(description=_("Retry the selected failed messages"), permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        retried = 0
        for message in queryset.filter(status=MessageStatus.FAILED):
            try:
                message_retry(actor=request.user, message_id=message.pk)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                retried += 1
        skipped = queryset.count() - retried
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", retried)
            % {"count": retried},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message was not retried: only failed messages can be.",
                    "%(count)d messages were not retried: only failed messages can be.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_operator(request)

    def has_view_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return _is_operator(request)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return _is_operator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False
