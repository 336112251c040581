"""End-to-end harness: Debian's headless chromium driven by Playwright against pytest-django's live server.

Each journey runs twice, at desktop (1280×800) and phone (360×740) width, as a Vietnamese visitor.
``screenshot(name)`` saves the page to test-results/screenshots/ after checking that nothing is wider
than the screen; with UPDATE_SCREENSHOTS=1 the home page is also copied to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags chromium keeps calling Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_DIR / "test-results" / "screenshots"
README_SCREENSHOTS = PROJECT_DIR / "docs" / "screenshots"
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 360, "height": 740},
}
TIMEOUT_MS = 15_000


def update_readme_screenshots() -> bool:
    """Only when asked: the tests must not rewrite committed files on every run."""
    return os.environ.get("UPDATE_SCREENSHOTS") == "1"


def pytest_collection_modifyitems(config, items):
    """Run the journeys after every other test (see ``browser``); the order among them is kept."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One chromium for the session, with a fresh temporary profile (Playwright makes one per launch).

    Playwright's sync API keeps an asyncio event loop running in this thread until it stops, and Django
    refuses ORM calls while a loop runs. The calls the journeys and their fixtures make between browser steps
    are ordinary synchronous ones, so the check is lifted while the browser lives; the journeys run last
    (``pytest_collection_modifyitems``) so no other test runs under that loop.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make setup`), or set CHROMIUM.")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def seeded_directory(transactional_db):
    """The city and its wards/communes, which the registration page offers; reloaded for each journey
    because the live server's tests empty the database after each test."""
    from hanoismart.directory.services import directory_seed

    return directory_seed()


@pytest.fixture(autouse=True)
def _static_files_by_their_plain_names(settings):
    """The live server serves static files from the finders, which know no hashed (manifest) names."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def page(browser, live_server, transactional_db, viewport) -> Iterator[Page]:
    """A new browser context (no cookies) at the viewport's size, in Vietnamese, pointed at the live server.

    After the journey the test fails if the browser met a server error (5xx), a missing static file or a
    JavaScript error.
    """
    is_phone = viewport == "phone"
    context = browser.new_context(
        base_url=live_server.url,
        viewport=VIEWPORTS[viewport],
        device_scale_factor=1,
        is_mobile=is_phone,
        has_touch=is_phone,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    static_url = f"{live_server.url}{settings.STATIC_URL}"

    def check_response(response) -> None:
        if response.status >= 500 or (response.status >= 400 and response.url.startswith(static_url)):
            problems.append(f"HTTP {response.status} from {response.url}")

    page.on("response", check_response)
    yield page
    context.close()
    assert not problems, "the browser met errors during the journey:\n" + "\n".join(problems)


def assert_fits_the_screen(page: Page) -> None:
    """Nothing on the page is wider than the viewport: no sideways scrolling on a phone."""
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, screen: document.documentElement.clientWidth,"
        " wide: [...document.querySelectorAll('body *')]"
        "   .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1"
        "             && getComputedStyle(e).visibility !== 'hidden' && e.offsetParent !== null)"
        "   .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
        "                        + (e.className && typeof e.className === 'string'"
        "                           ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))})"
    )
    assert widths["page"] <= widths["screen"], (
        f"{page.url} is {widths['page']}px wide on a {widths['screen']}px screen; too wide: {widths['wide']}"
    )


@pytest.fixture
def screenshot(page: Page, request) -> Callable[[str], Path]:
    """Return ``take(name)``: check the page fits the screen, then save a full-page screenshot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # "test_journey[phone-home]" → "journey-phone-home": the viewport and any other parameter in the name.
    test_name = re.sub(r"[^\w.]+", "-", request.node.name.removeprefix("test_")).strip("-")
    counter = iter(range(1, 100))

    def take(name: str) -> Path:
        page.wait_for_load_state("networkidle")
        assert_fits_the_screen(page)
        path = SCREENSHOTS / f"{test_name}-{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return take


def save_for_readme(path: Path, name: str) -> None:
    """Copy a screenshot to docs/screenshots/ when UPDATE_SCREENSHOTS=1."""
    if update_readme_screenshots():
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOTS / name)
