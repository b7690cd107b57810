"""The core journey in a real browser on a tablet: plan, assess, submit, authorise, schedule."""

import datetime

import pytest
from django.utils import timezone

from schools.phones import uk
from visits.models import Status, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base, user):
    from .browser import sign_in

    page.context.clear_cookies()
    sign_in(page, base, user)


def test_a_visit_is_planned_assessed_authorised_and_scheduled_on_a_tablet(
    browser_page, live_server, pupil, office, head, visitor, partner
):
    page, base = browser_page, live_server.url
    day = timezone.localdate() + datetime.timedelta(days=2)

    _sign_in(page, base, office)
    assert page.url.endswith("/board/")  # the office lands on the live board

    page.goto(base + "/visits/new/")
    page.select_option("#id_pupil", str(pupil.pk))
    page.select_option("#id_purpose", "welfare_check")
    page.fill("#id_purpose_detail", "Five days absent, no word from home.")
    page.check("#id_parent_could_come_to_school_1")  # No
    page.fill("#id_planned_start", f"{day:%Y-%m-%d}T10:00")
    page.fill("#id_expected_end", f"{day:%Y-%m-%d}T11:00")
    page.check("#id_visit_type_0")  # doorstop
    page.select_option("#id_staff_1", str(visitor.pk))
    page.select_option("#id_staff_2", str(partner.pk))
    page.check("#id_announced_0")  # Yes
    page.fill("#id_parent_told_how", "Phone call")
    # P8: told before now; a fixed 08:00 today would be in the future when run before 08:00.
    told = timezone.localtime() - datetime.timedelta(hours=1)
    page.fill("#id_parent_told_at", f"{told:%Y-%m-%dT%H:%M}")
    page.fill("#id_vehicle_registration", "AB12 CDE")
    page.click("input[name=save]")
    page.wait_for_url("**/risk-assessment/")
    assert Visit.objects.get().status == Status.DRAFT

    page.fill("#id_known_about_family", "Known since Reception; mother engages.")
    for question in (
        "little_known",
        "previous_aggression",
        "contentious_issues",
        "animals",
    ):
        page.check(f"#id_{question}_1")  # No
    page.check("#id_joint_visit_considered_0")
    page.check("#id_vehicle_insured_0")
    page.click("input[name=save]")
    page.wait_for_url("**/visits/*/")
    page.get_by_role("button", name="Submit for authorisation").click()
    page.wait_for_load_state()
    assert page.get_by_text("Sent for authorisation.").is_visible()

    _sign_in(page, base, head)
    assert page.url.endswith("/visits/queue/")  # authorisers land on their queue
    page.get_by_role("link", name="Review").click()
    page.check("#id_decision_0")
    page.check("#id_confirmed")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url("**/visits/queue/")
    assert Visit.objects.get().status == Status.AUTHORISED

    page.goto(f"{base}/visits/schedule/?day={day:%Y-%m-%d}")
    row = page.locator("tbody tr", has_text="Poppy Pupil")
    assert row.count() == 1
    assert "AB12 CDE" in row.inner_text()
    assert uk(visitor.staff_profile.mobile) in row.inner_text()  # shown in UK form
