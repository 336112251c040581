"""A submission's life: open, fill in, sign off, submit, return, accept, reopen, lock.

draft → submitted → (returned → submitted)* → accepted → locked; a leader of the unit signs off before
submitting when the form requires it (any later change to the values clears the sign-off); the owner agency
returns (with a reason), accepts and reopens (an accepted or locked report back to "returned", audited).
Aggregates follow on submit, return and reopen (see ``aggregation``). Timeliness is set by the first submit:
a report returned for correction and submitted again keeps it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import Conflict, InvalidInput, PermissionDenied
from hanoismart.directory.models import Agency, Unit
from hanoismart.notifications.models import Channel
from hanoismart.notifications.services import message_send
from hanoismart.reporting import expressions
from hanoismart.reporting.models import (
    COUNTED_STATUSES,
    DataValue,
    FormItem,
    Period,
    ReportForm,
    RuleKind,
    RuleSeverity,
    Submission,
    SubmissionStatus,
    ValidationRule,
)
from hanoismart.reporting.permissions import ReportingPermission, owner_position, reporter_position
from hanoismart.reporting.selectors import form_current_version, is_expected, period_previous, submission_of
from hanoismart.reporting.services.aggregation import aggregates_report_moved
from hanoismart.reporting.services.values import (
    ImportSummary,
    ValueEntry,
    ValuesRefused,
    field_name,
    values_write,
)

P = ReportingPermission


# -- permission checks ------------------------------------------------------------------------------------


def _reporter_role(actor: Any, perm: ReportingPermission, *, unit_id: int, agency_id: int | None) -> str:
    """The role through which ``actor`` acts for the reporter; raises ``PermissionDenied``."""
    if actor is not None and actor.is_authenticated and actor.is_active and actor.is_superuser:
        return "superuser"
    position = reporter_position(actor, perm, unit_id=unit_id, agency_id=agency_id)
    if position is None:
        if perm == P.REPORTING_SUBMISSION_SIGN_OFF:
            raise PermissionDenied(_("Only a leader of this unit can sign off its report."))
        raise PermissionDenied(_("You do not report for this unit."))
    return position.role


def _owner_role(actor: Any, form: ReportForm) -> str:
    if actor is not None and actor.is_authenticated and actor.is_active and actor.is_superuser:
        return "superuser"
    position = owner_position(actor, owner_agency_id=form.owner_agency_id)
    if position is None:
        raise PermissionDenied(_("Only the agency that owns this form can review its reports."))
    return position.role


def _locked(submission: Submission) -> Submission:
    """The submission re-read under a row lock, so two actions on it run one after the other."""
    return (
        # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join to the agency
        Submission.objects.select_for_update(of=("self",))
        .select_related("form", "period", "unit", "agency")
        .get(pk=submission.pk)
    )


def _audit(actor: Any, action: str, submission: Submission, role: str, **details: Any) -> None:
    audit_record(
        actor=actor,
        action=f"reporting.{action}",
        obj=submission,
        unit_code=submission.unit.code,
        actor_role=role,
        details={"form": submission.form.code, "period": submission.period.code, **details},
    )


# -- opening and filling in -------------------------------------------------------------------------------


def submission_open(
    *, actor: Any, form: ReportForm, period: Period, unit: Unit, agency: Agency | None = None
) -> Submission:
    """The reporter's submission for ``period``, started as a draft on the form's current version if there is
    none yet. Idempotent: calling it again (or twice at once) returns the same row.

    Refused when ``actor`` does not report for this unit/agency or the reporter is not expected for
    the period.
    """
    if period.form_id != form.pk:
        raise InvalidInput(_("This period belongs to another form."))
    role = _reporter_role(
        actor, P.REPORTING_SUBMISSION_EDIT, unit_id=unit.pk, agency_id=agency.pk if agency else None
    )
    existing = submission_of(form=form, period=period, unit=unit, agency=agency)
    if existing is not None:
        return existing
    if not is_expected(form=form, period=period, unit=unit, agency=agency):
        raise InvalidInput(
            _("%(name)s does not report this form for this period.") % {"name": agency or unit}
        )
    version = form_current_version(form)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                form=form, version=version, period=period, unit=unit, agency=agency, created_by=actor
            )
            _audit(actor, "submission_open", submission, role)
    except IntegrityError:  # opened by a concurrent request
        found = submission_of(form=form, period=period, unit=unit, agency=agency)
        if found is None:  # pragma: no cover - the constraint that failed names this very row
            raise
        return found
    return submission


def _require_editable(submission: Submission) -> None:
    """A draft or a returned report can change; a late one still can (the lock freezes received reports)."""
    if not submission.is_editable:
        raise Conflict(
            _("This report is %(status)s; it can no longer be changed.")
            % {"status": submission.get_status_display()},
            code="not_editable",
        )


def submission_save_draft(
    *, actor: Any, submission: Submission, values: Sequence[ValueEntry], dry_run: bool = False
) -> ImportSummary:
    """Check and save values of a draft (or returned) report. All or nothing: if a value is refused, nothing
    is saved and ``InvalidInput`` carries one message per field (``CODE`` or ``CODE[key]``). A change clears a
    leader's sign-off. With ``dry_run``, only the summary of what would happen."""
    with transaction.atomic():
        submission = _locked(submission)
        role = _reporter_role(
            actor, P.REPORTING_SUBMISSION_EDIT, unit_id=submission.unit_id, agency_id=submission.agency_id
        )
        _require_editable(submission)
        summary = values_write(submission=submission, entries=values, dry_run=dry_run)
        if not summary.is_ok:
            raise ValuesRefused(summary)
        counts = summary.counts
        changed = counts["imported"] + counts["updated"] + counts["deleted"]
        if dry_run or not changed:
            return summary
        fields = ["updated_at"]
        if submission.signed_off_at is not None:
            submission.signed_off_at, submission.signed_off_by = None, None
            fields += ["signed_off_at", "signed_off_by"]
        submission.save(update_fields=fields)
        _audit(actor, "submission_save_draft", submission, role, counts=counts)
    return summary


