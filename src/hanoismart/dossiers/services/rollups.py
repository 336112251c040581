# ruff: noqa: S608 - the SQL here is built from model metadata and constants only; every value is a parameter
"""Keeping the daily roll-ups current, rebuilding them and checking them: ``DossierDailyRollup`` (day × unit
× agency × procedure) and its sum over the procedures, ``DossierAgencyDayRollup`` (day × unit × agency), which
month and year views read.

A dossier *contributes* to at most three rows (docs/statistics.md, "Daily roll-ups"): the row of the local day
it was received (received, channel, papers, fees, national-portal sync), of the day it finished (finished,
timeliness) and of the day it was rated. ``contribution`` computes that from the dossier's row and a few facts
about its related rows (``Related``); the services take it when ``base.locked`` loads the dossier (``track``)
or when a new dossier is filed (``track_new``), keep the related facts current as they write (the
``*_added``/``*_queued``/... hooks), and ``base.record`` applies the difference (``apply``) in the same
transaction, as atomic increments (``INSERT … ON CONFLICT … DO UPDATE SET x = x + excluded.x``): two
transactions adding to one shared row never lose each other's counts, and the dossier's own row lock makes its
before/after pair exact.

``rollups_rebuild`` recomputes rows from the raw tables with one ``INSERT … SELECT … GROUP BY`` (the
independent computation), then the agency rows from them; ``rollups_check`` compares the stored rows with the
recomputation, and the agency rows with the sums of the daily rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from hanoismart.dossiers.models import (
    NO_DUE_DAY,
    OPEN_STATUSES,
    ROLLUP_FIGURES,
    ComponentSource,
    Dossier,
    DossierAgencyDayRollup,
    DossierAgencyMonthRollup,
    DossierComponent,
    DossierDailyRollup,
    DossierOpenStock,
    FilingChannel,
    Payment,
    PaymentState,
    PaymentStatus,
    PortalSyncMessage,
    Rating,
    Satisfaction,
    StockTier,
    SyncState,
    Timeliness,
)
from hanoismart.dossiers.selectors.rollups import month_after
from hanoismart.procedures.models import DossierStatus

DIGITISED_SOURCES = (ComponentSource.DIGITISED, ComponentSource.REUSED, ComponentSource.REUSED_RESULT)
REUSED_SOURCES = (ComponentSource.REUSED, ComponentSource.REUSED_RESULT)
SATISFIED = (Satisfaction.SATISFIED, Satisfaction.VERY_SATISFIED)
FEE_FIGURES = {
    PaymentStatus.DUE: "fees_due",
    PaymentStatus.PAID: "fees_paid",
    PaymentStatus.WAIVED: "fees_waived",
    PaymentStatus.CITY_PAID: "fees_city_paid",
}
TIMELINESS_FIGURES = {
    Timeliness.EARLY: "finished_early",
    Timeliness.ON_TIME: "finished_on_time",
    Timeliness.LATE: "finished_late",
}
#: The key columns of a roll-up row, in the order of ``RollupKey``; an agency row has the first three.
KEY_COLUMNS = ("day", "unit_id", "agency_id", "procedure_id")
AGENCY_KEY_COLUMNS = KEY_COLUMNS[:3]
#: The key columns of an agency-month row.
MONTH_KEY_COLUMNS = ("month", "unit_id", "agency_id")
#: A piece of SQL and its parameters.
Expression = tuple[str, list[Any]]


class RollupKey(NamedTuple):
    """The key of a roll-up row: the local day and the dossier's unit, agency and procedure."""

    day: dt.date
    unit_id: int
    agency_id: int
    procedure_id: int


#: What a dossier adds to each row it touches: {key: {figure: amount}} (figures left out are 0).
Contribution = dict[RollupKey, dict[str, int]]
#: The figures of an open-stock row (``DossierOpenStock``) and its key columns.
STOCK_FIGURES = ("open", "paused")
STOCK_KEY_COLUMNS = ("tier", "due", "unit_id", "agency_id")


class StockKey(NamedTuple):
    """Where an open, received dossier counts in the open stocks: its unit and agency, the local day of its
    due moment (``NO_DUE_DAY`` without one) and whether it waits for a supplement."""

    unit_id: int
    agency_id: int
    due_day: dt.date
    paused: bool


@dataclass
class Related:
    """What the roll-ups need from a dossier's related rows: its papers by source, whether a portal message
    was delivered and whether one is pending or failed, whether a payment went through, and its rating."""

    components: int = 0
    components_digitised: int = 0
    components_reused: int = 0
    delivered: bool = False
    undelivered: bool = False
    paid: bool = False
    rating: tuple[dt.datetime, str, int] | None = None  # (created_at, overall, total)


@dataclass
class Tracked:
    """A dossier's contribution when its service loaded it (kept on the instance as ``_rollup``), the
    related facts as they stand (``None``: not loaded, read at ``apply``), and its open state then (what
    the open figures read, and where it counts in the open stocks)."""

    before: Contribution
    related: Related | None
    open_state: tuple[bool, bool, dt.datetime | None]
    stock: StockKey | None


