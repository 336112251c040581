"""Dossier codes under concurrency: 20 submissions at once to one agency get 20 consecutive codes; past
9,999 a day, five digits."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from hanoismart.dossiers.models import Dossier, DossierCodeSequence
from tests.dossiers.support import submit


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's test database is in memory and shared between threads: concurrent writers get "
    "'database table is locked' at once instead of waiting; only PostgreSQL can show the row lock.",
)
def test_twenty_concurrent_submissions_get_consecutive_codes(personas, desk, birth_case):
    from tests.identity.factories import UserFactory

    residents = [UserFactory(ward=personas.resident.ward) for _ in range(20)]
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def file(resident) -> None:
        try:
            barrier.wait()
            submit(resident, birth_case)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file, args=(resident,)) for resident in residents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(int(code[-4:]) for code in Dossier.objects.values_list("code", flat=True))
    assert numbers == list(range(1, 21))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="as above: needs PostgreSQL's row locks")
def test_concurrent_retries_with_one_key_make_one_dossier(personas, desk, birth_case):
    barrier = threading.Barrier(5)
    codes: list[str] = []
    errors: list[BaseException] = []

    def file() -> None:
        try:
            barrier.wait()
            codes.append(submit(personas.resident, birth_case, idempotency_key="same").code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=file) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Dossier.objects.count() == 1
    assert set(codes) == {Dossier.objects.get().code}
    assert Dossier.objects.get().code.endswith("-0001")


@pytest.mark.django_db
def test_past_9999_a_days_code_takes_a_fifth_digit(personas, desk, birth_case):
    # given: the agency's 9,999th dossier of the day is filed (the code is made in SQL on PostgreSQL)
    today = timezone.localdate()
    DossierCodeSequence.objects.create(agency_code=desk.agency.code, day=today, last_number=9_999)

    # when
    dossier = submit(personas.resident, birth_case)

    # then: the number grows, never cut to four digits
    assert dossier.code == f"{desk.agency.code}-{today:%y%m%d}-10000"
    assert Dossier.objects.get().code == dossier.code
