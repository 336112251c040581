"""The desk's queue counts agree with the queues themselves and stay within the clerk's agencies."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from hanoismart.dossiers.selectors import desk_queue, desk_queue_counts, dossier_actions_for
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


def test_the_actions_offered_depend_on_who_asks_in_one_query(
    personas, birth_case, desk, django_assert_num_queries
):
    filed = DossierFactory(case=birth_case, applicant=personas.resident)
    offered = {}

    for name, actor in [
        ("applicant", personas.resident),
        ("clerk of this ward", desk.clerk),
        ("officer of this ward", desk.officer),
        ("clerk of another ward", personas.clerk_other_ward),
        ("city manager", personas.city_manager),
    ]:
        with django_assert_num_queries(1):  # the roles held in the dossier's agency
            offered[name] = dossier_actions_for(actor=actor, dossier=filed)

    assert offered == {
        "applicant": ["withdraw"],
        "clerk of this ward": ["receive", "refuse", "request_supplement"],
        "officer of this ward": ["request_supplement"],
        "clerk of another ward": [],
        "city manager": [],
    }


def test_no_position_is_read_when_the_status_offers_no_staff_action(
    personas, birth_case, desk, django_assert_num_queries
):
    returned = DossierFactory(
        case=birth_case, applicant=personas.resident, status=S.RETURNED, received_at=timezone.now()
    )

    with django_assert_num_queries(0):
        assert dossier_actions_for(actor=desk.clerk, dossier=returned) == []
