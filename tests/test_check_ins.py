"""On the day: staff set off, arrive, extend, leave or call a visit off at the door (D1-D6).

Every move goes through visits/services/checkins.py with `now` given, relative to the visit's
planned start; the overdue deadline it leaves behind is what the escalation sweep reads (E1).
"""

import datetime

import pytest

from escalation.selectors import messages_for_visit
from notifications.models import Channel
from schools.models import StaffProfile
from visits import services
from visits.models import DeadlineKind, DoorReason, EventKind, Status, Visit
from visits.rules import EARLY_START, RuleBroken

MINUTE = datetime.timedelta(minutes=1)
MANCHESTER = {"lat": 53.4808, "lng": -2.2426, "accuracy": 12.4}


def _minutes(n):
    return datetime.timedelta(minutes=n)


def _fresh(visit):
    return Visit.objects.get(pk=visit.pk)


def _events(visit, kind):
    return list(visit.events.filter(kind=kind))


def _give_own_mobiles(*people):
    """Each person their own mobile, so one SMS row per person (rows are keyed by address)."""
    for n, person in enumerate(people, start=1):
        StaffProfile.objects.filter(user=person).update(mobile=f"07700 9001{n:02d}")


@pytest.fixture
def start(authorised_visit):
    return authorised_visit.planned_start


@pytest.fixture
def on_site_visit(authorised_visit, visitor, start):
    return services.visit_arrive(visit=authorised_visit, by=visitor, now=start + _minutes(5))


# D1: set off, arrive, leave ----------------------------------------------------------------


def test_d1_authorised_visit_is_watched_for_arrival_at_start_plus_the_schools_tolerance(
    visit, head, school
):
    school.arrival_tolerance_minutes = 25
    school.save()
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    visit = _fresh(visit)
    assert visit.deadline_kind == DeadlineKind.ARRIVAL
    assert visit.next_deadline == visit.planned_start + _minutes(25)


def test_d1_setting_off_puts_staff_on_the_way_and_keeps_the_arrival_deadline_from_the_plan(
    authorised_visit, visitor, start
):
    now = start - _minutes(20)
    services.visit_set_off(visit=authorised_visit, by=visitor, now=now)

    visit = _fresh(authorised_visit)
    assert visit.status == Status.ON_THE_WAY
    assert visit.set_off_at == now
    assert visit.last_seen_at == now
    assert visit.deadline_kind == DeadlineKind.ARRIVAL
    assert visit.next_deadline == start + _minutes(15)
    [event] = _events(visit, EventKind.SET_OFF)
    assert (event.by, event.at, event.from_status, event.to_status) == (
        visitor,
        now,
        Status.AUTHORISED,
        Status.ON_THE_WAY,
    )


def test_d1_arriving_starts_the_return_deadline_at_expected_end_plus_grace(
    authorised_visit, visitor, school, start
):
    school.grace_minutes = 20
    school.save()
    services.visit_set_off(visit=authorised_visit, by=visitor, now=start - _minutes(20))
    now = start + _minutes(3)
    services.visit_arrive(visit=authorised_visit, by=visitor, now=now)

    visit = _fresh(authorised_visit)
    assert visit.status == Status.ON_SITE
    assert visit.arrived_at == now
    assert visit.last_seen_at == now
    assert visit.deadline_kind == DeadlineKind.RETURN
    assert visit.next_deadline == visit.expected_end + _minutes(20)
    [event] = _events(visit, EventKind.ARRIVED)
    assert (event.by, event.from_status, event.to_status) == (
        visitor,
        Status.ON_THE_WAY,
        Status.ON_SITE,
    )


def test_d1_staff_may_report_arriving_without_having_set_off(authorised_visit, partner, start):
    services.visit_arrive(visit=authorised_visit, by=partner, now=start)
    visit = _fresh(authorised_visit)
    assert visit.status == Status.ON_SITE
    assert visit.set_off_at is None
    assert visit.deadline_kind == DeadlineKind.RETURN


