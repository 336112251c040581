"""Reporting pages: a reporter's desk, the report entry page (works on a phone) and its Excel template and
upload, the owner's review list, the completeness of a form-period with "chase now" and the reminder log,
and the manager's ad-hoc request form. Thin: they parse, call services and selectors, and render.

Every page needs a staff member with a confirmed second factor; what they see follows their positions.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hanoismart.common.errors import ApplicationError, NotFound
from hanoismart.directory.models import Agency, Unit
from hanoismart.directory.selectors import unit_by_code
from hanoismart.reporting import selectors
from hanoismart.reporting.models import Indicator, PeriodType, RuleSeverity, Submission, ValueType
from hanoismart.reporting.permissions import (
    ReportingPermission,
    can_oversee,
    has_permission,
    owner_position,
    positions_with,
    reporter_position,
)
from hanoismart.reporting.services import (
    ValueEntry,
    reminder_chase,
    report_request_send,
    submission_accept,
    submission_check,
    submission_import_xlsx,
    submission_open,
    submission_reopen,
    submission_return,
    submission_save_draft,
    submission_sign_off,
    submission_submit,
)
from hanoismart.reporting.services.values import field_name
from hanoismart.reporting.spreadsheets import MAX_BYTES as XLSX_MAX_BYTES
from hanoismart.reporting.spreadsheets import XLSX_MIME, template_workbook


def _staff_gate(request: HttpRequest) -> HttpResponse | None:
    """Sign in first; 403 without a reporting role or without a confirmed second factor."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_permission(request.user, ReportingPermission.REPORTING_SUBMISSION_VIEW):
        raise PermissionDenied
    is_verified = getattr(request.user, "is_verified", None)
    if is_verified is not None and not is_verified():
        raise PermissionDenied
    return None


@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """The reports waiting on the units the reporter serves, by due date."""
    if (response := _staff_gate(request)) is not None:
        return response
    items = selectors.desk_for(actor=request.user)
    context = {
        "items": items,
        "forms": selectors.form_list().exclude(period_type=PeriodType.AD_HOC),
        "can_request": has_permission(request.user, ReportingPermission.REPORTING_REQUEST_SEND),
    }
    return render(request, "reporting/desk.html", context)


