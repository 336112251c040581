"""The operator's audit screen: operators read the log; nobody, operators included, can change it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_record

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:audit_auditevent_changelist")


@pytest.fixture
def event(personas) -> AuditEvent:
    return audit_record(
        actor=personas.clerk_hoan_kiem, action="dossiers.dossier_open", subject=personas.resident
    )


def _unchanged(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.actor_label) == ("dossiers.dossier_open", "Phạm Văn Một Cửa")
    assert AuditEvent.objects.count() == 1


def test_an_operator_reads_the_log(personas, sign_in, event):
    client = sign_in(personas.operator)

    listing = client.get(CHANGELIST)
    detail = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))

    assert listing.status_code == 200
    assert "dossiers.dossier_open" in listing.content.decode()
    assert detail.status_code == 200


def test_an_operator_searches_the_log_by_whose_data(personas, sign_in, event):
    audit_record(actor=personas.operator, action="directory.unit_edit")

    response = sign_in(personas.operator).get(CHANGELIST, {"q": str(personas.resident.public_id)})

    assert list(response.context["cl"].result_list) == [event]


def test_an_operator_cannot_add_an_event(personas, sign_in, event):
    client = sign_in(personas.operator)

    get = client.get(reverse("admin:audit_auditevent_add"))
    post = client.post(reverse("admin:audit_auditevent_add"), {"action": "made.up"})

    assert (get.status_code, post.status_code) == (403, 403)
    _unchanged(event)


def test_an_operator_cannot_change_an_event(personas, sign_in, event):
    response = sign_in(personas.operator).post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "made.up"}
    )

    assert response.status_code == 403
    _unchanged(event)


def test_an_operator_cannot_delete_an_event(personas, sign_in, event):
    client = sign_in(personas.operator)

    single = client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"})
    bulk = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [str(event.pk)], "post": "yes"}
    )

    assert single.status_code == 403
    # no bulk action is offered at all, so the posted one is ignored and the list comes back
    assert bulk.status_code == 200
    assert bulk.context["action_form"] is None
    _unchanged(event)


@pytest.mark.parametrize("who", ["resident", "clerk_hoan_kiem", "city_manager"])
def test_people_without_operator_site_access_cannot_read_the_log(personas, sign_in, event, who):
    response = sign_in(getattr(personas, who)).get(CHANGELIST)

    assert response.status_code == 302
    assert "/operator/login/" in response["Location"]
