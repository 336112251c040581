"""The outbox's services: queueing (message_send), delivery with retries, reading and retrying."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest
from django.core import mail
from django.template import TemplateDoesNotExist
from django.utils import timezone

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import Conflict, NotFound, PermissionDenied
from hanoismart.notifications.channels import adapter_for
from hanoismart.notifications.models import Channel, Message, MessageStatus
from hanoismart.notifications.selectors import messages_for, unread_count
from hanoismart.notifications.services import (
    Outgoing,
    message_claim,
    message_deliver,
    message_mark_read,
    message_retry,
    message_send,
    message_send_many,
    retry_delay,
)
from hanoismart.notifications.tasks import deliver_message, sweep_due_messages
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db
TEMPLATE = "notifications.test"


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """message_send as a caller's committed transaction sees it: delivery runs after commit."""

    def _send(**kwargs):
        kwargs.setdefault("template", TEMPLATE)
        kwargs.setdefault("context", {"code": "123456"})
        with django_capture_on_commit_callbacks(execute=True):
            return message_send(**kwargs)

    return _send


@pytest.fixture
def resident(db):
    return UserFactory(full_name="Trần Thị Dân", phone="0912345678", email="dan@example.vn")


def _make_due(message: Message) -> None:
    """Let the backoff pass, as the clock would."""
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


# message_send: rendering, addresses, channels


def test_sms_is_rendered_in_vietnamese_and_posted_to_the_gateway_with_the_id_as_idempotency_key(
    send, gateway, resident
):
    # when
    [message] = send(recipient=resident, channels=["sms"], context={"code": "123456", "note": "A & B <b>"})

    # then: plain text (not HTML-escaped), Vietnamese by default, keyed by the message id
    assert gateway.received == [
        {
            "path": "/sms",
            "content_type": "application/json; charset=utf-8",
            "idempotency_key": str(message.id),
            "json": {
                "id": str(message.id),
                "to": "0912345678",
                "body": "[vi] Thứ 2: your code is 123456. A & B <b>",
            },
        }
    ]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.DELIVERED, 1, "")
    assert message.delivered_at is not None
    assert message.language == "vi"


@pytest.mark.parametrize(
    ("preferred", "requested", "expected"),
    [
        ("en", None, "[en] Monday: your code is 1."),
        ("vi", "en", "[en] Monday: your code is 1."),
        ("en", "vi", "[vi] Thứ 2: your code is 1."),
        ("fr", None, "[vi] Thứ 2: your code is 1."),
        ("fr", "de", "[vi] Thứ 2: your code is 1."),
    ],
)
def test_language_is_the_requested_one_else_the_recipients_else_vietnamese(
    send, gateway, preferred, requested, expected
):
    recipient = UserFactory(preferred_language=preferred)

    [message] = send(recipient=recipient, channels=["sms"], context={"code": "1"}, language=requested)

    assert message.body == expected
    assert gateway.received[0]["json"]["body"] == expected


def test_a_channel_without_its_own_template_uses_default_txt(send, gateway, resident):
    [message] = send(recipient=resident, channels=["zalo"], context={"code": "42"})

    assert gateway.received[0]["path"] == "/zalo"
    assert gateway.received[0]["json"]["body"] == "[vi] Hello Trần Thị Dân, your code is 42."
    assert message.channel == Channel.ZALO


def test_email_goes_to_the_recipients_address_with_a_one_line_subject_and_a_stable_message_id(
    send, settings, resident
):
    settings.SITE_URL = "https://hanoismart.example.vn"

    [message] = send(recipient=resident, channels=["email"], context={"code": "42"})

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["dan@example.vn"]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert email.subject == "Thứ 2: code 42"
    assert email.body == "[vi] Hello Trần Thị Dân, your code is 42."
    assert email.message()["Message-ID"] == f"<{message.id}@hanoismart.example.vn>"
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_in_app_message_is_in_the_inbox_at_once_without_a_delivery_task(
    django_capture_on_commit_callbacks, resident
):
    with django_capture_on_commit_callbacks() as callbacks:
        [message] = message_send(
            recipient=resident, template=TEMPLATE, context={"code": "7"}, channels=["in_app"]
        )

    assert callbacks == []
    assert (message.status, message.subject, message.address) == (MessageStatus.DELIVERED, "Code 7 ready", "")
    assert message.body == "[vi] Hello Trần Thị Dân, your code is 7."
    assert list(messages_for(user=resident)) == [message]
    assert unread_count(user=resident) == 1


