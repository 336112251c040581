"""The token endpoint's short path (identity/token_path.py, identity/statements.py): apps cached per process
but never stale in what decides a grant, the client secret checked once, consents read once, ID tokens
signed with the cached key, refresh-token rotation with reuse detection, and the queries a grant and a
refresh cost."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, IDToken, RefreshToken

from hanoismart.audit.models import AuditEvent
from hanoismart.audit.services import audit_event_build
from hanoismart.identity.api_auth import BearerToken
from hanoismart.identity.hashers import ClientSecretHasher
from hanoismart.identity.models import ClientApp, ClientAppStatus, ClientScope, Consent, DataRelease
from hanoismart.identity.oidc_provider import (
    HanoiSmartValidator,
    subject_for,
    token_request_needs_transaction,
)
from hanoismart.identity.services.developer import client_app_secret_rotate
from hanoismart.identity.services.oidc import consent_record
from hanoismart.identity.token_path import (
    Rotation,
    access_token_insert,
    consents_granted,
    refresh_token_live,
    refresh_token_rotate,
    token_columns,
)
from tests.identity.factories import UserFactory
from tests.identity.oidc_support import make_app

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_token_caches")]

FORM = "application/x-www-form-urlencoded"  # as OAuth clients send it
SECRET = "agency-secret-123"


def _agency(**extra) -> ClientApp:
    return make_app(
        "agency",
        is_city_agency=True,
        client_type=ClientApp.CLIENT_CONFIDENTIAL,
        grant_type=ClientApp.GRANT_CLIENT_CREDENTIALS,
        client_secret=SECRET,
        scopes=(("dossiers.read", "x", False), ("introspection", "y", False)),
        **extra,
    )


def _grant(client, secret: str = SECRET):
    basic = base64.b64encode(f"agency:{secret}".encode()).decode()
    return client.post(
        "/o/token/", "grant_type=client_credentials", FORM, HTTP_AUTHORIZATION=f"Basic {basic}"
    )


def _refresh_token_for(user, app, scope: str = "openid profile") -> str:
    """A live refresh token (and its access token) as the code flow leaves them; the raw token."""
    access = AccessToken.objects.create(
        user=user,
        application=app,
        token=secrets.token_urlsafe(30),
        scope=scope,
        expires=timezone.now() + dt.timedelta(hours=1),
    )
    raw = secrets.token_urlsafe(30)
    RefreshToken.objects.create(
        user=user, application=app, token=raw, access_token=access, token_family=uuid.uuid4()
    )
    return raw


def _refresh(client, token: str, client_id: str = "test-app"):
    body = urlencode({"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id})
    return client.post("/o/token/", body, FORM)


@pytest.fixture
def resident_app(personas):
    """The resident, an approved public app, and the resident's consent to openid and profile."""
    app = make_app()
    consent_record(actor=personas.resident, app=app, granted_scopes=["openid", "profile"])
    return personas.resident, app


# -- database load: the queries of a grant and of a refresh --------------------------------------------------


def test_client_credentials_grant_stays_at_two_queries_on_postgresql_and_five_elsewhere(
    client, django_assert_max_num_queries
):
    _agency()
    assert _grant(client).status_code == 200  # loads the app into this process's cache

    # the version check; then on PostgreSQL the access token and the audit event in one statement without a
    # transaction around it; elsewhere BEGIN, the access token, the audit event, COMMIT
    with django_assert_max_num_queries(2 if connection.vendor == "postgresql" else 5):
        response = _grant(client)

    assert response.status_code == 200, response.content


def test_refresh_stays_at_two_queries_on_postgresql_and_ten_elsewhere(
    client, resident_app, django_assert_max_num_queries
):
    resident, app = resident_app
    token = _refresh(client, _refresh_token_for(resident, app)).json()["refresh_token"]

    # the app's version check with the live token, its access token, person and consents (one query); then on
    # PostgreSQL one statement without a transaction around it: revoking the old token, deleting its access
    # token, the ID token, the new pair, the data release and the audit events of the grant and the release.
    # Elsewhere these are seven statements (the audit events one INSERT), in a transaction.
    with django_assert_max_num_queries(2 if connection.vendor == "postgresql" else 10):
        response = _refresh(client, token)

    assert response.status_code == 200, response.content


