"""Playwright driving Debian's Chromium (no browser download: there is no internet here)."""

import os
import shutil

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_or_skip():
    """The path to Chromium; skip with the reason where it is missing, but fail in CI."""
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + ": CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture
def browser_page(live_server):
    from playwright.sync_api import sync_playwright

    path = chromium_or_skip()
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=ARGS)
        # A tablet held upright: what visiting staff and authorisers carry.
        context = browser.new_context(viewport={"width": 820, "height": 1180})
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()
        # ORM calls made inside Playwright's context open their own connection; close it
        # here, in that context, or it keeps the test database from being dropped.
        connections.close_all()
