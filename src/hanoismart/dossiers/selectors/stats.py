"""Dossier statistics for the IOC and the agencies: what was received, carried over, finished early, on time
or late, what is overdue, how much came online, how much of the paperwork was digitised or reused, what the
applicants thought, what was paid, and the Decision 766/QĐ-TTg index built from those figures.

Every figure is a count or a sum over dossier rows (or their papers and ratings), computed by the database in
one grouped query per table (``Count(filter=Q(...))``), so it can be recomputed from the rows behind it
(docs/statistics.md gives each definition). A period is ``[date_from, date_to)`` in local time.

Scope: a city-level position with ``dossiers:stats:view`` (the city office, a department's manager) sees the
whole city; a ward's leader sees the dossiers of their ward's agencies; anyone else is refused.

The Decision 766/QĐ-TTg index (Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người dân, doanh
nghiệp), out of 100 points in its five groups, measured from the dossier rows:

- disclosure and publicity (18): 18 × share of received dossiers whose progress reached the national portal
  (at least one portal message delivered and none pending or failed);
- timeliness (20): 20 × (early + on time) / (finished with a timeliness + open and overdue at the period's
  end);
- digitisation (22): 14 × digitisation rate + 8 × reuse rate of the received dossiers' papers;
- online provision (22): 6 × online rate + 6 × fully-online rate + 10 × share of the dossiers paid by their
  applicant whose payment went through the online gateway;
- satisfaction (18): 9 × share of ratings "satisfied" or "very satisfied" + 9 × average score / 18.

A criterion with nothing to measure (no dossier received, no rating, nothing paid) is left out and the
criteria that remain are scaled to 100, so a ward with no fees is neither rewarded nor punished for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hanoismart.common.errors import InvalidInput, PermissionDenied
from hanoismart.directory.models import Agency, Unit
from hanoismart.dossiers.models import (
    OPEN_STATUSES,
    ComponentSource,
    Dossier,
    DossierComponent,
    Payment,
    PaymentState,
    PaymentStatus,
    PortalSyncMessage,
    Rating,
    Satisfaction,
    SyncState,
    Timeliness,
)
from hanoismart.dossiers.permissions import DossierPermission, positions_with
from hanoismart.identity.selectors.staff import is_city_level
from hanoismart.procedures.models import Field, Procedure

#: What statistics may be grouped by: the dossier's (code, label) columns.
GROUPS: dict[str, tuple[str, str]] = {
    "agency": ("agency__code", "agency__name"),
    "field": ("procedure__field__code", "procedure__field__name"),
    "procedure": ("procedure__national_code", "procedure__name"),
    "unit": ("unit__code", "unit__name"),
}
DIGITISED_SOURCES = (ComponentSource.DIGITISED, ComponentSource.REUSED, ComponentSource.REUSED_RESULT)
REUSED_SOURCES = (ComponentSource.REUSED, ComponentSource.REUSED_RESULT)
SATISFIED = (Satisfaction.SATISFIED, Satisfaction.VERY_SATISFIED)

#: Decision 766's five groups: (code, name, maximum points).
INDEX_GROUPS = (
    ("disclosure", gettext_lazy("Disclosure and publicity"), 18),
    ("timeliness", gettext_lazy("Timeliness"), 20),
    ("digitisation", gettext_lazy("Digitisation"), 22),
    ("online", gettext_lazy("Online provision"), 22),
    ("satisfaction", gettext_lazy("Satisfaction"), 18),
)

#: The counts of one row, in the order the API lists them.
FIGURES = (
    "received",
    "carried_over",
    "in_progress",
    "finished",
    "finished_early",
    "finished_on_time",
    "finished_late",
    "overdue",
    "online",
    "fully_online",
    "synced",
    "components",
    "components_digitised",
    "components_reused",
    "ratings",
    "ratings_satisfied",
    "ratings_very_satisfied",
    "rating_score_sum",
    "fees_due",
    "fees_paid",
    "fees_paid_online",
    "fees_waived",
    "fees_city_paid",
    "fee_total",
    "fee_applicant",
    "fee_city",
)


@dataclass
class IndexGroup:
    """One of Decision 766's groups: points earned of those measurable (``None``: nothing to measure)."""

    code: str
    name: str
    max_points: int
    points: float | None


