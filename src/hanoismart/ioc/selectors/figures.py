"""The figures of the operations center: the overview's KPI tiles, a KPI broken down by child unit, agency,
field, procedure or over time, the Decision 766 rankings, and the records behind a figure.

Dossier flows come from the daily roll-ups (``dossiers.selectors.rollup_figures``: a few rows per day,
whatever the number of dossiers), stocks from the open dossiers (``open_figures``), rates and the 766 index
from ``dossiers.selectors.stats`` (the same definitions as the dossier statistics), reporting figures from the
reporting app's completeness. An overview is a handful of queries, none proportional to the history.

The 766 index needs ``overdue`` (open and past due at the period's end): it is the open overdue count now when
the period reaches today, and 0 for a period wholly in the past (the roll-ups do not keep past stocks), so a
past period's timeliness counts its finished dossiers only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput, NotFound
from hanoismart.directory.models import Unit
from hanoismart.dossiers.models import OPEN_STATUSES, ROLLUP_FIGURES, Dossier
from hanoismart.dossiers.selectors import (
    OPEN_FIGURES,
    FigureRow,
    dossiers_visible_to,
    index_766,
    open_figures,
    rates,
    rollup_figures,
)
from hanoismart.dossiers.selectors.stats import IndexGroup
from hanoismart.ioc.kpis import KPIS, TARGETS, Kpi, kpi_status
from hanoismart.ioc.selectors.reports import ReportFigures, report_figures
from hanoismart.ioc.selectors.scope import IocScope, figure_unit_ids, scope_for, scope_unit

GROUP_BYS = ("unit", "agency", "field", "procedure", "day", "month")
#: Periods up to this many days get a daily trend, longer ones a monthly trend of the last 12 months.
DAILY_TREND_MAX_DAYS = 31
TREND_MONTHS = 12
#: The longest period a request may ask for (ten years), and the days a period may fall in.
MAX_PERIOD_DAYS = 3660
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)


@dataclass
class Tile:
    """One KPI on the overview: value, the same-length period before, trend, target and status."""

    kpi: Kpi
    value: float | int | None
    previous: float | int | None
    trend: list[tuple[str, float | int | None]]
    target: float | None
    status: str
    link: str


@dataclass
class Overview:
    """The overview of a unit (``None``: the city) for ``[date_from, date_to)``."""

    unit: Unit | None
    date_from: dt.date
    date_to: dt.date
    tiles: list[Tile]
    index_groups: list[IndexGroup]
    figures: dict[str, int]
    generated_at: dt.datetime


@dataclass
class BreakdownRow:
    key: str
    label: str
    value: float | int | None
    figures: dict[str, int]
    link: str


@dataclass
class Breakdown:
    kpi: Kpi
    group_by: str
    unit: Unit | None
    date_from: dt.date
    date_to: dt.date
    total: float | int | None
    rows: list[BreakdownRow] = field(default_factory=list)


@dataclass
class RankingRow:
    rank: int
    key: str
    label: str
    score: float | None
    groups: list[IndexGroup]
    figures: dict[str, int]


# -- periods ------------------------------------------------------------------------------------------------


def period_bounds(
    date_from: dt.date | None, date_to: dt.date | None, now: dt.datetime
) -> tuple[dt.date, dt.date]:
    """``[date_from, date_to)`` with the defaults filled in: this month so far (today included); raises
    ``InvalidInput`` for an empty or overlong period."""
    today = timezone.localdate(now)
    if date_to is None:
        date_to = today + dt.timedelta(days=1)
    if date_from is None:
        date_from = (date_to - dt.timedelta(days=1)).replace(day=1)
    for name, day in (("from", date_from), ("to", date_to)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise InvalidInput(
                _("Choose a day between %(first)s and %(last)s.")
                % {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()},
                details={name: [_("Out of range.")]},
            )
    if date_from >= date_to:
        raise InvalidInput(
            _("The period must end after it starts."), details={"to": [_("Must be after the start.")]}
        )
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            _("The period may not be longer than ten years."), details={"from": [_("Choose a later start.")]}
        )
    return date_from, date_to


def _reaches_today(date_to: dt.date, now: dt.datetime) -> bool:
    return date_to > timezone.localdate(now)


def _month_start(day: dt.date, months_back: int) -> dt.date:
    month = day.year * 12 + day.month - 1 - months_back
    return dt.date(month // 12, month % 12 + 1, 1)


def _query(**values: Any) -> str:
    present = {key: value for key, value in values.items() if value not in (None, "")}
    return f"?{urlencode(present)}" if present else ""


# -- values of the KPIs -------------------------------------------------------------------------------------

ZERO = dict.fromkeys(ROLLUP_FIGURES, 0)
ZERO_OPEN = dict.fromkeys(OPEN_FIGURES, 0)


def flow_values(
    figures: dict[str, int], *, overdue: int = 0, with_index: bool = True
) -> dict[str, float | int | None]:
    """The values of the flow KPIs from roll-up figures (``overdue``: for the 766 index's timeliness;
    ``with_index`` false: the index is left out, as ``None`` — it costs more than all the rates)."""
    found = rates(figures)
    score = index_766({**figures, "overdue": overdue})[1] if with_index else None
    return {
        "received": figures["received"],
        "finished": figures["finished"],
        "on_time_rate": found["on_time_rate"],
        "online_rate": found["online_rate"],
        "fully_online_rate": found["fully_online_rate"],
        "digitisation_rate": found["digitisation_rate"],
        "reuse_rate": found["reuse_rate"],
        "satisfaction_rate": found["satisfaction_rate"],
        "rating_score_average": found["rating_score_average"],
        "index_766": score,
    }


def _first(rows: list[FigureRow], zero: dict[str, int]) -> dict[str, int]:
    return dict(rows[0].figures) if rows else dict(zero)


def _values(
    flows: dict[str, int], stocks: dict[str, int], reports: ReportFigures, index_overdue: int
) -> dict[str, float | int | None]:
    values: dict[str, float | int | None] = dict(flow_values(flows, overdue=index_overdue))
    values.update({name: stocks[name] for name in ("in_progress", "overdue", "due_soon")})
    values["reporting_completeness"] = reports.completeness
    values["reports_late"] = reports.late
    return values


def unit_kpi_values(*, unit: Unit | None, now: dt.datetime) -> dict[str, float | int | None]:
    """Every KPI of ``unit`` (``None``: the city) for this month so far (stocks: now), unscoped: for the
    threshold checks of the alert detection."""
    date_from, date_to = period_bounds(None, None, now)
    unit_ids = None if unit is None or unit.parent_id is None else {unit.pk}
    flows = _first(rollup_figures(unit_ids=unit_ids, date_from=date_from, date_to=date_to), ZERO)
    stocks = _first(open_figures(unit_ids=unit_ids, now=now), ZERO_OPEN)
    reports = report_figures(unit_id=None if unit_ids is None else unit.pk, now=now)
    return _values(flows, stocks, reports, stocks["overdue"])


# -- the overview -------------------------------------------------------------------------------------------


def _flows(
    unit_ids: set[int] | None, date_from: dt.date, date_to: dt.date
) -> tuple[dict[str, int], dict[str, int], list[FigureRow]]:
    """The roll-up figures of the period, of the same-length period before it, and the trend's rows: by day
    over the period when it is up to 31 days long — one roll-up query by day over both periods, whose days
    also sum to the two totals — else by month over the last 12 months (three queries)."""
    length = date_to - date_from
    before_from = date_from - length
    if length.days <= DAILY_TREND_MAX_DAYS:
        days = rollup_figures(unit_ids=unit_ids, date_from=before_from, date_to=date_to, group_by="day")
        first = date_from.isoformat()
        trend = [row for row in days if row.key >= first]  # ISO days sort as dates
        before = _sum([row for row in days if row.key < first], ROLLUP_FIGURES)
        return _sum(trend, ROLLUP_FIGURES), before, trend
    flows = _first(rollup_figures(unit_ids=unit_ids, date_from=date_from, date_to=date_to), ZERO)
    before = _first(rollup_figures(unit_ids=unit_ids, date_from=before_from, date_to=date_from), ZERO)
    start = _month_start(date_to - dt.timedelta(days=1), TREND_MONTHS - 1)
    trend = rollup_figures(unit_ids=unit_ids, date_from=start, date_to=date_to, group_by="month")
    return flows, before, trend


def _trend(rows: list[FigureRow]) -> dict[str, list[tuple[str, float | int | None]]]:
    """Each flow KPI along the trend's days or months; the 766 index of a past day or month leaves open
    dossiers out (overdue 0)."""
    trend: dict[str, list[tuple[str, float | int | None]]] = defaultdict(list)
    for row in rows:
        for code, value in flow_values(row.figures).items():
            trend[code].append((row.label, value))
    return trend


def overview(
    *,
    actor: Any,
    scope: IocScope | None = None,
    unit: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Overview:
    """The KPI tiles of a unit (a code in the actor's scope; default: the city for city-level staff, the ward
    for a ward's leader) for ``[date_from, date_to)`` (default: this month so far), with the same-length
    period before, the trend, targets and the 766 index's groups. ``scope``: the actor's, when the caller
    has it. ``PermissionDenied`` outside the scope, ``InvalidInput`` for a bad period or unit code."""
    now = now or timezone.now()
    scope = scope_for(actor=actor, scope=scope)
    chosen = scope_unit(scope, unit)
    date_from, date_to = period_bounds(date_from, date_to, now)
    unit_ids = figure_unit_ids(scope, chosen)
    flows, before, trend_rows = _flows(unit_ids, date_from, date_to)
    stocks = _first(open_figures(unit_ids=unit_ids, now=now), ZERO_OPEN)
    reports = report_figures(unit_id=chosen.pk if chosen else None, unit_ids=scope.unit_ids, now=now)
    index_overdue = stocks["overdue"] if _reaches_today(date_to, now) else 0
    values = _values(flows, stocks, reports, index_overdue)
    previous: dict[str, float | int | None] = dict(flow_values(before))
    previous["reporting_completeness"] = reports.previous_completeness
    trend = _trend(trend_rows)
    code = chosen.code if chosen else ""
    tiles = []
    for kpi in KPIS.values():
        target = TARGETS.get(kpi.code)
        tiles.append(
            Tile(
                kpi=kpi,
                value=values[kpi.code],
                previous=previous.get(kpi.code),
                trend=trend.get(kpi.code, []),
                target=target,
                status=kpi_status(kpi, values[kpi.code], target),
                link=reverse("ioc:kpi", kwargs={"kpi": kpi.code})
                + _query(unit=code, **{"from": date_from.isoformat(), "to": date_to.isoformat()}),
            )
        )
    groups, _score = index_766({**flows, "overdue": index_overdue})
    return Overview(
        unit=chosen,
        date_from=date_from,
        date_to=date_to,
        tiles=tiles,
        index_groups=groups,
        figures={**flows, **stocks, **reports.as_figures(), "index_overdue": index_overdue},
        generated_at=now,
    )


# -- breakdowns ---------------------------------------------------------------------------------------------


def kpi_get(code: str) -> Kpi:
    """The KPI with ``code``; ``NotFound`` otherwise."""
    kpi = KPIS.get(code)
    if kpi is None:
        raise NotFound(_("No KPI with code %(code)s.") % {"code": code})
    return kpi


def _group_by(kpi: Kpi, group_by: str) -> str:
    allowed = GROUP_BYS
    if kpi.kind == "stock":
        allowed = ("unit", "agency", "field", "procedure")
    elif kpi.kind == "reporting":
        allowed = ("unit", "agency")
    if group_by not in allowed:
        raise InvalidInput(
            _("%(kpi)s can be broken down by %(choices)s.")
            % {"kpi": kpi.label, "choices": ", ".join(allowed)},
            details={"group_by": [_("Unknown grouping.")]},
        )
    return group_by


def _records_link(kpi: Kpi, date_from: dt.date | None, date_to: dt.date | None, **filters: str) -> str:
    dates = (
        {}
        if kpi.is_stock or date_from is None
        else {"from": date_from.isoformat(), "to": date_to.isoformat()}
    )
    return reverse("ioc:records") + _query(kpi=kpi.code, **filters, **dates)


def _row_link(
    kpi: Kpi, group_by: str, key: str, unit: Unit | None, date_from: dt.date, date_to: dt.date
) -> str:
    """The records behind a breakdown row (agency, field, procedure, day, month) of ``unit``."""
    code = unit.code if unit else ""
    if group_by == "agency":
        return _records_link(kpi, date_from, date_to, unit=code, agency=key)
    if group_by == "field":
        return _records_link(kpi, date_from, date_to, unit=code, field=key)
    if group_by == "procedure":
        return _records_link(kpi, date_from, date_to, unit=code, procedure=key)
    if group_by == "day":
        day = dt.date.fromisoformat(key)
        return _records_link(kpi, day, day + dt.timedelta(days=1), unit=code)
    start = dt.date.fromisoformat(f"{key}-01")
    end = _month_start(start, -1)
    return _records_link(kpi, max(start, date_from), min(end, date_to), unit=code)


def _unit_rows(
    kpi: Kpi,
    rows: list[FigureRow],
    scope: IocScope,
    date_from: dt.date,
    date_to: dt.date,
) -> list[tuple[FigureRow, str]]:
    """The city's rows by unit: each ward (linking to its breakdown) and the city's own agencies (to the
    records), labelled "City level"."""
    wards = {u.code: u for u in scope.units if u.parent_id is not None}
    city_codes = {u.code for u in scope.units if u.parent_id is None}
    breakdown = reverse("ioc:kpi", kwargs={"kpi": kpi.code})
    period = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    out = []
    for row in rows:
        if row.key in city_codes:
            row.label = _("City level (departments)")
            link = _records_link(kpi, date_from, date_to, unit=row.key)
        else:
            link = breakdown + _query(unit=row.key, group_by="unit", **period)
            if row.key in wards:
                row.label = wards[row.key].name
        out.append((row, link))
    return out


def _sum(rows: list[FigureRow], names: tuple[str, ...]) -> dict[str, int]:
    total = dict.fromkeys(names, 0)
    for row in rows:
        for name in names:
            total[name] += row.figures.get(name, 0)
    return total


def _dossier_breakdown(
    kpi: Kpi,
    group_by: str,
    scope: IocScope,
    unit: Unit | None,
    date_from: dt.date,
    date_to: dt.date,
    now: dt.datetime,
) -> tuple[list[tuple[FigureRow, str, float | int | None]], float | int | None]:
    unit_ids = figure_unit_ids(scope, unit)
    # Under a ward, "by unit" lists its agencies (the level below a ward).
    grouping = "agency" if group_by == "unit" and unit is not None else group_by
    if kpi.is_stock:
        rows = open_figures(unit_ids=unit_ids, now=now, group_by=grouping)
        total = _sum(rows, OPEN_FIGURES)[kpi.code]
        values = [(row, row.figures[kpi.code]) for row in rows]
    else:
        rows = rollup_figures(unit_ids=unit_ids, date_from=date_from, date_to=date_to, group_by=grouping)
        overdue: dict[str, int] = defaultdict(int)
        total_overdue = 0
        if kpi.code == "index_766" and _reaches_today(date_to, now):
            stocks = open_figures(
                unit_ids=unit_ids, now=now, group_by="" if grouping in ("day", "month") else grouping
            )
            if grouping in ("day", "month"):
                total_overdue = stocks[0].figures["overdue"] if stocks else 0
            else:
                overdue.update({row.key: row.figures["overdue"] for row in stocks})
                total_overdue = sum(overdue.values())
        total = flow_values(_sum(rows, ROLLUP_FIGURES), overdue=total_overdue)[kpi.code]
        with_index = kpi.code == "index_766"
        values = [
            (row, flow_values(row.figures, overdue=overdue.get(row.key, 0), with_index=with_index)[kpi.code])
            for row in rows
        ]
    if grouping == "unit":
        unit_rows = _unit_rows(kpi, [r for r, _v in values], scope, date_from, date_to)
        links = {row.key: link for row, link in unit_rows}
    else:
        links = {row.key: _row_link(kpi, grouping, row.key, unit, date_from, date_to) for row, _v in values}
    return [(row, links.get(row.key, ""), value) for row, value in values], total


def _report_breakdown(
    kpi: Kpi, group_by: str, scope: IocScope, unit: Unit | None, now: dt.datetime
) -> tuple[list[tuple[FigureRow, str, float | int | None]], float | int | None]:
    reports = report_figures(unit_id=unit.pk if unit else None, unit_ids=scope.unit_ids, now=now)
    by = "agency" if group_by == "agency" or unit is not None else "unit"
    out = []
    for key, (label, part) in sorted(reports.by(by).items()):
        value = part.completeness if kpi.code == "reporting_completeness" else part.late
        unit_code = part.unit_code
        link = reverse("ioc:reporting") + _query(unit=unit_code)
        out.append((FigureRow(key=key, label=label, figures=part.as_figures()), link, value))
    total = reports.completeness if kpi.code == "reporting_completeness" else reports.late
    return out, total


def kpi_breakdown(
    *,
    actor: Any,
    scope: IocScope | None = None,
    kpi: str,
    unit: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    group_by: str = "unit",
    now: dt.datetime | None = None,
) -> Breakdown:
    """One KPI of a unit broken down: ``group_by="unit"`` lists the city's wards (and its own departments as
    "City level") or a ward's agencies; ``agency``, ``field``, ``procedure``, ``day``, ``month`` group the
    unit's records (stocks and reporting KPIs: not over time; reporting: by unit or agency only). Each row
    links one level down, or to the records behind it. ``scope``: the actor's, when the caller has it.
    ``NotFound`` for an unknown KPI."""
    now = now or timezone.now()
    found = kpi_get(kpi)
    group_by = _group_by(found, group_by)
    scope = scope_for(actor=actor, scope=scope)
    chosen = scope_unit(scope, unit)
    date_from, date_to = period_bounds(date_from, date_to, now)
    if found.kind == "reporting":
        rows, total = _report_breakdown(found, group_by, scope, chosen, now)
    else:
        rows, total = _dossier_breakdown(found, group_by, scope, chosen, date_from, date_to, now)
    return Breakdown(
        kpi=found,
        group_by=group_by,
        unit=chosen,
        date_from=date_from,
        date_to=date_to,
        total=total,
        rows=[
            BreakdownRow(key=row.key, label=row.label, value=value, figures=row.figures, link=link)
            for row, link, value in rows
        ],
    )


# -- rankings -----------------------------------------------------------------------------------------------


def rankings(
    *,
    actor: Any,
    scope: IocScope | None = None,
    index: str = "766",
    level: str = "ward",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    now: dt.datetime | None = None,
) -> list[RankingRow]:
    """Wards (every ward in scope, those without figures last) or agencies (those with figures) ranked by
    the Decision 766 index of ``[date_from, date_to)`` (default: this month so far), best first; equal scores
    share a rank. ``scope``: the actor's, when the caller has it."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if index != "766":
        errors["index"] = [_("Only the Decision 766 index can be ranked.")]
    if level not in ("ward", "agency"):
        errors["level"] = [_("Rank wards or agencies.")]
    if errors:
        raise InvalidInput(_("Some filters are not valid."), details=errors)
    scope = scope_for(actor=actor, scope=scope)
    date_from, date_to = period_bounds(date_from, date_to, now)
    grouping = "unit" if level == "ward" else "agency"
    rows = rollup_figures(unit_ids=scope.unit_ids, date_from=date_from, date_to=date_to, group_by=grouping)
    overdue: dict[str, int] = {}
    if _reaches_today(date_to, now):
        overdue = {
            row.key: row.figures["overdue"]
            for row in open_figures(unit_ids=scope.unit_ids, now=now, group_by=grouping)
        }
    found = {row.key: row for row in rows}
    if level == "ward":
        wards = [u for u in scope.units if u.parent_id is not None]
        entries = [(u.code, u.name, found[u.code].figures if u.code in found else dict(ZERO)) for u in wards]
    else:
        entries = [(row.key, row.label, row.figures) for row in rows]
    scored = []
    for key, label, figures in entries:
        groups, score = index_766({**figures, "overdue": overdue.get(key, 0)})
        scored.append(RankingRow(rank=0, key=key, label=label, score=score, groups=groups, figures=figures))
    scored.sort(key=lambda row: (row.score is None, -(row.score or 0), row.label))
    with_score = [row for row in scored if row.score is not None]
    for position, row in enumerate(with_score, start=1):
        previous = with_score[position - 2] if position > 1 else None
        row.rank = previous.rank if previous is not None and previous.score == row.score else position
    for row in scored:
        if row.score is None:
            row.rank = len(with_score) + 1
    return scored


