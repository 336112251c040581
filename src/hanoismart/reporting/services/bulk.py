"""Writing many rows of one table in one statement, from plain tuples rather than model instances.

A ward's report writes 300 values and 600 aggregates at once. ``bulk_create`` and ``bulk_update`` build and
prepare a model instance per row (and ``bulk_update`` one CASE per field and row), and a list of ids binds
one parameter per id. Here, on PostgreSQL: ``INSERT … SELECT FROM unnest(arrays)``, ``UPDATE … FROM
unnest(arrays)`` and ``DELETE … WHERE id = ANY(array)`` — one parameter per column however many rows;
elsewhere (SQLite) multi-row ``VALUES``, one ``UPDATE`` per row in a batch, and Django's delete.

Only for columns of numbers, decimals, text, booleans and aware datetimes. On PostgreSQL each column goes
as one array literal built here (``array_literal``): psycopg's list adapter escapes element by element with
regular expressions, which cost more than the rest of a 300-row write. The table and column names come from
the model, never from input. No signals, no ``auto_now``: callers set every column they write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]  # type: ignore[misc]


def _pk(model: type[models.Model]) -> models.Field:
    return model._meta.pk  # type: ignore[return-value]  # every model here has one


def _array(field: models.Field) -> str:
    # The element type the column has (bigint for a foreign key, numeric(28, 6), varchar(200), …).
    return f"%s::{field.db_type(connection)}[]"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("A naive datetime cannot be written in bulk.")
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)  # digits, sign, point, exponent: nothing to quote
    raise TypeError(f"Cannot write {type(value).__name__} in bulk.")


def array_literal(values: Iterable[Any]) -> str:
    """PostgreSQL's text form of an array of ``values`` (``{1,NULL,"a \\"b\\""}``), to cast to the column's
    array type."""
    return "{" + ",".join(map(_element, values)) + "}"


def _columns(rows: Sequence[Sequence[Any]]) -> list[str]:
    return [array_literal(column) for column in zip(*rows, strict=True)]


def rows_insert(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (one value per name in ``names``, attribute names such as ``indicator_id``)."""
    if not rows:
        return
    fields = _fields(model, names)
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(_array(field) for field in fields)
            cursor.execute(f"{head} SELECT * FROM unnest({arrays})", _columns(rows))  # noqa: S608
            return
        placeholders = f"({', '.join(['%s'] * len(fields))})"
        batch = max(connection.ops.bulk_batch_size(fields, rows), 1)
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            params = [
                field.get_db_prep_save(value, connection)
                for row in chunk
                for field, value in zip(fields, row, strict=True)
            ]
            cursor.execute(f"{head} VALUES {', '.join([placeholders] * len(chunk))}", params)


def rows_update(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Set the columns ``names`` of existing rows: each row is (primary key, one value per name)."""
    if not rows:
        return
    fields = _fields(model, names)
    pk = _pk(model)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            aliases = [f"c{number}" for number in range(len(fields))]
            assignments = ", ".join(
                f"{quote(field.column)} = v.{alias}" for field, alias in zip(fields, aliases, strict=True)
            )
            arrays = ", ".join(_array(field) for field in [pk, *fields])
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) "  # noqa: S608
                f"AS v(id, {', '.join(aliases)}) WHERE t.{quote(pk.column)} = v.id",
                _columns(rows),
            )
            return
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {quote(pk.column)} = %s",  # noqa: S608
            [
                [
                    *(
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(fields, row[1:], strict=True)
                    ),
                    row[0],
                ]
                for row in rows
            ],
        )


def rows_delete(model: type[models.Model], ids: Sequence[int]) -> None:
    """Delete the rows with these primary keys (a table nothing refers to: no cascade is looked for)."""
    if not ids:
        return
    if connection.vendor == "postgresql":
        pk = _pk(model)
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(pk.column)} = ANY(%s::bigint[])",  # noqa: S608
                [array_literal(ids)],
            )
        return
    model._default_manager.filter(pk__in=list(ids)).delete()
