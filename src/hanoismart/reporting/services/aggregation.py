"""Rolling values up the unit hierarchy as reports arrive, and rebuilding everything from the raw values.

A unit's aggregate of an indicator in a period combines the values reported *at* that unit (its own report,
or its agencies' reports) with the aggregates of the units directly below it. Counted reports are those
submitted, accepted or locked (``COUNTED_STATUSES``): figures move as reports arrive, not when someone clicks
"accept"; a report that is returned or reopened leaves the figures until it is submitted again.

The rules (``Aggregation``): sum; average (of every reporting unit's value, not an average of averages);
weighted average (each value weighed by the same report's value of the weight indicator — for the same
disaggregation, else its total — a value without a positive weight is left out); min; max; latest (the value
of the most recently submitted report in the subtree); none (not rolled up). Text values never roll up.

``aggregates_refresh`` recomputes only the (indicator, period, unit, disaggregation) rows on the path from
one unit to the top; ``aggregates_rebuild`` recomputes a whole period from the raw values and reports (and,
unless ``check_only``, repairs) every difference.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
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
    ValueType,
)

QUANTUM = Decimal("0.000001")
Key = tuple[int, str]  # (indicator id, disaggregation)


@dataclass(frozen=True)
class Contribution:
    """What one report (or one child unit's aggregate) brings to a combination."""

    value: Decimal
    count: int
    weight: Decimal
    at: dt.datetime | None


@dataclass(frozen=True)
class Mismatch:
    """A stored aggregate that differs from the one recomputed from the raw values (None: absent)."""

    period_id: int
    unit_id: int
    indicator_id: int
    disaggregation: str
    stored: Decimal | None
    expected: Decimal | None


def combine(aggregation: str, contributions: list[Contribution]) -> Contribution | None:
    """Combine contributions under ``aggregation``; None when nothing can be combined."""
    if aggregation == Aggregation.WEIGHTED_AVERAGE:
        contributions = [item for item in contributions if item.weight > 0]
    if not contributions or aggregation == Aggregation.NONE:
        return None
    count = sum(item.count for item in contributions)
    weight = sum((item.weight for item in contributions), Decimal(0))
    latest = max((item.at for item in contributions if item.at is not None), default=None)
    if aggregation == Aggregation.SUM:
        value = sum((item.value for item in contributions), Decimal(0))
    elif aggregation in (Aggregation.AVERAGE, Aggregation.WEIGHTED_AVERAGE):
        if weight <= 0:
            return None
        value = sum((item.value * item.weight for item in contributions), Decimal(0)) / weight
    elif aggregation == Aggregation.MIN:
        value = min(item.value for item in contributions)
    elif aggregation == Aggregation.MAX:
        value = max(item.value for item in contributions)
    elif aggregation == Aggregation.LATEST:
        epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
        value = max(contributions, key=lambda item: (item.at or epoch, item.value)).value
    else:  # pragma: no cover - choices are closed
        raise ValueError(f"Unknown aggregation {aggregation!r}.")
    return Contribution(value=value.quantize(QUANTUM, ROUND_HALF_UP), count=count, weight=weight, at=latest)


def rolled_up_indicators(indicator_ids: Iterable[int]) -> dict[int, Indicator]:
    """The indicators among ``indicator_ids`` that roll up (numeric, aggregation other than none)."""
    return {
        indicator.pk: indicator
        for indicator in Indicator.objects.filter(pk__in=set(indicator_ids))
        .exclude(aggregation=Aggregation.NONE)
        .exclude(value_type=ValueType.TEXT)
    }


def period_indicator_ids(period: Period) -> set[int]:
    """The indicators of every version of the period's form."""
    return set(
        FormItem.objects.filter(version__form_id=period.form_id).values_list("indicator_id", flat=True)
    )


def _raw_rows(period: Period, indicators: dict[int, Indicator], unit_ids: Iterable[int] | None):
    wanted = set(indicators) | {i.weight_indicator_id for i in indicators.values() if i.weight_indicator_id}
    rows = DataValue.objects.filter(
        submission__period=period,
        submission__status__in=COUNTED_STATUSES,
        indicator_id__in=wanted,
        number__isnull=False,
    )
    if unit_ids is not None:
        rows = rows.filter(submission__unit_id__in=list(unit_ids))
    return rows.values_list(
        "submission_id",
        "submission__unit_id",
        "submission__submitted_at",
        "indicator_id",
        "disaggregation",
        "number",
    )


def _leaf_contributions(rows, indicators: dict[int, Indicator]) -> dict[int, dict[Key, list[Contribution]]]:
    """unit id → (indicator, disaggregation) → one contribution per report, from raw value rows."""
    by_submission: dict[int, dict[Key, Decimal]] = defaultdict(dict)
    meta: dict[int, tuple[int, dt.datetime | None]] = {}
    for submission_id, unit_id, submitted_at, indicator_id, disaggregation, number in rows:
        by_submission[submission_id][(indicator_id, disaggregation)] = number
        meta[submission_id] = (unit_id, submitted_at)
    leaves: dict[int, dict[Key, list[Contribution]]] = defaultdict(lambda: defaultdict(list))
    for submission_id, values in by_submission.items():
        unit_id, submitted_at = meta[submission_id]
        for (indicator_id, disaggregation), number in values.items():
            indicator = indicators.get(indicator_id)
            if indicator is None:
                continue  # only here as another indicator's weight
            weight = Decimal(1)
            if indicator.aggregation == Aggregation.WEIGHTED_AVERAGE:
                weight_id = indicator.weight_indicator_id
                found = values.get((weight_id, disaggregation), values.get((weight_id, "")))
                weight = found if found is not None else Decimal(0)
            leaves[unit_id][(indicator_id, disaggregation)].append(
                Contribution(value=number, count=1, weight=weight, at=submitted_at)
            )
    return leaves


def _from_aggregate(row: Aggregate) -> Contribution:
    return Contribution(value=row.value, count=row.count, weight=row.weight, at=row.latest_at)


def _save(period: Period, unit_id: int, computed: dict[Key, Contribution], existing: list[Aggregate]) -> None:
    """Make the stored aggregates of one unit equal ``computed``: create, update and delete as needed."""
    stored = {(row.indicator_id, row.disaggregation): row for row in existing}
    to_update: list[Aggregate] = []
    for key, result in computed.items():
        row = stored.pop(key, None)
        if row is None:
            continue
        if (row.value, row.count, row.weight, row.latest_at) != (
            result.value,
            result.count,
            result.weight,
            result.at,
        ):
            row.value, row.count, row.weight, row.latest_at = (
                result.value,
                result.count,
                result.weight,
                result.at,
            )
            row.updated_at = timezone.now()
            to_update.append(row)
    present = {(row.indicator_id, row.disaggregation) for row in existing}
    to_create = [
        Aggregate(
            indicator_id=key[0],
            period=period,
            unit_id=unit_id,
            disaggregation=key[1],
            value=result.value,
            count=result.count,
            weight=result.weight,
            latest_at=result.at,
        )
        for key, result in computed.items()
        if key not in present
    ]
    # A changed row is replaced (delete + insert: two statements) rather than updated in place: Django's
    # bulk_update builds one CASE per field and row, which costs seconds for a city's 300 indicators.
    # Nothing refers to an aggregate's id.
    gone = [row.pk for row in stored.values()] + [row.pk for row in to_update]
    if gone:
        Aggregate.objects.filter(pk__in=gone).delete()
    for row in to_update:
        row.pk = None
    _insert([*to_update, *to_create])


INSERTED_FIELDS = (
    "indicator_id",
    "period_id",
    "unit_id",
    "disaggregation",
    "value",
    "count",
    "weight",
    "latest_at",
    "updated_at",
)


def _insert(rows: list[Aggregate]) -> None:
    """Insert new aggregate rows with one multi-row INSERT per batch: what ``bulk_create`` does, without
    its per-field preparation of every object (half the time of a ward's roll-up at 600 rows)."""
    if not rows:
        return
    meta = Aggregate._meta
    fields = [meta.get_field(name.removesuffix("_id")) for name in INSERTED_FIELDS]
    ops = connection.ops
    quote = ops.quote_name
    now = ops.adapt_datetimefield_value(timezone.now())
    digits = meta.get_field("value")
    # Table and column names come from the model, never from input.
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"
    if connection.vendor == "postgresql":
        # One array per column: eight parameters to bind, however many rows.
        columns = zip(
            *(
                (
                    r.indicator_id,
                    r.period_id,
                    r.unit_id,
                    r.disaggregation,
                    r.value,
                    r.count,
                    r.weight,
                    r.latest_at,
                )
                for r in rows
            ),
            strict=True,
        )
        types = ("int", "int", "int", "text", "numeric", "int", "numeric", "timestamptz")
        arrays = ", ".join(f"%s::{kind}[]" for kind in types)
        with connection.cursor() as cursor:
            cursor.execute(
                f"{head} SELECT *, %s FROM unnest({arrays})",  # noqa: S608
                [now, *(list(column) for column in columns)],
            )
        return
    head += " VALUES "
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    batch = max(ops.bulk_batch_size(fields, rows), 1)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            params: list = []
            for row in chunk:
                params.extend(
                    (
                        row.indicator_id,
                        row.period_id,
                        row.unit_id,
                        row.disaggregation,
                        ops.adapt_decimalfield_value(row.value, digits.max_digits, digits.decimal_places),
                        row.count,
                        ops.adapt_decimalfield_value(row.weight, digits.max_digits, digits.decimal_places),
                        ops.adapt_datetimefield_value(row.latest_at),
                        now,
                    )
                )
            cursor.execute(head + ", ".join([placeholders] * len(chunk)), params)


def _recomputed(period: Period, unit_id: int, indicators: dict[int, Indicator]) -> dict[Key, Contribution]:
    """The aggregates of ``unit_id`` for ``indicators``, from the values reported at it and the aggregates
    of the units directly below it."""
    if not indicators:
        return {}
    own = _leaf_contributions(_raw_rows(period, indicators, [unit_id]), indicators).get(unit_id, {})
    gathered: dict[Key, list[Contribution]] = defaultdict(list)
    for key, items in own.items():
        gathered[key].extend(items)
    # Plain tuples: a city has 126 wards × 300 indicators of them, too many to build as models. Only a
    # "latest" rule needs each child's moment; for the others the latest moment is one MAX per indicator
    # (reading thousands of timestamps costs more than the query).
    children = Aggregate.objects.filter(
        period=period, unit__parent_id=unit_id, indicator_id__in=list(indicators)
    )
    latest_ids = [pk for pk, indicator in indicators.items() if indicator.aggregation == Aggregation.LATEST]
    for indicator_id, disaggregation, value, count, weight, latest_at in children.filter(
        indicator_id__in=latest_ids
    ).values_list("indicator_id", "disaggregation", "value", "count", "weight", "latest_at"):
        gathered[(indicator_id, disaggregation)].append(
            Contribution(value=value, count=count, weight=weight, at=latest_at)
        )
    others = children.exclude(indicator_id__in=latest_ids)
    moments: dict[Key, dt.datetime | None] = {}
    if len(latest_ids) < len(indicators):
        for indicator_id, disaggregation, value, count, weight in others.values_list(
            "indicator_id", "disaggregation", "value", "count", "weight"
        ):
            gathered[(indicator_id, disaggregation)].append(
                Contribution(value=value, count=count, weight=weight, at=None)
            )
        moments = {
            (indicator_id, disaggregation): moment
            for indicator_id, disaggregation, moment in others.values("indicator_id", "disaggregation")
            .annotate(moment=Max("latest_at"))
            .values_list("indicator_id", "disaggregation", "moment")
        }
    computed = _combined(gathered, indicators)
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
    """A parent's "sum" aggregates after one child's moved from ``before`` to ``after``: the stored sum,
    minus what the child brought, plus what it brings now (exact in decimals; counts and weights alike).
    ``latest_at`` keeps the latest moment seen (informative for a sum)."""
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


EXTREME_RULES = (Aggregation.LATEST, Aggregation.MIN, Aggregation.MAX)
EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


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
    """A parent's min, max and "latest" aggregates after one child's moved from ``before`` to ``after``,
    without re-reading the other children: the child's new value wins if it ranks at least as high as the
    stored one; the stored one stays if the child's old value was not it. Otherwise (the child held the
    winning value and gave it up) the indicator is returned to be recomputed from every child."""
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


def aggregates_refresh(*, period: Period, unit: Unit, indicator_ids: Iterable[int] | None = None) -> None:
    """Recompute the aggregates of ``period`` for ``unit`` and each unit above it, bottom up (one unit's
    report changed): at ``unit``, from the values reported there and the aggregates of the units directly
    below; above it, "sum" indicators move by the difference the child's aggregates made and min, max and
    "latest" ones by comparison with it (so the city does not re-read its 126 wards for them); averages, and
    an extreme whose winning value the child gave up, are recomputed from the values and the children.

    Roll-ups of one period run one after the other (a row lock on the period), so two wards submitting at
    once cannot overwrite each other's change. A few queries per level: no nightly batch is needed;
    ``aggregates_rebuild`` recomputes everything from the raw values and reports any difference."""
    indicators = rolled_up_indicators(
        indicator_ids if indicator_ids is not None else period_indicator_ids(period)
    )
    if not indicators:
        return
    chain: list[int] = []
    current: Unit | None = unit
    while current is not None and current.pk not in chain:
        chain.append(current.pk)
        current = current.parent
    sum_ids = {pk for pk, indicator in indicators.items() if indicator.aggregation == Aggregation.SUM}
    extremes = {
        pk: indicator.aggregation
        for pk, indicator in indicators.items()
        if indicator.aggregation in EXTREME_RULES
    }
    averages = {pk: indicator for pk, indicator in indicators.items() if pk not in sum_ids | set(extremes)}
    with transaction.atomic():
        list(Period.objects.select_for_update().filter(pk=period.pk).values_list("pk", flat=True))
        before: dict[Key, Contribution] = {}
        after: dict[Key, Contribution] = {}
        for level, unit_id in enumerate(chain):
            existing = list(
                Aggregate.objects.filter(
                    period=period, unit_id=unit_id, indicator_id__in=list(indicators)
                ).defer("updated_at")
            )
            stored = {(row.indicator_id, row.disaggregation): _from_aggregate(row) for row in existing}
            if level == 0:
                computed = _recomputed(period, unit_id, indicators)
            else:
                moved, recompute = _extremes_moved(stored, before, after, extremes)
                computed = {key: item for key, item in moved.items() if key[0] not in recompute}
                again = {**averages, **{pk: indicators[pk] for pk in recompute}}
                computed.update(_recomputed(period, unit_id, again))
                computed.update(_sums_moved(stored, before, after, sum_ids))
            _save(period, unit_id, computed, existing)
            before, after = stored, computed


def _combined(
    gathered: dict[Key, list[Contribution]], indicators: dict[int, Indicator]
) -> dict[Key, Contribution]:
    computed: dict[Key, Contribution] = {}
    for key, items in gathered.items():
        result = combine(indicators[key[0]].aggregation, items)
        if result is not None:
            computed[key] = result
    return computed


def aggregates_compute(period: Period) -> dict[int, dict[Key, Contribution]]:
    """Every aggregate of ``period`` recomputed from the raw values over the whole unit tree (in memory):
    unit id → (indicator, disaggregation) → result."""
    indicators = rolled_up_indicators(period_indicator_ids(period))
    leaves = _leaf_contributions(_raw_rows(period, indicators, None), indicators)
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
        results[unit_id] = _combined(gathered, indicators)
    return results


def aggregates_rebuild(*, periods: Iterable[Period], check_only: bool = False) -> list[Mismatch]:
    """Recompute the aggregates of ``periods`` from the raw values; return every stored row that differed (or
    was missing, or should not exist) and, unless ``check_only``, make the stored rows right."""
    mismatches: list[Mismatch] = []
    for period in periods:
        results = aggregates_compute(period)
        stored: dict[int, list[Aggregate]] = defaultdict(list)
        for row in Aggregate.objects.filter(period=period):
            stored[row.unit_id].append(row)
        for unit_id in set(results) | set(stored):
            computed = results.get(unit_id, {})
            rows = {(row.indicator_id, row.disaggregation): row for row in stored.get(unit_id, [])}
            for key in set(computed) | set(rows):
                expected = computed[key].value if key in computed else None
                row = rows.get(key)
                have = row.value if row is not None else None
                same_detail = (
                    row is None
                    or key not in computed
                    or (row.count, row.weight)
                    == (
                        computed[key].count,
                        computed[key].weight,
                    )
                )
                if have != expected or not same_detail:
                    mismatches.append(Mismatch(period.pk, unit_id, key[0], key[1], have, expected))
            if not check_only:
                with transaction.atomic():
                    _save(period, unit_id, computed, stored.get(unit_id, []))
    return mismatches
