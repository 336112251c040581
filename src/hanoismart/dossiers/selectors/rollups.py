"""Dossier figures for dashboards, read from the daily roll-ups (flows: a few rows per day, whatever the
number of dossiers: the agency rows, about 130 a day for the city, unless a field or procedure is asked for)
and from the open dossiers (stocks: bounded by what is open now, never the history).

Every selector takes ``unit_ids`` (the units whose dossiers may be counted, ``None`` for the whole city: get
it from ``stats.stats_scope(actor=)``) and the codes of ``stats`` to filter by (``unit``, ``agency``,
``field``, ``procedure``), checked and scoped by ``stats._filters``. A roll-up figure over ``[date_from,
date_to)`` equals ``stats.dossier_stats`` over the same days; docs/statistics.md ("Daily roll-ups") gives
the definitions.

Drill-down: with ``group_by="unit"`` and a ``unit`` code, the rows are that unit (its own agencies, e.g. the
city's departments) and each of its child units (the city's wards and communes); without the grouping,
``unit`` means the unit's own agencies, as in ``dossier_stats``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput
from hanoismart.dossiers.models import (
    OPEN_STATUSES,
    ROLLUP_FIGURES,
    Dossier,
    DossierAgencyDayRollup,
    DossierAgencyMonthRollup,
    DossierDailyRollup,
    DossierOpenStock,
    StockTier,
)
from hanoismart.dossiers.selectors.stats import GROUPS, _filters

#: How roll-up figures may be grouped ("" for one row of everything).
ROLLUP_GROUPS = ("", "agency", "day", "field", "month", "procedure", "unit")
#: How open figures may be grouped.
OPEN_GROUPS = ("", "agency", "field", "procedure", "unit")
#: The stock figures of the open dossiers, counted now.
OPEN_FIGURES = ("in_progress", "overdue", "due_soon", "paused")
DUE_SOON = dt.timedelta(hours=24)


@dataclass
class FigureRow:
    """The figures of one group (``key``: a code, an ISO day or "YYYY-MM"; "" for everything)."""

    key: str
    label: str
    figures: dict[str, int]


@dataclass(frozen=True)
class DueDossier:
    """What an overdue alert is raised from: the dossier, where it is handled, its due moment and holder."""

    id: int
    public_id: uuid.UUID
    code: str
    unit_id: int
    agency_id: int
    procedure_name: str
    due_at: dt.datetime | None
    assignee_id: int | None


@dataclass(frozen=True)
class PassingDue(DueDossier):
    """An open, running dossier whose due moment falls in a window (the IOC raises an alert for it)."""


@dataclass
class LateProcedure:
    """A procedure ranked by its late dossiers: finished late in the period and open and overdue now."""

    code: str
    name: str
    finished_late: int
    overdue: int
    finished: int


def _grouping(group_by: str, allowed: tuple[str, ...]) -> None:
    if group_by not in allowed:
        raise InvalidInput(
            _("Figures can be grouped by %(choices)s.") % {"choices": ", ".join(g for g in allowed if g)},
            details={"group_by": [_("Unknown grouping.")]},
        )


def _period(date_from: dt.date, date_to: dt.date) -> None:
    if date_from >= date_to:
        raise InvalidInput(
            _("The period must end after it starts."), details={"to": [_("Must be after the start.")]}
        )


def _scoped(
    *, unit_ids: set[int] | None, group_by: str, unit: str, agency: str, field: str, procedure: str
) -> Q:
    """The filter of the rows (roll-ups or dossiers: both carry unit, agency and procedure), with the
    drill-down to child units when grouping by unit under a unit."""
    lookups = _filters(scope=unit_ids, unit=unit, agency=agency, field_code=field, procedure=procedure)
    if group_by == "unit" and unit:
        unit_id = lookups.pop("unit_id")
        return Q(**lookups) & (Q(unit_id=unit_id) | Q(unit__parent_id=unit_id))
    return Q(**lookups)


def _figures(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, int]:
    return {name: int(row.get(f"sum_{name}") or 0) for name in names}


def _grouped_rows(
    queryset: Any, group_by: str, annotations: dict[str, Any], names: tuple[str, ...]
) -> list[FigureRow]:
    """One row per code of ``group_by`` (``stats.GROUPS``), or one row of everything."""
    if not group_by:
        figures = _figures(queryset.aggregate(**annotations), names)
        return [FigureRow(key="", label=_("All"), figures=figures)]
    code, label = GROUPS[group_by]
    rows = queryset.order_by().values(code, label).annotate(**annotations)
    found = [
        FigureRow(key=str(row[code] or ""), label=str(row[label] or ""), figures=_figures(row, names))
        for row in rows
    ]
    return sorted(found, key=lambda row: row.key)


def _days(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    return [date_from + dt.timedelta(days=n) for n in range((date_to - date_from).days)]


def rollup_figures(
    *,
    unit_ids: set[int] | None,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str = "",
    unit: str = "",
    agency: str = "",
    field: str = "",
    procedure: str = "",
) -> list[FigureRow]:
    """The sums of ``ROLLUP_FIGURES`` over the days ``[date_from, date_to)``, one row (key "") or one per
    unit, agency, field, procedure (key: its code, label: its name), day (key and label: ISO date) or month
    ("YYYY-MM"); days and months list every one of the period, with zeros where nothing happened. Raises
    ``InvalidInput`` for an empty period, an unknown grouping or code, ``PermissionDenied`` for a unit or
    agency outside ``unit_ids``."""
    _grouping(group_by, ROLLUP_GROUPS)
    _period(date_from, date_to)
    scope = _scoped(
        unit_ids=unit_ids, group_by=group_by, unit=unit, agency=agency, field=field, procedure=procedure
    )
    # Without a field or a procedure to filter or group by, the agency rows hold the same sums in a
    # fraction of the rows (about 130 a day for the city, against one per procedure with activity), and the
    # agency-month rows those of whole months (about 130 a month).
    by_procedure = bool(field or procedure) or group_by in ("field", "procedure")
    table = DossierDailyRollup if by_procedure else DossierAgencyDayRollup
    sums = {f"sum_{name}": Sum(name, default=0) for name in ROLLUP_FIGURES}
    months = None if by_procedure or group_by == "day" else _whole_months(date_from, date_to)
    if months is None:
        days = table.objects.filter(scope, day__gte=date_from, day__lt=date_to)
    else:
        # the days before the first whole month and after the last one, then the whole months
        days = table.objects.filter(
            scope, Q(day__gte=date_from, day__lt=months[0]) | Q(day__gte=months[1], day__lt=date_to)
        )
        whole = DossierAgencyMonthRollup.objects.filter(scope, month__gte=months[0], month__lt=months[1])
    if group_by not in ("day", "month"):
        rows = _grouped_rows(days, group_by, sums, ROLLUP_FIGURES)
        if months is not None:
            rows = _merged(rows, _grouped_rows(whole, group_by, sums, ROLLUP_FIGURES))
        return rows
    daily = days.order_by().values("day").annotate(**sums)
    by_day = {row["day"]: _figures(row, ROLLUP_FIGURES) for row in daily}
    if group_by == "day":
        zero = dict.fromkeys(ROLLUP_FIGURES, 0)
        return [
            FigureRow(key=day.isoformat(), label=day.isoformat(), figures=by_day.get(day, dict(zero)))
            for day in _days(date_from, date_to)
        ]
    by_month: dict[str, dict[str, int]] = {}
    for day in _days(date_from, date_to):
        month = by_month.setdefault(f"{day:%Y-%m}", dict.fromkeys(ROLLUP_FIGURES, 0))
        for name, amount in by_day.get(day, {}).items():
            month[name] += amount
    if months is not None:
        for row in whole.order_by().values("month").annotate(**sums):
            month = by_month[f"{row['month']:%Y-%m}"]
            for name, amount in _figures(row, ROLLUP_FIGURES).items():
                month[name] += amount
    return [FigureRow(key=key, label=key, figures=figures) for key, figures in by_month.items()]


def month_after(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _whole_months(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date] | None:
    """The first day of the first whole month in ``[date_from, date_to)`` and of the month after the last
    one; ``None`` when the period holds no whole month."""
    first = date_from if date_from.day == 1 else month_after(date_from)
    last = date_to.replace(day=1)
    return (first, last) if first < last else None


def _merged(*parts: list[FigureRow]) -> list[FigureRow]:
    """The rows of ``parts`` added up by key (figures summed), in key order."""
    found: dict[str, FigureRow] = {}
    for rows in parts:
        for row in rows:
            kept = found.get(row.key)
            if kept is None:
                found[row.key] = FigureRow(key=row.key, label=row.label, figures=dict(row.figures))
                continue
            for name, amount in row.figures.items():
                kept.figures[name] = kept.figures.get(name, 0) + amount
    return sorted(found.values(), key=lambda row: row.key)


def _open(now: dt.datetime) -> Q:
    """Open (``OPEN_STATUSES``) and received before ``now``: what ``dossier_stats`` counts in progress."""
    return Q(status__in=sorted(OPEN_STATUSES), received_at__lt=now)


def _paused(now: dt.datetime) -> Q:
    return Q(paused_since__isnull=False, paused_since__lte=now)


#: The running open dossiers (received, not waiting for a supplement): the ``dossier_running_due`` index.
RUNNING = Q(status__in=sorted(OPEN_STATUSES), paused_since__isnull=True, received_at__isnull=False)


def _local_midnight(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now, timezone.get_default_timezone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _stock_figures(scope: Q, group_by: str, now: dt.datetime) -> list[FigureRow]:
    """``open_figures`` from the open stocks (``DossierOpenStock``, a few thousand rows for the city) and
    the running dossiers due between midnight and 24 hours from now (a range of ``dossier_running_due``):
    in progress and paused are the month rows' sums; overdue the running dossiers of the earlier months
    (month rows), of this month's earlier days (day rows) and of today before ``now``; due soon those due
    in the next 24 hours."""
    midnight = _local_midnight(now)
    today, month = midnight.date(), midnight.date().replace(day=1)
    month_rows = Q(tier=StockTier.MONTH)
    earlier_days = Q(tier=StockTier.DAY, due__gte=month, due__lt=today)
    running = F("open") - F("paused")
    stocks = DossierOpenStock.objects.filter(scope, month_rows | earlier_days)
    stocked = _grouped_rows(
        stocks,
        group_by,
        {
            "sum_in_progress": Sum("open", filter=month_rows, default=0),
            "sum_paused": Sum("paused", filter=month_rows, default=0),
            "sum_overdue": Sum(running, filter=(month_rows & Q(due__lt=month)) | earlier_days, default=0),
        },
        ("in_progress", "overdue", "paused"),
    )
    live = _grouped_rows(
        Dossier.objects.filter(scope, RUNNING, due_at__gte=midnight, due_at__lt=now + DUE_SOON),
        group_by,
        {
            "sum_overdue": Count("unit", filter=Q(due_at__lt=now)),
            "sum_due_soon": Count("unit", filter=Q(due_at__gte=now)),
        },
        ("overdue", "due_soon"),
    )
    rows = _merged(stocked, live)
    for row in rows:
        row.figures = {name: row.figures.get(name, 0) for name in OPEN_FIGURES}
    return [row for row in rows if not group_by or any(row.figures.values())]


def next_due_moments(*, unit_ids: set[int] | None, now: dt.datetime) -> tuple[dt.datetime | None, ...]:
    """The next moments the clock moves a stock figure of ``unit_ids`` (``None``: the city): the earliest
    due moment of a running open dossier after ``now`` (it turns overdue then) and after ``now`` + 24 hours
    (it becomes due soon then); ``None`` where there is none. Two probes of the ``dossier_running_due``
    index."""
    running = Dossier.objects.filter(RUNNING)
    if unit_ids is not None:
        running = running.filter(unit_id__in=unit_ids)
    return tuple(
        running.filter(due_at__gt=after).aggregate(next=Min("due_at"))["next"]
        for after in (now, now + DUE_SOON)
    )


def open_figures(
    *,
    unit_ids: set[int] | None,
    now: dt.datetime,
    group_by: str = "",
    unit: str = "",
    agency: str = "",
    field: str = "",
    procedure: str = "",
) -> list[FigureRow]:
    """The open dossiers at ``now``: ``in_progress`` (received and open), ``overdue`` (due before ``now`` and
    not waiting for a supplement, as ``dossier_stats``), ``due_soon`` (running, due within the next 24
    hours), ``paused`` (waiting for a supplement); grouped like ``rollup_figures`` (not by day or month).
    Without a field or procedure to filter or group by, reads the open stocks kept on write and the running
    dossiers due from midnight to 24 hours ahead (``_stock_figures``: counts what is open when called, so
    ``now`` must not be before the latest receipt); else counts the open dossiers (index on the open ones)."""
    _grouping(group_by, OPEN_GROUPS)
    scope = _scoped(
        unit_ids=unit_ids, group_by=group_by, unit=unit, agency=agency, field=field, procedure=procedure
    )
    if not (field or procedure or group_by in ("field", "procedure")):
        return _stock_figures(scope, group_by, now)
    paused = _paused(now)
    # Counting a column of the partial index on the open dossiers (``unit``, never null) rather than the
    # primary key lets PostgreSQL answer from the index alone (no visit to the dossier rows).
    counts = {
        "sum_in_progress": Count("unit"),
        "sum_overdue": Count("unit", filter=Q(due_at__lt=now) & ~paused),
        "sum_due_soon": Count("unit", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON) & ~paused),
        "sum_paused": Count("unit", filter=paused),
    }
    return _grouped_rows(Dossier.objects.filter(_open(now), scope), group_by, counts, OPEN_FIGURES)


def dossiers_passing_due(*, since: dt.datetime, until: dt.datetime) -> list[PassingDue]:
    """The open dossiers, not waiting for a supplement, whose due moment is in ``(since, until]``, earliest
    first (not scoped: for the IOC's alerting)."""
    rows = (
        Dossier.objects.filter(
            status__in=sorted(OPEN_STATUSES), paused_since__isnull=True, due_at__gt=since, due_at__lte=until
        )
        .order_by("due_at", "id")
        .values("id", "public_id", "code", "unit_id", "agency_id", "procedure__name", "due_at", "assignee_id")
    )
    return [
        PassingDue(
            id=row["id"],
            public_id=row["public_id"],
            code=row["code"],
            unit_id=row["unit_id"],
            agency_id=row["agency_id"],
            procedure_name=row["procedure__name"],
            due_at=row["due_at"],
            assignee_id=row["assignee_id"],
        )
        for row in rows
    ]


def late_procedures(
    *,
    unit_ids: set[int] | None,
    date_from: dt.date,
    date_to: dt.date,
    limit: int = 10,
    now: dt.datetime | None = None,
    unit: str = "",
    agency: str = "",
    field: str = "",
) -> list[LateProcedure]:
    """The procedures with the most late dossiers: finished late in ``[date_from, date_to)`` (roll-ups) plus
    open and overdue at ``now`` (default: now), most first, then by code; procedures with none are left
    out."""
    now = now or timezone.now()
    _period(date_from, date_to)
    scope = _scoped(unit_ids=unit_ids, group_by="", unit=unit, agency=agency, field=field, procedure="")
    code, name = GROUPS["procedure"]
    found: dict[str, LateProcedure] = {}
    finished = (
        DossierDailyRollup.objects.filter(scope, day__gte=date_from, day__lt=date_to)
        .order_by()
        .values(code, name)
        .annotate(late=Sum("finished_late", default=0), done=Sum("finished", default=0))
    )
    for row in finished:
        found[row[code]] = LateProcedure(
            code=row[code],
            name=row[name],
            finished_late=int(row["late"]),
            overdue=0,
            finished=int(row["done"]),
        )
    overdue = (
        Dossier.objects.filter(_open(now), scope, due_at__lt=now)
        .exclude(_paused(now))
        .order_by()
        .values(code, name)
        .annotate(n=Count("unit"))
    )
    for row in overdue:
        entry = found.setdefault(
            row[code], LateProcedure(code=row[code], name=row[name], finished_late=0, overdue=0, finished=0)
        )
        entry.overdue = row["n"]
    ranked = [entry for entry in found.values() if entry.finished_late or entry.overdue]
    ranked.sort(key=lambda entry: (-(entry.finished_late + entry.overdue), entry.code))
    return ranked[:limit]


def rollups_last_change() -> dt.datetime | None:
    """When a roll-up row last changed (a dossier's flow figures, or its open state: paused, resumed, due
    moved, closed); ``None`` without any row. One index lookup."""
    return DossierDailyRollup.objects.aggregate(last=Max("updated_at"))["last"]


def rollups_changed_since(moment: dt.datetime) -> bool:
    """Whether a roll-up row changed after ``moment`` (see ``rollups_last_change``)."""
    return DossierDailyRollup.objects.filter(updated_at__gt=moment).exists()
