"""Reminders (đôn đốc): chasing reporters whose report is not in, on the city's working days, and by hand.

A form's ``ReminderRule`` (or the defaults: 3 and 1 working days before the due date, on the due date, then
every working day while late) says on which working days its pending reporters are reminded; the unit's
leader is added after N working days late, the city's office (the owner agency's leaders and the city
managers) after M. ``reminders_due`` runs every 15 minutes and sends, from the opening of office hours of a
reminder day, ONE summary message per person listing all that person's pending reports. Each (period,
reporter, person, day) reaches the outbox once: it is logged in ``ReminderLog`` in the same transaction as
the message, and the message's dedupe key is built from the rule, periods, reporters, person and day.
A reporter whose report is submitted (or accepted, or locked) is no longer pending, so reminders stop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hanoismart.audit.services import audit_record
from hanoismart.common.calendar import WorkingCalendar
from hanoismart.common.errors import Conflict, PermissionDenied
from hanoismart.directory.models import Agency, Unit
from hanoismart.directory.selectors import working_calendar
from hanoismart.identity.models import StaffPosition, StaffRole
from hanoismart.notifications.services import message_send
from hanoismart.reporting.models import (
    Period,
    ReminderKind,
    ReminderLevel,
    ReminderLog,
    ReminderRule,
    ReportForm,
)
from hanoismart.reporting.permissions import ReportingPermission, has_permission, owner_position
from hanoismart.reporting.selectors import ReportState, completeness

# How far ahead of a due date a reminder can fall (−3 working days around Tết is more than two weeks).
LOOKAHEAD_DAYS = 31
_LEVEL_ORDER = {ReminderLevel.REPORTER: 0, ReminderLevel.LEADER: 1, ReminderLevel.CITY: 2}


def rule_for(form: ReportForm) -> ReminderRule:
    """The form's reminder rule, or an unsaved one with the defaults."""
    try:
        return form.reminder_rule
    except ReminderRule.DoesNotExist:
        return ReminderRule(form=form)


def working_day_offset(calendar: WorkingCalendar, day: dt.date, due_on: dt.date) -> int:
    """Working days from ``due_on`` to ``day``: 0 on the due date, −1 on the working day before it (whatever
    holidays lie between), +1 on the first working day after it."""
    if day == due_on:
        return 0
    low, high = sorted((day, due_on))
    count = 0
    current = low
    while current < high:
        current += dt.timedelta(days=1)
        if calendar.is_working_day(current):
            count += 1
    return count if day > due_on else -count


def reminder_offset(
    rule: ReminderRule, calendar: WorkingCalendar, period: Period, day: dt.date
) -> int | None:
    """The offset (working days from the due date) if ``day`` is a reminder day of ``period`` under
    ``rule``; None if it is not (a day off never is)."""
    if not rule.is_active or not calendar.is_working_day(day):
        return None
    offset = working_day_offset(calendar, day, period.due_on)
    if offset in (rule.offsets or []) or (offset > 0 and rule.repeat_while_late):
        return offset
    return None


def reminder_days(
    rule: ReminderRule, calendar: WorkingCalendar, period: Period, *, until: dt.date
) -> list[tuple[dt.date, int]]:
    """Every (day, offset) on which ``period`` reminds under ``rule``, from the earliest offset to ``until``
    (for the rule's page and the tests)."""
    earliest = min([0, *(rule.offsets or [])])
    day = period.due_on
    found = 0
    while found > earliest:  # walk back to the earliest reminder day
        day -= dt.timedelta(days=1)
        if calendar.is_working_day(day):
            found -= 1
    days: list[tuple[dt.date, int]] = []
    while day <= until:
        offset = reminder_offset(rule, calendar, period, day)
        if offset is not None:
            days.append((day, offset))
        day += dt.timedelta(days=1)
    return days


# -- who is reminded --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingReport:
    """A report that is not in: its form, period, reporter (unit, agency) and submission if started."""

    form: ReportForm
    period: Period
    unit: Unit
    agency: Agency | None
    submission_id: int | None
    offset: int

    @property
    def key(self) -> tuple[int, int, int | None]:
        return (self.period.pk, self.unit.pk, self.agency.pk if self.agency else None)

    @property
    def reporter_name(self) -> str:
        return str(self.agency or self.unit)


def _active_positions(day: dt.date) -> Any:
    return (
        StaffPosition.objects.filter(valid_from__lte=day, agency__is_active=True, user__is_active=True)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))
        .select_related("user", "agency__unit")
    )


