"""Reads of the directory: units and their hierarchy, agencies, and the city's working calendar."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.calendar import WorkingCalendar
from hanoismart.common.errors import NotFound
from hanoismart.common.queries import CompiledQuery, Param
from hanoismart.common.text import fold
from hanoismart.directory.models import Agency, AgencyKind, CalendarDay, CalendarDayKind, Unit, UnitBoundary

# -- units ------------------------------------------------------------------------------------------------


def _valid_on(day: dt.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def unit_by_code(code: str) -> Unit:
    """The unit with official code ``code`` (ceased ones included); raises ``NotFound`` if there is none."""
    unit = Unit.objects.select_related("parent").filter(code=code).first()
    if unit is None:
        raise NotFound(_("No administrative unit with code %(code)s.") % {"code": code})
    return unit


def units_active_on(day: dt.date | None = None) -> QuerySet[Unit]:
    """Units in force on ``day`` (today in the city's time zone by default), by code."""
    return Unit.objects.filter(_valid_on(day or timezone.localdate())).order_by("code")


def unit_children(unit: Unit, *, on_date: dt.date | None = None) -> QuerySet[Unit]:
    """The units directly under ``unit`` that are in force on ``on_date`` (today by default)."""
    return units_active_on(on_date).filter(parent=unit)


def unit_ancestors(unit: Unit) -> list[Unit]:
    """The units above ``unit``, from the top (the city) down to its parent; empty for the city itself."""
    ancestors: list[Unit] = []
    seen = {unit.pk}
    current = unit
    while current.parent_id is not None and current.parent_id not in seen:  # `seen` guards a corrupt cycle
        seen.add(current.parent_id)
        current = current.parent  # type: ignore[assignment]  # one query per level, none if select_related
        ancestors.append(current)
    ancestors.reverse()
    return ancestors


def unit_descendant_ids(unit_ids: Iterable[int]) -> set[int]:
    """The ids of the given units and of every unit below them, ceased ones included (their records remain
    theirs). One query per level of the hierarchy (two for city → wards), whatever the number of units."""
    found = set(unit_ids)
    frontier = set(found)
    while frontier:
        children = set(Unit.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = children - found
        found |= frontier
    return found


def unit_list(
    *,
    parent_code: str | None = None,
    kind: str | None = None,
    query: str | None = None,
    on_date: dt.date | None = None,
) -> QuerySet[Unit]:
    """Units in force on ``on_date`` (today by default), filtered by parent code, kind and a name search that
    ignores case and Vietnamese diacritics ("dong da" finds "Phường Đống Đa")."""
    units = units_active_on(on_date).select_related("parent")
    if parent_code:
        units = units.filter(parent__code=parent_code)
    if kind:
        units = units.filter(kind=kind)
    folded = fold(query or "")
    if folded:
        units = units.filter(name_folded__contains=folded)
    return units


def unit_boundaries(*, unit_ids: Iterable[int] | None = None) -> QuerySet[UnitBoundary]:
    """The outlines loaded for the units ``unit_ids`` (None: every unit), with their unit, by unit code."""
    boundaries = UnitBoundary.objects.select_related("unit").order_by("unit__code")
    return boundaries if unit_ids is None else boundaries.filter(unit_id__in=list(unit_ids))


# -- agencies ---------------------------------------------------------------------------------------------


def agency_list(
    *,
    unit_code: str | None = None,
    kind: str | None = None,
    query: str | None = None,
    include_inactive: bool = False,
) -> QuerySet[Agency]:
    """Agencies by code, filtered by the unit they serve, their kind and a diacritics-blind name search."""
    agencies = Agency.objects.select_related("unit")
    if not include_inactive:
        agencies = agencies.filter(is_active=True)
    if unit_code:
        agencies = agencies.filter(unit__code=unit_code)
    if kind:
        agencies = agencies.filter(kind=kind)
    folded = fold(query or "")
    if folded:
        agencies = agencies.filter(name_folded__contains=folded)
    return agencies.order_by("code")


def agency_committee_of(unit: Unit | int) -> Agency | None:
    """The active People's Committee serving ``unit`` (a unit or its id), if there is one, with its unit
    read in the same query: a caller holding only the id (``user.ward_id``) need not read the unit first."""
    unit_id = unit.pk if isinstance(unit, Unit) else unit
    found = _COMMITTEE_OF.instances(unit_id=unit_id)  # compiled once: a filing runs it every time
    return found[0] if found else None


_COMMITTEE_OF = CompiledQuery(
    lambda unit_id: (
        Agency.objects.filter(unit_id=unit_id, kind=AgencyKind.PEOPLES_COMMITTEE, is_active=True)
        .select_related("unit")
        .order_by("code")[:1]
    ),
    unit_id=Param(Agency._meta.get_field("unit"), -7_301),
)


# -- the working calendar ---------------------------------------------------------------------------------

CALENDAR_CACHE_SECONDS = 300
"""How long a process keeps the calendar before reading the table again. A change made in this process clears
it at once (``calendar_day_set``); other processes see it within this time."""

_calendar_lock = threading.Lock()
_calendar_cache: tuple[float, WorkingCalendar] | None = None


def calendar_days(*, year: int | None = None) -> QuerySet[CalendarDay]:
    """The city's announced days off and make-up working days, by date (of one year if given)."""
    days = CalendarDay.objects.order_by("date")
    return days.filter(date__year=year) if year is not None else days


def working_calendar() -> WorkingCalendar:
    """The city's working calendar: weekends, Vietnam's public holidays, the announced days (``CalendarDay``)
    and ``settings.OFFICE_HOURS``. Cached per process; use it for every deadline."""
    global _calendar_cache
    now = time.monotonic()
    cached = _calendar_cache
    if cached is not None and now - cached[0] < CALENDAR_CACHE_SECONDS:
        return cached[1]
    with _calendar_lock:
        rows = list(CalendarDay.objects.values_list("date", "kind"))
        calendar = WorkingCalendar.from_settings(
            days_off={day for day, kind in rows if kind == CalendarDayKind.DAY_OFF},
            working_days={day for day, kind in rows if kind == CalendarDayKind.WORKING_DAY},
        )
        _calendar_cache = (now, calendar)
    return calendar


def working_calendar_clear() -> None:
    """Forget the cached calendar, so the next ``working_calendar()`` reads the table again."""
    global _calendar_cache
    with _calendar_lock:
        _calendar_cache = None
