"""National portal sync: messages in sequence order per dossier, retries with backoff, no double delivery."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hanoismart.dossiers.models import PortalSimulatorRecord, PortalSyncMessage, SyncState
from hanoismart.dossiers.services import dossier_act, portal_deliver_dossier
from hanoismart.dossiers.services.portal import PortalError, retry_delay
from tests.dossiers.support import submit

pytestmark = pytest.mark.django_db


class FlakyPortal:
    """Fails while ``failures`` is positive, then records like the simulator."""

    failures = 0

    def send(self, *, message):
        if FlakyPortal.failures > 0:
            FlakyPortal.failures -= 1
            raise PortalError("portal unavailable")
        PortalSimulatorRecord.objects.create(
            dossier_code=message.payload["code"],
            status=message.status,
            payload={"sequence": message.sequence},
        )


@pytest.fixture
def flaky(settings):
    settings.NATIONAL_PORTAL_ADAPTER = "tests.dossiers.test_portal.FlakyPortal"
    FlakyPortal.failures = 0
    return FlakyPortal


def test_a_failure_holds_back_later_messages_then_all_go_in_order(personas, desk, birth_case, flaky):
    dossier = submit(personas.resident, birth_case)
    dossier_act(actor=desk.clerk, dossier=dossier, action="receive")  # two queued: 1 and 2
    flaky.failures = 1

    assert portal_deliver_dossier(dossier_id=dossier.pk) == 0

    first = PortalSyncMessage.objects.get(dossier=dossier, sequence=1)
    assert (first.state, first.attempts, first.last_error) == (
        "pending",
        1,
        "PortalError: portal unavailable",
    )
    assert first.next_attempt_at > timezone.now()
    assert PortalSyncMessage.objects.get(dossier=dossier, sequence=2).attempts == 0
    assert portal_deliver_dossier(dossier_id=dossier.pk) == 0  # not due yet: nothing happens

    PortalSyncMessage.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    assert portal_deliver_dossier(dossier_id=dossier.pk) == 2
    assert list(PortalSimulatorRecord.objects.values_list("status", flat=True)) == ["1", "2"]
    assert portal_deliver_dossier(dossier_id=dossier.pk) == 0
    assert PortalSimulatorRecord.objects.count() == 2


def test_out_of_attempts_the_message_fails(personas, desk, birth_case, flaky, settings):
    settings.NATIONAL_PORTAL_MAX_ATTEMPTS = 2
    dossier = submit(personas.resident, birth_case)
    flaky.failures = 5

    portal_deliver_dossier(dossier_id=dossier.pk)
    PortalSyncMessage.objects.update(next_attempt_at=timezone.now())
    portal_deliver_dossier(dossier_id=dossier.pk)

    message = PortalSyncMessage.objects.get(dossier=dossier)
    assert (message.state, message.attempts) == (SyncState.FAILED, 2)
    assert PortalSimulatorRecord.objects.count() == 0


def test_simulator_never_records_one_message_twice(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    portal_deliver_dossier(dossier_id=dossier.pk)
    # a worker that died after sending but before recording: the message is sent again
    PortalSyncMessage.objects.update(state=SyncState.PENDING, next_attempt_at=timezone.now())

    portal_deliver_dossier(dossier_id=dossier.pk)

    assert PortalSimulatorRecord.objects.count() == 1


def test_backoff_doubles_up_to_six_hours():
    assert [retry_delay(attempts=n) for n in (1, 2, 3)] == [dt.timedelta(minutes=m) for m in (1, 2, 4)]
    assert retry_delay(attempts=30) == dt.timedelta(hours=6)
