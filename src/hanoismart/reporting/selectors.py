"""Reads of the reporting app: forms, periods, who must report, submissions scoped to the reader,
completeness and timeliness, rolled-up values and their comparisons."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.common.errors import NotFound
from hanoismart.directory.models import Agency, Unit
from hanoismart.directory.selectors import unit_descendant_ids
from hanoismart.notifications.selectors import message_statuses
from hanoismart.reporting.models import (
    COUNTED_STATUSES,
    Aggregate,
    Assignment,
    DataValue,
    FormVersion,
    Indicator,
    Period,
    PeriodType,
    ReminderLog,
    ReportForm,
    ReportRequest,
    Submission,
    SubmissionStatus,
)
from hanoismart.reporting.permissions import (
    ReportingPermission,
    can_oversee,
    positions_with,
    units_with,
)

# -- forms and periods ------------------------------------------------------------------------------------


def form_list() -> QuerySet[ReportForm]:
    """Active report forms, by code, with their owner agency."""
    return ReportForm.objects.filter(is_active=True).select_related("owner_agency").order_by("code")


def form_by_code(code: str) -> ReportForm:
    """The form with ``code``; raises ``NotFound``."""
    form = ReportForm.objects.select_related("owner_agency").filter(code=code).first()
    if form is None:
        raise NotFound(_("No report form with code %(code)s.") % {"code": code})
    return form


def form_current_version(form: ReportForm) -> FormVersion:
    """The published version with the highest number; raises ``NotFound`` when none is published."""
    version = form.versions.filter(published_at__isnull=False).order_by("-number").first()
    if version is None:
        raise NotFound(_("The form %(code)s has no published version.") % {"code": form.code})
    return version


def version_items(version: FormVersion) -> list:
    """The version's items in order, with their indicators."""
    return list(version.items.select_related("indicator").order_by("position"))


def period_by_code(form: ReportForm, code: str) -> Period:
    """The period of ``form`` with ``code`` (it must have been made); raises ``NotFound``."""
    period = Period.objects.filter(form=form, code=code).select_related("form").first()
    if period is None:
        raise NotFound(_("No period %(code)s for this form.") % {"code": code})
    return period


def period_list(form: ReportForm) -> QuerySet[Period]:
    """The periods made for ``form``, newest first."""
    return Period.objects.filter(form=form).order_by("-end")


def period_previous(period: Period) -> Period | None:
    """The period of the same form just before ``period`` (if it has been made)."""
    return Period.objects.filter(form_id=period.form_id, end__lt=period.start).order_by("-end").first()


def period_same_last_year(period: Period) -> Period | None:
    """The period of the same form that covers the same day one year earlier (if it has been made)."""
    try:
        day = period.end.replace(year=period.end.year - 1)
    except ValueError:  # 29 February
        day = period.end.replace(year=period.end.year - 1, day=28)
    return Period.objects.filter(form_id=period.form_id, start__lte=day, end__gte=day).first()


# -- who must report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reporter:
    """A unit reporting for itself (agency None) or an agency; ``unit`` is where its values roll up."""

    unit: Unit
    agency: Agency | None = None

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.unit.pk, self.agency.pk if self.agency else None)

    @property
    def name(self) -> str:
        return str(self.agency or self.unit)


def _valid_on(day: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": day}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gt": day})
    )


def reporters_expected(*, form: ReportForm, period: Period) -> list[Reporter]:
    """Who must report ``form`` for ``period``: every assignment valid on the period's last day whose unit is
    in force that day (or whose agency is active). So a ward that merged into a new one before the cut-off is
    not expected; its successor is. Ordered by unit code."""
    day = period.end
    assignments = (
        Assignment.objects.filter(form=form)
        .filter(_valid_on(day))
        .filter(Q(unit__isnull=True) | _valid_on(day, "unit__"))
        .filter(Q(agency__isnull=True) | Q(agency__is_active=True))
        .select_related("unit", "agency__unit")
    )
    reporters = {
        (a.unit_id or a.agency.unit_id, a.agency_id): Reporter(unit=a.unit or a.agency.unit, agency=a.agency)
        for a in assignments
    }
    return sorted(reporters.values(), key=lambda r: (r.unit.code, r.agency.code if r.agency else ""))


