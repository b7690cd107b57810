"""Every alert reaches a person (E1-E3): it repeats, wider each time, until someone answers;
anyone told can answer from the message itself; nobody answers an alert about themselves;
one clock everywhere; messages say what to do, never the account.
"""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from escalation.models import Answer, Escalation, Step, Whereabouts
from escalation.responses import (
    escalation_acknowledge,
    escalation_raise_police_step,
    escalation_record_call,
    escalation_resolve,
)
from escalation.services import sweep
from notifications.models import Channel, Notification
from notifications.services import record_status
from schools.models import OnCallShift, Role
from visits import services
from visits.models import DoorReason, EventKind
from visits.rules import RuleBroken

from .conftest import make_visit
from .factories import member, next_weekday_at

MINUTE = datetime.timedelta(minutes=1)
TUESDAY = 1


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def _people(rows):
    return {row.recipient for row in rows}


def _on_call(school, person, *, around):
    return OnCallShift.objects.create(
        school=school,
        user=person,
        starts_at=around - 12 * 60 * MINUTE,
        ends_at=around + 12 * 60 * MINUTE,
    )


@pytest.fixture
def visit(pupil, office, visitor, partner):
    """A paired visit on a Tuesday, 10:00-11:00: the office is open throughout."""
    days = (TUESDAY - timezone.localdate().weekday() - 1) % 7 + 1
    start = next_weekday_at(10, 0, days_ahead=days)
    return make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"planned_start": start, "expected_end": start + 60 * MINUTE},
        submit=True,
    )


@pytest.fixture
def seniors(head, dsl, deputy, slt):
    """Everyone a widening alert may reach, each with their own mobile."""
    from schools.models import StaffProfile

    for n, person in enumerate((head, dsl, deputy, slt), start=1):
        StaffProfile.objects.filter(user=person).update(mobile=f"07700 9003{n:02d}")
    return head, dsl, deputy, slt


# Until someone answers -------------------------------------------------------------------------


def test_e1_an_alert_nobody_answers_goes_again_every_5_minutes_to_one_more_circle(
    overdue, office, seniors, school
):
    head, dsl, deputy, slt = seniors
    _on_call(school, dsl, around=overdue.raised_at)
    first = _people(overdue.notifications.all())
    assert first == {office}

    assert (
        sweep(now=overdue.raised_at + 5 * MINUTE - datetime.timedelta(seconds=1))["repeated"] == 0
    )
    assert sweep(now=overdue.raised_at + 5 * MINUTE)["repeated"] == 1

    esc = _fresh(overdue)
    assert (esc.rounds, esc.circles_told) == (1, 2)
    assert esc.repeat_due_at == overdue.raised_at + 10 * MINUTE
    again = esc.notifications.filter(key__contains=":step1-r1:")
    assert _people(again) == {office}  # told again
    wider = esc.notifications.filter(key__contains=":step1-c2:")
    assert _people(wider) == {dsl, head}  # the on-call and the headteacher now too
    lines = [e.message for e in esc.events.filter(kind=EventKind.NOTIFICATION_SENT)]
    assert any("Nobody has answered: messages sent again" in line for line in lines)
    assert any("Now also told: Dee Lead, Hazel Head" in line for line in lines)

    sweep(now=overdue.raised_at + 10 * MINUTE)
    assert _people(_fresh(overdue).notifications.filter(key__contains=":step1-c3:")) == {deputy}


def test_e1_answering_stops_the_repeats(overdue, office, seniors):
    escalation_acknowledge(escalation=overdue, by=office, now=overdue.raised_at + MINUTE)
    count = Notification.objects.count()
    assert sweep(now=overdue.raised_at + 20 * MINUTE)["repeated"] == 0
    # The police step still comes at the school's limit (answered is not resolved)...
    assert _fresh(overdue).step == Step.POLICE
    # ...as a new alert: its own messages, and it must be answered afresh.
    assert Notification.objects.count() > count
    assert not _fresh(overdue).is_answered


def test_e1_a_text_that_is_not_delivered_moves_on_to_the_next_circle_at_once(
    overdue, office, seniors
):
    head = seniors[0]
    sms = overdue.notifications.get(channel=Channel.SMS, recipient=office)
    now = overdue.raised_at + MINUTE

    assert record_status(notification=sms, status="failed", detail="undelivered", now=now)

    esc = _fresh(overdue)
    assert esc.circles_told == 2
    assert head in _people(esc.notifications.filter(key__contains=":step1-c2:"))
    failed = esc.events.get(kind=EventKind.NOTIFICATION_FAILED)
    assert "not delivered: undelivered" in failed.message
    moved = esc.events.filter(kind=EventKind.NOTIFICATION_SENT).last().message
    assert "SMS to Olive Office did not get through. Now also told:" in moved
    # A second report of the same failure changes nothing more.
    assert not record_status(notification=sms, status="failed", detail="undelivered", now=now)
    assert _fresh(overdue).circles_told == 2