@dataclass(frozen=True)
class Mismatch:
    """A stored roll-up figure that differs from the recomputation (``key.procedure_id`` 0: an agency row,
    compared with the sum of its daily rows)."""

    key: RollupKey
    figure: str
    stored: int
    expected: int
    #: "" for a daily or agency-day row; "month" for an agency-month row (``key.day``: the month's first
    #: day, compared with the sum of its agency-day rows); "stock M" or "stock D" for an open-stock row
    #: (``key.day``: the due month or day)
    kind: str = ""


# -- the contribution of one dossier ----------------------------------------------------------------------


def local_day(moment: dt.datetime) -> dt.date:
    """The day of ``moment`` in the city's time zone (settings.TIME_ZONE)."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def needs_related(dossier: Dossier) -> bool:
    """Whether the dossier's contribution depends on its related rows: once received (papers, fees, sync),
    and once returned (only a returned dossier can be rated)."""
    return dossier.received_at is not None or dossier.status == DossierStatus.RETURNED


def related_of(dossier_id: int) -> Related:
    """The related facts of one dossier, read in one query."""

    def count(condition: Q | None = None) -> Coalesce:
        rows = DossierComponent.objects.filter(dossier=OuterRef("pk"))
        if condition is not None:
            rows = rows.filter(condition)
        counted = rows.order_by().values("dossier").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted), 0)

    messages = PortalSyncMessage.objects.filter(dossier=OuterRef("pk"))
    row = (
        Dossier.objects.filter(pk=dossier_id)
        .annotate(
            n_components=count(),
            n_digitised=count(Q(source__in=DIGITISED_SOURCES)),
            n_reused=count(Q(source__in=REUSED_SOURCES)),
            has_delivered=Exists(messages.filter(state=SyncState.DELIVERED)),
            has_undelivered=Exists(messages.exclude(state=SyncState.DELIVERED)),
            has_paid=Exists(Payment.objects.filter(dossier=OuterRef("pk"), state=PaymentState.PAID)),
        )
        .values(
            "n_components",
            "n_digitised",
            "n_reused",
            "has_delivered",
            "has_undelivered",
            "has_paid",
            "rating__created_at",
            "rating__overall",
            "rating__total",
        )
        .get()
    )
    rating = None
    if row["rating__created_at"] is not None:
        rating = (row["rating__created_at"], row["rating__overall"], row["rating__total"])
    return Related(
        components=row["n_components"],
        components_digitised=row["n_digitised"],
        components_reused=row["n_reused"],
        delivered=bool(row["has_delivered"]),
        undelivered=bool(row["has_undelivered"]),
        paid=bool(row["has_paid"]),
        rating=rating,
    )


def _add(out: dict[Any, dict[str, int]], key: tuple[Any, ...], figures: dict[str, int]) -> None:
    """Add ``figures`` to ``out[key]`` (created empty), leaving zero amounts out."""
    row = out.setdefault(key, {})
    for name, amount in figures.items():
        if amount:
            row[name] = row.get(name, 0) + amount


def contribution(dossier: Dossier, related: Related | None) -> Contribution:
    """What ``dossier`` adds to the roll-ups, with the definitions of ``selectors.stats``; ``related`` may be
    ``None`` only when ``needs_related`` is false."""
    out: Contribution = {}
    ids = (dossier.unit_id, dossier.agency_id, dossier.procedure_id)
    if needs_related(dossier) and related is None:
        raise ValueError("The roll-up contribution of this dossier needs its related rows.")
    if dossier.received_at is not None and related is not None:
        paid = dossier.payment_status == PaymentStatus.PAID
        figures = {
            "received": 1,
            "online": int(dossier.channel == FilingChannel.ONLINE),
            "fully_online": int(bool(dossier.is_fully_online)),
            "synced": int(related.delivered and not related.undelivered),
            "components": related.components,
            "components_digitised": related.components_digitised,
            "components_reused": related.components_reused,
            "fees_paid_online": int(paid and related.paid),
            "fee_total": dossier.fee_total,
            "fee_applicant": dossier.fee_applicant,
            "fee_city": dossier.fee_city,
        }
        fee_figure = FEE_FIGURES.get(dossier.payment_status)
        if fee_figure:
            figures[fee_figure] = 1
        _add(out, RollupKey(local_day(dossier.received_at), *ids), figures)
    if dossier.finished_at is not None and dossier.received_at is not None:
        # a dossier refused or withdrawn before it was received never counts as finished (as in stats)
        figures = {"finished": 1}
        timed = TIMELINESS_FIGURES.get(dossier.timeliness)
        if timed:
            figures[timed] = 1
        _add(out, RollupKey(local_day(dossier.finished_at), *ids), figures)
    if related is not None and related.rating is not None:
        created_at, overall, total = related.rating
        figures = {
            "ratings": 1,
            "ratings_satisfied": int(overall in SATISFIED),
            "ratings_very_satisfied": int(overall == Satisfaction.VERY_SATISFIED),
            "rating_score_sum": total,
        }
        _add(out, RollupKey(local_day(created_at), *ids), figures)
    return out


def difference(after: Contribution, before: Contribution) -> Contribution:
    """``after - before``, row by row, leaving out rows where nothing changed."""
    out: Contribution = {}
    for key in after.keys() | before.keys():
        new, old = after.get(key, {}), before.get(key, {})
        delta = {name: new.get(name, 0) - old.get(name, 0) for name in new.keys() | old.keys()}
        delta = {name: amount for name, amount in delta.items() if amount}
        if delta:
            out[key] = delta
    return out


def _open_state(dossier: Dossier) -> tuple[bool, bool, dt.datetime | None]:
    """What the open figures (``selectors.rollups.open_figures``) read of the dossier."""
    is_open = dossier.status in OPEN_STATUSES and dossier.received_at is not None
    return is_open, dossier.paused_since is not None, dossier.due_at


def stock_key(dossier: Dossier) -> StockKey | None:
    """Where the dossier counts in the open stocks now (``None``: not open, or not received yet)."""
    if dossier.status not in OPEN_STATUSES or dossier.received_at is None:
        return None
    due_day = local_day(dossier.due_at) if dossier.due_at is not None else NO_DUE_DAY
    return StockKey(dossier.unit_id, dossier.agency_id, due_day, dossier.paused_since is not None)


# -- tracking a dossier through a service ------------------------------------------------------------------


def track(dossier: Dossier) -> Dossier:
    """Remember the contribution of ``dossier`` as loaded under its row lock (``base.locked``); reads the
    related rows (one query) only when the contribution depends on them."""
    related = related_of(dossier.pk) if needs_related(dossier) else None
    dossier._rollup = Tracked(  # type: ignore[attr-defined]
        before=contribution(dossier, related),
        related=related,
        open_state=_open_state(dossier),
        stock=stock_key(dossier),
    )
    return dossier


def track_new(dossier: Dossier) -> Dossier:
    """A dossier being filed contributes nothing yet and has no related rows (no query)."""
    dossier._rollup = Tracked(before={}, related=Related(), open_state=(False, False, None), stock=None)  # type: ignore[attr-defined]
    return dossier


def _related(dossier: Dossier) -> Related | None:
    tracked = getattr(dossier, "_rollup", None)
    return tracked.related if tracked is not None else None


def components_added(dossier: Dossier, *, sources: list[str]) -> None:
    """Papers were added to the dossier (filing, supplement)."""
    related = _related(dossier)
    if related is not None:
        related.components += len(sources)
        related.components_digitised += sum(source in DIGITISED_SOURCES for source in sources)
        related.components_reused += sum(source in REUSED_SOURCES for source in sources)


def payment_paid(dossier: Dossier) -> None:
    """A payment of the dossier went through (the applicant's, or the city's share at filing)."""
    related = _related(dossier)
    if related is not None:
        related.paid = True


def portal_message_queued(dossier: Dossier) -> None:
    """A national-portal message was queued: the dossier is no longer in sync until it is delivered."""
    related = _related(dossier)
    if related is not None:
        related.undelivered = True


def rating_given(dossier: Dossier, rating: Rating) -> None:
    """The applicant rated the dossier."""
    related = _related(dossier)
    if related is not None:
        related.rating = (rating.created_at, rating.overall, rating.total)


def apply(dossier: Dossier) -> Contribution:
    """Add the difference between the dossier's contribution now and when it was tracked to the roll-ups
    (in the caller's transaction), and take the current one as the new starting point. When only its open
    state changed (paused, resumed, due moved, closed), its received day's row is touched, so
    ``rollups_changed_since`` notices; when it moved in the open stocks (opened, paused, resumed, due day
    moved, closed), those rows follow (``stock_move``). Returns the difference applied."""
    tracked: Tracked | None = getattr(dossier, "_rollup", None)
    if tracked is None:
        raise RuntimeError(
            f"Dossier {dossier.pk} was changed without being tracked for the roll-ups: load it with "
            "services.base.locked() (or rollups.track_new() when filing)."
        )
    related = tracked.related
    if related is None and needs_related(dossier):
        related = related_of(dossier.pk)
    after = contribution(dossier, related)
    delta = difference(after, tracked.before)
    open_state = _open_state(dossier)
    if open_state != tracked.open_state and dossier.received_at is not None:
        day = local_day(dossier.received_at)
        key = RollupKey(day, dossier.unit_id, dossier.agency_id, dossier.procedure_id)
        upserts = {key: {}, **delta}
    else:
        upserts = delta
    rollup_add(upserts)
    stock = stock_key(dossier)
    stock_move(tracked.stock, stock)
    dossier._rollup = Tracked(before=after, related=related, open_state=open_state, stock=stock)  # type: ignore[attr-defined]
    return delta


def portal_delivered(*, dossier_ids: Sequence[int]) -> None:
    """The roll-ups' hook, after messages of these dossiers were marked delivered (in the caller's
    transaction): a received dossier with no message pending or failed any more is in sync again (its
    received day's ``synced`` figure). Locks the dossier rows first, in id order, so a status change queueing
    a new message runs strictly before or after, and the next claim sees that message."""
    rows = (
        Dossier.objects.select_for_update()
        .filter(pk__in=dossier_ids)
        .order_by("pk")
        .values_list("pk", "received_at", "unit_id", "agency_id", "procedure_id")
    )
    received = {row[0]: row[1:] for row in rows if row[1] is not None}
    if not received:
        return
    behind = set(
        PortalSyncMessage.objects.filter(dossier_id__in=list(received))
        .exclude(state=SyncState.DELIVERED)
        .values_list("dossier_id", flat=True)
    )
    synced: Contribution = {}
    for dossier_id, (received_at, unit_id, agency_id, procedure_id) in received.items():
        if dossier_id not in behind:
            key = RollupKey(local_day(received_at), unit_id, agency_id, procedure_id)
            synced.setdefault(key, {"synced": 0})["synced"] += 1
    rollup_add(synced)


# -- writing -------------------------------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: Any = DossierDailyRollup) -> str:
    return _quoted(model._meta.db_table)


def _key_params(key: tuple[Any, ...]) -> list[Any]:
    ops = connection.ops
    return [ops.adapt_datefield_value(value) if isinstance(value, dt.date) else value for value in key]


def _upsert(
    model: Any,
    key_columns: tuple[str, ...],
    deltas: dict[tuple[Any, ...], dict[str, int]],
    figures: tuple[str, ...] = ROLLUP_FIGURES,
) -> None:
    """Add ``deltas`` to ``model``'s rows, creating the missing ones, in one statement, in key order."""
    ops = connection.ops
    table = _table(model)
    columns = (*key_columns, *figures, "updated_at")
    now = ops.adapt_datetimefield_value(timezone.now())
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list[Any] = []
    for key in sorted(deltas):
        params += _key_params(key)
        params += [deltas[key].get(name, 0) for name in figures]
        params.append(now)
    increments = ", ".join(
        f"{_quoted(name)} = {table}.{_quoted(name)} + excluded.{_quoted(name)}" for name in figures
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(_quoted(c) for c in columns)}) "
        f"VALUES {', '.join([placeholders] * len(deltas))} "
        f"ON CONFLICT ({', '.join(_quoted(c) for c in key_columns)}) "
        f"DO UPDATE SET {increments}, {_quoted('updated_at')} = excluded.{_quoted('updated_at')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rollup_add(deltas: Contribution) -> None:
    """Add ``deltas`` to the daily rows and to their agency rows, creating the rows that are missing, in one
    statement each: each row is incremented by the database (never read and written back), in key order,
    daily rows before agency-day rows before agency-month rows (no deadlock between two writers). A row of no
    change (``{}``: only the dossier's open state changed) touches its daily row's ``updated_at`` and leaves
    the agency rows alone."""
    if not deltas:
        return
    _upsert(DossierDailyRollup, KEY_COLUMNS, dict(deltas))
    agencies: dict[tuple[Any, ...], dict[str, int]] = {}
    for key, figures in deltas.items():
        if any(figures.values()):
            _add(agencies, key[:3], figures)
    if agencies:
        _upsert(DossierAgencyDayRollup, AGENCY_KEY_COLUMNS, agencies)
        months: dict[tuple[Any, ...], dict[str, int]] = {}
        for (day, unit_id, agency_id), figures in agencies.items():
            _add(months, (day.replace(day=1), unit_id, agency_id), figures)
        _upsert(DossierAgencyMonthRollup, MONTH_KEY_COLUMNS, months)