def test_a_channel_without_an_address_is_skipped_and_logged(send, gateway, caplog):
    recipient = UserFactory(phone="0911111111", email=None)

    with caplog.at_level(logging.INFO, logger="hanoismart.notifications.services"):
        messages = send(recipient=recipient, channels=["email", "sms"])

    assert [m.channel for m in messages] == [Channel.SMS]
    assert Message.objects.count() == 1
    assert mail.outbox == []
    assert f"Skipped email message 'notifications.test' to {recipient.public_id}: no email address." in (
        caplog.messages
    )


def test_in_app_without_a_recipient_is_skipped(send):
    assert send(recipient=None, channels=["in_app"]) == []
    assert Message.objects.count() == 0


def test_an_explicit_address_replaces_the_recipients_own(send, gateway, resident):
    send(recipient=resident, channels=["sms"], address="0987654321")
    send(recipient=None, channels=["sms"], address="0977000111")

    assert [r["json"]["to"] for r in gateway.received] == ["0987654321", "0977000111"]


def test_the_same_dedupe_key_returns_the_queued_message_and_sends_once(send, gateway, resident):
    [first] = send(recipient=resident, channels=["sms"], dedupe_key="sign-in:abc")
    [again] = send(recipient=resident, channels=["sms"], dedupe_key="sign-in:abc", context={"code": "999999"})

    assert again.pk == first.pk
    assert again.body == first.body  # the retry does not change what was sent
    assert Message.objects.count() == 1
    assert len(gateway.received) == 1


def test_a_dedupe_key_is_unique_per_channel(send, gateway, resident):
    messages = send(recipient=resident, channels=["sms", "in_app"], dedupe_key="k1")

    assert sorted(m.channel for m in messages) == ["in_app", "sms"]
    assert Message.objects.count() == 2


def test_an_unknown_channel_is_refused_before_anything_is_queued(send, resident):
    with pytest.raises(ValueError, match="Unknown channel 'fax'"):
        send(recipient=resident, channels=["sms", "fax"])

    assert Message.objects.count() == 0


def test_a_missing_template_is_an_error_not_a_silent_empty_message(send, resident):
    with pytest.raises(TemplateDoesNotExist):
        send(recipient=resident, channels=["sms"], template="notifications.no_such_template")

    assert Message.objects.count() == 0


def test_the_generic_template_sends_the_given_subject_and_body(send, resident):
    [message] = send(
        recipient=resident,
        channels=["in_app"],
        template="notifications.generic",
        context={"subject": "Hồ sơ đã có kết quả", "body": "Mời bạn nhận kết quả."},
    )

    assert (message.subject, message.body) == ("Hồ sơ đã có kết quả", "Mời bạn nhận kết quả.")


# message_send_many: many sends written at once (the dossiers' follow-ups under load)


