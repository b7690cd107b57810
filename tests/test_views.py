"""The screens, as the people using them would notice.

Each role lands on its own page; a visit is planned, risk-assessed, submitted, authorised and
shown on the office's schedule through the forms; forms keep what was typed when they refuse
it; the authorisation form holds to P2, P3 and P10; and bad input gives a page, never a 500.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from schools.models import StaffProfile
from visits import services
from visits.models import Authorisation, EventKind, Status, Visit
from visits.services import DETAIL_FIELDS

from .conftest import make_visit
from .factories import RISK_ANSWERS, CarerFactory, UserFactory

FORM_TIME = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends


def _slot(*, days=3, hour=10):
    """10:00-11:00 local, `days` ahead: well before any evening rule (P15)."""
    start = (timezone.localtime() + datetime.timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return start, start + datetime.timedelta(hours=1)


def _typed(moment):
    return timezone.localtime(moment).strftime(FORM_TIME)


def plan_form(*, pupil, staff, days=3, **overrides):
    """What a person types into the visit form to plan a complete visit."""
    start, end = _slot(days=days)
    data = {
        "pupil": pupil.pk,
        "purpose": "welfare_check",
        "purpose_detail": "Six days absent and the phone goes unanswered.",
        "parent_could_come_to_school": "no",
        "why_not_in_school": "",
        "planned_start": _typed(start),
        "expected_end": _typed(end),
        "reporting_arrangements": "Ring the office on arrival and on leaving.",
        "address": "",
        "visit_type": "doorstop",
        "announced": "yes",
        "parent_told_how": "Text message",
        "parent_told_at": _typed(timezone.now() - datetime.timedelta(days=1)),
        "unannounced_reason": "",
        "la_contact": "",
        "la_told_at": "",
        "la_confirmed_at": "",
        "joint_professional": "",
        "vehicle_description": "Green Vauxhall Corsa",
        "vehicle_registration": "HV30 VIS",
        "code_word": "snowdrop",
        "takes_id_badge": "on",
        "takes_charged_mobile": "on",
        "takes_school_numbers": "on",
        "resources_note": "",
        "staff_1": staff[0].pk,
        "staff_1_mobile": "",
        "staff_2": staff[1].pk if len(staff) > 1 else "",
        "staff_2_mobile": "",
    }
    data.update(overrides)
    return data


def edit_form(visit, **overrides):
    """The edit form as it arrives filled in for `visit`, with `overrides` typed over it."""
    data = {}
    for name in DETAIL_FIELDS:
        value = getattr(visit, name)
        if name in ("parent_could_come_to_school", "announced"):
            value = {True: "yes", False: "no", None: ""}[value]
        elif isinstance(value, bool):
            value = "on" if value else ""
        elif isinstance(value, datetime.datetime):
            value = _typed(value)
        elif value is None:
            value = ""
        data[name] = value
    for index, assignment in enumerate(visit.assignments.all(), start=1):
        data[f"staff_{index}"] = assignment.user_id
        data[f"staff_{index}_mobile"] = assignment.mobile
    data["version"] = visit.version
    data.update(overrides)
    return data


def risk_form(visit, **overrides):
    """The risk form as a browser sends it: yes/no radios (P5) and the version read."""
    data = {
        name: ("yes" if value is True else "no" if value is False else value)
        for name, value in RISK_ANSWERS.items()
    }
    data["version"] = Visit.objects.values_list("version", flat=True).get(pk=visit.pk)
    data.update(overrides)
    return data


def _status(visit):
    return Visit.objects.values_list("status", flat=True).get(pk=visit.pk)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# Landing pages ------------------------------------------------------------------------------


def test_login_page_renders(client, school):
    """The sign-in page is the site's own, and names the school of a one-school installation."""
    response = client.get(reverse("account_login"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign in" in page and 'name="login"' in page and 'name="password"' in page
    assert "Heather Avenue Infant School" in page
    assert "Forgotten your password?" in page
    # One way to reset it, and the field named as people say it.
    assert page.count("password?") == 1 and "Username or email" in page


def test_signing_in_through_the_form_lands_the_office_on_the_live_board(client, office):
    response = client.post(
        reverse("account_login"), {"login": "office", "password": "pw", "next": "/"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("board")
    assert response.status_code == 200
    assert "Visits today: live board" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "page", "heading"),
    [
        ("office", "board", "Visits today: live board"),
        ("head", "queue", "Visits awaiting authorisation"),
        ("dsl", "queue", "Visits awaiting authorisation"),
        ("deputy", "queue", "Visits awaiting authorisation"),
        ("slt", "queue", "Visits awaiting authorisation"),
        ("visitor", "my-visits", "My visits"),
    ],
)
def test_each_role_lands_on_its_page_from_home(client, request, who, page, heading):
    client.force_login(request.getfixturevalue(who))

    response = client.get("/", follow=True)

    assert response.redirect_chain == [(reverse(page), 302)]
    assert response.status_code == 200
    assert heading in response.content.decode()


def test_school_admin_lands_on_the_admin(client, school_admin):
    """Contract: a person whose only role is school admin is sent to /admin/ from home."""
    client.force_login(school_admin)

    response = client.get("/")

    assert "No role yet" not in response.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_someone_with_no_role_is_told_so(client, db):
    client.force_login(UserFactory(username="newstarter"))

    response = client.get("/")

    assert response.status_code == 403
    assert "No role yet" in response.content.decode()


# Planning a visit through the screens -------------------------------------------------------


def test_a_visit_planned_through_the_forms_ends_up_on_the_schedule(
    client, pupil, office, visitor, partner, head
):
    """P5 (starting point), P11 (schedule), P12 (vehicle), P13 (mobiles), through the UI."""
    StaffProfile.objects.filter(user=partner).update(mobile="07700 900202")
    earlier = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        risk={"known_about_family": "Grandmother is the main carer since the spring."},
    )
    start, _ = _slot(days=3)
    client.force_login(visitor)

    response = client.post(
        reverse("visit-create"),
        plan_form(pupil=pupil, staff=[visitor, partner], staff_1_mobile="07700 900101"),
    )

    visit = Visit.objects.exclude(pk=earlier.pk).get()
    assert visit.status == Status.DRAFT
    assert response.status_code == 302
    assert response["Location"] == reverse("visit-risk", args=[visit.pk])

    response = client.get(reverse("visit-risk", args=[visit.pk]))
    content = response.content.decode()
    assert "Started from the last assessment" in content
    assert "Grandmother is the main carer since the spring." in content  # P5: offered, pre-filled

    response = client.post(
        reverse("visit-risk", args=[visit.pk]),
        risk_form(visit, known_about_family="Grandmother is the main carer since the spring."),
    )
    assert response.status_code == 302
    assert visit.risk_assessment.known_about_family.startswith("Grandmother")

    response = client.post(reverse("visit-submit", args=[visit.pk]), follow=True)
    assert "Sent for authorisation." in _messages(response)
    assert _status(visit) == Status.SUBMITTED

    client.force_login(head)
    response = client.get(reverse("visit-decide", args=[visit.pk]))
    assert response.status_code == 200
    version = response.context["form"]["version"].value()
    response = client.post(
        reverse("visit-decide", args=[visit.pk]),
        {"decision": "approve", "version": version, "confirmed": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("queue")
    assert _status(visit) == Status.AUTHORISED
    response = client.get(reverse("visit-detail", args=[visit.pk]))
    assert "Authorised</span>" in response.content.decode()
    assert "Hazel Head" in response.content.decode()

    client.force_login(office)
    response = client.get(f"{reverse('schedule')}?day={start.date().isoformat()}")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Poppy Pupil" in content
    assert "12 Acacia Avenue" in content  # the pupil's address, as the address was left blank
    assert "07700 900101" in content  # typed for the visit (P13)
    assert "07700 900202" in content  # from the partner's staff profile (P13)
    assert "HV30 VIS" in content  # P12
    assert "Green Vauxhall Corsa" in content


# Forms keep what was typed ------------------------------------------------------------------


def test_plan_with_end_before_start_keeps_what_was_typed(client, pupil, visitor, partner):
    start, _ = _slot(days=3)
    client.force_login(visitor)

    response = client.post(
        reverse("visit-create"),
        plan_form(
            pupil=pupil,
            staff=[visitor, partner],
            purpose_detail="Typed with care: the younger brother was also absent.",
            expected_end=_typed(start - datetime.timedelta(hours=1)),
        ),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "The expected end must be after the planned start (P7)." in content
    assert "Typed with care: the younger brother was also absent." in content
    assert not Visit.objects.exists()


def test_plan_naming_the_same_person_twice_is_refused_and_keeps_what_was_typed(
    client, pupil, visitor
):
    client.force_login(visitor)

    response = client.post(
        reverse("visit-create"),
        plan_form(
            pupil=pupil,
            staff=[visitor, visitor],
            purpose_detail="Typed with care: the younger brother was also absent.",
        ),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "The same person is named twice; name two different people (P3)." in content
    assert "Typed with care: the younger brother was also absent." in content
    assert not Visit.objects.exists()


def test_edit_on_a_stale_version_is_refused_not_saved_and_keeps_what_was_typed(
    client, visit, office, head, visitor, partner
):
    client.force_login(office)
    response = client.get(reverse("visit-edit", args=[visit.pk]))
    loaded_version = response.context["form"]["version"].value()
    typed = edit_form(
        visit,
        purpose_detail="Typed over a stale page: please do not lose this.",
        version=loaded_version,
    )
    # Meanwhile someone else changes the visit.
    services.visit_update(
        visit=visit,
        by=head,
        details={"code_word": "primrose"},
        staff=[(a.user, a.mobile) for a in visit.assignments.all()],
    )

    response = client.post(reverse("visit-edit", args=[visit.pk]), typed)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Someone else changed this visit" in content
    assert "Typed over a stale page: please do not lose this." in content
    visit.refresh_from_db()
    assert visit.purpose_detail == "Five days' absence with no contact."
    assert visit.code_word == "primrose"


def test_edit_with_end_before_start_keeps_what_was_typed_and_saves_nothing(client, visit, office):
    client.force_login(office)

    response = client.post(
        reverse("visit-edit", args=[visit.pk]),
        edit_form(
            visit,
            purpose_detail="Typed with care: the younger brother was also absent.",
            expected_end=_typed(visit.planned_start - datetime.timedelta(hours=2)),
        ),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "The expected end must be after the planned start (P7)." in content
    assert "Typed with care: the younger brother was also absent." in content
    visit.refresh_from_db()
    assert visit.purpose_detail == "Five days' absence with no contact."


def test_risk_form_missing_an_answer_keeps_the_other_answers(client, visit, office):
    client.force_login(office)

    response = client.post(
        reverse("visit-risk", args=[visit.pk]),
        risk_form(visit, known_about_family="", unknowns="Typed: an older cousin may be staying."),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "This field is required." in content
    assert "Typed: an older cousin may be staying." in content
    visit.risk_assessment.refresh_from_db()
    assert visit.risk_assessment.unknowns == RISK_ANSWERS["unknowns"]


# The authorisation form ---------------------------------------------------------------------


def test_approving_without_the_p10_confirmation_is_refused(client, visit, head):
    client.force_login(head)

    response = client.post(
        reverse("visit-decide", args=[visit.pk]),
        {"decision": "approve", "version": visit.version},
    )

    assert response.status_code == 200
    assert "sanction the visit (P10)." in response.content.decode()
    assert _status(visit) == Status.SUBMITTED
    assert not Authorisation.objects.exists()


def test_second_authoriser_is_told_who_decided_first_and_nothing_is_recorded_twice(
    client, visit, head, dsl
):
    client.force_login(head)
    response = client.get(reverse("visit-decide", args=[visit.pk]))
    loaded_version = response.context["form"]["version"].value()
    # The DSL (visiting staff, but not on this visit) decides first, in another browser.
    services.visit_authorise(visit=visit, by=dsl, expected_version=loaded_version, confirmed=True)

    response = client.post(
        reverse("visit-decide", args=[visit.pk]),
        {"decision": "approve", "version": loaded_version, "confirmed": "on"},
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Dee Lead already decided this visit" in content
    assert "Your decision was not recorded." in content
    assert Authorisation.objects.filter(visit=visit).count() == 1
    assert Authorisation.objects.get(visit=visit).decided_by == dsl


def test_second_authoriser_through_the_screens_is_told_who_decided_first(client, visit, head, dsl):
    decide = reverse("visit-decide", args=[visit.pk])
    client.force_login(head)
    loaded_version = client.get(decide).context["form"]["version"].value()
    client.force_login(dsl)
    first = client.post(
        decide, {"decision": "approve", "version": loaded_version, "confirmed": "on"}
    )
    assert first.status_code == 302

    client.force_login(head)
    response = client.post(
        decide, {"decision": "refuse", "version": loaded_version, "reason": "Not needed."}
    )

    assert response.status_code == 200
    assert "Dee Lead already decided this visit (authorised)" in response.content.decode()
    assert Authorisation.objects.filter(visit=visit).count() == 1
    assert _status(visit) == Status.AUTHORISED


def test_decision_on_a_request_changed_since_it_was_opened_is_refused(client, visit, head, office):
    decide = reverse("visit-decide", args=[visit.pk])
    client.force_login(head)
    loaded_version = client.get(decide).context["form"]["version"].value()
    services.visit_update(
        visit=visit,
        by=office,
        details={"purpose_detail": "Now also to drop off the reading books."},
        staff=[(a.user, a.mobile) for a in visit.assignments.all()],
    )

    response = client.post(
        decide, {"decision": "approve", "version": loaded_version, "confirmed": "on"}
    )

    assert response.status_code == 200
    assert "The request changed since you opened it." in response.content.decode()
    assert _status(visit) == Status.SUBMITTED
    assert not Authorisation.objects.exists()


def test_refusing_without_a_reason_is_refused(client, visit, head):
    client.force_login(head)

    response = client.post(
        reverse("visit-decide", args=[visit.pk]),
        {"decision": "refuse", "version": visit.version, "reason": "  "},
    )

    assert response.status_code == 200
    assert "Give the reason" in response.content.decode()
    assert _status(visit) == Status.SUBMITTED


def test_lone_visit_shows_the_warning_and_needs_the_recorded_reason(
    client, pupil, office, visitor, head
):
    start, end = _slot(days=3)
    lone = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor],
        details={"planned_start": start, "expected_end": end},
        submit=True,
    )
    decide = reverse("visit-decide", args=[lone.pk])
    client.force_login(head)

    response = client.get(decide)
    content = response.content.decode()
    assert "lone visit</strong>" in content
    assert 'name="lone_visit_reason"' in content

    response = client.post(
        decide, {"decision": "approve", "version": lone.version, "confirmed": "on"}
    )
    assert response.status_code == 200
    assert "Record why this visit may go ahead with one member of staff (P3)." in (
        response.content.decode()
    )
    assert _status(lone) == Status.SUBMITTED

    response = client.post(
        decide,
        {
            "decision": "approve",
            "version": lone.version,
            "confirmed": "on",
            "lone_visit_reason": "Partner off sick; doorstop only, office on the phone.",
        },
    )
    assert response.status_code == 302
    assert _status(lone) == Status.AUTHORISED
    assert Authorisation.objects.get(visit=lone).lone_visit_reason.startswith("Partner off sick")


# The pupil page ----------------------------------------------------------------------------


def test_pupil_page_shows_the_pupil_carers_and_each_visit_once(client, visit, office, pupil):
    CarerFactory(pupil=pupil, name="Maria Pupil", phone="07700 900555")
    client.force_login(office)

    response = client.get(reverse("pupil-detail", args=[pupil.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "<title>Poppy Pupil · homevisits</title>" in content  # a page of the site
    assert "Maria Pupil" in content
    assert "07700 900555" in content
    assert "12 Acacia Avenue" in content
    assert content.count(f'href="{reverse("visit-detail", args=[visit.pk])}"') == 1


# Bad input gives a page, never a 500 --------------------------------------------------------


@pytest.mark.parametrize(
    "day", ["not-a-date", "", "2030-02-30", "9999-12-30", "9999-12-31", "0001-01-01"]
)
def test_schedule_for_a_day_that_is_not_a_usable_date_shows_a_page(client, office, day):
    client.force_login(office)

    response = client.get(reverse("schedule"), {"day": day})

    assert response.status_code == 200
    assert "Home visit schedule" in response.content.decode()


def test_schedule_for_not_a_date_says_so(client, office):
    client.force_login(office)

    response = client.get(reverse("schedule"), {"day": "not-a-date"})

    assert response.status_code == 200
    assert "That is not a date; showing today." in _messages(response)


@pytest.mark.parametrize("pk", [999999, 2**63, 10**30])
def test_a_visit_that_does_not_exist_is_404(client, office, pk):
    client.force_login(office)

    assert client.get(f"/visits/{pk}/").status_code == 404
    assert client.get(f"/pupils/{pk}/").status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"decision": "nonsense", "confirmed": "on"},
        {"decision": "approve", "version": "abc", "confirmed": "on"},
        {"decision": "approve", "confirmed": "on", "no_version": True},
    ],
    ids=["unknown-decision", "version-not-a-number", "no-version"],
)
def test_decide_with_nonsense_shows_the_form_with_an_error(client, visit, head, data):
    client.force_login(head)
    posted = {"version": visit.version, **data}
    if posted.pop("no_version", False):
        del posted["version"]

    response = client.post(reverse("visit-decide", args=[visit.pk]), posted)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert _status(visit) == Status.SUBMITTED


def test_cancel_without_a_reason_shows_the_error_and_leaves_the_visit(client, visit, office):
    client.force_login(office)

    response = client.post(reverse("visit-cancel", args=[visit.pk]), {"reason": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert _status(visit) == Status.SUBMITTED


def test_cancel_with_a_reason_cancels(client, visit, office):
    client.force_login(office)

    response = client.post(
        reverse("visit-cancel", args=[visit.pk]), {"reason": "Family moved away."}, follow=True
    )

    assert "Visit cancelled." in _messages(response)
    assert "Family moved away." in response.content.decode()
    assert _status(visit) == Status.CANCELLED


@pytest.mark.parametrize("name", ["visit-submit", "visit-complete"])
def test_buttons_refuse_get(client, visit, office, name):
    client.force_login(office)

    assert client.get(reverse(name, args=[visit.pk])).status_code == 405


def test_submitting_an_incomplete_draft_shows_what_is_missing(
    client, pupil, office, visitor, partner
):
    draft = make_visit(pupil=pupil, by=office, staff=[visitor, partner], risk=False)
    client.force_login(office)

    response = client.post(reverse("visit-submit", args=[draft.pk]), follow=True)

    assert response.status_code == 200
    assert "Complete the risk assessment before asking for authorisation (P5)." in _messages(
        response
    )
    assert _status(draft) == Status.DRAFT


def test_plan_with_garbage_times_and_foreign_choices_shows_the_form(
    client, pupil, visitor, outsider, other_school
):
    client.force_login(visitor)

    response = client.post(
        reverse("visit-create"),
        plan_form(
            pupil=pupil,
            staff=[visitor, outsider],
            planned_start="tomorrow-ish",
            expected_end="2030-13-45T99:99",
            visit_type="trampoline",
        ),
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"planned_start", "expected_end", "visit_type", "staff_2"} <= set(errors)
    assert not Visit.objects.exists()


def test_editing_a_cancelled_visit_redirects_with_a_message(client, visit, office):
    services.visit_cancel(visit=visit, by=office, reason="Family moved away.")
    client.force_login(office)

    response = client.get(reverse("visit-edit", args=[visit.pk]), follow=True)

    assert response.redirect_chain == [(reverse("visit-detail", args=[visit.pk]), 302)]
    assert "A cancelled visit can no longer be changed." in _messages(response)


def test_posting_an_edit_to_a_cancelled_visit_saves_nothing(client, visit, office):
    services.visit_cancel(visit=visit, by=office, reason="Family moved away.")
    visit.refresh_from_db()
    client.force_login(office)

    response = client.post(
        reverse("visit-edit", args=[visit.pk]), edit_form(visit, address="1 Elsewhere Road")
    )

    assert response.status_code == 302
    visit.refresh_from_db()
    assert "Elsewhere" not in visit.address


# P2 through the screens ---------------------------------------------------------------------


def test_editing_an_authorised_visit_address_withdraws_the_authorisation(
    client, authorised_visit, office
):
    visit = authorised_visit
    client.force_login(office)

    response = client.post(
        reverse("visit-edit", args=[visit.pk]),
        edit_form(visit, address="3 Mill Lane\nBolton"),
        follow=True,
    )

    assert response.redirect_chain == [(reverse("visit-detail", args=[visit.pk]), 302)]
    content = response.content.decode()
    assert "Awaiting authorisation</span>" in content
    assert EventKind.AUTHORISATION_WITHDRAWN.label in content
    assert "3 Mill Lane" in content
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert visit.address == "3 Mill Lane\nBolton"
    assert Authorisation.objects.get(visit=visit).withdrawn_at is not None


def test_editing_what_an_authorisation_does_not_cover_keeps_it(client, authorised_visit, office):
    visit = authorised_visit
    client.force_login(office)

    response = client.post(
        reverse("visit-edit", args=[visit.pk]), edit_form(visit, code_word="primrose")
    )

    assert response.status_code == 302
    assert _status(visit) == Status.AUTHORISED
    assert Authorisation.objects.get(visit=visit).withdrawn_at is None


def test_p2_visit_page_shows_what_the_authorisation_covered(client, authorised_visit, office):
    """P2: the approval records exactly what was approved, and people can read it."""
    client.force_login(office)

    content = client.get(reverse("visit-detail", args=[authorised_visit.pk])).content.decode()

    assert "<summary>What was authorised</summary>" in content
    assert "Vic Visitor and Pat Partner" in content
    assert "12 Acacia Avenue" in content
    assert "Doorstop (staff stay at the door)" in content


def test_p5_risk_question_left_unanswered_is_asked_again_not_taken_as_no(client, visit, office):
    client.force_login(office)
    data = risk_form(visit, unknowns="Typed before the mistake.")
    del data["previous_aggression"]

    response = client.post(reverse("visit-risk", args=[visit.pk]), data)

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert "Typed before the mistake." in response.content.decode()


def test_p5_two_people_saving_the_risk_assessment_at_once_do_not_silently_undo_each_other(
    client, visit, office, visitor
):
    # Both open the form at the same version; the visitor saves a new risk first.
    stale = risk_form(visit, unknowns="Office's older view.")
    client.force_login(visitor)
    first = client.post(
        reverse("visit-risk", args=[visit.pk]),
        risk_form(visit, contentious_issues="yes", contentious_details="Court order due."),
    )
    assert first.status_code == 302

    client.force_login(office)
    second = client.post(reverse("visit-risk", args=[visit.pk]), stale)

    assert second.status_code == 200
    assert "Someone else changed this visit" in second.content.decode()
    assert "Office&#x27;s older view." in second.content.decode()  # what they typed is kept
    visit.refresh_from_db()
    assert visit.risk_assessment.contentious_issues is True
    assert visit.risk_assessment.unknowns != "Office's older view."


def test_queue_tells_an_authoriser_which_visits_they_are_on(client, pupil, office, dsl, visitor):
    make_visit(pupil=pupil, by=office, staff=[dsl, visitor], submit=True)
    client.force_login(dsl)

    content = client.get(reverse("queue")).content.decode()

    assert "You are going on this visit, so someone else must authorise it (P1)." in content
    assert "Review" not in content


def test_decide_page_says_why_someone_cannot_decide(client, visit, visitor):
    client.force_login(visitor)

    content = client.get(reverse("visit-decide", args=[visit.pk])).content.decode()

    assert "You cannot decide this visit" in content
    assert "(P1)" in content
    assert "Record decision" not in content


def test_p9_p12_p14_p16_support_rules_are_asked_on_the_form_and_shown_on_the_record(
    client, pupil, office, visitor, partner
):
    told = timezone.now() - datetime.timedelta(days=1)
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={
            "la_told": True,
            "la_contact": "Sam Social, Children's Services",
            "la_told_at": told,
            "la_confirmed_at": told,
            "vehicle_description": "Red Kia Picanto",
            "vehicle_registration": "KP19 ZZT",
            "code_word": "marigold",
            "takes_id_badge": True,
            "resources_note": "Reading book for Poppy",
        },
    )
    client.force_login(office)

    form = client.get(reverse("visit-create")).content.decode()
    for label in (
        "Local Authority / Social Services (P9)",
        "Vehicle registration",
        "Emergency code word",
        "Staff take with them (P16)",
    ):
        assert label in form
    record = client.get(reverse("visit-detail", args=[visit.pk])).content.decode()
    assert "Told Sam Social, Children&#x27;s Services" in record  # P9
    assert "Red Kia Picanto KP19 ZZT" in record  # P12
    assert "marigold" in record  # P14
    assert "ID badge ✓" in record and "Reading book for Poppy" in record  # P16


def test_queue_shows_why_a_lone_visit_is_not_this_authorisers_to_decide(
    client, school, pupil, office, head, visitor
):
    from schools.models import LoneVisitPolicy

    school.lone_visit_policy = LoneVisitPolicy.DSL
    school.save()
    make_visit(pupil=pupil, by=office, staff=[visitor], submit=True)
    client.force_login(head)

    content = client.get(reverse("queue")).content.decode()

    assert "may decide that a visit goes ahead as lone (P3)" in content
    assert "Review" not in content


def test_p13_staff_keep_their_mobile_current_on_their_profile(client, visitor):
    client.force_login(visitor)

    response = client.post(
        reverse("my-profile"),
        {"mobile": "07700 900555", "job_title": "Learning mentor", "vehicle_registration": ""},
    )

    assert response.status_code == 302
    visitor.staff_profile.refresh_from_db()
    # Stored in international form, for the gateways; shown as it was typed, in UK form.
    assert str(visitor.staff_profile.mobile) == "+447700900555"
    page = client.get(reverse("my-profile")).content.decode()
    assert 'value="07700 900555"' in page


def test_p13_a_profile_mobile_that_cannot_be_dialled_is_refused_and_kept_on_the_form(
    client, visitor
):
    client.force_login(visitor)

    response = client.post(reverse("my-profile"), {"mobile": "call me", "job_title": "Mentor"})

    assert response.status_code == 200
    assert "Enter a phone number the office can dial" in response.content.decode()
    assert 'value="call me"' in response.content.decode()
    visitor.staff_profile.refresh_from_db()
    assert str(visitor.staff_profile.mobile) == "+447700900000"


def test_pupil_search_finds_by_name_within_the_users_schools(
    client, school, other_school, pupil, office
):
    from .factories import PupilFactory

    PupilFactory(school=school, first_name="Zara", last_name="Quinn")
    PupilFactory(school=other_school, first_name="Zara", last_name="Elsewhere")
    client.force_login(office)

    content = client.get(reverse("pupil-list") + "?q=zara").content.decode()

    assert "Quinn, Zara" in content
    assert "Elsewhere" not in content
    assert "Pupil, Poppy" not in content