@require_POST
def submission_start(request: HttpRequest, form_code: str, period_code: str, unit_code: str) -> HttpResponse:
    """Open (or find) the unit's report for the period and go to it."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        form = selectors.form_by_code(form_code)
        period = selectors.period_by_code(form, period_code)
        unit = unit_by_code(unit_code)
        submission = submission_open(actor=request.user, form=form, period=period, unit=unit)
    except NotFound:
        raise Http404 from None
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("reporting:desk")
    return redirect("reporting:submission", public_id=submission.public_id)


def _fields(indicator: Indicator) -> list[tuple[str, str]]:
    """(disaggregation key, label) of the inputs of one indicator: the total, then each combination."""
    fields = [("", _("Total"))]
    categories = sorted(indicator.disaggregations or [], key=lambda item: item["code"])
    if categories:
        for combination in itertools.product(*[[(c["code"], o) for o in c["options"]] for c in categories]):
            key = "|".join(f"{code}={option}" for code, option in combination)
            fields.append((key, " · ".join(option for _code, option in combination)))
    return fields


_INPUT_MODES = {
    ValueType.INTEGER: "numeric",
    ValueType.DECIMAL: "decimal",
    ValueType.PERCENTAGE: "decimal",
}


def _sections(submission: Submission, posted: dict[str, str] | None, errors: dict[str, list[str]]) -> list:
    """The entry form: sections of indicators, each with its inputs, current values and errors."""
    stored = selectors.submission_values(submission)
    sections: list[dict[str, Any]] = []
    for item in selectors.version_items(submission.version):
        indicator = item.indicator
        if not sections or sections[-1]["title"] != item.section:
            sections.append({"title": item.section, "indicators": []})
        inputs = []
        for key, label in _fields(indicator):
            name = field_name(indicator.code, key)
            row = stored.get((indicator.code, key))
            if posted is not None:
                value = posted.get(f"v:{name}", "")
            elif row is None:
                value = ""
            elif indicator.value_type == ValueType.TEXT:
                value = row.text
            elif indicator.value_type == ValueType.BOOLEAN:
                value = "true" if row.number else "false"
            else:
                value = f"{row.number.normalize():f}"
            inputs.append(
                {
                    "name": name,
                    "label": label,
                    "value": value,
                    "errors": errors.get(name, []),
                    "is_total": not key,
                }
            )
        sections[-1]["indicators"].append(
            {
                "item": item,
                "indicator": indicator,
                "inputs": inputs,
                "inputmode": _INPUT_MODES.get(indicator.value_type, "text"),
            }
        )
    return sections


def _entries(request: HttpRequest, submission: Submission) -> list[ValueEntry]:
    entries = []
    for item in selectors.version_items(submission.version):
        for key, _label in _fields(item.indicator):
            name = f"v:{field_name(item.indicator.code, key)}"
            if name in request.POST:
                entries.append(
                    ValueEntry(indicator=item.indicator.code, disaggregation=key, value=request.POST[name])
                )
    return entries


@require_http_methods(["GET", "POST"])
def submission_page(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One report: the entry form for its reporters (save, sign off, submit) and the review actions for the
    owner agency (accept, return, reopen)."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        submission = selectors.submission_get(actor=request.user, public_id=public_id)
    except NotFound:
        raise Http404 from None
    errors: dict[str, list[str]] = {}
    posted: dict[str, str] | None = None
    warnings: list = []
    if request.method == "POST":
        action = request.POST.get("action", "")
        result = _act(request, submission, action, errors)
        if result is not None:
            return result
        posted = {key: value for key, value in request.POST.items() if key.startswith("v:")}
        submission.refresh_from_db()
    if submission.is_editable:
        warnings = [
            result for result in submission_check(submission) if result.severity == RuleSeverity.WARNING
        ]
    can_edit = submission.is_editable and (
        request.user.is_superuser
        or reporter_position(
            request.user,
            ReportingPermission.REPORTING_SUBMISSION_EDIT,
            unit_id=submission.unit_id,
            agency_id=submission.agency_id,
        )
        is not None
    )
    can_sign = submission.is_editable and (
        request.user.is_superuser
        or reporter_position(
            request.user,
            ReportingPermission.REPORTING_SUBMISSION_SIGN_OFF,
            unit_id=submission.unit_id,
            agency_id=submission.agency_id,
        )
        is not None
    )
    can_review = (
        request.user.is_superuser
        or owner_position(request.user, owner_agency_id=submission.form.owner_agency_id) is not None
    )
    sections = _sections(submission, posted, errors)
    names = {
        field["name"] for section in sections for entry in section["indicators"] for field in entry["inputs"]
    }
    context = {
        "submission": submission,
        "sections": sections,
        "other_errors": {code: msgs for code, msgs in errors.items() if code not in names},
        "warnings": warnings,
        "comments": {key[2:]: value for key, value in request.POST.items() if key.startswith("c:")},
        "can_edit": can_edit,
        "can_sign": can_sign,
        "can_review": can_review,
    }
    status = 422 if errors else 200
    return render(request, "reporting/submission.html", context, status=status)


def _act(request: HttpRequest, submission: Submission, action: str, errors: dict) -> HttpResponse | None:
    """Run one POSTed action; a redirect when it went through, None (with ``errors`` filled) when refused."""
    actor = request.user
    try:
        if action in ("save", "submit"):
            submission_save_draft(actor=actor, submission=submission, values=_entries(request, submission))
            if action == "submit":
                comments = {key[2:]: value for key, value in request.POST.items() if key.startswith("c:")}
                submission_submit(actor=actor, submission=submission, comments=comments)
                messages.success(request, _("The report was submitted."))
            else:
                messages.success(request, _("The draft was saved."))
        elif action == "sign_off":
            submission_sign_off(actor=actor, submission=submission)
            messages.success(request, _("You signed off the report."))
        elif action == "accept":
            submission_accept(actor=actor, submission=submission)
            messages.success(request, _("The report was accepted."))
        elif action == "return":
            submission_return(actor=actor, submission=submission, reason=request.POST.get("reason", ""))
            messages.success(request, _("The report was returned for correction."))
        elif action == "reopen":
            submission_reopen(actor=actor, submission=submission, reason=request.POST.get("reason", ""))
            messages.success(request, _("The report was reopened."))
        else:
            errors["action"] = [_("Unknown action.")]
            return None
    except ApplicationError as error:
        messages.error(request, error.message)
        errors.update(error.details)
        if not error.details:
            errors["action"] = [str(error.message)]
        return None
    return redirect("reporting:submission", public_id=submission.public_id)


@require_GET
def review(request: HttpRequest, form_code: str, period_code: str) -> HttpResponse:
    """The owner agency's list of a period's reports, to accept or return, with completeness."""
    return _overview(request, form_code, period_code, "reporting/review.html")


@require_GET
def completeness(request: HttpRequest, form_code: str, period_code: str) -> HttpResponse:
    """Completeness and timeliness of a form-period, with who is missing and who is chronically late."""
    return _overview(request, form_code, period_code, "reporting/completeness.html")


def _overview(request: HttpRequest, form_code: str, period_code: str, template: str) -> HttpResponse:
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        form = selectors.form_by_code(form_code)
        period = selectors.period_by_code(form, period_code)
    except NotFound:
        raise Http404 from None
    if not can_oversee(request.user, owner_agency_id=form.owner_agency_id):
        raise PermissionDenied
    context = {
        "form": form,
        "period": period,
        "periods": selectors.period_list(form)[:24],
        "result": selectors.completeness(form=form, period=period),
        "late_units": selectors.chronically_late(form=form),
        "reminders": selectors.reminder_log(form=form, period=period, limit=50),
        "can_chase": request.user.is_superuser
        or owner_position(request.user, owner_agency_id=form.owner_agency_id) is not None
        or has_permission(request.user, ReportingPermission.REPORTING_REMINDER_SEND),
    }
    return render(request, template, context)


@require_GET
def form_periods(request: HttpRequest, form_code: str) -> HttpResponse:
    """Go to the completeness of a form's latest closed period."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        form = selectors.form_by_code(form_code)
    except NotFound:
        raise Http404 from None
    period = selectors.period_list(form).first()
    if period is None:
        raise Http404
    return redirect("reporting:completeness", form_code=form.code, period_code=period.code)