def _recipients(
    items: list[PendingReport], rules: dict[int, ReminderRule], day: dt.date, *, escalate: bool
) -> dict[Any, list[tuple[PendingReport, str]]]:
    """person → [(pending report, level)]: the reporters of each reporter (its leaders when it has none),
    and, with ``escalate`` and when late enough, its leaders and then the city's office."""
    positions = list(
        _active_positions(day).filter(role__in=(StaffRole.REPORTER, StaffRole.LEADER, StaffRole.MANAGER))
    )
    by_agency: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    by_unit: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    city_managers: list[Any] = []
    for position in positions:
        by_agency[position.agency_id][position.role].append(position.user)
        by_unit[position.agency.unit_id][position.role].append(position.user)
        if position.role == StaffRole.MANAGER and position.agency.unit.parent_id is None:
            city_managers.append(position.user)
    found: dict[Any, dict[tuple, tuple[PendingReport, str]]] = defaultdict(dict)

    def add(people: Iterable[Any], item: PendingReport, level: str) -> None:
        for person in people:
            current = found[person].get(item.key)
            if current is None or _LEVEL_ORDER[level] > _LEVEL_ORDER[current[1]]:
                found[person][item.key] = (item, level)

    for item in items:
        staff = by_agency[item.agency.pk] if item.agency else by_unit[item.unit.pk]
        reporters = staff[StaffRole.REPORTER] or staff[StaffRole.LEADER]
        add(reporters, item, ReminderLevel.REPORTER)
        if not escalate or item.offset <= 0:
            continue
        rule = rules[item.form.pk]
        if item.offset >= rule.escalate_leader_after:
            add(staff[StaffRole.LEADER], item, ReminderLevel.LEADER)
        if item.offset >= rule.escalate_city_after:
            owner_leaders = by_agency[item.form.owner_agency_id][StaffRole.LEADER]
            add([*owner_leaders, *city_managers], item, ReminderLevel.CITY)
    return {person: list(entries.values()) for person, entries in found.items()}


def _pending(form: ReportForm, period: Period, offset: int, unit: Unit | None = None) -> list[PendingReport]:
    rows = completeness(form=form, period=period).rows
    return [
        PendingReport(
            form=form,
            period=period,
            unit=row.reporter.unit,
            agency=row.reporter.agency,
            submission_id=row.submission.pk if row.submission else None,
            offset=offset,
        )
        for row in rows
        if row.state == ReportState.MISSING and (unit is None or row.reporter.unit.pk == unit.pk)
    ]


# -- sending ----------------------------------------------------------------------------------------------


def _context(entries: list[tuple[PendingReport, str]]) -> dict[str, Any]:
    reports = [
        {
            "form": item.form.name,
            "period": item.period.code,
            "reporter": item.reporter_name,
            "due": item.period.due_on.strftime("%d/%m/%Y"),
            "days_late": max(item.offset, 0),
        }
        for item, _level in sorted(
            entries, key=lambda e: (e[0].period.due_on, e[0].form.code, e[0].unit.code)
        )
    ]
    levels = {level for _item, level in entries}
    return {
        "reports": reports,
        "count": len(reports),
        "late": sum(1 for report in reports if report["days_late"]),
        "is_escalation": bool(levels - {ReminderLevel.REPORTER}),
    }


def _send(
    *,
    person: Any,
    entries: list[tuple[PendingReport, str]],
    kind: str,
    day: dt.date,
    channels: list[str],
    rule_keys: dict[int, str],
    sent_by: Any | None,
) -> list[ReminderLog]:
    """One summary message to ``person`` (per channel) about ``entries`` not yet sent to them today, and its
    log rows. Runs inside the caller's transaction."""
    already = set(
        ReminderLog.objects.filter(kind=kind, recipient=person, day=day).values_list(
            "period_id", "unit_id", "agency_id"
        )
    )
    entries = [entry for entry in entries if entry[0].key not in already]
    if not entries:
        return []
    parts = sorted(f"{rule_keys[item.form.pk]}:{':'.join(map(str, item.key))}" for item, _level in entries)
    digest = hashlib.sha256(",".join(parts).encode()).hexdigest()[:20]
    dedupe_key = f"reporting.{kind}.{day.isoformat()}.{person.public_id}.{digest}"
    template = "reporting.reminder" if kind == ReminderKind.SCHEDULED else "reporting.chase"
    messages = message_send(
        recipient=person,
        template=template,
        context=_context(entries),
        channels=channels,
        dedupe_key=dedupe_key,
    )
    logs = [
        ReminderLog(
            form=item.form,
            period=item.period,
            unit=item.unit,
            agency=item.agency,
            submission_id=item.submission_id,
            recipient=person,
            level=level,
            kind=kind,
            day=day,
            channel=message.channel,
            message_id=message.pk,
            sent_by=sent_by,
        )
        for message in messages
        for item, level in entries
    ]
    ReminderLog.objects.bulk_create(logs, ignore_conflicts=True)
    return logs


