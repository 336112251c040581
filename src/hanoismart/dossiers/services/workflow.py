"""The one-stop workflow: one service per transition of the national statuses 1..10, the case's workflow
steps as internal stages, and ``dossier_act``, the one dispatcher pages and the API call.

Every service locks the dossier, checks the actor (staff: a position in the dossier's agency whose role
holds the permission; the applicant for their own actions), checks the status (``transitions.RULES``),
then writes the change and its trace (``base.record``). A refusal raises before anything is written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput
from hanoismart.documents.services import document_issue_result
from hanoismart.dossiers import deadlines
from hanoismart.dossiers.models import (
    RATING_CRITERIA,
    ApologyLetter,
    Dossier,
    PaymentStatus,
    Rating,
    Satisfaction,
)
from hanoismart.dossiers.permissions import DossierPermission as P
from hanoismart.dossiers.permissions import position_for
from hanoismart.dossiers.services import base, rollups
from hanoismart.dossiers.transitions import RULES, is_late, is_sign_step
from hanoismart.procedures.models import DossierStatus as S


class NotAllowedNow(InvalidInput):
    """The action exists but the dossier's status does not allow it now (HTTP 409)."""

    status = 409
    default_code = "not_allowed_now"


def _begin(actor: Any, dossier: Dossier, action: str) -> tuple[Dossier, base.Acting]:
    """Lock the row, check who acts, then check that the action fits the dossier's status now."""
    rule = RULES[action]
    current = base.locked(dossier)
    if rule.applicant:
        acting = base.acting_as_applicant(actor, current)
    else:
        acting = base.acting_as_staff(actor, current, *rule.perms)
    if current.status not in rule.statuses or not rule.when(current, base.now()):
        raise NotAllowedNow(
            _("This cannot be done now: the dossier is “%(status)s”.")
            % {"status": current.get_status_display()}
        )
    return current, acting


def _required(note: str, what: str) -> str:
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Give %(what)s.") % {"what": what},
            code="note_required",
            details={"note": [_("This field is required.")]},
        )
    return note


def _steps(dossier: Dossier) -> list:
    return list(dossier.case.steps.all())


def _enter_step(dossier: Dossier, step: Any, *, at: dt.datetime) -> None:
    dossier.step = step
    dossier.assignee = None
    dossier.step_due_at = (
        deadlines.step_due_at(base.calendar(), started_at=at, working_hours=step.working_hours)
        if step
        else None
    )


def _next_step(dossier: Dossier, *, sign: bool = False) -> Any:
    steps = _steps(dossier)
    if sign:
        for step in steps:
            if (dossier.step is None or step.order > dossier.step.order) and is_sign_step(step):
                return step
    for step in steps:
        if dossier.step is None or step.order > dossier.step.order:
            return step
    return None


def _save(dossier: Dossier) -> None:
    dossier.save()


# -- the desk --------------------------------------------------------------------------------------------


def dossier_receive(*, actor: Any, dossier: Dossier, note: str = "") -> Dossier:
    """The desk accepts a submitted dossier (1 → 2): the clock starts at the next working moment, due is
    set from the case's processing time, and the dossier moves to the first processing step."""
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "receive")
        moment = base.now()
        calendar = base.calendar()
        amount, unit = deadlines.processing_budget(case=dossier.case, channel=dossier.channel)
        start = calendar.next_working_moment(moment)
        dossier.status = S.RECEIVED
        dossier.received_at = moment
        dossier.due_at = deadlines.due_at(calendar, received_at=start, amount=amount, unit=unit)
        steps = _steps(dossier)
        _enter_step(dossier, steps[1] if len(steps) > 1 else None, at=start)
        _save(dossier)
        base.record(dossier, acting=acting, action="receive", from_status=S.SUBMITTED, note=note)
        return dossier


