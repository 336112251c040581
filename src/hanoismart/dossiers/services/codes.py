"""Dossier codes ``{agency code}-{yyMMdd}-{nnnn}``: a daily sequence per agency, without gaps or duplicates.

The number is taken by one upsert (INSERT … ON CONFLICT DO UPDATE SET last_number = last_number + 1
RETURNING last_number) inside the caller's transaction: on PostgreSQL the row lock makes concurrent filings to
one agency wait for each other's commit (the first of the day included: a second insert waits on the first's
key, then updates), on SQLite the write lock does; a rolled-back filing rolls its number back too, so numbers
stay consecutive. One statement instead of get_or_create + UPDATE + SELECT (a savepoint and five queries).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from hanoismart.dossiers.models import DossierCodeSequence


def _upsert_sql(quote) -> str:
    table = quote(DossierCodeSequence._meta.db_table)
    agency, day, last = (
        quote(DossierCodeSequence._meta.get_field(name).column)
        for name in ("agency_code", "day", "last_number")
    )
    # Both PostgreSQL and SQLite (3.35+) take this upsert with RETURNING; the conflict target is the
    # model's unique constraint dossier_code_sequence_unique.
    return (
        f"INSERT INTO {table} ({agency}, {day}, {last}) VALUES (%s, %s, 1) "  # noqa: S608 - names from _meta
        f"ON CONFLICT ({agency}, {day}) DO UPDATE SET {last} = {table}.{last} + 1 "
        f"RETURNING {last}"
    )


def dossier_code_allocate(*, agency_code: str, on_date: dt.date) -> str:
    """The next code of ``agency_code`` on ``on_date``; call inside the transaction that saves the dossier."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("dossier_code_allocate must run inside the filing's transaction.")
    with connection.cursor() as cursor:
        cursor.execute(
            _upsert_sql(connection.ops.quote_name),
            [agency_code, connection.ops.adapt_datefield_value(on_date)],
        )
        (number,) = cursor.fetchone()
    return f"{agency_code}-{on_date:%y%m%d}-{number:04d}"
