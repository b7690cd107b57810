"""Rule A8: a visit's details are seen only by the staff involved and those with a role that
needs them, never by every member of staff.

Every visit URL is tried as every kind of person. The school's oversight roles (office, DSL,
deputy DSL, headteacher, SLT), the two staff going and whoever asked for the visit reach it;
everyone else gets a 404, as if the visit did not exist (a 403 would say that it does). Their
POSTs change nothing. A Django superuser with no school role gets no pass either: the admin is
separate. The visit does not show in anyone else's lists, and access follows the people on the
visit and their roles as they change.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from schools.models import Membership, Role
from visits import services
from visits.models import Authorisation, RiskAssessment, Status, Visit, VisitEvent, VisitStaff

from .factories import (
    RISK_ANSWERS,
    UserFactory,
    enrol_totp,
    member,
    record_debrief,
    visit_details,
    write_minutes,
)

# Details only this visit carries, to look for in pages that must not show it.
VISIT_ADDRESS = "Flat 7 Larkspur Court\nSalford"
ADDRESS_MARK = "Larkspur Court"
PURPOSE_DETAIL = "Bruising seen on Monday; mother not answering calls."
RISK_MARK = "New partner at the address, not yet met."

# The people who may know the visit exists, and those who may not.
MAY_SEE = ["office", "dsl", "deputy", "head", "slt", "visitor", "partner", "requester"]
MAY_NOT_SEE = ["colleague", "school_admin", "outsider", "no_role", "superuser"]


@pytest.fixture
def requester(school):
    """Visiting staff who asked for the visit but does not go on it."""
    return member(
        school, Role.VISITING_STAFF, username="requester", first_name="Rae", last_name="Quester"
    )


@pytest.fixture
def no_role(db):
    return UserFactory(username="norole", first_name="Nora", last_name="Nobody")


@pytest.fixture
def superuser(db):
    """A Django superuser with no role at any school."""
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def _slot(*, days, hour=10):
    start = (timezone.localtime() + datetime.timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return start, start + datetime.timedelta(hours=1)


@pytest.fixture
def confidential_visit(pupil, requester, visitor, partner, head):
    """Make a visit asked for by `requester`, going with visitor and partner, in a given state.

    Completed and closed visits are planned in the past by travelling back in time, so that a
    POST that wrongly got through would really complete or close them.
    """

    def make(status):
        now = timezone.now()
        if status in (Status.AUTHORISED, Status.COMPLETED, Status.CLOSED):
            planned_at = now - datetime.timedelta(days=2)
            start = (now - datetime.timedelta(hours=3)).replace(second=0, microsecond=0)
            end = start + datetime.timedelta(hours=1)
        else:
            planned_at = now
            start, end = _slot(days=3)
        visit = services.visit_create(
            pupil=pupil,
            by=requester,
            details=visit_details(
                address=VISIT_ADDRESS,
                purpose_detail=PURPOSE_DETAIL,
                planned_start=start,
                expected_end=end,
                parent_told_at=planned_at - datetime.timedelta(hours=1),
            ),
            staff=[(user, user.staff_profile.mobile) for user in (visitor, partner)],
            now=planned_at,
        )
        services.risk_assessment_record(
            visit=visit,
            by=requester,
            answers=RISK_ANSWERS | {"unknowns": RISK_MARK},
            now=planned_at,
        )
        if status != Status.DRAFT:
            services.visit_submit(visit=visit, by=requester, now=planned_at)
        if status in (Status.AUTHORISED, Status.COMPLETED, Status.CLOSED):
            visit.refresh_from_db()
            services.visit_authorise(
                visit=visit, by=head, expected_version=visit.version, confirmed=True, now=planned_at
            )
        if status in (Status.COMPLETED, Status.CLOSED):
            services.visit_complete(visit=visit, by=visitor)
        if status == Status.CLOSED:
            write_minutes(visit, visitor)
            record_debrief(visit, head, led_as="headteacher")
        visit.refresh_from_db()
        assert visit.status == status
        return visit

    return make


def _local(when):
    """A time as a datetime-local input sends it."""
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M") if when else ""


YES_NO = {True: "yes", False: "no", None: ""}
EDIT_YES_NO = ("parent_could_come_to_school", "announced")
EDITED_PURPOSE = "Changed through the form: school nurse to go too."
EDITED_CODE_WORD = "foxglove"
EDITED_UNKNOWNS = "Changed through the form: whether the new partner has moved in."


def _edit_data(visit, **changes):
    """What the edit page posts for the visit as it stands, with `changes`."""
    data = {}
    for name in services.DETAIL_FIELDS:
        value = getattr(visit, name)
        if name in EDIT_YES_NO:
            data[name] = YES_NO[value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, datetime.datetime):
            data[name] = _local(value)
        else:
            data[name] = "" if value is None else value
    for index, assignment in enumerate(visit.assignments.all(), start=1):
        data[f"staff_{index}"] = assignment.user_id
        data[f"staff_{index}_mobile"] = assignment.mobile
    data["version"] = visit.version
    return data | changes


def _risk_data(visit, **changes):
    """What the risk assessment page posts for the visit's answers as they stand, with `changes`."""
    answers = RiskAssessment.objects.get(visit=visit).answers()
    data = {
        name: YES_NO[value] if name in RiskAssessment.YES_NO_QUESTIONS else value
        for name, value in answers.items()
    }
    data["version"] = visit.version
    return data | changes


