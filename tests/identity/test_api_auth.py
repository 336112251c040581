"""Bearer tokens on the API (identity/api_auth.py): one statement per request, and nothing kept between
requests, so a revoked token, an app no longer approved or a deactivated user is refused at the next one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone
from oauth2_provider.models import AccessToken

from hanoismart.common.errors import PermissionDenied
from hanoismart.identity.api_auth import BearerGrant, BearerToken, holds_no_staff_position
from hanoismart.identity.models import ClientAppStatus, User
from hanoismart.identity.selectors.staff import positions_active
from tests.identity.oidc_support import make_app

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def _token(user, scope="openid profile", *, app=None, expires_in=3600) -> AccessToken:
    return AccessToken.objects.create(
        user=user,
        application=app or make_app(),
        token=f"tok-{user.pk if user else 'client'}-{scope.replace(' ', '-')}",
        scope=scope,
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
    )


def _me(client, token: AccessToken):
    return client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token.token}", HTTP_ACCEPT_LANGUAGE="en")


def _authenticate(token: str, scopes=("openid",), **options):
    request = RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")
    grant = BearerToken(scopes, **options)(request)
    return request, grant


def test_a_revoked_token_is_refused_at_the_next_request(client, personas):
    token = _token(personas.resident)
    assert _me(client, token).status_code == 200

    token.revoke()

    response = _me(client, token)
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_token",
        "detail": "The access token is invalid or has expired.",
    }


def test_a_token_of_an_app_no_longer_approved_is_refused_at_the_next_request(client, personas):
    app = make_app()
    token = _token(personas.resident, app=app)
    assert _me(client, token).status_code == 200

    app.status = ClientAppStatus.SUSPENDED
    app.save(update_fields=["status"])

    assert _me(client, token).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused_at_the_next_request(client, personas):
    token = _token(personas.resident)
    assert _me(client, token).status_code == 200

    User.objects.filter(pk=personas.resident.pk).update(is_active=False)

    assert _me(client, token).status_code == 401


def test_a_token_that_expired_since_the_last_request_is_refused(client, personas):
    token = _token(personas.resident)
    assert _me(client, token).status_code == 200

    AccessToken.objects.filter(pk=token.pk).update(expires=timezone.now() - dt.timedelta(seconds=1))

    assert _me(client, token).status_code == 401


def test_a_token_without_an_app_is_refused(client, personas):
    token = _token(personas.resident)
    AccessToken.objects.filter(pk=token.pk).update(application=None)

    assert _me(client, token).status_code == 401


def test_one_statement_gives_a_whole_user_and_the_grant(personas, django_assert_num_queries):
    token = _token(personas.resident, "openid profile")

    with django_assert_num_queries(1):
        request, grant = _authenticate(token.token)
        user = request.user
        # every column downstream code reads is loaded: no further query
        values = (user.full_name, user.national_id, user.phone, user.email, user.ward_id, user.is_superuser)

    resident = User.objects.get(pk=personas.resident.pk)
    assert isinstance(user, User)
    assert user.pk == resident.pk
    assert values == (
        resident.full_name,
        resident.national_id,
        resident.phone,
        resident.email,
        resident.ward_id,
        False,
    )
    assert user.date_joined == resident.date_joined
    assert user.public_id == resident.public_id
    assert user._state.adding is False
    assert grant == BearerGrant(
        token_id=token.pk,
        application_id=token.application_id,
        user_id=resident.pk,
        scopes=frozenset({"openid", "profile"}),
        expires=AccessToken.objects.get(pk=token.pk).expires,
    )


def test_the_user_says_whether_they_hold_any_staff_position(personas):
    app = make_app()
    resident_request, _ = _authenticate(_token(personas.resident, app=app).token)
    clerk_request, _ = _authenticate(_token(personas.clerk_hoan_kiem, app=app).token)

    assert holds_no_staff_position(resident_request.user) is True
    assert holds_no_staff_position(clerk_request.user) is False
    assert positions_active(clerk_request.user).exists()
    # a user the session signed in is not known either way
    assert holds_no_staff_position(User.objects.get(pk=personas.resident.pk)) is False


def test_a_machine_clients_token_is_refused_where_a_person_must_act_and_allowed_where_clients_may(db):
    token = _token(None, "dossiers.read")

    with pytest.raises(PermissionDenied) as refused:
        _authenticate(token.token, scopes=("dossiers.read",))
    request, grant = _authenticate(token.token, scopes=("dossiers.read",), allow_clients=True)

    assert refused.value.status == 403
    assert str(refused.value) == "This operation acts for a person; use a token a person granted."
    assert grant.user_id is None
    assert not hasattr(request, "user")
