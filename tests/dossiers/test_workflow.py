"""The one-stop workflow through its services: the journey from receipt to rating, supplements pausing the
clock, payment, the apology-before-return rule, and refusals that write nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.documents.models import Provenance
from hanoismart.dossiers.models import (
    RATING_CRITERIA,
    ApologyLetter,
    Payment,
    PaymentStatus,
    PortalSimulatorRecord,
    Timeliness,
)
from hanoismart.dossiers.services import (
    NotAllowedNow,
    dossier_act,
    dossier_pay,
    dossier_receive,
)
from hanoismart.dossiers.services import base as service_base
from hanoismart.procedures.models import DossierStatus as S
from tests.dossiers.support import submit, trace_counts

pytestmark = pytest.mark.django_db
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def clock(monkeypatch):
    """Set the services' clock: ``clock(datetime)``."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(service_base, "now", lambda: moment)

    return set_now


def test_the_journey_from_receipt_to_rating(personas, desk, birth_case, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dossier = submit(personas.resident, birth_case)
        dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")
        assert (dossier.status, dossier.step.name) == (S.RECEIVED, "Thẩm định, xác minh")
        dossier = dossier_act(actor=desk.officer, dossier=dossier, action="approve", note="Đủ điều kiện")
        assert (dossier.status, dossier.step.name) == (S.IN_PROGRESS, "Lãnh đạo UBND phê duyệt, ký")
        dossier = dossier_act(actor=desk.leader, dossier=dossier, action="sign")
        assert (dossier.status, dossier.step.name) == (S.PROCESSED, "Trả kết quả")
        dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="return")
        scores = dict.fromkeys(RATING_CRITERIA, 2)
        dossier = dossier_act(
            actor=personas.resident, dossier=dossier, action="rate", scores=scores, overall="very_satisfied"
        )

    assert dossier.status == S.RETURNED
    assert dossier.timeliness == Timeliness.EARLY
    result = dossier.result_document
    assert (result.owner_user, result.provenance, result.type_code) == (
        personas.resident,
        Provenance.RESULT,
        "GKS",
    )
    assert result.source_dossier_code == dossier.code
    assert dossier.rating.total == 18
    assert list(dossier.events.values_list("action", "to_status")) == [
        ("submit", "1"),
        ("receive", "2"),
        ("approve", "4"),
        ("sign", "9"),
        ("return", "10"),
        ("rate", "10"),
    ]
    assert list(dossier.portal_messages.values_list("sequence", "status", "state")) == [
        (1, "1", "delivered"),
        (2, "2", "delivered"),
        (3, "4", "delivered"),
        (4, "9", "delivered"),
        (5, "10", "delivered"),
    ]
    assert list(PortalSimulatorRecord.objects.values_list("status", flat=True)) == ["1", "2", "4", "9", "10"]
    assert (
        AuditEvent.objects.filter(action="dossiers.receive", subject_ref=personas.resident.public_id).count()
        == 1
    )