def _stock_rows(key: StockKey, times: int, out: dict[tuple[Any, ...], dict[str, int]]) -> None:
    """Add ``times`` dossiers at ``key`` (negative: take them away) to their month row and their day row in
    ``out``."""
    month = key.due_day.replace(day=1)
    for row_key in (
        (StockTier.MONTH.value, month, key.unit_id, key.agency_id),
        (StockTier.DAY.value, key.due_day, key.unit_id, key.agency_id),
    ):
        row = out.setdefault(row_key, dict.fromkeys(STOCK_FIGURES, 0))
        row["open"] += times
        row["paused"] += times * int(key.paused)


def stock_move(before: StockKey | None, after: StockKey | None) -> None:
    """Move a dossier in the open stocks from ``before`` to ``after`` (``None``: not counted), in one
    statement (rows in key order, after the roll-up rows: no deadlock between two writers); nothing when it
    stays where it was."""
    if before == after:
        return
    rows: dict[tuple[Any, ...], dict[str, int]] = {}
    if before is not None:
        _stock_rows(before, -1, rows)
    if after is not None:
        _stock_rows(after, 1, rows)
    changed = {key: figures for key, figures in rows.items() if any(figures.values())}
    if changed:
        _upsert(DossierOpenStock, STOCK_KEY_COLUMNS, changed, STOCK_FIGURES)