# (URL name, method, the visit's state, what a form would post, whether an allowed person's POST
# must change the visit). Each POST is one that would change the visit if the access check let it
# through. Pages that only show come first, so that the allowed people's POSTs (which may move a
# visit on) come after every page has been read.
VISIT_URLS = [
    ("visit-detail", "get", Status.SUBMITTED, None, False),
    ("visit-edit", "get", Status.SUBMITTED, None, False),
    ("visit-risk", "get", Status.SUBMITTED, None, False),
    ("visit-decide", "get", Status.SUBMITTED, None, False),
    ("visit-cancel", "get", Status.SUBMITTED, None, False),
    ("visit-on", "get", Status.AUTHORISED, None, False),
    ("visit-help", "get", Status.AUTHORISED, None, False),
    (
        "visit-edit",
        "post",
        Status.SUBMITTED,
        lambda visit: _edit_data(visit, purpose_detail=EDITED_PURPOSE, code_word=EDITED_CODE_WORD),
        True,
    ),
    (
        "visit-risk",
        "post",
        Status.SUBMITTED,
        lambda visit: _risk_data(visit, unknowns=EDITED_UNKNOWNS),
        True,
    ),
    ("visit-submit", "post", Status.DRAFT, lambda visit: {}, False),
    (
        "visit-decide",
        "post",
        Status.SUBMITTED,
        lambda visit: {"decision": "approve", "version": visit.version, "confirmed": "on"},
        False,
    ),
    ("visit-cancel", "post", Status.SUBMITTED, lambda visit: {"reason": "Not needed."}, True),
    ("visit-complete", "post", Status.AUTHORISED, lambda visit: {}, False),
    # On the day (D1-D6, E3): refused for everyone here (the visit is not on site; the reason is
    # not one of the policies'), so only who may know the visit exists differs.
    ("visit-extend", "post", Status.AUTHORISED, lambda v: {"minutes": "15", "reason": "x"}, False),
    ("visit-door", "post", Status.AUTHORISED, lambda v: {"reason": "bogus", "note": "x"}, False),
    ("visit-code-word", "post", Status.CLOSED, lambda visit: {}, False),
]


@pytest.fixture
def visits(confidential_visit):
    """One visit in each state the URLs need, built once per test on first use."""
    built = {}

    def get(status):
        if status not in built:
            built[status] = confidential_visit(status)
        return built[status]

    return get


def _try_every_url(client, visits):
    """Yield (what was tried, the matrix row, response, the visit's fingerprint before, after)."""
    for row in VISIT_URLS:
        name, method, status, data, _ = row
        # Read afresh: an earlier POST in the run may have changed the visit (and its version).
        visit = Visit.objects.get(pk=visits(status).pk)
        before = _fingerprint(visit)
        url = reverse(name, args=[visit.pk])
        response = client.get(url) if method == "get" else client.post(url, data(visit))
        tried = f"{method.upper()} {name} ({status})"
        yield tried, row, response, before, _fingerprint(visit)


