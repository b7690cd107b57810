"""The office's live board, alerts, police-contact instructions, /healthz and the staff's
check-in screen, as people reach them through the browser (E1-E3, D1-D6, A8)."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from escalation import services as escalation_services
from escalation.models import Escalation, Heartbeat, Kind, Step
from schools.services import school_oversight_group
from visits import services
from visits.models import Status, Visit, VisitStaff

from .conftest import make_visit
from .factories import PupilFactory


def _out_on_site(visit, *, by, now):
    """The visit, authorised, with its staff on site (checked in at `now`)."""
    services.visit_arrive(visit=visit, by=by, now=now)
    visit.refresh_from_db()
    return visit


@pytest.fixture
def on_site(authorised_visit, visitor):
    return _out_on_site(authorised_visit, by=visitor, now=authorised_visit.planned_start)


@pytest.fixture
def overdue(on_site):
    """The visit past its return deadline, swept: step 1 raised."""
    escalation_services.sweep(now=on_site.next_deadline + datetime.timedelta(seconds=1))
    return Escalation.objects.get(visit=on_site)


def _fresh_heartbeats(now):
    for name in ("worker", "sender", "beat", "sweep"):
        Heartbeat.objects.update_or_create(name=name, defaults={"at": now})


# The board ----------------------------------------------------------------------------------


def test_e1_board_shows_the_overdue_visit_first_with_its_staff_mobiles(client, office, overdue):
    with time_machine.travel(overdue.raised_at, tick=False):
        client.force_login(office)
        response = client.get(reverse("board"))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.urgency for row in rows] == ["alert"]
    html = response.content.decode()
    assert "Office alert: Not back" in html
    assert "07700 900000" in html  # the mobiles to phone (P13, E1)
    assert "data-unacknowledged" in html  # sounds until someone acknowledges it


def test_board_sorts_by_urgency_police_first_then_on_time(
    client, office, pupil, visitor, partner, dsl, head, on_site
):
    later = make_visit(pupil=pupil, by=office, staff=[dsl, partner], submit=True)
    services.visit_authorise(visit=later, by=head, expected_version=later.version, confirmed=True)
    services.visit_arrive(visit=later, by=dsl, now=later.planned_start)
    services.visit_need_help(visit=on_site, by=visitor, now=on_site.planned_start)

    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=5), tick=False):
        client.force_login(office)
        rows = client.get(reverse("board")).context["rows"]

    assert [(row.visit.pk, row.urgency) for row in rows] == [
        (on_site.pk, "police"),
        (later.pk, "on_time"),
    ]


def test_board_leaves_out_visits_not_under_way_today(
    client, office, pupil, visitor, partner, dsl, head, on_site
):
    """Drafts, requests, tomorrow's visits and last week's closed ones are not the board's."""
    make_visit(pupil=pupil, by=office, staff=[visitor, partner])  # a draft
    make_visit(pupil=pupil, by=office, staff=[dsl, partner], submit=True)  # awaiting a decision
    with time_machine.travel(on_site.planned_start, tick=False):
        client.force_login(office)
        rows = client.get(reverse("board")).context["rows"]

    assert [row.visit.pk for row in rows] == [on_site.pk]


def test_board_is_for_the_office_and_seniors_not_visiting_staff(client, visitor, on_site):
    client.force_login(visitor)

    assert client.get(reverse("board")).status_code == 403
    assert client.get(reverse("board-rows")).status_code == 403


def test_a8_another_schools_office_sees_none_of_this_schools_visits_or_alerts(
    client, outsider, overdue
):
    with time_machine.travel(overdue.raised_at, tick=False):
        client.force_login(outsider)
        response = client.get(reverse("board"))

    assert response.context["rows"] == []
    assert response.context["alerts"] == []


def test_board_left_open_after_the_session_ends_goes_to_the_login_page(client):
    response = client.get(reverse("board-rows"), headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("account_login"))