# -- the independent computation ----------------------------------------------------------------------------


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def _table_of(model: Any) -> str:
    return _quoted(model._meta.db_table)


def _column(model: Any, name: str) -> str:
    return _quoted(model._meta.get_field(name).column)


def _day_sql(column_sql: str) -> tuple[str, list[Any]]:
    """The local date of a datetime column in the city's time zone, as the backend writes it."""
    sql, params = connection.ops.datetime_cast_date_sql(column_sql, (), timezone.get_default_timezone_name())
    return sql, list(params)


def _in(values: tuple[str, ...]) -> tuple[str, list[Any]]:
    return "(" + ", ".join(["%s"] * len(values)) + ")", [str(value) for value in values]


def _between(column_sql: str, start: dt.datetime | None, end: dt.datetime | None) -> tuple[str, list[Any]]:
    """``column >= start AND column < end`` (either bound may be open), as SQL and parameters."""
    parts, params = [f"{column_sql} IS NOT NULL"], []
    if start is not None:
        parts.append(f"{column_sql} >= %s")
        params.append(connection.ops.adapt_datetimefield_value(start))
    if end is not None:
        parts.append(f"{column_sql} < %s")
        params.append(connection.ops.adapt_datetimefield_value(end))
    return " AND ".join(parts), params


def _select(day: Expression, figures: dict[str, Expression]) -> Expression:
    """A part's select list: the day, the dossier's keys, then every figure (0 where the part has none)."""
    columns = [f"{day[0]} AS day", "d.unit_id AS unit_id", "d.agency_id AS agency_id"]
    columns.append("d.procedure_id AS procedure_id")
    params = list(day[1])
    for name in ROLLUP_FIGURES:
        sql, figure_params = figures.get(name, ("0", []))
        columns.append(f"{sql} AS {_quoted(name)}")
        params += figure_params
    return ", ".join(columns), params


