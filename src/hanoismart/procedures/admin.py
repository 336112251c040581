from django.contrib import admin

from hanoismart.procedures.models import Case, Component, Fee, Field, Procedure, WorkflowStep


@admin.register(Field)
class FieldAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class CaseInline(admin.TabularInline):
    model = Case
    fields = ["code", "name", "order", "processing_time", "time_unit", "online_processing_time"]
    extra = 0
    show_change_link = True


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ["national_code", "name", "field", "level", "online_level", "popularity", "is_active"]
    list_filter = ["level", "online_level", "field", "is_active", "is_code_provisional"]
    search_fields = ["national_code", "local_code", "name"]
    raw_id_fields = ["agency"]
    inlines = [CaseInline]


class FeeInline(admin.TabularInline):
    model = Fee
    extra = 0


class ComponentInline(admin.TabularInline):
    model = Component
    extra = 0


class WorkflowStepInline(admin.TabularInline):
    model = WorkflowStep
    extra = 0


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["procedure", "code", "name", "processing_time", "time_unit"]
    search_fields = ["procedure__national_code", "name"]
    raw_id_fields = ["procedure"]
    inlines = [FeeInline, ComponentInline, WorkflowStepInline]