def test_e1_a_delivery_report_lands_on_the_alerts_timeline(overdue):
    sms = overdue.notifications.get(channel=Channel.SMS)
    record_status(
        notification=sms, status="delivered", detail="delivered", now=overdue.raised_at + MINUTE
    )
    assert _fresh(sms).state == "delivered"
    line = overdue.events.get(kind=EventKind.NOTIFICATION_DELIVERED)
    assert line.message == "SMS to Olive Office delivered (delivered)."


def test_e1_answered_alerts_do_not_widen_when_a_message_fails(overdue, office, seniors):
    escalation_acknowledge(escalation=overdue, by=office, now=overdue.raised_at + MINUTE)
    sms = overdue.notifications.get(channel=Channel.SMS, recipient=office)
    record_status(notification=sms, status="failed", detail="undelivered", now=overdue.raised_at)
    assert _fresh(overdue).circles_told == 1


# Answering from the message ---------------------------------------------------------------------


def _link_of(row):
    return reverse("message-answer", args=[row.answer_token])


def test_e1_the_link_in_a_text_answers_the_alert_as_its_person(client, overdue, office):
    sms = overdue.notifications.get(channel=Channel.SMS)
    assert _link_of(sms) in sms.body

    page = client.get(_link_of(sms))
    assert page.status_code == 200
    assert (
        "I&#x27;m dealing with it" in page.content.decode()
        or "dealing with it" in page.content.decode()
    )
    assert "Vic Visitor" not in page.content.decode()  # nothing about the alert before answering
    assert _fresh(overdue).acknowledged_at is None  # a GET changes nothing

    answered = client.post(_link_of(sms))
    assert "The school has been told" in answered.content.decode()
    esc = _fresh(overdue)
    assert (esc.acknowledged_by, esc.acknowledged_how) == (office, Answer.LINK)
    assert "by the link in a message" in esc.events.get(kind=EventKind.ACKNOWLEDGED).message

    again = client.post(_link_of(sms))
    assert "This link was used" in again.content.decode()
    assert esc.events.filter(kind=EventKind.ACKNOWLEDGED).count() == 1


def test_e1_an_unknown_link_is_a_404(client, db):
    assert client.get("/a/not-a-token/").status_code == 404
    assert client.post("/a/" + "x" * 40 + "/").status_code == 404


def test_e2_a_link_from_the_office_alert_does_not_answer_the_police_step(client, overdue, office):
    sms = overdue.notifications.get(channel=Channel.SMS)
    sweep(now=overdue.police_due_at)
    assert _fresh(overdue).step == Step.POLICE

    client.post(_link_of(sms))

    assert not _fresh(overdue).is_answered
    police = _fresh(overdue).notifications.filter(key__contains=":step2:", channel=Channel.SMS)
    client.post(_link_of(police.first()))
    assert _fresh(overdue).is_answered


# Nobody answers an alert about themselves --------------------------------------------------------


@pytest.fixture
def dsl_on_the_visit(pupil, office, dsl, partner, head, visit):
    """The DSL goes on a visit and presses I need help: they hold a senior role, but may not
    silence their own visit's alert."""
    on = make_visit(
        pupil=pupil,
        by=office,
        staff=[dsl, partner],
        details={"planned_start": visit.planned_start, "expected_end": visit.expected_end},
        submit=True,
    )
    on = services.visit_authorise(visit=on, by=head, expected_version=on.version, confirmed=True)
    services.visit_arrive(visit=on, by=dsl, now=on.planned_start)
    return services.visit_need_help(visit=on, by=dsl, now=on.planned_start + 5 * MINUTE)


ANSWERS = {
    "acknowledge": lambda esc, by, now: escalation_acknowledge(escalation=esc, by=by, now=now),
    "record a call": lambda esc, by, now: escalation_record_call(
        escalation=esc, by=by, outcome="reached_safe", whereabouts=Whereabouts.LEFT, now=now
    ),
    "resolve": lambda esc, by, now: escalation_resolve(
        escalation=esc, by=by, whereabouts=Whereabouts.LEFT, now=now
    ),
}


