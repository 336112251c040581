"""Journeys of "Sign in with HanoiSmart": the consent screen for the demo app, the "Connected apps" page with
its history and revocation, and the developer portal's registration and its review by an operator."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from hanoismart.identity import demo_data
from hanoismart.identity.models import ClientApp, ClientAppStatus, Consent, DataRelease
from hanoismart.identity.seeds import seed_demo_apps
from tests.e2e.test_accounts import _totp, open_menu_if_folded, sign_in_with_password
from tests.identity.factories import PASSWORD
from tests.identity.oidc_support import pkce_pair

pytestmark = pytest.mark.e2e

CALLBACK = demo_data.DEMO_APP_REDIRECT_URI


def _answer_the_callback(page: Page) -> None:
    """Nothing listens on the demo app's redirect URI: answer it in the browser, as the app would."""
    page.route(f"{CALLBACK}**", lambda route: route.fulfill(status=200, body="<h1>demo app</h1>"))


def _authorize_path(challenge: str) -> str:
    params = {
        "response_type": "code",
        "client_id": demo_data.DEMO_APP_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid profile phone address",
        "state": "journey-state",
        "nonce": "journey-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return "/o/authorize/?" + urlencode(params)


def _sign_out(page: Page) -> None:
    open_menu_if_folded(page)
    page.locator(f'#nav form[action="{reverse("identity:sign_out")}"] button').click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_consent_then_connected_apps_with_history_then_revoke(page, screenshot, personas):
    resident = personas.resident
    seed_demo_apps()
    _answer_the_callback(page)
    verifier, challenge = pkce_pair()

    # given a resident whom the demo app sends to HanoiSmart: they sign in first
    page.goto(_authorize_path(challenge))
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:sign_in"))))
    sign_in_with_password(page, resident.national_id, PASSWORD)

    # then they see the consent screen with each item and its purpose; "phone" and "address" are optional
    expect(page.locator("#oidc-consent")).to_be_visible()
    expect(page.locator('#consent-items input[name="optional_scope"]')).to_have_count(2)
    screenshot("consent")

    # when they untick the phone number and allow
    page.locator('input[name="optional_scope"][value="phone"]').uncheck()
    page.locator('button[name="decision"][value="allow"]').click()

    # then the app receives a code at its redirect URI, and their decision is remembered per item
    page.wait_for_url(re.compile(re.escape(CALLBACK)))
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["journey-state"]
    app = ClientApp.objects.get(client_id=demo_data.DEMO_APP_CLIENT_ID)
    assert dict(Consent.objects.filter(user=resident, app=app).values_list("scope", "granted")) == {
        "openid": True,
        "profile": True,
        "phone": False,
        "address": True,
    }

    # and the app exchanges the code and reads userinfo twice (three releases of data in all)
    server = Client()
    token = server.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": CALLBACK,
            "client_id": demo_data.DEMO_APP_CLIENT_ID,
            "code_verifier": verifier,
        },
    ).json()
    for _ in range(2):
        server.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    releases = DataRelease.objects.filter(user=resident, app=app).count()
    assert releases >= 3

    # when the resident opens "Connected apps" from their account
    page.goto(reverse("identity:account"))
    page.locator(f'#connected-apps a[href="{reverse("identity:connected_apps")}"]').click()
    expect(page.locator(".connected-app")).to_have_count(1)
    screenshot("connected-apps")

    # then the app's page shows what it may receive and every release
    page.locator(
        f'.connected-app a[href="{reverse("identity:connected_app", args=[app.public_id])}"]'
    ).first.click()
    expect(page.locator("#granted-items li")).to_have_count(3)
    expect(page.locator("#release-history .release")).to_have_count(releases)
    screenshot("connected-app-history")

    # when they revoke its access, after confirming
    page.locator("#revoke-link").click()
    expect(page.locator("#revoke-confirm")).to_be_visible()
    screenshot("revoke-confirm")
    page.locator('#revoke-confirm button[type="submit"]').click()

    # then the app is gone from the list and its token no longer works
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:connected_apps")) + "$"))
    expect(page.locator(".connected-app")).to_have_count(0)
    screenshot("connected-apps-after-revoking")
    assert server.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}").status_code == 401


def test_a_developer_registers_an_app_and_an_operator_approves_it(page, screenshot, personas):
    developer, operator = personas.resident, personas.operator

    # given a verified resident on the developer portal
    page.goto(reverse("identity:developers"))
    screenshot("portal-visitor")
    page.goto(reverse("identity:sign_in") + "?next=" + reverse("identity:developers"))
    sign_in_with_password(page, developer.national_id, PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:developers")) + "$"))

    # when they register an app
    page.locator("#register-app").click()
    page.locator('input[name="name"]').fill("Gửi Xe Hà Nội")
    page.locator('textarea[name="description"]').fill("Find a parking space near you and pay for it.")
    page.locator('input[name="privacy_policy_url"]').fill("https://parking.example/privacy")
    page.locator('textarea[name="redirect_uris"]').fill(
        "https://parking.example/callback\nhttp://127.0.0.1:9000/cb"
    )
    page.locator('input[name="purpose_openid"]').fill("To sign you in.")
    page.locator('input[name="scope_profile"]').check()
    page.locator('input[name="purpose_profile"]').fill("To put your name on your parking permit.")
    page.locator('input[name="scope_phone"]').check()
    page.locator('input[name="purpose_phone"]').fill("To text you before your permit ends.")
    page.locator('input[name="optional_phone"]').check()
    screenshot("register-filled")
    page.locator('#app-form button[type="submit"]').click()

    # then the app is in review
    app = ClientApp.objects.get(name="Gửi Xe Hà Nội")
    expect(page).to_have_url(
        re.compile(re.escape(reverse("identity:developer_app", args=[app.public_id])) + "$")
    )
    expect(page.locator(".app-status").first).to_be_visible()
    assert app.status == ClientAppStatus.IN_REVIEW
    screenshot("app-in-review")
    _sign_out(page)

    # when an operator signs in (with the authenticator code) and approves it from the review queue
    page.goto(reverse("identity:sign_in") + "?next=" + reverse("identity:app_review_list"))
    sign_in_with_password(page, operator.national_id, PASSWORD)
    page.locator('input[name="code"]').fill(_totp(TOTPDevice.objects.get(user=operator, confirmed=True)))
    page.locator('main form button[type="submit"]').first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:app_review_list"))))
    expect(page.locator(".review-row")).to_have_count(1)
    screenshot("review-queue")
    page.locator(f'a[href="{reverse("identity:app_review", args=[app.public_id])}"]').click()
    screenshot("review-app")
    page.locator('button[name="decision"][value="approve"]').click()
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:app_review_list"))))
    app.refresh_from_db()
    assert app.status == ClientAppStatus.APPROVED
    _sign_out(page)

    # then the developer creates the client secret, shown once
    page.goto(
        reverse("identity:sign_in") + "?next=" + reverse("identity:developer_app", args=[app.public_id])
    )
    sign_in_with_password(page, developer.national_id, PASSWORD)
    page.locator("#rotate-secret").click()
    expect(page.locator("#client-secret")).to_be_visible()
    screenshot("secret-shown-once")
    page.reload()
    expect(page.locator("#client-secret")).to_have_count(0)
    screenshot("app-approved")