@dataclass
class StatsRow:
    """The figures of one group (or of everything, ``key == ""``), their rates and the 766 index."""

    key: str
    label: str
    figures: dict[str, int]
    rates: dict[str, float | None]
    index: list[IndexGroup]
    score: float | None


@dataclass
class StatsReport:
    """Statistics of a period: the total and, when grouped, one row per group (by key)."""

    date_from: dt.date
    date_to: dt.date
    group_by: str
    total: StatsRow
    groups: list[StatsRow] = field(default_factory=list)


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def stats_scope(*, actor: Any) -> set[int] | None:
    """The unit ids whose dossiers ``actor`` may count, ``None`` for the whole city; raises
    ``PermissionDenied`` without ``dossiers:stats:view``."""
    if actor is not None and actor.is_authenticated and actor.is_active and actor.is_superuser:
        return None
    positions = positions_with(actor, DossierPermission.DOSSIER_STATS_VIEW)
    if not positions:
        raise PermissionDenied(_("You may not see dossier statistics."))
    if any(is_city_level(position) for position in positions):
        return None
    return {position.agency.unit_id for position in positions}


def _filters(
    *, scope: set[int] | None, unit: str, agency: str, field_code: str, procedure: str
) -> dict[str, Any]:
    """The dossier filters (unprefixed lookups) for the scope and the codes asked for; checks the codes."""
    lookups: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if scope is not None:
        lookups["unit_id__in"] = sorted(scope)
    if unit:
        unit_id = Unit.objects.filter(code=unit).values_list("pk", flat=True).first()
        if unit_id is None:
            errors["unit"] = [_("No unit with code %(code)s.") % {"code": unit}]
        elif scope is not None and unit_id not in scope:
            raise PermissionDenied(_("You may not see the statistics of this unit."))
        lookups["unit_id"] = unit_id
    if agency:
        found = Agency.objects.filter(code=agency).values_list("pk", "unit_id").first()
        if found is None:
            errors["agency"] = [_("No agency with code %(code)s.") % {"code": agency}]
        else:
            if scope is not None and found[1] not in scope:
                raise PermissionDenied(_("You may not see the statistics of this agency."))
            lookups["agency_id"] = found[0]
    if field_code:
        field_id = Field.objects.filter(code=field_code).values_list("pk", flat=True).first()
        if field_id is None:
            errors["field"] = [_("No field with code %(code)s.") % {"code": field_code}]
        lookups["procedure__field_id"] = field_id
    if procedure:
        procedure_id = Procedure.objects.filter(national_code=procedure).values_list("pk", flat=True).first()
        if procedure_id is None:
            errors["procedure"] = [_("No procedure with code %(code)s.") % {"code": procedure}]
        lookups["procedure_id"] = procedure_id
    if errors:
        raise InvalidInput(_("Some filters are not valid."), details=errors)
    return lookups


def _prefixed(lookups: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}{key}": value for key, value in lookups.items()}


def _open_at(moment: dt.datetime) -> Q:
    """Received before ``moment`` and not yet finished then (a dossier still open has no finished_at)."""
    return Q(received_at__lt=moment) & (
        Q(finished_at__gte=moment) | Q(finished_at__isnull=True, status__in=list(OPEN_STATUSES))
    )


def _grouped(queryset, keys: tuple[str, ...], annotations: dict[str, Any]) -> dict[tuple, dict[str, Any]]:
    """``annotations`` per group of ``keys`` (one query); without keys, one aggregate of everything."""
    if not keys:
        return {(): queryset.aggregate(**annotations)}
    rows = queryset.order_by().values(*keys).annotate(**annotations)
    return {tuple(row[key] for key in keys): row for row in rows}


