"""Reads of the operations center; import from here. ``scope``: who sees which unit; ``figures``: the
overview, breakdowns, rankings and the records behind a figure; ``reports``: the reporting KPIs; ``alerts``:
the alerts feed, subscriptions and thresholds; ``live``: the token an open dashboard polls.

Every selector that depends on who asks takes ``actor`` and, optionally, ``scope``: a request computes
``ioc_scope(actor=)`` once and passes it to each selector it calls."""

from hanoismart.ioc.selectors.alerts import (
    alert_get,
    alert_title,
    alerts_for,
    alerts_visible_to,
    subscriptions_for,
    thresholds_for,
)
from hanoismart.ioc.selectors.figures import (
    GROUP_BYS,
    Breakdown,
    BreakdownRow,
    Overview,
    RankingRow,
    Tile,
    flow_values,
    kpi_breakdown,
    kpi_get,
    overview,
    period_bounds,
    rankings,
    records_behind,
    unit_kpi_values,
)
from hanoismart.ioc.selectors.live import live_token
from hanoismart.ioc.selectors.reports import ReportFigures, ReportPart, report_figures
from hanoismart.ioc.selectors.scope import (
    IocScope,
    city_unit,
    figure_unit_ids,
    ioc_scope,
    scope_for,
    scope_unit,
)

__all__ = [
    "GROUP_BYS",
    "Breakdown",
    "BreakdownRow",
    "IocScope",
    "Overview",
    "RankingRow",
    "ReportFigures",
    "ReportPart",
    "Tile",
    "alert_get",
    "alert_title",
    "alerts_for",
    "alerts_visible_to",
    "city_unit",
    "figure_unit_ids",
    "flow_values",
    "ioc_scope",
    "kpi_breakdown",
    "kpi_get",
    "live_token",
    "overview",
    "period_bounds",
    "rankings",
    "records_behind",
    "report_figures",
    "scope_for",
    "scope_unit",
    "subscriptions_for",
    "thresholds_for",
    "unit_kpi_values",
]
