"""The reporting view: per active report form, which units reported on time, late or not at all in the last
six periods (a heatmap), the units whose report is not in with a "chase" button (the reporting app's
reminder service), and an indicator explorer (indicator, period range, unit, disaggregation → chart, table,
Excel), built on the reporting app's selectors."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from hanoismart.common.errors import ApplicationError, NotFound
from hanoismart.directory.selectors import unit_by_code
from hanoismart.ioc.permissions import IocPermission, has_permission
from hanoismart.ioc.selectors import IocScope
from hanoismart.ioc.views._shared import filter_context, filters_from, ioc_page, xlsx_response
from hanoismart.reporting.models import PeriodType, ValueType
from hanoismart.reporting.selectors import (
    ReportState,
    aggregate_values,
    completeness,
    form_by_code,
    form_current_version,
    form_list,
    period_by_code,
    period_list,
    value_comparison,
    version_items,
)
from hanoismart.reporting.services import reminder_chase

HEATMAP_PERIODS = 6
EXPLORER_PERIODS = 36
EXPLORER_DEFAULT_SPAN = 6
STATE_LABELS = {
    ReportState.ON_TIME: gettext_lazy("On time"),
    ReportState.LATE: gettext_lazy("Late"),
    ReportState.MISSING: gettext_lazy("Missing"),
    "none": gettext_lazy("Not expected"),
}


def _in_view(reporter: Any, filters: Any) -> bool:
    """Whether a reporter belongs to the unit looked at (the city: every unit in scope)."""
    if filters.selector_unit:
        return reporter.unit.pk == filters.unit.pk
    return filters.scope.unit_ids is None or reporter.unit.pk in filters.scope.unit_ids


def _form_block(form: Any, filters: Any, now: Any) -> dict[str, Any]:
    """One form's heatmap (reporters × the last closed periods, oldest first) and who is not in for the
    latest period past its due time."""
    today = timezone.localdate()
    closed = list(period_list(form).filter(end__lt=today)[:HEATMAP_PERIODS])
    results = [completeness(form=form, period=period) for period in closed]
    reporters: dict[Any, Any] = {}
    states: dict[tuple[Any, int], str] = {}
    for result in results:
        for row in result.rows:
            if not _in_view(row.reporter, filters):
                continue
            reporters.setdefault(row.reporter.key, row.reporter)
            states[(row.reporter.key, result.period.pk)] = row.state
    ordered_periods = list(reversed(closed))
    rows = []
    for key, reporter in sorted(reporters.items(), key=lambda item: (item[1].unit.code, item[1].name)):
        cells = [states.get((key, period.pk), "none") for period in ordered_periods]
        rows.append({"reporter": reporter, "cells": [(state, STATE_LABELS[state]) for state in cells]})
    due = next((result for result in results if result.period.due_at < now), None)
    missing = []
    if due is not None:
        missing = [
            row for row in due.rows if row.state == ReportState.MISSING and _in_view(row.reporter, filters)
        ]
    expected = sum(1 for row in (due.rows if due else []) if _in_view(row.reporter, filters))
    return {
        "form": form,
        "periods": ordered_periods,
        "rows": rows,
        "due": due,
        "missing": missing,
        "expected": expected,
        "submitted": expected - len(missing),
    }


def _explorer(request: HttpRequest, filters: Any) -> dict[str, Any] | None:
    """The indicator explorer: a form's indicator over a range of its periods for the unit looked at, by
    disaggregation. None when no form has a published version."""
    forms = [form for form in form_list() if form.period_type != PeriodType.AD_HOC]
    form = next((f for f in forms if f.code == request.GET.get("form")), None) or next(iter(forms), None)
    if form is None:
        return None
    try:
        version = form_current_version(form)
    except NotFound:
        return {"forms": forms, "form": form, "indicator": None}
    indicators = [
        item.indicator for item in version_items(version) if item.indicator.value_type != ValueType.TEXT
    ]
    indicator = next((i for i in indicators if i.code == request.GET.get("indicator")), None) or next(
        iter(indicators), None
    )
    periods = list(period_list(form).filter(end__lt=timezone.localdate())[:EXPLORER_PERIODS])
    periods.reverse()  # oldest first
    codes = [period.code for period in periods]
    last = codes.index(request.GET["p_to"]) if request.GET.get("p_to") in codes else len(codes) - 1
    first = (
        codes.index(request.GET["p_from"])
        if request.GET.get("p_from") in codes
        else max(0, last - EXPLORER_DEFAULT_SPAN + 1)
    )
    first, last = min(first, last), max(first, last)
    chosen = periods[first : last + 1] if periods else []
    categories = [c["code"] for c in (indicator.disaggregations or [])] if indicator else []
    by = request.GET.get("by", "")
    if by not in categories:
        by = ""
    unit = filters.unit if filters.unit is not None else filters.scope.default_unit
    values: list[dict[str, Any]] = []
    keys: dict[str, None] = {"": None}
    if indicator is not None and unit is not None:
        for period in chosen:
            found = {
                row.disaggregation: row.value
                for row in aggregate_values(indicator=indicator, period=period, unit=unit)
            }
            values.append(found)
            if by:
                keys.update(dict.fromkeys(k for k in sorted(found) if f"{by}=" in k))
    columns = [(key, _disaggregation_label(key)) for key in keys]
    table = [
        {"period": period, "values": [found.get(key) for key, _label in columns]}
        for period, found in zip(chosen, values, strict=False)
    ]
    comparison = (
        value_comparison(indicator=indicator, period=chosen[-1], unit=unit)
        if indicator is not None and unit is not None and chosen
        else None
    )
    return {
        "forms": forms,
        "form": form,
        "indicators": indicators,
        "indicator": indicator,
        "periods": periods,
        "p_from": chosen[0].code if chosen else "",
        "p_to": chosen[-1].code if chosen else "",
        "categories": categories,
        "by": by,
        "unit": unit,
        "columns": columns,
        "table": table,
        "comparison": comparison,
        "last_period": chosen[-1] if chosen else None,
        "chart": {
            "labels": [row["period"].code for row in table],
            "series": [
                {"name": str(label), "values": [_plain(row["values"][i]) for row in table]}
                for i, (_key, label) in enumerate(columns)
            ],
        },
    }


def _plain(value: Any) -> float | None:
    return None if value is None else float(value)


def _disaggregation_label(key: str) -> str:
    """``age=0-5|sex=female`` → ``0-5 · female``; the total's key "" → "Total"."""
    if not key:
        return _("Total")
    return " · ".join(part.split("=", 1)[-1] for part in key.split("|"))