def _dossier_figures(
    lookups: dict[str, Any], keys: tuple[str, ...], start: dt.datetime, end: dt.datetime
) -> dict[tuple, dict[str, int]]:
    received = Q(received_at__gte=start, received_at__lt=end)
    finished = Q(finished_at__gte=start, finished_at__lt=end)
    open_at_end = _open_at(end)
    paused_at_end = Q(paused_since__isnull=False, paused_since__lte=end)
    delivered = PortalSyncMessage.objects.filter(dossier=OuterRef("pk"), state=SyncState.DELIVERED)
    undelivered = PortalSyncMessage.objects.filter(dossier=OuterRef("pk")).exclude(state=SyncState.DELIVERED)
    paid_online = Payment.objects.filter(dossier=OuterRef("pk"), state=PaymentState.PAID)
    relevant = Q(received_at__lt=end) & (
        Q(received_at__gte=start) | Q(finished_at__gte=start) | Q(finished_at__isnull=True)
    )
    return _grouped(
        Dossier.objects.filter(relevant, **lookups),
        keys,
        {
            "received": Count("pk", filter=received),
            "carried_over": Count("pk", filter=Q(received_at__lt=start) & _open_at(start)),
            "in_progress": Count("pk", filter=open_at_end),
            "finished": Count("pk", filter=finished),
            "finished_early": Count("pk", filter=finished & Q(timeliness=Timeliness.EARLY)),
            "finished_on_time": Count("pk", filter=finished & Q(timeliness=Timeliness.ON_TIME)),
            "finished_late": Count("pk", filter=finished & Q(timeliness=Timeliness.LATE)),
            "overdue": Count("pk", filter=open_at_end & Q(due_at__lt=end) & ~paused_at_end),
            "online": Count("pk", filter=received & Q(channel="online")),
            "fully_online": Count("pk", filter=received & Q(is_fully_online=True)),
            "synced": Count("pk", filter=received & Q(Exists(delivered)) & ~Q(Exists(undelivered))),
            "fees_due": Count("pk", filter=received & Q(payment_status=PaymentStatus.DUE)),
            "fees_paid": Count("pk", filter=received & Q(payment_status=PaymentStatus.PAID)),
            "fees_paid_online": Count(
                "pk", filter=received & Q(payment_status=PaymentStatus.PAID) & Q(Exists(paid_online))
            ),
            "fees_waived": Count("pk", filter=received & Q(payment_status=PaymentStatus.WAIVED)),
            "fees_city_paid": Count("pk", filter=received & Q(payment_status=PaymentStatus.CITY_PAID)),
            "fee_total": Sum("fee_total", filter=received, default=0),
            "fee_applicant": Sum("fee_applicant", filter=received, default=0),
            "fee_city": Sum("fee_city", filter=received, default=0),
        },
    )


def _component_figures(
    lookups: dict[str, Any], keys: tuple[str, ...], start: dt.datetime, end: dt.datetime
) -> dict[tuple, dict[str, int]]:
    return _grouped(
        DossierComponent.objects.filter(
            dossier__received_at__gte=start, dossier__received_at__lt=end, **_prefixed(lookups, "dossier__")
        ),
        tuple(f"dossier__{key}" for key in keys),
        {
            "components": Count("pk"),
            "components_digitised": Count("pk", filter=Q(source__in=DIGITISED_SOURCES)),
            "components_reused": Count("pk", filter=Q(source__in=REUSED_SOURCES)),
        },
    )


def _rating_figures(
    lookups: dict[str, Any], keys: tuple[str, ...], start: dt.datetime, end: dt.datetime
) -> dict[tuple, dict[str, int]]:
    return _grouped(
        Rating.objects.filter(created_at__gte=start, created_at__lt=end, **_prefixed(lookups, "dossier__")),
        tuple(f"dossier__{key}" for key in keys),
        {
            "ratings": Count("pk"),
            "ratings_satisfied": Count("pk", filter=Q(overall__in=SATISFIED)),
            "ratings_very_satisfied": Count("pk", filter=Q(overall=Satisfaction.VERY_SATISFIED)),
            "rating_score_sum": Sum("total", default=0),
        },
    )


def rates(figures: dict[str, int]) -> dict[str, float | None]:
    """The rates (percent, one decimal; ``None`` when there is nothing to divide by) of a row's figures; the
    flow figures of ``ROLLUP_FIGURES`` are enough."""
    f = figures
    timed = f["finished_early"] + f["finished_on_time"] + f["finished_late"]
    return {
        "online_rate": _percent(f["online"], f["received"]),
        "fully_online_rate": _percent(f["fully_online"], f["received"]),
        "on_time_rate": _percent(f["finished_early"] + f["finished_on_time"], timed),
        "digitisation_rate": _percent(f["components_digitised"], f["components"]),
        "reuse_rate": _percent(f["components_reused"], f["components"]),
        "satisfaction_rate": _percent(f["ratings_satisfied"], f["ratings"]),
        "rating_score_average": None if f["ratings"] == 0 else round(f["rating_score_sum"] / f["ratings"], 2),
        "synced_rate": _percent(f["synced"], f["received"]),
    }


