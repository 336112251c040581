"""The overview (KPI tiles with trend and target, the Decision 766 index, the newest alerts; live), a KPI's
breakdown by unit, agency, field, procedure or over time (chart, table, Excel), and the dossiers behind a
figure (no applicant data)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from hanoismart.dossiers.selectors import dossier_records
from hanoismart.ioc import selectors, services
from hanoismart.ioc.kpis import KPIS
from hanoismart.ioc.models import AlertState
from hanoismart.ioc.selectors import IocScope
from hanoismart.ioc.views._shared import (
    LIVE_POLL_SECONDS,
    filter_context,
    filters_from,
    ioc_page,
    live_token_for,
    unchanged,
    xlsx_response,
)

#: The groupings of a breakdown, as tabs.
GROUPINGS = {
    "unit": gettext_lazy("By unit"),
    "agency": gettext_lazy("By agency"),
    "field": gettext_lazy("By field"),
    "procedure": gettext_lazy("By procedure"),
    "day": gettext_lazy("By day"),
    "month": gettext_lazy("By month"),
}
#: The groupings each kind of KPI allows (stocks are counted now, not over time; reports by unit or agency).
KIND_GROUPINGS = {
    "flow": tuple(GROUPINGS),
    "stock": ("unit", "agency", "field", "procedure"),
    "reporting": ("unit", "agency"),
}
NEWEST_ALERTS = 5

#: The dossier figures in words (docs/statistics.md defines each).
FIGURE_LABELS = {
    "received": gettext_lazy("Received"),
    "carried_over": gettext_lazy("Carried over"),
    "in_progress": gettext_lazy("In progress"),
    "finished": gettext_lazy("Finished"),
    "finished_early": gettext_lazy("Finished early"),
    "finished_on_time": gettext_lazy("Finished on time"),
    "finished_late": gettext_lazy("Finished late"),
    "overdue": gettext_lazy("Overdue"),
    "due_soon": gettext_lazy("Due soon"),
    "paused": gettext_lazy("Waiting for a supplement"),
    "online": gettext_lazy("Filed online"),
    "fully_online": gettext_lazy("Fully online"),
    "synced": gettext_lazy("On the national portal"),
    "components": gettext_lazy("Papers"),
    "components_digitised": gettext_lazy("Papers digitised"),
    "components_reused": gettext_lazy("Papers reused"),
    "ratings": gettext_lazy("Ratings"),
    "ratings_satisfied": gettext_lazy("Satisfied"),
    "ratings_very_satisfied": gettext_lazy("Very satisfied"),
    "rating_score_sum": gettext_lazy("Rating points"),
    "fees_due": gettext_lazy("Fees due"),
    "fees_paid": gettext_lazy("Fees paid"),
    "fees_paid_online": gettext_lazy("Fees paid online"),
    "fees_waived": gettext_lazy("Fees waived"),
    "fees_city_paid": gettext_lazy("Fees paid by the city"),
    "fee_total": gettext_lazy("Fees (VND)"),
    "fee_applicant": gettext_lazy("Paid by applicants (VND)"),
    "fee_city": gettext_lazy("Paid by the city (VND)"),
    "expected": gettext_lazy("Reports expected"),
    "submitted": gettext_lazy("Reports submitted"),
    "on_time": gettext_lazy("Reports on time"),
    "late": gettext_lazy("Reports late"),
    "missing": gettext_lazy("Reports missing"),
}


#: The figures each dossier KPI is computed from, shown beside it in a breakdown (the Excel has them all).
KPI_FIGURES = {
    "received": ("received",),
    "finished": ("finished", "finished_early", "finished_on_time", "finished_late"),
    "on_time_rate": ("finished_early", "finished_on_time", "finished_late"),
    "online_rate": ("received", "online"),
    "fully_online_rate": ("received", "fully_online"),
    "digitisation_rate": ("components", "components_digitised"),
    "reuse_rate": ("components", "components_reused"),
    "satisfaction_rate": ("ratings", "ratings_satisfied"),
    "rating_score_average": ("ratings", "rating_score_sum"),
    "index_766": ("received", "synced", "finished_early", "finished_on_time", "finished_late", "ratings"),
    "in_progress": ("in_progress", "paused"),
    "overdue": ("in_progress", "overdue"),
    "due_soon": ("in_progress", "due_soon"),
}


def figure_label(name: str) -> str:
    """A figure's name in words (its code when it has none)."""
    return str(FIGURE_LABELS.get(name, name))