def _fingerprint(visit):
    """What a POST that got through would change: every field of the visit (its version and
    status among them), who goes, the risk assessment's answers, the events and decisions."""
    risk = RiskAssessment.objects.filter(visit_id=visit.pk).first()
    return {
        "visit": Visit.objects.filter(pk=visit.pk).values().get(),
        "staff": list(
            VisitStaff.objects.filter(visit_id=visit.pk).values_list("user_id", "mobile")
        ),
        "risk": risk.answers() if risk else None,
        "events": VisitEvent.objects.filter(visit_id=visit.pk).count(),
        "authorisations": Authorisation.objects.filter(visit_id=visit.pk).count(),
    }


def _changed(before, after):
    """The names of what differs between two fingerprints, for a readable failure."""
    names = []
    for part in before:
        if isinstance(before[part], dict) and isinstance(after[part], dict):
            names += [
                f"{part}.{key}"
                for key in before[part].keys() | after[part].keys()
                if before[part].get(key) != after[part].get(key)
            ]
        elif before[part] != after[part]:
            names.append(f"{part}: {before[part]} -> {after[part]}")
    return sorted(names)


@pytest.mark.parametrize("who", MAY_SEE)
def test_a8_people_involved_and_oversight_roles_reach_every_visit_url(client, request, visits, who):
    client.force_login(request.getfixturevalue(who))

    wrong = []
    for tried, row, response, before, after in _try_every_url(client, visits):
        _, method, _, _, must_change = row
        # Allowed to know the visit exists: every page opens; a POST is done (a redirect) or
        # refused with a reason on the page; never a 404.
        # A refused on-the-day form comes back with its errors as a 400.
        expected = (200,) if method == "get" else (302,) if must_change else (200, 302, 400)
        if response.status_code not in expected:
            wrong.append(f"{tried}: {response.status_code}, not {expected}")
        # Edits and cancelling are open to everyone involved (A8): such a POST that came back
        # as a redirect but saved nothing would be a silent failure.
        if must_change and after == before:
            wrong.append(f"{tried}: changed nothing")

    assert wrong == []


@pytest.mark.parametrize("who", MAY_NOT_SEE)
def test_a8_everyone_else_gets_404_on_every_visit_url_and_changes_nothing(
    client, request, visits, who
):
    client.force_login(request.getfixturevalue(who))

    wrong = []
    for tried, _, response, before, after in _try_every_url(client, visits):
        if response.status_code != 404:
            wrong.append(f"{tried}: {response.status_code}, not 404")
        if ADDRESS_MARK in response.content.decode():
            wrong.append(f"{tried}: shows the address")
        if after != before:
            wrong.append(f"{tried}: changed {_changed(before, after)}")

    assert wrong == []


def test_a8_anonymous_visitor_is_sent_to_sign_in_on_every_visit_url_and_changes_nothing(
    client, visits
):
    wrong = []
    for tried, _, response, before, after in _try_every_url(client, visits):
        if response.status_code != 302 or not response["Location"].startswith(
            reverse("account_login") + "?next="
        ):
            wrong.append(f"{tried}: {response.status_code}, not sent to sign in")
        if after != before:
            wrong.append(f"{tried}: changed {_changed(before, after)}")

    assert wrong == []


