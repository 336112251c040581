"""The /messages/ inbox page and the demo's SMS page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from hanoismart.notifications.models import Message
from hanoismart.notifications.services import message_send

pytestmark = pytest.mark.django_db


def _in_app(user, subject: str) -> Message:
    [message] = message_send(
        recipient=user,
        template="notifications.generic",
        context={"subject": subject, "body": f"Body of {subject}"},
        channels=["in_app"],
    )
    return message


def test_the_inbox_needs_sign_in():
    response = Client().get(reverse("notifications:inbox"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:sign_in"))


def test_the_inbox_shows_the_users_messages_and_not_others(personas, sign_in):
    _in_app(personas.resident, "Hồ sơ đã có kết quả")
    _in_app(personas.clerk_hoan_kiem, "Việc của cán bộ")

    response = sign_in(personas.resident).get(reverse("notifications:inbox"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Hồ sơ đã có kết quả" in page
    assert "Body of Hồ sơ đã có kết quả" in page
    assert "Việc của cán bộ" not in page
    assert response.context["unread"] == 1


def test_marking_read_from_the_page(personas, sign_in):
    message = _in_app(personas.resident, "Kết quả")

    response = sign_in(personas.resident).post(reverse("notifications:mark_read", args=[message.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")
    assert Message.objects.get(pk=message.pk).read_at is not None


def test_marking_someone_elses_message_from_the_page_changes_nothing(personas, sign_in):
    message = _in_app(personas.resident, "Kết quả")

    response = sign_in(personas.clerk_other_ward).post(
        reverse("notifications:mark_read", args=[message.pk]), follow=True
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Thông báo này không tồn tại hoặc không phải của bạn."
    ]
    assert Message.objects.get(pk=message.pk).read_at is None


def test_the_demo_sms_page_exists_only_in_the_demo(settings):
    settings.DEMO_MODE = False

    assert Client().get(reverse("notifications:demo_sms")).status_code == 404


def test_the_demo_sms_page_shows_the_code_with_the_number_masked(settings, personas):
    settings.DEMO_MODE = True
    settings.SMS_GATEWAY = "console"
    message_send(
        recipient=personas.resident,
        template="notifications.generic",
        context={"subject": "", "body": "Mã đăng nhập: 123456"},
        channels=["sms"],
        address="0912345678",
    )

    response = Client().get(reverse("notifications:demo_sms"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Mã đăng nhập: 123456" in page
    assert "091****678" in page
    assert "0912345678" not in page