# -- validation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    """A rule that failed: its code, severity and message (and the figures involved for a change rule)."""

    code: str
    severity: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == RuleSeverity.ERROR


def _previous_totals(submission: Submission) -> dict[int, Decimal]:
    previous = period_previous(submission.period)
    if previous is None:
        return {}
    earlier = submission_of(
        form=submission.form, period=previous, unit=submission.unit, agency=submission.agency
    )
    if earlier is None or earlier.status not in COUNTED_STATUSES:
        return {}
    return dict(
        DataValue.objects.filter(submission=earlier, disaggregation="", number__isnull=False).values_list(
            "indicator_id", "number"
        )
    )


def submission_check(submission: Submission) -> list[RuleResult]:
    """The rules of the submission's version that fail on its totals, and the required fields left empty
    (as errors). A rule whose figures are missing does not apply."""
    failed: list[RuleResult] = []
    # one read for both: which figures are present, and the totals the rules compute on
    rows = DataValue.objects.filter(submission=submission).values_list(
        "indicator__code", "disaggregation", "number"
    )
    present: set[str] = set()
    totals: dict[str, Decimal] = {}
    for code, disaggregation, number in rows:
        present.add(code)
        if disaggregation == "" and number is not None:
            totals[code] = number
    for item in FormItem.objects.filter(version_id=submission.version_id, is_required=True).select_related(
        "indicator"
    ):
        if item.indicator.code not in present:
            failed.append(
                RuleResult(
                    field_name(item.indicator.code, ""), RuleSeverity.ERROR, _("This figure is required.")
                )
            )
    rules = list(ValidationRule.objects.filter(version_id=submission.version_id).select_related("indicator"))
    previous = _previous_totals(submission) if any(r.kind == RuleKind.CHANGE for r in rules) else {}
    for rule in rules:
        if rule.kind == RuleKind.EXPRESSION:
            holds = expressions.evaluate(rule.expression, totals)
        else:
            current, before = totals.get(rule.indicator.code), previous.get(rule.indicator_id)
            if current is None or before is None or before == 0 or rule.max_change_percent is None:
                holds = None
            else:
                holds = abs(current - before) * 100 / abs(before) <= rule.max_change_percent
        if holds is False:
            failed.append(RuleResult(rule.code, rule.severity, rule.message))
    return failed