def reminders_due(*, now: dt.datetime | None = None) -> int:
    """Send the reminders due at ``now`` (the platform runs this every 15 minutes; idempotent): on a reminder
    day, from the opening of office hours, one summary per person of their pending reports. Returns how many
    people were reminded now (0 when everything due today was already sent)."""
    now = now or timezone.now()
    calendar = working_calendar()
    local = now.astimezone(calendar.zone)
    today = local.date()
    if not calendar.is_working_day(today) or local.time() < calendar.office_hours[0][0]:
        return 0
    periods = (
        Period.objects.filter(
            form__is_active=True, locks_on__gte=today, due_on__lte=today + dt.timedelta(days=LOOKAHEAD_DAYS)
        )
        .select_related("form__owner_agency")
        .order_by("due_on", "pk")
    )
    rules: dict[int, ReminderRule] = {}
    items: list[PendingReport] = []
    for period in periods:
        rule = rules.setdefault(period.form_id, rule_for(period.form))
        offset = reminder_offset(rule, calendar, period, today)
        if offset is not None:
            items.extend(_pending(period.form, period, offset))
    if not items:
        return 0
    rule_keys = {form_id: str(rule.pk or "default") for form_id, rule in rules.items()}
    reminded = 0
    for person, entries in _recipients(items, rules, today, escalate=True).items():
        channels = sorted({channel for item, _level in entries for channel in rules[item.form.pk].channels})
        with transaction.atomic():
            if _send(
                person=person,
                entries=entries,
                kind=ReminderKind.SCHEDULED,
                day=today,
                channels=channels,
                rule_keys=rule_keys,
                sent_by=None,
            ):
                reminded += 1
    return reminded


@dataclass
class ChaseResult:
    """What a "chase now" did: the reporters chased, the people messaged, the reminders logged, and the
    reporters skipped because they were already chased today."""

    reporters: list[str] = field(default_factory=list)
    people: int = 0
    logs: int = 0
    already_chased: int = 0

    def summary(self) -> str:
        """What to tell the person who chased, in the active language."""
        if not self.people:
            return _("Everyone concerned was already reminded today.")
        return ngettext(
            "Reminded %(people)d person about %(reporters)s.",
            "Reminded %(people)d people about %(reporters)s.",
            self.people,
        ) % {"people": self.people, "reporters": ", ".join(self.reporters)}


def _chaser_role(actor: Any, form: ReportForm) -> str:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Only city managers and the form's owner agency can chase reports."))
    if actor.is_superuser:
        return "superuser"
    position = owner_position(actor, owner_agency_id=form.owner_agency_id)
    if position is not None:
        return position.role
    if has_permission(actor, ReportingPermission.REPORTING_REMINDER_SEND):
        return StaffRole.MANAGER
    raise PermissionDenied(_("Only city managers and the form's owner agency can chase reports."))


def reminder_chase(
    *, actor: Any, form: ReportForm, period: Period, unit: Unit | None = None, now: dt.datetime | None = None
) -> ChaseResult:
    """ "Chase now": remind at once the reporters (and leaders) of one unit, or of every unit whose report for
    ``period`` is not in. City managers and the owner agency only. At most once a day per reporter and person:
    a second chase the same day sends nothing more. Audited."""
    role = _chaser_role(actor, form)
    if period.form_id != form.pk:
        raise Conflict(_("This period belongs to another form."), code="wrong_period")
    now = now or timezone.now()
    calendar = working_calendar()
    today = now.astimezone(calendar.zone).date()
    offset = working_day_offset(calendar, today, period.due_on)
    items = _pending(form, period, max(offset, 0), unit=unit)
    if unit is not None and not items:
        raise Conflict(
            _("%(unit)s has nothing pending for this period.") % {"unit": unit}, code="nothing_to_chase"
        )
    result = ChaseResult(reporters=sorted({item.reporter_name for item in items}))
    rule = rule_for(form)
    with transaction.atomic():
        recipients = _recipients(items, {form.pk: rule}, today, escalate=False)
        for person, entries in recipients.items():
            chased = set(
                ReminderLog.objects.filter(kind=ReminderKind.CHASE, recipient=person, day=today).values_list(
                    "period_id", "unit_id", "agency_id"
                )
            )
            result.already_chased += sum(1 for item, _level in entries if item.key in chased)
            logs = _send(
                person=person,
                entries=entries,
                kind=ReminderKind.CHASE,
                day=today,
                channels=list(rule.channels),
                rule_keys={form.pk: f"chase-{rule.pk or 'default'}"},
                sent_by=actor,
            )
            if logs:
                result.people += 1
                result.logs += len(logs)
        audit_record(
            actor=actor,
            action="reporting.reminder_chase",
            obj=period,
            unit_code=unit.code if unit else "",
            actor_role=role,
            details={
                "form": form.code,
                "period": period.code,
                "reporters": result.reporters,
                "people": result.people,
                "logs": result.logs,
            },
        )
    return result
