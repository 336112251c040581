"""Operator screens: units (read-mostly; changes go through reorganisation), agencies, announced days."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from hanoismart.common.text import fold
from hanoismart.directory.models import Agency, CalendarDay, Unit
from hanoismart.directory.services import calendar_day_remove, calendar_day_set


class FoldedSearchMixin:
    """Search the folded name, so "dong da" finds "Đống Đa" as on the public pages."""

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> Any:
        return super().get_search_results(request, queryset, fold(search_term))  # type: ignore[misc]


@admin.register(Unit)
class UnitAdmin(FoldedSearchMixin, admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "valid_from", "valid_to")
    list_filter = ("kind", ("valid_to", admin.EmptyFieldListFilter))
    search_fields = ("code", "name_folded")
    list_select_related = ("parent",)
    readonly_fields = ("code", "kind", "parent", "valid_from", "valid_to", "predecessors")
    fields = ("code", "name", "kind", "parent", "valid_from", "valid_to", "predecessors")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New units come from a reorganisation (directory.services.unit_reorganise), which records history.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Unit | None = None) -> bool:
        return False


@admin.register(Agency)
class AgencyAdmin(FoldedSearchMixin, admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "kind", "unit", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name_folded")
    list_select_related = ("unit",)
    raw_id_fields = ("unit", "parent")


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Announced days off and make-up working days, written through the services so deadlines see them."""

    list_display = ("date", "kind", "reason")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("reason",)

    def get_readonly_fields(self, request: HttpRequest, obj: CalendarDay | None = None) -> tuple[str, ...]:
        # The date is the key of an announcement: to move one, withdraw it and announce the new date.
        return ("date",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        saved = calendar_day_set(actor=request.user, date=obj.date, kind=obj.kind, reason=obj.reason)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        calendar_day_remove(actor=request.user, date=obj.date)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        for day in queryset:
            calendar_day_remove(actor=request.user, date=day.date)
