"""A visit's life: draft -> submitted -> authorised -> completed -> closed, and every side road.

Each move is a service call that raises RuleBroken when illegal, does nothing when repeated,
stamps its timestamp and writes one VisitEvent (who, from and to which status).
"""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from visits import services
from visits.access import visible_visits
from visits.models import Authorisation, Decision, EventKind, Status, Visit
from visits.rules import RuleBroken

from .conftest import make_visit
from .factories import RISK_ANSWERS, record_debrief, visit_details, write_minutes

AFTER_START = datetime.timedelta(minutes=70)


def _staff(*users):
    return [(user, user.staff_profile.mobile) for user in users]


def _authorise(visit, by, **kwargs):
    visit.refresh_from_db()
    return services.visit_authorise(
        visit=visit, by=by, expected_version=visit.version, confirmed=True, **kwargs
    )


def _complete(visit, by):
    return services.visit_complete(visit=visit, by=by, now=visit.planned_start + AFTER_START)


def _transitions(visit):
    """(kind, by, from, to) for each event that moved the visit from one status to another."""
    return [
        (e.kind, e.by, e.from_status, e.to_status)
        for e in visit.events.order_by("at", "pk")
        if e.from_status != e.to_status
    ]


def _count(visit, kind):
    return visit.events.filter(kind=kind).count()


@pytest.fixture
def completed_visit(authorised_visit, visitor):
    return _complete(authorised_visit, visitor)


@pytest.fixture
def closed_visit(completed_visit, visitor, dsl):
    """A1, A6: minutes submitted and the debrief recorded, so the visit has closed."""
    later = completed_visit.completed_at + AFTER_START
    write_minutes(completed_visit, visitor, now=later)
    record_debrief(completed_visit, dsl, now=later)
    completed_visit.refresh_from_db()
    assert completed_visit.status == Status.CLOSED
    return completed_visit


@pytest.fixture
def refused_visit(visit, head):
    return services.visit_refuse(
        visit=visit, by=head, expected_version=visit.version, reason="Meet in school instead."
    )


@pytest.fixture
def changes_requested_visit(visit, head):
    return services.visit_request_changes(
        visit=visit, by=head, expected_version=visit.version, reason="Add the social worker."
    )


@pytest.fixture
def draft_visit(pupil, office, visitor, partner):
    return make_visit(pupil=pupil, by=office, staff=[visitor, partner])


# The happy path ---------------------------------------------------------------------------


def test_visit_goes_from_draft_to_closed_with_timestamps_and_one_event_per_move(
    pupil, office, visitor, partner, head, dsl
):
    details = visit_details()
    start = details["planned_start"]
    created = start - datetime.timedelta(hours=20)
    submitted = created + datetime.timedelta(minutes=10)
    authorised = created + datetime.timedelta(hours=1)
    completed = start + AFTER_START
    closed = completed + datetime.timedelta(hours=3)

    visit = services.visit_create(
        pupil=pupil, by=office, details=details, staff=_staff(visitor, partner), now=created
    )
    assert visit.status == Status.DRAFT
    assert visit.created_at == created
    services.risk_assessment_record(
        visit=visit, by=office, answers=RISK_ANSWERS, now=created + datetime.timedelta(minutes=5)
    )

    visit = services.visit_submit(visit=visit, by=office, now=submitted)
    assert visit.status == Status.SUBMITTED
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True, now=authorised
    )
    assert visit.status == Status.AUTHORISED
    visit = services.visit_complete(visit=visit, by=visitor, now=completed)
    assert visit.status == Status.COMPLETED
    # A1, A6: the visit closes by itself once the minutes are in and the debrief is recorded.
    write_minutes(visit, visitor, now=completed + datetime.timedelta(minutes=30))
    visit.refresh_from_db()
    assert visit.status == Status.COMPLETED
    record_debrief(visit, dsl, now=closed)

    visit.refresh_from_db()
    assert visit.status == Status.CLOSED
    assert visit.submitted_at == submitted
    assert visit.authorised_at == authorised
    assert visit.completed_at == completed
    assert visit.closed_at == closed
    assert visit.refused_at is None
    assert visit.cancelled_at is None

    assert _transitions(visit) == [
        (EventKind.CREATED, office, "", Status.DRAFT),
        (EventKind.SUBMITTED, office, Status.DRAFT, Status.SUBMITTED),
        (EventKind.AUTHORISED, head, Status.SUBMITTED, Status.AUTHORISED),
        (EventKind.LEFT, visitor, Status.AUTHORISED, Status.COMPLETED),
        (EventKind.CLOSED, dsl, Status.COMPLETED, Status.CLOSED),
    ]
    for kind, at in [
        (EventKind.SUBMITTED, submitted),
        (EventKind.AUTHORISED, authorised),
        (EventKind.LEFT, completed),
        (EventKind.CLOSED, closed),
    ]:
        assert visit.events.get(kind=kind).at == at
    authorisation = Authorisation.objects.get(visit=visit)
    assert authorisation.decision == Decision.APPROVED
    assert authorisation.decided_at == authorised
    assert visit.events.get(kind=EventKind.AUTHORISED).data == {"authorisation": authorisation.pk}