def dossier_refuse(*, actor: Any, dossier: Dossier, note: str) -> Dossier:
    """The desk refuses a submitted dossier, with the reason (1 → 3)."""
    note = _required(note, _("the reason for refusing"))
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "refuse")
        dossier.status = S.NOT_RECEIVED
        dossier.finished_at = base.now()
        _enter_step(dossier, None, at=dossier.finished_at)
        _save(dossier)
        base.record(dossier, acting=acting, action="refuse", from_status=S.SUBMITTED, note=note)
        return dossier


def dossier_assign(*, actor: Any, dossier: Dossier, assignee: Any, note: str = "") -> Dossier:
    """Hand the dossier to an officer (or leader) of its agency; a received dossier becomes in progress."""
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "assign")
        if assignee is None or not (
            position_for(assignee, P.DOSSIER_PROCESS, agency_id=dossier.agency_id)
            or position_for(assignee, P.DOSSIER_SIGN, agency_id=dossier.agency_id)
        ):
            raise InvalidInput(
                _("This person does not process dossiers in this agency."), code="assignee_invalid"
            )
        from_status = dossier.status
        dossier.assignee = assignee
        dossier.status = S.IN_PROGRESS
        _save(dossier)
        base.record(
            dossier,
            acting=acting,
            action="assign",
            from_status=from_status,
            note=note,
            details={"assignee": str(assignee.public_id)},
            notify=from_status != dossier.status,
        )
        return dossier


def _move_on(*, actor: Any, dossier: Dossier, note: str, action: str) -> Dossier:
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, action)
        from_status = dossier.status
        step = _next_step(dossier, sign=action == "approve")
        if step is None:
            raise NotAllowedNow(_("There is no further step; the dossier waits for its decision."))
        _enter_step(dossier, step, at=base.calendar().next_working_moment(base.now()))
        dossier.status = S.IN_PROGRESS
        _save(dossier)
        base.record(
            dossier,
            acting=acting,
            action=action,
            from_status=from_status,
            note=note,
            notify=from_status != dossier.status,
        )
        return dossier


def dossier_forward(*, actor: Any, dossier: Dossier, note: str = "") -> Dossier:
    """Hand the dossier on to the next step of the case's workflow (status: in progress)."""
    return _move_on(actor=actor, dossier=dossier, note=note, action="forward")


def dossier_approve(*, actor: Any, dossier: Dossier, note: str = "") -> Dossier:
    """The officer proposes the decision: the dossier goes to the leader's signing step."""
    return _move_on(actor=actor, dossier=dossier, note=note, action="approve")


# -- supplements and money --------------------------------------------------------------------------------


def dossier_request_supplement(
    *, actor: Any, dossier: Dossier, note: str, items: list[str] | None = None
) -> Dossier:
    """Ask the applicant for more (→ 5): the clock stops until the supplement arrives."""
    note = _required(note, _("what the applicant must add"))
    items = [str(item).strip()[:300] for item in (items or []) if str(item).strip()]
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "request_supplement")
        from_status = dossier.status
        dossier.status = S.SUPPLEMENT_REQUESTED
        dossier.paused_since = base.now()
        _save(dossier)
        base.record(
            dossier,
            acting=acting,
            action="request_supplement",
            from_status=from_status,
            note=note,
            details={"items": items, "resume_status": from_status},
            notify_extra={"note": note, "items": items},
        )
        return dossier


