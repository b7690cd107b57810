"""Playwright driving Debian's Chromium (no browser download: there is no internet here)."""

import os
import shutil
import time

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


CODE_STEP = "/accounts/2fa/authenticate/"


def sign_in(page, live_server, user, password="pw"):
    """Sign in through the real allauth form and, when the page asks for it, type the current
    code of the person's authenticator app (tests/factories.py gives the seniors one).

    `live_server` is pytest-django's fixture or its URL."""
    from .factories import totp_code

    base = getattr(live_server, "url", live_server)
    page.goto(base + "/accounts/login/")
    page.fill("#id_login", user.get_username())
    page.fill("#id_password", password)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_load_state()
    if CODE_STEP not in page.url:
        return
    for _ in range(2):
        page.fill("#id_code", totp_code(user))
        page.click("form[action='/accounts/2fa/authenticate/'] button[type=submit]")
        page.wait_for_load_state()
        if CODE_STEP not in page.url:
            return
        # A code is taken once: a second sign-in within the same 30 seconds waits for the next.
        time.sleep(30 - time.time() % 30 + 0.5)
    raise AssertionError("the second factor's code was refused")
