"""Reporting periods: the dates a form's calendar gives a day, with due dates on the city's working days.

Decree 09/2019/NĐ-CP closes monthly data on the 14th (from the 15th of the month before); quarterly,
six-monthly, nine-monthly and yearly reports close on the 14th of their last month likewise (Q1: 15 December
to 14 March; the year: 15 December to 14 December). A form with no cut-off day uses calendar months. Weekly
periods are ISO weeks (Monday to Sunday). Ad-hoc periods are made by ad-hoc requests, not here.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hanoismart.common.calendar import WorkingCalendar
from hanoismart.common.errors import InvalidInput
from hanoismart.directory.selectors import working_calendar
from hanoismart.reporting.models import Period, PeriodType, ReportForm

MONTHS_PER_PERIOD = {
    PeriodType.MONTHLY: 1,
    PeriodType.QUARTERLY: 3,
    PeriodType.HALF_YEAR: 6,
    PeriodType.NINE_MONTH: 9,
    PeriodType.YEARLY: 12,
}
# The months a period of each type can end in (its data's last month).
_END_MONTHS = {
    PeriodType.MONTHLY: tuple(range(1, 13)),
    PeriodType.QUARTERLY: (3, 6, 9, 12),
    PeriodType.HALF_YEAR: (6, 12),
    PeriodType.NINE_MONTH: (9,),
    PeriodType.YEARLY: (12,),
}


def _month_end(year: int, month: int, cut_off_day: int | None) -> dt.date:
    """The last day of data of ``month``: its cut-off day, or its last day for calendar months."""
    day = cut_off_day or month_calendar.monthrange(year, month)[1]
    return dt.date(year, month, day)


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def period_code(period_type: str, year: int, month: int) -> str:
    """The human code of the period of ``period_type`` whose data ends in ``month`` of ``year``."""
    if period_type == PeriodType.MONTHLY:
        return f"{year}-{month:02d}"
    if period_type == PeriodType.QUARTERLY:
        return f"{year}Q{month // 3}"
    if period_type == PeriodType.HALF_YEAR:
        return f"{year}S{month // 6}"
    if period_type == PeriodType.NINE_MONTH:
        return f"{year}-9M"
    return str(year)


def working_days_after(calendar: WorkingCalendar, day: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``day`` (``day`` itself for zero)."""
    current = day
    counted = 0
    while counted < days:
        current += dt.timedelta(days=1)
        if calendar.is_working_day(current):
            counted += 1
    return current


def _dates(form: ReportForm, day: dt.date) -> tuple[str, dt.date, dt.date]:
    """(code, start, end) of the period of ``form`` that holds ``day`` (for a nine-month form, a day after
    the cut-off of September belongs to the next year's period)."""
    if form.period_type == PeriodType.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        iso_year, week, _weekday = day.isocalendar()
        return f"{iso_year}W{week:02d}", start, start + dt.timedelta(days=6)
    if form.period_type not in MONTHS_PER_PERIOD:
        raise InvalidInput(_("Ad-hoc periods are made by a report request, not by the calendar."))
    # The month whose data window holds the day.
    year, month = day.year, day.month
    if day > _month_end(year, month, form.cut_off_day):
        year, month = _shift(year, month, 1)
    while month not in _END_MONTHS[form.period_type]:
        year, month = _shift(year, month, 1)
    months = MONTHS_PER_PERIOD[form.period_type]
    end = _month_end(year, month, form.cut_off_day)
    start_year, start_month = _shift(year, month, -months)
    start = _month_end(start_year, start_month, form.cut_off_day) + dt.timedelta(days=1)
    return period_code(form.period_type, year, month), start, end


def period_build(*, form: ReportForm, code: str, start: dt.date, end: dt.date) -> Period:
    """An unsaved period of ``form`` from ``start`` to ``end`` with its due dates and lock date counted on the
    city's working calendar (the due moment is the close of office hours of the due date)."""
    calendar = working_calendar()
    due_on = working_days_after(calendar, end, form.due_working_days)
    closing = calendar.office_hours[-1][1]
    return Period(
        form=form,
        period_type=form.period_type,
        code=code,
        start=start,
        end=end,
        due_on=due_on,
        due_at=dt.datetime.combine(due_on, closing, tzinfo=calendar.zone),
        city_due_on=working_days_after(calendar, end, form.city_due_working_days),
        locks_on=due_on + dt.timedelta(days=form.lock_after_days),
    )


def period_for(*, form: ReportForm, day: dt.date) -> Period:
    """The period of ``form`` whose data covers ``day``, made (once) if it does not exist yet."""
    code, start, end = _dates(form, day)
    existing = Period.objects.filter(form=form, code=code).first()
    if existing is not None:
        return existing
    period = period_build(form=form, code=code, start=start, end=end)
    try:
        with transaction.atomic():
            period.save()
    except IntegrityError:  # made by a concurrent caller
        return Period.objects.get(form=form, code=code)
    return period


def periods_between(*, form: ReportForm, start: dt.date, end: dt.date) -> list[Period]:
    """The periods of ``form`` whose data overlaps ``start``..``end``, oldest first (made where missing)."""
    if end < start:
        raise InvalidInput(_("The end date is before the start date."))
    periods: list[Period] = []
    day = start
    while day <= end:
        period = period_for(form=form, day=day)
        periods.append(period)
        day = period.end + dt.timedelta(days=1)
    return periods
