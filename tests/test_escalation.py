"""When staff are overdue or in danger (E1-E3): the sweep, the office's response, the police
step, drills, the outbox and the watcher's own health.

Services get `now` relative to the visit's planned start; time is frozen only around the Celery
tasks, which read the clock themselves.
"""

import datetime
import zoneinfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation import services as esc_services
from escalation import tasks
from escalation.models import CallOutcome, Escalation, Kind, Step, Whereabouts
from escalation.responses import (
    code_word_record,
    drill_start,
    escalation_acknowledge,
    escalation_raise_police_step,
    escalation_record_call,
    escalation_record_police_call,
    escalation_resolve,
)
from escalation.selectors import messages_for_visit
from escalation.services import (
    heartbeat_write,
    overdue_claim_batch,
    police_step_batch,
    sweep,
    watchers_down,
)
from notifications import delivery
from notifications import tasks as outbox_tasks
from notifications.models import Channel, Delivery, Notification
from schools.models import OnCallShift, Role, StaffProfile
from schools.phones import e164
from visits import services
from visits.models import DeadlineKind, EventKind, Status, Visit
from visits.rules import HELP_AFTER_LEAVING, RuleBroken

from .conftest import make_visit
from .factories import member, next_weekday_at

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = datetime.UTC
SECOND = datetime.timedelta(seconds=1)
TUESDAY, SATURDAY = 1, 5
ON_CALL = "07700 900999"


def _minutes(n):
    return datetime.timedelta(minutes=n)


def _next(weekday, hour, minute=0):
    """The next `weekday` (Monday is 0), at least a day ahead, at a local time."""
    days = (weekday - timezone.localdate().weekday() - 1) % 7 + 1
    return next_weekday_at(hour, minute, days_ahead=days)


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def _give_own_mobiles(*people):
    """Each person their own mobile: outbox rows are keyed by address, one per number."""
    for n, person in enumerate(people, start=1):
        StaffProfile.objects.filter(user=person).update(mobile=f"07700 9002{n:02d}")


def _paired_visit(*, pupil, by, staff, start, authoriser):
    visit = make_visit(
        pupil=pupil,
        by=by,
        staff=staff,
        details={"planned_start": start, "expected_end": start + _minutes(60)},
        submit=True,
    )
    services.visit_authorise(
        visit=visit, by=authoriser, expected_version=visit.version, confirmed=True
    )
    return _fresh(visit)


def _recipients(rows):
    return {(row.recipient, row.channel, row.address) for row in rows}


def _mobile(person):
    """The person's mobile as the gateways get it: in international form."""
    return e164(person.staff_profile.mobile)


def _step_rows(esc, step):
    return esc.notifications.filter(key__contains=f":step{step}:")


def _people(rows):
    return {row.recipient for row in rows}


@pytest.fixture
def visit(pupil, office, visitor, partner):
    """A paired visit on a Tuesday, 10:00-11:00 local, awaiting authorisation: the office is
    open throughout (E1), whatever day the tests run."""
    start = _next(TUESDAY, 10)
    return make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"planned_start": start, "expected_end": start + _minutes(60)},
        submit=True,
    )


@pytest.fixture
def police_step(overdue, visitor):
    services.visit_need_help(visit=overdue.visit, by=visitor, now=overdue.raised_at + _minutes(2))
    return _fresh(overdue)


@pytest.fixture
def sms_down(gateways):
    """The SMS gateway answers every request with a 500."""
    gateways.notify.behaviour.failure_rate = 1.0
    return gateways


# E1: the sweep ----------------------------------------------------------------------------


def test_e1_missed_return_alerts_the_office_once(on_site_visit, return_deadline, office):
    assert return_deadline == on_site_visit.expected_end + _minutes(15)

    result = sweep(now=return_deadline)

    assert result == {"claimed": 1, "raised": 1, "police": 0, "repeated": 0, "requeued": 0}
    [esc] = Escalation.objects.filter(visit=on_site_visit)
    assert (esc.kind, esc.step, esc.deadline, esc.raised_at) == (
        Kind.RETURN,
        Step.OFFICE,
        return_deadline,
        return_deadline,
    )
    assert esc.is_open
    assert esc.out_of_hours is False
    assert esc.police_due_at == return_deadline + _minutes(15)
    rows = esc.notifications.all()
    assert _recipients(rows) == {
        (office, Channel.EMAIL, office.email),
        (office, Channel.SMS, _mobile(office)),
    }
    assert all(row.state == Delivery.PENDING for row in rows)
    assert all(row.subject == "Home visit overdue: phone the staff now" for row in rows)
    assert all("Vic Visitor and Pat Partner: expected back" in row.body for row in rows)
    assert esc.repeat_due_at == return_deadline + _minutes(5)  # again in 5 min if unanswered
    [event] = on_site_visit.events.filter(kind=EventKind.ESCALATION_RAISED)
    assert event.escalation == esc
    assert "the office alerted" in event.message and "Olive Office" in event.message
    # The escalation now holds the watch.
    assert _fresh(on_site_visit).next_deadline is None


def test_e1_sweeping_again_raises_nothing_more(on_site_visit, return_deadline):
    sweep(now=return_deadline)
    again = sweep(now=return_deadline + _minutes(1))
    claimed_again = overdue_claim_batch(now=return_deadline + _minutes(2))
    claimed_third = overdue_claim_batch(now=return_deadline + _minutes(3))

    assert again == {"claimed": 0, "raised": 0, "police": 0, "repeated": 0, "requeued": 0}
    assert claimed_again == claimed_third == (0, 0)
    assert Escalation.objects.filter(visit=on_site_visit).count() == 1
    assert messages_for_visit(on_site_visit).count() == 2
    assert on_site_visit.events.filter(kind=EventKind.ESCALATION_RAISED).count() == 1