def test_a8_control_office_edit_through_the_form_really_changes_the_visit(
    client, confidential_visit, office
):
    """The control for the refusals above: the same edit POST, from someone allowed, saves."""
    visit = confidential_visit(Status.SUBMITTED)
    events = VisitEvent.objects.filter(visit=visit).count()
    client.force_login(office)

    response = client.post(
        reverse("visit-edit", args=[visit.pk]),
        _edit_data(visit, purpose_detail=EDITED_PURPOSE, code_word=EDITED_CODE_WORD),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("visit-detail", args=[visit.pk])
    changed = Visit.objects.get(pk=visit.pk)
    assert (changed.purpose_detail, changed.code_word) == (EDITED_PURPOSE, EDITED_CODE_WORD)
    assert changed.version == visit.version + 1
    assert changed.status == Status.SUBMITTED
    assert changed.address == visit.address
    assert changed.staff_user_ids() == visit.staff_user_ids()
    assert VisitEvent.objects.filter(visit=visit).count() == events + 1


def test_a8_control_visitor_risk_assessment_through_the_form_really_changes_it(
    client, confidential_visit, visitor
):
    visit = confidential_visit(Status.SUBMITTED)
    before = RiskAssessment.objects.get(visit=visit).answers()
    client.force_login(visitor)

    response = client.post(
        reverse("visit-risk", args=[visit.pk]), _risk_data(visit, unknowns=EDITED_UNKNOWNS)
    )

    assert response.status_code == 302
    after = RiskAssessment.objects.get(visit=visit).answers()
    # Only the text changed: every yes/no answer is kept as it was sent.
    assert after == before | {"unknowns": EDITED_UNKNOWNS}
    assert Visit.objects.get(pk=visit.pk).version == visit.version + 1


def test_a8_control_office_cancel_through_the_form_really_cancels_the_visit(
    client, confidential_visit, office
):
    visit = confidential_visit(Status.SUBMITTED)
    client.force_login(office)

    response = client.post(reverse("visit-cancel", args=[visit.pk]), {"reason": "Not needed."})

    assert response.status_code == 302
    cancelled = Visit.objects.get(pk=visit.pk)
    assert cancelled.status == Status.CANCELLED
    assert cancelled.cancel_reason == "Not needed."
    assert cancelled.cancelled_at is not None


def _list_url(page, visit):
    if page == "pupil-detail":
        return reverse("pupil-detail", args=[visit.pupil_id])
    if page == "schedule":
        day = timezone.localtime(visit.planned_start).date()
        return f"{reverse('schedule')}?day={day.isoformat()}"
    return reverse(page)


LISTS = ["my-visits", "queue", "schedule", "pupil-detail"]


@pytest.mark.parametrize("who", MAY_NOT_SEE)
def test_a8_visit_is_not_listed_for_people_who_may_not_see_it(
    client, request, confidential_visit, who
):
    visit = confidential_visit(Status.SUBMITTED)
    client.force_login(request.getfixturevalue(who))

    wrong = []
    for page in LISTS:
        response = client.get(_list_url(page, visit))
        content = response.content.decode()
        # The page itself may be refused (no schedule role, another school's pupil); never a 500.
        if response.status_code not in (200, 403, 404):
            wrong.append(f"{page}: {response.status_code}")
        # The pupil page names the pupil, as it should for their school's staff; a list must not.
        if page != "pupil-detail" and str(visit.pupil) in content:
            wrong.append(f"{page}: names the pupil")
        for what, text in [
            ("the address", ADDRESS_MARK),
            ("the purpose", "Bruising seen on Monday"),
            ("a link to the visit", reverse("visit-detail", args=[visit.pk])),
            ("a link to decide it", reverse("visit-decide", args=[visit.pk])),
        ]:
            if text in content:
                wrong.append(f"{page}: shows {what}")

    assert wrong == []


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("office", "schedule"),
        ("head", "schedule"),
        ("dsl", "queue"),
        ("deputy", "queue"),
        ("head", "queue"),
        ("slt", "queue"),
        ("visitor", "my-visits"),
        ("partner", "my-visits"),
        ("requester", "my-visits"),
        ("office", "pupil-detail"),
        ("visitor", "pupil-detail"),
    ],
)
def test_a8_visit_is_listed_for_people_who_need_it(client, request, confidential_visit, who, page):
    """The control for the test above: the same pages do list the visit for these people."""
    visit = confidential_visit(Status.SUBMITTED)
    client.force_login(request.getfixturevalue(who))

    response = client.get(_list_url(page, visit))

    assert response.status_code == 200
    content = response.content.decode()
    assert str(visit.pupil) in content
    if page in ("my-visits", "pupil-detail"):
        assert reverse("visit-detail", args=[visit.pk]) in content
    if page == "schedule":
        assert ADDRESS_MARK in content


def test_a8_superuser_without_a_school_role_gets_404_though_the_admin_opens(
    client, confidential_visit, superuser
):
    visit = confidential_visit(Status.SUBMITTED)
    client.force_login(superuser)

    assert client.get(reverse("visit-detail", args=[visit.pk])).status_code == 404
    assert client.get(reverse("admin:index")).status_code == 200


