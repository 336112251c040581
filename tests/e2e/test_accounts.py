"""Journeys of HanoiSmart ID: a resident registers and signs in; a clerk cannot pass without the TOTP code."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pyotp
import pytest
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from hanoismart.identity.models import AssuranceLevel, User
from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.e2e

NEW_RESIDENT = {
    "national_id": "001095012345",  # born in Hà Nội (001), male, 1995
    "full_name": "Nguyễn Thị Thu Hà",
    "date_of_birth": "1995-03-14",
    "phone": "0912345678",
    "ward": "Phường Hoàn Kiếm",
    "password": "hoa-sen-ho-guom-2025",
}


def open_menu_if_folded(page: Page) -> None:
    """On a phone the account links sit in the folded menu: open it first. Wait for the page's scripts
    (a click before Bootstrap has loaded does nothing) and for the menu to finish opening."""
    page.wait_for_load_state("load")
    toggler = page.locator('button.navbar-toggler[aria-controls="nav"]')
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))


def sign_in_with_password(page: Page, identifier: str, password: str) -> None:
    page.locator('input[name="identifier"]').fill(identifier)
    page.locator('input[name="password"]').fill(password)
    page.locator('main form button[type="submit"]').first.click()


def vietnamese(text) -> str:
    with translation.override("vi"):
        return str(text)


def test_a_new_resident_registers_then_signs_in_with_the_password(page, screenshot, seeded_directory):
    # given a resident on the home page
    page.goto("/")
    page.locator(f'main a[href="{reverse("identity:register")}"]').first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:register")) + "$"))
    screenshot("register-empty")

    # when they fill in the registration form
    page.locator('input[name="national_id"]').fill(NEW_RESIDENT["national_id"])
    page.locator('input[name="full_name"]').fill(NEW_RESIDENT["full_name"])
    page.locator('input[name="date_of_birth"]').fill(NEW_RESIDENT["date_of_birth"])
    page.locator('input[name="phone"]').fill(NEW_RESIDENT["phone"])
    page.locator('select[name="ward"]').select_option(label=NEW_RESIDENT["ward"])
    page.locator('input[name="password"]').fill(NEW_RESIDENT["password"])
    page.locator('input[name="password_confirm"]').fill(NEW_RESIDENT["password"])
    screenshot("register-filled")
    page.locator('main form button[type="submit"]').click()

    # then their account is open, at level 0, and they are on its page
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:account")) + "$"))
    expect(page.locator("main")).to_contain_text(NEW_RESIDENT["full_name"])
    screenshot("account-after-registering")
    user = User.objects.get(national_id=NEW_RESIDENT["national_id"])
    assert user.full_name == NEW_RESIDENT["full_name"]
    assert user.date_of_birth == dt.date(1995, 3, 14)
    assert user.phone == NEW_RESIDENT["phone"]
    assert user.ward.name == NEW_RESIDENT["ward"]
    assert user.assurance_level == AssuranceLevel.SELF_REGISTERED

    # when they sign out, then sign in again with the password
    open_menu_if_folded(page)
    page.locator(f'#nav form[action="{reverse("identity:sign_out")}"] button').click()
    expect(page).to_have_url(re.compile(r"/$"))
    open_menu_if_folded(page)
    page.locator(f'#nav a[href="{reverse("identity:sign_in")}"]').click()
    screenshot("sign-in")
    sign_in_with_password(page, NEW_RESIDENT["national_id"], NEW_RESIDENT["password"])

    # then they see their account with their name and assurance level 0
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:account")) + "$"))
    expect(page.locator("main")).to_contain_text(NEW_RESIDENT["full_name"])
    expect(page.locator("#assurance-level")).to_have_text(vietnamese(AssuranceLevel.SELF_REGISTERED.label))
    screenshot("account")


def _totp(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """The code an authenticator app would show now (django_otp keeps the key in hex, apps take base32)."""
    key = base64.b32encode(bytes.fromhex(device.key)).decode()
    totp = pyotp.TOTP(key, digits=device.digits, interval=device.step)
    return totp.at(dt.datetime.now(tz=dt.UTC), counter_offset=offset_steps)


def test_a_clerk_reaches_the_account_only_after_the_authenticator_code(page, screenshot, personas):
    clerk = personas.clerk_hoan_kiem
    device = TOTPDevice.objects.get(user=clerk, confirmed=True)

    # given a clerk who signs in with the right password
    page.goto(reverse("identity:sign_in"))
    sign_in_with_password(page, clerk.national_id, PASSWORD)

    # then they are asked for their authenticator code, and the account page sends them back there
    totp_page = re.compile(re.escape(reverse("identity:sign_in_totp")) + "$")
    expect(page).to_have_url(totp_page)
    screenshot("totp-asked")
    page.goto(reverse("identity:account"))
    expect(page).to_have_url(totp_page)

    # when they type a wrong code, they stay there with an error
    valid_now = {_totp(device, offset_steps=step) for step in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222", "333333") if code not in valid_now)
    page.locator('input[name="code"]').fill(wrong)
    page.locator('main form button[type="submit"]').first.click()
    expect(page).to_have_url(totp_page)
    expect(page.locator('input[name="code"]')).to_have_attribute("aria-invalid", "true")
    screenshot("totp-wrong")

    # when, after the pause the throttle asks for (1 s after a failure), they type the code the app shows
    page.wait_for_timeout(1_500)
    page.locator('input[name="code"]').fill(_totp(device))
    page.locator('main form button[type="submit"]').first.click()

    # then they reach their account
    expect(page).to_have_url(re.compile(re.escape(reverse("identity:account")) + "$"))
    expect(page.locator("main")).to_contain_text(clerk.full_name)
    screenshot("account")
