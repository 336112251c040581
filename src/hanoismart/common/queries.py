"""Reads the ORM compiles once: for a hot query whose shape never changes, building the SQL (filters, joins,
``select_related``) costs more than running it. ``CompiledQuery`` compiles a queryset once per thread and
database with placeholder values, then runs the SQL with the real ones and builds the rows or instances as
the ORM would (``Model.from_db``, the compiler's converters, ``select_related`` populators)::

    _COMMITTEE = CompiledQuery(
        lambda unit_id: Agency.objects.filter(unit_id=unit_id, is_active=True).select_related("unit")[:1],
        unit_id=Param(Agency._meta.get_field("unit"), -1),
    )
    agency = next(iter(_COMMITTEE.instances(unit_id=7)), None)

A ``Param(..., many=True)`` stands for the list of an ``__in`` lookup: the SQL is compiled for lists of 1, 2,
4, 8... values and a shorter list is padded by repeating its last value (the same rows), so a few statements
cover every length. Queries run on the connection's kept cursor (``kept_cursor``), logged and wrapped as
``connection.cursor()``'s, so they count in ``CaptureQueriesContext``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model, QuerySet
from django.db.models.query import get_related_populators


@dataclass(frozen=True, slots=True)
class Param:
    """A value the compiled SQL takes at each run. ``field`` prepares it for the database as a lookup on that
    field would; ``placeholder`` stands for it while compiling and must appear nowhere else in the query's
    parameters (with ``many=True``, it is the first of the placeholders ``placeholder``, ``placeholder + 1``,
    ... or, given a callable, ``placeholder(i)``)."""

    field: Field
    placeholder: Any
    many: bool = False

    def placeholders(self, count: int) -> list[Any]:
        if callable(self.placeholder):
            return [self.placeholder(i) for i in range(count)]
        return [self.placeholder + i for i in range(count)]


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    params: list[Any]
    # for each Param, by name: the positions of its values in ``params``
    slots: dict[str, list[int]]
    # (position in the row, the column's converters, its expression), as the compiler applies them
    converters: list[tuple[int, list[Callable[..., Any]], Any]]
    model: type[Model]
    init_list: list[str]
    model_fields: slice
    populators: list[Any]
    annotations: dict[str, int]


# Where a connection keeps its cursor.
_KEPT_CURSOR = "_hanoismart_statement_cursor"


def kept_cursor(alias: str) -> Any:
    """A cursor on the connection ``alias``, kept with that connection (a new one when Django reconnects):
    what ``connections[alias].cursor()`` gives, health check and query logging included, without making a
    new database cursor (psycopg: a copy of the adapters) for every query. Do not close it."""
    connection = connections[alias]
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    kept = connection.__dict__.get(_KEPT_CURSOR)
    if kept is None or kept[0] is not connection.connection:
        with connection.wrap_database_errors:
            kept = (connection.connection, connection.create_cursor())
        connection.__dict__[_KEPT_CURSOR] = kept
    # Wrapped per use: the debug wrapper while queries are being captured (tests, benchmarks), as Django does.
    return connection._prepare_cursor(kept[1])


def _bucket(count: int) -> int:
    size = 1
    while size < count:
        size *= 2
    return size


class CompiledQuery:
    """``build(**placeholders)`` returns the queryset; it is compiled once per thread, database and list
    lengths (converters may be bound to the thread's connection). ``rows`` gives converted rows (for a
    ``values_list`` queryset), ``instances`` the model instances with their ``select_related`` relations."""

    def __init__(self, build: Callable[..., QuerySet[Any]], **params: Param) -> None:
        self.build = build
        self.params = params
        self._local = threading.local()
        self._queried_model: type[Model] | None = None

    def _statement(self, alias: str, sizes: tuple[int, ...]) -> _Statement:
        cache = self._local.__dict__.setdefault("by_key", {})
        statement = cache.get((alias, sizes))
        if statement is not None:
            return statement
        connection = connections[alias]
        placeholders = {
            name: param.placeholders(size) if param.many else param.placeholder
            for (name, param), size in zip(self.params.items(), sizes, strict=True)
        }
        compiler = self.build(**placeholders).using(alias).query.get_compiler(using=alias)
        sql, sql_params = compiler.as_sql()
        sql_params = list(sql_params)
        slots: dict[str, list[int]] = {}
        for name, param in self.params.items():
            values = placeholders[name] if param.many else [placeholders[name]]
            positions = []
            for value in values:
                prepared = param.field.get_db_prep_value(value, connection, prepared=False)
                found = [i for i, p in enumerate(sql_params) if type(p) is type(prepared) and p == prepared]
                if len(found) != 1:
                    raise ValueError(
                        f"The placeholder {value!r} of {name} is not one parameter of the query."
                    )
                positions.append(found[0])
            slots[name] = positions
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        klass_info = compiler.klass_info
        model_fields = slice(0)
        init_list: list[str] = []
        populators: list[Any] = []
        if klass_info is not None and not compiler.query.values_select:  # instances, not values
            select_fields = klass_info["select_fields"]
            model_fields = slice(select_fields[0], select_fields[-1] + 1)
            init_list = [column[0].target.attname for column in compiler.select[model_fields]]
            populators = get_related_populators(klass_info, compiler.select, alias)
        statement = cache[(alias, sizes)] = _Statement(
            sql=sql,
            params=sql_params,
            slots=slots,
            converters=[
                (position, functions, expression)
                for position, (functions, expression) in compiler.get_converters(columns).items()
            ],
            model=compiler.query.model,
            init_list=init_list,
            model_fields=model_fields,
            populators=populators,
            annotations=dict(compiler.annotation_col_map or {}),
        )
        return statement

    def _run(
        self, values: dict[str, Any], using: str | None
    ) -> tuple[_Statement | None, str, list[list[Any]]]:
        if values.keys() != self.params.keys():
            raise TypeError(f"Expected the values {sorted(self.params)}, got {sorted(values)}.")
        alias = using or router.db_for_read(self._model())
        lists: dict[str, Sequence[Any]] = {}
        sizes = []
        for name, param in self.params.items():
            if param.many:
                given = list(values[name])
                if not given:  # ``__in`` an empty list matches nothing: no query, as the ORM
                    return None, alias, []
                lists[name] = given
                sizes.append(_bucket(len(given)))
            else:
                sizes.append(1)
        statement = self._statement(alias, tuple(sizes))
        connection = connections[alias]
        sql_params = statement.params.copy()
        for name, param in self.params.items():
            positions = statement.slots[name]
            given = lists[name] if param.many else [values[name]]
            given = list(given) + [given[-1]] * (len(positions) - len(given))
            for position, value in zip(positions, given, strict=True):
                sql_params[position] = param.field.get_db_prep_value(value, connection, prepared=False)
        cursor = kept_cursor(alias)
        cursor.execute(statement.sql, sql_params)
        rows = [list(row) for row in cursor.fetchall()]
        for row in rows:
            for position, functions, expression in statement.converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
        return statement, alias, rows

    def _model(self) -> type[Model]:
        if self._queried_model is None:  # built once with placeholders, for the router
            placeholders = {
                name: param.placeholders(1) if param.many else param.placeholder
                for name, param in self.params.items()
            }
            self._queried_model = self.build(**placeholders).model
        return self._queried_model

    def rows(self, *, using: str | None = None, **values: Any) -> list[list[Any]]:
        """The query's rows with ``values`` for its parameters, each column converted as the ORM would."""
        return self._run(values, using)[2]

    def instances(self, *, using: str | None = None, **values: Any) -> list[Any]:
        """The query's model instances with ``values`` for its parameters, with their ``select_related``
        relations and annotations, as iterating the queryset would build them."""
        statement, alias, rows = self._run(values, using)
        found: list[Any] = []
        if statement is None:
            return found
        for row in rows:
            instance = statement.model.from_db(alias, statement.init_list, row[statement.model_fields])
            for populator in statement.populators:
                populator.populate(row, instance)
            for name, position in statement.annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found
