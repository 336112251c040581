"""Writes to the catalogue: indicators, forms, their published versions, and who must report them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import Agency, Unit, UnitKind
from hanoismart.reporting import expressions
from hanoismart.reporting.models import (
    Assignment,
    FormItem,
    FormVersion,
    Indicator,
    ReporterScope,
    ReportForm,
    RuleKind,
    RuleSeverity,
    ValidationRule,
)
from hanoismart.reporting.permissions import ReportingPermission, has_permission

LOCAL_KINDS = (UnitKind.WARD, UnitKind.COMMUNE, UnitKind.SPECIAL_ZONE)


def _require_manager(actor: Any | None) -> None:
    """``actor=None`` is the platform (seeds, commands); anyone else needs reporting:form:manage."""
    if actor is not None and not has_permission(actor, ReportingPermission.REPORTING_FORM_MANAGE):
        raise PermissionDenied(_("You are not allowed to manage report forms."))


@dataclass(frozen=True)
class ItemSpec:
    """An indicator's place in a new version: section title, indicator code, required or not."""

    section: str
    indicator_code: str
    is_required: bool = False


@dataclass(frozen=True)
class RuleSpec:
    """A validation rule of a new version (see ``ValidationRule``)."""

    code: str
    severity: str
    message: str
    expression: str = ""
    change_indicator_code: str = ""
    max_change_percent: str | None = None


def form_version_publish(
    *,
    actor: Any | None,
    form: ReportForm,
    items: Sequence[ItemSpec],
    rules: Sequence[RuleSpec] = (),
    note: str = "",
) -> FormVersion:
    """Publish the next version of ``form``: its ordered indicators by section and its validation rules.

    Refused, with nothing written, when an indicator is unknown or repeated, or a rule does not parse or
    names an indicator that is not in the version. Earlier submissions keep the version they were made on.
    """
    _require_manager(actor)
    codes = [item.indicator_code for item in items]
    if not codes or len(set(codes)) != len(codes):
        raise InvalidInput(_("A version needs indicators, each listed once."))
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=codes)}
    unknown = sorted(set(codes) - set(indicators))
    if unknown:
        raise InvalidInput(_("Unknown indicators: %(codes)s.") % {"codes": ", ".join(unknown)})
    for rule in rules:
        if rule.severity not in RuleSeverity.values:
            raise InvalidInput(_("Unknown severity %(severity)s.") % {"severity": rule.severity})
        referenced = {rule.change_indicator_code} if rule.change_indicator_code else set()
        if rule.expression:
            try:
                referenced |= expressions.names(rule.expression)
            except expressions.ExpressionError as error:
                raise InvalidInput(
                    _("Rule %(code)s cannot be read: %(error)s") % {"code": rule.code, "error": error}
                ) from error
        elif not rule.change_indicator_code or rule.max_change_percent is None:
            raise InvalidInput(
                _("Rule %(code)s needs an expression or a change limit.") % {"code": rule.code}
            )
        if referenced - set(codes):
            raise InvalidInput(
                _("Rule %(code)s names indicators that are not in the form: %(names)s.")
                % {"code": rule.code, "names": ", ".join(sorted(referenced - set(codes)))}
            )
    with transaction.atomic():
        ReportForm.objects.select_for_update().filter(pk=form.pk).first()
        last = form.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = FormVersion.objects.create(
            form=form, number=last + 1, published_at=timezone.now(), note=note
        )
        FormItem.objects.bulk_create(
            FormItem(
                version=version,
                indicator=indicators[item.indicator_code],
                section=item.section,
                position=position,
                is_required=item.is_required,
            )
            for position, item in enumerate(items, start=1)
        )
        ValidationRule.objects.bulk_create(
            ValidationRule(
                version=version,
                code=rule.code,
                kind=RuleKind.EXPRESSION if rule.expression else RuleKind.CHANGE,
                expression=rule.expression,
                indicator=indicators.get(rule.change_indicator_code),
                max_change_percent=rule.max_change_percent,
                severity=rule.severity,
                message=rule.message,
            )
            for rule in rules
        )
        audit_record(
            actor=actor,
            action="reporting.form_version_publish",
            obj=form,
            details={"version": version.number},
        )
    return version


def assignments_sync(*, actor: Any | None, form: ReportForm, on_date: dt.date | None = None) -> int:
    """For a form every ward/commune must report: give each unit in force on ``on_date`` (today by default)
    an assignment for its lifetime, and end the assignments of units that ceased on the day they ceased.
    Idempotent; returns how many assignments were made or ended. Call it after units are reorganised."""
    _require_manager(actor)
    if form.reporter_scope != ReporterScope.ALL_LOCAL_UNITS:
        return 0
    day = on_date or timezone.localdate()
    changed = 0
    with transaction.atomic():
        assigned = set(
            Assignment.objects.filter(form=form, unit__isnull=False).values_list("unit_id", flat=True)
        )
        local = Unit.objects.filter(kind__in=LOCAL_KINDS, valid_from__lte=day).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=day)
        )
        new = [
            Assignment(form=form, unit=unit, valid_from=unit.valid_from, valid_to=unit.valid_to)
            for unit in local
            if unit.pk not in assigned
        ]
        Assignment.objects.bulk_create(new)
        changed += len(new)
        for assignment in Assignment.objects.filter(
            form=form, valid_to__isnull=True, unit__valid_to__isnull=False
        ).select_related("unit"):
            assignment.valid_to = assignment.unit.valid_to
            assignment.save(update_fields=["valid_to"])
            changed += 1
        if changed:
            audit_record(
                actor=actor, action="reporting.assignments_sync", obj=form, details={"changed": changed}
            )
    return changed


def assignment_add(
    *,
    actor: Any | None,
    form: ReportForm,
    unit: Unit | None = None,
    agency: Agency | None = None,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
) -> Assignment:
    """Make ``unit`` or ``agency`` (one of them) report ``form`` from ``valid_from`` (until ``valid_to``)."""
    _require_manager(actor)
    if (unit is None) == (agency is None):
        raise InvalidInput(_("An assignment names a unit or an agency."))
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput(_("An assignment must end after it starts."))
    with transaction.atomic():
        assignment = Assignment.objects.create(
            form=form, unit=unit, agency=agency, valid_from=valid_from, valid_to=valid_to
        )
        audit_record(
            actor=actor,
            action="reporting.assignment_add",
            obj=form,
            details={"unit": unit.code if unit else "", "agency": agency.code if agency else ""},
        )
    return assignment


def indicator_upsert(*, actor: Any | None, code: str, **fields: Any) -> Indicator:
    """Create the indicator ``code`` or update its fields (name, value type, aggregation…)."""
    _require_manager(actor)
    with transaction.atomic():
        indicator, created = Indicator.objects.update_or_create(code=code, defaults=fields)
        indicator.full_clean()
        audit_record(
            actor=actor, action="reporting.indicator_upsert", obj=indicator, details={"created": created}
        )
    return indicator


def form_upsert(*, actor: Any | None, code: str, **fields: Any) -> ReportForm:
    """Create the report form ``code`` or update its fields (owner agency, period calendar, who reports…)."""
    _require_manager(actor)
    with transaction.atomic():
        form, created = ReportForm.objects.update_or_create(code=code, defaults=fields)
        audit_record(actor=actor, action="reporting.form_upsert", obj=form, details={"created": created})
    return form