# Refuse and request changes ---------------------------------------------------------------


@pytest.mark.parametrize("decide", [services.visit_refuse, services.visit_request_changes])
@pytest.mark.parametrize("reason", ["", "   "])
def test_refusing_or_requesting_changes_needs_a_reason(visit, head, decide, reason):
    with pytest.raises(RuleBroken, match="Give the reason"):
        decide(visit=visit, by=head, expected_version=visit.version, reason=reason)
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert not Authorisation.objects.filter(visit=visit).exists()


def test_refusal_is_recorded_with_its_reason(refused_visit, head):
    visit = refused_visit
    visit.refresh_from_db()
    assert visit.status == Status.REFUSED
    assert visit.refused_at is not None
    authorisation = Authorisation.objects.get(visit=visit)
    assert authorisation.decision == Decision.REFUSED
    assert authorisation.decided_by == head
    assert authorisation.reason == "Meet in school instead."
    event = visit.events.get(kind=EventKind.REFUSED)
    assert (event.by, event.from_status, event.to_status) == (
        head,
        Status.SUBMITTED,
        Status.REFUSED,
    )
    assert event.message == "Meet in school instead."


def test_request_for_changes_is_recorded_with_its_reason(changes_requested_visit, head):
    visit = changes_requested_visit
    visit.refresh_from_db()
    assert visit.status == Status.CHANGES_REQUESTED
    authorisation = Authorisation.objects.get(visit=visit)
    assert authorisation.decision == Decision.CHANGES_REQUESTED
    assert authorisation.reason == "Add the social worker."
    event = visit.events.get(kind=EventKind.CHANGES_REQUESTED)
    assert (event.by, event.from_status, event.to_status) == (
        head,
        Status.SUBMITTED,
        Status.CHANGES_REQUESTED,
    )
    assert event.message == "Add the social worker."


def test_refused_visit_can_no_longer_be_changed_or_submitted(refused_visit, office):
    staff = [(a.user, a.mobile) for a in refused_visit.assignments.all()]
    with pytest.raises(RuleBroken, match="can no longer be changed"):
        services.visit_update(
            visit=refused_visit, by=office, details={"code_word": "x"}, staff=staff
        )
    with pytest.raises(RuleBroken, match="cannot be submitted"):
        services.visit_submit(visit=refused_visit, by=office)


def test_visit_sent_back_for_changes_can_be_edited_and_resubmitted(
    changes_requested_visit, office, head
):
    visit = changes_requested_visit
    staff = [(a.user, a.mobile) for a in visit.assignments.all()]
    visit = services.visit_update(
        visit=visit,
        by=office,
        details={"joint_professional": "Sam Social, Children's Services"},
        staff=staff,
    )
    assert visit.status == Status.CHANGES_REQUESTED
    visit = services.visit_submit(visit=visit, by=office)
    assert visit.status == Status.SUBMITTED
    authorised = _authorise(visit, head)
    assert authorised.status == Status.AUTHORISED
    assert _count(authorised, EventKind.SUBMITTED) == 2
    assert list(
        Authorisation.objects.filter(visit=visit)
        .order_by("decided_at")
        .values_list("decision", flat=True)
    ) == [Decision.CHANGES_REQUESTED, Decision.APPROVED]


