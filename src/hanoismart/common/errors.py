"""One family of application errors: services raise them, one handler turns them into a 4xx.

The message is translatable and shown to the user as it is; ``code`` is stable for API clients.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refusal the user can understand and act on (HTTP 400 unless a subclass says otherwise)."""

    status = 400
    default_code = "invalid"

    def __init__(self, message: Any, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        """The body of an API error response."""
        body: dict[str, Any] = {"code": self.code, "detail": str(self.message)}
        if self.details:
            body["errors"] = {key: [str(item) for item in value] for key, value in self.details.items()}
        return body


class InvalidInput(ApplicationError):
    """The request is malformed or breaks a business rule."""


class NotAuthenticated(ApplicationError):
    status = 401
    default_code = "not_authenticated"


class PermissionDenied(ApplicationError):
    status = 403
    default_code = "permission_denied"


class NotFound(ApplicationError):
    status = 404
    default_code = "not_found"


class Conflict(ApplicationError):
    status = 409
    default_code = "conflict"


class RateLimited(ApplicationError):
    """Too many attempts; ``retry_after`` is in seconds."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: Any, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code, details=None)
        self.retry_after = retry_after
