"""Working time: the one calendar every deadline in HanoiSmart is counted on (DESIGN.md, "Rules").

A day is a working day unless it is a weekend day (Saturday, Sunday) or one of Vietnam's public holidays as
the ``holidays`` package knows them (lunar Tết and Hùng Kings' day included, with the observed and substituted
days it lists). The city's announced changes come on top and win: an announced day off is never a working day,
an announced make-up working day always is. Precedence: announced working day, announced day off, public
holiday, the package's own make-up Saturdays, weekend.

Working time is the office hours of working days (``settings.OFFICE_HOURS``, by default 08:00-12:00 and
13:00-17:00, Asia/Ho_Chi_Minh). Every function here takes and returns timezone-aware datetimes and raises
``ValueError`` on naive ones. Arithmetic is wall-clock within the zone, which is exact for a zone without
daylight saving (Vietnam has had none since 1975).

``common`` imports no app: the announced days are passed in as sets of dates by the caller;
``hanoismart.directory.selectors.working_calendar()`` builds the city's calendar from its table.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

Pause = tuple[dt.datetime, dt.datetime]
"""A span during which the clock stops (e.g. a dossier waiting for the applicant's supplement)."""

OfficeBlock = tuple[dt.time, dt.time]

DEFAULT_OFFICE_HOURS: tuple[OfficeBlock, ...] = (
    (dt.time(8, 0), dt.time(12, 0)),
    (dt.time(13, 0), dt.time(17, 0)),
)
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
WEEKEND = frozenset({5, 6})  # date.weekday() of Saturday and Sunday

# However far a search for working time goes before it gives up: a calendar whose announced days off leave no
# working time for this long is misconfigured, and looping on it for ever would hang the caller.
_MAX_SEARCH_DAYS = 366 * 20


def parse_office_hours(blocks: Iterable[str]) -> tuple[OfficeBlock, ...]:
    """Parse ``["08:00-12:00", "13:00-17:00"]`` into ordered, non-overlapping (start, end) times.

    Raises ``ValueError`` on a malformed block, an empty one, or blocks out of order or overlapping.
    """
    parsed: list[OfficeBlock] = []
    for block in blocks:
        try:
            start_text, end_text = block.split("-")
            parsed.append(
                (dt.time.fromisoformat(start_text.strip()), dt.time.fromisoformat(end_text.strip()))
            )
        except ValueError as error:
            raise ValueError(f"Office hours block {block!r} is not HH:MM-HH:MM.") from error
    return _checked_blocks(tuple(parsed))


def _checked_blocks(blocks: tuple[OfficeBlock, ...]) -> tuple[OfficeBlock, ...]:
    if not blocks:
        raise ValueError("Office hours need at least one block.")
    previous_end: dt.time | None = None
    for start, end in blocks:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("Office hours are wall-clock times in the calendar's time zone, without tzinfo.")
        if start >= end:
            raise ValueError(f"Office hours block {start:%H:%M}-{end:%H:%M} ends before it starts.")
        if previous_end is not None and start < previous_end:
            raise ValueError(f"Office hours block {start:%H:%M}-{end:%H:%M} overlaps the one before it.")
        previous_end = end
    return blocks


@functools.lru_cache(maxsize=64)
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


def public_holidays(year: int) -> Mapping[dt.date, str]:
    """Vietnam's public holidays of ``year`` (observed and substituted days included): date → Vietnamese name.

    The package computes lunar holidays for any year; for years past the last official announcement it marks
    the names as estimated ("dự kiến").
    """
    return MappingProxyType(_vietnam(year))


@functools.lru_cache(maxsize=64)
def _holiday_dates(year: int) -> frozenset[dt.date]:
    # A plain set: membership in the package's mapping parses its key on every lookup.
    return frozenset(_vietnam(year))


@functools.lru_cache(maxsize=64)
def package_make_up_days(year: int) -> frozenset[dt.date]:
    """Saturdays of ``year`` the government declared working days in exchange for a bridge day off, as the
    package lists them beside the substituted day (e.g. Saturday 26 April 2025 for Friday 2 May 2025)."""
    return frozenset(day for day in _vietnam(year).weekend_workdays if day.year == year)


def _require_aware(*moments: dt.datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
            raise ValueError("Working time needs timezone-aware datetimes.")


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days and which hours of them count, for one city.

    ``days_off`` and ``working_days`` are the city's announced changes (they override weekends and public
    holidays); ``office_hours`` are the blocks of a working day in ``timezone``.
    """

    days_off: frozenset[dt.date] = field(default_factory=frozenset)
    working_days: frozenset[dt.date] = field(default_factory=frozenset)
    office_hours: tuple[OfficeBlock, ...] = DEFAULT_OFFICE_HOURS
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        both = self.days_off & self.working_days
        if both:
            raise ValueError(f"Days both off and working: {sorted(both)}.")
        object.__setattr__(self, "office_hours", _checked_blocks(tuple(self.office_hours)))
        ZoneInfo(self.timezone)  # fail now, not at the first deadline, on an unknown zone

    @classmethod
    def from_settings(
        cls, *, days_off: Iterable[dt.date] = (), working_days: Iterable[dt.date] = ()
    ) -> WorkingCalendar:
        """A calendar with the deployment's office hours and time zone and the given announced days."""
        from django.conf import settings

        return cls(
            days_off=frozenset(days_off),
            working_days=frozenset(working_days),
            office_hours=parse_office_hours(settings.OFFICE_HOURS),
            timezone=settings.TIME_ZONE,
        )

    # -- days ---------------------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The time zone office hours are kept in."""
        return ZoneInfo(self.timezone)

    @property
    def day_length(self) -> dt.timedelta:
        """The working time of one full working day (8 hours with the default office hours)."""
        return sum(
            (
                dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)
                for start, end in self.office_hours
            ),
            dt.timedelta(0),
        )

    def is_working_day(self, day: dt.date) -> bool:
        """Whether offices are open on ``day`` (see the module docstring for the precedence of rules)."""
        if day in self.working_days:
            return True
        if day in self.days_off or day in _holiday_dates(day.year):
            return False
        if day in package_make_up_days(day.year):
            return True
        return day.weekday() not in WEEKEND

    def day_off_reason(self, day: dt.date) -> str:
        """Why ``day`` is off: a holiday's name, "announced" or "weekend" ("" on a working day)."""
        if self.is_working_day(day):
            return ""
        if day in self.days_off:
            return "announced"
        return public_holidays(day.year).get(day, "weekend")

    def _blocks(self, day: dt.date) -> list[Pause]:
        """The office-hour spans of ``day`` as aware datetimes (none on a day off)."""
        if not self.is_working_day(day):
            return []
        zone = self.zone
        return [
            (dt.datetime.combine(day, start, tzinfo=zone), dt.datetime.combine(day, end, tzinfo=zone))
            for start, end in self.office_hours
        ]

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` itself if it falls within office hours of a working day, else the next opening time.

        This is when the clock starts for something received at ``moment``: a dossier received at 20:00 on a
        Friday starts counting at 08:00 on the next working day.
        """
        _require_aware(moment)
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(_MAX_SEARCH_DAYS):
            for start, end in self._blocks(day):
                if local < end:
                    return max(local, start)
            day += dt.timedelta(days=1)
        raise ValueError("No working time found within twenty years; check the announced days off.")

    # -- spans --------------------------------------------------------------------------------------------

    def _working_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time in [start, end], start <= end, both in the calendar's zone."""
        first, last = start.date(), end.date()
        total = self._overlap_on(first, start, end)
        if last > first:
            day_length = self.day_length
            day = first + dt.timedelta(days=1)
            while day < last:  # whole days in between: no need to build their datetimes
                if self.is_working_day(day):
                    total += day_length
                day += dt.timedelta(days=1)
            total += self._overlap_on(last, start, end)
        return total

    def _overlap_on(self, day: dt.date, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        total = dt.timedelta(0)
        for block_start, block_end in self._blocks(day):
            overlap = min(end, block_end) - max(start, block_start)
            if overlap > dt.timedelta(0):
                total += overlap
        return total

    def _merged_pauses(
        self, pauses: Iterable[Pause], *, not_before: dt.datetime | None = None
    ) -> list[Pause]:
        """Pauses sorted, validated, in the calendar's zone, overlapping ones merged."""
        zone = self.zone
        spans: list[Pause] = []
        for pause_start, pause_end in pauses:
            _require_aware(pause_start, pause_end)
            if pause_end < pause_start:
                raise ValueError("A pause cannot end before it starts.")
            spans.append((pause_start.astimezone(zone), pause_end.astimezone(zone)))
        spans.sort()
        merged: list[Pause] = []
        for pause_start, pause_end in spans:
            if not_before is not None:
                pause_start = max(pause_start, not_before)
                if pause_end <= pause_start:
                    continue
            if merged and pause_start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], pause_end))
            else:
                merged.append((pause_start, pause_end))
        return merged

    def working_time_between(
        self, start: dt.datetime, end: dt.datetime, *, pauses: Sequence[Pause] = ()
    ) -> dt.timedelta:
        """The working time from ``start`` to ``end``, leaving out the ``pauses`` (they may overlap each other
        and reach outside the span). Negative when ``end`` is before ``start``.
        """
        _require_aware(start, end)
        if end < start:
            return -self.working_time_between(end, start, pauses=pauses)
        zone = self.zone
        start, end = start.astimezone(zone), end.astimezone(zone)
        total = self._working_time(start, end)
        for pause_start, pause_end in self._merged_pauses(pauses):
            clipped_start, clipped_end = max(pause_start, start), min(pause_end, end)
            if clipped_start < clipped_end:
                total -= self._working_time(clipped_start, clipped_end)
        return total

    def add_working_time(
        self, moment: dt.datetime, duration: dt.timedelta, *, pauses: Sequence[Pause] = ()
    ) -> dt.datetime:
        """The earliest moment by which ``duration`` of working time has passed since ``moment``.

        Paused spans do not count. A zero duration gives ``moment`` back; otherwise the result lies within
        office hours of a working day, and may be the very end of a block (a budget that runs out at 17:00 is
        due at 17:00, not at 08:00 the next morning). Raises ``ValueError`` on a negative duration.
        """
        _require_aware(moment)
        if duration < dt.timedelta(0):
            raise ValueError("Working time to add cannot be negative.")
        zone = self.zone
        local = moment.astimezone(zone)
        if duration == dt.timedelta(0):
            return local
        remaining = duration
        paused = self._merged_pauses(pauses, not_before=local)
        day = local.date()
        for _ in range(_MAX_SEARCH_DAYS):
            for block_start, block_end in self._blocks(day):
                cursor = max(local, block_start)
                while cursor < block_end:
                    # Skip a pause that covers the cursor, then work up to the next pause or the block's end.
                    while paused and paused[0][1] <= cursor:
                        paused.pop(0)
                    if paused and paused[0][0] <= cursor:
                        cursor = paused[0][1]
                        continue
                    stop = min(block_end, paused[0][0]) if paused else block_end
                    available = stop - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
                    cursor = stop
            day += dt.timedelta(days=1)
        raise ValueError("No working time found within twenty years; check the announced days off.")

    def add_working_hours(
        self, moment: dt.datetime, hours: float, *, pauses: Sequence[Pause] = ()
    ) -> dt.datetime:
        """``add_working_time`` with the duration in hours (fractions allowed, to the microsecond)."""
        return self.add_working_time(moment, dt.timedelta(hours=hours), pauses=pauses)

    def add_working_days(
        self, moment: dt.datetime, days: int, *, pauses: Sequence[Pause] = ()
    ) -> dt.datetime:
        """The due moment of something received at ``moment`` with a budget of ``days`` working days.

        The rule: a working day is a full day's office hours of working time (8 hours by default), and the
        clock only runs within office hours of working days, outside ``pauses``. So:

        * received within office hours, it is due at the same clock time ``days`` working days later
          (Tuesday 10:00 + 1 day → Wednesday 10:00; Friday 16:30 + 1 day → Monday 16:30);
        * received outside office hours (evening, weekend, holiday, lunch break), the clock starts at the next
          opening time, so it is due at the end of a working day (Friday 20:00 + 1 day → Monday 17:00);
        * a paused span (waiting for a supplement) pushes the due moment back by the working time it covered.

        Zero days gives ``moment`` back; a negative number raises ``ValueError``.
        """
        if days < 0:
            raise ValueError("Working days to add cannot be negative.")
        return self.add_working_time(moment, self.day_length * days, pauses=pauses)
