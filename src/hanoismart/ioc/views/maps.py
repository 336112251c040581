"""The map: the city's wards and communes coloured by a KPI (Leaflet), from the outlines loaded with
``hanoismart import boundaries FILE.geojson`` and the KPI's breakdown by unit; a ward's leader sees their
ward. Without outlines the page says how to load them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from hanoismart.directory.selectors import unit_boundaries
from hanoismart.ioc import selectors
from hanoismart.ioc.kpis import KPIS, TARGETS
from hanoismart.ioc.selectors import IocScope
from hanoismart.ioc.views._shared import filter_context, filters_from, ioc_page

DEFAULT_KPI = "on_time_rate"


def _kpi(request: HttpRequest) -> Any:
    code = request.GET.get("kpi", "") or DEFAULT_KPI
    kpi = KPIS.get(code)
    if kpi is None:
        raise Http404
    return kpi


def _mapped_unit_ids(filters: Any) -> set[int] | None:
    """The units drawn: every unit in scope (the city: all), or the one ward chosen."""
    if filters.selector_unit:
        return {filters.unit.pk}
    return filters.scope.unit_ids


@require_GET
@ioc_page
def map_page(request: HttpRequest, *, scope: IocScope) -> HttpResponse:
    """The map with its KPI picker and legend (the data comes from ``map_data``)."""
    kpi = _kpi(request)
    filters = filters_from(request, scope)
    has_boundaries = unit_boundaries(unit_ids=_mapped_unit_ids(filters)).exists()
    context = {
        **filter_context(filters),
        "section": "map",
        "kpi": kpi,
        "kpis": list(KPIS.values()),
        "has_boundaries": has_boundaries,
        "map_config": {
            "data_url": f"{reverse('ioc:map_data')}?{filters.query(kpi=kpi.code)}",
            "tile_url": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
        },
        "map_text": {
            "none": _("no data"),
            "open": _("See the figures"),
            "better": _("better"),
            "worse": _("worse"),
            "failed": _("The map data could not be loaded. Reload the page to try again."),
        },
    }
    return render(request, "ioc/map.html", context)


@require_GET
@ioc_page
def map_data(request: HttpRequest, *, scope: IocScope) -> JsonResponse:
    """A GeoJSON FeatureCollection of the units drawn, each with the KPI's value and a link to its breakdown,
    plus what the legend needs (the KPI, the range of values, the target)."""
    kpi = _kpi(request)
    filters = filters_from(request, scope)
    boundaries = list(unit_boundaries(unit_ids=_mapped_unit_ids(filters)))
    values: dict[str, Any] = {}
    links: dict[str, str] = {}
    if filters.scope.unit_ids is None and not filters.selector_unit:
        breakdown = selectors.kpi_breakdown(
            actor=request.user,
            scope=scope,
            kpi=kpi.code,
            date_from=filters.date_from,
            date_to=filters.date_to,
            group_by="unit",
        )
        for row in breakdown.rows:
            values[row.key] = row.value
            links[row.key] = row.link
    else:  # a ward's figures: its own total, and its breakdown by agency behind the link
        for boundary in boundaries:
            breakdown = selectors.kpi_breakdown(
                actor=request.user,
                scope=scope,
                kpi=kpi.code,
                unit=boundary.unit.code,
                date_from=filters.date_from,
                date_to=filters.date_to,
                group_by="unit",
            )
            values[boundary.unit.code] = breakdown.total
    features = []
    for boundary in boundaries:
        code = boundary.unit.code
        link = links.get(code) or (
            f"{reverse('ioc:kpi', kwargs={'kpi': kpi.code})}?{filters.query(unit=code, group_by='agency')}"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": boundary.geometry,
                "properties": {
                    "code": code,
                    "name": boundary.unit.name,
                    "value": values.get(code),
                    "link": link,
                },
            }
        )
    present = [f["properties"]["value"] for f in features if f["properties"]["value"] is not None]
    body = {
        "type": "FeatureCollection",
        "features": features,
        "kpi": {
            "code": kpi.code,
            "label": str(kpi.label),
            "measure": kpi.measure,
            "higher_is_better": kpi.higher_is_better,
        },
        "min": min(present) if present else None,
        "max": max(present) if present else None,
        "target": TARGETS.get(kpi.code),
        "period": {"from": filters.date_from.isoformat(), "to": filters.date_to.isoformat()},
    }
    response = JsonResponse(body)
    response["Cache-Control"] = "private, max-age=30"
    return response