def test_visit_sent_back_for_changes_and_resubmitted_unchanged_can_be_decided(
    changes_requested_visit, office, head
):
    # The planner may answer the authoriser outside the form (say, by phoning the parent) and
    # resubmit as it stands; the authoriser must then be able to decide it.
    visit = services.visit_submit(visit=changes_requested_visit, by=office)
    assert visit.status == Status.SUBMITTED
    authorised = _authorise(visit, head)
    assert authorised.status == Status.AUTHORISED
    assert authorised.current_authorisation().decided_by == head


# Cancel -----------------------------------------------------------------------------------

CANCELLABLE = ["draft_visit", "visit", "changes_requested_visit", "authorised_visit"]
NOT_CANCELLABLE = ["completed_visit", "closed_visit", "refused_visit"]


@pytest.mark.parametrize("fixture", CANCELLABLE)
def test_open_visit_can_be_cancelled_with_a_reason(request, office, fixture):
    visit = request.getfixturevalue(fixture)
    visit.refresh_from_db()
    before = visit.status
    with pytest.raises(RuleBroken, match="reason"):
        services.visit_cancel(visit=visit, by=office, reason="  ")
    cancelled = services.visit_cancel(visit=visit, by=office, reason=" Family moved away. ")
    cancelled.refresh_from_db()
    assert cancelled.status == Status.CANCELLED
    assert cancelled.cancelled_at is not None
    assert cancelled.cancel_reason == "Family moved away."
    event = cancelled.events.get(kind=EventKind.CANCELLED)
    assert (event.by, event.from_status, event.to_status) == (office, before, Status.CANCELLED)
    assert event.message == "Family moved away."


@pytest.mark.parametrize("fixture", NOT_CANCELLABLE)
def test_finished_visit_cannot_be_cancelled(request, office, fixture):
    visit = request.getfixturevalue(fixture)
    visit.refresh_from_db()
    before = visit.status
    with pytest.raises(RuleBroken, match="cannot be cancelled"):
        services.visit_cancel(visit=visit, by=office, reason="Changed our minds.")
    visit.refresh_from_db()
    assert visit.status == before
    assert visit.cancelled_at is None
    assert _count(visit, EventKind.CANCELLED) == 0


def test_cancelled_visit_can_no_longer_move(authorised_visit, office, visitor, head):
    visit = services.visit_cancel(visit=authorised_visit, by=office, reason="Parent asked.")
    with pytest.raises(RuleBroken):
        _complete(visit, visitor)
    with pytest.raises(RuleBroken):
        services.visit_submit(visit=visit, by=office)
    with pytest.raises(RuleBroken):
        _authorise(visit, head)


# Repeats are no-ops -----------------------------------------------------------------------


def test_submitting_twice_records_one_submission(draft_visit, office):
    first = services.visit_submit(visit=draft_visit, by=office)
    again = services.visit_submit(
        visit=draft_visit, by=office, now=first.submitted_at + datetime.timedelta(minutes=1)
    )
    again.refresh_from_db()
    assert again.status == Status.SUBMITTED
    assert again.submitted_at == first.submitted_at
    assert _count(again, EventKind.SUBMITTED) == 1


def test_cancelling_twice_records_one_cancellation(visit, office, head):
    first = services.visit_cancel(visit=visit, by=office, reason="Parent asked.")
    again = services.visit_cancel(visit=visit, by=head, reason="Another reason.")
    again.refresh_from_db()
    assert again.status == Status.CANCELLED
    assert again.cancel_reason == "Parent asked."
    assert again.cancelled_at == first.cancelled_at
    assert _count(again, EventKind.CANCELLED) == 1