# -- reminders, Excel, ad-hoc requests --------------------------------------------------------------------


@require_POST
def chase(request: HttpRequest, form_code: str, period_code: str) -> HttpResponse:
    """ "Chase now" from the completeness page: one unit (``unit`` posted) or every unit not in."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        form = selectors.form_by_code(form_code)
        period = selectors.period_by_code(form, period_code)
        unit_code = request.POST.get("unit", "")
        unit = unit_by_code(unit_code) if unit_code else None
    except NotFound:
        raise Http404 from None
    try:
        result = reminder_chase(actor=request.user, form=form, period=period, unit=unit)
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied from None
        messages.error(request, error.message)
    else:
        (messages.success if result.people else messages.info)(request, result.summary())
    return redirect("reporting:completeness", form_code=form.code, period_code=period.code)


def _template_submission(request: HttpRequest, form: Any, period: Any, unit: Any, agency: Any) -> Submission:
    """The reporter's submission, or an unsaved one on the current version: a download writes nothing."""
    existing = selectors.submission_of(form=form, period=period, unit=unit, agency=agency)
    if existing is not None:
        return existing
    if not selectors.is_expected(form=form, period=period, unit=unit, agency=agency):
        raise Http404
    return Submission(
        form=form, period=period, unit=unit, agency=agency, version=selectors.form_current_version(form)
    )


