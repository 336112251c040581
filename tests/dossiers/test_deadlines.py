"""Deadline maths over the working calendar, with exact datetimes across Tết 2026 and National Day 2025."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from hanoismart.common.calendar import WorkingCalendar
from hanoismart.dossiers import deadlines

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=HANOI)


@pytest.mark.parametrize(
    ("received", "amount", "unit", "due"),
    [
        # Thursday 12 Feb 2026 + 3 working days: Fri 13, then Tết (16-20 Feb) and a weekend, Mon 23, Tue 24.
        (at(2026, 2, 12, 10), 3, "working_days", at(2026, 2, 24, 10)),
        # 12 working hours: 6 on Thursday, 6 on Friday.
        (at(2026, 2, 12, 10), 12, "working_hours", at(2026, 2, 13, 15)),
        # 5 calendar days lands on Tuesday 17 Feb (Tết): the end of the next working day, Monday 23 Feb.
        (at(2026, 2, 12, 10), 5, "calendar_days", at(2026, 2, 23, 17)),
        # Friday 29 Aug 2025 15:00 + 1 working day: Mon 1 and Tue 2 Sep are off → Wednesday 3 Sep 15:00.
        (at(2025, 8, 29, 15), 1, "working_days", at(2025, 9, 3, 15)),
        # Half a working day (4 hours) from 15:00: 2 h on Friday, 2 h on Wednesday.
        (at(2025, 8, 29, 15), 0.5, "working_days", at(2025, 9, 3, 10)),
    ],
)
def test_due_at(received, amount, unit, due):
    assert deadlines.due_at(CAL, received_at=received, amount=amount, unit=unit) == due


def test_online_time_applies_when_filed_online():
    class Case:
        processing_time = 5
        online_processing_time = 3
        time_unit = "working_days"

    assert deadlines.processing_budget(case=Case, channel="online") == (3, "working_days")
    assert deadlines.processing_budget(case=Case, channel="in_person") == (5, "working_days")


def test_pause_across_tet_counts_working_time_only():
    # paused from Friday 13 Feb 2026 16:00 to Monday 23 Feb 09:00: 1 h + 1 h of working time.
    paused = deadlines.paused_working_time(
        CAL, paused_since=at(2026, 2, 13, 16), resumed_at=at(2026, 2, 23, 9)
    )

    assert paused == dt.timedelta(hours=2)
    # 10:00 + 2 working hours ends the morning block: due at 12:00, not 13:00.
    assert deadlines.due_after_pause(CAL, due=at(2026, 2, 24, 10), paused=paused) == at(2026, 2, 24, 12)


@pytest.mark.parametrize(
    ("finished", "expected"),
    [
        (at(2026, 2, 23, 16), "early"),
        (at(2026, 2, 24, 9), "on_time"),
        (at(2026, 2, 24, 10), "on_time"),
        (at(2026, 2, 24, 10, 1), "late"),
    ],
)
def test_timeliness(finished, expected):
    assert deadlines.timeliness(CAL, finished_at=finished, due=at(2026, 2, 24, 10)) == expected


def test_overdue_while_open_and_paused_clock():
    due = at(2026, 2, 24, 10)
    assert deadlines.is_overdue(due=due, now=at(2026, 2, 24, 11)) is True
    assert deadlines.is_overdue(due=due, now=at(2026, 2, 24, 9)) is False
    assert deadlines.is_overdue(due=due, now=at(2026, 3, 1, 9), paused_since=at(2026, 2, 23, 9)) is False


def test_step_due_at():
    assert deadlines.step_due_at(CAL, started_at=at(2025, 8, 29, 16), working_hours=4) == at(2025, 9, 3, 11)


def test_timeline_agrees_with_the_calendar():
    timeline = deadlines.WorkingTimeline(CAL, first_year=2025, last_year=2027)
    rng = random.Random(4)
    for _ in range(2000):
        received = at(2025, 1, 1) + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        unit = rng.choice(["working_days", "working_hours", "calendar_days"])
        amount = rng.choice([0.5, 1, 3, 5, 7, 15, 20])
        expected = deadlines.due_at(CAL, received_at=received, amount=amount, unit=unit)
        assert timeline.due_at(received_at=received, amount=amount, unit=unit) == expected, (
            received,
            amount,
            unit,
        )