def test_many_sends_are_the_same_messages_written_with_one_insert(
    resident, django_capture_on_commit_callbacks, django_assert_num_queries
):
    other = UserFactory(full_name="Lê Văn Khách", phone="0911222333", preferred_language="en")
    sends = [
        Outgoing(recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["in_app", "sms"]),
        Outgoing(recipient=other, template=TEMPLATE, context={"code": "2"}, channels=["in_app", "sms"]),
        Outgoing(
            recipient=None, template=TEMPLATE, context={"code": "3"}, channels=["sms"], address="0977000111"
        ),
    ]

    # when
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(1):
        batched = message_send_many(sends=sends)

    # then the messages (and their delivery after commit) are those of one message_send per send
    assert len(callbacks) == 3  # the three SMS
    fields = ("recipient_id", "channel", "address", "language", "subject", "body", "status", "attempts")
    together = [tuple(getattr(message, name) for name in fields) for message in batched]
    Message.objects.all().delete()
    alone = [
        tuple(getattr(message, name) for name in fields)
        for outgoing in sends
        for message in message_send(
            recipient=outgoing.recipient,
            template=outgoing.template,
            context=outgoing.context,
            channels=outgoing.channels,
            address=outgoing.address,
        )
    ]
    assert together == alone
    assert [row[:4] for row in together] == [
        (resident.pk, "in_app", "", "vi"),
        (resident.pk, "sms", "0912345678", "vi"),
        (other.pk, "in_app", "", "en"),
        (other.pk, "sms", "0911222333", "en"),
        (None, "sms", "0977000111", "vi"),
    ]


def test_a_send_that_cannot_be_made_costs_the_others_nothing(resident, caplog):
    sends = [
        Outgoing(recipient=resident, template="notifications.no_such_template", context={}, channels=["sms"]),
        Outgoing(recipient=resident, template=TEMPLATE, context={"code": "5"}, channels=["in_app"]),
    ]

    with caplog.at_level(logging.ERROR, logger="hanoismart.notifications.services"):
        [message] = message_send_many(sends=sends)

    assert message.body == "[vi] Hello Trần Thị Dân, your code is 5."
    assert list(Message.objects.values_list("template", flat=True)) == [TEMPLATE]
    assert caplog.messages == [
        f"Message 'notifications.no_such_template' to {resident.public_id} not queued."
    ]


def test_nothing_is_sent_before_the_callers_transaction_commits(
    django_capture_on_commit_callbacks, gateway, resident
):
    with django_capture_on_commit_callbacks() as callbacks:
        [message] = message_send(
            recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["sms"]
        )

    assert gateway.received == []
    assert Message.objects.get().status == MessageStatus.PENDING

    for callback in callbacks:  # the commit
        callback()

    assert len(gateway.received) == 1
    assert Message.objects.get(pk=message.pk).status == MessageStatus.DELIVERED


# Delivery: retries with backoff, final failure, leases, idempotency


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32), (7, 60), (20, 60)]
)
def test_retry_delay_doubles_from_one_minute_up_to_an_hour(attempts, minutes):
    assert retry_delay(attempts=attempts) == dt.timedelta(minutes=minutes)


def test_a_failed_attempt_is_retried_after_the_backoff_with_the_same_idempotency_key(send, gateway, resident):
    gateway.statuses = [503]

    # when: the first attempt fails
    before = timezone.now()
    [message] = send(recipient=resident, channels=["sms"])
    after = timezone.now()

    # then: pending again, due in one minute
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert message.last_error == "HTTP 503 from the sms gateway"
    assert before + dt.timedelta(minutes=1) <= message.next_attempt_at <= after + dt.timedelta(minutes=1)

    # and: not before it is due
    assert message_deliver(message_id=message.pk) is None
    sweep_due_messages()
    assert len(gateway.received) == 1

    # when: the minute has passed and the sweep runs
    _make_due(message)
    sweep_due_messages()

    # then
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.DELIVERED, 2, "")
    assert [r["idempotency_key"] for r in gateway.received] == [str(message.id), str(message.id)]


def test_the_second_failure_waits_two_minutes(send, gateway, resident):
    gateway.statuses = [500, 500]
    [message] = send(recipient=resident, channels=["sms"])
    _make_due(message)

    before = timezone.now()
    sweep_due_messages()
    after = timezone.now()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 2)
    assert before + dt.timedelta(minutes=2) <= message.next_attempt_at <= after + dt.timedelta(minutes=2)


def test_after_the_last_allowed_attempt_the_message_fails_and_is_not_tried_again(
    send, gateway, resident, settings
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    gateway.statuses = [500] * 10

    [message] = send(recipient=resident, channels=["sms"])
    for _ in range(2):
        _make_due(message)
        sweep_due_messages()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 3)
    assert message.last_error == "HTTP 500 from the sms gateway"
    assert message.claimed_until is None

    _make_due(message)
    sweep_due_messages()
    deliver_message(str(message.pk))
    assert len(gateway.received) == 3