def test_e1_overdue_claim_batch_run_twice_on_the_same_deadline_raises_one_alert(
    on_site_visit, return_deadline
):
    assert overdue_claim_batch(now=return_deadline) == (1, 1)
    # A second worker that read the deadline before it was cleared tries the same claim.
    Visit.objects.filter(pk=on_site_visit.pk).update(
        next_deadline=return_deadline, deadline_kind=DeadlineKind.RETURN
    )
    assert overdue_claim_batch(now=return_deadline) == (1, 0)
    assert Escalation.objects.filter(visit=on_site_visit).count() == 1
    assert messages_for_visit(on_site_visit).count() == 2


def test_e1_nothing_is_raised_before_the_deadline(on_site_visit, return_deadline):
    assert sweep(now=return_deadline - SECOND) == {
        "claimed": 0,
        "raised": 0,
        "police": 0,
        "repeated": 0,
        "requeued": 0,
    }
    assert not Escalation.objects.exists()
    assert not Notification.objects.exists()
    assert _fresh(on_site_visit).next_deadline == return_deadline


@pytest.mark.parametrize("set_off", [False, True], ids=["authorised", "on-the-way"])
def test_e1_missed_arrival_alerts_the_office(authorised_visit, visitor, office, start, set_off):
    if set_off:
        services.visit_set_off(visit=authorised_visit, by=visitor, now=start - _minutes(20))
    deadline = start + _minutes(15)
    assert sweep(now=deadline - SECOND)["raised"] == 0

    assert sweep(now=deadline)["raised"] == 1

    esc = Escalation.objects.get(visit=authorised_visit)
    assert (esc.kind, esc.deadline, esc.step) == (Kind.ARRIVAL, deadline, Step.OFFICE)
    assert _people(esc.notifications.all()) == {office}


@pytest.mark.parametrize("check_in", ["arrive", "leave"])
def test_e1_staff_checking_in_answers_an_open_arrival_alert(
    authorised_visit, visitor, start, check_in
):
    sweep(now=start + _minutes(15))
    esc = Escalation.objects.get(visit=authorised_visit)
    now = start + _minutes(19)

    if check_in == "arrive":
        services.visit_arrive(visit=authorised_visit, by=visitor, now=now)
    else:
        services.visit_leave(visit=authorised_visit, by=visitor, now=now)

    esc = _fresh(esc)
    assert esc.resolved_at == now
    assert esc.resolved_by == visitor
    assert esc.police_due_at is None
    assert "checked in" in esc.resolution
    # Answered: the police step never comes.
    assert sweep(now=now + _minutes(30))["police"] == 0
    assert _fresh(esc).step == Step.OFFICE


def test_e1_staff_extending_answers_an_open_return_alert_and_are_watched_again(overdue, partner):
    now = overdue.raised_at + _minutes(3)
    services.visit_extend(visit=overdue.visit, by=partner, minutes=15, reason="Mum upset", now=now)

    esc = _fresh(overdue)
    assert esc.resolved_at == now
    assert esc.resolved_by == partner
    visit = _fresh(overdue.visit)
    assert visit.next_deadline == now + _minutes(15 + 15)
    # The new deadline alerts again, as a new alert.
    assert sweep(now=visit.next_deadline)["raised"] == 1
    assert Escalation.objects.filter(visit=visit).count() == 2


def _on_call(school, person, *, around, hours=24):
    """`person` on the rota around the instant `around`."""
    return OnCallShift.objects.create(
        school=school,
        user=person,
        starts_at=around - _minutes(60 * hours / 2),
        ends_at=around + _minutes(60 * hours / 2),
    )


@pytest.mark.parametrize("when", ["evening", "saturday"])
def test_e1_out_of_office_hours_the_alert_goes_to_whoever_is_on_call_with_a_phone_call(
    pupil, office, visitor, partner, head, dsl, school, when
):
    day = SATURDAY if when == "saturday" else TUESDAY
    visit = _paired_visit(
        pupil=pupil, by=office, staff=[visitor, partner], start=_next(day, 10), authoriser=head
    )
    services.visit_arrive(visit=visit, by=visitor, now=visit.planned_start)
    if when == "evening":
        now = timezone.localtime(visit.planned_start).replace(hour=18, minute=30)
    else:
        now = visit.expected_end + _minutes(15)
    assert not school.office_is_open(now)
    _on_call(school, dsl, around=now)

    sweep(now=now)

    esc = Escalation.objects.get(visit=visit)
    assert esc.out_of_hours is True
    rows = esc.notifications.all()
    assert _recipients(rows) == {
        (dsl, Channel.EMAIL, dsl.email),
        (dsl, Channel.SMS, _mobile(dsl)),
        (dsl, Channel.VOICE, _mobile(dsl)),
    }
    raised = visit.events.get(kind=EventKind.ESCALATION_RAISED).message
    assert "on call (office closed)" in raised and dsl.get_full_name() in raised


def test_e1_in_office_hours_the_on_call_is_not_told_first(
    on_site_visit, return_deadline, school, office, dsl
):
    _on_call(school, dsl, around=return_deadline)
    sweep(now=return_deadline)
    esc = Escalation.objects.get(visit=on_site_visit)
    assert esc.out_of_hours is False
    rows = esc.notifications.all()
    assert _people(rows) == {office}
    assert not rows.filter(channel=Channel.VOICE).exists()


@pytest.mark.parametrize("hour", [10, 19], ids=["office-hours", "evening"])
def test_e1_with_no_office_staff_and_nobody_on_call_the_headteacher_is_told_first(
    pupil, dsl, deputy, head, visitor, partner, slt, school, hour
):
    _give_own_mobiles(dsl, deputy, head, slt)
    visit = _paired_visit(
        pupil=pupil, by=dsl, staff=[visitor, partner], start=_next(TUESDAY, 10), authoriser=head
    )
    now = timezone.localtime(visit.planned_start).replace(hour=hour, minute=30)

    sweep(now=now)

    esc = Escalation.objects.get(visit=visit)
    rows = esc.notifications.all()
    assert _people(rows) == {head}
    channels = {Channel.EMAIL, Channel.SMS} | ({Channel.VOICE} if hour == 19 else set())
    assert {row.channel for row in rows} == channels


