"""The reporting API at /api/v1/reporting/: forms, periods, data entry (``dataValueSets``, DHIS2-like, and
Excel templates), the submission workflow, rolled-up values and their export (.xlsx, CSV), completeness,
reminders ("chase now" and their log) and ad-hoc report requests.

Every operation needs a signed-in account (the browser session; writes need the CSRF token). What a caller
sees and may do follows their staff positions (``permissions``).
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate
from ninja.security import django_auth

from hanoismart.common.errors import InvalidInput, NotFound, PermissionDenied
from hanoismart.common.pagination import PageNumber
from hanoismart.directory.selectors import unit_by_code
from hanoismart.reporting import selectors, spreadsheets
from hanoismart.reporting.models import Indicator, Period, ReportForm, Submission
from hanoismart.reporting.permissions import ReportingPermission, can_oversee, has_permission, units_with
from hanoismart.reporting.services import (
    ACTIONS,
    ImportSummary,
    ValueEntry,
    csv_entries,
    data_value_set_import,
    reminder_chase,
    report_request_send,
    submission_import_xlsx,
)
from hanoismart.reporting.services.values import ValuesRefused

router = Router(tags=["reporting"], auth=django_auth)

_CODE = r"^[A-Za-z0-9_.\-]{1,40}$"
_UNIT_CODE = r"^[0-9]{1,10}$"
_CSV_MAX_BYTES = 1_000_000


# -- schemas ----------------------------------------------------------------------------------------------


class IndicatorOut(Schema):
    code: str
    name: str
    unit_of_measure: str
    value_type: str
    aggregation: str
    disaggregations: list[dict[str, Any]]


class FormItemOut(Schema):
    section: str
    position: int
    is_required: bool
    indicator: IndicatorOut


class RuleOut(Schema):
    code: str
    kind: str
    expression: str
    severity: str
    message: str


class FormOut(Schema):
    code: str
    name: str
    owner_agency: str = Field(..., description="Electronic code of the owner agency.")
    legal_basis: str
    period_type: str
    cut_off_day: int | None
    due_working_days: int
    requires_sign_off: bool
    reporter_scope: str

    @staticmethod
    def resolve_owner_agency(form: ReportForm) -> str:
        return form.owner_agency.code


class FormDetailOut(FormOut):
    version: int
    items: list[FormItemOut]
    rules: list[RuleOut]


class PeriodOut(Schema):
    code: str
    period_type: str
    start: dt.date
    end: dt.date
    due_on: dt.date
    city_due_on: dt.date
    locks_on: dt.date


class SubmissionOut(Schema):
    id: uuid.UUID = Field(..., description="Public id of the submission.")
    form: str
    period: str
    unit: str
    agency: str | None
    version: int
    status: str
    submitted_at: dt.datetime | None
    on_time: bool | None
    signed_off_at: dt.datetime | None
    returned_reason: str

    @staticmethod
    def resolve_id(s: Submission) -> uuid.UUID:
        return s.public_id

    @staticmethod
    def resolve_form(s: Submission) -> str:
        return s.form.code

    @staticmethod
    def resolve_period(s: Submission) -> str:
        return s.period.code

    @staticmethod
    def resolve_unit(s: Submission) -> str:
        return s.unit.code

    @staticmethod
    def resolve_agency(s: Submission) -> str | None:
        return s.agency.code if s.agency_id else None

    @staticmethod
    def resolve_version(s: Submission) -> int:
        return s.version.number


class DataValueIn(Schema):
    indicator: str = Field(..., max_length=40, examples=["POP_BIRTHS"])
    disaggregation: str = Field("", max_length=200, examples=["sex=female"])
    value: str | float | int | bool | None = Field(..., examples=["12"])
    comment: str = Field("", max_length=500)


class DataValueSetIn(Schema):
    form: str = Field(..., pattern=_CODE, examples=["BC-KTXH-THANG"])
    period: str = Field(..., max_length=20, examples=["2025-09"])
    unit: str = Field(..., pattern=_UNIT_CODE, examples=["00070"])
    agency: str = Field("", max_length=40, description="For a report an agency makes (a department).")
    dataValues: list[DataValueIn] = Field(..., max_length=5000)


class ImportOutcomeOut(Schema):
    indicator: str
    disaggregation: str
    status: str
    reason: str


class ImportSummaryOut(Schema):
    status: Literal["SUCCESS", "ERROR"]
    dry_run: bool
    import_count: dict[str, int]
    conflicts: list[ImportOutcomeOut]
    values: list[ImportOutcomeOut]


class ActionIn(Schema):
    reason: str = Field("", max_length=2000, description="Why (return, reopen).")
    comments: dict[str, str] = Field(
        default_factory=dict, description="Rule code → explanation of a warning."
    )


class ValueOut(Schema):
    unit: str
    disaggregation: str
    value: Decimal | None
    text: str = ""
    count: int = Field(1, description="Reports behind the value.")


class ValuesOut(Schema):
    indicator: str
    period: str
    unit: str
    rollup: bool
    values: list[ValueOut]
    previous: Decimal | None = None
    same_period_last_year: Decimal | None = None


class CompletenessRowOut(Schema):
    unit: str
    agency: str | None
    name: str
    state: str
    status: str | None
    submitted_at: dt.datetime | None


class CompletenessOut(Schema):
    form: str
    period: str
    due_on: dt.date
    expected: int
    submitted: int
    on_time: int
    late: int
    missing: int
    percent: Decimal
    rows: list[CompletenessRowOut]


class PeriodFilters(Schema):
    form: str = Field(..., pattern=_CODE)


class SubmissionFilters(Schema):
    form: str | None = Field(None, pattern=_CODE)
    period: str | None = Field(None, max_length=20)
    unit: str | None = Field(None, pattern=_UNIT_CODE)


class ValueFilters(Schema):
    indicator: str = Field(..., pattern=_CODE)
    period: str = Field(..., max_length=20)
    form: str | None = Field(
        None, pattern=_CODE, description="Needed when the indicator is in several forms."
    )
    unit: str = Field(..., pattern=_UNIT_CODE)
    rollup: bool = True


class CompletenessFilters(Schema):
    form: str = Field(..., pattern=_CODE)
    period: str = Field(..., max_length=20)


# -- helpers ----------------------------------------------------------------------------------------------


def _require_staff(request: HttpRequest) -> None:
    if not has_permission(request.user, ReportingPermission.REPORTING_SUBMISSION_VIEW):
        raise PermissionDenied(_("Reports are for staff who report or review them."))


def _summary_out(summary: ImportSummary) -> dict[str, Any]:
    outcomes = [
        {"indicator": o.indicator, "disaggregation": o.disaggregation, "status": o.status, "reason": o.reason}
        for o in summary.outcomes
    ]
    return {
        "status": "SUCCESS" if summary.is_ok else "ERROR",
        "dry_run": summary.dry_run,
        "import_count": summary.counts,
        "conflicts": [o for o in outcomes if o["status"] == "conflict"],
        "values": outcomes,
    }


# -- forms and periods ------------------------------------------------------------------------------------


@router.get("/forms", response=list[FormOut], summary="List report forms")
@paginate(PageNumber)
def form_list(request: HttpRequest):
    """Active report forms, by code."""
    _require_staff(request)
    return selectors.form_list()


@router.get("/forms/{code}", response=FormDetailOut, summary="One report form")
def form_detail(request: HttpRequest, code: str):
    """A form with its current version: sections of indicators, in order, and validation rules."""
    _require_staff(request)
    form = selectors.form_by_code(code[:40])
    version = selectors.form_current_version(form)
    form.version = version.number
    form.items = selectors.version_items(version)
    form.rules = list(version.rules.all())
    return form


@router.get("/periods", response=list[PeriodOut], summary="Periods of a form")
@paginate(PageNumber)
def period_list(request: HttpRequest, filters: Query[PeriodFilters]):
    """The periods made for a form, newest first."""
    _require_staff(request)
    return selectors.period_list(selectors.form_by_code(filters.form))


# -- data entry -------------------------------------------------------------------------------------------


@router.post(
    "/dataValueSets",
    response={200: ImportSummaryOut, 409: ImportSummaryOut},
    summary="Import one reporter's values for a period",
)
def data_value_sets(request: HttpRequest, payload: DataValueSetIn, dryRun: bool = False):
    """Write values into the reporter's report (opened as a draft if needed). All or nothing: with any
    conflict, nothing is written and the answer is 409 with the summary. ``dryRun=true`` only checks."""
    values = [
        ValueEntry(indicator=v.indicator, disaggregation=v.disaggregation, value=v.value, comment=v.comment)
        for v in payload.dataValues
    ]
    return _import(request, payload.form, payload.period, payload.unit, payload.agency, values, dryRun)


@router.post(
    "/dataValueSets.csv",
    response={200: ImportSummaryOut, 409: ImportSummaryOut},
    summary="Import values from CSV",
)
def data_value_sets_csv(
    request: HttpRequest,
    form: str = Query(..., pattern=_CODE),
    period: str = Query(..., max_length=20),
    unit: str = Query(..., pattern=_UNIT_CODE),
    agency: str = Query("", max_length=40),
    dryRun: bool = False,
):
    """The same from a CSV body (``text/csv``) with the columns indicator, disaggregation, value, comment."""
    if len(request.body) > _CSV_MAX_BYTES:
        raise InvalidInput(_("The file is too large."), code="too_large")
    try:
        text = request.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The CSV must be UTF-8 text."), code="invalid_csv") from None
    return _import(request, form, period, unit, agency, csv_entries(text), dryRun)


def _import(request: HttpRequest, form: str, period: str, unit: str, agency: str, values, dry_run: bool):
    try:
        summary = data_value_set_import(
            actor=request.user,
            form_code=form,
            period_code=period,
            unit_code=unit,
            agency_code=agency,
            values=values,
            dry_run=dry_run,
        )
    except ValuesRefused as refusal:
        summary = refusal.summary
    return Status(200 if summary.is_ok else 409, _summary_out(summary))


# -- submissions ------------------------------------------------------------------------------------------


@router.get("/submissions", response=list[SubmissionOut], summary="List submissions")
@paginate(PageNumber)
def submission_list(request: HttpRequest, filters: Query[SubmissionFilters]):
    """The submissions the caller may see, newest period first."""
    form = selectors.form_by_code(filters.form) if filters.form else None
    period = None
    if filters.period:
        if form is None:
            raise InvalidInput(_("Give the form with the period."), code="form_required")
        period = selectors.period_by_code(form, filters.period)
    unit = unit_by_code(filters.unit) if filters.unit else None
    return selectors.submission_list(actor=request.user, form=form, period=period, unit=unit)


@router.post(
    "/submissions/{public_id}/actions/{action}", response=SubmissionOut, summary="Act on a submission"
)
def submission_action(
    request: HttpRequest,
    public_id: uuid.UUID,
    action: Literal["submit", "sign_off", "return", "accept", "reopen"],
    payload: ActionIn | None = None,
):
    """submit (with explanations of warnings), sign_off (a leader of the unit), return and reopen (the owner
    agency, with a reason), accept (the owner agency)."""
    submission = selectors.submission_get(actor=request.user, public_id=public_id)
    payload = payload or ActionIn()
    service = ACTIONS[action]
    if action == "submit":
        return service(actor=request.user, submission=submission, comments=payload.comments)
    if action in ("return", "reopen"):
        return service(actor=request.user, submission=submission, reason=payload.reason)
    return service(actor=request.user, submission=submission)


# -- values and completeness ------------------------------------------------------------------------------


def _period_for_indicator(indicator: Indicator, form_code: str | None, period_code: str) -> Period:
    if form_code:
        form = selectors.form_by_code(form_code)
    else:
        forms = list(
            ReportForm.objects.filter(versions__items__indicator=indicator).distinct().order_by("code")[:2]
        )
        if not forms:
            raise NotFound(_("This indicator is in no form."))
        if len(forms) > 1:
            raise InvalidInput(_("This indicator is in several forms: give the form."), code="form_required")
        form = forms[0]
    return selectors.period_by_code(form, period_code)


@router.get("/values", response=ValuesOut, summary="Values of an indicator")
def values(request: HttpRequest, filters: Query[ValueFilters]):
    """With ``rollup=true`` (the default), the unit's aggregate (itself and every unit below), with the
    previous period and the same period last year; otherwise the values the unit itself reported."""
    indicator = selectors.indicator_by_code(filters.indicator)
    period = _period_for_indicator(indicator, filters.form, filters.period)
    unit = unit_by_code(filters.unit)
    served = units_with(request.user, ReportingPermission.REPORTING_SUBMISSION_VIEW)
    if not (
        served is None
        or unit.pk in served
        or can_oversee(request.user, owner_agency_id=period.form.owner_agency_id)
    ):
        raise NotFound(_("No administrative unit with code %(code)s.") % {"code": unit.code})
    body: dict[str, Any] = {
        "indicator": indicator.code,
        "period": period.code,
        "unit": unit.code,
        "rollup": filters.rollup,
    }
    if filters.rollup:
        rows = selectors.aggregate_values(indicator=indicator, period=period, unit=unit)
        body["values"] = [
            {"unit": unit.code, "disaggregation": r.disaggregation, "value": r.value, "count": r.count}
            for r in rows
        ]
        comparison = selectors.value_comparison(indicator=indicator, period=period, unit=unit)
        body["previous"] = comparison["previous"]
        body["same_period_last_year"] = comparison["same_period_last_year"]
    else:
        rows = selectors.raw_values(indicator=indicator, period=period, unit=unit)
        body["values"] = [
            {"unit": unit.code, "disaggregation": r.disaggregation, "value": r.number, "text": r.text}
            for r in rows
        ]
    return body


@router.get("/completeness", response=CompletenessOut, summary="Completeness and timeliness")
def completeness(request: HttpRequest, filters: Query[CompletenessFilters]):
    """Expected reporters of a form-period: submitted on time, late, or missing (drafts and returned reports
    count as missing). For city managers and the form's owner agency."""
    form = selectors.form_by_code(filters.form)
    if not can_oversee(request.user, owner_agency_id=form.owner_agency_id):
        raise PermissionDenied(_("Completeness is for city managers and the form's owner agency."))
    period = selectors.period_by_code(form, filters.period)
    result = selectors.completeness(form=form, period=period)
    return {
        "form": form.code,
        "period": period.code,
        "due_on": period.due_on,
        "expected": result.expected,
        "submitted": result.submitted,
        "on_time": result.on_time,
        "late": result.late,
        "missing": result.missing,
        "percent": result.percent,
        "rows": [
            {
                "unit": row.reporter.unit.code,
                "agency": row.reporter.agency.code if row.reporter.agency else None,
                "name": row.reporter.name,
                "state": row.state,
                "status": row.submission.status if row.submission else None,
                "submitted_at": row.submission.submitted_at if row.submission else None,
            }
            for row in result.rows
        ],
    }