def test_refresh_reads_the_consents_once(client, resident_app):
    resident, app = resident_app
    token = _refresh_token_for(resident, app)

    with CaptureQueriesContext(connection) as queries:
        response = _refresh(client, token)

    assert response.status_code == 200
    assert sum("identity_consent" in query["sql"] for query in queries) == 1


def test_client_id_with_a_nul_byte_in_basic_auth_is_refused_not_an_error(client):
    basic = base64.b64encode(b"age\x00ncy:secret").decode()

    response = client.post(
        "/o/token/", "grant_type=client_credentials", FORM, HTTP_AUTHORIZATION=f"Basic {basic}"
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_credentials_token_is_stored_hashed_audited_and_accepted_by_the_api(client, rf):
    app = _agency()

    response = _grant(client)

    assert response.status_code == 200, response.content
    raw = response.json()["access_token"]
    stored = AccessToken.objects.get(application=app)
    assert (stored.token, stored.token_checksum) == ("", hashlib.sha256(raw.encode()).hexdigest())
    assert (stored.user_id, stored.source_refresh_token_id, stored.id_token_id) == (None, None, None)
    assert (stored.scope, stored.resource) == ("dossiers.read introspection", [])
    assert stored.created == stored.updated
    assert stored.expires == stored.created + dt.timedelta(seconds=3600)
    issued = AuditEvent.objects.get(action="identity.oidc.token_issued")
    assert (issued.actor_role, issued.object_ref, issued.subject_ref) == ("app", str(app.public_id), None)
    assert issued.details == {
        "client_id": "agency",
        "grant_type": "client_credentials",
        "scopes": ["dossiers.read", "introspection"],
    }
    grant = BearerToken(["dossiers.read"], allow_clients=True).authenticate(rf.get("/api/v1/"), raw)
    assert (grant.application_id, grant.user_id) == (app.pk, None)


@pytest.mark.parametrize(
    ("grant_type", "on_postgresql"),
    [
        ("refresh_token", False),
        ("client_credentials", False),
        ("authorization_code", True),
        ("", True),
    ],
)
def test_only_one_statement_grants_skip_the_transaction_and_only_on_postgresql(grant_type, on_postgresql):
    expected = connection.vendor != "postgresql" or on_postgresql

    assert token_request_needs_transaction(grant_type) is expected


def test_client_secret_is_checked_once_per_grant(client, monkeypatch):
    _agency()
    checks = []
    verify = ClientSecretHasher.verify
    monkeypatch.setattr(
        ClientSecretHasher, "verify", lambda self, *args: checks.append(1) or verify(self, *args)
    )

    assert _grant(client).status_code == 200

    assert len(checks) == 1


# -- the app cached per process: what decides a grant is never stale -----------------------------------------


def test_rotated_secret_stops_working_at_once(client):
    # given: the app is in this process's cache, with the secret that works now
    app = _agency()
    owner = UserFactory()
    ClientApp.objects.filter(pk=app.pk).update(owner=owner)
    assert _grant(client).status_code == 200

    # when
    new_secret = client_app_secret_rotate(actor=owner, app=ClientApp.objects.get(pk=app.pk))

    # then
    refused = _grant(client)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert _grant(client, new_secret).status_code == 200


def test_secret_changed_without_touching_updated_stops_working_at_once(client):
    app = _agency()
    assert _grant(client).status_code == 200
    updated = ClientApp.objects.get(pk=app.pk).updated

    ClientApp.objects.filter(pk=app.pk).update(
        client_secret=make_password("another-secret-456", hasher="hanoismart_secret_sha256")
    )

    assert ClientApp.objects.get(pk=app.pk).updated == updated
    assert _grant(client).status_code == 401
    assert _grant(client, "another-secret-456").status_code == 200


def test_suspended_app_gets_no_token_at_once(client):
    app = _agency()
    assert _grant(client).status_code == 200
    tokens = AccessToken.objects.count()

    ClientApp.objects.filter(pk=app.pk).update(status=ClientAppStatus.SUSPENDED)

    assert _grant(client).status_code == 401
    assert AccessToken.objects.count() == tokens


def test_scopes_changed_with_the_app_apply_to_the_next_grant(client):
    app = _agency()
    assert set(_grant(client).json()["scope"].split()) == {"dossiers.read", "introspection"}

    ClientScope.objects.filter(app=app, scope="introspection").delete()
    app.save()  # as the developer portal and the admin do

    assert _grant(client).json()["scope"] == "dossiers.read"


# -- refresh-token rotation ----------------------------------------------------------------------------------


def test_refresh_rotates_the_pair_and_records_the_release(client, resident_app):
    resident, app = resident_app
    first = _refresh_token_for(resident, app)
    old = RefreshToken.objects.get(user=resident)

    response = _refresh(client, first)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh_token"] != first
    old.refresh_from_db()
    assert old.revoked is not None
    assert old.access_token_id is None
    new = RefreshToken.objects.get(user=resident, revoked__isnull=True)
    assert new.token_family == old.token_family
    assert new.access_token.source_refresh_token_id == old.pk
    payload = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[1] + "=="))
    assert str(new.access_token.id_token.jti) == payload["jti"]
    assert AccessToken.objects.filter(user=resident).count() == 1
    assert AccessToken.objects.get(user=resident).scope == "openid profile"
    release = DataRelease.objects.get(user=resident)
    assert (release.channel, release.scopes, release.claims) == (
        "id_token",
        ["openid", "profile"],
        ["birthdate", "name", "sub"],
    )
    issued = AuditEvent.objects.filter(action="identity.oidc.token_issued", subject_ref=resident.public_id)
    assert issued.count() == 1
    assert AuditEvent.objects.filter(action="identity.oidc.data_released").count() == 1


