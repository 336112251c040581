"""Bearer tokens from HanoiSmart's OpenID Connect provider authenticate the REST API, next to the session.

Other apps' routers use ``token_or_session(...)``::

    router = Router(auth=token_or_session("dossiers.read"))

An invalid, expired or revoked token answers 401 (``invalid_token``); a valid token without the scope the
operation needs answers 403 (``insufficient_scope``), both in the API's ``{code, detail}`` shape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, django_auth
from oauth2_provider.models import get_access_token_model

from hanoismart.common.errors import NotAuthenticated, PermissionDenied


class BearerToken(HttpBearer):
    """``Authorization: Bearer <access token>``: the token must be live, its app approved, and it must carry
    every scope in ``scopes`` (or, with ``any_scope=True``, at least one). Sets ``request.user`` to the person
    the token acts for; tokens of machine clients (client credentials) are refused unless
    ``allow_clients``."""

    def __init__(self, scopes: Iterable[str] = (), *, any_scope: bool = False, allow_clients: bool = False):
        super().__init__()
        self.scopes = frozenset(scopes)
        self.any_scope = any_scope
        self.allow_clients = allow_clients

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        checksum = hashlib.sha256(token.encode()).hexdigest()
        access_token = (
            get_access_token_model()
            .objects.select_related("application", "user")
            .filter(token_checksum=checksum)
            .first()
        )
        if (
            access_token is None
            or access_token.is_expired()
            or access_token.application is None
            or not access_token.application.is_approved
            or (access_token.user is not None and not access_token.user.is_active)
        ):
            raise NotAuthenticated(_("The access token is invalid or has expired."), code="invalid_token")
        granted = set(access_token.scope.split())
        has_scope = bool(granted & self.scopes) if self.any_scope else self.scopes <= granted
        if self.scopes and not has_scope:
            raise PermissionDenied(
                _("The access token does not allow this (it needs the scope %(scopes)s).")
                % {
                    "scopes": " or ".join(sorted(self.scopes))
                    if self.any_scope
                    else " ".join(sorted(self.scopes))
                },
                code="insufficient_scope",
            )
        if access_token.user is None and not self.allow_clients:
            raise PermissionDenied(_("This operation acts for a person; use a token a person granted."))
        if access_token.user is not None:
            request.user = access_token.user
        request.oauth_token = access_token  # type: ignore[attr-defined]
        return access_token


def token_or_session(*scopes: str, any_scope: bool = False, allow_clients: bool = False) -> list[Any]:
    """The auth list for an API operation: a bearer token with ``scopes``, or the browser session."""
    return [BearerToken(scopes, any_scope=any_scope, allow_clients=allow_clients), django_auth]
