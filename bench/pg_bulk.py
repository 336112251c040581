"""Loading millions of rows into PostgreSQL for a benchmark (bench/ioc_data.py): empty the tables and drop
their keys and indexes for the load, put them back after it in the same transaction, binary COPY of values
given already in wire form, and fewer checkpoints meanwhile."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format


def keys_and_indexes(
    cursor, tables: list[str]
) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str]]]:
    """The primary keys, unique and foreign keys on or pointing at ``tables`` (table, name, kind, definition)
    and their other indexes (name, CREATE INDEX statement)."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype IN ('p', 'u', 'f')
          AND (c.conrelid = ANY(%s::regclass[]) OR c.confrelid = ANY(%s::regclass[]))
        """,
        [tables, tables],
    )
    keys = sorted(set(cursor.fetchall()), key=lambda row: ("puf".index(row[2]), row[0], row[1]))
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.tablename, i.indexname
        """,
        [tables],
    )
    return keys, cursor.fetchall()


@contextlib.contextmanager
def emptied_without_keys(cursor, tables: list[str]) -> Iterator[dict[str, float]]:
    """Empty ``tables`` and drop their keys and indexes (and the foreign keys pointing at them) for a bulk
    load, then put every one back, all in the caller's transaction: if the load fails, the rollback restores
    them. Yields a dict that holds ``restore_s`` (the rebuild's seconds) once the block is done."""
    keys, indexes = keys_and_indexes(cursor, tables)
    cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    for table, name, _kind, _definition in reversed(keys):
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    done: dict[str, float] = {}
    yield done
    started = time.perf_counter()
    for table, name, _kind, definition in keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        cursor.execute(definition)
    done["restore_s"] = round(time.perf_counter() - started, 1)


class _Raw(Dumper):
    """A value already in its binary wire form."""

    format = Format.BINARY

    def dump(self, obj: bytes) -> bytes:
        return obj


def binary_types(
    cursor, columns: dict[str, tuple[str, ...]], *, raw: tuple[str, ...] = ()
) -> dict[str, list[int]]:
    """The type oid of every column of ``columns`` (table: names), for binary COPY with ``set_types``. Values
    of the types named in ``raw`` are given already in wire form (a uuid's 16 bytes; a jsonb's version byte
    and text), so those types get a dumper, on this cursor, that passes the bytes on."""
    types = {}
    for table, names in columns.items():
        cursor.execute(f"SELECT {', '.join(names)} FROM {table} LIMIT 0")  # noqa: S608 - our own names
        types[table] = [column.type_code for column in cursor.description]
    for name in raw:
        cursor.execute("SELECT %s::regtype::oid", [name])
        oid = cursor.fetchone()[0]
        # Only looked up by oid: COPY after set_types (psycopg's documented use of cls=None).
        cursor.adapters.register_dumper(None, type(f"Raw{oid}", (_Raw,), {"oid": oid}))
    return types


def fewer_checkpoints(url: str, *, max_wal_size: str = "4GB") -> None:
    """Let the write-ahead log grow to ``max_wal_size`` between checkpoints (PostgreSQL's default, 1 GB,
    checkpoints every few seconds under COPY). Needs the cluster's superuser, whom scripts/postgres.sh's
    throwaway cluster trusts; elsewhere the load runs with the server's settings."""
    superuser = re.sub(r"^postgres(ql)?://[^@]*@", "postgresql://postgres@", url)
    try:
        with psycopg.connect(superuser, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"ALTER SYSTEM SET max_wal_size = '{max_wal_size}'")
            connection.execute("SELECT pg_reload_conf()")
    except psycopg.Error as error:
        print(f"    (max_wal_size left as it is: {str(error).strip()[:120]})", flush=True)
