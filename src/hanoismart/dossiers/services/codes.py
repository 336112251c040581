"""Dossier codes ``{agency code}-{yyMMdd}-{nnnn}``: a daily sequence per agency, without gaps or duplicates.

The number is taken by one upsert (INSERT … ON CONFLICT DO UPDATE SET last_number = last_number + 1
RETURNING last_number) inside the caller's transaction: on PostgreSQL the row lock makes concurrent filings to
one agency wait for each other's commit (the first of the day included: a second insert waits on the first's
key, then updates), on SQLite the write lock does; a rolled-back filing rolls its number back too, so numbers
stay consecutive. One statement instead of get_or_create + UPDATE + SELECT (a savepoint and five queries).

A new dossier takes its code with ``dossier_insert_coded``: on PostgreSQL the upsert is a CTE of the dossier's
own INSERT, which reads the code it makes (one statement, and a dossier refused by a unique constraint — a
retried filing — takes no number); elsewhere the upsert, then the INSERT.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.db import connections, transaction

from hanoismart.dossiers.models import Dossier, DossierCodeSequence
from hanoismart.dossiers.services import base

# The number's four digits, in SQL as in ``_code`` (more digits past 9999, never cut).
_NUMBER_SQL = "CASE WHEN {n} < 10000 THEN lpad({n}::text, 4, '0') ELSE {n}::text END"


def _prefix(agency_code: str, on_date: dt.date) -> str:
    return f"{agency_code}-{on_date:%y%m%d}-"


def _code(prefix: str, number: int) -> str:
    return f"{prefix}{number:04d}"


@functools.lru_cache(maxsize=8)
def _upsert_sql(alias: str, *, as_code: bool = False) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(DossierCodeSequence._meta.db_table)
    agency, day, last = (
        quote(DossierCodeSequence._meta.get_field(name).column)
        for name in ("agency_code", "day", "last_number")
    )
    # Both PostgreSQL and SQLite (3.35+) take this upsert with RETURNING; the conflict target is the
    # model's unique constraint dossier_code_sequence_unique. ``as_code`` (PostgreSQL): the whole code.
    returning = f"%s || {_NUMBER_SQL.format(n=last)} AS code" if as_code else last
    return (
        f"INSERT INTO {table} ({agency}, {day}, {last}) VALUES (%s, %s, 1) "  # noqa: S608 - names from _meta
        f"ON CONFLICT ({agency}, {day}) DO UPDATE SET {last} = {table}.{last} + 1 "
        f"RETURNING {returning}"
    )


def _in_transaction(alias: str) -> None:
    if not connections[alias].in_atomic_block:
        raise RuntimeError("A dossier code must be taken inside the filing's transaction.")


def dossier_code_allocate(*, agency_code: str, on_date: dt.date) -> str:
    """The next code of ``agency_code`` on ``on_date``; call inside the transaction that saves the dossier."""
    connection = transaction.get_connection()
    _in_transaction(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(
            _upsert_sql(connection.alias), [agency_code, connection.ops.adapt_datefield_value(on_date)]
        )
        (number,) = cursor.fetchone()
    return _code(_prefix(agency_code, on_date), number)


def dossier_insert_coded(dossier: Dossier, *, on_date: dt.date) -> Dossier:
    """Give the new ``dossier`` the next code of its agency on ``on_date`` and insert it (its primary key
    set), inside the filing's transaction. An IntegrityError (a retry's idempotency key) leaves no number
    taken once the transaction is rolled back."""
    connection = transaction.get_connection()
    _in_transaction(connection.alias)
    agency_code = dossier.agency.code
    if connection.vendor != "postgresql":
        dossier.code = dossier_code_allocate(agency_code=agency_code, on_date=on_date)
        base.rows_write(base.rows_insert(Dossier, [dossier]))
        return dossier
    allocation = base.Rows(
        sql=_upsert_sql(connection.alias, as_code=True),
        params=[agency_code, connection.ops.adapt_datefield_value(on_date), _prefix(agency_code, on_date)],
        name="allocated",
    )
    insert = base.rows_insert(
        Dossier, [dossier], computed={"code": ("(SELECT code FROM allocated)", [])}, returning=("code",)
    )
    base.rows_write([allocation, *insert])
    return dossier
