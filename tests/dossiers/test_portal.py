"""National portal sync: messages in sequence order per dossier, retries with backoff, no double delivery."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.utils import timezone

from hanoismart.dossiers.models import DossierDailyRollup, PortalSimulatorRecord, PortalSyncMessage, SyncState
from hanoismart.dossiers.services import dossier_act, portal_deliver_dossier, rollups_check
from hanoismart.dossiers.services.portal import PortalError, SimulatorPortal, portal_deliver, retry_delay
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


def test_a_filings_message_goes_in_five_statements(personas, birth_case, django_assert_num_queries):
    # given a filing's one message
    dossier = submit(personas.resident, birth_case)

    # when the worker delivers it: the claim (UPDATE … RETURNING), the simulator's INSERT, the row marked
    # delivered, the roll-ups' hook (the dossier locked; not received yet, so nothing to count) and the
    # claim that finds nothing more; the savepoint's two statements stand for the worker's BEGIN/COMMIT
    with django_assert_num_queries(7):
        delivered = portal_deliver_dossier(dossier_id=dossier.pk)

    # then
    assert delivered == 1
    message = PortalSyncMessage.objects.get(dossier=dossier)
    assert (message.state, message.attempts, message.last_error) == (SyncState.DELIVERED, 1, "")
    record = PortalSimulatorRecord.objects.get()
    assert (record.dossier_code, record.sequence, record.status) == (dossier.code, 1, "1")
    assert record.payload == {**message.payload, "sequence": 1}


def test_a_message_leased_by_another_worker_holds_back_the_dossier(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    dossier_act(actor=desk.clerk, dossier=dossier, action="receive")  # two queued: 1 and 2
    lease = timezone.now() + dt.timedelta(minutes=1)
    PortalSyncMessage.objects.filter(dossier=dossier, sequence=1).update(attempts=1, next_attempt_at=lease)

    assert portal_deliver_dossier(dossier_id=dossier.pk) == 0

    assert list(PortalSyncMessage.objects.values_list("sequence", "state", "attempts")) == [
        (1, "pending", 1),
        (2, "pending", 0),
    ]
    assert PortalSimulatorRecord.objects.count() == 0


def test_a_failed_message_holds_back_the_later_ones(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    dossier_act(actor=desk.clerk, dossier=dossier, action="receive")
    PortalSyncMessage.objects.filter(dossier=dossier, sequence=1).update(state=SyncState.FAILED)

    assert portal_deliver_dossier(dossier_id=dossier.pk) == 0

    assert PortalSyncMessage.objects.get(dossier=dossier, sequence=2).attempts == 0
    assert PortalSimulatorRecord.objects.count() == 0


def test_the_migration_keys_the_records_already_received():
    # given records from before the key: the sequence only in the payload, one of them received twice
    from django.apps import apps
    from django.db import connection

    fill_sequences = import_module("hanoismart.dossiers.migrations.0006_portal_simulator_key").fill_sequences
    first = PortalSimulatorRecord.objects.create(dossier_code="A", status="1", payload={"sequence": 1})
    second = PortalSimulatorRecord.objects.create(dossier_code="A", status="2", payload={"sequence": 2})
    again = PortalSimulatorRecord.objects.create(dossier_code="A", status="1", payload={"sequence": 1})
    other = PortalSimulatorRecord.objects.create(dossier_code="B", status="1", payload={"sequence": 1})
    bare = PortalSimulatorRecord.objects.create(dossier_code="B", status="2", payload={})

    # when
    fill_sequences(apps, SimpleNamespace(connection=connection))

    # then the earliest record of each message holds the key
    assert dict(PortalSimulatorRecord.objects.values_list("pk", "sequence")) == {
        first.pk: 1,
        second.pk: 2,
        again.pk: None,
        other.pk: 1,
        bare.pk: None,
    }


# -- many dossiers at once (the worker's follow-ups under load, the sweep) ----------------------------------


class RefusingPortal:
    """Takes one message at a time (no batches), refusing those of the dossier coded ``refused``."""

    refused = ""

    def send(self, *, message):
        if message.payload["code"] == RefusingPortal.refused:
            raise PortalError("rejected")
        SimulatorPortal().send(message=message)


class NoBatchesToday(SimulatorPortal):
    """A batch-taking portal whose batches fail: each message must then go on its own."""

    def send_many(self, *, messages):
        if len(messages) > 1:
            raise PortalError("batch refused")
        super().send_many(messages=messages)


def received_dossiers(personas, desk, birth_case, count):
    dossiers = [submit(personas.resident, birth_case) for _ in range(count)]
    for dossier in dossiers:
        dossier_act(actor=desk.clerk, dossier=dossier, action="receive")  # two queued: 1 and 2
    return dossiers


def test_many_dossiers_go_together_in_order_and_each_counts_in_sync_once(
    personas, desk, birth_case, django_assert_num_queries
):
    # given three received dossiers, two messages each
    dossiers = received_dossiers(personas, desk, birth_case, 3)

    # when they are delivered together: one claim, then per sequence step one round — the simulator's
    # INSERT, the rows marked delivered, the dossiers locked, the ones still behind read, the claim of the
    # next messages (inside a savepoint); the second round also adds the three now in sync to the daily,
    # agency-day and agency-month rows
    with django_assert_num_queries(1 + 7 + 10):
        delivered = portal_deliver(dossier_ids=[dossier.pk for dossier in dossiers])

    # then every message went, in order per dossier
    assert delivered == 6
    received = list(PortalSimulatorRecord.objects.order_by("id").values_list("dossier_code", "sequence"))
    for dossier in dossiers:
        assert [sequence for code, sequence in received if code == dossier.code] == [1, 2]
    assert set(PortalSyncMessage.objects.values_list("state", "attempts")) == {(SyncState.DELIVERED, 1)}
    # and the roll-ups count the three in sync, as a recomputation does
    assert sum(DossierDailyRollup.objects.values_list("synced", flat=True)) == 3
    assert rollups_check() == []
    assert portal_deliver(dossier_ids=[dossier.pk for dossier in dossiers]) == 0


def test_in_a_batch_a_refused_message_holds_back_only_its_own_dossier(personas, desk, birth_case, settings):
    settings.NATIONAL_PORTAL_ADAPTER = "tests.dossiers.test_portal.RefusingPortal"
    refused, accepted = received_dossiers(personas, desk, birth_case, 2)
    RefusingPortal.refused = refused.code

    assert portal_deliver(dossier_ids=[refused.pk, accepted.pk]) == 2

    assert list(PortalSyncMessage.objects.filter(dossier=accepted).values_list("state", flat=True)) == [
        SyncState.DELIVERED,
        SyncState.DELIVERED,
    ]
    first, second = PortalSyncMessage.objects.filter(dossier=refused).order_by("sequence")
    assert (first.state, first.attempts, first.last_error) == (SyncState.PENDING, 1, "PortalError: rejected")
    assert first.next_attempt_at > timezone.now()
    assert (second.state, second.attempts) == (SyncState.PENDING, 0)
    assert sum(DossierDailyRollup.objects.values_list("synced", flat=True)) == 1
    assert rollups_check() == []


def test_a_refused_batch_goes_again_one_message_at_a_time(personas, desk, birth_case, settings):
    settings.NATIONAL_PORTAL_ADAPTER = "tests.dossiers.test_portal.NoBatchesToday"
    dossiers = [submit(personas.resident, birth_case) for _ in range(2)]

    assert portal_deliver(dossier_ids=[dossier.pk for dossier in dossiers]) == 2

    # each message claimed once: the retry on its own is the same attempt
    assert set(PortalSyncMessage.objects.values_list("state", "attempts", "last_error")) == {
        (SyncState.DELIVERED, 1, "")
    }
    assert sorted(PortalSimulatorRecord.objects.values_list("dossier_code", flat=True)) == sorted(
        dossier.code for dossier in dossiers
    )