def test_d1_leaving_completes_the_visit_and_ends_the_watch(on_site_visit, partner, start):
    now = start + _minutes(55)
    services.visit_leave(visit=on_site_visit, by=partner, now=now)

    visit = _fresh(on_site_visit)
    assert visit.status == Status.COMPLETED
    assert visit.left_at == now
    assert visit.completed_at == now
    assert visit.last_seen_at == now
    assert visit.next_deadline is None
    assert visit.deadline_kind == ""
    [event] = _events(visit, EventKind.LEFT)
    assert (event.by, event.from_status, event.to_status, event.message) == (
        partner,
        Status.ON_SITE,
        Status.COMPLETED,
        "",
    )


MOVES = {
    "set_off": (services.visit_set_off, EventKind.SET_OFF, "set_off_at", Status.ON_THE_WAY),
    "arrive": (services.visit_arrive, EventKind.ARRIVED, "arrived_at", Status.ON_SITE),
    "leave": (services.visit_leave, EventKind.LEFT, "left_at", Status.COMPLETED),
}


@pytest.mark.parametrize("move", MOVES)
def test_d1_repeating_a_check_in_changes_nothing_and_writes_one_event(
    authorised_visit, visitor, start, move
):
    check_in, kind, stamp, status = MOVES[move]
    first = start + _minutes(5)
    check_in(visit=authorised_visit, by=visitor, now=first)
    before = _fresh(authorised_visit)

    check_in(visit=authorised_visit, by=visitor, now=first + _minutes(7))

    visit = _fresh(authorised_visit)
    assert visit.status == status
    assert getattr(visit, stamp) == first
    assert visit.last_seen_at == first
    assert visit.next_deadline == before.next_deadline
    assert len(_events(visit, kind)) == 1


@pytest.mark.parametrize("person", ["colleague", "outsider", "office"])
@pytest.mark.parametrize("move", ["set_off", "arrive", "help"])
def test_d1_only_the_staff_on_the_visit_set_off_arrive_or_call_for_help(
    request, authorised_visit, start, person, move
):
    someone = request.getfixturevalue(person)
    check_in = {
        "set_off": services.visit_set_off,
        "arrive": services.visit_arrive,
        "help": services.visit_need_help,
    }[move]
    events_before = authorised_visit.events.count()

    with pytest.raises(RuleBroken, match=r"Only the staff on this visit can check it in \(D1\)"):
        check_in(visit=authorised_visit, by=someone, now=start)

    visit = _fresh(authorised_visit)
    assert visit.status == Status.AUTHORISED
    assert visit.last_seen_at is None
    assert visit.events.count() == events_before
    assert not visit.escalations.exists()


@pytest.mark.parametrize("person", ["colleague", "outsider"])
@pytest.mark.parametrize("move", ["leave", "extend"])
def test_d1_d2_leaving_and_extending_are_recorded_only_by_the_staff_or_the_office(
    request, on_site_visit, start, person, move
):
    someone = request.getfixturevalue(person)
    now = start + _minutes(50)
    with pytest.raises(RuleBroken, match=r"Only the staff on this visit or the office"):
        if move == "leave":
            services.visit_leave(visit=on_site_visit, by=someone, now=now)
        else:
            services.visit_extend(
                visit=on_site_visit, by=someone, minutes=15, reason="Running late", now=now
            )
    visit = _fresh(on_site_visit)
    assert visit.status == Status.ON_SITE
    assert visit.extended_until is None


@pytest.mark.parametrize(
    "check_in", [services.visit_set_off, services.visit_arrive, services.visit_leave]
)
def test_p1_a_visit_awaiting_authorisation_cannot_be_started(visit, visitor, check_in):
    with pytest.raises(RuleBroken, match=r"Only an authorised visit can be started \(P1\)"):
        check_in(visit=visit, by=visitor, now=visit.planned_start)
    visit = _fresh(visit)
    assert visit.status == Status.SUBMITTED
    assert visit.next_deadline is None


@pytest.mark.parametrize(
    "check_in, then",
    [(services.visit_set_off, Status.ON_THE_WAY), (services.visit_arrive, Status.ON_SITE)],
)
def test_d1_checking_in_more_than_two_hours_before_the_start_is_refused(
    authorised_visit, visitor, start, check_in, then
):
    with pytest.raises(RuleBroken, match=r"check in on the day \(D1\)"):
        check_in(visit=authorised_visit, by=visitor, now=start - EARLY_START - MINUTE)
    assert _fresh(authorised_visit).status == Status.AUTHORISED

    check_in(visit=authorised_visit, by=visitor, now=start - EARLY_START)
    assert _fresh(authorised_visit).status == then


