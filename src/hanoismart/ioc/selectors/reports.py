"""The reporting KPIs of the operations center, read through the reporting app's selectors.

- completeness: of the reports expected for the latest period of each active form whose due moment has passed
  (reporters had their full time), the share submitted (submitted, accepted or locked; on time or late);
  the previous value is the same for the period before it;
- late reports: expected reports, now, of periods past their due moment and not yet locked, that are not
  submitted (what the reminders chase).

One query for the forms, one per form for its periods, two per form and period (``reporting.selectors.
completeness``), a few forms: never proportional to the number of reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.reporting.selectors import Completeness, ReportState, completeness, form_list, period_list

REPORT_FIGURES = ("reports_expected", "reports_submitted", "reports_late")


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


@dataclass
class ReportPart:
    """The reporting figures of one reporter, unit or group: expected and submitted in the latest closed
    periods, and late now."""

    unit_code: str = ""
    expected: int = 0
    submitted: int = 0
    late: int = 0

    @property
    def completeness(self) -> float | None:
        return _percent(self.submitted, self.expected)

    def as_figures(self) -> dict[str, int]:
        return {
            "reports_expected": self.expected,
            "reports_submitted": self.submitted,
            "reports_late": self.late,
        }


@dataclass
class ReportFigures(ReportPart):
    """The reporting figures of a unit (or the city), with the previous completeness and the parts by the
    reporters' unit and by reporter."""

    previous_expected: int = 0
    previous_submitted: int = 0
    units: dict[str, tuple[str, ReportPart]] = field(default_factory=dict)
    reporters: dict[str, tuple[str, ReportPart]] = field(default_factory=dict)

    @property
    def previous_completeness(self) -> float | None:
        return _percent(self.previous_submitted, self.previous_expected)

    def by(self, level: str) -> dict[str, tuple[str, ReportPart]]:
        """The parts by the reporters' ``unit`` or by reporter (``agency``: an agency, or a unit reporting
        for itself)."""
        return self.units if level == "unit" else self.reporters


def _parts(figures: ReportFigures, row) -> tuple[ReportPart, ReportPart]:
    reporter = row.reporter
    unit = reporter.unit
    label = unit.name if unit.parent_id is not None else _("City level (departments)")
    unit_part = figures.units.setdefault(unit.code, (label, ReportPart(unit_code=unit.code)))[1]
    key = reporter.agency.code if reporter.agency else unit.code
    reporter_part = figures.reporters.setdefault(key, (reporter.name, ReportPart(unit_code=unit.code)))[1]
    return unit_part, reporter_part


def _periods(form, now: dt.datetime, today: dt.date) -> tuple[list, list]:
    """The form's two latest periods past their due moment, and those of its periods past due and not yet
    locked (what is late now), in one query: the latest two come first in the same order."""
    periods = period_list(form).filter(due_at__lte=now)
    periods = periods.order_by(*periods.query.order_by, "-pk")  # a total order: the subquery's two are ours
    found = list(periods.filter(Q(pk__in=periods.values("pk")[:2]) | Q(locks_on__gte=today)))
    return found[:2], [period for period in found if period.locks_on >= today]


def report_figures(
    *, unit_id: int | None, now: dt.datetime, unit_ids: set[int] | None = None
) -> ReportFigures:
    """The reporting figures of the reporters of unit ``unit_id`` (its own report and its agencies'), or
    with ``unit_id`` None of every reporter in ``unit_ids`` (None: the whole city), at ``now``."""
    today = timezone.localdate(now)
    figures = ReportFigures()
    cache: dict[int, Completeness] = {}

    def rows(form, period):
        if period.pk not in cache:
            cache[period.pk] = completeness(form=form, period=period)
        for row in cache[period.pk].rows:
            reporter_unit = row.reporter.unit.pk
            if unit_id is not None and reporter_unit != unit_id:
                continue
            if unit_id is None and unit_ids is not None and reporter_unit not in unit_ids:
                continue
            yield row

    for form in form_list():
        closed, late_periods = _periods(form, now, today)
        if closed:
            for row in rows(form, closed[0]):
                submitted = int(row.state != ReportState.MISSING)
                figures.expected += 1
                figures.submitted += submitted
                for part in _parts(figures, row):
                    part.expected += 1
                    part.submitted += submitted
        if len(closed) > 1:
            for row in rows(form, closed[1]):
                figures.previous_expected += 1
                figures.previous_submitted += int(row.state != ReportState.MISSING)
        for period in late_periods:
            for row in rows(form, period):
                if row.state == ReportState.MISSING:
                    figures.late += 1
                    for part in _parts(figures, row):
                        part.late += 1
    return figures
