"""Authorisers told a visit waits for them; planners and staff told what was decided (P1, P2,
P3); the menu's count of visits waiting for a decision; what changed, in people's words."""

import datetime

import pytest
from django.test import RequestFactory
from django.urls import reverse

from notifications.models import Channel, Notification
from schools.models import LoneVisitPolicy
from visits import services
from visits.access import awaiting_decision_by
from visits.context_processors import authorisations
from visits.models import EventKind, Status
from visits.rules import decision_blockers
from visits.selectors import visits_for_queue

from .conftest import make_visit

HOUR = datetime.timedelta(hours=1)
FIELD_NAMES = ("planned_start", "expected_end", "visit_type", "address,", "_")


def _staff_of(visit):
    return [(a.user, a.mobile) for a in visit.assignments.select_related("user")]


def _update(visit, by, **details):
    return services.visit_update(visit=visit, by=by, details=details, staff=_staff_of(visit))


def _emailed(subject_part):
    """{person: number of emails} whose subject contains `subject_part`."""
    counts = {}
    for row in Notification.objects.filter(subject__contains=subject_part):
        assert row.channel == Channel.EMAIL
        counts[row.recipient] = counts.get(row.recipient, 0) + 1
    return counts


def _assert_nothing_personal(visit):
    """A8: the pupil and the address stay inside the app."""
    pupil = visit.pupil
    for row in Notification.objects.all():
        text = row.subject + row.body
        assert pupil.first_name not in text
        assert pupil.last_name not in text
        assert visit.address.splitlines()[0] not in text


# Authorisers told (P1, P3) -----------------------------------------------------------------


def test_p1_authorisers_are_emailed_once_when_a_visit_is_submitted(
    pupil, office, visitor, partner, colleague, head, dsl, deputy, slt
):
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)

    assert _emailed("waiting for your authorisation") == {head: 1, dsl: 1, deputy: 1, slt: 1}
    assert not Notification.objects.filter(channel=Channel.SMS).exists()
    row = Notification.objects.get(recipient=head)
    assert "http://" in row.body or "https://" in row.body
    assert reverse("queue") in row.body
    assert "Hazel" in row.body
    _assert_nothing_personal(visit)

    services.visit_submit(visit=visit, by=office)  # a repeat changes nothing
    assert Notification.objects.count() == 4


def test_p1_only_the_roles_the_school_lets_authorise_are_emailed(
    school, pupil, office, visitor, partner, head, dsl, deputy, slt
):
    school.dsl_may_authorise = False
    school.slt_may_authorise = False
    school.save()
    make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)
    assert _emailed("waiting for your authorisation") == {head: 1}


def test_p1_staff_going_on_the_visit_are_not_asked_to_authorise_it(
    pupil, office, visitor, dsl, head
):
    make_visit(pupil=pupil, by=office, staff=[visitor, dsl], submit=True)
    assert _emailed("waiting for your authorisation") == {head: 1}


def test_p3_a_lone_visit_is_sent_only_to_those_who_may_decide_it(
    school, pupil, office, visitor, head, dsl, deputy, slt
):
    school.lone_visit_policy = LoneVisitPolicy.DSL
    school.save()
    make_visit(pupil=pupil, by=office, staff=[visitor], submit=True)
    assert _emailed("waiting for your authorisation") == {dsl: 1, deputy: 1}


def test_p2_a_withdrawn_authorisation_emails_the_authorisers_again_once(
    authorised_visit, office, head, dsl, deputy, slt, visitor, partner
):
    visit = authorised_visit
    _update(
        visit,
        office,
        planned_start=visit.planned_start + HOUR,
        expected_end=visit.expected_end + HOUR,
    )

    assert _emailed("needs authorising again") == {head: 1, dsl: 1, deputy: 1, slt: 1}
    row = Notification.objects.get(recipient=dsl, subject__contains="again")
    assert "the date and time, the expected end" in row.body
    assert "planned_start" not in row.body
    _assert_nothing_personal(visit)

    # A further change to the visit, still awaiting its decision, sends no second request.
    _update(visit, office, code_word="snowdrop")
    assert _emailed("needs authorising again") == {head: 1, dsl: 1, deputy: 1, slt: 1}


# The menu's count (P1) ---------------------------------------------------------------------


def _count_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return authorisations(request)["awaiting_decision"]


def test_p1_menu_counts_the_visits_waiting_for_this_persons_decision(
    visit, pupil, office, visitor, partner, dsl, head, django_assert_num_queries
):
    make_visit(pupil=pupil, by=office, staff=[visitor, dsl], submit=True)  # dsl is going
    make_visit(pupil=pupil, by=office, staff=[visitor, partner])  # a draft waits for nobody

    assert _count_for(head) == 2
    assert _count_for(dsl) == 1
    assert _count_for(office) == 0
    assert _count_for(visitor) == 0

    request = RequestFactory().get("/")
    request.user = head
    with django_assert_num_queries(1):
        assert authorisations(request)["awaiting_decision"] == 2
        assert authorisations(request)["awaiting_decision"] == 2  # cached for the request


def test_p1_menu_count_is_in_every_pages_context(client, visit, head):
    client.force_login(head)
    response = client.get(reverse("my-visits"))
    assert response.context["awaiting_decision"] == 1
    # The menu shows it beside "Authorisations", read out as what it is.
    html = response.content.decode()
    badge = 'data-testid="awaiting-decision">1<span class="visually-hidden"> waiting for your'
    assert badge in html