def index_766(figures: dict[str, int]) -> tuple[list[IndexGroup], float | None]:
    """Decision 766's five groups and the score out of 100 (the module's docstring gives the formula)."""
    f = figures
    timed = f["finished_early"] + f["finished_on_time"] + f["finished_late"]
    applicant_paid = f["fees_paid"]
    # (group, weight, ratio or None when there is nothing to measure)
    criteria: list[tuple[str, float, float | None]] = [
        ("disclosure", 18, _ratio(f["synced"], f["received"])),
        ("timeliness", 20, _ratio(f["finished_early"] + f["finished_on_time"], timed + f["overdue"])),
        ("digitisation", 14, _ratio(f["components_digitised"], f["components"])),
        ("digitisation", 8, _ratio(f["components_reused"], f["components"])),
        ("online", 6, _ratio(f["online"], f["received"])),
        ("online", 6, _ratio(f["fully_online"], f["received"])),
        ("online", 10, _ratio(f["fees_paid_online"], applicant_paid)),
        ("satisfaction", 9, _ratio(f["ratings_satisfied"], f["ratings"])),
        (
            "satisfaction",
            9,
            None if f["ratings"] == 0 else f["rating_score_sum"] / (18 * f["ratings"]),
        ),
    ]
    groups = []
    earned_total = measured_total = 0.0
    for code, name, max_points in INDEX_GROUPS:
        measured = [
            (weight, ratio) for group, weight, ratio in criteria if group == code and ratio is not None
        ]
        if not measured:
            groups.append(IndexGroup(code=code, name=str(name), max_points=max_points, points=None))
            continue
        earned = sum(weight * ratio for weight, ratio in measured)
        available = sum(weight for weight, _ratio_ in measured)
        earned_total += earned
        measured_total += available
        groups.append(
            IndexGroup(
                code=code,
                name=str(name),
                max_points=max_points,
                points=round(earned * max_points / available, 2),
            )
        )
    score = None if measured_total == 0 else round(100 * earned_total / measured_total, 2)
    return groups, score


def _row(key: str, label: str, figures: dict[str, int]) -> StatsRow:
    index, score = index_766(figures)
    return StatsRow(key=key, label=label, figures=figures, rates=rates(figures), index=index, score=score)


def dossier_stats(
    *,
    actor: Any,
    date_from: dt.date,
    date_to: dt.date,
    unit: str = "",
    agency: str = "",
    field: str = "",
    procedure: str = "",
    group_by: str = "",
) -> StatsReport:
    """The statistics of ``[date_from, date_to)`` that ``actor`` may see, filtered by the codes of a unit,
    an agency, a field and a procedure, and grouped by ``group_by`` (one of ``GROUPS``, or "" for the
    total only). Raises ``InvalidInput`` for an empty period, an unknown grouping or code, and
    ``PermissionDenied`` without ``dossiers:stats:view`` or for a unit outside the actor's scope."""
    if group_by and group_by not in GROUPS:
        raise InvalidInput(
            _("Statistics can be grouped by %(choices)s.") % {"choices": ", ".join(sorted(GROUPS))},
            details={"group_by": [_("Unknown grouping.")]},
        )
    if date_from >= date_to:
        raise InvalidInput(
            _("The period must end after it starts."), details={"to": [_("Must be after the start.")]}
        )
    scope = stats_scope(actor=actor)
    lookups = _filters(scope=scope, unit=unit, agency=agency, field_code=field, procedure=procedure)
    start, end = _moment(date_from), _moment(date_to)
    keys = GROUPS[group_by] if group_by else ()
    parts = [
        _dossier_figures(lookups, keys, start, end),
        _component_figures(lookups, keys, start, end),
        _rating_figures(lookups, keys, start, end),
    ]
    group_keys = sorted({key for part in parts for key in part}, key=lambda key: tuple(str(k) for k in key))
    total = dict.fromkeys(FIGURES, 0)
    groups = []
    for group_key in group_keys:
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part.get(group_key, {}))
        figures = {name: int(merged.get(name) or 0) for name in FIGURES}
        for name in FIGURES:
            total[name] += figures[name]
        if group_by:
            code, label = group_key
            groups.append(_row(str(code or ""), str(label or ""), figures))
    return StatsReport(
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        total=_row("", _("All"), total),
        groups=groups,
    )