def dossier_supplement(
    *, actor: Any, dossier: Dossier, components: list | None = None, note: str = ""
) -> Dossier:
    """The applicant sends what was asked: the clock resumes, and due (and the step's due) move later by
    the working time it stood still."""
    from hanoismart.dossiers.services.filing import _Paper, _save_papers

    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "supplement")
        papers = _supplement_papers(actor=actor, dossier=dossier, components=components or [])
        if not papers and not (note or "").strip():
            raise InvalidInput(_("Add a paper or a note to supplement the dossier."), code="supplement_empty")
        moment = base.now()
        calendar = base.calendar()
        paused = deadlines.paused_working_time(calendar, paused_since=dossier.paused_since, resumed_at=moment)
        if dossier.due_at:
            dossier.due_at = deadlines.due_after_pause(calendar, due=dossier.due_at, paused=paused)
        if dossier.step_due_at:
            dossier.step_due_at = deadlines.due_after_pause(calendar, due=dossier.step_due_at, paused=paused)
        dossier.paused_seconds += int(paused.total_seconds())
        dossier.paused_since = None
        request = dossier.events.filter(action="request_supplement").order_by("-at", "-id").first()
        from_status = dossier.status
        dossier.status = (request.details.get("resume_status") if request else None) or S.IN_PROGRESS
        _save(dossier)
        _save_papers(dossier, [_Paper(**paper) for paper in papers], actor=actor, supplement=True)
        base.record(
            dossier,
            acting=acting,
            action="supplement",
            from_status=from_status,
            note=(note or "").strip(),
            details={"paused_seconds": int(paused.total_seconds()), "papers": len(papers)},
        )
        return dossier


def _supplement_papers(*, actor: Any, dossier: Dossier, components: list) -> list[dict]:
    """The papers of a supplement: any of the case's papers, by upload or from the store (none mandatory)."""
    from hanoismart.dossiers.services.filing import _papers

    if not components:
        return []
    papers = _papers(
        actor=actor, case=dossier.case, components=components, at_desk=False, require_mandatory=False
    )
    return [
        {"component": p.component, "source": p.source, "upload": p.upload, "document": p.document}
        for p in papers
    ]


def dossier_request_payment(
    *, actor: Any, dossier: Dossier, note: str = "", amount: int | None = None
) -> Dossier:
    """Ask the applicant to meet a financial obligation (→ 6); ``amount`` adds to what they owe."""
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "request_payment")
        if amount is not None:
            if not isinstance(amount, int) or amount <= 0:
                raise InvalidInput(_("The amount must be a positive number of đồng."), code="amount_invalid")
            dossier.fee_applicant += amount
            dossier.fee_total += amount
            dossier.payment_status = PaymentStatus.DUE
        if dossier.payment_status != PaymentStatus.DUE:
            raise NotAllowedNow(_("Nothing is due on this dossier."), code="nothing_due")
        from_status = dossier.status
        dossier.status = S.FINANCIAL_OBLIGATION
        _save(dossier)
        base.record(
            dossier,
            acting=acting,
            action="request_payment",
            from_status=from_status,
            note=note,
            details={"amount": dossier.fee_applicant, "resume_status": from_status},
            notify_extra={"amount": dossier.fee_applicant},
        )
        return dossier


# -- decision, result, return -----------------------------------------------------------------------------


def _printed(dossier: Dossier) -> dict[str, str]:
    printed = {
        _("Dossier code"): dossier.code,
        _("Applicant"): dossier.applicant_name,
    }
    properties = (dossier.case.form_schema or {}).get("properties", {})
    for name, value in (dossier.form_data or {}).items():
        if value in (None, "", [], {}):
            continue
        label = str(properties.get(name, {}).get("title") or name)
        printed[label] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return printed