def test_watchers_silent_for_a_minute_show_a_red_banner_on_the_board(client, office):
    now = timezone.now()
    Heartbeat.objects.create(name="worker", at=now)
    Heartbeat.objects.create(name="sender", at=now)
    Heartbeat.objects.create(name="sweep", at=now)
    Heartbeat.objects.create(name="beat", at=now - datetime.timedelta(seconds=61))
    client.force_login(office)

    html = client.get(reverse("board-rows")).content.decode()

    assert "Overdue checks are not running" in html
    assert "Not heard from: the scheduler (beat)." in html


def test_no_banner_while_worker_and_beat_are_beating(client, office):
    _fresh_heartbeats(timezone.now())
    client.force_login(office)

    assert (
        "Overdue checks are not running" not in client.get(reverse("board-rows")).content.decode()
    )


def _board_with_visits(school, office, visitor, partner, count, now):
    """`count` visits on site today, made in bulk (the services are tested elsewhere)."""
    pupil = PupilFactory(school=school)
    start = now - datetime.timedelta(minutes=30)
    visits = Visit.objects.bulk_create(
        Visit(
            school=school,
            pupil=pupil,
            status=Status.ON_SITE,
            purpose="welfare_check",
            purpose_detail="Bulk",
            planned_start=start,
            expected_end=start + datetime.timedelta(minutes=60 + n % 90),
            reporting_arrangements="Phone",
            address="1 Road",
            visit_type="doorstop",
            created_by=office,
            arrived_at=start,
            next_deadline=start + datetime.timedelta(minutes=75 + n % 90),
            deadline_kind="return",
        )
        for n in range(count)
    )
    VisitStaff.objects.bulk_create(
        VisitStaff(visit=v, user=u, mobile="07700 900000", position=i)
        for v in visits
        for i, u in ((1, visitor), (2, partner))
    )
    assign_perm("visits.view_visit", school_oversight_group(school=school), Visit.objects.all())
    # A few with open alerts, at both steps.
    for visit in visits[:3]:
        Escalation.objects.create(school=school, visit=visit, kind=Kind.RETURN, deadline=now)
    Escalation.objects.filter(pk=Escalation.objects.first().pk).update(step=Step.POLICE)


@pytest.mark.parametrize("count", [5, 500])
def test_board_query_count_does_not_grow_with_visits(
    client, django_assert_max_num_queries, school, office, visitor, partner, count
):
    now = timezone.now()
    _board_with_visits(school, office, visitor, partner, count, now)
    client.force_login(office)

    with django_assert_max_num_queries(16):
        response = client.get(reverse("board-rows"))

    assert len(response.context["rows"]) == count


# Alerts: who may see and act (A8, E1) -------------------------------------------------------

ALERT_PAGES = ["escalation-detail", "escalation-police"]


@pytest.mark.parametrize("who", ["office", "head", "dsl", "deputy", "slt"])
@pytest.mark.parametrize("page", ALERT_PAGES)
def test_office_and_seniors_open_the_alert_pages(client, request, overdue, who, page):
    client.force_login(request.getfixturevalue(who))

    assert client.get(reverse(page, args=[overdue.pk])).status_code == 200


@pytest.mark.parametrize("who", ["visitor", "colleague", "school_admin", "outsider"])
@pytest.mark.parametrize("page", ALERT_PAGES)
def test_a8_others_get_not_found_for_alert_pages(client, request, overdue, who, page):
    client.force_login(request.getfixturevalue(who))

    assert client.get(reverse(page, args=[overdue.pk])).status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("escalation-ack", {}),
        ("escalation-call", {"outcome": "reached_safe"}),
        ("escalation-police-step", {"reason": "x"}),
        ("escalation-resolve", {"resolution": "Safe"}),
        ("escalation-police-called", {"reference": "X1"}),
    ],
)
def test_a8_outsider_cannot_act_on_an_alert(client, outsider, overdue, name, data):
    client.force_login(outsider)

    assert client.post(reverse(name, args=[overdue.pk]), data).status_code == 404
    overdue.refresh_from_db()
    assert overdue.acknowledged_at is None and overdue.is_open and overdue.step == Step.OFFICE


