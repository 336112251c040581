"""/api/v1/me/messages: the signed-in person's inbox over the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hanoismart.notifications.models import Message
from hanoismart.notifications.services import message_send

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/messages"


def _in_app(user, subject: str) -> Message:
    [message] = message_send(
        recipient=user,
        template="notifications.generic",
        context={"subject": subject, "body": f"Body of {subject}"},
        channels=["in_app"],
    )
    return message


def test_anonymous_gets_401_json():
    response = Client().get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_anonymous_cannot_mark_read(personas):
    message = _in_app(personas.resident, "Kết quả")

    response = Client().post(f"{URL}/{message.pk}/read")

    assert response.status_code == 401
    assert Message.objects.get(pk=message.pk).read_at is None


def test_a_resident_lists_only_their_own_messages(personas, sign_in):
    mine = _in_app(personas.resident, "Hồ sơ đã tiếp nhận")
    _in_app(personas.clerk_hoan_kiem, "Not for the resident")

    response = sign_in(personas.resident).get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "page": 1,
        "page_size": 50,
        "items": [
            {
                "id": str(mine.pk),
                "subject": "Hồ sơ đã tiếp nhận",
                "body": "Body of Hồ sơ đã tiếp nhận",
                "created_at": response.json()["items"][0]["created_at"],
                "read_at": None,
                "is_read": False,
            }
        ],
    }


def test_the_number_of_queries_does_not_grow_with_the_messages(personas, sign_in):
    client = sign_in(personas.resident)
    _in_app(personas.resident, "First")
    client.get(URL)  # the first request of a session records the device (identity's middleware)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for n in range(19):
        _in_app(personas.resident, f"Message {n}")

    with CaptureQueriesContext(connection) as twenty:
        response = client.get(URL)

    assert len(response.json()["items"]) == 20
    assert len(twenty) == len(one)


def test_the_list_is_paginated(personas, sign_in):
    for n in range(21):
        _in_app(personas.resident, f"Message {n}")
    client = sign_in(personas.resident)

    first = client.get(URL, {"page_size": 20}).json()
    second = client.get(URL, {"page": 2, "page_size": 20}).json()

    assert (first["count"], len(first["items"]), len(second["items"])) == (21, 20, 1)
    assert {item["id"] for item in first["items"]}.isdisjoint({item["id"] for item in second["items"]})


def test_a_resident_marks_their_message_read(personas, sign_in):
    message = _in_app(personas.resident, "Kết quả")

    response = sign_in(personas.resident).post(f"{URL}/{message.pk}/read")

    assert response.status_code == 200
    assert response.json()["is_read"] is True
    assert Message.objects.get(pk=message.pk).read_at is not None


def test_marking_someone_elses_message_is_404_and_changes_nothing(personas, sign_in):
    message = _in_app(personas.resident, "Kết quả")

    response = sign_in(personas.clerk_hoan_kiem).post(f"{URL}/{message.pk}/read")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Message.objects.get(pk=message.pk).read_at is None


def test_an_absurd_page_number_is_refused_not_a_server_error(personas, sign_in):
    response = sign_in(personas.resident).get(URL, {"page": 144115188075855871})

    assert response.status_code == 422
