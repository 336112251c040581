"""Password hashers: Argon2 at Django's defaults with a bound on concurrent hashes per process, and a fast
hasher for apps' client secrets, which are long random strings rather than passwords.

Each Argon2 check fills 100 MiB and keeps the CPU busy for ~0.3 s with its own threads (parallelism 8), so
running one at a time per process loses no throughput on a small host, while four at once (one per server
thread) would hold 400 MiB. ``PASSWORD_HASH_CONCURRENCY`` (default 1) sets the bound (bench/README.md).

Argon2 (Django's password hasher here, 100 MiB and ~0.3 s of CPU per check) protects guessable passwords; a
128-character random client secret cannot be guessed, so a salted SHA-256 protects it as well at a tiny
fraction of the cost, which keeps the token endpoint fast (bench/README.md). Never used for passwords: it is
last in PASSWORD_HASHERS and only django-oauth-toolkit's CLIENT_SECRET_HASHER names it.
"""

from __future__ import annotations

import hashlib
import threading

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop as _

_argon2_slots: threading.BoundedSemaphore | None = None
_argon2_slots_lock = threading.Lock()


def argon2_slots() -> threading.BoundedSemaphore:
    """The process's semaphore bounding concurrent Argon2 computations (made on first use)."""
    global _argon2_slots
    with _argon2_slots_lock:
        if _argon2_slots is None:
            _argon2_slots = threading.BoundedSemaphore(settings.PASSWORD_HASH_CONCURRENCY)
        return _argon2_slots


class BoundedArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (same algorithm name, parameters and hashes), at most
    ``PASSWORD_HASH_CONCURRENCY`` computations at a time in this process."""

    def encode(self, password: str, salt: str) -> str:
        with argon2_slots():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with argon2_slots():
            return super().verify(password, encoded)


class ClientSecretHasher(BasePasswordHasher):
    """Salted SHA-256 of a high-entropy client secret."""

    algorithm = "hanoismart_secret_sha256"

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm  # noqa: S101 - Django's hashers check the same way
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {
            _("algorithm"): decoded["algorithm"],
            _("salt"): mask_hash(decoded["salt"]),
            _("hash"): mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