def test_acknowledging_from_the_board_stops_the_sound_and_records_who(client, office, overdue):
    client.force_login(office)

    response = client.post(
        reverse("escalation-ack", args=[overdue.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert "data-unacknowledged" not in response.content.decode()
    overdue.refresh_from_db()
    assert overdue.acknowledged_by == office


def test_e1_office_records_no_answer_then_cause_for_concern_raises_the_police_step(
    client, office, overdue
):
    client.force_login(office)
    url = reverse("escalation-call", args=[overdue.pk])

    client.post(url, {"outcome": "no_answer", "note": "Rang both mobiles."})
    overdue.refresh_from_db()
    assert overdue.step == Step.OFFICE

    response = client.post(url, {"outcome": "concern", "note": "Neighbour heard shouting."})
    assert response.status_code == 302
    overdue.refresh_from_db()
    assert overdue.step == Step.POLICE
    kinds = list(overdue.events.values_list("kind", flat=True))
    assert kinds.count("call") == 2 and "police_step" in kinds


def test_a_call_with_no_outcome_is_refused_on_the_form_keeping_the_note(client, office, overdue):
    client.force_login(office)

    response = client.post(
        reverse("escalation-call", args=[overdue.pk]), {"note": "Rang twice, voicemail"}
    )

    assert response.status_code == 400
    assert "Rang twice, voicemail" in response.content.decode()


def test_e2_police_call_is_refused_before_the_police_step_with_a_message(client, office, overdue):
    client.force_login(office)

    response = client.post(
        reverse("escalation-police-called", args=[overdue.pk]), {"reference": "SY-123"}, follow=True
    )

    assert response.status_code == 200
    assert "raise it first" in response.content.decode()
    overdue.refresh_from_db()
    assert overdue.police_reference == ""


def test_e2_police_instructions_hold_what_the_police_need(client, office, on_site, visitor):
    services.visit_need_help(
        visit=on_site,
        by=visitor,
        position={"lat": 53.3006, "lng": -1.4712, "accuracy": 20},
        now=on_site.planned_start + datetime.timedelta(minutes=10),
    )
    esc = Escalation.objects.get(visit=on_site)
    client.force_login(office)

    html = client.get(reverse("escalation-police", args=[esc.pk])).content.decode()

    assert "Call 999 now" in html
    for needed in (
        "Vic Visitor",
        "Pat Partner",
        "07700 900000",
        "AB12 CDE",
        "Blue Ford Fiesta",
        "12 Acacia Avenue",
        "53.3006",
        "Poppy Pupil",
        "0161 496 0000",
    ):
        assert needed in html, needed


# /healthz ---------------------------------------------------------------------------------


def test_healthz_answers_200_when_the_watch_is_running(client, db):
    _fresh_heartbeats(timezone.now())

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "down": []}


def test_healthz_answers_503_naming_the_silent_worker(client, db):
    now = timezone.now()
    Heartbeat.objects.create(name="worker", at=now - datetime.timedelta(minutes=5))
    Heartbeat.objects.create(name="sender", at=now)
    Heartbeat.objects.create(name="beat", at=now)
    Heartbeat.objects.create(name="sweep", at=now)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]


def test_healthz_names_the_broker_when_it_cannot_be_reached(client, db, monkeypatch):
    _fresh_heartbeats(timezone.now())
    monkeypatch.setattr("escalation.views._broker_ok", lambda: False)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


# The staff's screen ------------------------------------------------------------------------


def test_d1_staff_check_in_on_their_phone_with_its_position(client, visitor, authorised_visit):
    with time_machine.travel(authorised_visit.planned_start, tick=False):
        client.force_login(visitor)
        page = client.get(reverse("visit-on", args=[authorised_visit.pk]))
        assert "Arrived" in page.content.decode()
        response = client.post(
            reverse("visit-check-in", args=[authorised_visit.pk, "arrive"]),
            {"lat": "53.3", "lng": "-1.47", "accuracy": "12"},
        )

    assert response.status_code == 302
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.ON_SITE
    assert authorised_visit.last_position["lat"] == 53.3


@pytest.mark.parametrize("who", ["colleague", "outsider", "school_admin"])
def test_a8_people_not_on_the_visit_get_not_found_for_its_check_in_screen(
    client, request, authorised_visit, who
):
    client.force_login(request.getfixturevalue(who))

    assert client.get(reverse("visit-on", args=[authorised_visit.pk])).status_code == 404
    response = client.post(reverse("visit-check-in", args=[authorised_visit.pk, "arrive"]))
    assert response.status_code == 404
    assert client.post(reverse("visit-help", args=[authorised_visit.pk])).status_code == 404


def test_an_unknown_check_in_is_not_found_not_a_server_error(client, visitor, authorised_visit):
    client.force_login(visitor)

    response = client.post(reverse("visit-check-in", args=[authorised_visit.pk, "teleport"]))

    assert response.status_code == 404


def test_d1_the_office_cannot_tap_arrived_for_staff(client, office, authorised_visit):
    with time_machine.travel(authorised_visit.planned_start, tick=False):
        client.force_login(office)
        response = client.post(
            reverse("visit-check-in", args=[authorised_visit.pk, "arrive"]), follow=True
        )

    assert "Only the staff on this visit can check it in (D1)." in response.content.decode()
    authorised_visit.refresh_from_db()
    assert authorised_visit.status == Status.AUTHORISED


def test_e3_i_need_help_asks_to_confirm_then_raises_the_police_step(client, visitor, on_site):
    url = reverse("visit-help", args=[on_site.pk])
    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=5), tick=False):
        client.force_login(visitor)
        confirm = client.get(url)
        assert "Yes, I need help now" in confirm.content.decode()
        assert not Escalation.objects.exists()  # a GET alone raises nothing

        response = client.post(url, follow=True)

    assert "Help is on its way" in response.content.decode()
    assert Escalation.objects.get(visit=on_site).step == Step.POLICE


