"""Ad-hoc report requests: a manager asks chosen units for selected indicators and/or free-text answers
within a number of hours (e.g. storm damage within 24 hours).

A request is a form of its own (period type ad hoc, owned by the sender's agency) with one ad-hoc period
made by ``period_build`` and due at the deadline, assigned to the chosen units; so answers are ordinary
submissions, they appear at once on the units' desks, and completeness, roll-up and export work unchanged.
The units' reporters are told in-app and by SMS after the request commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import Unit
from hanoismart.directory.selectors import working_calendar
from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.notifications.models import Channel
from hanoismart.notifications.services import message_send
from hanoismart.reporting.models import (
    Aggregation,
    Assignment,
    FormItem,
    FormVersion,
    Indicator,
    PeriodType,
    ReporterScope,
    ReportForm,
    ReportRequest,
    ValueType,
)
from hanoismart.reporting.permissions import ReportingPermission, positions_with
from hanoismart.reporting.services.periods import period_build

MAX_HOURS = 24 * 14
MAX_QUESTIONS = 20
MAX_INDICATORS = 100
MAX_UNITS = 500


def _sender_position(actor: Any) -> StaffPosition:
    positions = positions_with(actor, ReportingPermission.REPORTING_REQUEST_SEND)
    if not positions:
        raise PermissionDenied(_("Only city managers can send report requests."))
    return positions[0]


def _request_code(today: dt.date) -> str:
    """``YC-20251122-3F9A1C``: the day, and a random part so two managers sending at once never collide."""
    return f"YC-{today:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def report_request_send(
    *,
    actor: Any,
    title: str,
    units: Sequence[Unit],
    hours: int,
    indicator_codes: Sequence[str] = (),
    questions: Sequence[str] = (),
    instructions: str = "",
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> ReportRequest:
    """Send an ad-hoc request to ``units``, due ``hours`` from now, asking for ``indicator_codes`` (existing
    indicators) and ``questions`` (free text). Managers only (reporting:request:send). Retrying with the
    same ``idempotency_key`` returns the request already sent."""
    position = _sender_position(actor)
    if idempotency_key:
        existing = ReportRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    title = " ".join((title or "").split())[:255]
    questions = [" ".join(str(q).split())[:255] for q in questions if str(q).strip()]
    codes = list(dict.fromkeys(str(code).strip() for code in indicator_codes if str(code).strip()))
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the request a title.")]
    if not 1 <= int(hours) <= MAX_HOURS:
        errors["hours"] = [_("The deadline is between 1 and %(max)d hours.") % {"max": MAX_HOURS}]
    if not codes and not questions:
        errors["indicators"] = [_("Ask for at least one indicator or question.")]
    if len(questions) > MAX_QUESTIONS or len(codes) > MAX_INDICATORS:
        errors["questions"] = [_("Too many indicators or questions.")]
    units = list({unit.pk: unit for unit in units}.values())
    if not units or len(units) > MAX_UNITS:
        errors["units"] = [_("Choose between 1 and %(max)d units.") % {"max": MAX_UNITS}]
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=codes, is_active=True)}
    unknown = [code for code in codes if code not in indicators]
    if unknown:
        errors["indicators"] = [_("Unknown indicators: %(codes)s") % {"codes": ", ".join(unknown)}]
    if errors:
        raise InvalidInput(_("The request is not complete."), code="invalid_request", details=errors)
    now = now or timezone.now()
    calendar = working_calendar()
    local = now.astimezone(calendar.zone)
    deadline = local + dt.timedelta(hours=int(hours))
    try:
        with transaction.atomic():
            request = _create(
                actor=actor,
                position=position,
                title=title,
                instructions=(instructions or "").strip()[:2000],
                units=units,
                indicators=[indicators[code] for code in codes],
                questions=questions,
                local=local,
                deadline=deadline,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        if idempotency_key:  # the same request sent twice at once
            return ReportRequest.objects.get(idempotency_key=idempotency_key)
        raise
    return request


def _create(
    *,
    actor: Any,
    position: StaffPosition,
    title: str,
    instructions: str,
    units: list[Unit],
    indicators: list[Indicator],
    questions: list[str],
    local: dt.datetime,
    deadline: dt.datetime,
    idempotency_key: str | None,
) -> ReportRequest:
    today = local.date()
    code = _request_code(today)
    form = ReportForm.objects.create(
        code=code,
        name=title,
        owner_agency=position.agency,
        legal_basis=_("Ad-hoc request"),
        period_type=PeriodType.AD_HOC,
        cut_off_day=None,
        due_working_days=0,
        city_due_working_days=0,
        reporter_scope=ReporterScope.LISTED_UNITS,
    )
    version = FormVersion.objects.create(form=form, number=1, published_at=timezone.now(), note=title[:255])
    items = [
        FormItem(version=version, indicator=indicator, section=_("Figures"), position=index, is_required=True)
        for index, indicator in enumerate(indicators, start=1)
    ]
    for number, question in enumerate(questions, start=1):
        indicator = Indicator.objects.create(
            code=f"{code}-Q{number}",
            name=question,
            value_type=ValueType.TEXT,
            aggregation=Aggregation.NONE,
        )
        items.append(
            FormItem(
                version=version,
                indicator=indicator,
                section=_("Questions"),
                position=len(indicators) + number,
                is_required=True,
            )
        )
    FormItem.objects.bulk_create(items)
    Assignment.objects.bulk_create([Assignment(form=form, unit=unit, valid_from=today) for unit in units])
    period = period_build(form=form, code=f"{today:%Y%m%d}", start=today, end=today)
    period.due_at = deadline
    period.due_on = deadline.date()
    period.city_due_on = deadline.date()
    period.locks_on = deadline.date() + dt.timedelta(days=30)
    period.save()
    request = ReportRequest.objects.create(
        form=form,
        period=period,
        title=title,
        instructions=instructions,
        deadline=deadline,
        created_by=actor,
        idempotency_key=idempotency_key,
    )
    audit_record(
        actor=actor,
        action="reporting.request_send",
        obj=request,
        actor_role=position.role,
        details={
            "form": code,
            "units": sorted(unit.code for unit in units),
            "indicators": [indicator.code for indicator in indicators],
            "questions": len(questions),
            "deadline": deadline.isoformat(),
        },
    )
    reporters = _reporters_of(units, today)
    context = {
        "title": title,
        "instructions": instructions,
        "deadline": deadline.strftime("%H:%M %d/%m/%Y"),
    }
    key = f"reporting.request.{request.public_id}"

    def notify() -> None:
        for user in reporters:
            message_send(
                recipient=user,
                template="reporting.request",
                context=context,
                channels=[Channel.IN_APP, Channel.SMS],
                dedupe_key=f"{key}.{user.public_id}",
            )

    transaction.on_commit(notify)
    return request


def _reporters_of(units: list[Unit], day: dt.date) -> list[Any]:
    """The reporters of the units' own agencies (their leaders where a unit has no reporter)."""
    positions = (
        StaffPosition.objects.filter(
            agency__unit__in=units,
            agency__is_active=True,
            role__in=(StaffRole.REPORTER, StaffRole.LEADER),
            valid_from__lte=day,
            user__is_active=True,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .select_related("user", "agency")
    )
    by_unit: dict[int, dict[str, list[Any]]] = {}
    for position in positions:
        by_unit.setdefault(position.agency.unit_id, {}).setdefault(position.role, []).append(position.user)
    people: dict[int, Any] = {}
    for roles in by_unit.values():
        for user in roles.get(StaffRole.REPORTER) or roles.get(StaffRole.LEADER, []):
            people[user.pk] = user
    return list(people.values())