# -- the records behind a figure -----------------------------------------------------------------------------


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def records_behind(
    *,
    actor: Any,
    scope: IocScope | None = None,
    kpi: str,
    unit: str = "",
    agency: str = "",
    procedure: str = "",
    field: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Dossier] | None:
    """The dossiers a dossier KPI counts (``None`` for a reporting KPI: its records are the reporting pages):
    received in the period (received, rates of what was received, the 766 index), finished in it (finished,
    on-time rate), rated in it (satisfaction), or open now (stocks); filtered by the codes of a unit (exactly
    that unit's agencies; empty: the whole scope), an agency, a procedure or a field. Staff see only the
    dossiers they may view; nothing here names an applicant, but callers must not show applicant data
    (``dossiers.selectors.dossier_records`` reads the rows without it). ``scope``: the actor's, when the
    caller has it."""
    now = now or timezone.now()
    found = kpi_get(kpi)
    if found.kind == "reporting":
        return None
    scope = scope_for(actor=actor, scope=scope)
    dossiers = dossiers_visible_to(actor, as_staff=True)
    if scope.unit_ids is not None:
        dossiers = dossiers.filter(unit_id__in=scope.unit_ids)
    if unit:
        scope_unit(scope, unit)  # PermissionDenied outside the scope
        dossiers = dossiers.filter(unit__code=unit)
    if agency:
        dossiers = dossiers.filter(agency__code=agency)
    if procedure:
        dossiers = dossiers.filter(procedure__national_code=procedure)
    if field:
        dossiers = dossiers.filter(procedure__field__code=field)
    if found.is_stock:
        running = Q(status__in=sorted(OPEN_STATUSES), received_at__lt=now)
        paused = Q(paused_since__isnull=False, paused_since__lte=now)
        if found.code == "overdue":
            return dossiers.filter(running, due_at__lt=now).exclude(paused).order_by("due_at", "id")
        if found.code == "due_soon":
            soon = Q(due_at__gte=now, due_at__lt=now + dt.timedelta(hours=24))
            return dossiers.filter(running, soon).exclude(paused).order_by("due_at", "id")
        return dossiers.filter(running).order_by("due_at", "id")
    date_from, date_to = period_bounds(date_from, date_to, now)
    start, end = _moment(date_from), _moment(date_to)
    if found.code in ("finished", "on_time_rate"):
        return dossiers.filter(finished_at__gte=start, finished_at__lt=end).order_by("-finished_at", "-id")
    if found.code in ("satisfaction_rate", "rating_score_average"):
        rated = dossiers.filter(rating__created_at__gte=start, rating__created_at__lt=end)
        return rated.order_by("-rating__created_at", "-id")
    return dossiers.filter(received_at__gte=start, received_at__lt=end).order_by("-received_at", "-id")
