"""The dossiers' background jobs as the worker runs them: a follow-up run takes along the follow-ups queued
behind it; the minute's sweep delivers what no follow-up did."""

from __future__ import annotations

import pytest
from huey.contrib.djhuey import HUEY
from huey.storage import MemoryStorage

from hanoismart.dossiers.models import PortalSyncMessage, SyncState
from hanoismart.dossiers.services.base import applicant_notification
from hanoismart.dossiers.tasks import sweep_portal_messages
from hanoismart.notifications.models import Message
from hanoismart.notifications.services import message_send
from tests.dossiers.support import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """huey as under the worker: a call waits in the queue (in memory here) until the worker takes it."""
    storage, HUEY.storage = HUEY.storage, MemoryStorage(HUEY.name)
    HUEY._immediate = False  # not the setter: it would open the queue file of the settings
    # The worker closes stale database connections around each task; here that would end the test's
    # transaction.
    monkeypatch.setattr("huey.contrib.djhuey.close_old_connections", lambda: None)
    yield HUEY
    HUEY._immediate, HUEY.storage = True, storage


def test_one_run_serves_the_follow_ups_queued_behind_it(
    personas, desk, birth_case, queued, django_capture_on_commit_callbacks, django_assert_num_queries
):
    # given three filings, their follow-ups queued after commit
    with django_capture_on_commit_callbacks(execute=True):
        dossiers = [submit(personas.resident, birth_case) for _ in range(3)]
    assert queued.pending_count() == 3

    # when the worker runs the first: the accounts read, the messages written (one INSERT), the portal
    # messages claimed, sent, marked delivered, the dossiers locked, the next claimed (in a savepoint here)
    with django_assert_num_queries(9):
        queued.execute(queued.dequeue())

    # then the three are done, and nothing is left in the queue
    assert queued.pending_count() == 0
    assert set(PortalSyncMessage.objects.values_list("dossier_id", "state")) == {
        (dossier.pk, SyncState.DELIVERED) for dossier in dossiers
    }
    sent = Message.objects.filter(recipient=personas.resident, template="dossiers.status")
    assert sorted(sent.values_list("channel", flat=True)) == ["in_app"] * 3 + ["sms"] * 3
    # worded as one sent on its own
    batched = sent.get(channel="in_app", body__contains=dossiers[0].code)
    [alone] = message_send(
        recipient=personas.resident,
        template="dossiers.status",
        context=applicant_notification(dossier=dossiers[0], event="submit")["context"],
        channels=["in_app"],
    )
    assert (batched.subject, batched.body, batched.language) == (alone.subject, alone.body, alone.language)


def test_the_sweep_delivers_messages_whose_follow_up_was_lost(personas, desk, birth_case):
    # given filings whose after-commit tasks never ran (the queue was down)
    dossiers = [submit(personas.resident, birth_case) for _ in range(2)]

    # when
    swept = sweep_portal_messages.call_local()

    # then
    assert swept == 2
    assert set(PortalSyncMessage.objects.values_list("dossier_id", "state")) == {
        (dossier.pk, SyncState.DELIVERED) for dossier in dossiers
    }
    assert sweep_portal_messages.call_local() == 0