def dossier_sign(*, actor: Any, dossier: Dossier, note: str = "") -> Dossier:
    """The leader signs (→ 9 processed): the result is issued, signed with the agency's key, into the
    applicant's store; the dossier is classified early / on time / late and goes to the return step."""
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "sign")
        from_status = dossier.status
        moment = base.now()
        procedure = dossier.procedure
        if procedure.yields_result and (dossier.applicant_id or dossier.applicant_organisation_id):
            owner = (
                {"owner_organisation": dossier.applicant_organisation}
                if dossier.applicant_organisation_id
                else {"owner_user": dossier.applicant}
            )
            dossier.result_document = document_issue_result(
                actor=actor,
                agency=dossier.agency,
                dossier_code=dossier.code,
                procedure_code=procedure.national_code,
                type_code=procedure.result_type_code or procedure.national_code,
                type_name=procedure.result_type_name or procedure.name,
                title=procedure.result_type_name or procedure.name,
                number=dossier.code,
                printed=_printed(dossier),
                paragraphs=[note] if note else [],
                issued_on=timezone.localdate(),
                **owner,
            )
        dossier.status = S.PROCESSED
        dossier.finished_at = moment
        dossier.timeliness = deadlines.timeliness(base.calendar(), finished_at=moment, due=dossier.due_at)
        steps = [step for step in _steps(dossier) if dossier.step is None or step.order > dossier.step.order]
        _enter_step(dossier, steps[0] if steps else None, at=base.calendar().next_working_moment(moment))
        _save(dossier)
        base.record(
            dossier,
            acting=acting,
            action="sign",
            from_status=from_status,
            note=note,
            details={"timeliness": dossier.timeliness},
        )
        return dossier


def dossier_apologise(*, actor: Any, dossier: Dossier, note: str, new_due_at: dt.datetime) -> ApologyLetter:
    """A late dossier's apology letter (phiếu xin lỗi và hẹn lại ngày trả kết quả): the reason and the new
    date, sent to the applicant. Returning a late result needs one."""
    note = _required(note, _("the reason for the delay"))
    if not isinstance(new_due_at, dt.datetime) or timezone.is_naive(new_due_at):
        raise InvalidInput(_("Give the new date and time for the result."), code="new_due_invalid")
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "apologise")
        if new_due_at <= base.now():
            raise InvalidInput(_("The new date must be in the future."), code="new_due_past")
        letter = ApologyLetter.objects.create(
            dossier=dossier,
            reason=note,
            previous_due_at=dossier.due_at,
            new_due_at=new_due_at,
            created_by=acting.user,
        )
        base.record(
            dossier,
            acting=acting,
            action="apologise",
            from_status=dossier.status,
            note=note,
            details={"letter": str(letter.public_id), "new_due_at": new_due_at.isoformat()},
            notify_extra={"new_due_at": timezone.localtime(new_due_at), "note": note},
        )
        return letter


def dossier_return(*, actor: Any, dossier: Dossier, note: str = "") -> Dossier:
    """The desk returns the result (9 → 10), by post or at the desk as the applicant chose. A late dossier
    needs an apology letter first."""
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "return")
        if is_late(dossier, now=base.now()) and not dossier.apology_letters.exists():
            raise NotAllowedNow(
                _("This dossier is late: issue an apology letter with a new date before returning it."),
                code="apology_required",
            )
        dossier.status = S.RETURNED
        dossier.returned_at = base.now()
        _enter_step(dossier, None, at=dossier.returned_at)
        _save(dossier)
        base.record(
            dossier,
            acting=acting,
            action="return",
            from_status=S.PROCESSED,
            note=note,
            details={"delivery_method": dossier.delivery_method},
        )
        return dossier


def dossier_stop(*, actor: Any, dossier: Dossier, note: str) -> Dossier:
    """Stop processing (→ 8), with the reason."""
    note = _required(note, _("the reason for stopping"))
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "stop")
        from_status = dossier.status
        dossier.status = S.STOPPED
        dossier.finished_at = base.now()
        dossier.paused_since = None
        _enter_step(dossier, None, at=dossier.finished_at)
        _save(dossier)
        base.record(dossier, acting=acting, action="stop", from_status=from_status, note=note)
        return dossier


def dossier_withdraw(*, actor: Any, dossier: Dossier, note: str = "") -> Dossier:
    """The applicant withdraws their dossier (→ 7)."""
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "withdraw")
        from_status = dossier.status
        dossier.status = S.WITHDRAWN
        dossier.finished_at = base.now()
        dossier.paused_since = None
        _enter_step(dossier, None, at=dossier.finished_at)
        _save(dossier)
        base.record(dossier, acting=acting, action="withdraw", from_status=from_status, note=note)
        return dossier


