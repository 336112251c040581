import datetime as dt
from decimal import Decimal

import pytest

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import Conflict, InvalidInput, PermissionDenied
from hanoismart.notifications.models import Message
from hanoismart.reporting.models import Aggregate, DataValue, Submission, SubmissionStatus
from hanoismart.reporting.services import (
    ValueEntry,
    period_for,
    submission_accept,
    submission_open,
    submission_reopen,
    submission_return,
    submission_save_draft,
    submission_sign_off,
    submission_submit,
    submissions_lock_due,
)


def _fill(world, user, unit, values, period=None):
    submission = submission_open(actor=user, form=world.form, period=period or world.period, unit=unit)
    submission_save_draft(
        actor=user, submission=submission, values=[ValueEntry(code, value) for code, value in values.items()]
    )
    return submission


def test_period_follows_decree_09_cut_off(world):
    # given the default cut-off on the 14th, due 2 working days after
    period = period_for(form=world.form, day=dt.date(2025, 9, 10))
    # then
    assert (period.code, period.start, period.end) == ("2025-09", dt.date(2025, 8, 15), dt.date(2025, 9, 14))
    assert period.due_on == dt.date(2025, 9, 16)  # 14 Sept 2025 is a Sunday: Mon 15, Tue 16


def test_period_for_the_15th_is_next_month(world):
    period = period_for(form=world.form, day=dt.date(2025, 9, 15))
    assert (period.code, period.start, period.end) == ("2025-10", dt.date(2025, 9, 15), dt.date(2025, 10, 14))


def test_save_draft_refuses_bad_types_with_one_message_per_field_and_saves_nothing(world, hoan_kiem):
    submission = submission_open(
        actor=world.reporter_hk, form=world.form, period=world.period, unit=hoan_kiem
    )
    with pytest.raises(InvalidInput) as raised:
        submission_save_draft(
            actor=world.reporter_hk,
            submission=submission,
            values=[
                ValueEntry("DOSSIERS_IN", "12"),
                ValueEntry("DOSSIERS_DONE", "1.5"),
                ValueEntry("HAS_PORTAL", "maybe"),
                ValueEntry("BIRTHS", "3", disaggregation="sex=other"),
            ],
        )
    assert set(raised.value.details) == {"DOSSIERS_DONE", "HAS_PORTAL", "BIRTHS[sex=other]"}
    assert not DataValue.objects.filter(submission=submission).exists()


def test_zero_and_missing_are_distinct(world, hoan_kiem):
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "0", "DOSSIERS_DONE": ""})
    assert list(submission.values.values_list("indicator__code", "number")) == [("DOSSIERS_IN", Decimal("0"))]


def test_reporter_of_another_ward_cannot_fill(world, hoan_kiem):
    with pytest.raises(PermissionDenied):
        submission_open(actor=world.reporter_bd, form=world.form, period=world.period, unit=hoan_kiem)
    assert not Submission.objects.exists()


def test_submit_blocks_on_errors_and_needs_required(world, hoan_kiem):
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_DONE": "5"})
    with pytest.raises(InvalidInput) as raised:
        submission_submit(actor=world.reporter_hk, submission=submission)
    assert "DOSSIERS_IN" in raised.value.details
    submission_save_draft(
        actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "3")]
    )
    with pytest.raises(InvalidInput) as raised:
        submission_submit(actor=world.reporter_hk, submission=submission)
    assert set(raised.value.details) == {"DONE_LE_IN"}
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.DRAFT
    assert not Aggregate.objects.exists()


def test_warning_needs_a_comment(world, hoan_kiem):
    previous = period_for(form=world.form, day=world.period.start - dt.timedelta(days=1))
    first = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "100"}, period=previous)
    submission_submit(actor=world.reporter_hk, submission=first)
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "200"})
    with pytest.raises(InvalidInput) as raised:
        submission_submit(actor=world.reporter_hk, submission=submission)
    assert raised.value.code == "warnings_need_comment"
    assert set(raised.value.details) == {"IN_JUMP"}
    submission = submission_submit(
        actor=world.reporter_hk, submission=submission, comments={"IN_JUMP": "A flood: many damage claims."}
    )
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.warning_comments == {"IN_JUMP": "A flood: many damage claims."}


