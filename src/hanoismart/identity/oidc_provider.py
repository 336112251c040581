"""HanoiSmart's rules on top of django-oauth-toolkit: claims by scope and consent, pairwise subjects,
assurance levels (``acr``), scopes per app, and the record of every data release.

django-oauth-toolkit calls ``HanoiSmartValidator`` (settings ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]``).
Only approved apps get this far at all: ``ClientApp.is_usable`` refuses the others.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from django.conf import settings
from jwcrypto import jwk
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.utils import jwk_from_pem

from hanoismart.audit.services import audit_record
from hanoismart.identity.models import ClientApp, ReleaseChannel, User
from hanoismart.identity.selectors.oidc import app_scopes, granted_scopes
from hanoismart.identity.services.oidc import data_release_record

# Scopes that release data about the person (claims); the others authorise API calls.
IDENTITY_SCOPES = frozenset({"openid", "profile", "phone", "email", "address", "hanoismart:national_id"})
ACR_PREFIX = "hanoismart:loa"
ACR_VALUES = tuple(f"{ACR_PREFIX}{level}" for level in (0, 1, 2))
CLAIMS_BY_SCOPE = {
    "openid": ["sub"],
    "profile": ["name", "birthdate"],
    "phone": ["phone_number", "phone_number_verified"],
    "email": ["email", "email_verified"],
    "address": ["address", "hanoismart:ward_code"],
    "hanoismart:national_id": ["hanoismart:national_id"],
}
# OIDC Core's error for an acr the resident cannot meet (OpenID Connect Core Unmet Authentication
# Requirements 1.0); sent only when the resident declines to raise their level.
UNMET_AUTHENTICATION_REQUIREMENTS = "unmet_authentication_requirements"


def subject_for(user: User, app: ClientApp) -> str:
    """The ``sub`` an app sees: the person's public ID for city agencies, else a pairwise identifier,
    HMAC-SHA256(OIDC_PAIRWISE_SECRET, client_id + public_id) shaped as a UUID, stable per app and person."""
    if app.is_city_agency:
        return str(user.public_id)
    digest = hmac.new(
        settings.OIDC_PAIRWISE_SECRET.encode(),
        f"{app.client_id}:{user.public_id}".encode(),
        hashlib.sha256,
    ).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def acr_for(user: User) -> str:
    """The authentication context class: the account's assurance level."""
    return f"{ACR_PREFIX}{user.assurance_level}"


def required_level(app: ClientApp, acr_values: str | None) -> int:
    """The level a sign-in needs: the app's minimum, raised by ``acr_values`` (the lowest level it lists is
    enough: it is a list of acceptable values). Unknown values are ignored."""
    levels = [
        int(value.removeprefix(ACR_PREFIX)) for value in (acr_values or "").split() if value in ACR_VALUES
    ]
    return max(app.min_assurance_level, min(levels) if levels else 0)


def e164(phone: str) -> str:
    """A Vietnamese mobile number as stored (0912345678) in E.164 (+84912345678)."""
    return f"+84{phone[1:]}" if phone.startswith("0") else phone


def user_claims(user: User, app: ClientApp, scopes: set[str]) -> dict[str, Any]:
    """The claims that ``scopes`` release about ``user`` to ``app`` (values that are unknown are left out)."""
    claims: dict[str, Any] = {}
    if "openid" in scopes:
        claims["sub"] = subject_for(user, app)
    if "profile" in scopes:
        claims["name"] = user.full_name
        if user.date_of_birth:
            claims["birthdate"] = user.date_of_birth.isoformat()
    if "phone" in scopes and user.phone:
        claims["phone_number"] = e164(user.phone)
        # Possession of the number is not recorded yet (sign-in codes prove it only at that moment).
        claims["phone_number_verified"] = False
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = False
    if "address" in scopes and user.ward_id:
        ward = user.ward
        city = ward.parent
        claims["address"] = {
            "formatted": f"{ward.name}, {city.name}" if city else ward.name,
            "locality": ward.name,
            "region": city.name if city else "",
            "country": "VN",
            "hanoismart:ward_code": ward.code,
            "hanoismart:province_code": city.code if city else "",
        }
        claims["hanoismart:ward_code"] = ward.code
    if "hanoismart:national_id" in scopes:
        claims["hanoismart:national_id"] = user.national_id
    return claims


