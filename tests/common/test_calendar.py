"""The working calendar: invariants (hypothesis) and the cases a clerk would check by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanoismart.common.calendar import WorkingCalendar, parse_office_hours, public_holidays

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = dt.timedelta(hours=1)
# Tests never assert on time (CONVENTIONS.md); the first example of a run also loads the holiday tables.
no_deadline = settings(deadline=None)
CALENDAR = WorkingCalendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=HANOI)


# -- strategies -------------------------------------------------------------------------------------------

# Hypothesis takes naive bounds and attaches the zone itself.
moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.just(HANOI),
)
# Whole minutes keep the examples readable; the code itself works to the microsecond.
durations = st.integers(min_value=0, max_value=60 * 8 * 30).map(lambda minutes: dt.timedelta(minutes=minutes))
announced_days = st.sets(
    st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)), max_size=20
)


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    days_off = draw(announced_days)
    working_days = draw(announced_days) - days_off
    return WorkingCalendar(days_off=frozenset(days_off), working_days=frozenset(working_days))


def in_office_hours(calendar: WorkingCalendar, moment: dt.datetime) -> bool:
    local = moment.astimezone(HANOI)
    return calendar.is_working_day(local.date()) and any(
        start <= local.time() <= end for start, end in calendar.office_hours
    )


# -- invariants -------------------------------------------------------------------------------------------


@no_deadline
@given(calendar=calendars(), moment=moments, days=st.integers(min_value=1, max_value=30))
def test_a_due_moment_lands_on_a_working_day_within_office_hours(calendar, moment, days):
    due = calendar.add_working_days(moment, days)

    assert in_office_hours(calendar, due)
    assert due > moment


@no_deadline
@given(calendar=calendars(), moment=moments, minutes=st.integers(min_value=0, max_value=60 * 8 * 30))
def test_adding_hours_then_measuring_gives_the_hours_back(calendar, moment, minutes):
    hours = minutes / 60

    due = calendar.add_working_hours(moment, hours)

    assert calendar.working_time_between(moment, due) == dt.timedelta(hours=hours)


@no_deadline
@given(calendar=calendars(), moment=moments, duration=durations.filter(bool))
def test_the_due_moment_is_the_earliest_one(calendar, moment, duration):
    due = calendar.add_working_time(moment, duration)

    assert calendar.working_time_between(moment, due - dt.timedelta(microseconds=1)) < duration


@no_deadline
@given(calendar=calendars(), first=moments, second=moments, duration=durations)
def test_a_later_start_is_never_due_earlier(calendar, first, second, duration):
    early, late = sorted((first, second))

    assert calendar.add_working_time(early, duration) <= calendar.add_working_time(late, duration)


@no_deadline
@given(calendar=calendars(), moment=moments, first=durations, second=durations)
def test_a_larger_budget_is_never_due_earlier_and_budgets_add_up(calendar, moment, first, second):
    small, large = sorted((first, second))

    assert calendar.add_working_time(moment, small) <= calendar.add_working_time(moment, large)
    step = calendar.add_working_time(moment, small)
    assert calendar.add_working_time(step, large) == calendar.add_working_time(moment, small + large)


@no_deadline
@given(calendar=calendars(), points=st.lists(moments, min_size=3, max_size=3))
def test_working_time_adds_up_over_consecutive_spans(calendar, points):
    a, b, c = sorted(points)

    assert calendar.working_time_between(a, c) == calendar.working_time_between(
        a, b
    ) + calendar.working_time_between(b, c)
    assert calendar.working_time_between(c, a) == -calendar.working_time_between(a, c)
    assert dt.timedelta(0) <= calendar.working_time_between(a, b) <= b - a


@no_deadline
@given(
    calendar=calendars(),
    points=st.lists(moments, min_size=4, max_size=4),
)
def test_a_pause_removes_exactly_the_working_time_it_covers(calendar, points):
    start, pause_start, pause_end, end = sorted(points)

    paused = calendar.working_time_between(start, end, pauses=[(pause_start, pause_end)])

    assert paused == calendar.working_time_between(start, end) - calendar.working_time_between(
        pause_start, pause_end
    )


@no_deadline
@given(
    calendar=calendars(),
    moment=moments,
    duration=durations,
    pauses=st.lists(st.tuples(moments, moments), max_size=3),
)
def test_a_paused_budget_is_spent_exactly_outside_the_pauses(calendar, moment, duration, pauses):
    pauses = [tuple(sorted(pause)) for pause in pauses]

    due = calendar.add_working_time(moment, duration, pauses=pauses)

    assert calendar.working_time_between(moment, due, pauses=pauses) == duration
    assert due >= calendar.add_working_time(moment, duration)


@no_deadline
@given(calendar=calendars(), day=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)))
def test_announcements_override_everything_else(calendar, day):
    if day in calendar.working_days:
        assert calendar.is_working_day(day)
    elif day in calendar.days_off or day in public_holidays(day.year):
        assert not calendar.is_working_day(day)
    elif day.weekday() < 5:
        assert calendar.is_working_day(day)


@settings(max_examples=30, deadline=None)
@given(moment=moments, days=st.integers(min_value=0, max_value=10))
def test_the_answer_does_not_depend_on_the_time_zone_of_the_input(moment, days):
    in_utc = moment.astimezone(dt.UTC)

    assert CALENDAR.add_working_days(in_utc, days) == CALENDAR.add_working_days(moment, days)


# -- fixed cases: days --------------------------------------------------------------------------------------


def test_tet_2027_as_the_holidays_package_gives_it():
    # Lunar new year 2027 falls on Saturday 6 February; the package gives 29 and 30 Tết before it and,
    # since the first two days fall on a weekend, five days off after it (to Wednesday 10 February).
    tet_days = {day for day in public_holidays(2027) if dt.date(2027, 1, 25) <= day <= dt.date(2027, 2, 28)}
    assert tet_days == {dt.date(2027, 2, day) for day in range(4, 11)}

    first_fortnight = [dt.date(2027, 2, 1) + dt.timedelta(days=n) for n in range(14)]
    assert [day.day for day in first_fortnight if CALENDAR.is_working_day(day)] == [1, 2, 3, 11, 12]


def test_announced_tet_bridge_day_and_make_up_saturday():
    # given: the city announces Thursday 11 and Friday 12 February 2027 off, made up on Saturday 20 February
    calendar = WorkingCalendar(
        days_off=frozenset({dt.date(2027, 2, 11), dt.date(2027, 2, 12)}),
        working_days=frozenset({dt.date(2027, 2, 20)}),
    )
    received = at(2027, 2, 3, 10, 0)  # Wednesday before Tết

    # then: the two bridge days no longer count, the Saturday does
    assert not calendar.is_working_day(dt.date(2027, 2, 11))
    assert calendar.is_working_day(dt.date(2027, 2, 20))
    assert CALENDAR.add_working_days(received, 1) == at(2027, 2, 11, 10, 0)
    assert calendar.add_working_days(received, 1) == at(2027, 2, 15, 10, 0)
    # Working days after 3 Feb: 15, 16, 17, 18, 19, then Saturday 20 is the 6th (without the announcement the
    # 6th would be Thursday 18, counting 11 and 12 and skipping the Saturday)
    assert calendar.add_working_days(received, 6) == at(2027, 2, 20, 10, 0)
    assert CALENDAR.add_working_days(received, 6) == at(2027, 2, 18, 10, 0)


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (dt.date(2026, 9, 2), "Quốc khánh"),
        (dt.date(2026, 4, 30), "Ngày Chiến thắng"),
        (dt.date(2026, 5, 1), "Ngày Quốc tế Lao động"),
    ],
)
def test_public_holidays_are_days_off(day, reason):
    assert not CALENDAR.is_working_day(day)
    assert reason in CALENDAR.day_off_reason(day)


def test_the_packages_make_up_saturday_is_a_working_day():
    # 2025: Friday 2 May off in exchange for Saturday 26 April (announced by the government).
    assert not CALENDAR.is_working_day(dt.date(2025, 5, 2))
    assert CALENDAR.is_working_day(dt.date(2025, 4, 26))
    assert not CALENDAR.is_working_day(dt.date(2025, 4, 19))
    assert CALENDAR.day_off_reason(dt.date(2025, 4, 19)) == "weekend"
    assert CALENDAR.day_off_reason(dt.date(2025, 4, 22)) == ""


# -- fixed cases: deadlines -------------------------------------------------------------------------------


def test_friday_1630_with_one_working_hour_is_due_monday_0830():
    friday = at(2026, 3, 13, 16, 30)

    assert CALENDAR.add_working_hours(friday, 1) == at(2026, 3, 16, 8, 30)
    assert CALENDAR.add_working_hours(friday, 0.5) == at(2026, 3, 13, 17, 0)
    assert CALENDAR.add_working_days(friday, 1) == at(2026, 3, 16, 16, 30)


def test_a_dossier_received_at_2000_counts_from_the_next_working_morning():
    thursday_evening = at(2026, 3, 12, 20, 0)

    assert CALENDAR.next_working_moment(thursday_evening) == at(2026, 3, 13, 8, 0)
    assert CALENDAR.add_working_hours(thursday_evening, 1) == at(2026, 3, 13, 9, 0)
    assert CALENDAR.add_working_days(thursday_evening, 1) == at(2026, 3, 13, 17, 0)
    assert CALENDAR.add_working_days(at(2026, 3, 13, 20, 0), 1) == at(2026, 3, 16, 17, 0)


def test_lunch_break_does_not_count():
    assert CALENDAR.add_working_hours(at(2026, 3, 10, 11, 30), 1) == at(2026, 3, 10, 13, 30)
    assert CALENDAR.working_time_between(at(2026, 3, 10, 11, 0), at(2026, 3, 10, 14, 0)) == 2 * HOUR


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Wednesday 2 September 2026 (National Day; 31 Aug and 1 Sep also off): counting starts Thu 3 Sep
        (at(2026, 9, 2, 9, 0), at(2026, 9, 4, 17, 0)),
        # Thursday 30 April 2026 and Friday 1 May: counting starts on Monday 4 May
        (at(2026, 4, 30, 10, 0), at(2026, 5, 5, 17, 0)),
        (at(2026, 5, 1, 10, 0), at(2026, 5, 5, 17, 0)),
    ],
)
def test_a_dossier_received_on_a_public_holiday_counts_from_the_next_working_day(received, due):
    assert CALENDAR.add_working_days(received, 2) == due


def test_waiting_for_a_supplement_stops_the_clock():
    received = at(2026, 3, 10, 8, 0)  # Tuesday
    # Wednesday 10:00 the clerk asks for a supplement; the applicant brings it on Friday 15:00.
    waiting = (at(2026, 3, 11, 10, 0), at(2026, 3, 13, 15, 0))

    due = CALENDAR.add_working_days(received, 3, pauses=[waiting])

    # 10 hours counted before the pause (Tue 8h + Wed 2h); 14 left from Fri 15:00: 2h Fri, 8h Mon, 4h Tue
    assert due == at(2026, 3, 17, 12, 0)
    assert CALENDAR.working_time_between(received, due, pauses=[waiting]) == 24 * HOUR
    assert CALENDAR.working_time_between(received, at(2026, 3, 13, 17, 0), pauses=[waiting]) == 12 * HOUR


# -- refusals ---------------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2026, 3, 10, 9, 0)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.working_time_between(at(2026, 3, 10), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR.working_time_between(at(2026, 3, 10), at(2026, 3, 11), pauses=[(naive, naive)])


def test_negative_budgets_and_backward_pauses_are_refused():
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add_working_days(at(2026, 3, 10), -1)
    with pytest.raises(ValueError, match="end before"):
        CALENDAR.add_working_days(at(2026, 3, 10), 1, pauses=[(at(2026, 3, 11), at(2026, 3, 10))])


@pytest.mark.parametrize("blocks", [[], ["8-12"], ["12:00-08:00"], ["08:00-12:00", "11:00-17:00"]])
def test_bad_office_hours_are_refused(blocks):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        parse_office_hours(blocks)


def test_office_hours_come_from_settings(settings):
    settings.OFFICE_HOURS = ["07:30-11:30", "13:30-17:30"]

    calendar = WorkingCalendar.from_settings(days_off={dt.date(2026, 3, 10)})

    assert calendar.day_length == 8 * HOUR
    assert calendar.add_working_hours(at(2026, 3, 9, 11, 0), 1) == at(2026, 3, 9, 14, 0)
    assert not calendar.is_working_day(dt.date(2026, 3, 10))


def test_a_day_cannot_be_both_off_and_working():
    with pytest.raises(ValueError, match="both"):
        WorkingCalendar(
            days_off=frozenset({dt.date(2026, 3, 10)}), working_days=frozenset({dt.date(2026, 3, 10)})
        )


def test_a_calendar_without_working_time_fails_instead_of_hanging():
    every_day = frozenset(dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(366 * 21))
    calendar = WorkingCalendar(days_off=every_day)

    with pytest.raises(ValueError, match="No working time"):
        calendar.add_working_days(at(2026, 1, 1), 1)
