"""Journey through the public procedure catalog: search without diacritics, read one procedure on a phone."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from hanoismart.procedures import seeds

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded_catalog(transactional_db):
    seeds.run(demo=False, stdout=io.StringIO())


def test_a_resident_finds_birth_registration_and_reads_what_it_costs(page, screenshot, seeded_catalog):
    # given a resident on the catalog, typing without diacritics
    page.goto("/procedures/")
    page.locator("#procedure-q").fill("dang ky khai sinh")
    page.locator("form[role=search] button[type=submit]").click()

    # then birth registration comes first
    first = page.locator(".list-group a").first
    expect(first).to_contain_text("Đăng ký khai sinh")
    screenshot("procedures-search")

    # and its page shows the cases, the fees and the papers, within the screen's width
    first.click()
    expect(page.locator("main h1")).to_have_text("Đăng ký khai sinh")
    expect(page.locator("section.card")).to_have_count(2)
    expect(page.locator("#case-dung-han")).to_contain_text("Giấy chứng sinh")
    screenshot("procedures-detail")
