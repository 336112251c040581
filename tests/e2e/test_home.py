"""Journeys through the web shell: the home page, the menu on a phone, the error page."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from hanoismart.directory.models import Unit
from tests.e2e.conftest import save_for_readme

pytestmark = pytest.mark.e2e


def test_a_visitor_reads_the_home_page_and_finds_how_to_start(page, viewport, screenshot, seeded_directory):
    # given a Vietnamese visitor
    page.goto("/")

    # then the page is in Vietnamese and offers to register or sign in
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("main h1")).to_be_visible()
    main = page.locator("main")
    expect(main.locator(f'a[href="{reverse("identity:register")}"]')).to_be_visible()
    expect(main.locator(f'a[href="{reverse("identity:sign_in")}"]')).to_be_visible()
    # and it shows the live count of wards and communes from the directory API
    wards = Unit.objects.filter(parent__code=settings.PROVINCE_CODE, valid_to__isnull=True).count()
    assert wards > 100
    expect(page.locator('[data-figure="wards"]')).to_have_text(str(wards))
    path = screenshot("home")
    save_for_readme(path, f"home-{viewport}.png")

    # the language switch is in reach without opening the menu, even on a phone
    expect(page.locator("header form.language-switch button")).to_be_visible()


def test_the_menu_folds_away_on_a_phone_and_opens_on_demand(page, viewport, screenshot):
    page.goto("/")
    sign_in_link = page.locator(f'#nav a[href="{reverse("identity:sign_in")}"]')
    toggler = page.locator('button.navbar-toggler[aria-controls="nav"]')

    if viewport == "desktop":
        expect(toggler).to_be_hidden()
        expect(sign_in_link).to_be_visible()
        return

    expect(toggler).to_be_visible()
    expect(sign_in_link).to_be_hidden()
    toggler.click()
    expect(sign_in_link).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    screenshot("menu-open")


def test_a_keyboard_user_can_skip_to_the_content(page):
    page.goto("/")

    page.keyboard.press("Tab")

    skip_link = page.locator("a.skip-link")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()
    skip_link.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))


def test_a_mistyped_address_shows_a_helpful_page(page, screenshot):
    response = page.goto("/khong-co-trang-nay/")

    assert response is not None
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    home_link = page.locator(f'main a[href="{reverse("home")}"]')
    expect(home_link).to_be_visible()
    screenshot("not-found")

    home_link.click()
    expect(page).to_have_url(re.compile(r"/$"))
