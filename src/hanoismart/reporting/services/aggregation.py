"""Rolling values up the unit hierarchy as reports arrive, and rebuilding everything from the raw values.

A unit's aggregate of an indicator in a period combines the values reported *at* that unit (its own report,
or its agencies' reports) with the aggregates of the units directly below it. Counted reports are those
submitted, accepted or locked (``COUNTED_STATUSES``): figures move as reports arrive, not when someone clicks
"accept"; a report that is returned or reopened leaves the figures until it is submitted again.

The rules (``Aggregation``): sum; average (of every reporting unit's value, not an average of averages);
weighted average (each value weighed by the same report's value of the weight indicator — for the same
disaggregation, else its total — a value without a positive weight is left out); min; max; latest (the value
of the most recently submitted report in the subtree); none (not rolled up). Text values never roll up.
An average keeps the exact sum of value × weight behind it (``Aggregate.weighted_sum``): a parent's
average is that sum over its children divided by their weight, exact in decimals, never an average of
rounded averages.

``aggregates_report_moved`` (a report starts or stops counting) moves only the (indicator, period, unit,
disaggregation) rows on the path from the report's unit to the top, by what the report brings;
``aggregates_refresh`` recomputes one unit's rows from its values and children and moves the units above;
``aggregates_rebuild`` recomputes a whole period from the raw values and reports (and, unless
``check_only``, repairs) every difference.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import NamedTuple

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from hanoismart.directory.models import Unit
from hanoismart.reporting.models import (
    COUNTED_STATUSES,
    Aggregate,
    Aggregation,
    DataValue,
    FormItem,
    Indicator,
    Period,
    Submission,
    ValueType,
)
from hanoismart.reporting.services.bulk import rows_delete, rows_insert, rows_update

QUANTUM = Decimal("0.000001")
# Weighted sums multiply two numbers of up to 20 digits: the default context (28 significant digits) could
# round them; every roll-up computes in this one.
EXACT = Context(prec=80)
Key = tuple[int, str]  # (indicator id, disaggregation)
AVERAGE_RULES = (Aggregation.AVERAGE, Aggregation.WEIGHTED_AVERAGE)
EXTREME_RULES = (Aggregation.LATEST, Aggregation.MIN, Aggregation.MAX)
EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


class Rule(NamedTuple):
    """How one indicator rolls up: its aggregation and, for a weighted average, the weight indicator."""

    aggregation: str
    weight_indicator_id: int | None


@dataclass(frozen=True)
class Contribution:
    """What one report (or one child unit's aggregate) brings to a combination; ``total`` is, for an
    average, the exact sum of value × weight behind it (None: a single report's, value × weight)."""

    value: Decimal
    count: int
    weight: Decimal
    at: dt.datetime | None
    total: Decimal | None = None


@dataclass(frozen=True)
class Mismatch:
    """A stored aggregate that differs from the one recomputed from the raw values (None: absent)."""

    period_id: int
    unit_id: int
    indicator_id: int
    disaggregation: str
    stored: Decimal | None
    expected: Decimal | None


def _weighted(item: Contribution) -> Decimal:
    return item.total if item.total is not None else item.value * item.weight


def combine(aggregation: str, contributions: list[Contribution]) -> Contribution | None:
    """Combine contributions under ``aggregation``; None when nothing can be combined."""
    if aggregation == Aggregation.WEIGHTED_AVERAGE:
        contributions = [item for item in contributions if item.weight > 0]
    if not contributions or aggregation == Aggregation.NONE:
        return None
    with localcontext(EXACT):
        count = sum(item.count for item in contributions)
        weight = sum((item.weight for item in contributions), Decimal(0))
        latest = max((item.at for item in contributions if item.at is not None), default=None)
        total = None
        if aggregation == Aggregation.SUM:
            value = sum((item.value for item in contributions), Decimal(0))
        elif aggregation in AVERAGE_RULES:
            if weight <= 0:
                return None
            total = sum((_weighted(item) for item in contributions), Decimal(0))
            value = total / weight
        elif aggregation == Aggregation.MIN:
            value = min(item.value for item in contributions)
        elif aggregation == Aggregation.MAX:
            value = max(item.value for item in contributions)
        elif aggregation == Aggregation.LATEST:
            value = max(contributions, key=lambda item: (item.at or EPOCH, item.value)).value
        else:  # pragma: no cover - choices are closed
            raise ValueError(f"Unknown aggregation {aggregation!r}.")
        return Contribution(
            value=value.quantize(QUANTUM, ROUND_HALF_UP), count=count, weight=weight, at=latest, total=total
        )


def indicator_rules(*, period: Period, indicator_ids: Iterable[int] | None = None) -> dict[int, Rule]:
    """How each indicator that rolls up (numeric, aggregation other than none) does, among
    ``indicator_ids`` or, when None, among the indicators of every version of the period's form."""
    found = Indicator.objects.exclude(aggregation=Aggregation.NONE).exclude(value_type=ValueType.TEXT)
    if indicator_ids is None:
        # a subquery, not a list of 300 ids to bind
        found = found.filter(
            pk__in=FormItem.objects.filter(version__form_id=period.form_id).values("indicator_id")
        )
    else:
        found = found.filter(pk__in=set(indicator_ids))
    return {
        pk: Rule(aggregation, weight_id)
        for pk, aggregation, weight_id in found.values_list("pk", "aggregation", "weight_indicator_id")
    }


def _raw_rows(period: Period, rules: dict[int, Rule], unit_id: int | None):
    rows = DataValue.objects.filter(
        submission__period=period, submission__status__in=COUNTED_STATUSES, number__isnull=False
    )
    if unit_id is not None:
        # One unit's reports: a few hundred rows; ``_leaf_contributions`` leaves out the other indicators.
        rows = rows.filter(submission__unit_id=unit_id)
    else:
        weights = {rule.weight_indicator_id for rule in rules.values() if rule.weight_indicator_id}
        rows = rows.filter(indicator_id__in=set(rules) | weights)
    return rows.values_list(
        "submission_id",
        "submission__unit_id",
        "submission__submitted_at",
        "indicator_id",
        "disaggregation",
        "number",
    )


def _leaf_contributions(rows, rules: dict[int, Rule]) -> dict[int, dict[Key, list[Contribution]]]:
    """unit id → (indicator, disaggregation) → one contribution per report, from raw value rows."""
    by_submission: dict[int, dict[Key, Decimal]] = defaultdict(dict)
    meta: dict[int, tuple[int, dt.datetime | None]] = {}
    for submission_id, unit_id, submitted_at, indicator_id, disaggregation, number in rows:
        by_submission[submission_id][(indicator_id, disaggregation)] = number
        meta[submission_id] = (unit_id, submitted_at)
    leaves: dict[int, dict[Key, list[Contribution]]] = defaultdict(lambda: defaultdict(list))
    for submission_id, values in by_submission.items():
        unit_id, submitted_at = meta[submission_id]
        for key, contribution in _report_leaves(values, submitted_at, rules):
            leaves[unit_id][key].append(contribution)
    return leaves


def _report_leaves(values: dict[Key, Decimal], submitted_at: dt.datetime | None, rules: dict[int, Rule]):
    """(key, contribution) for each value of one report that rolls up (``values``: all its numbers)."""
    one = Decimal(1)
    for (indicator_id, disaggregation), number in values.items():
        rule = rules.get(indicator_id)
        if rule is None:
            continue  # another form's indicator, or only here as another indicator's weight
        weight = one
        if rule.aggregation == Aggregation.WEIGHTED_AVERAGE:
            weight_id = rule.weight_indicator_id
            found = values.get((weight_id, disaggregation), values.get((weight_id, "")))  # type: ignore[arg-type]
            weight = found if found is not None else Decimal(0)
        leaf = Contribution(value=number, count=1, weight=weight, at=submitted_at)
        yield (indicator_id, disaggregation), leaf


def _report_brings(submission: Submission, rules: dict[int, Rule]) -> dict[Key, Contribution]:
    """What one report alone brings to its unit's aggregates: each of its values combined on its own."""
    values = {
        (indicator_id, disaggregation): number
        for indicator_id, disaggregation, number in DataValue.objects.filter(
            submission=submission, number__isnull=False
        ).values_list("indicator_id", "disaggregation", "number")
    }
    brings: dict[Key, Contribution] = {}
    for key, leaf in _report_leaves(values, submission.submitted_at, rules):
        result = combine(rules[key[0]].aggregation, [leaf])
        if result is not None:  # a weighted value without a positive weight brings nothing
            brings[key] = result
    return brings


STORED_FIELDS = (
    "pk",
    "indicator_id",
    "disaggregation",
    "value",
    "count",
    "weight",
    "weighted_sum",
    "latest_at",
)
Stored = dict[Key, tuple[int, Contribution]]  # (indicator, disaggregation) → (row id, what it holds)


def _stored(rows: Iterable[tuple]) -> Stored:
    return {
        (indicator_id, disaggregation): (pk, Contribution(value, count, weight, at, total))
        for pk, indicator_id, disaggregation, value, count, weight, total, at in rows
    }


def _stored_of(period: Period, unit_id: int, rules: dict[int, Rule]) -> Stored:
    """The stored aggregates of one unit for ``rules``' indicators, as plain values (no model instances)."""
    rows = Aggregate.objects.filter(period=period, unit_id=unit_id).values_list(*STORED_FIELDS)
    return _stored(row for row in rows if row[1] in rules)


WRITTEN_FIELDS = ("value", "count", "weight", "weighted_sum", "latest_at", "updated_at")
INSERTED_FIELDS = ("indicator_id", "period_id", "unit_id", "disaggregation", *WRITTEN_FIELDS)


def _save(period_id: int, unit_id: int, computed: dict[Key, Contribution], stored: Stored) -> None:
    """Make the stored aggregates of one unit equal ``computed``: insert, update and delete as needed, one
    statement each (``bulk``: plain tuples, not model instances)."""
    now = timezone.now()
    changed: list[tuple] = []
    created: list[tuple] = []
    for key, result in computed.items():
        found = stored.get(key)
        if found is None:
            created.append((key[0], period_id, unit_id, key[1], *_columns(result), now))
        elif found[1] != result:
            changed.append((found[0], *_columns(result), now))
    rows_delete(Aggregate, [pk for key, (pk, _item) in stored.items() if key not in computed])
    rows_update(Aggregate, WRITTEN_FIELDS, changed)
    rows_insert(Aggregate, INSERTED_FIELDS, created)


def _columns(result: Contribution) -> tuple:
    """``result`` in the order of ``WRITTEN_FIELDS`` (without ``updated_at``)."""
    return (result.value, result.count, result.weight, result.total, result.at)


# Up to this many indicators, a unit's children are read for those only (a short list of ids to bind);
# beyond it, for every indicator, and the others are left out here.
FEW_INDICATORS = 40


def _recomputed(period: Period, unit_id: int, rules: dict[int, Rule]) -> dict[Key, Contribution]:
    """The aggregates of ``unit_id`` for ``rules``' indicators, from the values reported at it and the
    aggregates of the units directly below it."""
    if not rules:
        return {}
    own = _leaf_contributions(_raw_rows(period, rules, unit_id), rules).get(unit_id, {})
    gathered: dict[Key, list[Contribution]] = defaultdict(list)
    for key, items in own.items():
        gathered[key].extend(items)
    moments: dict[Key, dt.datetime | None] = {}
    if Unit.objects.filter(parent_id=unit_id).exists():
        children = Aggregate.objects.filter(period=period, unit__parent_id=unit_id)
        if len(rules) <= FEW_INDICATORS:
            children = children.filter(indicator_id__in=list(rules))
        # Plain tuples: a city has 126 wards × 300 indicators of them, too many to build as models. Only a
        # "latest" rule needs each child's moment; for the others the latest moment is one MAX per
        # indicator (reading thousands of timestamps costs more than the query).
        latest = children.filter(indicator__aggregation=Aggregation.LATEST)
        others = children.exclude(indicator__aggregation=Aggregation.LATEST)
        if any(rule.aggregation == Aggregation.LATEST for rule in rules.values()):
            for indicator_id, disaggregation, value, count, weight, latest_at in latest.values_list(
                "indicator_id", "disaggregation", "value", "count", "weight", "latest_at"
            ):
                if indicator_id in rules:
                    gathered[(indicator_id, disaggregation)].append(
                        Contribution(value=value, count=count, weight=weight, at=latest_at)
                    )
        if any(rule.aggregation != Aggregation.LATEST for rule in rules.values()):
            for indicator_id, disaggregation, value, count, weight, total in others.values_list(
                "indicator_id", "disaggregation", "value", "count", "weight", "weighted_sum"
            ):
                if indicator_id in rules:
                    gathered[(indicator_id, disaggregation)].append(
                        Contribution(value=value, count=count, weight=weight, at=None, total=total)
                    )
            moments = {
                (indicator_id, disaggregation): moment
                for indicator_id, disaggregation, moment in others.values("indicator_id", "disaggregation")
                .annotate(moment=Max("latest_at"))
                .values_list("indicator_id", "disaggregation", "moment")
                if indicator_id in rules
            }
    computed = _combined(gathered, rules)
    for key, moment in moments.items():
        result = computed.get(key)
        if result is not None and moment is not None and (result.at is None or moment > result.at):
            computed[key] = replace(result, at=moment)
    return computed


def _sums_moved(
    stored: dict[Key, Contribution],
    before: dict[Key, Contribution],
    after: dict[Key, Contribution],
    sum_ids: set[int],
) -> dict[Key, Contribution]:
    """A unit's "sum" aggregates after what one child (or one report) brings moved from ``before`` to
    ``after``: the stored sum, minus what it brought, plus what it brings now (exact in decimals; counts and
    weights alike). ``latest_at`` keeps the latest moment seen (informative for a sum)."""
    zero = Contribution(value=Decimal(0), count=0, weight=Decimal(0), at=None)
    result = {key: item for key, item in stored.items() if key[0] in sum_ids}
    for key in {key for key in (*before, *after) if key[0] in sum_ids}:
        old, new, base = before.get(key, zero), after.get(key, zero), stored.get(key, zero)
        count = base.count - old.count + new.count
        if count <= 0:
            result.pop(key, None)
            continue
        moments = [moment for moment in (base.at, new.at) if moment is not None]
        result[key] = Contribution(
            value=(base.value - old.value + new.value).quantize(QUANTUM, ROUND_HALF_UP),
            count=count,
            weight=base.weight - old.weight + new.weight,
            at=max(moments) if moments else None,
        )
    return result


def _averages_moved(
    stored: dict[Key, Contribution],
    before: dict[Key, Contribution],
    after: dict[Key, Contribution],
    average_ids: set[int],
) -> tuple[dict[Key, Contribution], set[int]]:
    """A unit's averages after what one child (or one report) brings moved from ``before`` to ``after``,
    like sums: the exact weighted sum and the weight move by the difference, and the value is their quotient
    (rounded once). An indicator whose rows lack their weighted sum (stored before it was kept) is returned
    to be recomputed from every child. ``latest_at`` keeps the latest moment seen, as for a sum."""
    zero = Contribution(value=Decimal(0), count=0, weight=Decimal(0), at=None, total=Decimal(0))
    result = {key: item for key, item in stored.items() if key[0] in average_ids}
    recompute: set[int] = set()
    with localcontext(EXACT):
        for key in {key for key in (*before, *after) if key[0] in average_ids}:
            old, new, base = before.get(key), after.get(key), stored.get(key)
            if (base is None and old is not None) or any(
                item is not None and item.total is None for item in (old, new, base)
            ):
                recompute.add(key[0])
                continue
            old, new, base = old or zero, new or zero, base or zero
            count = base.count - old.count + new.count
            weight = base.weight - old.weight + new.weight
            total = base.total - old.total + new.total  # type: ignore[operator]
            if count <= 0 or weight <= 0:
                result.pop(key, None)
                continue
            moments = [moment for moment in (base.at, new.at) if moment is not None]
            result[key] = Contribution(
                value=(total / weight).quantize(QUANTUM, ROUND_HALF_UP),
                count=count,
                weight=weight,
                at=max(moments) if moments else None,
                total=total,
            )
    return result, recompute


def _rank(aggregation: str, item: Contribution) -> tuple:
    """The order in which ``combine`` picks the winning contribution of a min, max or latest rule."""
    if aggregation == Aggregation.LATEST:
        return (item.at or EPOCH, item.value)
    return (item.value,) if aggregation == Aggregation.MAX else (-item.value,)


def _extremes_moved(
    stored: dict[Key, Contribution],
    before: dict[Key, Contribution],
    after: dict[Key, Contribution],
    rules: dict[int, str],
) -> tuple[dict[Key, Contribution], set[int]]:
    """A unit's min, max and "latest" aggregates after what one child (or one report) brings moved from
    ``before`` to ``after``, without re-reading the others: the new value wins if it ranks at least as high
    as the stored one; the stored one stays if the old value was not it. Otherwise (the old value was the
    winning one and is given up) the indicator is returned to be recomputed from every child."""
    result = {key: item for key, item in stored.items() if key[0] in rules}
    recompute: set[int] = set()
    for key in {key for key in (*before, *after) if key[0] in rules}:
        aggregation = rules[key[0]]
        old, new, base = before.get(key), after.get(key), stored.get(key)
        if base is None:
            if old is not None:
                recompute.add(key[0])
            elif new is not None:
                result[key] = new
            continue
        count = base.count - (old.count if old else 0) + (new.count if new else 0)
        if count <= 0:
            result.pop(key, None)
            continue
        if new is not None and _rank(aggregation, new) >= _rank(aggregation, base):
            value = new.value
        elif old is None or _rank(aggregation, old) < _rank(aggregation, base):
            value = base.value
        else:
            recompute.add(key[0])
            continue
        if new is not None and (new.at or EPOCH) >= (base.at or EPOCH):
            at = new.at
        elif old is None or (old.at or EPOCH) < (base.at or EPOCH):
            at = base.at
        else:
            recompute.add(key[0])
            continue
        weight = base.weight - (old.weight if old else 0) + (new.weight if new else 0)
        result[key] = Contribution(value=value, count=count, weight=weight, at=at)
    return result, recompute


def _chain(unit: Unit) -> list[int]:
    """``unit`` and each unit above it, bottom up."""
    chain: list[int] = []
    current: Unit | None = unit
    while current is not None and current.pk not in chain:
        chain.append(current.pk)
        current = current.parent
    return chain


class _Rules(NamedTuple):
    """The indicators in play, grouped by how they move when one child (or report) changes."""

    all: dict[int, Rule]
    sums: set[int]
    averages: set[int]
    extremes: dict[int, str]


def _grouped(rules: dict[int, Rule]) -> _Rules:
    return _Rules(
        all=rules,
        sums={pk for pk, rule in rules.items() if rule.aggregation == Aggregation.SUM},
        averages={pk for pk, rule in rules.items() if rule.aggregation in AVERAGE_RULES},
        extremes={pk: rule.aggregation for pk, rule in rules.items() if rule.aggregation in EXTREME_RULES},
    )


def _moved(
    period: Period,
    unit_id: int,
    rules: _Rules,
    current: dict[Key, Contribution],
    before: dict[Key, Contribution],
    after: dict[Key, Contribution],
) -> dict[Key, Contribution]:
    """A unit's aggregates after one of the things it combines (a child's aggregates, or one report) moved
    from ``before`` to ``after``: sums and averages by difference, extremes by comparison; an extreme whose
    winning value was given up (or an average stored without its weighted sum) is recomputed."""
    extreme, recompute = _extremes_moved(current, before, after, rules.extremes)
    averaged, unknown = _averages_moved(current, before, after, rules.averages)
    recompute |= unknown
    computed = {key: item for key, item in (*extreme.items(), *averaged.items()) if key[0] not in recompute}
    if recompute:
        computed.update(_recomputed(period, unit_id, {pk: rules.all[pk] for pk in recompute}))
    computed.update(_sums_moved(current, before, after, rules.sums))
    return computed


def _lock(period: Period) -> None:
    """Roll-ups of one period run one after the other, so two reports arriving at once cannot overwrite
    each other's change."""
    list(Period.objects.select_for_update().filter(pk=period.pk).order_by().values_list("pk", flat=True))


def _roll_up(
    period: Period,
    chain: list[int],
    rules: _Rules,
    before: dict[Key, Contribution],
    after: dict[Key, Contribution],
) -> None:
    """Move the aggregates of each unit of ``chain`` (bottom up) by what changed below it: at the first, by
    ``before`` → ``after``; at each next one, by what the previous unit's aggregates became."""
    for unit_id in chain:
        stored = _stored_of(period, unit_id, rules.all)
        current = {key: item for key, (_pk, item) in stored.items()}
        computed = _moved(period, unit_id, rules, current, before, after)
        _save(period.pk, unit_id, computed, stored)
        before, after = current, computed


def aggregates_report_moved(*, submission: Submission, counted: bool) -> None:
    """One report started to count (``counted``: it was just submitted) or stopped (returned, reopened):
    move the aggregates of its period at its unit, and at each unit above, by what its values bring — sums
    and averages by difference (an average by its exact weighted sum and weight), min, max and "latest" by
    comparison. So neither a ward's report nor a department's (which enters at the city) re-reads the
    other reports or the 126 wards' aggregates; only an extreme whose winning value the report gives up is
    recomputed from the values and children. Call it after the status changed, in the same transaction."""
    period = submission.period
    rules = _grouped(indicator_rules(period=period))
    if not rules.all:
        return
    with transaction.atomic(), localcontext(EXACT):
        _lock(period)
        brings = _report_brings(submission, rules.all)
        before, after = ({}, brings) if counted else (brings, {})
        _roll_up(period, _chain(submission.unit), rules, before, after)


def aggregates_refresh(*, period: Period, unit: Unit, indicator_ids: Iterable[int] | None = None) -> None:
    """Recompute the aggregates of ``period`` for ``unit`` from the values reported there and the aggregates
    of the units directly below it, then move each unit above by the difference (as
    ``aggregates_report_moved`` does): after values of counted reports at ``unit`` changed outside the
    workflow. The units above move by what ``unit``'s stored rows were, so those must have agreed with them;
    when in doubt, ``aggregates_rebuild`` recomputes a whole period from the raw values."""
    rules = _grouped(indicator_rules(period=period, indicator_ids=indicator_ids))
    if not rules.all:
        return
    chain = _chain(unit)
    with transaction.atomic(), localcontext(EXACT):
        _lock(period)
        stored = _stored_of(period, chain[0], rules.all)
        computed = _recomputed(period, chain[0], rules.all)
        _save(period.pk, chain[0], computed, stored)
        current = {key: item for key, (_pk, item) in stored.items()}
        _roll_up(period, chain[1:], rules, current, computed)


def _combined(gathered: dict[Key, list[Contribution]], rules: dict[int, Rule]) -> dict[Key, Contribution]:
    computed: dict[Key, Contribution] = {}
    for key, items in gathered.items():
        result = combine(rules[key[0]].aggregation, items)
        if result is not None:
            computed[key] = result
    return computed


def aggregates_compute(
    period: Period, *, indicator_ids: Iterable[int] | None = None
) -> dict[int, dict[Key, Contribution]]:
    """Every aggregate of ``period`` (of ``indicator_ids``, default: all the form's) recomputed from the raw
    values over the whole unit tree (in memory): unit id → (indicator, disaggregation) → result."""
    rules = indicator_rules(period=period, indicator_ids=indicator_ids)
    leaves = _leaf_contributions(_raw_rows(period, rules, None), rules)
    parents = dict(Unit.objects.values_list("pk", "parent_id"))
    depth: dict[int, int] = {}

    def depth_of(unit_id: int) -> int:
        seen: list[int] = []
        current: int | None = unit_id
        while current is not None and current not in depth and current not in seen:
            seen.append(current)
            current = parents.get(current)
        base = depth.get(current, -1) if current is not None else -1
        for offset, item in enumerate(reversed(seen), start=1):
            depth[item] = base + offset
        return depth[unit_id]

    # Every unit with reports, and every unit above one, bottom up.
    involved: set[int] = set()
    for unit_id in leaves:
        current: int | None = unit_id
        while current is not None and current not in involved:
            involved.add(current)
            current = parents.get(current)
    results: dict[int, dict[Key, Contribution]] = {}
    children_of: dict[int, list[int]] = defaultdict(list)
    for unit_id in involved:
        if parents.get(unit_id) is not None:
            children_of[parents[unit_id]].append(unit_id)
    for unit_id in sorted(involved, key=depth_of, reverse=True):
        gathered: dict[Key, list[Contribution]] = defaultdict(list)
        for key, items in leaves.get(unit_id, {}).items():
            gathered[key].extend(items)
        for child in children_of[unit_id]:
            for key, result in results.get(child, {}).items():
                gathered[key].append(result)
        results[unit_id] = _combined(gathered, rules)
    return results


def aggregates_rebuild(
    *, periods: Iterable[Period], check_only: bool = False, indicator_ids: Iterable[int] | None = None
) -> list[Mismatch]:
    """Recompute the aggregates of ``periods`` from the raw values; return every stored row that differed
    (in value, count, weight or weighted sum; or was missing, or should not exist) and, unless
    ``check_only``, make the stored rows right. With ``indicator_ids``, only those indicators' rows."""
    wanted = set(indicator_ids) if indicator_ids is not None else None
    mismatches: list[Mismatch] = []
    for period in periods:
        results = aggregates_compute(period, indicator_ids=wanted)
        rows = Aggregate.objects.filter(period=period)
        if wanted is not None:
            rows = rows.filter(indicator_id__in=wanted)
        by_unit: dict[int, list[tuple]] = defaultdict(list)
        for row in rows.values_list("unit_id", *STORED_FIELDS):
            by_unit[row[0]].append(row[1:])
        for unit_id in set(results) | set(by_unit):
            computed = results.get(unit_id, {})
            stored = _stored(by_unit.get(unit_id, []))
            for key in set(computed) | set(stored):
                expected, found = computed.get(key), stored.get(key)
                have = found[1] if found is not None else None
                if (
                    expected is None
                    or have is None
                    or (have.value, have.count, have.weight, have.total)
                    != (expected.value, expected.count, expected.weight, expected.total)
                ):
                    mismatches.append(
                        Mismatch(
                            period.pk,
                            unit_id,
                            key[0],
                            key[1],
                            have.value if have is not None else None,
                            expected.value if expected is not None else None,
                        )
                    )
            if not check_only:
                with transaction.atomic():
                    _save(period.pk, unit_id, computed, stored)
    return mismatches