def test_d1_the_office_may_record_leaving_for_staff_who_phoned_in(
    on_site_visit, office, visitor, start
):
    arrived = on_site_visit.arrived_at
    now = start + _minutes(58)
    services.visit_leave(visit=on_site_visit, by=office, position=MANCHESTER, now=now)

    visit = _fresh(on_site_visit)
    assert visit.status == Status.COMPLETED
    assert visit.left_at == now
    assert visit.next_deadline is None
    # The office's own position is not the staff's last known location.
    assert visit.last_seen_at == arrived
    assert visit.last_position is None
    [event] = _events(visit, EventKind.LEFT)
    assert event.by == office
    assert "Recorded by the office" in event.message
    assert event.data == {}


def test_d1_the_office_cannot_record_leaving_before_the_visit_has_started(
    authorised_visit, office, start
):
    with pytest.raises(RuleBroken, match="has not started yet"):
        services.visit_leave(visit=authorised_visit, by=office, now=start - _minutes(30))
    assert _fresh(authorised_visit).status == Status.AUTHORISED


def test_d1_a_check_in_keeps_the_position_as_the_last_known_location(
    authorised_visit, visitor, start
):
    now = start + _minutes(2)
    services.visit_arrive(visit=authorised_visit, by=visitor, position=MANCHESTER, now=now)

    visit = _fresh(authorised_visit)
    assert visit.last_position == {
        "lat": 53.4808,
        "lng": -2.2426,
        "accuracy": 12,
        "at": now.isoformat(),
        "by": visitor.pk,
    }
    [event] = _events(visit, EventKind.ARRIVED)
    assert event.data == {"position": {"lat": 53.4808, "lng": -2.2426, "accuracy": 12}}


@pytest.mark.parametrize(
    "position",
    [
        {"lat": "north", "lng": -2.2},
        {"lat": 91, "lng": -2.2},
        {"lat": 53.5, "lng": 181},
        {"lat": 0, "lng": 0},
        {"lng": -2.2},
        "Acacia Avenue",
        [53.5, -2.2],
    ],
    ids=["words", "lat-out-of-range", "lng-out-of-range", "null-island", "no-lat", "text", "list"],
)
def test_d1_a_nonsense_position_is_ignored_and_the_last_good_one_kept(
    authorised_visit, visitor, start, position
):
    services.visit_set_off(
        visit=authorised_visit, by=visitor, position=MANCHESTER, now=start - _minutes(15)
    )
    good = _fresh(authorised_visit).last_position

    now = start + _minutes(1)
    services.visit_arrive(visit=authorised_visit, by=visitor, position=position, now=now)

    visit = _fresh(authorised_visit)
    assert visit.status == Status.ON_SITE
    assert visit.last_seen_at == now
    assert visit.last_position == good
    [event] = _events(visit, EventKind.ARRIVED)
    assert "position" not in event.data


@pytest.mark.parametrize("accuracy", ["nan", "inf"])
def test_d1_a_position_with_a_nonsense_accuracy_does_not_stop_the_check_in(
    authorised_visit, visitor, start, accuracy
):
    position = {"lat": 53.4808, "lng": -2.2426, "accuracy": accuracy}
    services.visit_arrive(visit=authorised_visit, by=visitor, position=position, now=start)

    visit = _fresh(authorised_visit)
    assert visit.status == Status.ON_SITE
    assert visit.last_position is None
    [event] = _events(visit, EventKind.ARRIVED)
    assert "position" not in event.data


# D2: extensions ----------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_d2_extending_moves_the_return_deadline(on_site_visit, visitor, start, minutes):
    end = on_site_visit.expected_end
    now = start + _minutes(50)
    services.visit_extend(
        visit=on_site_visit, by=visitor, minutes=minutes, reason="Mum arrived late", now=now
    )

    visit = _fresh(on_site_visit)
    assert visit.extended_until == end + _minutes(minutes)
    assert visit.next_deadline == end + _minutes(minutes + 15)
    assert visit.deadline_kind == DeadlineKind.RETURN
    assert visit.last_seen_at == now
    [event] = _events(visit, EventKind.EXTENDED)
    assert event.by == visitor
    assert f"Extended by {minutes} minutes" in event.message
    assert "Mum arrived late" in event.message
    assert event.data["minutes"] == minutes


