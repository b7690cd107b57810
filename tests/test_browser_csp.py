"""The pages under the real Content-Security-Policy in Chromium (issue 11): every page's scripts
still run with nothing inline (the board, print buttons, confirmations, monitoring's charts, the
admin's inlines and date widgets) and the browser reports no violation; the minutes kept on a
shared tablet are gone at sign-out, and the idle warning signs out a page left alone."""

import datetime
import time

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from escalation.models import Escalation

from .factories import enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each violation the page sees, and a print that only counts (no dialog in a headless browser).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + (e.sourceFile || "") + ":" + e.lineNumber);
});
window.__printed = 0;
window.print = function () { window.__printed += 1; };
"""
DRAFT = "homevisits:minutes:{id}:user:{user}"


class Watched:
    """A page whose console errors, uncaught errors and CSP violations are collected."""

    def __init__(self, context):
        context.add_init_script(WATCH)
        self.page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message):
        text = message.text
        # A 404 is the server's answer, not the policy (the push key when no VAPID key is set);
        # anything the policy blocks is reported as "Refused to ..." and by the listener.
        if message.type == "error" and not text.startswith("Failed to load resource"):
            self.errors.append(text)

    def problems(self):
        violations = self.page.evaluate("window.__violations || []")
        return violations + self.errors


def _sign_in(page, base, user):
    page.context.clear_cookies()
    page.goto(base + "/accounts/login/")
    page.fill("#id_login", user.username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _signed_in_as(context, base, user):
    """A senior or an admin needs a second factor to sign in by the form: the session is made
    here as the factor's page would leave it (the pages, not the sign-in, are under test)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


@pytest.fixture
def context(browser_page):
    context = browser_page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def test_the_office_pages_run_their_scripts_with_no_violation(
    context, live_server, office, overdue, on_site_visit
):
    base = live_server.url
    watched = Watched(context)
    page = watched.page
    _sign_in(page, base, office)

    # The board: its rows are polled by htmx, its sound button and alert title by board.js.
    page.goto(base + "/board/")
    page.wait_for_selector("[data-unacknowledged]")
    assert page.title().startswith("(!) ALERT")
    with page.expect_response(lambda r: "/board/rows/" in r.url):
        pass  # the next poll arrives: htmx runs
    page.get_by_role("button", name="Turn on alert sound").click()
    assert page.get_by_role("button", name="Alert sound on").is_visible()

    # The visit page: a confirmation that is declined sends nothing.
    page.goto(f"{base}/visits/{on_site_visit.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Code word used").click()
    page.wait_for_timeout(300)
    assert Escalation.objects.get(pk=overdue.pk).step == overdue.step
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Code word used").click()
    assert Escalation.objects.get(pk=overdue.pk).police_step_at is not None

    # The police sheet and the schedule print from a button.
    page.goto(f"{base}/board/alerts/{overdue.pk}/police/")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    page.goto(base + "/visits/schedule/")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1

    # The menu opens on a narrow screen (Bootstrap's collapse, no inline code).
    page.set_viewport_size({"width": 600, "height": 900})
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Schedule").wait_for(state="visible")

    assert watched.problems() == []


def test_monitoring_draws_its_charts_with_no_violation(context, live_server, dsl, overdue):
    base = live_server.url
    watched = Watched(context)
    _signed_in_as(context, base, dsl)
    page = watched.page
    page.goto(base + "/monitoring/")
    # Chart.js sized and drew the canvas: it is no longer the blank 300x150 default.
    page.wait_for_function(
        "() => { const c = document.getElementById('chart-reasons'); "
        "return c && window.Chart && Chart.getChart(c) !== undefined; }"
    )
    assert watched.problems() == []


def test_the_admin_works_under_the_policy(context, live_server, school, office):
    base = live_server.url
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    enrol_totp(root)
    watched = Watched(context)
    _signed_in_as(context, base, root)
    page = watched.page

    page.goto(base + "/admin/visits/visit/")
    page.wait_for_selector("#changelist")
    # A change form with inlines: "Add another" is admin/js/inlines.js at work.
    page.goto(f"{base}/admin/auth/user/{office.pk}/change/")
    rows = page.locator("#memberships-group tr.form-row, #memberships-group .inline-related")
    before = rows.count()
    page.locator("#memberships-group .add-row a").click()
    assert rows.count() == before + 1
    # Date widgets: the calendar's "Today" fills the field (admin/js/admin/DateTimeShortcuts.js).
    page.goto(base + "/admin/schools/term/add/")
    page.locator("#id_starts_on").wait_for()
    page.locator(".datetimeshortcuts a", has_text="Today").first.click()
    assert page.input_value("#id_starts_on") == timezone.localdate().strftime("%d/%m/%Y")
    page.locator("#calendarlink0").click()
    page.locator("#calendarbox0").wait_for(state="visible")

    assert watched.problems() == []