@pytest.mark.parametrize("action", ANSWERS)
def test_e3_staff_on_the_visit_cannot_answer_or_resolve_its_alert(dsl_on_the_visit, dsl, action):
    esc = dsl_on_the_visit
    with pytest.raises(RuleBroken, match="You are on this visit"):
        ANSWERS[action](esc, dsl, esc.police_step_at + MINUTE)
    esc = _fresh(esc)
    assert esc.is_open and not esc.is_answered


def test_e3_staff_on_the_visit_see_why_and_no_buttons(client, dsl_on_the_visit, dsl, head):
    client.force_login(dsl)
    page = client.get(dsl_on_the_visit.get_absolute_url()).content.decode()
    assert "You are on this visit, so someone else deals with its alert" in page
    assert reverse("escalation-resolve", args=[dsl_on_the_visit.pk]) not in page
    board = client.get(reverse("board-rows")).content.decode()
    assert "You are on this visit" in board
    assert reverse("escalation-ack", args=[dsl_on_the_visit.pk]) not in board
    response = client.post(reverse("escalation-ack", args=[dsl_on_the_visit.pk]))
    assert not _fresh(dsl_on_the_visit).is_answered
    assert response.status_code in (302, 403)
    # Someone not on the visit can.
    client.force_login(head)
    client.post(reverse("escalation-ack", args=[dsl_on_the_visit.pk]))
    assert _fresh(dsl_on_the_visit).police_acknowledged_by == head


def test_e3_the_police_step_can_still_be_raised_by_someone_not_on_the_visit(overdue, dsl):
    escalation_raise_police_step(
        escalation=overdue, by=dsl, reason="Worried", now=overdue.raised_at + MINUTE
    )
    assert _fresh(overdue).step == Step.POLICE


# One clock -------------------------------------------------------------------------------------


def test_e1_one_clock_in_the_message_on_the_board_and_the_police_sheet(client, overdue, office):
    """Expected back at the plan, overdue counted from it, office alerted at the deadline:
    the same three figures everywhere, so the office knows which number to say."""
    visit = overdue.visit
    expected = timezone.localtime(visit.expected_end)
    alerted = timezone.localtime(overdue.raised_at)
    [sms] = overdue.notifications.filter(channel=Channel.SMS)
    assert f"expected back from a home visit (pupil: Poppy) at {expected:%H:%M}" in sms.body
    assert f"overdue 15 min; office alerted {alerted:%H:%M}" in sms.body

    with time_machine.travel(overdue.raised_at + 3 * MINUTE, tick=False):
        client.force_login(office)
        board = client.get(reverse("board-rows")).content.decode()
        page = client.get(overdue.get_absolute_url()).content.decode()
        sheet = client.get(reverse("escalation-police", args=[overdue.pk])).content.decode()
    clock = (
        f"Expected back {expected:%H:%M} · <strong>overdue 18 min</strong> · "
        f"office alerted {alerted:%H:%M}"
    )
    assert clock in board
    assert clock in page
    assert "18 minutes overdue" in sheet


# What messages say -----------------------------------------------------------------------------


def test_a5_a_child_at_risk_at_the_door_is_reported_without_the_staffs_note(
    on_site_visit, visitor, head, dsl, start
):
    services.visit_cancel_at_door(
        visit=on_site_visit,
        by=visitor,
        reason=DoorReason.CHILD_ALONE,
        note="Child of 6 alone, bruise on arm",
        now=start + 10 * MINUTE,
    )
    rows = Notification.objects.filter(key__startswith=f"visit{on_site_visit.pk}:safety")
    assert _people(rows) == {head, dsl}
    for row in rows:
        assert "bruise" not in row.body and "alone" not in row.body
        assert row.subject == "A child may be at risk: home visit called off"
        assert reverse("visit-detail", args=[on_site_visit.pk]) in row.body


@pytest.fixture
def police_step(overdue, visitor):
    services.visit_need_help(visit=overdue.visit, by=visitor, now=overdue.raised_at + 2 * MINUTE)
    return _fresh(overdue)


def test_e2_police_step_messages_carry_no_address(police_step):
    rows = police_step.notifications.filter(key__contains=":step2:")
    assert rows.exists()
    address_line = police_step.visit.address.splitlines()[0]
    assert all(address_line not in row.body for row in rows)
    assert all(police_step.visit.pupil.last_name not in row.body for row in rows)