def is_expected(*, form: ReportForm, period: Period, unit: Unit, agency: Agency | None) -> bool:
    """Whether this reporter must (and so may) report ``form`` for ``period``: one of the reporters
    ``reporters_expected`` lists (asked with one query, not by listing them all)."""
    day = period.end
    assignments = Assignment.objects.filter(form=form).filter(_valid_on(day))
    if agency is None:
        return assignments.filter(unit=unit, agency__isnull=True).filter(_valid_on(day, "unit__")).exists()
    return agency.unit_id == unit.pk and (
        assignments.filter(agency=agency, unit__isnull=True, agency__is_active=True).exists()
    )


# -- submissions ------------------------------------------------------------------------------------------


def submissions_visible_to(*, actor: Any) -> QuerySet[Submission]:
    """The submissions ``actor`` may read: those of the units they serve (a city position: all), and every
    submission of the forms their agency owns."""
    base = Submission.objects.select_related("form", "period", "unit", "agency", "version")
    units = units_with(actor, ReportingPermission.REPORTING_SUBMISSION_VIEW)
    if units is None:
        return base
    owned = {p.agency_id for p in positions_with(actor, ReportingPermission.REPORTING_SUBMISSION_REVIEW)}
    if not units and not owned:
        return base.none()
    return base.filter(Q(unit_id__in=units) | Q(form__owner_agency_id__in=owned))


def submission_list(
    *, actor: Any, form: ReportForm | None = None, period: Period | None = None, unit: Unit | None = None
) -> QuerySet[Submission]:
    """Visible submissions, filtered, by period (newest first) then unit code."""
    found = submissions_visible_to(actor=actor)
    if form is not None:
        found = found.filter(form=form)
    if period is not None:
        found = found.filter(period=period)
    if unit is not None:
        found = found.filter(unit=unit)
    return found.order_by("-period__end", "unit__code", "pk")


def submission_get(*, actor: Any, public_id: Any) -> Submission:
    """One visible submission; raises ``NotFound`` (also for one the actor may not see)."""
    submission = submissions_visible_to(actor=actor).filter(public_id=public_id).first()
    if submission is None:
        raise NotFound(_("No such report."))
    return submission


def submission_of(
    *, form: ReportForm, period: Period, unit: Unit, agency: Agency | None
) -> Submission | None:
    """The reporter's submission for the period, if it was started (not scoped: for services)."""
    found = Submission.objects.filter(form=form, period=period, unit=unit)
    return (found.filter(agency=agency) if agency else found.filter(agency__isnull=True)).first()


def submission_values(submission: Submission) -> dict[tuple[str, str], DataValue]:
    """(indicator code, disaggregation) → value row of a submission."""
    return {
        (row.indicator.code, row.disaggregation): row for row in submission.values.select_related("indicator")
    }


@dataclass
class DeskItem:
    """A report a reporter has to deal with: form, period, reporter and its submission if started."""

    form: ReportForm
    period: Period
    reporter: Reporter
    submission: Submission | None

    @property
    def is_late(self) -> bool:
        return timezone.now() > self.period.due_at