def test_a_request_the_gateway_rejects_as_invalid_fails_at_once(send, gateway, resident):
    gateway.statuses = [400]

    [message] = send(recipient=resident, channels=["sms"])
    _make_due(message)
    sweep_due_messages()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert message.last_error == "HTTP 400 from the sms gateway"
    assert len(gateway.received) == 1


def test_a_gateway_asking_to_slow_down_is_retried(send, gateway, resident):
    gateway.statuses = [429]

    [message] = send(recipient=resident, channels=["sms"])

    message.refresh_from_db()
    assert (message.status, message.last_error) == (MessageStatus.PENDING, "HTTP 429 from the sms gateway")


def test_an_unreachable_gateway_is_a_failure_to_retry(send, settings, resident):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SMS_GATEWAY = "webhook"
    settings.SMS_WEBHOOK_URL = f"http://127.0.0.1:{port}/sms"

    [message] = send(recipient=resident, channels=["sms"])

    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.last_error.startswith("sms gateway unreachable: ")


def test_an_unconfigured_webhook_is_a_failure_the_operator_can_see(send, settings, resident):
    settings.SMS_GATEWAY = "webhook"
    settings.SMS_WEBHOOK_URL = ""

    [message] = send(recipient=resident, channels=["sms"])

    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.last_error == "The sms webhook URL is not configured (got '')."


def test_the_console_gateway_logs_the_message_for_the_demo(send, settings, resident, caplog):
    settings.SMS_GATEWAY = "console"

    with caplog.at_level(logging.INFO, logger="hanoismart.notifications.channels"):
        [message] = send(recipient=resident, channels=["sms"], context={"code": "654321"})

    assert f"SMS to 0912345678 (message {message.id}): [vi] Thứ 2: your code is 654321." in caplog.messages
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_a_delivered_message_is_never_sent_again(send, gateway, resident):
    [message] = send(recipient=resident, channels=["sms"])

    assert message_deliver(message_id=message.pk) is None
    deliver_message(str(message.pk))
    _make_due(message)
    sweep_due_messages()

    assert len(gateway.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.DELIVERED, 1)


def test_only_one_worker_can_claim_a_message(django_capture_on_commit_callbacks, resident):
    with django_capture_on_commit_callbacks():  # queued, not yet delivered
        [message] = message_send(
            recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["sms"]
        )

    first = message_claim(message_id=message.pk)
    second = message_claim(message_id=message.pk)

    assert first is not None
    assert (first.status, first.attempts) == (MessageStatus.SENDING, 1)
    assert second is None
    assert Message.objects.get(pk=message.pk).attempts == 1


def test_a_message_whose_worker_died_is_delivered_once_the_lease_expires(
    django_capture_on_commit_callbacks, gateway, resident
):
    with django_capture_on_commit_callbacks():
        [message] = message_send(
            recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["sms"]
        )
    # given: a worker claimed it and died before sending
    assert message_claim(message_id=message.pk) is not None

    # when: the sweep runs while the lease still holds
    sweep_due_messages()

    # then: nobody else touches it
    assert gateway.received == []
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENDING

    # when: the lease has expired
    Message.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    sweep_due_messages()

    # then
    message.refresh_from_db()
    assert (message.status, message.attempts, message.claimed_until) == (MessageStatus.DELIVERED, 2, None)
    assert len(gateway.received) == 1


def test_a_worker_that_died_after_sending_causes_one_duplicate_with_the_same_key(
    django_capture_on_commit_callbacks, gateway, resident
):
    with django_capture_on_commit_callbacks():
        [message] = message_send(
            recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["sms"]
        )
    # given: a worker claimed it, the gateway took it, and the worker died before recording that
    claimed = message_claim(message_id=message.pk)
    adapter_for(claimed.channel).send(claimed)
    Message.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))

    # when
    sweep_due_messages()

    # then: sent again, under the same key the gateway can drop, and recorded as delivered
    assert len(gateway.received) == 2
    assert gateway.received[0]["idempotency_key"] == gateway.received[1]["idempotency_key"] == str(message.id)
    assert gateway.received[0]["json"] == gateway.received[1]["json"]
    assert Message.objects.get(pk=message.pk).status == MessageStatus.DELIVERED