# -- Excel upload, exports --------------------------------------------------------------------------------


@router.post(
    "/submissions/{public_id}/xlsx",
    response={200: ImportSummaryOut},
    summary="Fill in a report from its Excel template",
)
def submission_xlsx(
    request: HttpRequest, public_id: uuid.UUID, file: File[UploadedFile], dryRun: bool = False
):
    """Upload the filled template (``multipart/form-data``, field ``file``; .xlsx, at most 2 MB). All or
    nothing: with any bad cell, the answer is 400 with one message per cell in ``errors`` (keyed by cell,
    e.g. ``D7``) and nothing is saved."""
    submission = selectors.submission_get(actor=request.user, public_id=public_id)
    if file.size is not None and file.size > spreadsheets.MAX_BYTES:
        raise InvalidInput(_("The file is too large (at most %(size)d MB).") % {"size": 2}, code="too_large")
    summary = submission_import_xlsx(
        actor=request.user,
        submission=submission,
        content=file.read(spreadsheets.MAX_BYTES + 1),
        dry_run=dryRun,
    )
    return _summary_out(summary)


class ExportFilters(Schema):
    form: str = Field(..., pattern=_CODE)
    period: str = Field(..., max_length=20)
    unit: str | None = Field(
        None, pattern=_UNIT_CODE, description="Default: the owner agency's unit (the city)."
    )
    rollup: bool = Field(True, description="Aggregates of the unit and the units below it; else raw values.")