def test_e3_the_partner_sees_the_help_call_on_their_screen(client, visitor, partner, on_site):
    services.visit_need_help(visit=on_site, by=visitor, now=on_site.planned_start)
    client.force_login(partner)

    html = client.get(reverse("visit-on", args=[on_site.pk])).content.decode()

    assert "Police step raised by Vic Visitor" in html


def test_d2_an_extension_without_a_reason_is_refused_on_the_form(client, visitor, on_site):
    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=30), tick=False):
        client.force_login(visitor)
        response = client.post(reverse("visit-extend", args=[on_site.pk]), {"minutes": "30"})

    assert response.status_code == 400
    on_site.refresh_from_db()
    assert on_site.extended_until is None


def test_d3_calling_off_for_other_reasons_keeps_what_was_typed_when_refused(
    client, visitor, on_site
):
    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=5), tick=False):
        client.force_login(visitor)
        response = client.post(
            reverse("visit-door", args=[on_site.pk]), {"reason": "bogus", "note": "Gate locked"}
        )

    assert response.status_code == 400
    assert "Gate locked" in response.content.decode()
    on_site.refresh_from_db()
    assert on_site.status == Status.ON_SITE


def test_e3_office_records_the_code_word_and_lands_on_the_police_instructions(
    client, office, on_site
):
    client.force_login(office)

    response = client.post(reverse("visit-code-word", args=[on_site.pk]))

    esc = Escalation.objects.get(visit=on_site)
    assert response.url == reverse("escalation-police", args=[esc.pk])
    assert esc.step == Step.POLICE and esc.kind == Kind.CODE_WORD