# E1: the office's call ---------------------------------------------------------------------


def test_e1_reached_safe_and_staying_resolves_and_watches_them_until_that_time(overdue, office):
    now = overdue.raised_at + _minutes(4)
    until = now + _minutes(40)
    escalation_record_call(
        escalation=overdue,
        by=office,
        outcome=CallOutcome.REACHED_SAFE,
        whereabouts=Whereabouts.STAYING,
        until=until,
        now=now,
    )

    esc = _fresh(overdue)
    assert (esc.resolved_at, esc.resolved_by, esc.acknowledged_at) == (now, office, now)
    assert esc.whereabouts == Whereabouts.STAYING
    assert esc.police_due_at is None and esc.repeat_due_at is None
    visit = _fresh(overdue.visit)
    assert visit.status == Status.ON_SITE
    assert visit.extended_until == until
    assert visit.next_deadline == until + _minutes(15)
    assert visit.deadline_kind == DeadlineKind.RETURN
    assert f"staying until {timezone.localtime(until):%H:%M}" in esc.resolution
    assert overdue.visit.events.filter(kind=EventKind.CALL, escalation=esc).count() == 1
    # No alert comes back before the time they gave is missed too.
    assert sweep(now=until + _minutes(14))["raised"] == 0
    assert sweep(now=until + _minutes(15))["raised"] == 1


def test_e1_reached_safe_and_left_ends_the_watch_and_records_them_out(overdue, office):
    now = overdue.raised_at + _minutes(4)
    escalation_record_call(
        escalation=overdue,
        by=office,
        outcome=CallOutcome.REACHED_SAFE,
        whereabouts=Whereabouts.LEFT,
        now=now,
    )
    visit = _fresh(overdue.visit)
    assert visit.status == Status.COMPLETED and visit.next_deadline is None
    assert visit.left_at == now
    assert _fresh(overdue).whereabouts == Whereabouts.LEFT
    assert sweep(now=now + _minutes(120))["raised"] == 0


@pytest.mark.parametrize(
    ("whereabouts", "until", "message"),
    [
        ("", None, "Say where the staff are"),
        (Whereabouts.STAYING, None, "Say until when"),
        (Whereabouts.STAYING, -5, "has passed"),
        (Whereabouts.STAYING, 13 * 60, r"at most 12 hours \(P7\)"),
    ],
)
def test_e1_reached_safe_must_say_where_the_staff_are(overdue, office, whereabouts, until, message):
    now = overdue.raised_at + _minutes(4)
    with pytest.raises(RuleBroken, match=message):
        escalation_record_call(
            escalation=overdue,
            by=office,
            outcome=CallOutcome.REACHED_SAFE,
            whereabouts=whereabouts,
            until=None if until is None else now + _minutes(until),
            now=now,
        )
    assert _fresh(overdue).is_open


def test_e1_no_answer_keeps_the_alert_open_at_step_1_and_the_police_step_still_comes(
    overdue, office
):
    due = overdue.police_due_at
    escalation_record_call(
        escalation=overdue,
        by=office,
        outcome=CallOutcome.NO_ANSWER,
        note="Voicemail twice",
        now=overdue.raised_at + _minutes(3),
    )
    esc = _fresh(overdue)
    assert esc.is_open
    assert esc.step == Step.OFFICE
    assert esc.police_due_at == due
    call = overdue.visit.events.get(kind=EventKind.CALL)
    assert call.data == {"outcome": CallOutcome.NO_ANSWER}
    assert "Voicemail twice" in call.message

    assert sweep(now=due)["police"] == 1
    assert _fresh(esc).step == Step.POLICE


@pytest.mark.parametrize(
    ("outcome", "rule"), [(CallOutcome.CONCERN, "(E2)"), (CallOutcome.CODE_WORD, "(E3)")]
)
def test_e2_e3_concern_or_the_code_word_on_the_call_raises_the_police_step_now(
    overdue, office, outcome, rule
):
    now = overdue.raised_at + _minutes(2)
    escalation_record_call(escalation=overdue, by=office, outcome=outcome, now=now)

    esc = _fresh(overdue)
    assert esc.step == Step.POLICE
    assert esc.police_step_at == now
    assert esc.police_due_at is None
    assert rule in esc.police_step_reason
    assert esc.is_open
    assert overdue.visit.events.filter(kind=EventKind.POLICE_STEP).count() == 1


def test_e1_acknowledging_records_the_response_time_once(overdue, office, dsl):
    escalation_acknowledge(escalation=overdue, by=office, now=overdue.raised_at + _minutes(1.5))
    escalation_acknowledge(escalation=overdue, by=dsl, now=overdue.raised_at + _minutes(5))

    esc = _fresh(overdue)
    assert esc.acknowledged_by == office
    assert esc.response_seconds() == 90
    assert esc.acknowledged_how == "board"
    assert esc.repeat_due_at is None  # answered: its messages stop going again
    [event] = overdue.visit.events.filter(kind=EventKind.ACKNOWLEDGED)
    assert event.data == {"response_seconds": 90, "how": "board", "step": Step.OFFICE}
    assert "Olive Office answered the alert on the board, 1 min 30 s after" in event.message
    assert esc.is_open