def test_a8_swapping_the_partner_for_a_colleague_moves_access_with_them(
    client, visit, office, visitor, partner, colleague
):
    detail = reverse("visit-detail", args=[visit.pk])
    client.force_login(colleague)
    assert client.get(detail).status_code == 404

    services.visit_update(
        visit=visit,
        by=office,
        details={},
        staff=[(visitor, "07700 900101"), (colleague, "07700 900303")],
        expected_version=visit.version,
    )

    client.force_login(partner)
    assert client.get(detail).status_code == 404
    assert str(visit.pupil) not in client.get(reverse("my-visits")).content.decode()
    client.force_login(colleague)
    assert client.get(detail).status_code == 200
    assert str(visit.pupil) in client.get(reverse("my-visits")).content.decode()
    client.force_login(visitor)
    assert client.get(detail).status_code == 200


def test_a8_swapping_staff_through_the_form_moves_access_with_them(
    client, visit, office, visitor, partner, colleague
):
    client.force_login(office)
    data = {
        "purpose": visit.purpose,
        "purpose_detail": visit.purpose_detail,
        "parent_could_come_to_school": "no",
        "planned_start": timezone.localtime(visit.planned_start).strftime("%Y-%m-%dT%H:%M"),
        "expected_end": timezone.localtime(visit.expected_end).strftime("%Y-%m-%dT%H:%M"),
        "reporting_arrangements": visit.reporting_arrangements,
        "address": visit.address,
        "visit_type": visit.visit_type,
        "announced": "yes",
        "parent_told_how": visit.parent_told_how,
        "parent_told_at": timezone.localtime(visit.parent_told_at).strftime("%Y-%m-%dT%H:%M"),
        "staff_1": visitor.pk,
        "staff_2": colleague.pk,
        "version": visit.version,
    }

    response = client.post(reverse("visit-edit", args=[visit.pk]), data)

    assert response.status_code == 302
    detail = reverse("visit-detail", args=[visit.pk])
    client.force_login(partner)
    assert client.get(detail).status_code == 404
    client.force_login(colleague)
    assert client.get(detail).status_code == 200


def test_a8_losing_an_oversight_role_loses_the_visit(client, visit, deputy):
    detail = reverse("visit-detail", args=[visit.pk])
    client.force_login(deputy)
    assert client.get(detail).status_code == 200

    Membership.objects.get(user=deputy, role=Role.DEPUTY_DSL).delete()

    assert client.get(detail).status_code == 404


def test_a8_gaining_an_oversight_role_gains_the_visit(client, school, visit, colleague):
    detail = reverse("visit-detail", args=[visit.pk])
    client.force_login(colleague)
    assert client.get(detail).status_code == 404

    Membership.objects.create(user=colleague, school=school, role=Role.DSL)
    enrol_totp(colleague)  # a DSL signs in with a second factor

    assert client.get(detail).status_code == 200


@pytest.mark.parametrize(("who", "offered"), [("colleague", False), ("visitor", True)])
def test_a8_risk_form_offers_only_an_earlier_assessment_the_planner_may_see(
    client, request, confidential_visit, pupil, who, offered
):
    """P5 offers the pupil's last assessment as a starting point; A8 limits it to visits the
    planner may see, or planning a visit would show another visit's risk assessment."""
    confidential_visit(Status.SUBMITTED)
    planner = request.getfixturevalue(who)
    start, end = _slot(days=4)
    new = services.visit_create(
        pupil=pupil,
        by=planner,
        details=visit_details(planned_start=start, expected_end=end),
        staff=[(planner, planner.staff_profile.mobile)],
    )
    client.force_login(planner)

    response = client.get(reverse("visit-risk", args=[new.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert (RISK_MARK in content) is offered
    assert ("Started from the last assessment" in content) is offered


def test_a8_someone_who_leaves_the_school_loses_the_visits_they_planned_and_went_on(
    client, visit, visitor, office
):
    client.force_login(visitor)
    assert client.get(reverse("visit-detail", args=[visit.pk])).status_code == 200
    Membership.objects.filter(user=visitor).delete()

    assert client.get(reverse("visit-detail", args=[visit.pk])).status_code == 404
    assert "Poppy Pupil" not in client.get(reverse("my-visits")).content.decode()