def _case(condition: str, params: list[Any]) -> Expression:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END", [str(p) for p in params]


def _received_part(start: dt.datetime | None, end: dt.datetime | None) -> Expression:
    """One row per dossier received in range, with its papers, payments and portal messages pre-aggregated
    per dossier and joined (hash joins on PostgreSQL, no subquery per dossier)."""
    dossier = _table_of(Dossier)
    received_at = _column(Dossier, "received_at")
    where, where_params = _between(f"d.{received_at}", start, end)
    if start is None and end is None:
        in_range, in_range_params = "1 = 1", []
    else:
        inner, in_range_params = _between(received_at, start, end)
        in_range = f"dossier_id IN (SELECT id FROM {dossier} WHERE {inner})"
    digitised, digitised_params = _in(DIGITISED_SOURCES)
    reused, reused_params = _in(REUSED_SOURCES)
    components = (
        f"SELECT dossier_id, COUNT(*) AS n, "
        f"SUM(CASE WHEN source IN {digitised} THEN 1 ELSE 0 END) AS digitised, "
        f"SUM(CASE WHEN source IN {reused} THEN 1 ELSE 0 END) AS reused "
        f"FROM {_table_of(DossierComponent)} WHERE {in_range} GROUP BY dossier_id"
    )
    messages = (
        "SELECT dossier_id, MAX(CASE WHEN state = %s THEN 1 ELSE 0 END) AS delivered, "
        "MAX(CASE WHEN state = %s THEN 0 ELSE 1 END) AS undelivered "
        f"FROM {_table_of(PortalSyncMessage)} WHERE {in_range} GROUP BY dossier_id"
    )
    payments = f"SELECT DISTINCT dossier_id FROM {_table_of(Payment)} WHERE state = %s AND {in_range}"
    figures: dict[str, Expression] = {
        "received": ("1", []),
        "online": _case("d.channel = %s", [FilingChannel.ONLINE]),
        "fully_online": _case("d.is_fully_online", []),
        "synced": _case("ms.delivered = 1 AND ms.undelivered = 0", []),
        "components": ("COALESCE(c.n, 0)", []),
        "components_digitised": ("COALESCE(c.digitised, 0)", []),
        "components_reused": ("COALESCE(c.reused, 0)", []),
        "fees_paid_online": _case("d.payment_status = %s AND p.dossier_id IS NOT NULL", [PaymentStatus.PAID]),
        "fee_total": ("d.fee_total", []),
        "fee_applicant": ("d.fee_applicant", []),
        "fee_city": ("d.fee_city", []),
    }
    for status, figure in FEE_FIGURES.items():
        figures[figure] = _case("d.payment_status = %s", [status])
    select, params = _select(_day_sql(f"d.{received_at}"), figures)
    sql = (
        f"SELECT {select} FROM {dossier} d "
        f"LEFT JOIN ({components}) c ON c.dossier_id = d.id "
        f"LEFT JOIN ({messages}) ms ON ms.dossier_id = d.id "
        f"LEFT JOIN ({payments}) p ON p.dossier_id = d.id "
        f"WHERE {where}"
    )
    params += [*digitised_params, *reused_params, *in_range_params]
    params += [str(SyncState.DELIVERED), str(SyncState.DELIVERED), *in_range_params]
    params += [str(PaymentState.PAID), *in_range_params]
    return sql, params + where_params


def _finished_part(start: dt.datetime | None, end: dt.datetime | None) -> Expression:
    finished_at = f"d.{_column(Dossier, 'finished_at')}"
    figures: dict[str, Expression] = {"finished": ("1", [])}
    for value, figure in TIMELINESS_FIGURES.items():
        figures[figure] = _case("d.timeliness = %s", [value])
    select, params = _select(_day_sql(finished_at), figures)
    where, where_params = _between(finished_at, start, end)
    received = f"d.{_column(Dossier, 'received_at')} IS NOT NULL"
    sql = f"SELECT {select} FROM {_table_of(Dossier)} d WHERE {where} AND {received}"
    return sql, params + where_params


