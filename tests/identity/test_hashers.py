"""Password hashing: Argon2 at Django's defaults, one computation at a time per process (bounded memory)."""

from __future__ import annotations

import threading
import time

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, get_hasher, make_password

from hanoismart.identity import hashers


@pytest.fixture
def real_argon2(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["hanoismart.identity.hashers.BoundedArgon2PasswordHasher"]
    settings.PASSWORD_HASH_CONCURRENCY = 1
    monkeypatch.setattr(hashers, "_argon2_slots", None)


def test_the_bounded_hasher_keeps_djangos_argon2_parameters_and_hashes(real_argon2):
    hasher = get_hasher()
    django_default = Argon2PasswordHasher()
    assert (hasher.algorithm, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        "argon2",
        django_default.time_cost,
        django_default.memory_cost,
        django_default.parallelism,
    )
    # A hash made by Django's own hasher still verifies, and ours verify with Django's.
    assert check_password("correct horse 2026", django_default.encode("correct horse 2026", "saltsaltsalt"))
    assert django_default.verify("correct horse 2026", make_password("correct horse 2026"))
    assert not check_password("wrong horse 2026", make_password("correct horse 2026"))


def test_concurrent_password_checks_run_one_at_a_time_per_process(real_argon2, monkeypatch):
    encoded = make_password("correct horse 2026")
    running = 0
    most_at_once = 0
    lock = threading.Lock()
    real_verify = argon2.PasswordHasher.verify

    def counting_verify(self, hash, password):
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
        try:
            time.sleep(0.05)  # widen the window in which an unbounded hasher would overlap
            return real_verify(self, hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(check_password("correct horse 2026", encoded)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True, True, True, True]
    assert most_at_once == 1
