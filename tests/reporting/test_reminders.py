"""Reminders (đôn đốc): on the right working days, once each in the outbox, stopping when the unit submits;
escalation; "chase now" by managers only, once a day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import Conflict, PermissionDenied
from hanoismart.directory.models import Agency, CalendarDay, CalendarDayKind
from hanoismart.directory.selectors import working_calendar, working_calendar_clear
from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.notifications.models import Channel, Message, MessageStatus
from hanoismart.reporting.models import ReminderKind, ReminderLevel, ReminderLog
from hanoismart.reporting.selectors import reminder_log
from hanoismart.reporting.services import (
    ValueEntry,
    period_for,
    reminder_chase,
    reminder_days,
    reminders_due,
    rule_for,
    submission_open,
    submission_save_draft,
    submission_submit,
)
from tests.conftest import _staff

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# Data to Friday 14 November 2025; Tuesday 18 is an announced day off, so the report is due 2 working days
# after the cut-off on Wednesday 19 (Mon 17, Wed 19), and "1 working day before" is Monday 17, not Tuesday.
DAY_OFF = dt.date(2025, 11, 18)


def at(day: int, hour: int = 8, minute: int = 5, month: int = 11) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=HANOI)


@pytest.fixture
def november(world, personas):
    # the tests move the clock back to November 2025: the staff held their posts then already
    StaffPosition.objects.update(valid_from=dt.date(2025, 1, 1))
    CalendarDay.objects.create(date=DAY_OFF, kind=CalendarDayKind.DAY_OFF, reason="Ngày nghỉ bù")
    working_calendar_clear()
    period = period_for(form=world.form, day=dt.date(2025, 11, 10))
    assert (period.end, period.due_on) == (dt.date(2025, 11, 14), dt.date(2025, 11, 19))
    return period


def _reminders(user):
    return Message.objects.filter(recipient=user, template="reporting.reminder")


def test_reminder_days_follow_working_days_around_the_day_off(world, november):
    days = reminder_days(rule_for(world.form), working_calendar(), november, until=dt.date(2025, 11, 24))
    assert days == [
        (dt.date(2025, 11, 13), -3),  # Thu: Fri 14, Mon 17, Wed 19 lie between
        (dt.date(2025, 11, 17), -1),  # Mon: the working day before the due date (Tue 18 is off)
        (dt.date(2025, 11, 19), 0),
        (dt.date(2025, 11, 20), 1),
        (dt.date(2025, 11, 21), 2),
        (dt.date(2025, 11, 24), 3),  # Mon: the weekend is skipped
    ]


def test_reminders_fire_on_the_right_days_once_each_and_stop_when_the_unit_submits(
    world, november, hoan_kiem, django_capture_on_commit_callbacks
):
    # given two wards that must report, neither has submitted
    # when the task runs on Thursday 13 (3 working days before) at 08:05, and again at 08:20
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_due(now=at(13)) == 2
        assert reminders_due(now=at(13, minute=20)) == 0
    # then each reporter got one summary on each channel, once
    for reporter in (world.reporter_hk, world.reporter_bd):
        assert sorted(_reminders(reporter).values_list("channel", flat=True)) == [Channel.IN_APP, Channel.SMS]
    assert ReminderLog.objects.filter(day=dt.date(2025, 11, 13)).count() == 4  # 2 people × 2 channels

    # nothing on Friday 14 (−2 is not a reminder day), before office hours, or on the day off (Tue 18)
    assert reminders_due(now=at(14)) == 0
    assert reminders_due(now=at(17, hour=7, minute=45)) == 0
    assert reminders_due(now=at(18)) == 0
    # the "1 day before" reminder comes on Monday 17
    assert reminders_due(now=at(17)) == 2
    assert _reminders(world.reporter_hk).count() == 4

    # when Hoàn Kiếm submits
    submission = submission_open(actor=world.reporter_hk, form=world.form, period=november, unit=hoan_kiem)
    submission_save_draft(
        actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "4")]
    )
    submission_submit(actor=world.reporter_hk, submission=submission)
    # then on the due date only Ba Đình's reporter is reminded
    assert reminders_due(now=at(19)) == 1
    assert _reminders(world.reporter_hk).count() == 4
    assert _reminders(world.reporter_bd).count() == 6
    assert not ReminderLog.objects.filter(unit=hoan_kiem, day__gt=dt.date(2025, 11, 17)).exists()
    # every message in the outbox once: the dedupe keys are distinct and every log points at a message
    keys = list(Message.objects.filter(template="reporting.reminder").values_list("channel", "dedupe_key"))
    assert len(keys) == len(set(keys)) == 10
    assert set(ReminderLog.objects.values_list("message_id", flat=True)) == set(
        Message.objects.filter(template="reporting.reminder").values_list("pk", flat=True)
    )


def test_late_reminders_escalate_to_the_leader_then_the_city(world, november, ba_dinh, personas):
    leader_bd = _staff(StaffRole.LEADER, Agency.objects.get(unit=ba_dinh), "Chủ Tịch Ba Đình")
    StaffPosition.objects.filter(user=leader_bd).update(valid_from=dt.date(2025, 1, 1))
    # Thursday 20: 1 working day late, the reporters only
    reminders_due(now=at(20))
    assert not Message.objects.filter(recipient=leader_bd).exists()
    # Friday 21: 2 working days late, the ward's leader too
    reminders_due(now=at(21))
    assert Message.objects.filter(recipient=leader_bd, template="reporting.reminder").count() == 2
    assert ReminderLog.objects.filter(recipient=leader_bd, level=ReminderLevel.LEADER).exists()
    assert not Message.objects.filter(recipient=personas.city_manager).exists()
    # Wednesday 26: 5 working days late, the owner agency's leader and the city managers, one summary each
    reminders_due(now=at(26))
    for person in (world.department_leader, personas.city_manager):
        in_app = Message.objects.get(recipient=person, channel=Channel.IN_APP, template="reporting.reminder")
        assert "Phường Hoàn Kiếm" in in_app.body
        assert "Phường Ba Đình" in in_app.body
        assert ReminderLog.objects.filter(recipient=person, level=ReminderLevel.CITY).count() == 4


def test_reminder_log_reads_delivery_from_the_outbox(world, november):
    reminders_due(now=at(13))
    logs = reminder_log(form=world.form, period=november)
    assert {log.delivery for log in logs if log.channel == Channel.IN_APP} == {MessageStatus.DELIVERED}
    assert {log.delivery for log in logs if log.channel == Channel.SMS} <= {
        MessageStatus.PENDING,
        MessageStatus.DELIVERED,
    }


def test_manager_chases_all_late_units_once_a_day(world, november, personas):
    result = reminder_chase(actor=personas.city_manager, form=world.form, period=november, now=at(24))
    assert result.reporters == ["Phường Ba Đình", "Phường Hoàn Kiếm"]
    assert (result.people, result.logs, result.already_chased) == (2, 4, 0)
    assert Message.objects.filter(template="reporting.chase").count() == 4
    assert AuditEvent.objects.filter(action="reporting.reminder_chase").count() == 1
    # the same day again: nothing more is sent
    again = reminder_chase(actor=personas.city_manager, form=world.form, period=november, now=at(24, hour=15))
    assert (again.people, again.logs, again.already_chased) == (0, 0, 2)
    assert Message.objects.filter(template="reporting.chase").count() == 4
    # the next day, once more
    reminder_chase(actor=personas.city_manager, form=world.form, period=november, now=at(25))
    assert Message.objects.filter(template="reporting.chase").count() == 8
    assert ReminderLog.objects.filter(kind=ReminderKind.CHASE, sent_by=personas.city_manager).count() == 8


def test_owner_agency_chases_one_unit(world, november, hoan_kiem):
    result = reminder_chase(actor=world.department_leader, form=world.form, period=november, unit=hoan_kiem)
    assert result.reporters == ["Phường Hoàn Kiếm"]
    assert set(Message.objects.filter(template="reporting.chase").values_list("recipient", flat=True)) == {
        world.reporter_hk.pk
    }


def test_chase_refused_for_a_reporter_and_for_a_unit_that_submitted(world, november, hoan_kiem, personas):
    with pytest.raises(PermissionDenied):
        reminder_chase(actor=world.reporter_hk, form=world.form, period=november)
    with pytest.raises(PermissionDenied):
        reminder_chase(actor=personas.clerk_hoan_kiem, form=world.form, period=november)
    assert not ReminderLog.objects.exists()
    assert not Message.objects.exists()
    assert not AuditEvent.objects.filter(action="reporting.reminder_chase").exists()
    submission = submission_open(actor=world.reporter_hk, form=world.form, period=november, unit=hoan_kiem)
    submission_save_draft(
        actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "4")]
    )
    submission_submit(actor=world.reporter_hk, submission=submission)
    with pytest.raises(Conflict):
        reminder_chase(actor=personas.city_manager, form=world.form, period=november, unit=hoan_kiem)
    assert not Message.objects.filter(template="reporting.chase").exists()