def test_replayed_refresh_token_revokes_the_whole_family(client, resident_app):
    resident, app = resident_app
    first = _refresh_token_for(resident, app)
    second = _refresh(client, first).json()["refresh_token"]

    replayed = _refresh(client, first)

    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(user=resident, revoked__isnull=True).exists()
    assert not AccessToken.objects.filter(user=resident).exists()
    assert _refresh(client, second).json()["error"] == "invalid_grant"


def test_refresh_token_used_twice_at_once_is_refused_and_revokes_family(client, resident_app, monkeypatch):
    # given: another request rotates the same token between this one's check and its save
    resident, app = resident_app
    token = _refresh_token_for(resident, app)
    validate = HanoiSmartValidator.validate_refresh_token

    def validate_then_lose_the_race(self, refresh_token, client_app, request, *args, **kwargs):
        valid = validate(self, refresh_token, client_app, request, *args, **kwargs)
        RefreshToken.objects.filter(pk=request.refresh_token_instance.pk).update(revoked=timezone.now())
        return valid

    monkeypatch.setattr(HanoiSmartValidator, "validate_refresh_token", validate_then_lose_the_race)
    tokens_before = AccessToken.objects.count()

    # when
    response = _refresh(client, token)

    # then: refused, nothing issued or recorded, the family revoked
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json()
    assert AccessToken.objects.count() == tokens_before - 1  # the family's access token, deleted
    assert not RefreshToken.objects.filter(user=resident, revoked__isnull=True).exists()
    assert not AuditEvent.objects.filter(action="identity.oidc.token_issued").exists()
    assert not DataRelease.objects.exists()


def test_refresh_for_a_deactivated_account_is_refused(client, resident_app):
    resident, app = resident_app
    token = _refresh_token_for(resident, app)
    resident.is_active = False
    resident.save(update_fields=["is_active"])

    response = _refresh(client, token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert RefreshToken.objects.get(user=resident).revoked is None


def test_refresh_token_of_another_app_is_refused(client, resident_app):
    resident, app = resident_app
    make_app("other-app")
    token = _refresh_token_for(resident, app)

    response = _refresh(client, token, client_id="other-app")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert RefreshToken.objects.get(user=resident).revoked is None


def test_expired_refresh_token_is_refused(client, resident_app):
    resident, app = resident_app
    token = _refresh_token_for(resident, app)
    AccessToken.objects.filter(user=resident).update(expires=timezone.now() - dt.timedelta(days=400))

    response = _refresh(client, token)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# -- ID tokens -----------------------------------------------------------------------------------------------


def _jwks(client) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(client.get("/o/.well-known/jwks.json").content)


def test_refreshed_id_token_verifies_against_the_jwks(client, resident_app):
    resident, app = resident_app

    id_token = _refresh(client, _refresh_token_for(resident, app)).json()["id_token"]

    verified = jwt.JWT(jwt=id_token, key=_jwks(client))
    claims = json.loads(verified.claims)
    header = json.loads(verified.token.objects["protected"])
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in _jwks(client)["keys"]}
    assert claims["aud"] == "test-app"
    assert claims["sub"] == subject_for(resident, app)
    assert claims["name"] == resident.full_name
    assert claims["acr"] == "hanoismart:loa2"
    assert IDToken.objects.filter(jti=claims["jti"], user=resident, application=app).exists()