def desk_for(*, actor: Any, today: dt.date | None = None) -> list[DeskItem]:
    """The reports waiting on ``actor``'s units and agencies: for each form they must report, the periods
    that have closed and are not locked yet whose report is not submitted (draft, returned or not started)."""
    today = today or timezone.localdate()
    positions = positions_with(actor, ReportingPermission.REPORTING_SUBMISSION_EDIT)
    unit_ids = {p.agency.unit_id for p in positions}
    agency_ids = {p.agency_id for p in positions}
    if not positions:
        return []
    periods = list(
        Period.objects.filter(locks_on__gte=today, form__is_active=True)
        # a periodic report is due once its data closed; an ad-hoc request at once
        .filter(Q(end__lt=today) | Q(period_type=PeriodType.AD_HOC))
        .filter(Q(form__assignments__unit_id__in=unit_ids) | Q(form__assignments__agency_id__in=agency_ids))
        .select_related("form")
        .distinct()
        .order_by("due_on", "form__code")
    )
    submissions = {
        (s.period_id, s.unit_id, s.agency_id): s
        for s in Submission.objects.filter(period__in=periods).filter(
            Q(unit_id__in=unit_ids, agency__isnull=True) | Q(agency_id__in=agency_ids)
        )
    }
    items: list[DeskItem] = []
    for period in periods:
        for reporter in reporters_expected(form=period.form, period=period):
            mine = reporter.agency.pk in agency_ids if reporter.agency else reporter.unit.pk in unit_ids
            if not mine:
                continue
            submission = submissions.get((period.pk, *reporter.key))
            if submission is None or submission.is_editable:
                items.append(
                    DeskItem(form=period.form, period=period, reporter=reporter, submission=submission)
                )
    return items


# -- completeness and timeliness --------------------------------------------------------------------------


class ReportState:
    """Where one expected reporter stands for a period."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"


@dataclass
class CompletenessRow:
    reporter: Reporter
    submission: Submission | None
    state: str


@dataclass
class Completeness:
    """Expected reporters of a form-period and how many reported, on time or late, and who is missing.

    A report counts once it is submitted (or accepted, or locked); a draft or a returned report is missing."""

    form: ReportForm
    period: Period
    rows: list[CompletenessRow] = field(default_factory=list)

    def _count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def expected(self) -> int:
        return len(self.rows)

    @property
    def on_time(self) -> int:
        return self._count(ReportState.ON_TIME)

    @property
    def late(self) -> int:
        return self._count(ReportState.LATE)

    @property
    def missing(self) -> int:
        return self._count(ReportState.MISSING)

    @property
    def submitted(self) -> int:
        return self.on_time + self.late

    @property
    def percent(self) -> Decimal:
        return (
            (Decimal(100 * self.submitted) / self.expected).quantize(Decimal("0.1"))
            if self.expected
            else Decimal(0)
        )


def _state(submission: Submission | None) -> str:
    if submission is None or submission.status not in COUNTED_STATUSES:
        return ReportState.MISSING
    return ReportState.ON_TIME if submission.on_time else ReportState.LATE


def completeness(*, form: ReportForm, period: Period) -> Completeness:
    """Completeness and timeliness of ``form`` for ``period`` (three queries, whatever the count of units)."""
    reporters = reporters_expected(form=form, period=period)
    submissions = {(s.unit_id, s.agency_id): s for s in Submission.objects.filter(form=form, period=period)}
    result = Completeness(form=form, period=period)
    for reporter in reporters:
        submission = submissions.get(reporter.key)
        result.rows.append(
            CompletenessRow(reporter=reporter, submission=submission, state=_state(submission))
        )
    return result


def completeness_history(
    *, form: ReportForm, unit: Unit, agency: Agency | None = None, periods: int = 12
) -> list[tuple[Period, str]]:
    """A reporter's state in the last ``periods`` closed periods it was expected in, newest first."""
    closed = list(period_list(form).filter(end__lt=timezone.localdate())[:periods])
    found = Submission.objects.filter(form=form, period__in=closed, unit=unit)
    found = found.filter(agency=agency) if agency else found.filter(agency__isnull=True)
    by_period = {s.period_id: s for s in found}
    history = []
    for period in closed:
        if by_period.get(period.pk) is None and not is_expected(
            form=form, period=period, unit=unit, agency=agency
        ):
            continue
        history.append((period, _state(by_period.get(period.pk))))
    return history