_ROLLUP_HEADER = [
    "unit_code",
    "unit",
    "indicator",
    "indicator_name",
    "unit_of_measure",
    "disaggregation",
    "value",
    "reports",
]
_RAW_HEADER = [
    "unit_code",
    "unit",
    "agency",
    "indicator",
    "indicator_name",
    "unit_of_measure",
    "disaggregation",
    "value",
    "comment",
]


def _export(request: HttpRequest, filters: ExportFilters) -> tuple[str, list[str], list[list[Any]]]:
    form = selectors.form_by_code(filters.form)
    if not can_oversee(request.user, owner_agency_id=form.owner_agency_id):
        raise PermissionDenied(_("Exports are for city managers and the form's owner agency."))
    period = selectors.period_by_code(form, filters.period)
    unit = unit_by_code(filters.unit) if filters.unit else form.owner_agency.unit
    rows = selectors.value_export_rows(form=form, period=period, unit=unit, rollup=filters.rollup)
    name = f"{spreadsheets.form_period_label(form, period)}_{unit.code}"
    return name, (_ROLLUP_HEADER if filters.rollup else _RAW_HEADER), rows


@router.get("/values.xlsx", summary="Export values to Excel", response={200: None})
def values_xlsx(request: HttpRequest, filters: Query[ExportFilters]):
    """The rolled-up values of a form-period for a unit and each unit below it (or, with ``rollup=false``,
    every value reported in its subtree), as an .xlsx file."""
    name, header, rows = _export(request, filters)
    response = HttpResponse(
        spreadsheets.export_xlsx(title=filters.period, header=header, rows=rows),
        content_type=spreadsheets.XLSX_MIME,
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@router.get("/values.csv", summary="Export values to CSV", response={200: None})
def values_csv(request: HttpRequest, filters: Query[ExportFilters]):
    """The same as ``values.xlsx``, as UTF-8 CSV (with a byte-order mark, so Excel reads Vietnamese)."""
    name, header, rows = _export(request, filters)
    response = HttpResponse(
        "\ufeff" + spreadsheets.export_csv(header=header, rows=rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# -- reminders --------------------------------------------------------------------------------------------


class ChaseIn(Schema):
    form: str = Field(..., pattern=_CODE)
    period: str = Field(..., max_length=20)
    unit: str | None = Field(None, pattern=_UNIT_CODE, description="One unit; default: every unit not in.")


class ChaseOut(Schema):
    reporters: list[str]
    people: int = Field(..., description="People messaged now.")
    logs: int = Field(..., description="Reminders logged now (one per report, person and channel).")
    already_chased: int = Field(..., description="Reports skipped: already chased today for that person.")


@router.post("/completeness/chase", response=ChaseOut, summary="Chase now")
def completeness_chase(request: HttpRequest, payload: ChaseIn):
    """Remind at once the reporters of one unit, or of every unit whose report is not in (city managers and
    the owner agency). At most once a day per report and person: repeating it sends nothing more."""
    form = selectors.form_by_code(payload.form)
    period = selectors.period_by_code(form, payload.period)
    unit = unit_by_code(payload.unit) if payload.unit else None
    result = reminder_chase(actor=request.user, form=form, period=period, unit=unit)
    return {
        "reporters": result.reporters,
        "people": result.people,
        "logs": result.logs,
        "already_chased": result.already_chased,
    }


class ReminderOut(Schema):
    unit: str
    agency: str | None
    recipient: str
    level: str
    kind: str
    channel: str
    sent_at: dt.datetime
    message_id: uuid.UUID | None
    delivery: str = Field(..., description="pending, sending, delivered, failed; empty if unknown.")


@router.get("/reminders", response=list[ReminderOut], summary="Reminders sent (evidence)")
def reminders(request: HttpRequest, filters: Query[CompletenessFilters]):
    """Who was reminded of a form-period, when, through which channel, and whether it was delivered."""
    form = selectors.form_by_code(filters.form)
    if not can_oversee(request.user, owner_agency_id=form.owner_agency_id):
        raise PermissionDenied(_("Reminders are for city managers and the form's owner agency."))
    period = selectors.period_by_code(form, filters.period)
    return [
        {
            "unit": log.unit.code,
            "agency": log.agency.code if log.agency_id else None,
            "recipient": log.recipient.full_name,
            "level": log.level,
            "kind": log.kind,
            "channel": log.channel,
            "sent_at": log.sent_at,
            "message_id": log.message_id,
            "delivery": log.delivery,
        }
        for log in selectors.reminder_log(form=form, period=period)
    ]


# -- ad-hoc requests --------------------------------------------------------------------------------------


class RequestIn(Schema):
    title: str = Field(..., max_length=255, examples=["Thiệt hại do bão số 3"])
    instructions: str = Field("", max_length=2000)
    hours: int = Field(..., ge=1, le=24 * 14, examples=[24], description="Deadline, in hours from now.")
    units: list[str] = Field(..., min_length=1, max_length=500, examples=[["00070", "00004"]])
    indicators: list[str] = Field(default_factory=list, max_length=100, description="Indicator codes.")
    questions: list[str] = Field(default_factory=list, max_length=20, description="Free-text questions.")
    idempotency_key: str | None = Field(None, max_length=100)


class RequestOut(Schema):
    id: uuid.UUID
    form: str
    period: str
    title: str
    deadline: dt.datetime
    units: list[str]


def _request_out(item) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "form": item.form.code,
        "period": item.period.code,
        "title": item.title,
        "deadline": item.deadline,
        "units": sorted(a.unit.code for a in item.form.assignments.select_related("unit") if a.unit_id),
    }


@router.post("/requests", response={201: RequestOut}, summary="Send an ad-hoc report request")
def request_send(request: HttpRequest, payload: RequestIn):
    """Ask units for selected indicators and/or free-text answers within ``hours`` (city managers). The
    request appears at once on the units' desks; their reporters get an in-app message and an SMS. Answers
    are submissions of the request's form (see ``completeness``)."""
    units = [unit_by_code(code) for code in dict.fromkeys(payload.units)]
    item = report_request_send(
        actor=request.user,
        title=payload.title,
        instructions=payload.instructions,
        hours=payload.hours,
        units=units,
        indicator_codes=payload.indicators,
        questions=payload.questions,
        idempotency_key=payload.idempotency_key,
        now=timezone.now(),
    )
    return Status(201, _request_out(item))


@router.get("/requests", response=list[RequestOut], summary="Ad-hoc report requests")
def request_list(request: HttpRequest):
    """The latest requests the caller may follow, newest first."""
    _require_staff(request)
    return [_request_out(item) for item in selectors.request_list(actor=request.user)]
