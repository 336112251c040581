"""The desk's queue counts agree with the queues themselves and stay within the clerk's agencies."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from hanoismart.dossiers.selectors import desk_queue, desk_queue_counts
from hanoismart.dossiers.selectors.dossiers import QUEUES
from hanoismart.procedures.models import DossierStatus as S
from tests.dossiers.factories import DossierFactory


def test_each_queue_count_is_the_number_of_dossiers_in_that_queue(personas, birth_case, desk, ba_dinh):
    # given: dossiers of the clerk's ward in several states, and one of another ward
    now = timezone.now()
    received = {"received_at": now - dt.timedelta(days=3)}
    DossierFactory(case=birth_case, applicant=personas.resident)
    DossierFactory(case=birth_case, applicant=personas.resident)
    DossierFactory(
        case=birth_case,
        applicant=personas.resident,
        status=S.RECEIVED,
        due_at=now + dt.timedelta(hours=5),
        **received,
    )
    DossierFactory(
        case=birth_case,
        applicant=personas.resident,
        status=S.IN_PROGRESS,
        due_at=now - dt.timedelta(hours=5),
        **received,
    )
    DossierFactory(case=birth_case, applicant=personas.resident, status=S.SUPPLEMENT_REQUESTED, **received)
    DossierFactory(case=birth_case, applicant=personas.resident, status=S.PROCESSED, **received)
    elsewhere = personas.clerk_other_ward
    elsewhere.ward = ba_dinh
    elsewhere.save()
    DossierFactory(case=birth_case, applicant=elsewhere)
    clerk = personas.clerk_hoan_kiem

    # when
    counts = desk_queue_counts(actor=clerk)

    # then
    assert counts == {queue: desk_queue(actor=clerk, queue=queue).count() for queue in QUEUES}
    assert (counts["to_receive"], counts["due_soon"], counts["overdue"]) == (2, 1, 1)
    assert (counts["supplement"], counts["to_return"], counts["mine"]) == (1, 1, 0)
