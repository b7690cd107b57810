"""The police step is the loudest thing on the board (E2, E3), in a real browser: after the
office answered step 1, the police step flashes, sounds and retitles the tab as a new alert;
the sound choice is kept on the device; a resolved alert does not come back.
"""

import datetime
import time

import pytest
from django.utils import timezone

from escalation.models import Escalation, Whereabouts
from escalation.responses import escalation_raise_police_step, escalation_resolve
from escalation.services import sweep

from .test_browser_day import _alerted_on_site, _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Counts the tones the board plays, in place of the speakers a headless browser has not got.
COUNT_TONES = """
window.__tones = 0;
const Real = window.AudioContext || window.webkitAudioContext;
window.AudioContext = function () {
  const ctx = new Real();
  const make = ctx.createOscillator.bind(ctx);
  ctx.createOscillator = function () {
    const osc = make();
    const start = osc.start.bind(osc);
    osc.start = function (when) { window.__tones += 1; return start(when); };
    return osc;
  };
  return ctx;
};
"""


def _wait_until(page, expression, timeout=15):
    """page.wait_for_function evaluates its text with eval(), which the site's CSP forbids (as
    it should); this asks the page from outside, as page.evaluate does, until it is true."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(100)


def test_the_police_step_after_step_1_was_answered_is_loud_and_a_resolved_alert_stays_gone(
    browser_page, live_server, pupil, office, head, visitor, partner
):
    visit = _alerted_on_site(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    page, base = browser_page, live_server.url
    page.add_init_script(COUNT_TONES)

    _sign_in(page, base, office)
    page.get_by_role("button", name="Turn on alert sound").click()
    assert page.title().startswith("(!) ALERT")
    page.get_by_role("button", name="I'm dealing with it").click()
    page.locator("[data-unacknowledged]").wait_for(state="detached")
    _wait_until(page, "!document.title.startsWith('(!)')")

    # Someone raises the police step: a new alert that nobody has answered.
    esc = Escalation.objects.get(visit=visit)
    escalation_raise_police_step(escalation=esc, by=head, reason="No answer from either")
    police = page.locator("[data-unacknowledged][data-step='2']")
    police.wait_for(timeout=15_000)  # the board polls every 5 s
    assert "alert-police" in police.get_attribute("class")
    assert "nobody has answered the police step yet" in police.inner_text()
    assert page.title().startswith("(!) POLICE STEP")
    background = police.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background in ("rgb(176, 0, 32)", "rgb(255, 31, 61)")  # solid red, flashing
    assert police.evaluate("e => getComputedStyle(e).animationName") == "police-flash"
    tones = page.evaluate("window.__tones")
    _wait_until(page, f"window.__tones > {tones}", timeout=10)  # it sounds
    button = police.get_by_role("link", name="Police-contact instructions")
    assert button.evaluate("e => getComputedStyle(e).opacity") == "1"

    # The sound choice is kept on this device: a reload does not silence the board.
    page.reload()
    assert page.get_by_role("button", name="Alert sound on").is_visible()

    escalation_resolve(
        escalation=esc, by=head, whereabouts=Whereabouts.LEFT, note="Both back at school"
    )
    page.locator("[data-alert]").wait_for(state="detached", timeout=15_000)
    _wait_until(page, "!document.title.startsWith('(!)')")
    # Half an hour on, the sweep raises nothing: they were recorded as having left.
    assert sweep(now=timezone.now() + datetime.timedelta(minutes=30))["raised"] == 0
    page.reload()
    assert page.locator("[data-alert]").count() == 0
    assert Escalation.objects.filter(visit=visit).count() == 1
