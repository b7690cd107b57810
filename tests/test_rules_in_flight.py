"""Rules that hold after submission and authorisation, and repeats that change nothing."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from schools.models import Role
from schools.selectors import schools_for
from visits import services
from visits.models import Authorisation, Status, VisitType
from visits.rules import RuleBroken

from .conftest import make_visit
from .factories import member


def _staff(visit):
    return [(a.user, a.mobile) for a in visit.assignments.all()]


def test_p2_an_authorised_visit_cannot_be_edited_into_breaking_p8(authorised_visit, office):
    with pytest.raises(RuleBroken, match=r"\(P8\)"):
        services.visit_update(
            visit=authorised_visit,
            by=office,
            details={"announced": None},
            staff=_staff(authorised_visit),
        )
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.AUTHORISED
    assert authorised_visit.announced is True


def test_p2_once_started_what_was_authorised_cannot_change(authorised_visit, office):
    started = authorised_visit.planned_start + datetime.timedelta(minutes=10)
    with pytest.raises(RuleBroken, match="The visit has started"):
        services.visit_update(
            visit=authorised_visit,
            by=office,
            details={"address": "12 Acacia Avenue (side door)"},
            staff=_staff(authorised_visit),
            now=started,
        )
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.AUTHORISED


def test_p2_a_started_visit_may_still_have_details_outside_the_authorisation_corrected(
    authorised_visit, office
):
    started = authorised_visit.planned_start + datetime.timedelta(minutes=10)
    visit = services.visit_update(
        visit=authorised_visit,
        by=office,
        details={"vehicle_description": "Blue Ford Focus"},
        staff=_staff(authorised_visit),
        now=started,
    )
    assert visit.status == Status.AUTHORISED
    assert visit.vehicle_description == "Blue Ford Focus"


def test_p2_listing_the_same_two_staff_the_other_way_round_keeps_the_authorisation(
    authorised_visit, office
):
    swapped = list(reversed(_staff(authorised_visit)))
    visit = services.visit_update(visit=authorised_visit, by=office, details={}, staff=swapped)
    assert visit.status == Status.AUTHORISED


def test_clearing_the_address_falls_back_to_the_pupils_home(authorised_visit, office, pupil):
    visit = services.visit_update(
        visit=authorised_visit, by=office, details={"address": " "}, staff=_staff(authorised_visit)
    )
    assert visit.address == pupil.full_address


def test_p6_pupils_recorded_aggression_needs_two_staff_whatever_the_form_says(
    pupil, office, visitor
):
    pupil.previous_aggression = True
    pupil.save()
    # A "no" typed against the record is refused as the assessment is recorded (issue 12) ...
    with pytest.raises(RuleBroken, match=r"\(P5, P6\)"):
        make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor],
            details={"visit_type": VisitType.ENTER_HOME},
            risk={"previous_aggression": False},
        )
    # ... and with the record's "yes", one member of staff may not go in.
    visit = make_visit(
        pupil=pupil, by=office, staff=[visitor], details={"visit_type": VisitType.ENTER_HOME}
    )
    with pytest.raises(RuleBroken, match=r"\(P6\)"):
        services.visit_submit(visit=visit, by=office)


def test_p5_an_unanswered_risk_question_is_not_a_no(pupil, office, visitor, partner):
    visit = make_visit(
        pupil=pupil, by=office, staff=[visitor, partner], risk={"contentious_issues": None}
    )
    with pytest.raises(RuleBroken, match=r"Answer every risk question \(P5\)"):
        services.visit_submit(visit=visit, by=office)


def test_p8_parent_told_in_the_future_is_refused(pupil, office, visitor, partner):
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"parent_told_at": timezone.now() + datetime.timedelta(hours=1)},
    )
    with pytest.raises(RuleBroken, match=r"cannot be in the future \(P8\)"):
        services.visit_submit(visit=visit, by=office)


def test_p13_a_mobile_that_cannot_be_dialled_is_refused(pupil, office, visitor):
    with pytest.raises(RuleBroken, match=r"\(P13\)"):
        services.visit_create(
            pupil=pupil,
            by=office,
            details={"planned_start": timezone.now(), "expected_end": timezone.now()},
            staff=[(visitor, "x")],
        )


def test_pressing_authorise_twice_records_one_decision(visit, head):
    services.visit_authorise(visit=visit, by=head, expected_version=visit.version, confirmed=True)
    again = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    assert again.status == Status.AUTHORISED
    assert Authorisation.objects.filter(visit=visit).count() == 1
    assert visit.events.filter(kind="authorised").count() == 1


def test_school_admin_role_alone_does_not_count_as_a_planning_school(school, other_school):
    # One filter: the role must be on the user's own membership, not anyone's at the school.
    admin = member(school, Role.SCHOOL_ADMIN)
    member(school, Role.OFFICE)
    assert list(schools_for(admin, roles=[Role.OFFICE])) == []
    assert list(schools_for(admin, roles=[Role.SCHOOL_ADMIN])) == [school]


def test_school_admin_cannot_open_the_planning_form(client, school, pupil, office):
    client.force_login(member(school, Role.SCHOOL_ADMIN))
    assert client.get(reverse("visit-create")).status_code == 403


def test_a_head_who_does_not_authorise_lands_on_the_schedule(client, school, head):
    school.headteacher_may_authorise = False
    school.save()
    client.force_login(head)
    assert client.get("/").url == reverse("schedule")


def test_open_visit_past_its_end_stays_at_the_top_under_today_until_done(
    client, authorised_visit, visitor
):
    later = authorised_visit.expected_end + datetime.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        client.force_login(visitor)
        response = client.get(reverse("my-visits"))
    assert response.status_code == 200
    # Staff see it first, with its check-in button, until they report out (D1).
    assert [v.pk for v in response.context["today"]] == [authorised_visit.pk]
    assert authorised_visit.pk not in [v.pk for v in response.context["upcoming"]]