def chronically_late(*, form: ReportForm, periods: int = 6, threshold: int = 3) -> list[tuple[Reporter, int]]:
    """Reporters that were late or missing in at least ``threshold`` of the last ``periods`` closed periods
    (while expected), worst first."""
    closed = list(period_list(form).filter(end__lt=timezone.localdate())[:periods])
    states: dict[tuple[int, int | None], int] = defaultdict(int)
    reporters: dict[tuple[int, int | None], Reporter] = {}
    for period in closed:
        for row in completeness(form=form, period=period).rows:
            reporters[row.reporter.key] = row.reporter
            if row.state != ReportState.ON_TIME:
                states[row.reporter.key] += 1
    worst = [(reporters[key], count) for key, count in states.items() if count >= threshold]
    return sorted(worst, key=lambda item: (-item[1], item[0].unit.code))


# -- values -----------------------------------------------------------------------------------------------


def indicator_by_code(code: str) -> Indicator:
    """The indicator with ``code``; raises ``NotFound``."""
    indicator = Indicator.objects.filter(code=code).first()
    if indicator is None:
        raise NotFound(_("No indicator with code %(code)s.") % {"code": code})
    return indicator


def aggregate_values(*, indicator: Indicator, period: Period, unit: Unit) -> QuerySet[Aggregate]:
    """The rolled-up values of ``indicator`` for ``unit`` and its subtree in ``period`` (one per
    disaggregation, total first)."""
    return Aggregate.objects.filter(indicator=indicator, period=period, unit=unit).order_by("disaggregation")


def raw_values(*, indicator: Indicator, period: Period, unit: Unit) -> QuerySet[DataValue]:
    """The values of ``indicator`` reported by ``unit`` itself (its counted reports) in ``period``."""
    return (
        DataValue.objects.filter(
            indicator=indicator,
            submission__period=period,
            submission__unit=unit,
            submission__status__in=COUNTED_STATUSES,
        )
        .select_related("submission")
        .order_by("disaggregation", "submission_id")
    )


def aggregate_total(*, indicator: Indicator, period: Period | None, unit: Unit) -> Decimal | None:
    """The rolled-up total of ``indicator`` for ``unit`` in ``period`` (None when nothing was reported)."""
    if period is None:
        return None
    row = aggregate_values(indicator=indicator, period=period, unit=unit).filter(disaggregation="").first()
    return row.value if row is not None else None


def value_comparison(*, indicator: Indicator, period: Period, unit: Unit) -> dict[str, Decimal | None]:
    """The rolled-up total now, in the previous period and in the same period last year."""
    return {
        "current": aggregate_total(indicator=indicator, period=period, unit=unit),
        "previous": aggregate_total(indicator=indicator, period=period_previous(period), unit=unit),
        "same_period_last_year": aggregate_total(
            indicator=indicator, period=period_same_last_year(period), unit=unit
        ),
    }


def submission_status_counts(*, form: ReportForm, period: Period) -> dict[str, int]:
    """How many submissions of the form-period are in each status."""
    counts = dict.fromkeys(SubmissionStatus.values, 0)
    for status in Submission.objects.filter(form=form, period=period).values_list("status", flat=True):
        counts[status] += 1
    return counts


def value_export_rows(
    *, form: ReportForm, period: Period, unit: Unit, rollup: bool = True
) -> list[list[Any]]:
    """Rows to export for a form-period: with ``rollup``, the aggregates of ``unit`` and of each unit directly
    below it (unit code, unit, indicator code, indicator, unit of measure, disaggregation, value, reports);
    without, every counted value reported in ``unit``'s subtree (unit code, unit, reporter, indicator code,
    indicator, unit of measure, disaggregation, value, comment)."""
    indicator_ids = set(FormVersion.objects.filter(form=form).values_list("items__indicator_id", flat=True))
    if rollup:
        rows = (
            Aggregate.objects.filter(period=period, indicator_id__in=indicator_ids)
            .filter(Q(unit=unit) | Q(unit__parent=unit))
            .select_related("unit", "indicator")
            .order_by("unit__parent_id", "unit__code", "indicator__code", "disaggregation")
        )
        ordered = sorted(
            rows, key=lambda r: (r.unit_id != unit.pk, r.unit.code, r.indicator.code, r.disaggregation)
        )
        return [
            [
                r.unit.code,
                r.unit.name,
                r.indicator.code,
                r.indicator.name,
                r.indicator.unit_of_measure,
                r.disaggregation,
                r.value,
                r.count,
            ]
            for r in ordered
        ]
    units = {unit.pk, *unit_descendant_ids([unit.pk])}
    values = (
        DataValue.objects.filter(
            submission__form=form,
            submission__period=period,
            submission__status__in=COUNTED_STATUSES,
            submission__unit_id__in=units,
        )
        .select_related("submission__unit", "submission__agency", "indicator")
        .order_by("submission__unit__code", "submission__agency__code", "indicator__code", "disaggregation")
    )
    return [
        [
            v.submission.unit.code,
            v.submission.unit.name,
            v.submission.agency.code if v.submission.agency_id else "",
            v.indicator.code,
            v.indicator.name,
            v.indicator.unit_of_measure,
            v.disaggregation,
            v.number if v.number is not None else v.text,
            v.comment,
        ]
        for v in values
    ]


