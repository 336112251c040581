"""Reads of the procedure catalog: search, detail, fields, and the fee a resident pays by channel and date."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

from django.db import connections, models
from django.db.models import Prefetch, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from hanoismart.common.errors import NotFound
from hanoismart.common.queries import kept_cursor
from hanoismart.common.text import fold
from hanoismart.directory.models import Agency
from hanoismart.procedures.models import Case, Component, Fee, FeeSetter, Field, Procedure, WorkflowStep

#: From this date Hanoi waives city-council fees for online filing and pays Ministry-of-Finance fees itself.
ONLINE_FEE_RULES_FROM = dt.date(2026, 1, 1)

Channel = Literal["online", "counter"]


@dataclass(frozen=True)
class FeeLine:
    """One fee of a quote: its full amount, and who pays how much of it."""

    name: str
    kind: str
    set_by: str
    amount: int
    resident_pays: int
    city_pays: int
    note: str = ""


@dataclass(frozen=True)
class FeeQuote:
    """What filing a case costs on one channel and date: the resident's part and the city's part."""

    channel: str
    on_date: dt.date
    lines: list[FeeLine] = dataclass_field(default_factory=list)
    postal_return_free: bool = False

    @property
    def resident_pays(self) -> int:
        return sum(line.resident_pays for line in self.lines)

    @property
    def city_pays(self) -> int:
        return sum(line.city_pays for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def fee_for(*, case: Case, channel: Channel, on_date: dt.date) -> FeeQuote:
    """The fees of ``case`` filed on ``channel`` on ``on_date``, under Hanoi's rules from 1 January 2026:
    online, city-council fees are 0 and Ministry-of-Finance fees are paid by the city (the amount is still
    recorded); results returned by post are free of postage. Before that date, everyone pays in full."""
    if channel not in ("online", "counter"):
        raise ValueError(f"unknown channel {channel!r}")
    rules_apply = on_date >= ONLINE_FEE_RULES_FROM
    lines = []
    for fee in case.fees.all():
        resident, city, amount = fee.amount, 0, fee.amount
        if rules_apply and channel == "online":
            if fee.set_by == FeeSetter.CITY_COUNCIL:
                resident, amount = 0, 0
            else:
                resident, city = 0, fee.amount
        lines.append(
            FeeLine(
                name=fee.name,
                kind=fee.kind,
                set_by=fee.set_by,
                amount=amount,
                resident_pays=resident,
                city_pays=city,
                note=fee.note,
            )
        )
    return FeeQuote(channel=channel, on_date=on_date, lines=lines, postal_return_free=rules_apply)


def procedure_search(
    *,
    query: str = "",
    field: str | None = None,
    level: str | None = None,
    subject: str | None = None,
) -> QuerySet[Procedure]:
    """Active procedures matching ``query`` without regard to diacritics: name matches first, then field
    matches (or national/local code), each by popularity; filtered by field code, level and subject."""
    procedures = Procedure.objects.filter(is_active=True).select_related("field")
    if field:
        procedures = procedures.filter(field__code=field)
    if level:
        procedures = procedures.filter(level=level)
    if subject:
        # JSON containment is not on SQLite; a list of short codes is safely matched as quoted text.
        procedures = procedures.filter(subjects__icontains=f'"{subject}"')
    folded = fold(query)
    if not folded:
        return procedures.order_by("-popularity", "name")
    by_name = Q()
    for word in folded.split():
        by_name &= Q(name_folded__contains=word)
    by_code = Q(national_code=query.strip()) | Q(local_code__iexact=query.strip())
    by_field = Q(field__name_folded__contains=folded)
    return (
        procedures.filter(by_name | by_code | by_field)
        .annotate(
            rank=models.Case(
                When(by_code, then=Value(0)),
                When(by_name, then=Value(1)),
                default=Value(2),
                output_field=models.IntegerField(),
            )
        )
        .order_by("rank", "-popularity", "name")
    )


def procedure_detail(*, code: str) -> Procedure:
    """An active procedure by national code, with its cases and everything in them (NotFound otherwise)."""
    cases = Case.objects.prefetch_related(
        Prefetch("fees", queryset=Fee.objects.order_by("id")), "components", "steps"
    )
    procedure = (
        Procedure.objects.filter(national_code=code, is_active=True)
        .select_related("field", "agency")
        .prefetch_related(Prefetch("cases", queryset=cases))
        .first()
    )
    if procedure is None:
        raise NotFound(_("No procedure has this code."))
    return procedure


def field_list(*, level: str | None = None) -> QuerySet[Field]:
    """Every field that has at least one active procedure (at ``level``, when given), by name."""
    procedures = Q(procedures__is_active=True)
    if level:
        procedures &= Q(procedures__level=level)
    return Field.objects.filter(procedures).distinct().order_by("name")


# -- one case for filing, kept per process ------------------------------------------------------------------
#
# Every online filing needs the same catalog rows of its case: the case, its procedure and the procedure's
# agency, the papers, the steps and the fees. Building them through the ORM costs a filing four queries and a
# good part of its CPU. A process keeps them instead, and before each use reads the same rows' versions (on
# PostgreSQL; their content elsewhere) in one plain SQL statement (no ORM to compile, nothing to build): the
# copy is used only when every row is as it was, so any edit of the catalog (admin, import, another process
# or machine) shows at the next filing, and there is no invalidation to forget.

#: The rows a filing's case is made of: (model, its column, the chosen case's column it matches).
_FINGERPRINT_PARTS = (
    (Case, "id", "case_id"),
    (Procedure, "id", "procedure_id"),
    (Agency, "id", "agency_id"),
    (Fee, "case_id", "case_id"),
    (Component, "case_id", "case_id"),
    (WorkflowStep, "case_id", "case_id"),
)
_filing_cases: dict[tuple[str, str, str], tuple[list[tuple], Case]] = {}
_filing_cases_lock = threading.Lock()
_FILING_CASES_MAX = 4096  # far above the catalog's busy cases; past it, start afresh


def _versions_sql(connection) -> str:
    """PostgreSQL: one row with the version of each of the case's catalog rows — xmin (the transaction that
    wrote it) and ctid (where this version lies) — the fees', papers' and steps' in arrays by id. Every
    UPDATE writes a new version elsewhere (a second one in the same transaction too: ctid moves even when
    xmin does not), an INSERT or DELETE changes an array; a VACUUM FULL or CLUSTER that moves rows only
    costs a re-read. Far cheaper than casting every column (the form's JSON schema) to text and sending
    it back, and simpler to plan than a UNION of six."""
    quote = connection.ops.quote_name

    def table(model: Any) -> str:
        return quote(model._meta.db_table)

    def version(alias: str) -> str:
        return f"{alias}.xmin::text || {alias}.ctid::text"

    rows = [
        f"ARRAY(SELECT {version('x')} FROM {table(model)} x "  # noqa: S608 - names from _meta
        f"WHERE x.{quote(model._meta.get_field('case').column)} = c.id ORDER BY x.id)"
        for model in (Fee, Component, WorkflowStep)
    ]
    return (
        f"SELECT {version('c')}, {version('p')}, {version('a')}, {', '.join(rows)} "  # noqa: S608
        f"FROM {table(Case)} c JOIN {table(Procedure)} p ON p.id = c.procedure_id "
        f"LEFT JOIN {table(Agency)} a ON a.id = p.agency_id WHERE p.national_code = %s AND c.code = %s"
    )


def _fingerprint_sql(connection) -> str:
    """One statement that tells whether the case's catalog rows changed: their versions on PostgreSQL
    (``_versions_sql``), elsewhere every column of them, as text, in a fixed order. Its only parameters are
    the procedure's national code and the case's code."""
    if connection.vendor == "postgresql":
        return _versions_sql(connection)
    quote = connection.ops.quote_name
    case, procedure = quote(Case._meta.db_table), quote(Procedure._meta.db_table)
    # Table and column names come from the models' metadata, never from input; the codes are parameters.
    codes = "p.national_code = %s AND c.code = %s"
    chosen_columns = "c.id AS case_id, c.procedure_id AS procedure_id, p.agency_id AS agency_id"
    joined = f"{case} c JOIN {procedure} p ON p.id = c.procedure_id"
    chosen = f"WITH chosen AS (SELECT {chosen_columns} FROM {joined} WHERE {codes}) "  # noqa: S608
    width = max(len(model._meta.concrete_fields) for model, _, _ in _FINGERPRINT_PARTS)
    selects = []
    for tag, (model, column, key) in enumerate(_FINGERPRINT_PARTS):
        columns = [f"CAST(x.{quote(field.column)} AS TEXT)" for field in model._meta.concrete_fields]
        columns += ["CAST(NULL AS TEXT)"] * (width - len(columns))
        source = f"{quote(model._meta.db_table)} x JOIN chosen ON x.{quote(column)} = chosen.{key}"
        selects.append(f"SELECT {tag}, x.id, {', '.join(columns)} FROM {source}")  # noqa: S608
    return chosen + " UNION ALL ".join(selects) + " ORDER BY 1, 2"


def _catalog_rows(connection, procedure_code: str, case_code: str) -> list[tuple]:
    sql = getattr(connection, "_hanoismart_case_fingerprint_sql", None)
    if sql is None:
        sql = connection._hanoismart_case_fingerprint_sql = _fingerprint_sql(connection)
    cursor = kept_cursor(connection.alias)
    cursor.execute(sql, [procedure_code, case_code])
    return [tuple(row) for row in cursor.fetchall()]


def case_for_filing(*, procedure_code: str, case_code: str, using: str = "default") -> Case | None:
    """The case ``case_code`` of the active procedure ``procedure_code``, with its procedure and the
    procedure's agency, and its papers, steps and fees prefetched (``case.components.all()`` and the others
    read nothing); None when there is no such case. A process keeps the rows and checks them against the
    database on every call (one plain SQL read), so a catalog edit counts at once. The caller gets its own
    copy: what it caches on the instances stays with it."""
    connection = connections[using]
    rows = _catalog_rows(connection, procedure_code, case_code)
    key = (using, procedure_code, case_code)
    kept = _filing_cases.get(key)
    if kept is None or kept[0] != rows:
        case = (
            Case.objects.using(using)
            .select_related("procedure__agency")
            .prefetch_related(Prefetch("fees", queryset=Fee.objects.order_by("id")), "components", "steps")
            .filter(procedure__national_code=procedure_code, code=case_code, procedure__is_active=True)
            .first()
        )
        if case is None:
            return None
        with _filing_cases_lock:
            if len(_filing_cases) >= _FILING_CASES_MAX:
                _filing_cases.clear()
            # The rows read before the case: if an edit fell in between, the next call reads again.
            _filing_cases[key] = (rows, case)
        return _copy_of(case)
    return _copy_of(kept[1])


def _clone(instance: Any) -> Any:
    """A new instance with the same field values and its own state and relation cache (what
    ``copy.copy`` makes of a model, without going through pickling's protocol)."""
    clone = instance.__class__.__new__(instance.__class__)
    clone.__dict__ = instance.__dict__.copy()
    clone._state = copy.copy(instance._state)
    clone._state.fields_cache = instance._state.fields_cache.copy()
    return clone


def _copy_of(case: Case) -> Case:
    """A copy of the kept case, its procedure, agency, papers, steps and fees: instances of its own, so a
    relation one caller loads (``agency.unit``) is not kept for the next. (``copy.deepcopy`` would drop the
    prefetched rows: a QuerySet copies without its results.) Field values such as the form schema are
    shared: callers read them, never change them."""
    copied = _clone(case)
    procedure = _clone(case.procedure)
    if procedure.agency_id is not None:
        procedure._state.fields_cache["agency"] = _clone(case.procedure.agency)
    copied._state.fields_cache["procedure"] = procedure
    copied._prefetched_objects_cache = {}
    prefetched = {}
    for name in ("fees", "components", "steps"):
        rows = [_clone(row) for row in case._prefetched_objects_cache[name]]
        for row in rows:
            row._state.fields_cache["case"] = copied
        queryset = getattr(copied, name).all()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        prefetched[name] = queryset
    copied._prefetched_objects_cache = prefetched
    return copied