RECORDS_PER_PAGE = 50


def _trend(tile: Any) -> dict[str, Any]:
    return {
        "labels": [label for label, _value in tile.trend],
        "values": [value for _label, value in tile.trend],
    }


def _live_context(request: HttpRequest, filters: Any, token: str = "") -> dict[str, Any]:
    """The part of the overview that updates live: tiles, the 766 index, the newest alerts; ``token``: the
    live token when the caller has just read it (else it is read first: a change made while the page is
    built then shows at the next poll)."""
    token = token or live_token_for(request, filters)
    view = selectors.overview(
        actor=request.user,
        scope=filters.scope,
        unit=filters.selector_unit,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    alerts = list(
        selectors.alerts_for(actor=request.user, scope=filters.scope, unit=filters.selector_unit)
        .exclude(state=AlertState.RESOLVED)
        .select_related("unit")[:NEWEST_ALERTS]
    )
    for alert in alerts:
        alert.title = selectors.alert_title(alert)
    index_tile = next((tile for tile in view.tiles if tile.kpi.code == "index_766"), None)
    return {
        "view": view,
        "tiles": [{"tile": tile, "trend": _trend(tile)} for tile in view.tiles],
        "index_chart": {
            "labels": [group.name for group in view.index_groups],
            "values": [group.points for group in view.index_groups],
            "max": [group.max_points for group in view.index_groups],
        },
        "index_tile": index_tile,
        "alerts": alerts,
        "live_token": token,
        "live_url": f"{reverse('ioc:overview_live')}?{filters.query()}",
        "poll_seconds": LIVE_POLL_SECONDS,
    }


@require_GET
@ioc_page
def overview(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The city's (or a ward's) KPIs for the period, updated live while the page is open."""
    filters = filters_from(request, scope)
    services.alerts_detect_if_stale()
    context = {**filter_context(filters), **_live_context(request, filters), "section": "overview"}
    return render(request, "ioc/overview.html", context)


@require_GET
@ioc_page
def overview_live(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The live part of the overview, polled by the open page: 204 while its ``token`` is current. Runs the
    alert detection first when it is a few seconds old, so a dossier passing its due time shows at once."""
    filters = filters_from(request, scope)
    services.alerts_detect_if_stale()
    token = live_token_for(request, filters)
    if (response := unchanged(request, token)) is not None:
        return response
    response = render(
        request, "ioc/_overview_live.html", {"filters": filters, **_live_context(request, filters, token)}
    )
    response["Cache-Control"] = "no-store"
    return response


def _kpi_or_404(code: str) -> Any:
    kpi = KPIS.get(code)
    if kpi is None:
        raise Http404
    return kpi


def _figure_names(rows: list[Any]) -> list[str]:
    """The figures the rows carry, in the order of the first row that has each."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.figures))
    return list(names)


@require_GET
@ioc_page
def kpi_detail(request: HttpRequest, kpi: str, *, scope: IocScope) -> HttpResponse:
    """One KPI by child unit, agency, field, procedure, day or month: a chart, a table whose every number
    links to what is behind it, and the table as Excel (``?format=xlsx``)."""
    kpi_info = _kpi_or_404(kpi)
    filters = filters_from(request, scope)
    allowed = KIND_GROUPINGS.get(kpi_info.kind, tuple(GROUPINGS))
    group_by = request.GET.get("group_by", "unit")
    if group_by not in allowed:
        group_by = allowed[0]
    breakdown = selectors.kpi_breakdown(
        actor=request.user,
        scope=scope,
        kpi=kpi,
        unit=filters.selector_unit,
        date_from=filters.date_from,
        date_to=filters.date_to,
        group_by=group_by,
    )
    figures = _figure_names(breakdown.rows)
    if request.GET.get("format") == "xlsx":
        return _breakdown_xlsx(breakdown, figures, filters)
    shown = [name for name in KPI_FIGURES.get(kpi, figures) if name in figures]
    for row in breakdown.rows:
        row.figure_list = [(name, row.figures.get(name, 0)) for name in shown]
    context = {
        **filter_context(filters),
        "section": "overview",
        "kpi": kpi_info,
        "breakdown": breakdown,
        "group_by": group_by,
        "tabs": [(key, label) for key, label in GROUPINGS.items() if key in allowed],
        "figures": [figure_label(name) for name in shown],
        "chart": {
            "kind": "line" if group_by in ("day", "month") else "bar",
            "labels": [row.label or row.key for row in breakdown.rows],
            "values": [row.value for row in breakdown.rows],
            "measure": kpi_info.measure,
        },
        "xlsx_query": filters.query(group_by=group_by, format="xlsx"),
    }
    return render(request, "ioc/kpi.html", context)


def _breakdown_xlsx(breakdown: Any, figures: list[str], filters: Any) -> HttpResponse:
    kpi = breakdown.kpi
    where = filters.unit.name if filters.unit is not None else _("City")
    header = [_("Code"), _("Name"), str(kpi.label), *(figure_label(name) for name in figures)]
    rows = [
        [row.key, row.label, row.value, *(row.figures.get(name, 0) for name in figures)]
        for row in breakdown.rows
    ]
    rows.append(["", _("Total"), breakdown.total, *([""] * len(figures))])
    notes = [
        f"{kpi.label} · {GROUPINGS[breakdown.group_by]}",
        f"{where} · {filters.date_from:%d/%m/%Y} – {filters.until:%d/%m/%Y}",
        str(kpi.description),
        _("Generated %(moment)s") % {"moment": f"{timezone.localtime():%d/%m/%Y %H:%M}"},
    ]
    name = f"ioc_{kpi.code}_{breakdown.group_by}_{filters.date_from:%Y%m%d}_{filters.until:%Y%m%d}.xlsx"
    return xlsx_response(filename=name, title=kpi.code, header=header, rows=rows, notes=notes)


@require_GET
@ioc_page
def records(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The dossiers a figure counts (``kpi``, ``unit``, ``agency``, ``procedure``, ``from``, ``to``):
    codes, procedure, status, dates and who holds them (``dossiers.selectors.dossier_records``); never the
    applicant."""
    kpi_info = _kpi_or_404(request.GET.get("kpi", ""))
    filters = filters_from(request, scope)
    agency = request.GET.get("agency", "").strip()[:40]
    procedure = request.GET.get("procedure", "").strip()[:40]
    field = request.GET.get("field", "").strip()[:40]
    dossiers = selectors.records_behind(
        actor=request.user,
        scope=scope,
        kpi=kpi_info.code,
        # the unit as asked: the city's code means its own departments' dossiers ("City level")
        unit=filters.requested_unit or filters.unit_code,
        agency=agency,
        procedure=procedure,
        field=field,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    page = None
    if dossiers is not None:
        rows = dossier_records(dossiers=dossiers, now=timezone.now())
        page = Paginator(rows, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        **filter_context(filters),
        "section": "overview",
        "kpi": kpi_info,
        "agency": agency,
        "procedure": procedure,
        "field": field,
        "page": page,
        "query_string": filters.query(
            unit=filters.requested_unit, kpi=kpi_info.code, agency=agency, procedure=procedure, field=field
        ),
        "city_level": bool(filters.requested_unit)
        and filters.unit is not None
        and filters.unit.parent_id is None,
        "breakdown_query": filters.query(),
    }
    return render(request, "ioc/records.html", context)