def test_sign_off_required_and_only_by_a_leader_of_the_unit(world, hoan_kiem):
    world.form.requires_sign_off = True
    world.form.save()
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "3"})
    with pytest.raises(Conflict):
        submission_submit(actor=world.reporter_hk, submission=submission)
    with pytest.raises(PermissionDenied):
        submission_sign_off(actor=world.reporter_hk, submission=submission)
    with pytest.raises(PermissionDenied):
        submission_sign_off(actor=world.department_leader, submission=submission)
    submission_sign_off(actor=world.leader_hk, submission=submission)
    # a change after the sign-off clears it
    submission_save_draft(
        actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "4")]
    )
    submission.refresh_from_db()
    assert submission.signed_off_at is None
    submission_sign_off(actor=world.leader_hk, submission=submission)
    submission = submission_submit(actor=world.reporter_hk, submission=submission)
    assert submission.status == SubmissionStatus.SUBMITTED
    assert submission.signed_off_by == world.leader_hk


def test_submit_is_idempotent_and_rolls_up(world, hoan_kiem):
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "7"})
    submission_submit(actor=world.reporter_hk, submission=submission)
    submission_submit(actor=world.reporter_hk, submission=submission)
    city = hoan_kiem.parent
    row = Aggregate.objects.get(unit=city, indicator__code="DOSSIERS_IN", period=world.period)
    assert (row.value, row.count) == (Decimal("7"), 1)
    assert AuditEvent.objects.filter(action="reporting.submission_submit").count() == 1


def test_owner_returns_with_reason_and_figures_leave_the_city(
    world, hoan_kiem, personas, django_capture_on_commit_callbacks
):
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "7"})
    submission_submit(actor=world.reporter_hk, submission=submission)
    with pytest.raises(PermissionDenied):
        submission_return(actor=world.reporter_hk, submission=submission, reason="no")
    with pytest.raises(PermissionDenied):
        submission_return(actor=personas.city_manager, submission=submission, reason="no")
    with pytest.raises(InvalidInput):
        submission_return(actor=personas.department_officer, submission=submission, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_return(
            actor=personas.department_officer, submission=submission, reason="Check row 3"
        )
    assert (submission.status, submission.returned_reason) == (SubmissionStatus.RETURNED, "Check row 3")
    assert not Aggregate.objects.filter(indicator__code="DOSSIERS_IN").exists()
    assert (
        Message.objects.filter(recipient=world.reporter_hk, template="reporting.submission_returned").count()
        == 1
    )


def test_accept_and_reopen_by_owner_only(world, hoan_kiem, personas):
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "7"})
    submission_submit(actor=world.reporter_hk, submission=submission)
    with pytest.raises(PermissionDenied):
        submission_accept(actor=world.leader_hk, submission=submission)
    submission = submission_accept(actor=world.department_leader, submission=submission)
    assert submission.status == SubmissionStatus.ACCEPTED
    with pytest.raises(Conflict):
        submission_save_draft(
            actor=world.reporter_hk, submission=submission, values=[ValueEntry("DOSSIERS_IN", "8")]
        )
    submission = submission_reopen(actor=personas.department_officer, submission=submission, reason="Typo")
    assert submission.status == SubmissionStatus.RETURNED
    assert AuditEvent.objects.filter(action="reporting.submission_reopen", details__reason="Typo").exists()


def test_lock_after_lock_date(world, hoan_kiem):
    submission = _fill(world, world.reporter_hk, hoan_kiem, {"DOSSIERS_IN": "7"})
    submission_submit(actor=world.reporter_hk, submission=submission)
    assert submissions_lock_due(today=world.period.locks_on) == 0
    assert submissions_lock_due(today=world.period.locks_on + dt.timedelta(days=1)) == 1
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.LOCKED