@pytest.mark.parametrize(
    ("policy", "dsl_may", "slt_may"),
    [
        (LoneVisitPolicy.DSL, True, True),
        (LoneVisitPolicy.DSL_OR_SLT, True, True),
        (LoneVisitPolicy.DSL_OR_SLT, False, True),
        (LoneVisitPolicy.DSL, True, False),
    ],
)
def test_p3_menu_count_agrees_with_who_may_decide(
    school, pupil, office, visitor, partner, head, dsl, deputy, slt, policy, dsl_may, slt_may
):
    school.lone_visit_policy = policy
    school.dsl_may_authorise = dsl_may
    school.slt_may_authorise = slt_may
    school.save()
    make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)
    make_visit(pupil=pupil, by=office, staff=[visitor], submit=True)
    for person in (head, dsl, deputy, slt, office, visitor):
        decidable = [
            v for v in visits_for_queue(person) if not decision_blockers(visit=v, user=person)
        ]
        assert awaiting_decision_by(person).count() == len(decidable), person


# Planners and staff told of the decision ---------------------------------------------------


def _decide(outcome, visit, by):
    if outcome == "authorised":
        return services.visit_authorise(
            visit=visit, by=by, expected_version=visit.version, confirmed=True
        )
    decide = {
        "changes_requested": services.visit_request_changes,
        "refused": services.visit_refuse,
    }[outcome]
    return decide(
        visit=visit, by=by, expected_version=visit.version, reason="Take the DSL's number."
    )


@pytest.mark.parametrize(
    ("outcome", "subject", "reason_sent"),
    [
        ("authorised", "Home visit authorised", False),
        ("changes_requested", "Home visit sent back for changes", True),
        ("refused", "Home visit refused", True),
    ],
)
def test_p1_planner_and_staff_are_emailed_the_decision_once(
    visit, office, visitor, partner, head, dsl, outcome, subject, reason_sent
):
    Notification.objects.all().delete()  # the authorisers' request, tested above
    version = visit.version
    _decide(outcome, visit, head)

    assert _emailed(subject) == {office: 1, visitor: 1, partner: 1}
    row = Notification.objects.get(recipient=visitor)
    assert "Hazel Head" in row.body
    assert ("Take the DSL's number." in row.body) is reason_sent
    assert reverse("visit-detail", args=[visit.pk]) in row.body
    _assert_nothing_personal(visit)

    visit.refresh_from_db()
    visit.version = version
    _decide(outcome, visit, head)  # the same button pressed again
    assert _emailed(subject) == {office: 1, visitor: 1, partner: 1}


def test_p2_planner_and_staff_are_emailed_when_a_change_withdraws_the_authorisation(
    authorised_visit, office, visitor, partner, head, dsl
):
    visit = authorised_visit
    _update(visit, dsl, address="1 Other Road\nSalford")

    # dsl made the change and knows: the planner and the staff are told.
    assert _emailed("no longer authorised") == {office: 1, visitor: 1, partner: 1}
    row = Notification.objects.get(recipient=partner, subject__contains="no longer")
    assert "the address" in row.body
    assert "Other Road" not in row.body


# What changed, in people's words (P2) ------------------------------------------------------


def test_p2_queue_shows_a_withdrawn_authorisation_and_what_changed_in_plain_words(
    client, authorised_visit, office, visitor, colleague, dsl
):
    visit = authorised_visit
    _update(
        visit,
        office,
        planned_start=visit.planned_start + HOUR,
        expected_end=visit.expected_end + HOUR,
    )
    services.visit_update(
        visit=visit,
        by=office,
        details={},
        staff=[
            (visitor, visitor.staff_profile.mobile),
            (colleague, colleague.staff_profile.mobile),
        ],
    )
    client.force_login(dsl)
    html = client.get(reverse("queue")).content.decode()
    assert "Authorisation withdrawn" in html
    assert "the date and time, the expected end" in html
    for name in ("planned_start", "expected_end"):
        assert name not in html


def test_p2_a_visit_sent_back_and_resubmitted_is_no_longer_shown_as_withdrawn(
    client, authorised_visit, office, head, dsl
):
    visit = _update(authorised_visit, office, visit_type="enter_home")
    visit = services.visit_request_changes(
        visit=visit, by=head, expected_version=visit.version, reason="Doorstop only."
    )
    services.visit_submit(visit=visit, by=office)
    client.force_login(dsl)
    html = client.get(reverse("queue")).content.decode()
    assert "Authorisation withdrawn" not in html


def test_p2_timeline_names_what_changed_as_people_say_it(client, authorised_visit, office):
    visit = authorised_visit
    _update(visit, office, planned_start=visit.planned_start + HOUR / 2, code_word="snowdrop")
    withdrawn = visit.events.get(kind=EventKind.AUTHORISATION_WITHDRAWN)
    assert withdrawn.message.startswith("Changed after authorisation: the date and time.")
    updated = visit.events.get(kind=EventKind.UPDATED)
    assert updated.message == "Changed: the date and time, the code word"

    client.force_login(office)
    html = client.get(reverse("visit-detail", args=[visit.pk])).content.decode()
    assert "Changed after authorisation: the date and time" in html
    for name in ("planned_start", "code_word"):
        assert name not in html


def test_every_detail_a_planner_changes_has_words_people_say():
    for name in (*services.DETAIL_FIELDS, "staff", "risk assessment"):
        (words,) = services.changed_words([name])
        assert "_" not in words, name
        assert words != name or " " in words, name
    assert services.changed_words(["planned_start", "staff"]) == ["the date and time", "the staff"]


def test_status_after_withdrawal_is_awaiting_a_decision(authorised_visit, office):
    visit = _update(authorised_visit, office, address="1 Other Road\nSalford")
    assert visit.status == Status.SUBMITTED