def dossier_rate(
    *, actor: Any, dossier: Dossier, scores: dict[str, int], overall: str, comment: str = ""
) -> Rating:
    """The applicant rates a returned dossier once: each of the nine criteria 0, 1 or 2, and a verdict."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for criterion in RATING_CRITERIA:
        value = (scores or {}).get(criterion)
        if value not in (0, 1, 2) or isinstance(value, bool):
            errors[criterion] = [_("Score this from 0 to 2.")]
        else:
            clean[criterion] = value
    unknown = set(scores or {}) - set(RATING_CRITERIA)
    if unknown:
        errors["scores"] = [_("Unknown criteria: %(names)s.") % {"names": ", ".join(sorted(unknown))}]
    if overall not in Satisfaction.values:
        errors["overall"] = [_("Choose very satisfied, satisfied or not satisfied.")]
    if errors:
        raise InvalidInput(_("The rating has errors."), code="rating_invalid", details=errors)
    with transaction.atomic():
        dossier, acting = _begin(actor, dossier, "rate")
        rating = Rating.objects.create(
            dossier=dossier,
            scores=clean,
            total=sum(clean.values()),
            overall=overall,
            comment=(comment or "").strip()[:2000],
        )
        rollups.rating_given(dossier, rating)
        base.record(
            dossier,
            acting=acting,
            action="rate",
            from_status=dossier.status,
            details={"total": rating.total, "overall": overall},
            notify=False,
        )
        return rating


# -- the dispatcher ---------------------------------------------------------------------------------------


def _pay(*, actor: Any, dossier: Dossier, **_ignored: Any) -> Any:
    from hanoismart.dossiers.services.payments import dossier_pay

    return dossier_pay(actor=actor, dossier=dossier)


ACTION_SERVICES = {
    "receive": (dossier_receive, ("note",)),
    "refuse": (dossier_refuse, ("note",)),
    "assign": (dossier_assign, ("note", "assignee")),
    "forward": (dossier_forward, ("note",)),
    "approve": (dossier_approve, ("note",)),
    "request_supplement": (dossier_request_supplement, ("note", "items")),
    "supplement": (dossier_supplement, ("note", "components")),
    "request_payment": (dossier_request_payment, ("note", "amount")),
    "pay": (_pay, ()),
    "sign": (dossier_sign, ("note",)),
    "stop": (dossier_stop, ("note",)),
    "withdraw": (dossier_withdraw, ("note",)),
    "apologise": (dossier_apologise, ("note", "new_due_at")),
    "return": (dossier_return, ("note",)),
    "rate": (dossier_rate, ("scores", "overall", "comment")),
}


def dossier_act(*, actor: Any, dossier: Dossier, action: str, note: str = "", **payload: Any) -> Dossier:
    """Run ``action`` on ``dossier`` through its service and return the dossier as it is now; an unknown
    action is refused with a clear message (and the services refuse what is not allowed now)."""
    if action not in ACTION_SERVICES:
        raise InvalidInput(
            _("Unknown action “%(action)s”.") % {"action": str(action)[:40]}, code="unknown_action"
        )
    service, accepted = ACTION_SERVICES[action]
    arguments = {name: payload[name] for name in accepted if name in payload and name != "note"}
    if "note" in accepted:
        arguments["note"] = note or ""
    missing = {"assign": "assignee", "apologise": "new_due_at"}.get(action)
    if missing and arguments.get(missing) is None:
        raise InvalidInput(
            _("This action needs %(field)s.") % {"field": missing},
            code="payload_missing",
            details={missing: [_("This field is required.")]},
        )
    if action == "rate":
        arguments.setdefault("scores", {})
        arguments.setdefault("overall", "")
    service(actor=actor, dossier=dossier, **arguments)
    return Dossier.objects.select_related("procedure", "case", "agency", "unit", "step").get(pk=dossier.pk)