# -- the workflow -----------------------------------------------------------------------------------------


def submission_sign_off(*, actor: Any, submission: Submission) -> Submission:
    """A leader of the reporting unit (or agency) approves the figures as they are, before submitting."""
    with transaction.atomic():
        submission = _locked(submission)
        role = _reporter_role(
            actor, P.REPORTING_SUBMISSION_SIGN_OFF, unit_id=submission.unit_id, agency_id=submission.agency_id
        )
        _require_editable(submission)
        if submission.signed_off_at is not None:
            return submission
        submission.signed_off_at, submission.signed_off_by = timezone.now(), actor
        submission.save(update_fields=["signed_off_at", "signed_off_by", "updated_at"])
        _audit(actor, "submission_sign_off", submission, role)
    return submission


def submission_submit(
    *, actor: Any, submission: Submission, comments: Mapping[str, str] | None = None
) -> Submission:
    """Send the report to the owner agency. Errors (failed rules, required figures) block it; each failed
    warning needs an explanation in ``comments`` (rule code → text); a form that requires it needs a leader's
    sign-off first. Retrying a submit that went through returns the report as it is."""
    comments = {str(code): " ".join(str(text).split()) for code, text in (comments or {}).items()}
    with transaction.atomic():
        submission = _locked(submission)
        role = _reporter_role(
            actor, P.REPORTING_SUBMISSION_EDIT, unit_id=submission.unit_id, agency_id=submission.agency_id
        )
        if submission.status in COUNTED_STATUSES:
            return submission  # a retry: the report already went through
        _require_editable(submission)
        if submission.form.requires_sign_off and submission.signed_off_at is None:
            raise Conflict(
                _("A leader of the unit must sign off this report before it is submitted."),
                code="sign_off_required",
            )
        failed = submission_check(submission)
        errors = {result.code: [result.message] for result in failed if result.is_error}
        if errors:
            raise InvalidInput(
                _("The report has errors; correct them before submitting."),
                code="rule_errors",
                details=errors,
            )
        unexplained = {
            result.code: [_("Explain this: %(message)s") % {"message": result.message}]
            for result in failed
            if not comments.get(result.code)
        }
        if unexplained:
            raise InvalidInput(
                _("Explain each warning before submitting."),
                code="warnings_need_comment",
                details=unexplained,
            )
        now = timezone.now()
        submission.warning_comments = {result.code: comments[result.code][:500] for result in failed}
        submission.status, submission.submitted_at, submission.submitted_by = (
            SubmissionStatus.SUBMITTED,
            now,
            actor,
        )
        if submission.on_time is None:
            submission.on_time = now <= submission.period.due_at
        submission.save(
            update_fields=[
                "warning_comments",
                "status",
                "submitted_at",
                "submitted_by",
                "on_time",
                "updated_at",
            ]
        )
        aggregates_report_moved(submission=submission, counted=True)
        _audit(
            actor,
            "submission_submit",
            submission,
            role,
            on_time=submission.on_time,
            warnings=sorted(submission.warning_comments),
        )
    return submission


