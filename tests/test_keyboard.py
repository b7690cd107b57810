"""The staff's day with the keyboard alone (WCAG 2.1.1, 2.4.7): a switch user or someone with a
keyboard case on their tablet checks in on arrival, leaves safely and writes the minutes with
Tab, Shift+Tab, Enter and Space only, and sees at every step where the focus is."""

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from safeguarding.models import Minutes
from visits import services
from visits.models import Status

from .factories import RISK_ANSWERS, visit_details

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 780}
HOUR = datetime.timedelta(hours=1)

# What has the focus, its words, and whether the focus shows: an outline or a box-shadow on
# the element, or on the label that stands for a visually hidden radio (Bootstrap's btn-check).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const shown = el.matches('.btn-check') ? document.querySelector(`label[for="${el.id}"]`) : el;
  const style = getComputedStyle(shown);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
  const words = el.matches('.btn-check') ? shown.innerText : (el.innerText || el.value || '');
  return {html: el.outerHTML.slice(0, 100), id: el.id, words: words.trim(),
          shows: outline || shadow};
}"""


# A number for the focused element, the same each time it comes round.
IDENTITY = """() => {
  window.keyboardWalk = window.keyboardWalk || new Map();
  const el = document.activeElement;
  if (!window.keyboardWalk.has(el)) window.keyboardWalk.set(el, window.keyboardWalk.size);
  return window.keyboardWalk.get(el);
}"""


def _visit_starting_now(*, pupil, office, head, staff):
    """A visit authorised yesterday that starts ten minutes ago: its staff may check in now."""
    now = timezone.now()
    yesterday = now - datetime.timedelta(days=1)
    start = now - datetime.timedelta(minutes=10)
    visit = services.visit_create(
        pupil=pupil,
        by=office,
        details=visit_details(
            planned_start=start, expected_end=start + HOUR, parent_told_at=yesterday - HOUR
        ),
        staff=[(user, user.staff_profile.mobile) for user in staff],
        now=yesterday,
    )
    services.risk_assessment_record(visit=visit, by=office, answers=RISK_ANSWERS, now=yesterday)
    services.visit_submit(visit=visit, by=office, now=yesterday)
    visit.refresh_from_db()
    return services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True, now=yesterday
    )


def _phone(browser_page, live_server, user):
    page = browser_page
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
    page.set_viewport_size(PHONE)
    return page


class Keyboard:
    """Moves the focus with Tab (or Shift+Tab) only, and notes every control whose focus
    does not show."""

    def __init__(self, page):
        self.page = page
        self.unseen = []

    def tab_to(self, words=None, *, element_id=None, back=False, limit=60):
        for _ in range(limit):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            focused = self.page.evaluate(FOCUSED)
            if focused is None:
                continue
            if not focused["shows"]:
                self.unseen.append(f"{self.page.url}: {focused['html']}")
            if (words is not None and focused["words"] == words) or (
                element_id is not None and focused["id"] == element_id
            ):
                return focused
        raise AssertionError(f"{words or element_id!r} is not reachable with the keyboard")

    def walk_the_page(self, limit=120):
        """Tab through every control once, until the focus comes round to the first again
        (a date field's day, month and year are one control)."""
        seen = []
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(FOCUSED)
            if focused is None:
                continue
            key = self.page.evaluate(IDENTITY)
            if seen and key == seen[0]:
                break
            if key in seen:
                continue
            seen.append(key)
            if not focused["shows"]:
                self.unseen.append(f"{self.page.url}: {focused['html']}")
        return seen


def test_staff_check_in_leave_and_write_the_minutes_with_the_keyboard_alone(
    browser_page, live_server, pupil, office, head, visitor, partner
):
    visit = _visit_starting_now(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    page = _phone(browser_page, live_server, visitor)
    keys = Keyboard(page)
    page.goto(live_server.url + reverse("visit-on", args=[visit.pk]))

    # The first Tab offers the way past the menu, straight to the page.
    first = keys.tab_to("Skip to the main content", limit=1)
    assert first["shows"]

    keys.tab_to("Arrived")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.refresh_from_db()
    assert visit.status == Status.ON_SITE

    keys.tab_to("Left safely")
    with page.expect_navigation():
        page.keyboard.press("Space")
    visit.refresh_from_db()
    assert visit.status == Status.COMPLETED

    keys.tab_to("Write the minutes")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start the minutes")
    if start.count():
        keys.tab_to("Start the minutes")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.wait_for_selector("#minutes")

    # Yes/no answers are radios: Tab reaches each group, Space chooses.
    keys.tab_to(element_id="f-child_seen-yes")
    page.keyboard.press("Space")
    keys.tab_to(element_id="f-child_spoken_to-yes")
    page.keyboard.press("Space")
    keys.tab_to(element_id="f-child_voice")
    page.keyboard.type("Said she wants to come back on Monday.")
    keys.tab_to(element_id="f-discussed")
    page.keyboard.type("Attendance since half term; the bus pass.")
    # Back up a field to add to the child's words: Shift+Tab is the way back.
    keys.tab_to(element_id="f-child_voice", back=True)
    page.keyboard.press("End")
    page.keyboard.type(" Misses her friends.")
    keys.tab_to(element_id="f-discussed")
    page.wait_for_selector("#save-status[data-state=saved]")

    values = Minutes.objects.get(visit=visit)
    assert values.child_seen is True
    assert values.child_spoken_to is True
    assert values.child_voice == "Said she wants to come back on Monday. Misses her friends."
    assert values.discussed == "Attendance since half term; the bus pass."
    assert not keys.unseen, "the focus does not show on:\n" + "\n".join(keys.unseen)


def test_every_control_on_the_staffs_screens_shows_its_focus(
    browser_page, live_server, pupil, office, head, visitor, partner
):
    visit = _visit_starting_now(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    page = _phone(browser_page, live_server, visitor)
    keys = Keyboard(page)
    for url in (reverse("visit-on", args=[visit.pk]), reverse("my-visits")):
        page.goto(live_server.url + url)
        assert len(keys.walk_the_page()) >= 3, url
    services.visit_arrive(visit=visit, by=visitor)
    services.visit_leave(visit=visit, by=visitor)
    page.goto(live_server.url + reverse("minutes-edit", args=[visit.pk]))
    start = page.get_by_role("button", name="Start the minutes")
    if start.count():
        with page.expect_navigation():
            start.click()
    page.get_by_role("button", name="+ Add a person").click()
    page.get_by_role("button", name="+ Add an action").click()
    assert len(keys.walk_the_page()) >= 10
    assert not keys.unseen, "the focus does not show on:\n" + "\n".join(keys.unseen)
