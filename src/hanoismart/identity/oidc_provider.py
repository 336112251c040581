"""HanoiSmart's rules on top of django-oauth-toolkit: claims by scope and consent, pairwise subjects,
assurance levels (``acr``), scopes per app, and the record of every data release.

django-oauth-toolkit calls ``HanoiSmartValidator`` (settings ``OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]``).
Only approved apps get this far at all: ``ClientApp.is_usable`` refuses the others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone
from jwcrypto import jws
from oauth2_provider.models import (
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from hanoismart.audit.services import audit_record
from hanoismart.identity.models import ClientApp, ReleaseChannel, User
from hanoismart.identity.selectors.oidc import app_scopes
from hanoismart.identity.services.oidc import (
    Release,
    data_releases_record,
    token_issued_record,
    token_issued_records,
)
from hanoismart.identity.token_path import (
    LiveRefreshToken,
    Rotation,
    access_token_insert,
    access_token_issue,
    client_app_and_refresh_token,
    client_app_for_token,
    consents_granted,
    id_token_insert,
    id_token_sign,
    refresh_token_insert,
    refresh_token_live,
    refresh_token_rotate,
    signing_key_set,
    token_columns,
)

AccessToken = get_access_token_model()
IDToken = get_id_token_model()
RefreshToken = get_refresh_token_model()

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
    digest = hmac.digest(
        settings.OIDC_PAIRWISE_SECRET.encode(), f"{app.client_id}:{user.public_id}".encode(), "sha256"
    )
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


def _checksum(token: str) -> str:
    """The column a token is looked up by (django-oauth-toolkit's ``token_checksum``)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _memo(request) -> dict[str, Any]:
    """What this token request has already read or decided (on the oauthlib request).

    Kept in the instance's ``__dict__`` and read from there only: oauthlib's ``Request`` answers an unknown
    attribute name from the request's own parameters, which the client chooses.
    """
    return request.__dict__.setdefault("_hanoismart", {})


class HanoiSmartValidator(OAuth2Validator):
    """django-oauth-toolkit's validator with HanoiSmart's claims, consent, scopes and audit, and a shorter
    token path (``identity/token_path.py``): the app cached per process behind a version check, consents
    read once, the ID token signed with a key parsed once, and refresh-token rotation without re-reads.

    One instance serves every request of a process (django-oauth-toolkit caches it): no per-request state
    on ``self``.
    """

    oidc_claim_scope = None  # claims are filtered by consented scope in get_oidc_claims

    # -- the app -------------------------------------------------------------------------------------------

    def _load_application(self, client_id, request):
        client = request.client
        if isinstance(client, ClientApp) and client.client_id == client_id and client.is_usable(request):
            return client
        request.client = None
        refresh_token = request.refresh_token if request.grant_type == "refresh_token" else None
        if isinstance(refresh_token, str):
            # A refresh: the app and the token in one query (validate_refresh_token takes the token).
            app, live = client_app_and_refresh_token(client_id, _checksum(refresh_token))
            _memo(request)["live"] = (refresh_token, live)
        else:
            app = client_app_for_token(client_id)
        if app is None:
            # Unknown. django-oauth-toolkit could still fetch a Client ID Metadata Document (off here).
            return super()._load_application(client_id, request) if oauth2_settings.CIMD_ENABLED else None
        if not app.is_usable(request):
            return None
        request.client = app
        return app

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
        """The identity scopes of this token that the resident still allows the app (consents read once per
        request)."""
        if request.user is None or not getattr(request.user, "is_authenticated", False):
            return set()
        memo = _memo(request)
        if "granted" not in memo:
            memo["granted"] = consents_granted(user_id=request.user.pk, app_id=request.client.pk)
        requested = set(request.scopes or ()) & IDENTITY_SCOPES
        return requested & memo["granted"]

    def get_oidc_claims(self, token, token_handler, request):
        return user_claims(request.user, request.client, self._released_scopes(request))

    def get_discovery_claims(self, request):
        return sorted({"acr", *(claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims)})

    def get_id_token_dictionary(self, token, token_handler, request):
        # django-oauth-toolkit's claims (iss, exp, auth_time, jti) computed as it does, but its exp with
        # timestamp() where it formats the date with Django's "U" (the same number, for much more work).
        claims = self.get_oidc_claims(token, token_handler, request)
        expiration_time = timezone.now() + timedelta(seconds=oauth2_settings.ID_TOKEN_EXPIRE_SECONDS)
        auth_time = request.user.last_login or timezone.now()
        if timezone.is_naive(auth_time):  # RFC 7519 numeric dates are seconds since the epoch in UTC
            if settings.USE_TZ:
                auth_time = auth_time.replace(tzinfo=UTC)
            else:
                auth_time = timezone.make_aware(auth_time, timezone=timezone.get_default_timezone())
        claims.update(
            iss=self.get_oidc_issuer_endpoint(request),
            exp=int(expiration_time.timestamp()),
            auth_time=int(auth_time.timestamp()),
            jti=str(uuid.uuid4()),
        )
        claims["acr"] = acr_for(request.user)
        # Recorded with the token it comes with, in save_bearer_token: only once the response is certain.
        _memo(request).setdefault("releases", []).append(
            Release(
                scopes=self._released_scopes(request),
                claims=[c for c in claims if c in _PERSONAL_CLAIMS],
                channel=ReleaseChannel.ID_TOKEN,
            )
        )
        return claims, expiration_time

    def get_userinfo_claims(self, request):
        claims = self.get_oidc_claims(None, None, request)
        data_releases_record(
            user=request.user,
            app=request.client,
            releases=[
                Release(
                    scopes=self._released_scopes(request),
                    claims=list(claims),
                    channel=ReleaseChannel.USERINFO,
                )
            ],
        )
        return claims

    # -- ID tokens -----------------------------------------------------------------------------------------

    def finalize_id_token(self, id_token, token, token_handler, request):
        """django-oauth-toolkit's, signing with the key parsed once per process (it parses the PEM twice per
        token, and sets up jwcrypto's objects for each). The ID token's row is written with the tokens, in
        save_bearer_token."""
        if request.client.algorithm != ClientApp.RS256_ALGORITHM:
            return super().finalize_id_token(id_token, token, token_handler, request)
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        # Workaround for oauthlib bug #746, as django-oauth-toolkit does.
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = id_token_sign(id_token)
        _memo(request)["id_token"] = (id_token["jti"], expiration_time)
        return signed

    def _id_token_save(self, request) -> None:
        """Write the row of the ID token signed for this request, if any (django-oauth-toolkit's token code
        finds it on the request)."""
        pending = _memo(request).pop("id_token", None)
        if pending is not None:
            jti, expires = pending
            row = self._save_id_token(jti, request, expires)
            request.access_token = row  # as django-oauth-toolkit leaves it
            request.id_token = row

    @staticmethod
    def _id_token_scope(request) -> str:
        return request.scope or " ".join(request.scopes)

    def _save_id_token(self, jti, request, expires, *args, **kwargs):
        return id_token_insert(
            IDToken(
                user=request.user,
                scope=self._id_token_scope(request),
                expires=expires,
                jti=jti,
                application=request.client,
            )
        )

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        # django-oauth-toolkit finds the ID token by parsing and verifying the JWT it has just signed (and two
        # queries); finalize_id_token kept the row on the request.
        id_token = None
        if token.get("id_token"):
            id_token = request.__dict__.get("id_token")
            if not isinstance(id_token, IDToken):
                return super()._create_access_token(expires, request, token, source_refresh_token)
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),  # RFC 8707, as _check_and_set_request_resource left it
        )
        self._set_token_value(access_token, token["access_token"])
        return access_token_insert(access_token)

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = RefreshToken(
            user=request.user,
            application=request.client,
            access_token=access_token,
            # The family a rotated token belongs to, for reuse detection.
            token_family=previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4(),
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(refresh_token, refresh_token_code)
        return refresh_token_insert(refresh_token)

    def _get_key_for_token(self, token):
        # The app's key is the current one; ID tokens signed with a previous key (logout hints) still verify
        # against the whole set, which jwcrypto picks from by "kid". Parsed once per process.
        unverified = jws.JWS()
        unverified.deserialize(token)
        claims = json.loads(unverified.objects["payload"].decode("utf-8"))
        if "aud" not in claims:
            return None
        application = self._get_client_by_audience(claims["aud"])
        if application is None:
            return None
        if application.algorithm == ClientApp.RS256_ALGORITHM:
            return signing_key_set()
        return application.jwk_key

    # -- refresh tokens ------------------------------------------------------------------------------------

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        """django-oauth-toolkit's check of a live refresh token in one query (the token, its access token's
        expiry and scope, its person and the consents in force), and a deactivated account's token is
        refused. A revoked, unknown or orphaned token goes to django-oauth-toolkit, which also revokes the
        token's family when a rotated one is replayed."""
        read = _memo(request).pop("live", None)  # read with the app, in _load_application
        if read is not None and read[0] == refresh_token:
            live = read[1]
        else:
            live = refresh_token_live(_checksum(refresh_token))
        if live is None:
            return super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        expire_delta = refresh_token_expire_timedelta()
        if expire_delta and live.access_token_expires + expire_delta <= timezone.now():
            return False
        if live.user is not None and not live.user.is_active:
            return False
        request.user = live.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = live
        if client is None or live.application_id != client.pk:
            return False
        if live.consented_scopes is not None and live.user is not None:
            _memo(request)["granted"] = set(live.consented_scopes)  # read with the token: no query more
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        live = request.__dict__.get("refresh_token_instance")
        if isinstance(live, LiveRefreshToken):
            return live.access_token_scope
        return super().get_original_scopes(refresh_token, request, *args, **kwargs)

    def _rotates(self, token, request) -> bool:
        """Whether this refresh rotates its token the plain way: a new pair, the old token revoked at once."""
        return bool(
            token.get("refresh_token")
            and "scope" in token
            and self.rotate_refresh_token(request)
            and not oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS
        )

    def _rotate(self, token, request, previous: LiveRefreshToken) -> bool:
        """django-oauth-toolkit's rotation, with the ID token, the data releases and the audit events, in one
        statement (``token_path.refresh_token_rotate``); False when ``previous`` was revoked meanwhile."""
        self._check_and_set_request_resource(request)
        memo = _memo(request)
        now = timezone.now()
        expires = _expires(token, now)
        resource = getattr(request, "resource", [])  # RFC 8707, as _check_and_set_request_resource left it
        common = {
            "user_id": previous.user_id,
            "application_id": request.client.pk,
            "created": now,
            "updated": now,
        }
        id_token = None
        if "id_token" in memo:
            jti, id_token_expires = memo.pop("id_token")
            id_token = {
                **common,
                "jti": jti,
                "expires": id_token_expires,
                "scope": self._id_token_scope(request),
            }
        records = token_issued_records(**self._issued(token, request, memo.get("releases", [])))
        rotation = Rotation(
            access_token={
                **common,
                **token_columns(token["access_token"]),
                "expires": expires,
                "scope": token["scope"],
                "resource": resource,
            },
            refresh_token={
                **common,
                **token_columns(token["refresh_token"]),
                "token_family": previous.token_family,  # the family, for reuse detection
                "resource": resource,
                "revoked": None,
            },
            id_token=id_token,
            releases=records.releases,
            audit_events=records.audit_events,
        )
        return refresh_token_rotate(previous=previous, now=now, rotation=rotation)

    # -- tokens --------------------------------------------------------------------------------------------

    def save_bearer_token(self, token, request, *args, **kwargs):
        """Save the tokens and record the grant (audit) and what it releases, all or nothing: a refresh that
        rotates its token in one statement on PostgreSQL (``_rotate``), anything else in one transaction
        (the token view's own, see views/oidc.py)."""
        previous = request.__dict__.get("refresh_token_instance")
        if isinstance(previous, LiveRefreshToken) and self._rotates(token, request):
            if self._rotate(token, request, previous):
                return
            # Revoked since it was validated: used twice at once, or revoked by the resident. Nothing was
            # written; the family's revocation stays (the view commits refused requests too).
            if oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
                RefreshToken.revoke_family(previous.token_family)
            raise errors.InvalidGrantError(request=request)
        if request.grant_type == "client_credentials" and "scope" in token and not token.get("refresh_token"):
            self._issue_access_token(token, request)
            return
        if isinstance(previous, LiveRefreshToken):  # django-oauth-toolkit's own rotation needs its model
            request.refresh_token_instance = previous.model_instance()
        with transaction.atomic(using=router.db_for_write(AccessToken), savepoint=False):
            self._id_token_save(request)
            self._save_bearer_token(token, request, *args, **kwargs)
            token_issued_record(**self._issued(token, request, _memo(request).get("releases", [])))

    def _issue_access_token(self, token, request) -> None:
        """django-oauth-toolkit's saving of a client-credentials token (no person, no refresh token), with
        the grant's audit event, in one statement (``token_path.access_token_issue``)."""
        self._check_and_set_request_resource(request)
        request.user = None
        now = timezone.now()
        records = token_issued_records(**self._issued(token, request, []))
        access_token_issue(
            access_token={
                "user_id": None,
                "source_refresh_token_id": None,
                "id_token_id": None,
                "application_id": request.client.pk,
                **token_columns(token["access_token"]),
                "expires": _expires(token, now),
                "scope": token["scope"],
                "resource": getattr(request, "resource", []),  # RFC 8707, as checked just above
                "created": now,
                "updated": now,
            },
            audit_events=records.audit_events,
        )

    def _issued(self, token, request, releases: list[Release]) -> dict[str, Any]:
        """What ``token_issued_record`` records of this response: the app, the person (when one is
        authenticated), the grant type, the scopes, and the releases (with the API scopes as one more)."""
        user = request.user if getattr(request.user, "is_authenticated", False) else None
        scopes = str(token.get("scope", "")).split()
        if user is None:
            releases = []
        else:
            api_scopes = set(scopes) - IDENTITY_SCOPES
            if api_scopes:
                releases = [*releases, Release(scopes=api_scopes, claims=[], channel=ReleaseChannel.TOKEN)]
        return {
            "app": request.client,
            "user": user,
            "grant_type": request.grant_type,
            "scopes": scopes,
            "releases": releases,
        }

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        audit_record(
            actor=None,
            actor_role="app",
            action="identity.oidc.token_revoked",
            obj=request.client,
            details={"client_id": request.client.client_id, "token_type_hint": token_type_hint or ""},
        )


def _expires(token, now: datetime) -> datetime:
    """When the access token of ``token`` expires, as django-oauth-toolkit computes it."""
    return now + timedelta(seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS))


def token_request_needs_transaction(grant_type: str) -> bool:
    """Whether the token view must run a request of this grant type in a transaction: not a refresh or a
    client-credentials grant on PostgreSQL, which ``HanoiSmartValidator`` writes in one statement
    (``refresh_token_rotate``, ``access_token_issue``), or in a transaction of its own when it leaves the
    saving to django-oauth-toolkit; what a refused refresh writes (a replayed token's family, revoked) must
    stay anyway. Saves BEGIN and COMMIT: two round trips."""
    if grant_type not in ("refresh_token", "client_credentials"):
        return True
    return connections[router.db_for_write(RefreshToken)].vendor != "postgresql"


_PERSONAL_CLAIMS = frozenset(claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims)