@require_GET
def template_xlsx(request: HttpRequest, form_code: str) -> HttpResponse:
    """The Excel template of a report (``?unit=&period=``, ``&agency=`` for a department), pre-filled with
    the unit, the period, the values entered so far and last period's values."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        form = selectors.form_by_code(form_code)
        period_code = request.GET.get("period", "")
        period = (
            selectors.period_by_code(form, period_code)
            if period_code
            else selectors.period_list(form).first()
        )
        if period is None:
            raise Http404
        agency_code = request.GET.get("agency", "")
        agency = (
            Agency.objects.filter(code=agency_code).select_related("unit").first() if agency_code else None
        )
        if agency_code and agency is None:
            raise Http404
        unit_code = request.GET.get("unit", "")
        if agency is not None:
            unit = agency.unit
        elif unit_code:
            unit = unit_by_code(unit_code)
        else:
            position = next(
                iter(positions_with(request.user, ReportingPermission.REPORTING_SUBMISSION_EDIT)), None
            )
            if position is None:
                raise Http404
            unit = position.agency.unit
    except NotFound:
        raise Http404 from None
    may_fill = (
        reporter_position(
            request.user,
            ReportingPermission.REPORTING_SUBMISSION_EDIT,
            unit_id=unit.pk,
            agency_id=agency.pk if agency else None,
        )
        is not None
    )
    if not (
        request.user.is_superuser
        or may_fill
        or can_oversee(request.user, owner_agency_id=form.owner_agency_id)
    ):
        raise PermissionDenied
    submission = _template_submission(request, form, period, unit, agency)
    response = HttpResponse(template_workbook(submission=submission), content_type=XLSX_MIME)
    name = f"{form.code}_{period.code}_{agency.code if agency else unit.code}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
def submission_xlsx(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Upload a filled Excel template into a report; every refused cell is listed, and nothing is saved."""
    if (response := _staff_gate(request)) is not None:
        return response
    try:
        submission = selectors.submission_get(actor=request.user, public_id=public_id)
    except NotFound:
        raise Http404 from None
    errors: dict[str, list[str]] = {}
    problem = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            problem = _("Choose the filled template (.xlsx).")
        elif upload.size > XLSX_MAX_BYTES:
            problem = _("The file is too large (at most %(size)d MB).") % {
                "size": XLSX_MAX_BYTES // 1_000_000
            }
        else:
            try:
                summary = submission_import_xlsx(
                    actor=request.user, submission=submission, content=upload.read(XLSX_MAX_BYTES + 1)
                )
            except ApplicationError as error:
                problem, errors = str(error.message), error.details
            else:
                messages.success(
                    request,
                    _("The file was read: %(imported)d new, %(updated)d changed, %(deleted)d removed.")
                    % summary.counts,
                )
                return redirect("reporting:submission", public_id=submission.public_id)
    context = {"submission": submission, "errors": errors, "problem": problem}
    return render(request, "reporting/xlsx.html", context, status=422 if problem else 200)


@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    """A city manager asks chosen units for figures and/or answers within a number of hours."""
    if (response := _staff_gate(request)) is not None:
        return response
    if not has_permission(request.user, ReportingPermission.REPORTING_REQUEST_SEND):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    problem = ""
    if request.method == "POST":
        post = request.POST
        try:
            hours = int(post.get("hours", "0") or 0)
        except ValueError:
            hours = 0
        units = list(Unit.objects.filter(code__in=post.getlist("units")))
        try:
            item = report_request_send(
                actor=request.user,
                title=post.get("title", ""),
                instructions=post.get("instructions", ""),
                hours=hours,
                units=units,
                indicator_codes=post.getlist("indicators"),
                questions=[line for line in post.get("questions", "").splitlines() if line.strip()],
                idempotency_key=post.get("idempotency_key") or None,
            )
        except ApplicationError as error:
            problem, errors = str(error.message), error.details
        else:
            messages.success(request, _("The request was sent."))
            return redirect("reporting:completeness", form_code=item.form.code, period_code=item.period.code)
    context = {
        "units": selectors.local_units(),
        "indicators": Indicator.objects.filter(is_active=True)
        .exclude(value_type=ValueType.TEXT)
        .order_by("code"),
        "requests": selectors.request_list(actor=request.user, limit=10),
        "errors": errors,
        "problem": problem,
        "posted": request.POST,
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "reporting/request_new.html", context, status=422 if problem else 200)
