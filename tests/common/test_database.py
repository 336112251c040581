"""On PostgreSQL the site sends values apart from the SQL and keeps the statements a connection runs often
prepared on the server (``DATABASE_PREPARED_STATEMENTS``, settings.py): parsed and planned once, with every
answer still the one its own values ask for."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"),
]

PREPARED = "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s"


def test_a_statement_run_often_is_prepared_on_the_server_and_each_run_answers_its_own_values():
    statement = "SELECT %s::int * 7, %s::text"
    with connection.cursor() as cursor:
        answers = []
        for number in range(8):
            cursor.execute(statement, [number, f"run {number}"])
            answers.append(cursor.fetchone())
        cursor.execute(PREPARED, ["SELECT $1::int * 7, $2::text"])
        prepared = cursor.fetchone()[0]

    assert answers == [(number * 7, f"run {number}") for number in range(8)]
    assert prepared == 1


def test_a_statement_run_once_is_not_kept_on_the_server():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::int + 40", [2])
        assert cursor.fetchone() == (42,)
        cursor.execute(PREPARED, ["SELECT $1::int + 40"])
        assert cursor.fetchone()[0] == 0