ACTIONS = {
    "acknowledge": lambda esc, by, now: escalation_acknowledge(escalation=esc, by=by, now=now),
    "record_call": lambda esc, by, now: escalation_record_call(
        escalation=esc,
        by=by,
        outcome=CallOutcome.REACHED_SAFE,
        whereabouts=Whereabouts.LEFT,
        now=now,
    ),
    "raise_police_step": lambda esc, by, now: escalation_raise_police_step(
        escalation=esc, by=by, reason="Worried", now=now
    ),
    "resolve": lambda esc, by, now: escalation_resolve(
        escalation=esc, by=by, whereabouts=Whereabouts.LEFT, note="Back at school", now=now
    ),
}


@pytest.mark.parametrize("person", ["colleague", "outsider"])
@pytest.mark.parametrize("action", ACTIONS)
def test_e1_only_the_office_and_senior_staff_act_on_an_alert(request, overdue, person, action):
    someone = request.getfixturevalue(person)
    with pytest.raises(RuleBroken, match=r"office and senior staff \(E1\)"):
        ACTIONS[action](overdue, someone, overdue.raised_at + _minutes(1))
    esc = _fresh(overdue)
    assert (esc.is_open, esc.step, esc.acknowledged_at) == (True, Step.OFFICE, None)


@pytest.mark.parametrize("person", ["office", "head", "dsl", "deputy", "slt"])
def test_e1_the_office_and_every_senior_role_may_acknowledge(request, overdue, person):
    someone = request.getfixturevalue(person)
    escalation_acknowledge(escalation=overdue, by=someone, now=overdue.raised_at + _minutes(1))
    assert _fresh(overdue).acknowledged_by == someone


def test_e1_a_call_on_a_resolved_alert_is_refused(overdue, office):
    now = overdue.raised_at + _minutes(2)
    escalation_record_call(
        escalation=overdue,
        by=office,
        outcome=CallOutcome.REACHED_SAFE,
        whereabouts=Whereabouts.LEFT,
        now=now,
    )
    with pytest.raises(RuleBroken, match="already resolved"):
        escalation_record_call(
            escalation=overdue, by=office, outcome=CallOutcome.CONCERN, now=now + _minutes(1)
        )
    assert _fresh(overdue).step == Step.OFFICE


# E2: the police step -----------------------------------------------------------------------


def test_e2_an_unresolved_office_alert_becomes_the_police_step_after_the_schools_limit(
    on_site_visit, return_deadline, school, office, head, dsl, deputy, slt
):
    _give_own_mobiles(office, head, dsl, deputy, slt)
    school.escalation_step2_minutes = 20
    school.save()
    sweep(now=return_deadline)
    esc = Escalation.objects.get(visit=on_site_visit)
    due = return_deadline + _minutes(20)
    assert esc.police_due_at == due

    assert sweep(now=due - SECOND)["police"] == 0
    assert sweep(now=due)["police"] == 1

    esc = _fresh(esc)
    assert esc.step == Step.POLICE
    assert esc.police_step_at == due
    assert esc.police_due_at is None
    assert "within 20 minutes (E2)" in esc.police_step_reason
    rows = _step_rows(esc, 2)
    # The headteacher also gets a phone call at the police step; the DSL and deputy texts.
    for person, calls in ((head, True), (dsl, False), (deputy, False), (office, False)):
        channels = {Channel.EMAIL, Channel.SMS} | ({Channel.VOICE} if calls else set())
        assert {row.channel for row in rows if row.recipient == person} == channels
    assert slt not in _people(rows)  # the next circle, if nobody answers
    assert all(row.subject.startswith("POLICE STEP") for row in rows)
    texts = rows.exclude(channel=Channel.VOICE)
    assert all("Vic Visitor" in row.body and "police-contact" in row.body for row in texts)
    assert on_site_visit.events.filter(kind=EventKind.POLICE_STEP).count() == 1


def test_e2_sweeping_past_the_limit_twice_raises_the_police_step_once(overdue, head, dsl, deputy):
    due = overdue.police_due_at
    sweep(now=due)
    rows = overdue.notifications.all().count()

    assert sweep(now=due + _minutes(1))["police"] == 0
    assert police_step_batch(now=due + _minutes(2)) == (0, 0)

    assert overdue.notifications.all().count() == rows
    assert overdue.visit.events.filter(kind=EventKind.POLICE_STEP).count() == 1


def test_e2_the_police_call_is_recorded_only_at_the_police_step(overdue, office):
    now = overdue.raised_at + _minutes(3)
    with pytest.raises(RuleBroken, match=r"police step \(E2\)"):
        escalation_record_police_call(escalation=overdue, by=office, reference="X1", now=now)
    assert _fresh(overdue).police_called_at is None

    sweep(now=overdue.police_due_at)
    called = overdue.police_due_at + _minutes(1)
    later = called + _minutes(4)
    escalation_record_police_call(
        escalation=overdue, by=office, reference=" GMP-123 ", called_at=called, now=later
    )

    esc = _fresh(overdue)
    assert (esc.police_called_at, esc.police_reference, esc.police_called_by) == (
        called,
        "GMP-123",
        office,
    )
    [event] = overdue.visit.events.filter(kind=EventKind.POLICE_CALLED)
    assert "GMP-123" in event.message
    escalation_record_police_call(
        escalation=overdue, by=office, reference="GMP-123", called_at=called, now=later
    )
    assert overdue.visit.events.filter(kind=EventKind.POLICE_CALLED).count() == 1


def test_e2_the_police_call_cannot_be_recorded_in_the_future(police_step, office):
    now = police_step.police_step_at + _minutes(1)
    with pytest.raises(RuleBroken, match="cannot be in the future"):
        escalation_record_police_call(
            escalation=police_step,
            by=office,
            reference="GMP-1",
            called_at=now + _minutes(5),
            now=now,
        )
    assert _fresh(police_step).police_called_at is None


