"""SQL statements made once per process from a model's ``_meta``, for the token endpoint's hot path.

Compiling a statement through the ORM costs more CPU than running it (about 1 ms against 0.3 ms for a
one-row statement on the bench machine, bench/README.md). These build the SQL text once per database and
then only adapt values and read rows, exactly as the ORM does: ``pre_save`` and ``get_db_prep_save`` on the
way in (``auto_now``, django-oauth-toolkit's token checksum, JSON), the backend's and the field's converters
on the way out. They send no model signals (HanoiSmart connects none to these models), and an instance's
related objects must be saved before it is.

They all run on one cursor per database connection (``common.queries.kept_cursor``): Django opens a new
cursor for every query, and psycopg sets up its adapters again for each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

from hanoismart.audit.services import SavePlan, prep_save, save_plan
from hanoismart.common.queries import kept_cursor

M = TypeVar("M", bound=models.Model)


class PreparedInsert(Generic[M]):
    """``instance.save()`` for a new row, as one INSERT whose text is built once per database."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._compiled: dict[str, tuple[SavePlan, str, bool]] = {}

    def _compile(self, connection: BaseDatabaseWrapper) -> tuple[SavePlan, str, bool]:
        compiled = self._compiled.get(connection.alias)
        if compiled is None:
            meta = self.model._meta
            auto = meta.auto_field
            fields = [f for f in meta.local_concrete_fields if f is not auto and not f.generated]
            quote = connection.ops.quote_name
            returning = ""
            if auto is not None and connection.features.can_return_columns_from_insert:
                returning, _params = connection.ops.return_insert_columns([auto])
            sql = "INSERT INTO {} ({}) VALUES ({}) {}".format(  # noqa: S608 - names from _meta
                quote(meta.db_table),
                ", ".join(quote(f.column) for f in fields),
                ", ".join(["%s"] * len(fields)),
                returning,
            )
            plan = save_plan(fields, connection)
            compiled = self._compiled[connection.alias] = (plan, sql.rstrip(), bool(returning))
        return compiled

    def __call__(self, instance: M) -> M:
        """Insert ``instance`` and give it its primary key, as ``save(force_insert=True)`` would."""
        alias = router.db_for_write(self.model, instance=instance)
        connection = connections[alias]
        plan, sql, returns = self._compile(connection)
        values = prep_save(plan, [field.pre_save(instance, True) for field, _kind in plan], connection)
        auto = self.model._meta.auto_field
        cursor = kept_cursor(alias)
        cursor.execute(sql, values)
        if auto is not None:
            if returns:
                pk = cursor.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(cursor, self.model._meta.db_table, auto.column)
            setattr(instance, auto.attname, pk)
        instance._state.adding = False
        instance._state.db = alias
        return instance


class ModelColumns(Generic[M]):
    """Some or all of a model's columns in a hand-written SELECT (under a table alias), and the values, or the
    instance, the ORM would have made from them."""

    def __init__(self, model: type[M], table_alias: str, field_names: Sequence[str] | None = None) -> None:
        self.model = model
        self.table_alias = table_alias
        if field_names is None:
            self.fields = list(model._meta.concrete_fields)
        else:
            self.fields = [model._meta.get_field(name) for name in field_names]
        self._converters: dict[str, list[tuple[Any, list[Callable]]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select_list(self, connection: BaseDatabaseWrapper) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(self.table_alias)}.{quote(f.column)}" for f in self.fields)

    def convert(self, values: Sequence[Any], connection: BaseDatabaseWrapper) -> list[Any]:
        """The Python values the ORM would have made from these column values."""
        converters = self._converters.get(connection.alias)
        if converters is None:
            converters = []
            for field in self.fields:
                column = field.get_col(self.table_alias)
                converters.append(
                    (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
                )
            self._converters[connection.alias] = converters
        converted = []
        for value, (column, field_converters) in zip(values, converters, strict=True):
            for convert in field_converters:
                value = convert(value, column, connection)
            converted.append(value)
        return converted

    def instance(self, values: Sequence[Any], connection: BaseDatabaseWrapper) -> M:
        """The instance the ORM would have made from these column values (all the model's columns)."""
        return self.model.from_db(connection.alias, None, self.convert(values, connection))


class RowInsert(Generic[M]):
    """A new row of ``model`` from plain values by attribute name, without a model instance: the INSERT's text
    made once per database and shape, the values prepared with the fields' ``get_db_prep_save`` as ``save()``
    prepares them. ``pre_save`` does not run: the caller gives ``auto_now`` times and derived columns (a
    token's checksum) itself.

    ``computed`` gives some columns an SQL expression instead of a parameter (the primary key a common table
    of the same statement returned, say); ``source`` makes it ``INSERT ... SELECT ... FROM source``, which
    inserts the row only when ``source`` (a common table) has one.
    """

    def __init__(self, model: type[M]) -> None:
        meta = model._meta
        self.model = model
        self.fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
        self._sql: dict[tuple[Any, ...], str] = {}
        self._plans: dict[tuple[str, frozenset[str]], tuple[SavePlan, list[str]]] = {}

    def sql(
        self,
        connection: BaseDatabaseWrapper,
        *,
        computed: dict[str, str] | None = None,
        source: str | None = None,
        returning_pk: bool = False,
    ) -> str:
        computed = computed or {}
        key = (connection.alias, tuple(computed.items()), source, returning_pk)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            meta = self.model._meta
            columns = ", ".join(quote(f.column) for f in self.fields)
            values = ", ".join(computed.get(f.attname, "%s") for f in self.fields)
            sql = f"INSERT INTO {quote(meta.db_table)} ({columns})"
            # names from _meta, expressions and source from code
            sql += f" SELECT {values} FROM {source}" if source else f" VALUES ({values})"  # noqa: S608
            if returning_pk:
                sql += f" RETURNING {quote(meta.pk.column)}"
            sql = self._sql[key] = sql
        return sql

    def params(
        self, connection: BaseDatabaseWrapper, values: dict[str, Any], *, computed: Collection[str] = ()
    ) -> list[Any]:
        """The parameters of ``sql(..., computed=...)``: every column's value but the computed ones."""
        key = (connection.alias, frozenset(computed))
        planned = self._plans.get(key)
        if planned is None:
            fields = [f for f in self.fields if f.attname not in computed]
            planned = self._plans[key] = (save_plan(fields, connection), [f.attname for f in fields])
        plan, names = planned
        return prep_save(plan, [values[name] for name in names], connection)