def test_e3_visiting_staff_cannot_record_the_code_word_for_the_office(client, visitor, on_site):
    client.force_login(visitor)

    client.post(reverse("visit-code-word", args=[on_site.pk]))

    assert not Escalation.objects.exists()


# Drills --------------------------------------------------------------------------------------


def test_headteacher_starts_a_drill_that_shows_as_a_drill_on_the_board(
    client, head, office, school
):
    client.force_login(head)
    response = client.post(reverse("drill-start"), {"school": school.pk})
    esc = Escalation.objects.get()
    assert response.url == esc.get_absolute_url() and esc.is_drill

    client.force_login(office)
    html = client.get(reverse("board-rows")).content.decode()
    assert "DRILL" in html


def test_the_office_cannot_start_a_drill(client, office, school):
    client.force_login(office)

    client.post(reverse("drill-start"), {"school": school.pk})

    assert not Escalation.objects.exists()


def test_a_drill_for_a_school_that_does_not_exist_is_not_found(client, head):
    client.force_login(head)

    assert client.post(reverse("drill-start"), {"school": "999999"}).status_code == 404
    assert client.post(reverse("drill-start"), {"school": "abc"}).status_code == 400


# The admin --------------------------------------------------------------------------------


def test_a8_alerts_in_the_admin_only_for_the_office_and_seniors_of_their_school(
    client, overdue, head, outsider
):
    for person in (head, outsider):
        person.is_staff = person.is_superuser = True
        person.save()

    client.force_login(head)
    assert (
        client.get(reverse("admin:escalation_escalation_changelist")).context["cl"].result_count
        == 1
    )
    client.force_login(outsider)
    assert (
        client.get(reverse("admin:escalation_escalation_changelist")).context["cl"].result_count
        == 0
    )
    url = reverse("admin:escalation_escalation_change", args=[overdue.pk])
    assert client.get(url).status_code == 302  # the admin's "does not exist" redirect


def test_d2_office_records_an_extension_for_staff_who_phoned(client, office, on_site):
    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=50), tick=False):
        client.force_login(office)
        page = client.get(reverse("visit-detail", args=[on_site.pk])).content.decode()
        assert "running longer" in page
        response = client.post(
            reverse("visit-extend", args=[on_site.pk]),
            {"minutes": "30", "reason": "Mother asked to show the new care plan."},
        )

    assert response.url == reverse("visit-detail", args=[on_site.pk])
    on_site.refresh_from_db()
    assert on_site.extended_until == on_site.expected_end + datetime.timedelta(minutes=30)
    event = on_site.events.get(kind="extended")
    assert event.by == office and "care plan" in event.message


def test_a8_visiting_staff_do_not_get_links_to_the_office_alert_pages(client, visitor, overdue):
    with time_machine.travel(overdue.raised_at, tick=False):
        client.force_login(visitor)
        page = client.get(reverse("visit-detail", args=[overdue.visit_id])).content.decode()

    assert reverse("escalation-detail", args=[overdue.pk]) not in page


def test_p11_the_schedule_keeps_a_visit_while_staff_are_out_on_it(client, office, on_site):
    day = timezone.localtime(on_site.planned_start).date()
    with time_machine.travel(on_site.planned_start, tick=False):
        client.force_login(office)
        response = client.get(reverse("schedule") + f"?day={day.isoformat()}")

    [(_, visits), _] = response.context["days"]
    assert [v.pk for v in visits] == [on_site.pk]


def test_school_admin_starts_a_drill_from_the_admin_and_the_office_sees_it(
    client, school_admin, office, school
):
    from .test_admin import as_school_admin

    client.force_login(as_school_admin(school_admin))
    response = client.post(
        reverse("admin:schools_school_changelist"),
        {"action": "start_drill", "_selected_action": [school.pk]},
        follow=True,
    )

    assert "Drill started at" in response.content.decode()
    esc = Escalation.objects.get()
    assert esc.is_drill and esc.raised_by == school_admin and esc.kind == Kind.DRILL
    client.force_login(office)
    assert "DRILL" in client.get(reverse("board-rows")).content.decode()


