"""The developer portal: registering apps (and its refusals), review by operators (per tier), the client
secret shown once and rotated (checked against the token endpoint), changes that send an app back to review,
the public list, and the operator screen."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.urls import reverse

from hanoismart.audit.models import AuditEvent
from hanoismart.common.errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from hanoismart.identity.models import (
    AssuranceLevel,
    ClientApp,
    ClientAppStatus,
    ClientScope,
    Membership,
    MembershipRole,
)
from hanoismart.identity.services.developer import (
    ScopeRequest,
    client_app_register,
    client_app_review,
    client_app_secret_rotate,
    client_app_update,
)
from hanoismart.notifications.models import Message
from tests.identity.factories import OrganisationFactory, UserFactory
from tests.identity.oidc_support import make_app

pytestmark = pytest.mark.django_db

SCOPES = [
    ScopeRequest("openid", "To sign you in."),
    ScopeRequest("profile", "To greet you by name."),
    ScopeRequest("phone", "To text you when your parking permit is ready.", is_optional=True),
]
GOOD = {
    "name": "Gửi Xe Hà Nội",
    "description": "Find and pay for parking near you.",
    "logo_url": "https://parking.example/logo.png",
    "privacy_policy_url": "https://parking.example/privacy",
    "redirect_uris": ["https://parking.example/callback", "http://127.0.0.1:9000/cb"],
    "scopes": SCOPES,
    "client_type": ClientApp.CLIENT_CONFIDENTIAL,
}

EDITABLE = {key: value for key, value in GOOD.items() if key != "client_type"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def developer(personas):
    return personas.resident  # level 2 (UserFactory's default)


def _register(actor, **changes):
    return client_app_register(actor=actor, **(GOOD | changes))


def _approve(app, operator):
    return client_app_review(actor=operator, app=app, decision="approve", reason="")


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


# --- registration --------------------------------------------------------------------------------------


def test_a_verified_resident_registers_an_app_in_review(developer):
    app = _register(developer)

    assert app.status == ClientAppStatus.IN_REVIEW
    assert app.owner == developer
    assert app.owner_organisation is None
    assert app.redirect_uris == "https://parking.example/callback http://127.0.0.1:9000/cb"
    assert app.authorization_grant_type == ClientApp.GRANT_AUTHORIZATION_CODE
    assert app.client_secret.startswith("hanoismart_secret_sha256$")  # only a hash is kept
    scopes = {cs.scope: (cs.purpose, cs.is_optional) for cs in ClientScope.objects.filter(app=app)}
    assert scopes == {
        "openid": ("To sign you in.", False),
        "profile": ("To greet you by name.", False),
        "phone": ("To text you when your parking permit is ready.", True),
    }
    event = AuditEvent.objects.get(action="identity.client_app.registered")
    assert event.actor_ref == developer.public_id
    assert event.object_ref == str(app.public_id)
    assert event.details["redirect_uris"] == ["https://parking.example/callback", "http://127.0.0.1:9000/cb"]


def test_an_unapproved_app_cannot_sign_anyone_in(developer, sign_in):
    app = _register(developer, client_type=ClientApp.CLIENT_PUBLIC)
    browser = sign_in(developer)

    response = browser.get(
        "/o/authorize/?"
        + f"response_type=code&client_id={app.client_id}&redirect_uri=https://parking.example/callback"
        + "&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        + "&code_challenge_method=S256"
    )

    assert response.status_code in (400, 401)
    assert "Location" not in response


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"redirect_uris": ["http://parking.example/callback"]}, "redirect_uris"),
        ({"redirect_uris": ["https://parking.example/cb#frag"]}, "redirect_uris"),
        ({"redirect_uris": ["https://*.parking.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["not a url"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"logo_url": "http://parking.example/logo.png"}, "logo_url"),
        ({"logo_url": "javascript:alert(1)"}, "logo_url"),
        ({"privacy_policy_url": ""}, "privacy_policy_url"),
        ({"privacy_policy_url": "parking.example/privacy"}, "privacy_policy_url"),
        ({"name": "  "}, "name"),
        ({"scopes": [ScopeRequest("profile", "Name.")]}, "scopes"),
        ({"scopes": [*SCOPES, ScopeRequest("introspection", "Check tokens.")]}, "scopes"),
        ({"scopes": [*SCOPES, ScopeRequest("bank:balance", "Money.")]}, "scopes"),
        ({"scopes": [ScopeRequest("openid", "Sign in."), ScopeRequest("email", " ")]}, "purpose:email"),
    ],
)
def test_registration_refusals_name_the_field_and_save_nothing(developer, changes, field):
    with pytest.raises(InvalidInput) as refusal:
        _register(developer, **changes)

    assert field in refusal.value.details
    assert not ClientApp.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="identity.client_app").exists()


def test_openid_is_never_optional(developer):
    app = _register(developer, scopes=[ScopeRequest("openid", "Sign in.", is_optional=True)])

    assert ClientScope.objects.get(app=app, scope="openid").is_optional is False


def test_an_unverified_account_cannot_register_in_its_own_name(developer):
    developer.assurance_level = AssuranceLevel.SELF_REGISTERED
    developer.save()

    with pytest.raises(PermissionDenied) as refusal:
        _register(developer)

    assert refusal.value.code == "verification_required"
    assert not ClientApp.objects.exists()


def test_anonymous_cannot_register():
    with pytest.raises(NotAuthenticated):
        _register(AnonymousUser())
    assert not ClientApp.objects.exists()


def test_a_representative_registers_for_their_organisation_even_unverified(developer):
    organisation = OrganisationFactory()
    Membership.objects.create(user=developer, organisation=organisation, role=MembershipRole.AUTHORISED)
    developer.assurance_level = AssuranceLevel.SELF_REGISTERED
    developer.save()

    app = _register(developer, organisation=organisation)

    assert app.owner_organisation == organisation
    # and a colleague of the organisation manages it too
    colleague = UserFactory()
    Membership.objects.create(user=colleague, organisation=organisation, role=MembershipRole.AUTHORISED)
    client_app_update(actor=colleague, app=app, **(EDITABLE | {"description": "By a colleague."}))
    app.refresh_from_db()
    assert app.description == "By a colleague."


def test_nobody_registers_for_an_organisation_they_do_not_act_for(developer):
    with pytest.raises(PermissionDenied):
        _register(developer, organisation=OrganisationFactory())
    assert not ClientApp.objects.exists()


# --- review --------------------------------------------------------------------------------------------


def test_operator_approves_and_the_owner_is_told_in_app_and_by_email(developer, personas):
    developer.email = "dev@parking.example"
    developer.save()
    app = _register(developer)

    reviewed = client_app_review(actor=personas.operator, app=app, decision="approve", reason="Looks right.")

    assert reviewed.status == ClientAppStatus.APPROVED
    assert reviewed.reviewed_by == personas.operator
    assert reviewed.reviewed_at is not None
    assert (
        AuditEvent.objects.filter(
            action="identity.client_app.approved", object_ref=str(app.public_id)
        ).count()
        == 1
    )
    sent = Message.objects.filter(recipient=developer, template="identity.client_app_reviewed")
    assert sorted(sent.values_list("channel", flat=True)) == ["email", "in_app"]
    assert all(app.name in message.body for message in sent)


def test_rejection_needs_a_reason_and_carries_it_to_the_owner(developer, personas):
    app = _register(developer)

    with pytest.raises(InvalidInput):
        client_app_review(actor=personas.operator, app=app, decision="reject", reason="  ")
    app.refresh_from_db()
    assert app.status == ClientAppStatus.IN_REVIEW
    assert not Message.objects.exists()

    client_app_review(
        actor=personas.operator, app=app, decision="reject", reason="The privacy policy is empty."
    )

    app.refresh_from_db()
    assert (app.status, app.review_reason) == (ClientAppStatus.REJECTED, "The privacy policy is empty.")
    message = Message.objects.get(recipient=developer, channel="in_app")
    assert "The privacy policy is empty." in message.body


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("anonymous", NotAuthenticated),
        ("resident", PermissionDenied),
        ("clerk_hoan_kiem", PermissionDenied),
        ("city_manager", PermissionDenied),
    ],
)
def test_only_operators_review(personas, developer, who, error):
    app = _register(developer)
    actor = AnonymousUser() if who == "anonymous" else getattr(personas, who)

    with pytest.raises(error):
        client_app_review(actor=actor, app=app, decision="approve", reason="")

    app.refresh_from_db()
    assert app.status == ClientAppStatus.IN_REVIEW
    assert not AuditEvent.objects.filter(action="identity.client_app.approved").exists()
    assert not Message.objects.exists()


def test_an_operator_does_not_review_their_own_app(personas):
    app = _register(personas.operator)

    with pytest.raises(PermissionDenied):
        _approve(app, personas.operator)


def test_an_app_is_reviewed_once(developer, personas):
    app = _approve(_register(developer), personas.operator)

    with pytest.raises(Conflict):
        client_app_review(actor=personas.operator, app=app, decision="reject", reason="Changed my mind.")


# --- the client secret ---------------------------------------------------------------------------------


def test_the_secret_is_issued_only_once_approved_and_only_to_a_manager(developer, personas):
    app = _register(developer)
    with pytest.raises(Conflict):
        client_app_secret_rotate(actor=developer, app=app)
    _approve(app, personas.operator)

    with pytest.raises(PermissionDenied):
        client_app_secret_rotate(
            actor=personas.resident if developer != personas.resident else UserFactory(), app=app
        )
    with pytest.raises(PermissionDenied):
        client_app_secret_rotate(actor=personas.operator, app=app)

    public = _register(developer, client_type=ClientApp.CLIENT_PUBLIC)
    _approve(public, personas.operator)
    with pytest.raises(Conflict):
        client_app_secret_rotate(actor=developer, app=public)


def test_rotation_ends_the_old_secret_at_the_token_endpoint(developer, client):
    # given an approved machine client whose manager created a secret
    app = make_app(
        "machine",
        client_type=ClientApp.CLIENT_CONFIDENTIAL,
        grant_type=ClientApp.GRANT_CLIENT_CREDENTIALS,
        client_secret="initial-secret-nobody-knows",
        scopes=(("dossiers.read", "Sync dossiers.", False),),
    )
    app.owner = developer
    app.save()
    old = client_app_secret_rotate(actor=developer, app=app)
    token = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("machine", old)
    )
    assert token.status_code == 200, token.content
    assert token.json()["access_token"]

    # when the secret is rotated
    new = client_app_secret_rotate(actor=developer, app=app)

    # then the old one is refused and the new one works
    assert new != old
    refused = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("machine", old)
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    accepted = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic("machine", new)
    )
    assert accepted.status_code == 200
    app.refresh_from_db()
    assert new not in app.client_secret
    assert old not in app.client_secret
    assert AuditEvent.objects.filter(action="identity.client_app.secret_rotated").count() == 2


def test_the_portal_shows_the_secret_once_and_the_old_one_stops_working(developer, personas, sign_in, client):
    app = _approve(_register(developer), personas.operator)
    browser = sign_in(developer)
    page_url = reverse("identity:developer_app", args=[app.public_id])

    response = browser.post(reverse("identity:developer_app_secret", args=[app.public_id]))
    assert response.status_code == 302
    assert response["Location"] == page_url
    first = browser.get(page_url)
    html = first.content.decode()
    assert 'id="client-secret"' in html
    secret = html.split('id="client-secret">')[1].split("<")[0]
    assert len(secret) >= 40
    assert first["Cache-Control"] == "no-store"

    # shown once: the next visit does not show it
    assert secret not in browser.get(page_url).content.decode()

    # the secret authenticates the app: a made-up code is refused as a bad grant, not a bad client
    def token_with(secret_value):
        return client.post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": "made-up",
                "redirect_uri": "https://parking.example/callback",
            },
            HTTP_AUTHORIZATION=_basic(app.client_id, secret_value),
        )

    assert token_with(secret).json()["error"] == "invalid_grant"
    browser.post(reverse("identity:developer_app_secret", args=[app.public_id]))
    browser.get(page_url)
    assert token_with(secret).status_code == 401


# --- changes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "back_to_review"),
    [
        ({"description": "Now with maps."}, False),
        ({"privacy_policy_url": "https://parking.example/privacy-v2"}, False),
        ({"redirect_uris": ["https://parking.example/callback"]}, False),
        ({"scopes": SCOPES[:2]}, False),
        ({"redirect_uris": [*GOOD["redirect_uris"], "https://parking.example/other"]}, True),
        ({"scopes": [*SCOPES, ScopeRequest("address", "To show nearby lots.")]}, True),
        ({"scopes": [SCOPES[0], ScopeRequest("profile", "To sell your name.")]}, True),
        ({"scopes": [*SCOPES[:2], ScopeRequest("phone", SCOPES[2].purpose, is_optional=False)]}, True),
        ({"name": "Gửi Xe Pro"}, True),
    ],
)
def test_widening_changes_send_an_approved_app_back_to_review(developer, personas, changes, back_to_review):
    app = _approve(_register(developer), personas.operator)

    updated = client_app_update(actor=developer, app=app, **(EDITABLE | changes))

    assert updated.status == (ClientAppStatus.IN_REVIEW if back_to_review else ClientAppStatus.APPROVED)
    event = AuditEvent.objects.get(action="identity.client_app.updated")
    assert event.details["status"] == updated.status


def test_editing_a_rejected_app_resubmits_it_and_a_suspended_one_is_refused(developer, personas):
    app = _register(developer)
    client_app_review(actor=personas.operator, app=app, decision="reject", reason="No logo.")
    fields = EDITABLE

    assert client_app_update(actor=developer, app=app, **fields).status == ClientAppStatus.IN_REVIEW

    ClientApp.objects.filter(pk=app.pk).update(status=ClientAppStatus.SUSPENDED)
    with pytest.raises(Conflict):
        client_app_update(actor=developer, app=app, **fields)


def test_someone_else_cannot_change_the_app(developer):
    app = _register(developer)
    with pytest.raises(PermissionDenied):
        client_app_update(actor=UserFactory(), app=app, **EDITABLE)


# --- pages ---------------------------------------------------------------------------------------------


def test_public_list_shows_only_approved_apps(client, developer, personas):
    approved = _approve(_register(developer, name="Approved Parking"), personas.operator)
    _register(developer, name="Waiting Parking")
    rejected = _register(developer, name="Rejected Parking")
    client_app_review(actor=personas.operator, app=rejected, decision="reject", reason="No.")

    response = client.get(reverse("identity:developers"), HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert approved.name in html
    assert "Waiting Parking" not in html
    assert "Rejected Parking" not in html
    assert "/.well-known/openid-configuration" in html
    assert 'id="my-apps"' not in html


def test_the_portal_lists_my_apps_and_offers_registration_to_the_verified(sign_in, developer):
    _register(developer, name="Mine")
    page = sign_in(developer).get(reverse("identity:developers"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'id="my-apps"' in html
    assert "Mine" in html
    assert reverse("identity:developer_app_register") in html

    unverified = UserFactory(assurance_level=AssuranceLevel.SELF_REGISTERED)
    browser = sign_in(unverified)
    assert (
        reverse("identity:developer_app_register")
        not in browser.get(reverse("identity:developers")).content.decode()
    )
    assert browser.get(reverse("identity:developer_app_register")).status_code == 403


def _form_data(**changes):
    data = {
        "organisation": "",
        "name": "Gửi Xe Hà Nội",
        "description": "Parking.",
        "logo_url": "https://parking.example/logo.png",
        "privacy_policy_url": "https://parking.example/privacy",
        "redirect_uris": "https://parking.example/callback\r\n\r\nhttp://localhost:3000/cb\r\n",
        "client_type": "public",
        "purpose_openid": "To sign you in.",
        "scope_profile": "on",
        "purpose_profile": "To greet you.",
        "scope_hanoismart__national_id": "on",
        "purpose_hanoismart__national_id": "To fill in the permit form.",
        "optional_hanoismart__national_id": "on",
    }
    return data | changes


def test_registration_through_the_page(sign_in, developer):
    browser = sign_in(developer)

    response = browser.post(reverse("identity:developer_app_register"), _form_data())

    app = ClientApp.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:developer_app", args=[app.public_id])
    assert app.client_type == ClientApp.CLIENT_PUBLIC
    assert app.redirect_uris == "https://parking.example/callback http://localhost:3000/cb"
    assert dict(ClientScope.objects.filter(app=app).values_list("scope", "is_optional")) == {
        "openid": False,
        "profile": False,
        "hanoismart:national_id": True,
    }


def test_a_refused_registration_page_shows_the_error_next_to_the_field(sign_in, developer):
    browser = sign_in(developer)

    response = browser.post(
        reverse("identity:developer_app_register"),
        _form_data(redirect_uris="http://parking.example/callback", purpose_profile=""),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="redirect_uris-errors"' in html
    assert "must use https" in html
    assert "Tell residents why the app needs this item." in html
    assert not ClientApp.objects.exists()


def test_other_people_get_404_for_my_app(sign_in, developer):
    app = _register(developer)
    stranger = sign_in(UserFactory())
    for name in ("developer_app", "developer_app_edit"):
        assert stranger.get(reverse(f"identity:{name}", args=[app.public_id])).status_code == 404
    assert stranger.post(reverse("identity:developer_app_secret", args=[app.public_id])).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("resident", 403),
        ("clerk_hoan_kiem", 403),
        ("city_manager", 403),
        ("operator", 200),
    ],
)
def test_review_pages_per_tier(client, sign_in, personas, developer, who, status):
    app = _register(UserFactory(), name="Queue Parking")
    browser = client if who == "anonymous" else sign_in(getattr(personas, who))

    listing = browser.get(reverse("identity:app_review_list"))
    detail = browser.get(reverse("identity:app_review", args=[app.public_id]))
    decision = browser.post(reverse("identity:app_review", args=[app.public_id]), {"decision": "approve"})

    assert listing.status_code == status
    assert detail.status_code == status
    if status == 200:
        assert "Queue Parking" in listing.content.decode()
        assert decision.status_code == 302
        app.refresh_from_db()
        assert app.status == ClientAppStatus.APPROVED
    else:
        assert decision.status_code == status
        app.refresh_from_db()
        assert app.status == ClientAppStatus.IN_REVIEW


def test_rejecting_on_the_page_without_a_reason_is_refused(sign_in, personas):
    app = _register(UserFactory())
    browser = sign_in(personas.operator)

    response = browser.post(reverse("identity:app_review", args=[app.public_id]), {"decision": "reject"})

    assert response.status_code == 400
    app.refresh_from_db()
    assert app.status == ClientAppStatus.IN_REVIEW


def test_review_queue_query_count_does_not_grow(sign_in, personas, django_assert_max_num_queries):
    for n in range(5):
        _register(UserFactory(), name=f"App {n}")
    browser = sign_in(personas.operator)
    with django_assert_max_num_queries(20):
        assert browser.get(reverse("identity:app_review_list")).status_code == 200


# --- the operator site ---------------------------------------------------------------------------------


def test_admin_approve_and_reject_actions_go_through_the_service(sign_in, personas):
    waiting = _register(UserFactory(), name="Admin Approve")
    other = _register(UserFactory(), name="Admin Reject")
    browser = sign_in(personas.operator)
    url = reverse("admin:identity_clientapp_changelist")
    assert browser.get(url).status_code == 200

    browser.post(url, {"action": "approve_selected", "_selected_action": [waiting.pk]})
    asked = browser.post(url, {"action": "reject_selected", "_selected_action": [other.pk]})
    assert asked.status_code == 200  # the reason is asked first
    browser.post(
        url, {"action": "reject_selected", "_selected_action": [other.pk], "reason": "Unclear purpose."}
    )

    waiting.refresh_from_db()
    other.refresh_from_db()
    assert waiting.status == ClientAppStatus.APPROVED
    assert (other.status, other.review_reason) == (ClientAppStatus.REJECTED, "Unclear purpose.")
    assert (
        AuditEvent.objects.filter(
            action__in=["identity.client_app.approved", "identity.client_app.rejected"]
        ).count()
        == 2
    )


def test_admin_keeps_out_non_operators(sign_in, personas):
    clerk = personas.clerk_hoan_kiem
    clerk.is_staff = True
    clerk.save()
    assert sign_in(clerk).get(reverse("admin:identity_clientapp_changelist")).status_code == 403
    assert sign_in(personas.operator).get(reverse("admin:identity_clientapp_add")).status_code == 403