def test_id_tokens_are_signed_with_the_new_key_after_a_rotation(client, resident_app, settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from oauth2_provider.settings import oauth2_settings

    resident, app = resident_app
    new = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    old = settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_RSA_PRIVATE_KEY": new,
        "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old],
    }
    try:
        id_token = _refresh(client, _refresh_token_for(resident, app)).json()["id_token"]
        keys = _jwks(client)
    finally:
        oauth2_settings.reload()

    header = json.loads(jwt.JWT(jwt=id_token, key=keys).token.objects["protected"])
    assert header["kid"] == jwk.JWK.from_pem(new.encode()).thumbprint()


# -- the hand-written statements read and write what the ORM would -------------------------------------------


def test_prepared_insert_writes_the_row_the_orm_would(personas):
    app = make_app()
    expires = timezone.now() + dt.timedelta(hours=1)
    token = AccessToken(user=personas.resident, application=app, scope="openid", expires=expires)
    token.token = "raw-token-value"

    access_token_insert(token)

    stored = AccessToken.objects.get(pk=token.pk)
    assert stored.token_checksum == token.token_checksum != ""
    assert stored.created is not None
    assert stored.updated is not None
    assert stored.expires == expires
    assert stored.resource == []
    assert stored.user_id == personas.resident.pk
    assert not token._state.adding


def test_live_refresh_token_is_read_as_the_orm_reads_it(resident_app):
    resident, app = resident_app
    _refresh_token_for(resident, app)
    by_orm = RefreshToken.objects.select_related("access_token", "user").get(user=resident)

    live = refresh_token_live(by_orm.token_checksum)

    assert (live.id, live.user_id, live.application_id, live.access_token_id) == (
        by_orm.pk,
        resident.pk,
        app.pk,
        by_orm.access_token_id,
    )
    assert (live.token_family, live.resource) == (by_orm.token_family, by_orm.resource)
    assert (live.access_token_expires, live.access_token_scope) == (
        by_orm.access_token.expires,
        by_orm.access_token.scope,
    )
    for field in type(by_orm.user)._meta.concrete_fields:
        assert getattr(live.user, field.attname) == getattr(by_orm.user, field.attname), field.name
    assert refresh_token_live("0" * 64) is None


def test_live_refresh_token_carries_the_consents_in_force(resident_app):
    # given: openid and profile allowed, phone refused
    resident, app = resident_app
    consent_record(actor=resident, app=app, granted_scopes=["openid", "profile"], denied_scopes=["phone"])
    _refresh_token_for(resident, app)
    checksum = RefreshToken.objects.get(user=resident).token_checksum

    live = refresh_token_live(checksum)

    assert live.consented_scopes == {"openid", "profile"}
    assert live.consented_scopes == consents_granted(user_id=resident.pk, app_id=app.pk)


def test_live_refresh_token_of_a_revoked_consent_carries_none(resident_app):
    resident, app = resident_app
    _refresh_token_for(resident, app)
    checksum = RefreshToken.objects.get(user=resident).token_checksum
    Consent.objects.filter(user=resident, app=app).update(revoked_at=timezone.now())

    live = refresh_token_live(checksum)

    assert live.consented_scopes == frozenset()


def _rotation(user, app, *, with_id_token: bool = True) -> tuple[Rotation, dict[str, str]]:
    """A rotation's rows as the provider builds them, and the raw new tokens."""
    now = timezone.now()
    common = {"user_id": user.pk, "application_id": app.pk, "created": now, "updated": now}
    raw = {"access": secrets.token_urlsafe(32), "refresh": secrets.token_urlsafe(32)}
    rotation = Rotation(
        access_token={
            **common,
            **token_columns(raw["access"]),
            "expires": now + dt.timedelta(hours=1),
            "scope": "openid profile",
            "resource": [],
        },
        refresh_token={
            **common,
            **token_columns(raw["refresh"]),
            "token_family": RefreshToken.objects.get(user=user, revoked__isnull=True).token_family,
            "resource": [],
            "revoked": None,
        },
        id_token={**common, "jti": str(uuid.uuid4()), "expires": now, "scope": "openid"}
        if with_id_token
        else None,
        releases=[
            {
                "user_id": user.pk,
                "app_id": app.pk,
                "scopes": ["openid"],
                "claims": ["sub"],
                "released_at": now,
                "channel": "id_token",
            }
        ],
        audit_events=[
            audit_event_build(actor=user, action="identity.oidc.token_issued", obj=app, subject=user),
            audit_event_build(actor=None, action="identity.oidc.data_released", obj=app, subject=user),
        ],
    )
    return rotation, raw