def _rating_part(start: dt.datetime | None, end: dt.datetime | None) -> Expression:
    created_at = f"r.{_column(Rating, 'created_at')}"
    satisfied, satisfied_params = _in(SATISFIED)
    figures: dict[str, Expression] = {
        "ratings": ("1", []),
        "ratings_satisfied": _case(f"r.overall IN {satisfied}", satisfied_params),
        "ratings_very_satisfied": _case("r.overall = %s", [Satisfaction.VERY_SATISFIED]),
        "rating_score_sum": ("r.total", []),
    }
    select, params = _select(_day_sql(created_at), figures)
    where, where_params = _between(created_at, start, end)
    sql = (
        f"SELECT {select} FROM {_table_of(Rating)} r "
        f"JOIN {_table_of(Dossier)} d ON d.id = r.dossier_id WHERE {where}"
    )
    return sql, params + where_params


def _summed(source: str, keys: tuple[str, ...], where: str = "1 = 1") -> str:
    """``SELECT keys, SUM(figure) AS figure… FROM source WHERE where GROUP BY keys``."""
    sums = ", ".join(f"SUM({_quoted(name)}) AS {_quoted(name)}" for name in ROLLUP_FIGURES)
    grouped = ", ".join(keys)
    return f"SELECT {grouped}, {sums} FROM {source} WHERE {where} GROUP BY {grouped}"


def expected_sql(*, date_from: dt.date | None = None, date_to: dt.date | None = None) -> Expression:
    """The roll-up rows of the days in ``[date_from, date_to)`` (``None``: unbounded) recomputed from the raw
    tables, as one grouped SELECT (columns: day, unit_id, agency_id, procedure_id, then ``ROLLUP_FIGURES``):
    the received dossiers, the finished dossiers and the ratings, each a row per dossier, summed per day ×
    unit × agency × procedure."""
    start = _moment(date_from) if date_from else None
    end = _moment(date_to) if date_to else None
    parts = [_received_part(start, end), _finished_part(start, end), _rating_part(start, end)]
    union = " UNION ALL ".join(sql for sql, _params in parts)
    sql = _summed(f"({union}) parts", KEY_COLUMNS)
    return sql, [param for _sql, params in parts for param in params]


def _day_range(date_from: dt.date | None, date_to: dt.date | None, column: str) -> tuple[str, list[Any]]:
    parts, params = ["1 = 1"], []
    if date_from is not None:
        parts.append(f"{column} >= %s")
        params.append(connection.ops.adapt_datefield_value(date_from))
    if date_to is not None:
        parts.append(f"{column} < %s")
        params.append(connection.ops.adapt_datefield_value(date_to))
    return " AND ".join(parts), params


def agency_sums_sql(*, date_from: dt.date | None = None, date_to: dt.date | None = None) -> Expression:
    """The agency rows of the days in ``[date_from, date_to)`` as the sums of the daily rows (columns: day,
    unit_id, agency_id, then ``ROLLUP_FIGURES``)."""
    where, params = _day_range(date_from, date_to, _quoted("day"))
    return _summed(_table(), AGENCY_KEY_COLUMNS, where), params


def _replace(cursor: Any, model: Any, keys: tuple[str, ...], source: Expression, span: Expression) -> int:
    """Delete ``model``'s rows in ``span`` (a WHERE on the day) and insert those ``source`` selects."""
    table = _table(model)
    columns = ", ".join(_quoted(c) for c in (*keys, *ROLLUP_FIGURES, "updated_at"))
    selected = ", ".join([*keys, *(_quoted(name) for name in ROLLUP_FIGURES)])
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    cursor.execute(f"DELETE FROM {table} WHERE {span[0]}", span[1])
    cursor.execute(
        f"INSERT INTO {table} ({columns}) SELECT {selected}, %s FROM ({source[0]}) expected",
        [now, *source[1]],
    )
    return cursor.rowcount


def _month_of(column_sql: str) -> Expression:
    """The first day of the month of a date column, as a date."""
    if connection.vendor == "postgresql":
        return f"CAST(DATE_TRUNC('month', {column_sql}) AS DATE)", []
    sql, params = connection.ops.date_trunc_sql("month", column_sql, ())
    return sql, list(params)