@pytest.mark.parametrize("whereabouts", ["", "somewhere", None])
def test_e2_resolving_an_alert_must_say_where_the_staff_are(police_step, head, whereabouts):
    with pytest.raises(RuleBroken, match="Say where the staff are"):
        escalation_resolve(
            escalation=police_step,
            by=head,
            whereabouts=whereabouts,
            note="Police found both safe",
            now=police_step.police_step_at + _minutes(20),
        )
    assert _fresh(police_step).is_open


def test_e2_resolving_as_left_records_them_out_and_nothing_comes_back(police_step, head):
    """A resolved police step once re-alerted 15 minutes later: the visit stayed on site
    and the watch restarted from now. Now "left" reports the visit out and ends the watch."""
    now = police_step.police_step_at + _minutes(20)
    escalation_resolve(
        escalation=police_step,
        by=head,
        whereabouts=Whereabouts.LEFT,
        note="Police found both safe",
        now=now,
    )
    esc = _fresh(police_step)
    assert (esc.resolved_at, esc.resolved_by, esc.whereabouts) == (now, head, Whereabouts.LEFT)
    assert esc.resolution == "They have left. Police found both safe"
    visit = _fresh(police_step.visit)
    assert visit.status == Status.COMPLETED and visit.next_deadline is None
    assert sweep(now=now + _minutes(60))["raised"] == 0


def test_e2_resolving_as_staying_watches_them_until_that_time_only(police_step, head):
    now = police_step.police_step_at + _minutes(20)
    until = now + _minutes(30)
    escalation_resolve(
        escalation=police_step, by=head, whereabouts=Whereabouts.STAYING, until=until, now=now
    )
    visit = _fresh(police_step.visit)
    assert visit.next_deadline == until + _minutes(15)
    assert sweep(now=now + _minutes(44))["raised"] == 0


def test_e2_the_police_step_can_be_raised_by_hand_before_the_limit(overdue, dsl):
    now = overdue.raised_at + _minutes(1)
    escalation_raise_police_step(
        escalation=overdue, by=dsl, reason="Known risk at address", now=now
    )
    esc = _fresh(overdue)
    assert esc.step == Step.POLICE
    assert "Known risk at address" in esc.police_step_reason


# E3: "I need help" and the code word -------------------------------------------------------


@pytest.mark.parametrize(("presser", "other"), [("visitor", "partner"), ("partner", "visitor")])
def test_e3_i_need_help_goes_straight_to_the_police_step_and_no_phone_on_the_visit_lights_up(
    request, on_site_visit, head, dsl, office, start, presser, other
):
    """A phone lighting up in the wrong hands tells an aggressor the police are called: the
    other member of staff sees it on their own screen, and no message goes to either."""
    by, them = request.getfixturevalue(presser), request.getfixturevalue(other)
    now = start + _minutes(20)

    esc = services.visit_need_help(visit=on_site_visit, by=by, now=now)

    esc = _fresh(esc)
    assert (esc.kind, esc.step, esc.raised_by, esc.police_step_at) == (
        Kind.HELP,
        Step.POLICE,
        by,
        now,
    )
    assert "(E3)" in esc.police_step_reason
    assert not Notification.objects.filter(recipient__in=[by, them]).exists()
    assert {head, dsl, office} <= _people(_step_rows(esc, 2))
    assert on_site_visit.events.filter(kind=EventKind.HELP, by=by).count() == 1


def test_e3_help_from_both_staff_joins_one_alert(on_site_visit, visitor, partner, start):
    first = services.visit_need_help(visit=on_site_visit, by=visitor, now=start + _minutes(20))
    second = services.visit_need_help(visit=on_site_visit, by=partner, now=start + _minutes(21))

    assert first.pk == second.pk
    assert Escalation.objects.filter(visit=on_site_visit).count() == 1
    assert on_site_visit.events.filter(kind=EventKind.POLICE_STEP).count() == 1


def test_e3_a_senior_on_the_visit_is_never_messaged_about_it(
    pupil, office, dsl, partner, head, school, start
):
    """The DSL going on a visit is one of the people the police step reaches; not this one."""
    visit = _paired_visit(
        pupil=pupil, by=office, staff=[dsl, partner], start=start, authoriser=head
    )
    services.visit_arrive(visit=visit, by=dsl, now=visit.planned_start)
    esc = services.visit_need_help(visit=visit, by=partner, now=visit.planned_start + _minutes(5))
    rows = _step_rows(_fresh(esc), 2)
    assert rows.exists()
    assert dsl not in _people(rows) and partner not in _people(rows)


def test_e3_help_joins_an_open_overdue_alert_instead_of_making_a_second(overdue, visitor):
    now = overdue.raised_at + _minutes(2)
    esc = services.visit_need_help(visit=overdue.visit, by=visitor, now=now)

    assert esc.pk == overdue.pk
    assert Escalation.objects.filter(visit=overdue.visit).count() == 1
    esc = _fresh(esc)
    assert (esc.kind, esc.step, esc.police_step_at) == (Kind.RETURN, Step.POLICE, now)


def test_e3_a_deadline_passing_during_an_open_alert_hands_the_watch_to_that_alert(
    on_site_visit, return_deadline, visitor, start, caplog
):
    esc = services.visit_need_help(visit=on_site_visit, by=visitor, now=start + _minutes(20))

    # Nobody answered the police step: its messages went again meanwhile (repeated).
    assert sweep(now=return_deadline) == {
        "claimed": 1,
        "raised": 0,
        "police": 0,
        "repeated": 1,
        "requeued": 0,
    }

    assert list(Escalation.objects.filter(visit=on_site_visit)) == [esc]
    assert _fresh(on_site_visit).next_deadline is None
    assert "Could not escalate" not in caplog.text


def test_e3_the_database_refuses_a_second_open_alert_for_one_visit(overdue):
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(school=overdue.school, visit=overdue.visit, kind=Kind.HELP)


