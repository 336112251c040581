"""Journey: a visitor who does not read Vietnamese switches the site to English and back."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("url_name", ["home", "identity:sign_in"])
def test_switching_to_english_and_back_keeps_the_visitor_on_the_same_page(page, screenshot, url_name):
    path = reverse(url_name)
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    # when they press "English" (always in view, also on a phone)
    page.locator('form.language-switch button[value="en"]').click()

    # then the same page comes back, in English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.endswith(path)
    expect(page.locator("form.language-switch button[value='vi']")).to_have_text("Tiếng Việt")
    if url_name == "home":
        expect(page.locator("main h1")).to_have_text("One account for every city service")
    screenshot("english")

    # and the choice holds on the next page
    page.goto(reverse("home"))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # when they switch back
    page.goto(path)
    page.locator('form.language-switch button[value="vi"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    assert page.url.endswith(path)