# -- reminders and requests -------------------------------------------------------------------------------


def reminder_log(*, form: ReportForm, period: Period, limit: int = 200) -> list[ReminderLog]:
    """The reminders sent for a form-period, newest first, each with ``delivery`` read from the outbox
    (pending, sending, delivered, failed; "" when the message is gone)."""
    logs = list(
        ReminderLog.objects.filter(form=form, period=period)
        .select_related("unit", "agency", "recipient", "sent_by")
        .order_by("-sent_at", "pk")[:limit]
    )
    statuses = message_statuses(ids={log.message_id for log in logs if log.message_id})
    for log in logs:
        log.delivery = statuses.get(log.message_id, "")
    return logs


def request_list(*, actor: Any, limit: int = 50) -> QuerySet[ReportRequest]:
    """The ad-hoc requests ``actor`` may follow (city managers, the sender's agency), newest first."""
    found = ReportRequest.objects.select_related("form", "period", "created_by").order_by("-created_at")
    if can_oversee(actor):
        return found[:limit]
    agencies = {p.agency_id for p in positions_with(actor, ReportingPermission.REPORTING_SUBMISSION_VIEW)}
    return found.filter(form__owner_agency_id__in=agencies)[:limit]


def local_units() -> QuerySet[Unit]:
    """The wards and communes in force today, by name (to choose the addressees of a request)."""
    today = timezone.localdate()
    return (
        Unit.objects.filter(parent__isnull=False, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=today))
        .order_by("name")
    )


# -- reports that count now (the IOC closes its "report missing" alerts with it) --------------------------

#: A reporter's report: (form code, period code, unit id, agency id or None), as the IOC's alerts name it.
ReportKey = tuple[str, str, int, int | None]


def reports_counted(*, wanted: Iterable[ReportKey]) -> set[ReportKey]:
    """Which of ``wanted`` now have a report that counts (submitted, accepted or locked; a draft or a report
    returned for correction does not). An agency's report is matched by agency, a unit's by unit. One query
    (not scoped: the IOC closes its "report missing" alerts with it)."""
    keys = set(wanted)
    if not keys:
        return set()
    units = {unit_id for _f, _p, unit_id, agency_id in keys if agency_id is None}
    agencies = {agency_id for _f, _p, _u, agency_id in keys if agency_id is not None}
    rows = (
        Submission.objects.filter(
            status__in=COUNTED_STATUSES,
            form__code__in={form for form, _p, _u, _a in keys},
            period__code__in={period for _f, period, _u, _a in keys},
        )
        .filter(Q(agency__isnull=True, unit_id__in=units) | Q(agency_id__in=agencies))
        .order_by()
        .values_list("form__code", "period__code", "unit_id", "agency_id")
    )
    found = {(form, period, _reporter_of(unit_id, agency_id)) for form, period, unit_id, agency_id in rows}
    return {key for key in keys if (key[0], key[1], _reporter_of(key[2], key[3])) in found}


def _reporter_of(unit_id: int, agency_id: int | None) -> tuple[str, int]:
    return ("agency", agency_id) if agency_id is not None else ("unit", unit_id)