def test_a_school_admin_cannot_start_a_drill_at_another_school(client, school_admin, other_school):
    from .test_admin import as_school_admin

    client.force_login(as_school_admin(school_admin))
    client.post(
        reverse("admin:schools_school_changelist"),
        {"action": "start_drill", "_selected_action": [other_school.pk]},
    )

    assert not Escalation.objects.exists()


# Less travelled paths a user still touches ---------------------------------------------------


def test_e2_office_raises_the_police_step_by_hand_without_waiting(client, office, overdue):
    client.force_login(office)

    response = client.post(
        reverse("escalation-police-step", args=[overdue.pk]), {"reason": "Neighbour rang: shouting"}
    )

    assert response.url == overdue.get_absolute_url()
    overdue.refresh_from_db()
    assert overdue.step == Step.POLICE
    assert "Neighbour rang: shouting" in overdue.police_step_reason


def test_resolving_needs_where_the_staff_are_and_then_watches_them_until_then(
    client, office, overdue
):
    url = reverse("escalation-resolve", args=[overdue.pk])
    with time_machine.travel(overdue.raised_at + datetime.timedelta(minutes=3), tick=False):
        client.force_login(office)
        refused = client.post(url, {"note": "Vic rang back"})
        assert refused.status_code == 302
        overdue.refresh_from_db()
        assert overdue.is_open  # "Say where the staff are"
        missing = client.post(url, {"whereabouts": "staying", "note": "Vic rang back"})
        assert missing.status_code == 400
        assert "Say until when they are staying" in missing.content.decode()
        until = timezone.localtime() + datetime.timedelta(minutes=45)
        client.post(
            url,
            {
                "whereabouts": "staying",
                "until": f"{until:%H:%M}",
                "note": "Vic rang back: meeting ran on, both fine.",
            },
        )
    overdue.refresh_from_db()
    visit = Visit.objects.get(pk=overdue.visit_id)
    assert not overdue.is_open and overdue.resolved_by == office
    # Staying: watched again until the time they gave, plus the grace period (E1).
    staying = until.replace(second=0, microsecond=0)
    assert visit.next_deadline == staying + datetime.timedelta(minutes=visit.school.grace_minutes)


def test_d1_office_records_staff_who_phoned_to_say_they_have_left(client, office, on_site):
    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=50), tick=False):
        client.force_login(office)
        client.post(reverse("visit-complete", args=[on_site.pk]))

    on_site.refresh_from_db()
    assert on_site.status == Status.COMPLETED and on_site.next_deadline is None
    event = on_site.events.get(kind="left")
    assert event.by == office and "phoned in" in event.message


def test_d5_felt_unsafe_at_the_door_from_the_phone_ends_the_visit_and_tells_the_head(
    client, visitor, head, on_site
):
    from escalation.selectors import messages_for_visit

    with time_machine.travel(on_site.planned_start + datetime.timedelta(minutes=5), tick=False):
        client.force_login(visitor)
        response = client.post(
            reverse("visit-door", args=[on_site.pk]),
            {"reason": "felt_unsafe", "note": "Man at the door shouting."},
        )

    assert response.url == reverse("visit-on", args=[on_site.pk])
    on_site.refresh_from_db()
    assert on_site.status == Status.CANCELLED and on_site.left_at is not None
    assert messages_for_visit(on_site).filter(recipient=head).exists()


def test_heartbeat_check_command_fails_while_beat_is_silent(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No beat heartbeat"):
        call_command("heartbeat_check", "beat")
    Heartbeat.objects.create(name="beat", at=timezone.now())
    call_command("heartbeat_check", "beat")