def test_the_minutes_kept_on_a_tablet_are_gone_after_sign_out(context, live_server, visitor):
    base = live_server.url
    watched = Watched(context)
    page = watched.page
    _sign_in(page, base, visitor)
    key = DRAFT.format(id=41, user=visitor.pk)
    page.evaluate(
        '([key]) => { localStorage.setItem(key, \'{"values": {"summary": "Seen."}}\');'
        "localStorage.setItem(key + ':signature:staff', '{}');"
        "localStorage.setItem('board-sound', 'on'); }",
        [key],
    )
    # While signed in, the words stay from page to page (the drafts feature still works).
    page.goto(base + "/visits/mine/")
    assert page.evaluate("([key]) => localStorage.getItem(key)", [key]) is not None

    # Words still on the tablet have not reached the school: signing out says so first, and
    # Cancel keeps them (nothing typed is lost without a word).
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Sign out").click()
    assert "have not reached the school yet" in asked[0]
    assert page.evaluate("([key]) => localStorage.getItem(key)", [key]) is not None
    assert "/visits/mine/" in page.url

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/**")
    kept = page.evaluate("() => Object.keys(localStorage)")
    assert [k for k in kept if k.startswith("homevisits:minutes:")] == []
    assert "board-sound" in kept  # the board's sound is the device's, not a person's
    assert watched.problems() == []


def test_a_session_that_ended_on_the_server_wipes_the_tablet_at_the_next_page(
    context, live_server, visitor
):
    """Signed out elsewhere, or the browser closed: the sign-in page the tablet lands on wipes."""
    base = live_server.url
    page = Watched(context).page
    _sign_in(page, base, visitor)
    page.evaluate("() => localStorage.setItem('homevisits:minutes:7:user:1', '{}')")
    context.clear_cookies()
    page.goto(base + "/visits/mine/")
    page.wait_for_url("**/accounts/login/**")
    assert page.evaluate("() => localStorage.getItem('homevisits:minutes:7:user:1')") is None


def test_a_page_left_alone_warns_then_signs_out_and_says_why(context, live_server, visitor):
    base = live_server.url
    watched = Watched(context)
    page = watched.page
    _sign_in(page, base, visitor)
    # The server's clock and the page's clock jump together, so the test does not wait.
    with time_machine.travel(timezone.now(), tick=True) as server_clock:
        page.clock.install()
        page.goto(base + "/visits/mine/")
        page.evaluate("() => localStorage.setItem('homevisits:minutes:9:user:1', '{}')")

        server_clock.shift(datetime.timedelta(minutes=28, seconds=30))
        page.clock.fast_forward("28:30")
        dialog = page.get_by_role("alertdialog", name="Are you still there?")
        dialog.wait_for(state="visible")
        page.get_by_role("button", name="Stay signed in").click()
        dialog.wait_for(state="hidden")

        server_clock.shift(datetime.timedelta(minutes=28, seconds=30))
        page.clock.fast_forward("28:30")
        dialog.wait_for(state="visible")
        server_clock.shift(datetime.timedelta(minutes=2, seconds=5))
        page.clock.fast_forward("02:05")
        page.wait_for_url("**/accounts/login/**")
        time.sleep(0.1)
    assert page.get_by_text("You were signed out after 30 minutes without activity.").is_visible()
    assert page.evaluate("() => localStorage.getItem('homevisits:minutes:9:user:1')") is None
    assert watched.problems() == []


def test_the_board_never_warns(context, live_server, office):
    base = live_server.url
    page = Watched(context).page
    _sign_in(page, base, office)
    page.clock.install()
    page.goto(base + "/board/")
    page.clock.fast_forward("29:00")
    page.wait_for_timeout(300)
    assert not page.get_by_role("alertdialog").is_visible()


def test_the_minutes_page_still_saves_and_keeps_words_offline_under_the_policy(
    context, live_server, pupil, office, head, visitor, partner
):
    from safeguarding.services import minutes as minutes_services

    from .test_minutes_views import _done_visit

    visit = _done_visit(
        pupil=pupil, office=office, head=head, staff=[visitor, partner], purpose="attendance"
    )
    minutes = minutes_services.minutes_start(visit=visit, by=visitor)
    base = live_server.url
    watched = Watched(context)
    page = watched.page
    _sign_in(page, base, visitor)
    page.goto(f"{base}/visits/{visit.pk}/minutes/write/")
    key = DRAFT.format(id=minutes.pk, user=visitor.pk)

    page.locator("#f-discussed").press_sequentially("Attendance since half term.")
    page.locator("#f-discussed").blur()
    page.wait_for_selector("#save-status[data-state=saved]")
    minutes.refresh_from_db()
    assert minutes.discussed == "Attendance since half term."

    context.set_offline(True)
    page.locator("#f-follow_up").press_sequentially("Phone mother on Friday.")
    page.locator("#f-follow_up").blur()
    page.wait_for_selector("#save-status[data-state=offline]")
    kept = page.evaluate("([key]) => JSON.parse(localStorage.getItem(key))", [key])
    assert kept["values"]["follow_up"] == "Phone mother on Friday."
    context.set_offline(False)
    page.wait_for_selector("#save-status[data-state=saved]")
    assert page.evaluate("([key]) => localStorage.getItem(key)", [key]) is None
    assert watched.problems() == []
