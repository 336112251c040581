"""Reads of the outbox: the inbox and what is due for delivery."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from hanoismart.notifications.models import Channel, Message, MessageStatus
from hanoismart.notifications.selectors import message_ids_due, messages_for, unread_count
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def _message(recipient, **fields) -> Message:
    fields.setdefault("channel", Channel.IN_APP)
    fields.setdefault("status", MessageStatus.DELIVERED)
    return Message.objects.create(recipient=recipient, template="notifications.test", body="b", **fields)


def test_the_inbox_holds_only_the_users_in_app_messages_newest_first():
    resident, neighbour = UserFactory(), UserFactory()
    older = _message(resident)
    newer = _message(resident)
    Message.objects.filter(pk=older.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    _message(neighbour)
    _message(resident, channel=Channel.SMS, address="0912345678")

    assert list(messages_for(user=resident)) == [newer, older]


def test_an_anonymous_visitor_has_no_inbox():
    _message(UserFactory())

    assert list(messages_for(user=AnonymousUser())) == []
    assert unread_count(user=AnonymousUser()) == 0


def test_unread_count_counts_only_unread_inbox_messages():
    resident = UserFactory()
    _message(resident)
    _message(resident)
    _message(resident, read_at=timezone.now())
    _message(resident, channel=Channel.EMAIL, address="a@example.vn")

    assert unread_count(user=resident) == 2


def test_due_messages_are_pending_and_due_or_held_by_an_expired_lease(settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    now = timezone.now()
    past, future = now - dt.timedelta(seconds=5), now + dt.timedelta(minutes=5)
    sms = {"channel": Channel.SMS, "address": "0912345678"}
    due = _message(None, status=MessageStatus.PENDING, next_attempt_at=past, **sms)
    abandoned = _message(None, status=MessageStatus.SENDING, claimed_until=past, attempts=1, **sms)
    _message(None, status=MessageStatus.PENDING, next_attempt_at=future, **sms)  # backing off
    _message(None, status=MessageStatus.SENDING, claimed_until=future, attempts=1, **sms)  # being sent
    _message(None, status=MessageStatus.SENDING, claimed_until=past, attempts=3, **sms)  # out of attempts
    _message(None, status=MessageStatus.DELIVERED, next_attempt_at=past, **sms)
    _message(None, status=MessageStatus.FAILED, next_attempt_at=past, **sms)

    assert message_ids_due() == [due.pk, abandoned.pk]  # the longest waiting first