def test_e3_a_check_in_does_not_close_a_police_step_alert(police_step, visitor):
    services.visit_leave(
        visit=police_step.visit, by=visitor, now=police_step.police_step_at + _minutes(5)
    )
    assert _fresh(police_step.visit).status == Status.COMPLETED
    esc = _fresh(police_step)
    assert esc.is_open
    assert esc.step == Step.POLICE


def test_e3_help_stays_available_for_two_hours_after_leaving(on_site_visit, visitor, start):
    left = start + _minutes(50)
    services.visit_leave(visit=on_site_visit, by=visitor, now=left)

    with pytest.raises(RuleBroken, match=r"phone 999"):
        services.visit_need_help(
            visit=on_site_visit, by=visitor, now=left + HELP_AFTER_LEAVING + SECOND
        )
    assert not Escalation.objects.exists()

    esc = services.visit_need_help(visit=on_site_visit, by=visitor, now=left + HELP_AFTER_LEAVING)
    assert _fresh(esc).step == Step.POLICE


def test_e3_the_code_word_recorded_by_the_office_raises_the_police_step(
    on_site_visit, office, head, start
):
    now = start + _minutes(25)
    esc = code_word_record(visit=on_site_visit, by=office, now=now)

    esc = _fresh(esc)
    assert (esc.kind, esc.step, esc.raised_by, esc.police_step_at) == (
        Kind.CODE_WORD,
        Step.POLICE,
        office,
        now,
    )
    assert "code word" in esc.police_step_reason
    assert head in _people(_step_rows(esc, 2))


@pytest.mark.parametrize("person", ["visitor", "colleague", "outsider"])
def test_e3_the_code_word_is_recorded_only_by_the_office_or_senior_staff(
    request, on_site_visit, start, person
):
    with pytest.raises(RuleBroken, match=r"\(E3\)"):
        code_word_record(
            visit=on_site_visit, by=request.getfixturevalue(person), now=start + _minutes(25)
        )
    assert not Escalation.objects.exists()


# Drills ------------------------------------------------------------------------------------


@pytest.fixture
def drill_time():
    return _next(TUESDAY, 11)


@pytest.mark.parametrize("person", ["head", "school_admin"])
def test_drill_is_started_by_the_head_or_a_school_admin(
    request, school, office, drill_time, person
):
    starter = request.getfixturevalue(person)
    esc = drill_start(school=school, by=starter, now=drill_time)

    esc = _fresh(esc)
    assert (esc.is_drill, esc.kind, esc.visit, esc.raised_by) == (True, Kind.DRILL, None, starter)
    assert esc.step == Step.OFFICE
    rows = esc.notifications.all()
    assert _people(rows) == {office}
    assert all(row.is_drill and row.subject.startswith("[DRILL]") for row in rows)


@pytest.mark.parametrize("person", ["office", "dsl", "deputy", "slt", "visitor", "outsider"])
def test_drill_cannot_be_started_by_anyone_else(request, school, drill_time, person):
    with pytest.raises(RuleBroken, match="headteacher or a school admin"):
        drill_start(school=school, by=request.getfixturevalue(person), now=drill_time)
    assert not Escalation.objects.exists()


@pytest.mark.parametrize("starter", ["school_admin", "head"])
def test_drill_police_step_never_reaches_the_dsl_or_head_contacts(
    request, school, office, head, dsl, deputy, slt, school_admin, drill_time, starter
):
    _give_own_mobiles(office, head, dsl, deputy, slt, school_admin)
    by = request.getfixturevalue(starter)
    esc = drill_start(school=school, by=by, now=drill_time)

    assert sweep(now=esc.police_due_at)["police"] == 1

    esc = _fresh(esc)
    assert esc.step == Step.POLICE
    rows = _step_rows(esc, 2)
    # The drill's own people: whoever started it, and the office who are practising.
    assert _people(rows) == {by, office}
    assert not {dsl, deputy, slt} & _people(rows)
    assert all(row.is_drill for row in rows)
    assert all(
        row.subject.startswith("[DRILL]") and "do NOT call 999" in row.subject for row in rows
    )


def test_drill_times_the_offices_response(school, school_admin, office, drill_time):
    esc = drill_start(school=school, by=school_admin, now=drill_time)
    escalation_acknowledge(escalation=esc, by=office, now=drill_time + _minutes(2))
    esc = _fresh(esc)
    assert (esc.acknowledged_by, esc.response_seconds()) == (office, 120)
    assert esc.events.get(kind=EventKind.ACKNOWLEDGED).data["response_seconds"] == 120


def test_drill_out_of_hours_with_no_on_call_number_tells_only_its_starter(
    school, office, head, dsl, deputy, school_admin
):
    _give_own_mobiles(office, head, dsl, deputy, school_admin)
    evening = _next(TUESDAY, 20)
    esc = drill_start(school=school, by=school_admin, now=evening)
    assert esc.out_of_hours is True
    assert sweep(now=esc.police_due_at)["police"] == 1

    rows = esc.notifications.all()
    assert _people(rows) == {school_admin}
    assert all(row.is_drill and row.subject.startswith("[DRILL]") for row in rows)


def test_drill_is_resolved_like_a_real_alert(school, head, office, drill_time):
    esc = drill_start(school=school, by=head, now=drill_time)
    escalation_resolve(
        escalation=esc, by=office, note="Drill: phoned in 2 minutes", now=drill_time + SECOND
    )
    esc = _fresh(esc)
    assert not esc.is_open
    assert esc.events.filter(kind=EventKind.ESCALATION_RESOLVED).count() == 1


# Messages about an alert (the outbox itself: tests/test_outbox.py) ------------------------


def test_delivery_failures_on_a_drill_are_on_its_timeline(school, head, office, sms_down):
    now = _next(TUESDAY, 11)
    esc = drill_start(school=school, by=head, now=now)
    delivery.deliver_due(budget_seconds=5, now=now)
    assert esc.events.filter(kind=EventKind.NOTIFICATION_FAILED).count() == 1
    assert esc.events.filter(kind=EventKind.NOTIFICATION_SENT).count() == 1