def test_d2_extending_after_the_expected_end_counts_from_now(on_site_visit, visitor):
    now = on_site_visit.expected_end + _minutes(10)
    services.visit_extend(
        visit=on_site_visit, by=visitor, minutes=15, reason="Still talking", now=now
    )
    visit = _fresh(on_site_visit)
    assert visit.extended_until == now + _minutes(15)
    assert visit.next_deadline == now + _minutes(30)


def test_d2_a_second_extension_adds_to_the_first(on_site_visit, partner, start):
    end = on_site_visit.expected_end
    services.visit_extend(
        visit=on_site_visit, by=partner, minutes=15, reason="Forms", now=start + _minutes(50)
    )
    services.visit_extend(
        visit=on_site_visit, by=partner, minutes=30, reason="More forms", now=start + _minutes(70)
    )
    visit = _fresh(on_site_visit)
    assert visit.extended_until == end + _minutes(45)
    assert visit.next_deadline == end + _minutes(60)
    assert len(_events(visit, EventKind.EXTENDED)) == 2


@pytest.mark.parametrize("minutes", [0, 10, 45, 90, -15])
def test_d2_an_extension_other_than_15_30_or_60_minutes_is_refused(
    on_site_visit, visitor, start, minutes
):
    deadline = on_site_visit.next_deadline
    with pytest.raises(RuleBroken, match=r"15, 30 or 60 minutes \(D2\)"):
        services.visit_extend(
            visit=on_site_visit, by=visitor, minutes=minutes, reason="Late", now=start
        )
    visit = _fresh(on_site_visit)
    assert visit.extended_until is None
    assert visit.next_deadline == deadline
    assert not _events(visit, EventKind.EXTENDED)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_d2_an_extension_needs_a_reason(on_site_visit, visitor, start, reason):
    deadline = on_site_visit.next_deadline
    with pytest.raises(RuleBroken, match=r"Say why the visit is running longer \(D2\)"):
        services.visit_extend(visit=on_site_visit, by=visitor, minutes=30, reason=reason, now=start)
    visit = _fresh(on_site_visit)
    assert visit.extended_until is None
    assert visit.next_deadline == deadline


def test_d2_the_office_may_record_an_extension_staff_phoned_in(on_site_visit, office, start):
    arrived = on_site_visit.arrived_at
    services.visit_extend(
        visit=on_site_visit, by=office, minutes=30, reason="Phoned: parent upset", now=start
    )
    visit = _fresh(on_site_visit)
    assert visit.extended_until == visit.expected_end + _minutes(30)
    assert visit.last_seen_at == arrived
    [event] = _events(visit, EventKind.EXTENDED)
    assert event.by == office


def test_d2_only_a_visit_under_way_at_the_address_can_be_extended(authorised_visit, visitor, start):
    with pytest.raises(RuleBroken, match="authorised"):
        services.visit_extend(
            visit=authorised_visit, by=visitor, minutes=15, reason="Traffic", now=start
        )
    assert _fresh(authorised_visit).extended_until is None


# D3-D6: called off at the door ------------------------------------------------------------


@pytest.mark.parametrize("reason", DoorReason.values)
def test_d3_d6_calling_a_visit_off_at_the_door_cancels_it_with_the_reason(
    on_site_visit, visitor, start, reason
):
    now = start + _minutes(15)
    services.visit_cancel_at_door(
        visit=on_site_visit, by=visitor, reason=reason, note="Curtains drawn", now=now
    )

    visit = _fresh(on_site_visit)
    label = DoorReason(reason).label
    assert visit.status == Status.CANCELLED
    assert visit.door_reason == reason
    assert visit.cancel_reason == f"{label}. Curtains drawn"
    assert visit.cancelled_at == now
    assert visit.left_at == now
    assert visit.next_deadline is None
    [event] = _events(visit, EventKind.CANCELLED_AT_DOOR)
    assert (event.by, event.from_status, event.to_status) == (
        visitor,
        Status.ON_SITE,
        Status.CANCELLED,
    )
    assert event.message == visit.cancel_reason
    assert event.data["reason"] == reason