def submission_return(*, actor: Any, submission: Submission, reason: str) -> Submission:
    """The owner agency sends a submitted (or accepted) report back for correction, saying why; its figures
    leave the aggregates until it is submitted again, and the reporter gets a message."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Say why the report is returned."), code="reason_required")
    with transaction.atomic():
        submission = _locked(submission)
        role = _owner_role(actor, submission.form)
        if submission.status not in (SubmissionStatus.SUBMITTED, SubmissionStatus.ACCEPTED):
            raise Conflict(_("Only a submitted report can be returned."), code="invalid_status")
        _send_back(actor, submission, role, reason=reason, action="submission_return")
    return submission


def submission_reopen(*, actor: Any, submission: Submission, reason: str) -> Submission:
    """The owner agency reopens an accepted or locked report so the reporter can correct it (audited with the
    reason); it counts again once submitted again."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Say why the report is reopened."), code="reason_required")
    with transaction.atomic():
        submission = _locked(submission)
        role = _owner_role(actor, submission.form)
        if submission.status not in (SubmissionStatus.ACCEPTED, SubmissionStatus.LOCKED):
            raise Conflict(_("Only an accepted or locked report can be reopened."), code="invalid_status")
        _send_back(actor, submission, role, reason=reason, action="submission_reopen")
    return submission


def _send_back(actor: Any, submission: Submission, role: str, *, reason: str, action: str) -> None:
    previous_status = submission.status
    submission.status, submission.returned_reason, submission.returned_at = (
        SubmissionStatus.RETURNED,
        reason[:2000],
        timezone.now(),
    )
    submission.signed_off_at, submission.signed_off_by = None, None
    submission.save(
        update_fields=[
            "status",
            "returned_reason",
            "returned_at",
            "signed_off_at",
            "signed_off_by",
            "updated_at",
        ]
    )
    aggregates_report_moved(submission=submission, counted=False)
    _audit(actor, action, submission, role, reason=reason, previous_status=previous_status)
    recipient = submission.submitted_by
    if recipient is not None:
        context = {
            "form": submission.form.name,
            "period": submission.period.code,
            "unit": str(submission.agency or submission.unit),
            "reason": reason,
        }
        transaction.on_commit(
            lambda: message_send(
                recipient=recipient,
                template="reporting.submission_returned",
                context=context,
                channels=[Channel.IN_APP],
                dedupe_key=f"reporting.returned.{submission.public_id}.{submission.returned_at.isoformat()}",
            )
        )


def submission_accept(*, actor: Any, submission: Submission) -> Submission:
    """The owner agency accepts a submitted report (its figures already count); retrying is harmless."""
    with transaction.atomic():
        submission = _locked(submission)
        role = _owner_role(actor, submission.form)
        if submission.status == SubmissionStatus.ACCEPTED:
            return submission
        if submission.status != SubmissionStatus.SUBMITTED:
            raise Conflict(_("Only a submitted report can be accepted."), code="invalid_status")
        submission.status, submission.accepted_at, submission.accepted_by = (
            SubmissionStatus.ACCEPTED,
            timezone.now(),
            actor,
        )
        submission.save(update_fields=["status", "accepted_at", "accepted_by", "updated_at"])
        _audit(actor, "submission_accept", submission, role)
    return submission


def submissions_lock_due(*, today: dt.date | None = None) -> int:
    """Lock the submitted and accepted reports of every period whose lock date has passed (the platform runs
    this daily; idempotent). Returns how many were locked."""
    today = today or timezone.localdate()
    with transaction.atomic():
        due = Submission.objects.filter(
            status__in=(SubmissionStatus.SUBMITTED, SubmissionStatus.ACCEPTED), period__locks_on__lt=today
        )
        ids = list(due.values_list("pk", flat=True))
        if ids:
            Submission.objects.filter(pk__in=ids).update(
                status=SubmissionStatus.LOCKED, locked_at=timezone.now(), updated_at=timezone.now()
            )
            audit_record(
                actor=None,
                action="reporting.submissions_lock",
                object_type="reporting.submission",
                details={"count": len(ids), "date": today.isoformat()},
            )
    return len(ids)


ACTIONS = {
    "submit": submission_submit,
    "sign_off": submission_sign_off,
    "return": submission_return,
    "accept": submission_accept,
    "reopen": submission_reopen,
}
"""The workflow actions the API and pages expose by name."""
