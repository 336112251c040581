"""The operator's outbox screen: read-only, with a retry action for failed messages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.notifications.models import Channel, Message, MessageStatus

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:notifications_message_changelist")


def _failed_sms(recipient) -> Message:
    return Message.objects.create(
        recipient=recipient,
        channel=Channel.SMS,
        address="0912345678",
        template="identity.sign_in_code",
        body="Mã đăng nhập: 481516",
        status=MessageStatus.FAILED,
        attempts=6,
        last_error="HTTP 500 from the sms gateway",
    )


def test_an_operator_sees_status_attempts_and_the_last_error(personas, sign_in):
    message = _failed_sms(personas.resident)
    client = sign_in(personas.operator)

    listing = client.get(CHANGELIST)
    detail = client.get(reverse("admin:notifications_message_change", args=[message.pk]))

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert "HTTP 500 from the sms gateway" in detail.content.decode()


def test_the_body_is_hidden_outside_the_demo(personas, sign_in, settings):
    settings.DEMO_MODE = False
    message = _failed_sms(personas.resident)

    detail = sign_in(personas.operator).get(reverse("admin:notifications_message_change", args=[message.pk]))

    assert "481516" not in detail.content.decode()


def test_an_operator_retries_failed_messages_from_the_list(
    personas, sign_in, settings, django_capture_on_commit_callbacks
):
    settings.SMS_GATEWAY = "console"
    failed = _failed_sms(personas.resident)
    client = sign_in(personas.operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CHANGELIST, {"action": "retry_failed", "_selected_action": [str(failed.pk)]})

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (MessageStatus.DELIVERED, 1, "")
    assert AuditEvent.objects.get().action == "notifications.message_retry"


def test_the_outbox_cannot_be_edited_or_added_to(personas, sign_in):
    message = _failed_sms(personas.resident)
    client = sign_in(personas.operator)

    add = client.get(reverse("admin:notifications_message_add"))
    change = client.post(
        reverse("admin:notifications_message_change", args=[message.pk]), {"status": "delivered"}
    )
    delete = client.post(reverse("admin:notifications_message_delete", args=[message.pk]), {"post": "yes"})

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


def test_a_resident_cannot_open_the_operator_site(personas, sign_in):
    response = sign_in(personas.resident).get(CHANGELIST)

    assert response.status_code == 302
    assert "/operator/login/" in response["Location"]