@pytest.mark.parametrize("with_id_token", [True, False])
def test_rotation_writes_the_new_pair_and_records_and_revokes_the_old(resident_app, with_id_token):
    # given
    resident, app = resident_app
    _refresh_token_for(resident, app)
    live = refresh_token_live(RefreshToken.objects.get(user=resident).token_checksum)
    rotation, raw = _rotation(resident, app, with_id_token=with_id_token)
    now = timezone.now()

    # when
    assert refresh_token_rotate(previous=live, now=now, rotation=rotation) is True

    # then: the old token revoked, its access token gone
    stored = RefreshToken.objects.get(pk=live.id)
    assert (stored.revoked, stored.access_token_id) == (now, None)
    assert not AccessToken.objects.filter(pk=live.access_token_id).exists()
    # the new pair, linked as django-oauth-toolkit links it, stored hashed
    new = RefreshToken.objects.select_related("access_token").get(user=resident, revoked__isnull=True)
    assert new.token_checksum == hashlib.sha256(raw["refresh"].encode()).hexdigest()
    assert (new.token, new.access_token.token) == ("", "")
    assert new.token_family == stored.token_family
    assert new.access_token.source_refresh_token_id == live.id
    assert new.access_token.scope == "openid profile"
    if with_id_token:
        assert str(new.access_token.id_token.jti) == rotation.id_token["jti"]
    else:
        assert new.access_token.id_token_id is None
    # the release and both audit events
    assert DataRelease.objects.get(user=resident).claims == ["sub"]
    assert sorted(
        AuditEvent.objects.filter(subject_ref=resident.public_id).values_list("action", flat=True)
    ) == [
        "identity.oidc.consent_recorded",
        "identity.oidc.data_released",
        "identity.oidc.token_issued",
    ]


def test_rotated_tokens_are_found_by_django_oauth_toolkit_and_the_api(resident_app, rf):
    from oauth2_provider.models import get_access_token_model

    resident, app = resident_app
    _refresh_token_for(resident, app)
    live = refresh_token_live(RefreshToken.objects.get(user=resident).token_checksum)
    rotation, raw = _rotation(resident, app)
    assert refresh_token_rotate(previous=live, now=timezone.now(), rotation=rotation) is True

    # django-oauth-toolkit's own lookups of a presented token
    validator = HanoiSmartValidator()
    request = type("Request", (), {"scopes": None})()
    assert validator.validate_bearer_token(raw["access"], ["openid"], request) is True
    assert request.user == resident
    # the API's bearer check
    grant = BearerToken(["openid"]).authenticate(rf.get("/api/v1/"), raw["access"])
    assert (grant.user_id, grant.scopes) == (resident.pk, {"openid", "profile"})
    # the next refresh
    assert refresh_token_live(hashlib.sha256(raw["refresh"].encode()).hexdigest()).access_token_id == (
        get_access_token_model().objects.get(user=resident).pk
    )


def test_rotation_of_a_token_revoked_meanwhile_writes_nothing(resident_app):
    resident, app = resident_app
    _refresh_token_for(resident, app)
    live = refresh_token_live(RefreshToken.objects.get(user=resident).token_checksum)
    rotation, _raw = _rotation(resident, app)
    revoked_at = timezone.now() - dt.timedelta(seconds=5)
    RefreshToken.objects.filter(pk=live.id).update(revoked=revoked_at)
    events = AuditEvent.objects.count()

    assert refresh_token_rotate(previous=live, now=timezone.now(), rotation=rotation) is False

    stored = RefreshToken.objects.get(pk=live.id)
    assert (stored.revoked, stored.access_token_id) == (revoked_at, live.access_token_id)
    assert AccessToken.objects.filter(pk=live.access_token_id).exists()
    assert RefreshToken.objects.filter(user=resident).count() == 1
    assert AccessToken.objects.filter(user=resident).count() == 1
    assert not IDToken.objects.exists()
    assert not DataRelease.objects.exists()
    assert AuditEvent.objects.count() == events