@pytest.mark.parametrize(
    ("reason", "told", "subject_has"),
    [
        (DoorReason.FELT_UNSAFE, {"head"}, "called off for safety"),
        (DoorReason.ANIMALS, {"head"}, "called off for safety"),
        (DoorReason.CHILD_ALONE, {"head", "dsl", "deputy"}, "A child may be at risk"),
    ],
)
def test_d5_d6_a_visit_called_off_for_safety_is_reported_to_the_headteacher(
    request,
    on_site_visit,
    visitor,
    head,
    dsl,
    deputy,
    slt,
    office,
    start,
    reason,
    told,
    subject_has,
):
    _give_own_mobiles(head, dsl, deputy, slt, office)
    now = start + _minutes(4)
    services.visit_cancel_at_door(visit=on_site_visit, by=visitor, reason=reason, now=now)

    people = {request.getfixturevalue(name) for name in told}
    rows = messages_for_visit(on_site_visit)
    assert {row.recipient for row in rows} == people
    for person in people:
        assert {row.channel for row in rows if row.recipient == person} == {
            Channel.EMAIL,
            Channel.SMS,
        }
    assert all(subject_has in row.subject for row in rows)
    assert all(row.about == on_site_visit for row in rows)  # the visit, not an alert
    [event] = _events(on_site_visit, EventKind.SAFETY_REPORTED)
    assert event.by == visitor
    for person in people:
        assert person.get_full_name() in event.message


@pytest.mark.parametrize("reason", [DoorReason.PARENT_ABSENT, DoorReason.PARENT_LATE])
def test_d3_parent_absent_or_late_is_not_reported_as_a_safety_matter(
    on_site_visit, visitor, head, dsl, start, reason
):
    services.visit_cancel_at_door(
        visit=on_site_visit, by=visitor, reason=reason, now=start + _minutes(12)
    )
    assert _fresh(on_site_visit).status == Status.CANCELLED
    assert not messages_for_visit(on_site_visit).exists()
    assert not _events(on_site_visit, EventKind.SAFETY_REPORTED)


@pytest.mark.parametrize("note", ["", "  "])
def test_d3_calling_off_for_another_reason_needs_a_note(on_site_visit, visitor, start, note):
    with pytest.raises(RuleBroken, match="Say why the visit was called off"):
        services.visit_cancel_at_door(
            visit=on_site_visit, by=visitor, reason=DoorReason.OTHER, note=note, now=start
        )
    assert _fresh(on_site_visit).status == Status.ON_SITE


def test_d3_a_reason_not_in_the_list_is_refused(on_site_visit, visitor, start):
    with pytest.raises(RuleBroken, match="Choose why"):
        services.visit_cancel_at_door(
            visit=on_site_visit, by=visitor, reason="bored", note="x", now=start
        )
    assert _fresh(on_site_visit).status == Status.ON_SITE


def test_d5_calling_off_twice_reports_once(on_site_visit, visitor, partner, head, start):
    for by in (visitor, partner):
        services.visit_cancel_at_door(
            visit=on_site_visit, by=by, reason=DoorReason.FELT_UNSAFE, now=start + _minutes(3)
        )
    assert len(_events(on_site_visit, EventKind.CANCELLED_AT_DOOR)) == 1
    assert len(_events(on_site_visit, EventKind.SAFETY_REPORTED)) == 1
    assert messages_for_visit(on_site_visit).count() == 2  # head: email + SMS


@pytest.mark.parametrize("person", ["office", "colleague"])
def test_d3_only_the_staff_at_the_door_call_the_visit_off_there(
    request, on_site_visit, start, person
):
    with pytest.raises(RuleBroken, match=r"\(D1\)"):
        services.visit_cancel_at_door(
            visit=on_site_visit,
            by=request.getfixturevalue(person),
            reason=DoorReason.PARENT_ABSENT,
            now=start + _minutes(12),
        )
    assert _fresh(on_site_visit).status == Status.ON_SITE


def test_d3_a_visit_can_be_called_off_at_the_door_before_arriving_is_reported(
    authorised_visit, partner, start
):
    services.visit_set_off(visit=authorised_visit, by=partner, now=start - _minutes(10))
    services.visit_cancel_at_door(
        visit=authorised_visit, by=partner, reason=DoorReason.PARENT_ABSENT, now=start
    )
    visit = _fresh(authorised_visit)
    assert visit.status == Status.CANCELLED
    assert visit.next_deadline is None
