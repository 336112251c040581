"""The audit log is append-only: no update or delete, through any path the ORM offers."""

from __future__ import annotations

import pytest

from hanoismart.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    return AuditEvent.objects.create(action="identity.sign_in", actor_label="Trần Thị Dân")


def _unchanged(event: AuditEvent) -> None:
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.actor_label) == ("identity.sign_in", "Trần Thị Dân")


def test_saving_an_existing_event_is_refused(event):
    event.action = "identity.nothing_happened"

    with pytest.raises(TypeError, match="append-only"):
        event.save()

    _unchanged(event)


def test_deleting_an_event_is_refused(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()

    _unchanged(event)


def test_queryset_update_is_refused(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="identity.nothing_happened")

    _unchanged(event)


def test_queryset_delete_is_refused(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.count() == 1
    _unchanged(event)


def test_a_new_event_is_saved():
    AuditEvent(action="identity.sign_in").save()

    assert AuditEvent.objects.filter(action="identity.sign_in").count() == 1