def test_a_worker_that_died_on_the_last_attempt_leaves_a_failed_message(
    django_capture_on_commit_callbacks, gateway, resident, settings
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks():
        [message] = message_send(
            recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["sms"]
        )
    message_claim(message_id=message.pk)
    Message.objects.filter(pk=message.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))

    sweep_due_messages()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert message.last_error == "The worker stopped before recording the outcome of the last attempt."
    assert gateway.received == []


# The inbox: marking read


@pytest.fixture
def in_app(resident):
    [message] = message_send(
        recipient=resident, template=TEMPLATE, context={"code": "1"}, channels=["in_app"]
    )
    return message


def test_the_recipient_marks_their_message_read_once(resident, in_app):
    first = message_mark_read(actor=resident, message_id=in_app.pk)
    read_at = Message.objects.get(pk=in_app.pk).read_at
    again = message_mark_read(actor=resident, message_id=in_app.pk)

    assert read_at is not None
    assert first.read_at == again.read_at == read_at
    assert unread_count(user=resident) == 0


def test_someone_elses_message_is_not_found_and_stays_unread(resident, in_app):
    other = UserFactory()

    with pytest.raises(NotFound):
        message_mark_read(actor=other, message_id=in_app.pk)

    assert Message.objects.get(pk=in_app.pk).read_at is None


def test_an_sms_is_not_an_inbox_message(send, gateway, resident):
    [sms] = send(recipient=resident, channels=["sms"])

    with pytest.raises(NotFound):
        message_mark_read(actor=resident, message_id=sms.pk)

    assert Message.objects.get(pk=sms.pk).read_at is None


# Operators: retrying failed messages


@pytest.fixture
def failed_sms(send, gateway, resident, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    gateway.statuses = [500]
    [message] = send(recipient=resident, channels=["sms"])
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    return message


def test_an_operator_retries_a_failed_message_with_fresh_attempts_and_it_is_audited(
    personas, failed_sms, gateway, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message_retry(actor=personas.operator, message_id=failed_sms.pk)

    failed_sms.refresh_from_db()
    assert (failed_sms.status, failed_sms.attempts, failed_sms.last_error) == (MessageStatus.DELIVERED, 1, "")
    assert len(gateway.received) == 2
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_ref, event.subject_ref, event.object_ref) == (
        "notifications.message_retry",
        personas.operator.public_id,
        failed_sms.recipient.public_id,
        str(failed_sms.pk),
    )
    assert event.details == {
        "channel": "sms",
        "template": TEMPLATE,
        "previous_error": "HTTP 500 from the sms gateway",
    }


@pytest.mark.parametrize("who", ["resident", "clerk_hoan_kiem", "city_manager"])
def test_only_operators_can_retry(personas, failed_sms, gateway, who):
    with pytest.raises(PermissionDenied):
        message_retry(actor=getattr(personas, who), message_id=failed_sms.pk)

    failed_sms.refresh_from_db()
    assert (failed_sms.status, failed_sms.attempts) == (MessageStatus.FAILED, 1)
    assert len(gateway.received) == 1
    assert not AuditEvent.objects.exists()


def test_a_message_that_has_not_failed_cannot_be_retried(personas, send, gateway, resident):
    [message] = send(recipient=resident, channels=["sms"])

    with pytest.raises(Conflict):
        message_retry(actor=personas.operator, message_id=message.pk)

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.DELIVERED, 1)
    assert not AuditEvent.objects.exists()


def test_an_unreachable_mail_server_is_a_failure_to_retry(send, settings, resident):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5

    [message] = send(recipient=resident, channels=["email"])

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert message.last_error.startswith("ConnectionRefusedError: ")