def signing_keys() -> jwk.JWKSet:
    """The current and previous signing keys, so tokens signed before a rotation still verify."""
    keys = jwk.JWKSet()
    for pem in [settings.OIDC_RSA_PRIVATE_KEY, *settings.OIDC_RSA_PRIVATE_KEYS_PREVIOUS]:
        key = jwk_from_pem(pem)
        keys.add(jwk.JWK(**{**key.export(as_dict=True), "kid": key.thumbprint()}))
    return keys


class HanoiSmartValidator(OAuth2Validator):
    """django-oauth-toolkit's validator with HanoiSmart's claims, consent, scopes and audit."""

    oidc_claim_scope = None  # claims are filtered by consented scope in get_oidc_claims

    # -- scopes --------------------------------------------------------------------------------------------

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """Only scopes the provider knows and the app registered (with a stated purpose)."""
        known = set(settings.OAUTH2_PROVIDER["SCOPES"])
        return set(scopes) <= known & set(app_scopes(client))

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        client = request.client or ClientApp.objects.get(client_id=client_id)
        if request.grant_type == "client_credentials":
            return sorted(set(app_scopes(client)) - IDENTITY_SCOPES)
        return ["openid"]

    # -- claims --------------------------------------------------------------------------------------------

    def _released_scopes(self, request) -> set[str]:
        """The identity scopes of this token that the resident still allows the app."""
        if request.user is None or not getattr(request.user, "is_authenticated", False):
            return set()
        requested = set(request.scopes or ()) & IDENTITY_SCOPES
        return requested & granted_scopes(request.user, request.client)

    def get_oidc_claims(self, token, token_handler, request):
        return user_claims(request.user, request.client, self._released_scopes(request))

    def get_discovery_claims(self, request):
        return sorted({"acr", *(claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims)})

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        claims["acr"] = acr_for(request.user)
        data_release_record(
            user=request.user,
            app=request.client,
            scopes=self._released_scopes(request),
            claims=[c for c in claims if c in _PERSONAL_CLAIMS],
            channel=ReleaseChannel.ID_TOKEN,
        )
        return claims, expiration_time

    def get_userinfo_claims(self, request):
        claims = self.get_oidc_claims(None, None, request)
        data_release_record(
            user=request.user,
            app=request.client,
            scopes=self._released_scopes(request),
            claims=list(claims),
            channel=ReleaseChannel.USERINFO,
        )
        return claims

    # -- tokens --------------------------------------------------------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        user = request.user if getattr(request.user, "is_authenticated", False) else None
        scopes = sorted(str(token.get("scope", "")).split())
        audit_record(
            actor=user,
            actor_role="" if user else "app",
            action="identity.oidc.token_issued",
            obj=request.client,
            subject=user,
            details={
                "client_id": request.client.client_id,
                "grant_type": request.grant_type,
                "scopes": scopes,
            },
        )
        api_scopes = set(scopes) - IDENTITY_SCOPES
        if user is not None and api_scopes:
            data_release_record(
                user=user, app=request.client, scopes=api_scopes, claims=[], channel=ReleaseChannel.TOKEN
            )

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        audit_record(
            actor=None,
            actor_role="app",
            action="identity.oidc.token_revoked",
            obj=request.client,
            details={"client_id": request.client.client_id, "token_type_hint": token_type_hint or ""},
        )

    def _get_key_for_token(self, token):
        key = super()._get_key_for_token(token)
        # After a rotation the app's key is the new one; ID tokens signed with a previous key (logout hints)
        # still verify against the whole set, which jwcrypto picks from by "kid".
        return signing_keys() if isinstance(key, jwk.JWK) and key.get("kty") == "RSA" else key


_PERSONAL_CLAIMS = frozenset(claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims)