# Robustness --------------------------------------------------------------------------------


@pytest.fixture
def broken_visit(monkeypatch, pupil, office, visitor, partner, head, authorised_visit, start):
    """A second visit, due three hours before `authorised_visit`, whose alert cannot be raised."""
    broken = _paired_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        start=start - _minutes(180),
        authoriser=head,
    )
    real = esc_services._step1_rows

    def step1_rows(esc, **kwargs):
        if esc.visit_id == broken.pk:
            raise RuntimeError("template error")
        return real(esc, **kwargs)

    monkeypatch.setattr(esc_services, "_step1_rows", step1_rows)
    return broken


def test_e1_one_visit_that_fails_to_escalate_does_not_hold_up_another(
    monkeypatch, caplog, broken_visit, authorised_visit, start
):
    deadline = broken_visit.next_deadline
    now = start + _minutes(20)

    result = sweep(now=now)

    assert result["claimed"] == 2
    assert result["raised"] == 1
    assert Escalation.objects.get(visit=authorised_visit).step == Step.OFFICE
    assert messages_for_visit(authorised_visit).exists()
    assert not Escalation.objects.filter(visit=broken_visit).exists()
    assert _fresh(broken_visit).next_deadline == deadline
    assert f"Could not escalate overdue visit {broken_visit.pk}" in caplog.text

    monkeypatch.undo()
    assert sweep(now=now + _minutes(1))["raised"] == 1
    assert Escalation.objects.filter(visit=broken_visit).count() == 1


def test_e1_visits_that_keep_failing_do_not_starve_others_when_the_batch_is_full(
    broken_visit, authorised_visit, start
):
    # limit=1 stands for a batch filled by failing visits (50 by default).
    for minutes in (20, 21):
        sweep(now=start + _minutes(minutes), limit=1)
    assert Escalation.objects.filter(visit=authorised_visit).count() == 1


# Tasks --------------------------------------------------------------------------------------


def test_a_delivery_run_stops_when_its_time_is_up_and_queues_no_other(
    monkeypatch, settings, school, on_site_visit, return_deadline, office, gateways
):
    """A storm of messages must not keep a sender busy for long (the next run comes from beat,
    not from a chain of runs that would fill the queue)."""
    member(
        school,
        Role.OFFICE,
        username="office2",
        first_name="Otto",
        last_name="Office",
        mobile="07700 900002",
    )
    monkeypatch.setattr(outbox_tasks.notifications_deliver, "delay", lambda: None)
    with time_machine.travel(return_deadline + _minutes(1), tick=False):
        tasks.escalation_sweep()
    queued = []
    monkeypatch.setattr(outbox_tasks.notifications_deliver, "delay", lambda: queued.append(1))
    settings.ESCALATION_SWEEP_SECONDS = 0  # no time left after the first message of a channel

    with time_machine.travel(return_deadline + _minutes(2), tick=False):
        assert outbox_tasks.notifications_deliver() == 2  # an email and an SMS of four
        assert outbox_tasks.notifications_deliver() == 2  # the next run sends the others
        assert outbox_tasks.notifications_deliver() == 0
    assert queued == []
    assert len(gateways.sent()) == 4


def test_tasks_run_twice_raise_one_alert_and_send_each_message_once(
    monkeypatch, on_site_visit, return_deadline, office, gateways
):
    queued = []
    monkeypatch.setattr(outbox_tasks.notifications_deliver, "delay", lambda: queued.append(1))

    with time_machine.travel(return_deadline + _minutes(1), tick=False):
        tasks.escalation_sweep()
        tasks.escalation_sweep()
        first = outbox_tasks.notifications_deliver()
        second = outbox_tasks.notifications_deliver()

    assert Escalation.objects.filter(visit=on_site_visit).count() == 1
    assert queued == [1]  # only the sweep that raised something asks for delivery
    assert (first, second) == (2, 0)
    assert sorted(gateways.sent()) == sorted(
        (row.channel, row.address, row.key) for row in Notification.objects.all()
    )
    assert {row.state for row in Notification.objects.all()} == {Delivery.SENT}


def test_tasks_sweep_before_the_deadline_raises_nothing(
    monkeypatch, on_site_visit, return_deadline
):
    queued = []
    monkeypatch.setattr(outbox_tasks.notifications_deliver, "delay", lambda: queued.append(1))
    with time_machine.travel(return_deadline - SECOND, tick=False):
        tasks.escalation_sweep()
    assert not Escalation.objects.exists()
    assert queued == []


# Heartbeats --------------------------------------------------------------------------------


@pytest.fixture
def stale_after_60s(settings):
    settings.HEARTBEAT_STALE_SECONDS = 60


@pytest.mark.parametrize(
    ("worker_age", "sender_age", "beat_age", "sweep_age", "down"),
    [
        (10, 10, 59, 2, []),
        (60, 60, 60, 60, []),
        (61, 5, 5, 2, ["worker"]),
        (5, 61, 5, 2, ["sender"]),
        (5, 5, 300, 2, ["beat"]),
        (None, 5, 5, 2, ["worker"]),
        (5, None, 5, 2, ["sender"]),
        (5, 5, None, 2, ["beat"]),
        (None, None, None, 2, ["worker", "sender", "beat"]),
        # Workers and beat alive, but no sweep has finished for a minute: still down.
        (5, 5, 5, 61, ["sweep"]),
        (5, 5, 5, None, ["sweep"]),
    ],
)
def test_watchers_down_lists_a_silent_or_missing_worker_sender_beat_or_sweep(
    db, stale_after_60s, worker_age, sender_age, beat_age, sweep_age, down
):
    now = datetime.datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
    ages = (
        ("worker", worker_age),
        ("sender", sender_age),
        ("beat", beat_age),
        ("sweep", sweep_age),
    )
    for name, age in ages:
        if age is not None:
            heartbeat_write(name, now=now - datetime.timedelta(seconds=age))
    assert watchers_down(now=now) == down