@require_GET
@ioc_page
def reporting(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """Completeness heatmaps, the units to chase, the indicator explorer."""
    filters = filters_from(request, scope)
    explorer = _explorer(request, filters)
    if request.GET.get("format") == "xlsx" and explorer and explorer.get("indicator"):
        return _explorer_xlsx(explorer)
    now = timezone.now()
    forms = [form for form in form_list() if form.period_type != PeriodType.AD_HOC]
    context = {
        **filter_context(filters),
        "no_period": True,
        "section": "reporting",
        "blocks": [_form_block(form, filters, now) for form in forms],
        "may_chase": filters.scope.unit_ids is None and has_permission(request.user, IocPermission.ALERT_ACT),
        "explorer": explorer,
        "back": filters.query(),
        "states": list(STATE_LABELS.items()),
    }
    return render(request, "ioc/reporting.html", context)


def _explorer_xlsx(explorer: dict[str, Any]) -> HttpResponse:
    indicator, form, unit = explorer["indicator"], explorer["form"], explorer["unit"]
    header = [_("Period"), _("From"), _("To"), *(label for _key, label in explorer["columns"])]
    rows = [
        [row["period"].code, row["period"].start, row["period"].end, *row["values"]]
        for row in explorer["table"]
    ]
    notes = [
        f"{indicator.code} · {indicator.name}"
        + (f" ({indicator.unit_of_measure})" if indicator.unit_of_measure else ""),
        f"{form.code} · {form.name}",
        f"{unit.name if unit else ''}",
    ]
    name = f"ioc_{form.code}_{indicator.code}_{explorer['p_from']}_{explorer['p_to']}.xlsx"
    return xlsx_response(filename=name, title=indicator.code, header=header, rows=rows, notes=notes)


@require_POST
@ioc_page
def chase(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """ "Chase": remind now the reporters of one unit (``unit`` posted), or of every unit whose report for the
    form-period is not in, through the reporting app's reminder service."""
    back = urlencode(parse_qsl(request.POST.get("back", "")[:500]))
    target = f"{reverse('ioc:reporting')}?{back}" if back else reverse("ioc:reporting")
    try:
        form = form_by_code(request.POST.get("form", "")[:40])
        period = period_by_code(form, request.POST.get("period", "")[:20])
        unit_code = request.POST.get("unit", "")[:10]
        unit = unit_by_code(unit_code) if unit_code else None
        result = reminder_chase(actor=request.user, form=form, period=period, unit=unit)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(target)
    (messages.success if result.people else messages.info)(request, result.summary())
    return redirect(target)