def _months_covering(
    date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """The whole months that cover ``[date_from, date_to)``: the first day of the first one and of the month
    after the last one."""
    start = date_from.replace(day=1) if date_from is not None else None
    if date_to is None or date_to.day == 1:
        return start, date_to
    return start, month_after(date_to)


def month_sums_sql(*, month_from: dt.date | None = None, month_to: dt.date | None = None) -> Expression:
    """The agency-month rows of the months in ``[month_from, month_to)`` (first days) as the sums of the
    agency-day rows (columns: month, unit_id, agency_id, then ``ROLLUP_FIGURES``)."""
    month, month_params = _month_of(_quoted("day"))
    where, params = _day_range(month_from, month_to, _quoted("day"))
    figures = ", ".join(_quoted(name) for name in ROLLUP_FIGURES)
    source = (
        f"(SELECT {month} AS month, unit_id, agency_id, {figures} "
        f"FROM {_table(DossierAgencyDayRollup)} WHERE {where}) days"
    )
    return _summed(source, MONTH_KEY_COLUMNS), month_params + params


def month_rows_rebuild() -> int:
    """Replace every agency-month row with the sums of the agency-day rows; returns the rows written (the
    migration that adds them fills them so)."""
    with transaction.atomic(), connection.cursor() as cursor:
        everything = ("1 = 1", [])
        return _replace(cursor, DossierAgencyMonthRollup, MONTH_KEY_COLUMNS, month_sums_sql(), everything)


def rollups_rebuild(*, date_from: dt.date | None = None, date_to: dt.date | None = None) -> int:
    """Replace the roll-up rows of the days in ``[date_from, date_to)`` (``None``: unbounded) with their
    recomputation from the raw tables, then the agency-day rows of those days with the daily rows' sums,
    the agency-month rows of the months they fall in with the agency-day rows' sums, and every open-stock
    row; returns how many daily rows were written. On PostgreSQL the tables are locked against writers (not
    readers) meanwhile, so dossier changes made during the rebuild are counted once."""
    span = _day_range(date_from, date_to, _quoted("day"))
    month_from, month_to = _months_covering(date_from, date_to)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(
                _table(m) for m in (DossierDailyRollup, DossierAgencyDayRollup, DossierAgencyMonthRollup)
            )
            cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        expected = expected_sql(date_from=date_from, date_to=date_to)
        rows = _replace(cursor, DossierDailyRollup, KEY_COLUMNS, expected, span)
        sums = agency_sums_sql(date_from=date_from, date_to=date_to)
        _replace(cursor, DossierAgencyDayRollup, AGENCY_KEY_COLUMNS, sums, span)
        months = month_sums_sql(month_from=month_from, month_to=month_to)
        month_span = _day_range(month_from, month_to, _quoted("month"))
        _replace(cursor, DossierAgencyMonthRollup, MONTH_KEY_COLUMNS, months, month_span)
        _stocks_replace(cursor)
        return rows


def _stocks_counted_sql() -> Expression:
    """The open, received dossiers counted by unit, agency, local day of their due moment (NULL without
    one) and pause (0/1); columns in that order, then the count."""
    due, params = _day_sql(f"d.{_column(Dossier, 'due_at')}")
    statuses, status_params = _in(tuple(sorted(OPEN_STATUSES)))
    sql = (
        f"SELECT d.unit_id, d.agency_id, {due} AS due_day, "
        f"CASE WHEN d.{_column(Dossier, 'paused_since')} IS NULL THEN 0 ELSE 1 END AS paused, COUNT(*) AS n "
        f"FROM {_table_of(Dossier)} d "
        f"WHERE d.status IN {statuses} AND d.{_column(Dossier, 'received_at')} IS NOT NULL "
        "GROUP BY 1, 2, 3, 4"
    )
    return sql, params + status_params


def _stocks_from_counts(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, int]]:
    """The open-stock rows (by ``STOCK_KEY_COLUMNS``) of the counts of ``_stocks_counted_sql``."""
    out: dict[tuple[Any, ...], dict[str, int]] = {}
    for unit_id, agency_id, due_day, paused, count in rows:
        day = _as_date(due_day) if due_day is not None else NO_DUE_DAY
        _stock_rows(StockKey(int(unit_id), int(agency_id), day, bool(paused)), int(count), out)
    return out


def _stocks_replace(cursor: Any) -> int:
    """Replace every open-stock row with the recomputation from the open dossiers (locked against writers on
    PostgreSQL meanwhile); returns the rows written."""
    if connection.vendor == "postgresql":
        cursor.execute(f"LOCK TABLE {_table(DossierOpenStock)} IN EXCLUSIVE MODE")
    cursor.execute(*_stocks_counted_sql())
    rows = _stocks_from_counts(cursor.fetchall())
    cursor.execute(f"DELETE FROM {_table(DossierOpenStock)}")
    DossierOpenStock.objects.bulk_create(
        [
            DossierOpenStock(tier=tier, due=due, unit_id=unit_id, agency_id=agency_id, **figures)
            for (tier, due, unit_id, agency_id), figures in sorted(rows.items())
        ],
        batch_size=2000,
    )
    return len(rows)


def stocks_rebuild() -> int:
    """Replace the open-stock rows with their recomputation from the open dossiers; returns how many rows
    were written (the migration that adds them fills them so)."""
    with transaction.atomic(), connection.cursor() as cursor:
        return _stocks_replace(cursor)