def test_completing_or_closing_twice_records_each_once(authorised_visit, visitor, partner, dsl):
    visit = _complete(authorised_visit, visitor)
    _complete(visit, partner)
    later = visit.completed_at + AFTER_START
    write_minutes(visit, visitor, now=later)
    record_debrief(visit, dsl, now=later)
    services.visit_close(visit=visit, by=dsl, now=later + AFTER_START)
    visit.refresh_from_db()
    assert visit.status == Status.CLOSED
    assert visit.closed_at == later
    assert _count(visit, EventKind.LEFT) == 1
    assert _count(visit, EventKind.CLOSED) == 1
    assert visit.events.get(kind=EventKind.LEFT).by == visitor


# Illegal moves ----------------------------------------------------------------------------


def test_submitted_visit_cannot_be_completed(visit, visitor):
    with pytest.raises(RuleBroken, match="Only an authorised visit can be started"):
        _complete(visit, visitor)
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED
    assert visit.completed_at is None


def test_authorised_visit_cannot_be_closed(authorised_visit, dsl):
    with pytest.raises(RuleBroken, match="Only a completed visit can be closed"):
        services.visit_close(visit=authorised_visit, by=dsl)
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.AUTHORISED
    assert authorised_visit.closed_at is None


def test_draft_visit_cannot_be_authorised(draft_visit, head):
    with pytest.raises(RuleBroken, match="not awaiting authorisation"):
        _authorise(draft_visit, head)
    assert not Authorisation.objects.filter(visit=draft_visit).exists()


def test_authorised_visit_cannot_be_submitted_again(authorised_visit, office):
    with pytest.raises(RuleBroken, match="cannot be submitted"):
        services.visit_submit(visit=authorised_visit, by=office)


def test_visit_cannot_be_completed_before_it_starts(authorised_visit, visitor):
    with pytest.raises(RuleBroken, match="not started yet"):
        services.visit_complete(
            visit=authorised_visit,
            by=visitor,
            now=authorised_visit.planned_start - datetime.timedelta(minutes=1),
        )
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.AUTHORISED


# Who may complete and close ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["visitor", "partner", "office", "dsl", "head"])
def test_staff_on_the_visit_or_oversight_may_complete_it(request, authorised_visit, who):
    person = request.getfixturevalue(who)
    visit = _complete(authorised_visit, person)
    assert visit.status == Status.COMPLETED
    assert visit.events.get(kind=EventKind.LEFT).by == person


@pytest.mark.parametrize("who", ["colleague", "school_admin", "outsider"])
def test_others_may_not_complete_a_visit(request, authorised_visit, who):
    person = request.getfixturevalue(who)
    with pytest.raises(RuleBroken, match="Only the staff on this visit"):
        _complete(authorised_visit, person)
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.AUTHORISED


@pytest.mark.parametrize("who", ["dsl", "deputy", "head", "slt"])
def test_a6_debrief_with_dsl_deputy_head_or_slt_closes_a_visit_with_minutes(
    request, completed_visit, visitor, who
):
    person = request.getfixturevalue(who)
    later = completed_visit.completed_at + AFTER_START
    write_minutes(completed_visit, visitor, now=later)
    record_debrief(
        completed_visit, person, now=later, led_as=request.getfixturevalue("role_of")[who]
    )
    completed_visit.refresh_from_db()
    assert completed_visit.status == Status.CLOSED
    assert completed_visit.events.get(kind=EventKind.CLOSED).by == person


@pytest.fixture
def role_of():
    return {"dsl": "dsl", "deputy": "deputy_dsl", "head": "headteacher", "slt": "slt"}


@pytest.mark.parametrize("who", ["dsl", "head"])
def test_a1_a6_closing_by_hand_is_refused_without_minutes_and_debrief(
    request, completed_visit, who
):
    person = request.getfixturevalue(who)
    with pytest.raises(RuleBroken, match="submitted minutes and a recorded debrief"):
        services.visit_close(visit=completed_visit, by=person)
    completed_visit.refresh_from_db()
    assert completed_visit.status == Status.COMPLETED