def test_a_finished_sweep_task_writes_the_sweep_heartbeat(db, monkeypatch):
    monkeypatch.setattr(tasks.notifications_deliver, "delay", lambda: None)
    now = timezone.now()

    tasks.escalation_sweep()

    assert "sweep" not in watchers_down(now=now)


def test_a_storm_sweep_stops_at_its_budget_and_the_next_run_carries_on(
    db, school, office, visitor, partner, pupil, head
):
    """Many visits overdue at once (as after an outage): a run with no time left stops after one
    batch; the alerts all still come, over the following runs (the next beat ticks)."""
    visits = []
    for _ in range(4):
        visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)
        services.visit_authorise(
            visit=visit, by=head, expected_version=visit.version, confirmed=True
        )
        visits.append(visit)
    Visit.objects.filter(pk__in=[v.pk for v in visits]).update(
        next_deadline=timezone.now(), deadline_kind="arrival"
    )
    now = timezone.now()

    first = sweep(now=now, limit=1, budget_seconds=0)
    assert first["raised"] == 1
    while sweep(now=now, limit=1, budget_seconds=0)["raised"]:
        pass
    assert Escalation.objects.filter(visit__in=visits).count() == 4


# Clock changes -----------------------------------------------------------------------------


def _at(*args, fold=0):
    return datetime.datetime(*args, tzinfo=LONDON, fold=fold)


def _visit_on_the_night(*, pupil, office, head, visitor, partner, start, end, plan_on):
    with time_machine.travel(plan_on, tick=False):
        visit = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={
                "planned_start": start,
                "expected_end": end,
                "parent_told_at": plan_on - datetime.timedelta(days=1),
            },
            submit=True,
        )
        services.visit_authorise(
            visit=visit, by=head, expected_version=visit.version, confirmed=True
        )
    return _fresh(visit)


def test_e1_deadlines_on_the_spring_clock_change_are_the_right_instants(
    pupil, office, head, visitor, partner
):
    # 28 March 2027: at 01:00 GMT the clocks go forward to 02:00 BST.
    visit = _visit_on_the_night(
        pupil=pupil,
        office=office,
        head=head,
        visitor=visitor,
        partner=partner,
        start=_at(2027, 3, 28, 0, 55),  # GMT: 00:55 UTC
        end=_at(2027, 3, 28, 3, 0),  # BST: 02:00 UTC, 65 real minutes later
        plan_on=_at(2027, 3, 26, 9, 0),
    )
    arrival = datetime.datetime(2027, 3, 28, 1, 10, tzinfo=UTC)
    assert visit.next_deadline == arrival
    assert timezone.localtime(arrival).strftime("%H:%M %Z") == "02:10 BST"

    services.visit_arrive(visit=visit, by=visitor, now=arrival - _minutes(5))
    back = datetime.datetime(2027, 3, 28, 2, 15, tzinfo=UTC)
    assert _fresh(visit).next_deadline == back
    assert timezone.localtime(back).strftime("%H:%M %Z") == "03:15 BST"

    # An hour off either way would alert at 01:15 or 03:15 UTC.
    assert sweep(now=back - _minutes(60))["raised"] == 0
    assert sweep(now=back - SECOND)["raised"] == 0
    assert sweep(now=back)["raised"] == 1
    assert Escalation.objects.get(visit=visit).deadline == back


def test_e1_deadlines_on_the_autumn_clock_change_are_the_right_instants(
    pupil, office, head, visitor, partner
):
    # 31 October 2027: at 02:00 BST the clocks go back to 01:00 GMT; 01:00-02:00 happens twice.
    visit = _visit_on_the_night(
        pupil=pupil,
        office=office,
        head=head,
        visitor=visitor,
        partner=partner,
        start=_at(2027, 10, 31, 0, 30),  # BST: 23:30 UTC on the 30th
        end=_at(2027, 10, 31, 1, 30, fold=1),  # the second 01:30, GMT: 01:30 UTC
        plan_on=_at(2027, 10, 29, 9, 0),
    )
    assert visit.expected_end - visit.planned_start == datetime.timedelta(hours=2)
    services.visit_arrive(
        visit=visit, by=partner, now=datetime.datetime(2027, 10, 30, 23, 35, tzinfo=UTC)
    )

    back = datetime.datetime(2027, 10, 31, 1, 45, tzinfo=UTC)
    assert _fresh(visit).next_deadline == back
    assert timezone.localtime(back).strftime("%H:%M %Z") == "01:45 GMT"

    # Counted on the wall clock it would be the first 01:45 (BST), an hour early.
    assert sweep(now=back - _minutes(60))["raised"] == 0
    assert sweep(now=back - SECOND)["raised"] == 0
    assert sweep(now=back)["raised"] == 1
    assert Escalation.objects.get(visit=visit).deadline == back


def test_e3_the_code_word_still_counts_just_after_staff_reported_out(
    on_site_visit, visitor, office, start
):
    """A report out can be made under duress: the code word on the phone afterwards still
    goes straight to the police step."""
    services.visit_leave(visit=on_site_visit, by=visitor, now=start + _minutes(40))
    esc = code_word_record(visit=on_site_visit, by=office, now=start + _minutes(45))
    assert _fresh(esc).step == Step.POLICE


def test_e3_the_code_word_is_refused_on_a_visit_called_off_before_it_started(
    authorised_visit, office
):
    services.visit_cancel(visit=authorised_visit, by=office, reason="Family away.")
    with pytest.raises(RuleBroken, match=r"while staff are out on the visit \(E3\)"):
        code_word_record(visit=authorised_visit, by=office)
    assert not Escalation.objects.exists()