def test_e1_the_phone_call_speaks_no_link_and_gives_the_schools_number(
    school, on_site_visit, return_deadline, head, dsl
):
    school.office_phone = "0161 496 0000"
    school.save()
    evening = timezone.localtime(return_deadline).replace(hour=19, minute=30)
    Escalation.objects.all().delete()
    _on_call(school, dsl, around=evening)
    sweep(now=evening)
    call = Notification.objects.get(channel=Channel.VOICE)
    assert call.recipient == dsl
    assert "http" not in call.body
    assert "The school's number is 0161 496 0000." in call.body
    assert "Vic Visitor and Pat Partner" in call.body


# Out of hours by the school's calendar ---------------------------------------------------------


def test_e1_on_a_bank_holiday_the_alert_goes_to_the_on_call_by_text_and_call(
    pupil, office, visitor, partner, head, dsl, school
):
    """Early May bank holiday 2027, Monday 3 May, 19:30: nobody is in the office."""
    start = timezone.make_aware(datetime.datetime(2027, 5, 3, 18, 0))
    with time_machine.travel(start - 60 * MINUTE, tick=False):
        visit = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={"planned_start": start, "expected_end": start + 75 * MINUTE},
            submit=True,
        )
        visit = services.visit_authorise(
            visit=visit, by=head, expected_version=visit.version, confirmed=True
        )
    services.visit_arrive(visit=visit, by=visitor, now=start)
    due = _fresh(visit).next_deadline
    assert timezone.localtime(due).strftime("%H:%M") == "19:30"
    assert not school.office_is_open(due)
    _on_call(school, dsl, around=due)

    sweep(now=due)

    esc = Escalation.objects.get(visit=visit)
    assert esc.out_of_hours
    assert {(r.recipient, r.channel) for r in esc.notifications.all()} == {
        (dsl, Channel.EMAIL),
        (dsl, Channel.SMS),
        (dsl, Channel.VOICE),
    }


def test_e1_the_members_of_staff_on_the_rota_who_left_are_never_called(
    overdue, school, office, seniors
):
    leaver = member(school, Role.DSL, username="leaver", mobile="07700 900777")
    _on_call(school, leaver, around=overdue.raised_at)
    leaver.is_active = False
    leaver.save()
    sweep(now=overdue.raised_at + 5 * MINUTE)
    assert leaver not in _people(Notification.objects.all())


# No visit without backup ---------------------------------------------------------------------


def test_p15_authorising_a_visit_that_runs_out_of_hours_with_nobody_on_call_says_so(
    client, pupil, office, visitor, partner, head, dsl, school
):
    days = (TUESDAY - timezone.localdate().weekday() - 1) % 7 + 1
    start = next_weekday_at(16, 0, days_ahead=days)  # runs past the office's 17:00
    visit = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"planned_start": start, "expected_end": start + 90 * MINUTE},
        submit=True,
    )
    client.force_login(head)
    page = client.get(reverse("visit-decide", args=[visit.pk])).content.decode()
    assert "Nobody is on call from 17:00" in page

    response = client.post(
        reverse("visit-decide", args=[visit.pk]),
        {"decision": "approve", "confirmed": "on", "version": visit.version},
        follow=True,
    )
    assert "Nobody is on call from 17:00" in response.content.decode()

    _on_call(school, dsl, around=start + 120 * MINUTE)
    assert "Nobody is on call" not in client.get(visit.get_absolute_url()).content.decode()
    later = make_visit(
        pupil=pupil,
        by=office,
        staff=[visitor, partner],
        details={"planned_start": start + 30 * MINUTE, "expected_end": start + 100 * MINUTE},
        submit=True,
    )
    page = client.get(reverse("visit-decide", args=[later.pk])).content.decode()
    assert "Nobody is on call" not in page


# The red badge on every page --------------------------------------------------------------------


@pytest.mark.parametrize("person", ["head", "dsl", "slt", "office"])
def test_e2_every_senior_page_shows_a_red_live_alert_badge_while_an_alert_is_open(
    request, client, overdue, person
):
    client.force_login(request.getfixturevalue(person))
    page = client.get(reverse("my-visits")).content.decode()
    assert 'data-testid="live-alerts">1 live alert<' in page


def test_e2_no_badge_for_staff_who_do_not_hold_the_board_or_once_resolved(
    client, overdue, visitor, head
):
    client.force_login(visitor)
    assert "live-alerts" not in client.get(reverse("my-visits")).content.decode()
    escalation_resolve(
        escalation=overdue, by=head, whereabouts=Whereabouts.LEFT, now=overdue.raised_at + MINUTE
    )
    client.force_login(head)
    assert "live-alerts" not in client.get(reverse("my-visits")).content.decode()