@pytest.mark.parametrize("who", ["office", "visitor", "colleague", "school_admin", "outsider"])
def test_others_may_not_close_a_visit(request, completed_visit, who):
    person = request.getfixturevalue(who)
    with pytest.raises(RuleBroken, match="closed by the DSL"):
        services.visit_close(visit=completed_visit, by=person)
    completed_visit.refresh_from_db()
    assert completed_visit.status == Status.COMPLETED


# Two authorisers at once ------------------------------------------------------------------


@pytest.mark.parametrize(
    "second",
    [
        lambda visit, by, version: services.visit_authorise(
            visit=visit, by=by, expected_version=version, confirmed=True
        ),
        lambda visit, by, version: services.visit_refuse(
            visit=visit, by=by, expected_version=version, reason="Not safe."
        ),
        lambda visit, by, version: services.visit_request_changes(
            visit=visit, by=by, expected_version=version, reason="Add the times."
        ),
    ],
    ids=["authorise", "refuse", "request_changes"],
)
def test_second_authoriser_is_told_who_already_decided(visit, head, dsl, second):
    read_version = visit.version
    services.visit_authorise(visit=visit, by=head, expected_version=read_version, confirmed=True)
    with pytest.raises(RuleBroken, match=r"Hazel Head already decided this visit") as refused:
        second(visit, dsl, read_version)
    assert "not recorded" in refused.value.messages[0]
    assert Authorisation.objects.filter(visit=visit).count() == 1
    visit.refresh_from_db()
    assert visit.status == Status.AUTHORISED
    assert _count(visit, EventKind.AUTHORISED) == 1


def test_database_allows_one_decision_per_version(visit, head, dsl):
    # As if another authoriser's row landed between our check and our write.
    Authorisation.objects.create(
        visit=visit,
        decision=Decision.APPROVED,
        decided_by=head,
        decided_as="headteacher",
        decided_at=timezone.now(),
        visit_version=visit.version,
        snapshot={},
    )
    with pytest.raises(RuleBroken, match="Another authoriser decided this visit"):
        _authorise(visit, dsl)
    assert Authorisation.objects.filter(visit=visit).count() == 1
    visit.refresh_from_db()
    assert visit.status == Status.SUBMITTED


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks and concurrent connections"
)
def test_two_authorisers_at_the_same_moment_on_postgresql(visit, head, dsl):
    version = visit.version
    start = threading.Barrier(2)
    outcomes = {}

    def decide(person):
        try:
            start.wait(timeout=10)
            services.visit_authorise(
                visit=Visit.objects.get(pk=visit.pk),
                by=person,
                expected_version=version,
                confirmed=True,
            )
            outcomes[person.username] = "authorised"
        except RuleBroken as error:
            outcomes[person.username] = error.messages[0]
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(p,)) for p in (head, dsl)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["dsl", "head"]
    winners = [name for name, outcome in outcomes.items() if outcome == "authorised"]
    assert len(winners) == 1
    winner = {"head": "Hazel Head", "dsl": "Dee Lead"}[winners[0]]
    loser_message = next(o for o in outcomes.values() if o != "authorised")
    assert f"{winner} already decided" in loser_message
    assert Authorisation.objects.filter(visit=visit).count() == 1


# A8: who sees the visit follows who is on it ----------------------------------------------


def test_replacing_a_member_of_staff_moves_who_sees_the_visit(
    visit, office, visitor, partner, colleague, outsider
):
    assert visit in visible_visits(partner)
    assert visit not in visible_visits(colleague)
    services.visit_update(visit=visit, by=office, details={}, staff=_staff(visitor, colleague))
    assert visit not in visible_visits(partner)
    assert visit in visible_visits(colleague)
    assert visit in visible_visits(visitor)
    assert visit in visible_visits(office)
    assert visit not in visible_visits(outsider)
