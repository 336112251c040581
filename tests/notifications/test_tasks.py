"""The background tasks: the per-message delivery and the minute sweep."""

from __future__ import annotations

import datetime as dt

import pytest

from hanoismart.notifications.models import MessageStatus
from hanoismart.notifications.services import message_send
from hanoismart.notifications.tasks import deliver_message, sweep_due_messages
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_sweep_delivers_a_message_whose_delivery_task_was_never_queued(
    django_capture_on_commit_callbacks, gateway
):
    # given: the caller committed, but the queue was down, so the after-commit task never ran
    with django_capture_on_commit_callbacks(execute=False):
        [message] = message_send(
            recipient=UserFactory(phone="0912345678"),
            template="notifications.test",
            context={"code": "1"},
            channels=["sms"],
        )

    # when
    queued = sweep_due_messages.call_local()  # huey keeps no results of periodic tasks

    # then
    assert queued == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert [r["json"]["to"] for r in gateway.received] == ["0912345678"]
    assert sweep_due_messages.call_local() == 0


def test_delivering_an_unknown_message_does_nothing(gateway):
    deliver_message("00000000-0000-0000-0000-000000000000")

    assert gateway.received == []


def test_the_sweep_runs_every_minute():
    schedule = sweep_due_messages.task_class()

    assert all(schedule.validate_datetime(dt.datetime(2026, 1, 1, 8, minute)) for minute in range(60))  # noqa: DTZ001
