"""On the day, in a real browser: the staff's phone screen at 360 px and the office's live board
updating itself (D1, E1, E3)."""

import datetime

import pytest
from django.utils import timezone

from escalation.models import Escalation, Step
from escalation.services import sweep
from visits import services
from visits.models import Status, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
SHEFFIELD = {"latitude": 53.3006, "longitude": -1.4712, "accuracy": 30}


def _sign_in(page, base, user):
    from .browser import sign_in

    page.context.clear_cookies()
    sign_in(page, base, user)


def _visit_under_way(*, pupil, office, head, staff, start, end):
    """A visit authorised yesterday for times around now, through the real services."""
    yesterday = timezone.now() - datetime.timedelta(days=1)
    visit = services.visit_create(
        pupil=pupil,
        by=office,
        details={
            "purpose": "welfare_check",
            "purpose_detail": "No contact for a week.",
            "parent_could_come_to_school": False,
            "planned_start": start,
            "expected_end": end,
            "reporting_arrangements": "Phone the office.",
            "visit_type": "doorstop",
            "announced": True,
            "parent_told_how": "Phone",
            "parent_told_at": yesterday - datetime.timedelta(hours=1),
            "vehicle_registration": "AB12 CDE",
        },
        staff=[(u, u.staff_profile.mobile) for u in staff],
        now=yesterday,
    )
    from .factories import RISK_ANSWERS

    services.risk_assessment_record(visit=visit, by=office, answers=RISK_ANSWERS, now=yesterday)
    services.visit_submit(visit=visit, by=office, now=yesterday)
    visit.refresh_from_db()
    return services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True, now=yesterday
    )


def _alerted_on_site(*, pupil, office, head, staff):
    """Staff arrived 90 minutes ago, due back 20 minutes ago: the office's alert is raised."""
    now = timezone.now()
    visit = _visit_under_way(
        pupil=pupil,
        office=office,
        head=head,
        staff=staff,
        start=now - datetime.timedelta(minutes=90),
        end=now - datetime.timedelta(minutes=20),
    )
    services.visit_arrive(visit=visit, by=staff[0], now=visit.planned_start)
    sweep(now=timezone.now())
    return visit


def test_staff_check_in_and_call_for_help_on_a_phone(
    browser_page, live_server, pupil, office, head, visitor, partner
):
    now = timezone.now()
    visit = _visit_under_way(
        pupil=pupil,
        office=office,
        head=head,
        staff=[visitor, partner],
        start=now + datetime.timedelta(minutes=10),
        end=now + datetime.timedelta(minutes=70),
    )
    context = browser_page.context.browser.new_context(
        viewport=PHONE, geolocation=SHEFFIELD, permissions=["geolocation"]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url

    _sign_in(page, base, visitor)
    assert page.url.endswith("/visits/mine/")
    page.get_by_text("Open to set off").click()
    page.wait_for_url(f"**/visits/{visit.pk}/on-visit/")
    # Everything fits a 360 px phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.wait_for_function("document.querySelector('form[data-position] input[name=lat]').value")
    page.get_by_role("button", name="Arrived").click()
    page.wait_for_load_state()
    assert page.get_by_text("Arrival recorded (D1).").is_visible()
    visit.refresh_from_db()
    assert visit.status == Status.ON_SITE
    assert visit.last_position["lat"] == pytest.approx(53.3006)

    # One tap shows the confirm; nothing is sent until it is tapped.
    page.get_by_role("link", name="I need help").click()
    assert not Escalation.objects.exists()
    page.get_by_role("button", name="Yes, I need help now").click()
    page.wait_for_load_state()
    assert page.get_by_text("Help is on its way").is_visible()
    assert page.locator("[data-testid=help-banner]").is_visible()
    assert Escalation.objects.get(visit=visit).step == Step.POLICE
    context.close()


def test_board_shows_a_visit_going_overdue_without_reloading_and_keeps_it_until_acknowledged(
    browser_page, live_server, pupil, office, head, visitor, partner
):
    now = timezone.now()
    visit = _visit_under_way(
        pupil=pupil,
        office=office,
        head=head,
        staff=[visitor, partner],
        start=now - datetime.timedelta(minutes=40),
        # Due out 15 minutes ago plus 30 s: with the 15-minute grace, the deadline is 30 s away.
        end=now - datetime.timedelta(minutes=15) + datetime.timedelta(seconds=30),
    )
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    page, base = browser_page, live_server.url

    _sign_in(page, base, office)
    assert page.url.endswith("/board/")
    row = page.locator(f"tr[data-visit='{visit.pk}']")
    # One clock: overdue counts from the expected time; the office is alerted after the grace.
    assert "Overdue: no word yet" in row.inner_text()
    assert "overdue 14 min" in row.inner_text()
    # The countdown to the office alert ticks in the page.
    assert row.locator(".countdown").inner_text().startswith("in 0:")

    # The sweep (as the Celery beat would run it) finds the visit past its deadline.
    visit.refresh_from_db()
    sweep(now=visit.next_deadline + datetime.timedelta(seconds=1))
    alert = page.locator("[data-unacknowledged]")
    alert.wait_for(timeout=15_000)  # the board polls every 5 s: no reload
    assert "Office alert: Not back" in alert.inner_text()
    assert "Office alerted" in row.inner_text()

    page.reload()
    assert page.locator("[data-unacknowledged]").count() == 1  # it stays until acknowledged
    page.get_by_role("button", name="I'm dealing with it").click()
    page.locator("[data-unacknowledged]").wait_for(state="detached")
    assert "answered by Olive Office" in page.locator("[data-alert]").inner_text()
    assert Escalation.objects.get(visit=visit).acknowledged_by == office
    assert Visit.objects.get(pk=visit.pk).status == Status.ON_SITE


def test_office_records_a_cause_for_concern_and_reads_the_police_instructions(
    browser_page, live_server, pupil, office, head, dsl, visitor, partner
):
    visit = _alerted_on_site(pupil=pupil, office=office, head=head, staff=[visitor, partner])
    page, base = browser_page, live_server.url

    _sign_in(page, base, office)
    page.get_by_role("link", name="Phone staff & record").click()
    page.get_by_label("Cause for concern: police step now").check()
    page.get_by_label("Note (who you spoke to, what they said)").fill("No answer from either.")
    page.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_text("Police step", exact=True).is_visible()

    page.get_by_role("link", name="Police-contact instructions").first.click()
    page.wait_for_load_state()
    sheet = page.locator(".police-sheet").inner_text()
    assert "Call 999 now" in sheet
    for needed in ("Vic Visitor", "07700 900000", "AB12 CDE", "12 Acacia Avenue", "overdue"):
        assert needed in sheet, needed
    # Large type, for reading out under stress.
    size = page.locator(".police-sheet dd").first.evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) >= 24

    page.get_by_role("link", name="Record the police call").click()
    page.get_by_label("Police reference (incident number)").fill("SYP-2611-0042")
    page.get_by_role("button", name="Record the police call").click()
    page.wait_for_load_state()
    esc = Escalation.objects.get(visit=visit)
    assert esc.police_reference == "SYP-2611-0042" and esc.police_called_by == office