def stocks_check() -> list[Mismatch]:
    """The stored open-stock figures that differ from the recomputation from the open dossiers (a missing
    row counts as zeros), in key order; one statement, so one consistent snapshot."""
    counted, params = _stocks_counted_sql()
    table = _table(DossierOpenStock)
    sql = (
        f"SELECT 0, unit_id, agency_id, due_day, '', paused, n FROM ({counted}) e UNION ALL "
        f"SELECT 1, unit_id, agency_id, due, tier, {_quoted('open')}, paused FROM {table}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    expected = _stocks_from_counts([row[1:4] + row[5:] for row in rows if row[0] == 0])
    stored = {(row[4], _as_date(row[3]), int(row[1]), int(row[2])): row[5:] for row in rows if row[0] == 1}
    mismatches = []
    for key in sorted(expected.keys() | stored.keys()):
        want = expected.get(key, dict.fromkeys(STOCK_FIGURES, 0))
        have = dict(zip(STOCK_FIGURES, stored.get(key, (0, 0)), strict=True))
        tier, due, unit_id, agency_id = key
        for name in STOCK_FIGURES:
            if int(want[name]) != int(have[name]):
                mismatches.append(
                    Mismatch(
                        key=RollupKey(due, unit_id, agency_id, 0),
                        figure=name,
                        stored=int(have[name]),
                        expected=int(want[name]),
                        kind=f"stock {tier}",
                    )
                )
    return mismatches


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _differences(
    *, model: Any, keys: tuple[str, ...], cte: str, span: Expression, padding_value: int = 0
) -> tuple[str, list[Any]]:
    """Two SELECTs (UNION ALL) of the rows of ``model`` in ``span`` (a WHERE on ``s``'s day) whose figures
    differ from those of the CTE ``cte`` (a missing row counts as zeros; stored rows of zeros are fine);
    columns: the four key columns (0 for those ``keys`` lacks), the expected figures, the stored ones."""
    table = _table(model)
    on = " AND ".join(f"s.{_quoted(c)} = {cte}.{_quoted(c)}" for c in keys)
    differs = " OR ".join(f"{cte}.{_quoted(n)} <> s.{_quoted(n)}" for n in ROLLUP_FIGURES)
    nonzero = " OR ".join(f"s.{_quoted(n)} <> 0" for n in ROLLUP_FIGURES)
    expected_columns = ", ".join(f"{cte}.{_quoted(n)}" for n in ROLLUP_FIGURES)
    stored_columns = ", ".join(f"s.{_quoted(n)}" for n in ROLLUP_FIGURES)
    nulls = ", ".join("NULL" for _name in ROLLUP_FIGURES)
    padding = "".join(f", {int(padding_value)}" for _c in KEY_COLUMNS[len(keys) :])
    e_keys = ", ".join(f"{cte}.{_quoted(c)}" for c in keys) + padding
    s_keys = ", ".join(f"s.{_quoted(c)}" for c in keys) + padding
    sql = (
        f"SELECT {e_keys}, {expected_columns}, {stored_columns} "
        f"FROM {cte} LEFT JOIN {table} s ON {on} WHERE s.id IS NULL OR {differs} "
        f"UNION ALL "
        f"SELECT {s_keys}, {nulls}, {stored_columns} "
        f"FROM {table} s WHERE {span[0]} AND ({nonzero}) AND NOT EXISTS (SELECT 1 FROM {cte} WHERE {on})"
    )
    return sql, list(span[1])


def rollups_check(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None, limit: int | None = None
) -> list[Mismatch]:
    """The stored roll-up figures of the days in ``[date_from, date_to)`` that differ from their
    recomputation from the raw tables (a missing row counts as zeros; stored rows of zeros are fine): the
    daily rows, then the agency rows (``key.procedure_id`` 0) against the same recomputation summed over the
    procedures; then the agency-month rows of the months those days fall in (``kind`` "month") against the
    sums of their agency-day rows; each in key order; then the open stocks (``stocks_check``: now, whatever
    the days). ``limit``
    caps the number of roll-up rows compared out (not of mismatches). One statement for the roll-ups, one
    for the stocks."""
    span = _day_range(date_from, date_to, f"s.{_quoted('day')}")
    expected, expected_params = expected_sql(date_from=date_from, date_to=date_to)
    by_agency = _summed("e", AGENCY_KEY_COLUMNS)
    daily, daily_params = _differences(model=DossierDailyRollup, keys=KEY_COLUMNS, cte="e", span=span)
    agency, agency_params = _differences(
        model=DossierAgencyDayRollup, keys=AGENCY_KEY_COLUMNS, cte="a", span=span
    )
    month_from, month_to = _months_covering(date_from, date_to)
    by_month, by_month_params = month_sums_sql(month_from=month_from, month_to=month_to)
    month_span = _day_range(month_from, month_to, f"s.{_quoted('month')}")
    months, months_params = _differences(
        model=DossierAgencyMonthRollup, keys=MONTH_KEY_COLUMNS, cte="mo", span=month_span, padding_value=-1
    )
    sql = (
        f"WITH e AS ({expected}), a AS ({by_agency}), mo AS ({by_month}) "
        f"{daily} UNION ALL {agency} UNION ALL {months}"
    )
    params = [*expected_params, *by_month_params, *daily_params, *agency_params, *months_params]
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    mismatches = []
    width, at = len(ROLLUP_FIGURES), len(KEY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        month_row = int(row[3]) == -1
        key = RollupKey(_as_date(row[0]), int(row[1]), int(row[2]), 0 if month_row else int(row[3]))
        expected_values, stored_values = row[at : at + width], row[at + width :]
        for name, want, have in zip(ROLLUP_FIGURES, expected_values, stored_values, strict=True):
            want, have = int(want or 0), int(have or 0)
            if want != have:
                kind = "month" if month_row else ""
                mismatches.append(Mismatch(key=key, figure=name, stored=have, expected=want, kind=kind))
    mismatches.sort(key=lambda m: (m.kind, m.key, ROLLUP_FIGURES.index(m.figure)))
    return mismatches + stocks_check()