def test_clerk_of_another_ward_can_do_nothing_and_nothing_is_written(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    before = trace_counts()

    for action in ("receive", "refuse", "request_supplement"):
        with pytest.raises(PermissionDenied):
            dossier_act(actor=personas.clerk_other_ward, dossier=dossier, action=action, note="x")

    dossier.refresh_from_db()
    assert dossier.status == S.SUBMITTED
    assert trace_counts() == before


def test_resident_cannot_act_as_staff_and_staff_cannot_act_as_applicant(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    before = trace_counts()

    with pytest.raises(PermissionDenied):
        dossier_receive(actor=personas.resident, dossier=dossier)
    with pytest.raises(PermissionDenied):
        dossier_act(actor=desk.clerk, dossier=dossier, action="withdraw")

    assert trace_counts() == before


def test_an_action_not_allowed_now_is_refused_with_409(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    before = trace_counts()

    with translation.override("en"), pytest.raises(NotAllowedNow) as refused:
        dossier_act(actor=desk.clerk, dossier=dossier, action="return")

    assert refused.value.status == 409
    assert str(refused.value.message) == "This cannot be done now: the dossier is “Submitted”."
    assert trace_counts() == before


def test_unknown_action_is_invalid_input(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)

    with pytest.raises(InvalidInput) as refused:
        dossier_act(actor=desk.clerk, dossier=dossier, action="teleport")

    assert refused.value.code == "unknown_action"


def test_refusing_needs_a_reason(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)

    with pytest.raises(InvalidInput):
        dossier_act(actor=desk.clerk, dossier=dossier, action="refuse", note="  ")
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="refuse", note="Thiếu chữ ký")

    assert dossier.status == S.NOT_RECEIVED
    assert dossier.events.last().note == "Thiếu chữ ký"


def test_supplement_across_a_holiday_moves_due_by_the_working_time_paused(personas, desk, birth_case, clock):
    # given: received Tuesday 26 August 2025 at 10:00, 3 working days → due Friday 29 August 10:00
    clock(dt.datetime(2025, 8, 26, 10, 0, tzinfo=HANOI))
    dossier = submit(personas.resident, birth_case)
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")
    assert dossier.due_at == dt.datetime(2025, 8, 29, 10, 0, tzinfo=HANOI)
    # when: the officer asks on Friday 29 August at 09:00 and the resident answers on Wednesday 3 September at
    # 09:00 (Mon 1 and Tue 2 September are the National Day holiday, then 08:00-09:00 on Wednesday)
    clock(dt.datetime(2025, 8, 29, 9, 0, tzinfo=HANOI))
    dossier = dossier_act(
        actor=desk.officer,
        dossier=dossier,
        action="request_supplement",
        note="Bổ sung",
        items=["Bản sao CCCD"],
    )
    assert (dossier.status, dossier.paused_since) == (
        S.SUPPLEMENT_REQUESTED,
        dt.datetime(2025, 8, 29, 9, 0, tzinfo=HANOI),
    )
    clock(dt.datetime(2025, 9, 3, 9, 0, tzinfo=HANOI))
    dossier = dossier_act(actor=personas.resident, dossier=dossier, action="supplement", note="Đã bổ sung")

    # then: paused 7 working hours (Fri 09-17 less lunch) + 1 (Wed 08-09) = 8 h, not five calendar days:
    # due moves from Fri 29 Aug 10:00 by 8 working hours (6 h on Friday, 2 h on Wednesday) → Wed 3 Sep 10:00
    assert dossier.status == S.RECEIVED
    assert dossier.paused_seconds == 8 * 3600
    assert dossier.paused_since is None
    assert dossier.due_at == dt.datetime(2025, 9, 3, 10, 0, tzinfo=HANOI)


def test_a_late_dossier_cannot_be_returned_without_an_apology(personas, desk, birth_case, clock):
    clock(dt.datetime(2025, 8, 26, 10, 0, tzinfo=HANOI))
    dossier = submit(personas.resident, birth_case)
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")
    dossier = dossier_act(actor=desk.officer, dossier=dossier, action="approve")
    clock(dt.datetime(2025, 9, 5, 10, 0, tzinfo=HANOI))  # a week later: past due (29 August 10:00)
    dossier = dossier_act(actor=desk.leader, dossier=dossier, action="sign")
    assert dossier.timeliness == Timeliness.LATE
    before = trace_counts()

    with pytest.raises(NotAllowedNow) as refused:
        dossier_act(actor=desk.clerk, dossier=dossier, action="return")

    assert refused.value.code == "apology_required"
    assert trace_counts() == before
    new_date = dt.datetime(2025, 9, 8, 10, 0, tzinfo=HANOI)
    dossier_act(actor=desk.clerk, dossier=dossier, action="apologise", note="Quá tải", new_due_at=new_date)
    letter = ApologyLetter.objects.get(dossier=dossier)
    assert (letter.previous_due_at, letter.new_due_at) == (
        dt.datetime(2025, 8, 29, 10, 0, tzinfo=HANOI),
        new_date,
    )
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="return")
    assert dossier.status == S.RETURNED


def test_an_on_time_dossier_needs_no_apology(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")

    with pytest.raises(NotAllowedNow):
        dossier_act(
            actor=desk.clerk, dossier=dossier, action="apologise", note="x", new_due_at=dossier.due_at
        )
    assert not ApologyLetter.objects.exists()


def test_payment_is_idempotent_and_resumes_the_dossier(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")
    dossier = dossier_act(actor=desk.officer, dossier=dossier, action="request_payment", amount=50_000)
    assert (dossier.status, dossier.payment_status, dossier.fee_applicant) == (
        S.FINANCIAL_OBLIGATION,
        "due",
        50_000,
    )

    first = dossier_pay(actor=personas.resident, dossier=dossier)
    second = dossier_pay(actor=personas.resident, dossier=dossier)

    assert first.pk == second.pk
    assert (first.state, first.amount, first.payer) == ("paid", 50_000, "applicant")
    assert first.gateway_ref.startswith("SIM-")
    assert first.receipt_number.startswith("BL-")
    assert Payment.objects.filter(dossier=dossier).count() == 1
    dossier.refresh_from_db()
    assert (dossier.status, dossier.payment_status) == (S.RECEIVED, PaymentStatus.PAID)


def test_another_resident_cannot_pay_or_withdraw(personas, desk, birth_case):
    from tests.identity.factories import UserFactory

    dossier = submit(personas.resident, birth_case)
    stranger = UserFactory(ward=personas.resident.ward)
    before = trace_counts()

    for action in ("withdraw", "pay"):
        with pytest.raises(PermissionDenied):
            dossier_act(actor=stranger, dossier=dossier, action=action)
    assert trace_counts() == before


def test_assign_to_an_officer_of_the_agency_only(personas, desk, birth_case):
    dossier = submit(personas.resident, birth_case)
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="receive")

    with pytest.raises(InvalidInput):
        dossier_act(actor=desk.clerk, dossier=dossier, action="assign", assignee=personas.department_officer)
    dossier = dossier_act(actor=desk.clerk, dossier=dossier, action="assign", assignee=desk.officer)

    assert (dossier.assignee, dossier.status) == (desk.officer, S.IN_PROGRESS)


def test_withdraw_and_stop(personas, desk, birth_case):
    first = submit(personas.resident, birth_case)
    second = submit(personas.resident, birth_case)

    first = dossier_act(actor=personas.resident, dossier=first, action="withdraw", note="Nộp nhầm")
    second = dossier_act(actor=desk.clerk, dossier=second, action="receive")
    second = dossier_act(actor=desk.officer, dossier=second, action="stop", note="Không thuộc thẩm quyền")

    assert first.status == S.WITHDRAWN
    assert second.status == S.STOPPED
