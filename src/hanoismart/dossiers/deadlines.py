"""Deadline maths for dossiers: pure functions over ``common.calendar.WorkingCalendar``.

* due = received + the case's processing time (the online time when filed online and the law gives one), in
  the case's unit: working days (a day is a full day of office hours), working hours, or calendar days (a due
  date on a day off moves to the end of the next working day);
* a supplement request pauses the clock; when the supplement arrives, due moves by the WORKING time paused
  (a pause across a holiday moves it by the working hours it covered only);
* a finished dossier is early (finished on an earlier day than due), on time, or late; an open one is overdue
  once past due.

``WorkingTimeline`` is a precomputed index of a calendar's working days that answers the same questions as
``WorkingCalendar.add_working_time`` in O(log n) for the hot paths (listing due previews, the benchmark).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hanoismart.common.calendar import WorkingCalendar

WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"
CALENDAR_DAYS = "calendar_days"

EARLY, ON_TIME, LATE = "early", "on_time", "late"


def processing_budget(*, case, channel: str) -> tuple[Decimal, str]:
    """The processing time and unit that apply to a dossier of ``case`` filed on ``channel``."""
    amount = case.processing_time
    if channel == "online" and case.online_processing_time is not None:
        amount = case.online_processing_time
    return Decimal(amount), case.time_unit


def due_at(
    calendar: WorkingCalendar, *, received_at: dt.datetime, amount: Decimal | float | int, unit: str
) -> dt.datetime:
    """When a dossier received at ``received_at`` with a budget of ``amount`` ``unit`` is due."""
    amount = Decimal(amount)
    if unit == WORKING_DAYS:
        return calendar.add_working_time(received_at, calendar.day_length * float(amount))
    if unit == WORKING_HOURS:
        return calendar.add_working_time(received_at, dt.timedelta(hours=float(amount)))
    if unit == CALENDAR_DAYS:
        local = received_at.astimezone(calendar.zone) + dt.timedelta(days=float(amount))
        if calendar.is_working_day(local.date()):
            return local
        day = local.date() + dt.timedelta(days=1)
        while not calendar.is_working_day(day):
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, calendar.office_hours[-1][1], tzinfo=calendar.zone)
    raise ValueError(f"Unknown time unit {unit!r}.")


def paused_working_time(
    calendar: WorkingCalendar, *, paused_since: dt.datetime, resumed_at: dt.datetime
) -> dt.timedelta:
    """The working time the clock stood still between a supplement request and the supplement."""
    if resumed_at <= paused_since:
        return dt.timedelta(0)
    return calendar.working_time_between(paused_since, resumed_at)


def due_after_pause(calendar: WorkingCalendar, *, due: dt.datetime, paused: dt.timedelta) -> dt.datetime:
    """``due`` moved later by ``paused`` working time."""
    if paused <= dt.timedelta(0):
        return due
    return calendar.add_working_time(due, paused)


def step_due_at(
    calendar: WorkingCalendar, *, started_at: dt.datetime, working_hours: Decimal | float
) -> dt.datetime:
    """When a workflow step that started at ``started_at`` with a budget of ``working_hours`` is due."""
    return calendar.add_working_time(started_at, dt.timedelta(hours=float(working_hours)))


def timeliness(calendar: WorkingCalendar, *, finished_at: dt.datetime, due: dt.datetime | None) -> str:
    """Early (finished on a day before the due day), on time (by the due moment), or late."""
    if due is None:
        return ON_TIME
    if finished_at > due:
        return LATE
    zone = calendar.zone
    if finished_at.astimezone(zone).date() < due.astimezone(zone).date():
        return EARLY
    return ON_TIME


def is_overdue(*, due: dt.datetime | None, now: dt.datetime, paused_since: dt.datetime | None = None) -> bool:
    """Whether an open dossier is past due (a paused clock counts from when it stopped)."""
    if due is None:
        return False
    return (paused_since or now) > due


class WorkingTimeline:
    """A calendar's working days over a span of years, indexed so that working time maps to a number line.

    ``position(moment)`` is the working time (in seconds) from the start of the span to ``moment``;
    ``moment_at(position)`` is its inverse (at a block's end rather than the next opening, as the calendar
    does). Adding working time is then integer arithmetic and one list lookup each way. The zone's offset must
    be fixed over the span (Vietnam has kept UTC+7 since 1975); the constructor checks it.
    """

    def __init__(self, calendar: WorkingCalendar, *, first_year: int, last_year: int):
        self.calendar = calendar
        self.zone = calendar.zone
        self.origin = dt.datetime(first_year, 1, 1, tzinfo=self.zone)
        offsets = {
            dt.datetime(year, month, 1, tzinfo=self.zone).utcoffset()
            for year in range(first_year, last_year + 1)
            for month in (1, 4, 7, 10)
        }
        if len(offsets) != 1:
            raise ValueError("WorkingTimeline needs a time zone without daylight saving over its years.")
        self.offset = offsets.pop().total_seconds()
        self.first_epoch_day = (dt.date(first_year, 1, 1) - dt.date(1970, 1, 1)).days
        day = dt.date(first_year, 1, 1)
        end = dt.date(last_year, 12, 31)
        working: list[int] = []  # day indexes (from the origin) of the working days
        before: list[int] = []  # for every day: how many working days come before it
        is_working = bytearray()
        index = 0
        while day <= end:
            before.append(len(working))
            if calendar.is_working_day(day):
                working.append(index)
                is_working.append(1)
            else:
                is_working.append(0)
            day += dt.timedelta(days=1)
            index += 1
        self.days = index
        self.working_days = working
        self.working_before = before
        self.is_working = bytes(is_working)
        blocks = []
        for start, stop in calendar.office_hours:
            blocks.append((start.hour * 3600 + start.minute * 60, stop.hour * 3600 + stop.minute * 60))
        self.blocks = tuple(blocks)
        done = []
        total = 0
        for start_s, stop_s in blocks:
            done.append(total)
            total += stop_s - start_s
        self.block_done = tuple(done)
        self.day_seconds = total
        self.last_block_end = blocks[-1][1]

    def _local(self, moment: dt.datetime) -> tuple[int, float]:
        """(day index from the origin, seconds past local midnight) of ``moment``."""
        seconds = moment.timestamp() + self.offset
        epoch_day = int(seconds // 86400)
        index = epoch_day - self.first_epoch_day
        if index < 0 or index >= self.days:
            raise ValueError("The moment is outside the timeline's years.")
        return index, seconds - epoch_day * 86400

    def position(self, moment: dt.datetime) -> float:
        """Working seconds from the start of the span to ``moment``."""
        index, seconds = self._local(moment)
        base = self.working_before[index] * self.day_seconds
        if not self.is_working[index]:
            return float(base)  # a day off: no working time within it
        done = 0.0
        for start_s, stop_s in self.blocks:
            if seconds <= start_s:
                break
            if seconds < stop_s:
                done += seconds - start_s
                break
            done += stop_s - start_s
        return base + done

    def moment_at(self, position: float) -> dt.datetime:
        """The moment at ``position`` working seconds from the start (the end of a block, not the next
        opening, when it falls exactly between two)."""
        day_number, remainder = divmod(position, self.day_seconds)
        day_number = int(day_number)
        if remainder == 0 and day_number > 0:
            day_number -= 1
            remainder = self.day_seconds
        if day_number >= len(self.working_days):
            raise ValueError("The due moment is past the timeline's years.")
        seconds = 0.0
        for (start_s, stop_s), done in zip(self.blocks, self.block_done, strict=True):
            if remainder <= done + (stop_s - start_s):
                seconds = start_s + (remainder - done)
                break
        return self.origin + dt.timedelta(days=self.working_days[day_number], seconds=seconds)

    def add(self, moment: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """``WorkingCalendar.add_working_time`` without pauses, by lookup."""
        if duration <= dt.timedelta(0):
            if duration < dt.timedelta(0):
                raise ValueError("Working time to add cannot be negative.")
            return moment.astimezone(self.zone)
        return self.moment_at(self.position(moment) + duration.total_seconds())

    def due_at(self, *, received_at: dt.datetime, amount: float | Decimal, unit: str) -> dt.datetime:
        """``due_at`` by lookup."""
        if type(amount) is not float and type(amount) is not int:
            amount = float(amount)
        if unit == WORKING_DAYS:
            return self.moment_at(self.position(received_at) + self.day_seconds * amount)
        if unit == WORKING_HOURS:
            return self.moment_at(self.position(received_at) + 3600 * amount)
        if unit == CALENDAR_DAYS:
            index, seconds = self._local(received_at)
            span = float(amount) * 86400 + seconds
            whole_days = int(span // 86400)
            target = index + whole_days
            if target < self.days and self.is_working[target]:
                return self.origin + dt.timedelta(days=index, seconds=span)
            next_working = self.working_before[target] if target < self.days else len(self.working_days)
            if next_working >= len(self.working_days):
                raise ValueError("The due moment is past the timeline's years.")
            return self.origin + dt.timedelta(
                days=self.working_days[next_working], seconds=self.last_block_end
            )
        raise ValueError(f"Unknown time unit {unit!r}.")
