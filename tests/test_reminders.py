"""Reminders (A7): late minutes, overdue actions and missing debriefs (A6) are chased first with
the person responsible, then with the DSL and deputies; each reminder once a day per person.

Times are given with `now=` on a fixed fortnight (Mon 16 - Fri 27 Nov 2026, Europe/London);
school days are Mon-Fri and nobody is chased at the weekend.
"""

import datetime
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Channel, Notification
from safeguarding import services as concern_services
from safeguarding import tasks
from safeguarding.models import Action, ActionStatus, Debrief, DebriefWith, Minutes
from safeguarding.services import minutes as minutes_services
from safeguarding.services.reminders import reminders_send, school_days_between
from schools.models import ClosureDay, Nation, Role, StaffProfile, Term
from visits import services
from visits.models import EventKind, Status, Visit

from .conftest import make_visit
from .factories import PupilFactory, member, next_weekday_at

LONDON = zoneinfo.ZoneInfo("Europe/London")
DISCUSSED = "Mum said Dad shouted at Poppy all weekend."
ACCOUNT = "Bruise on left cheek, seen at the door."
SECRET_ACTION = "Refer to children's social care about the bruise"


def at(day, hour, minute=0):
    """A London time in the week of Mon 16 Nov 2026 (day 16) to Fri 27 Nov (day 27)."""
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=LONDON)


MON, TUE, WED, THU, FRI, SAT, SUN = 16, 17, 18, 19, 20, 21, 22
NEXT_MON, NEXT_TUE, NEXT_WED, NEXT_THU = 23, 24, 25, 26


@pytest.fixture(autouse=True)
def _own_mobiles(office, dsl, deputy, head, slt, visitor, partner, colleague):
    """Each person their own mobile, so rows (keyed by address) are one per person."""
    for n, person in enumerate([office, dsl, deputy, head, slt, visitor, partner, colleague]):
        StaffProfile.objects.filter(user=person).update(mobile=f"07700 9001{n:02d}")


def ended(visit, when):
    """The visit left and completed at `when` (through the real services, then moved in time)."""
    start = visit.planned_start
    services.visit_arrive(visit=visit, by=visit.staff_members()[0], now=start)
    services.visit_leave(
        visit=visit, by=visit.staff_members()[0], now=start + datetime.timedelta(minutes=40)
    )
    Visit.objects.filter(pk=visit.pk).update(completed_at=when, left_at=when)
    return Visit.objects.get(pk=visit.pk)


@pytest.fixture
def completed(authorised_visit):
    """The visit of Mon 16 Nov, over at 15:00; nothing written yet."""
    return ended(authorised_visit, at(MON, 15))


def submitted(visit):
    minutes = Minutes.objects.create(
        visit=visit, started_by_id=visit.created_by_id, updated_by_id=visit.created_by_id
    )
    Minutes.objects.filter(pk=minutes.pk).update(status="submitted")
    return minutes


def debriefed(visit, by):
    return Debrief.objects.create(
        visit=visit,
        led_by=by,
        led_as=DebriefWith.DSL,
        held_at=visit.completed_at,
        agreed="Agreed.",
        recorded_by=by,
    )


def told(kind=None):
    """Who got an email reminder (of `kind`), as a set of usernames."""
    rows = Notification.objects.filter(channel=Channel.EMAIL, key__startswith="reminder:")
    if kind:
        rows = rows.filter(key__startswith=f"reminder:{kind}:")
    return {row.recipient.username for row in rows}


def told_on(day, kind=None):
    rows = Notification.objects.filter(channel=Channel.EMAIL, key__contains=f":2026-11-{day:02d}:")
    if kind:
        rows = rows.filter(key__startswith=f"reminder:{kind}:")
    return {row.recipient.username for row in rows}


def action(school, pupil, owner, due_on, *, by, concern=None, description="Phone Mum"):
    return Action.objects.create(
        school=school,
        pupil=pupil,
        owner=owner,
        due_on=due_on,
        created_by=by,
        concern=concern,
        description=description,
    )


# --- (a) Minutes not submitted 24 hours after the visit -------------------------------------


def test_a7_minutes_are_not_chased_before_24_hours(completed, dsl, deputy):
    assert reminders_send(now=at(TUE, 14, 59))["minutes"] == 0
    assert not Notification.objects.exists()


def test_a7_minutes_missing_24_hours_after_the_visit_are_chased_with_the_staff_on_it(
    completed, visitor, partner, dsl, deputy, head, office
):
    sent = reminders_send(now=at(TUE, 15, 1))

    assert sent["minutes"] == 1
    assert told("minutes") == {"visitor", "partner"}
    sms = Notification.objects.filter(channel=Channel.SMS, key__startswith="reminder:minutes:")
    assert {row.recipient.username for row in sms} == {"visitor", "partner"}


def test_a7_draft_minutes_are_chased_too(completed, visitor, partner, dsl):
    minutes_services.minutes_start(visit=completed, by=visitor, now=at(MON, 15))

    reminders_send(now=at(TUE, 16))

    assert told("minutes") == {"visitor", "partner"}


def test_a7_minutes_still_missing_at_48_hours_go_to_the_dsl_and_deputies_too(
    completed, visitor, partner, dsl, deputy, head, slt, office
):
    reminders_send(now=at(WED, 15, 1))

    assert told("minutes") == {"visitor", "partner", "dsl", "deputy"}


def test_a7_a_minutes_reminder_is_sent_once_a_day_and_again_the_next_day(
    completed, visitor, partner, dsl, deputy
):
    assert reminders_send(now=at(TUE, 15, 30))["minutes"] == 1
    count = Notification.objects.count()

    # Beat runs every 15 minutes: the rest of the day adds nothing.
    for hour in (15, 16, 17, 23):
        assert reminders_send(now=at(TUE, hour, 45))["minutes"] == 0
    assert Notification.objects.count() == count

    # The next morning (42 h: still only the staff) they are reminded again.
    assert reminders_send(now=at(WED, 9))["minutes"] == 1
    assert told_on(WED, "minutes") == {"visitor", "partner"}
    # From 48 h the same day, the DSL and deputies are told once; the staff not a second time.
    before = set(Notification.objects.values_list("pk", flat=True))
    assert reminders_send(now=at(WED, 15, 15))["minutes"] == 1
    new = Notification.objects.exclude(pk__in=before).filter(channel=Channel.EMAIL)
    assert {row.recipient.username for row in new} == {"dsl", "deputy"}
    assert reminders_send(now=at(WED, 15, 30))["minutes"] == 0


def test_a7_reminders_wait_for_the_working_day_not_the_first_sweep_after_midnight(
    completed, visitor, partner
):
    """Found in review: the day's first sweep at 00:05 texted staff mobiles."""
    assert reminders_send(now=at(TUE, 15, 30))["minutes"] == 1
    for hour, minute in ((0, 5), (6, 0), (7, 59)):
        assert reminders_send(now=at(WED, hour, minute))["minutes"] == 0
    assert reminders_send(now=at(WED, 8))["minutes"] == 1
    assert told_on(WED, "minutes") == {"visitor", "partner"}


def test_a7_submitted_minutes_are_not_chased(completed, visitor, dsl):
    submitted(completed)

    assert reminders_send(now=at(WED, 16))["minutes"] == 0
    assert told("minutes") == set()


@pytest.mark.parametrize("status", [Status.CLOSED, Status.CANCELLED])
def test_a7_closed_and_cancelled_visits_are_never_chased(completed, visitor, dsl, status):
    Visit.objects.filter(pk=completed.pk).update(status=status)

    assert reminders_send(now=at(THU, 16)) == {"minutes": 0, "action": 0, "debrief": 0}
    assert not Notification.objects.exists()


def test_a7_a_visit_cancelled_before_it_happened_is_never_chased(visit, office, dsl):
    services.visit_cancel(visit=visit, by=office, reason="Family moved away.")

    reminders_send(now=visit.planned_start + datetime.timedelta(days=5))

    # Only the authorisers' email of when it was planned (escalation/notices.py); no reminder.
    assert not Notification.objects.exclude(key__startswith=f"visit:{visit.pk}:").exists()
    assert Notification.objects.filter(key__contains=":authorise:").exists()


def test_a7_nobody_is_chased_at_the_weekend_and_monday_catches_up(
    authorised_visit, visitor, partner, dsl, deputy
):
    ended(authorised_visit, at(FRI, 15))

    assert reminders_send(now=at(SAT, 16))["minutes"] == 0
    assert reminders_send(now=at(SUN, 16))["minutes"] == 0
    assert not Notification.objects.exists()

    reminders_send(now=at(NEXT_MON, 9))
    # 66 hours after the visit, but the first school day since: the staff first (A7) ...
    assert told("minutes") == {"visitor", "partner"}
    # ... and the DSL and deputies the school day after.
    reminders_send(now=at(NEXT_TUE, 9))
    assert told("minutes") == {"visitor", "partner", "dsl", "deputy"}


def test_a7_a8_a_minutes_reminder_links_to_the_visit_without_what_was_written(
    completed, visitor, dsl, deputy, pupil
):
    minutes = minutes_services.minutes_start(visit=completed, by=visitor, now=at(MON, 15))
    minutes_services.minutes_save_draft(
        minutes=minutes,
        by=visitor,
        changes={"discussed": {"base": "", "value": DISCUSSED}},
        now=at(MON, 15, 5),
    )
    concern_services.concern_raise(pupil=pupil, by=visitor, account=ACCOUNT, visit=completed)

    reminders_send(now=at(WED, 16))

    rows = Notification.objects.filter(key__startswith="reminder:")
    assert {row.recipient.username for row in rows} >= {"visitor", "dsl"}
    link = settings.SITE_URL + reverse("visit-detail", args=[completed.pk])
    for row in rows:
        assert link in row.body
        for secret in (
            DISCUSSED,
            "Dad",
            ACCOUNT,
            "Bruise",
            pupil.first_name,
            pupil.last_name,
            completed.code_word,
            completed.vehicle_registration,
        ):
            assert secret not in row.body and secret not in row.subject


def test_a7_a_reminder_is_on_the_visits_timeline_once_per_sweep_that_chased(
    completed, visitor, dsl
):
    reminders_send(now=at(TUE, 16))
    reminders_send(now=at(TUE, 17))

    [event] = completed.events.filter(kind=EventKind.NOTIFICATION_SENT)
    assert event.message.startswith("Reminder (A7): minutes not submitted")
    assert event.at == at(TUE, 16) and event.by is None


# --- (b) Actions past their due date ---------------------------------------------------------


@pytest.fixture
def overdue_setup(school, pupil, colleague, dsl, deputy, head, visitor):
    return school, pupil


def test_a7_an_action_is_not_chased_on_its_due_date(overdue_setup, colleague, dsl):
    school, pupil = overdue_setup
    action(school, pupil, colleague, datetime.date(2026, 11, TUE), by=dsl)

    assert reminders_send(now=at(TUE, 18))["action"] == 0


def test_a7_an_overdue_action_is_chased_with_its_owner_then_the_dsl_from_the_second_school_day(
    overdue_setup, colleague, dsl, deputy, head
):
    school, pupil = overdue_setup
    action(school, pupil, colleague, datetime.date(2026, 11, MON), by=head)

    assert reminders_send(now=at(TUE, 9))["action"] == 1
    assert told_on(TUE, "action") == {"colleague"}

    assert reminders_send(now=at(WED, 9))["action"] == 1
    assert told_on(WED, "action") == {"colleague", "dsl", "deputy"}
    assert reminders_send(now=at(WED, 9, 15))["action"] == 0


def test_a7_school_days_overdue_skip_the_weekend(overdue_setup, colleague, dsl, deputy, head):
    school, pupil = overdue_setup
    due_thursday = action(school, pupil, colleague, datetime.date(2026, 11, THU), by=head)
    due_friday = action(school, pupil, colleague, datetime.date(2026, 11, FRI), by=head)

    reminders_send(now=at(FRI, 9))
    assert told_on(FRI, "action") == {"colleague"}
    assert reminders_send(now=at(SAT, 9))["action"] == 0
    assert reminders_send(now=at(SUN, 9))["action"] == 0

    reminders_send(now=at(NEXT_MON, 9))
    monday = Notification.objects.filter(
        channel=Channel.EMAIL, key__contains=":2026-11-23:"
    ).values_list("key", "recipient__username")
    # Thursday's action: Fri and Mon are two school days overdue, so the DSL hears. Friday's:
    # Monday is its first school day overdue, so only the owner.
    assert {who for key, who in monday if f":action:{due_thursday.pk}:" in key} == {
        "colleague",
        "dsl",
        "deputy",
    }
    assert {who for key, who in monday if f":action:{due_friday.pk}:" in key} == {"colleague"}

    reminders_send(now=at(NEXT_TUE, 9))
    tuesday = Notification.objects.filter(
        channel=Channel.EMAIL, key__contains=f":action:{due_friday.pk}:2026-11-24:"
    )
    assert {row.recipient.username for row in tuesday} == {"colleague", "dsl", "deputy"}


def test_a7_school_days_between_counts_mondays_to_fridays_only():
    thursday, friday = datetime.date(2026, 11, THU), datetime.date(2026, 11, FRI)
    assert school_days_between(thursday, thursday) == 0
    assert school_days_between(thursday, friday) == 1
    assert school_days_between(friday, datetime.date(2026, 11, SUN)) == 0
    assert school_days_between(friday, datetime.date(2026, 11, NEXT_MON)) == 1
    assert school_days_between(thursday, datetime.date(2026, 11, NEXT_TUE)) == 3
    assert school_days_between(thursday, datetime.date(2027, 11, 1), at_most=2) == 2


def test_a7_done_actions_are_never_chased(overdue_setup, colleague, dsl, head):
    school, pupil = overdue_setup
    done = action(school, pupil, colleague, datetime.date(2026, 11, MON), by=head)
    Action.objects.filter(pk=done.pk).update(status=ActionStatus.DONE)

    assert reminders_send(now=at(THU, 9))["action"] == 0
    assert not Notification.objects.exists()


def test_a7_a8_an_action_reminder_names_no_description_pupil_or_concern(
    overdue_setup, colleague, dsl, deputy, visitor
):
    school, pupil = overdue_setup
    concern = concern_services.concern_raise(pupil=pupil, by=visitor, account=ACCOUNT)
    Notification.objects.all().delete()
    action(
        school,
        pupil,
        colleague,
        datetime.date(2026, 11, MON),
        by=dsl,
        concern=concern,
        description=SECRET_ACTION,
    )

    reminders_send(now=at(WED, 9))

    rows = list(Notification.objects.all())
    assert {row.recipient.username for row in rows} == {"colleague", "dsl", "deputy"}
    for row in rows:
        assert settings.SITE_URL + reverse("my-actions") in row.body
        for secret in (SECRET_ACTION, "social care", ACCOUNT, pupil.first_name, pupil.last_name):
            assert secret not in row.body and secret not in row.subject


def test_a7_an_owner_who_is_also_the_dsl_is_told_once(overdue_setup, dsl, deputy, head):
    school, pupil = overdue_setup
    action(school, pupil, dsl, datetime.date(2026, 11, MON), by=head)

    reminders_send(now=at(THU, 9))

    rows = Notification.objects.filter(channel=Channel.EMAIL)
    assert sorted(row.recipient.username for row in rows) == ["deputy", "dsl"]
    [own] = [row for row in rows if row.recipient == dsl]
    assert "An action you own" in own.body


# --- (c) Debrief not recorded within two school days ------------------------------------------


def test_a6_a7_a_missing_debrief_is_chased_after_two_school_days_then_with_the_dsl(
    completed, visitor, partner, dsl, deputy, head
):
    submitted(completed)  # so only the debrief is missing

    # Monday's visit: its debrief is due by the end of Wednesday.
    assert reminders_send(now=at(WED, 20))["debrief"] == 0
    assert reminders_send(now=at(THU, 9))["debrief"] == 1
    assert told_on(THU, "debrief") == {"visitor", "partner"}
    assert reminders_send(now=at(THU, 14))["debrief"] == 0
    assert reminders_send(now=at(FRI, 9))["debrief"] == 1
    assert told_on(FRI, "debrief") == {"visitor", "partner", "dsl", "deputy"}


def test_a6_a7_debrief_school_days_skip_the_weekend(authorised_visit, visitor, partner, dsl):
    visit = ended(authorised_visit, at(FRI, 15))
    submitted(visit)

    # Friday's visit: Monday and Tuesday are its two school days.
    for moment in (at(SAT, 12), at(SUN, 12), at(NEXT_MON, 12), at(NEXT_TUE, 20)):
        assert reminders_send(now=moment)["debrief"] == 0
    assert reminders_send(now=at(NEXT_WED, 9))["debrief"] == 1
    assert told_on(NEXT_WED, "debrief") == {"visitor", "partner"}
    reminders_send(now=at(NEXT_THU, 9))
    assert told_on(NEXT_THU, "debrief") == {"visitor", "partner", "dsl", "deputy"}


def test_a6_a7_a_recorded_debrief_is_not_chased(completed, visitor, dsl):
    debriefed(completed, dsl)

    reminders_send(now=at(FRI, 9))

    assert told("debrief") == set()
    # The minutes are still missing, and are chased.
    assert told("minutes") == {"visitor", "partner", "dsl", "deputy"}


def test_a6_a7_a_debrief_reminder_has_no_minutes_text(completed, visitor, dsl):
    minutes = minutes_services.minutes_start(visit=completed, by=visitor, now=at(MON, 15))
    minutes_services.minutes_save_draft(
        minutes=minutes,
        by=visitor,
        changes={"discussed": {"base": "", "value": DISCUSSED}},
        now=at(MON, 15, 5),
    )

    reminders_send(now=at(FRI, 9))

    rows = Notification.objects.filter(key__startswith="reminder:debrief:")
    assert rows.exists()
    for row in rows:
        assert "Dad" not in row.body and DISCUSSED not in row.body


# --- The sweep --------------------------------------------------------------------------------


def _many(count, *, pupil, office, visitor, partner, school, colleague, dsl):
    for index in range(count):
        start = next_weekday_at(9, days_ahead=1) + datetime.timedelta(minutes=15 * index)
        visit = make_visit(
            pupil=pupil,
            by=office,
            staff=[visitor, partner],
            details={"planned_start": start, "expected_end": start + datetime.timedelta(hours=1)},
        )
        Visit.objects.filter(pk=visit.pk).update(
            status=Status.COMPLETED, completed_at=at(MON, 15), left_at=at(MON, 15)
        )
        action(school, pupil, colleague, datetime.date(2026, 11, MON), by=dsl)


def _selects(now):
    with CaptureQueriesContext(connection) as captured:
        reminders_send(now=now)
    queries = [q["sql"].lstrip().upper() for q in captured]
    return (
        sum(q.startswith("SELECT") for q in queries),
        sum(q.startswith("INSERT") for q in queries),
    )


def test_a7_the_sweep_reads_a_fixed_number_of_queries_however_many_items(
    pupil, office, visitor, partner, school, colleague, dsl, deputy
):
    people = {
        "pupil": pupil,
        "office": office,
        "visitor": visitor,
        "partner": partner,
        "school": school,
        "colleague": colleague,
        "dsl": dsl,
    }
    _many(2, **people)
    few, _ = _selects(at(THU, 9))
    _many(8, **people)
    many, inserts = _selects(at(FRI, 9))

    assert many == few, f"{few} reads with 2 visits and actions, {many} with 10"
    assert Notification.objects.filter(key__contains=":2026-11-20:").exists()
    # A second sweep the same day reads the same and writes nothing.
    again, no_inserts = _selects(at(FRI, 9, 15))
    assert again == many and no_inserts == 0 and inserts > 0


def test_a7_the_sweep_stops_at_its_limit_and_the_next_sweep_goes_on(
    pupil, office, visitor, partner, school, colleague, dsl
):
    for _ in range(5):
        action(school, pupil, colleague, datetime.date(2026, 11, MON), by=dsl)

    assert reminders_send(now=at(TUE, 9), limit=2)["action"] == 2
    assert reminders_send(now=at(TUE, 9, 15), limit=2)["action"] == 2
    assert reminders_send(now=at(TUE, 9, 30), limit=2)["action"] == 1
    assert reminders_send(now=at(TUE, 9, 45), limit=2)["action"] == 0
    assert Notification.objects.filter(channel=Channel.EMAIL).count() == 5


def test_a7_the_beat_task_is_idempotent_within_a_day_and_sends_again_the_next(
    completed, visitor, partner, dsl, deputy, colleague, school, pupil
):
    action(school, pupil, colleague, datetime.date(2026, 11, MON), by=dsl)
    with time_machine.travel(at(WED, 16), tick=False):
        first = tasks.records_remind()
        count = Notification.objects.count()
        second = tasks.records_remind()
    assert first == {"minutes": 1, "action": 1, "debrief": 0}
    assert second == {"minutes": 0, "action": 0, "debrief": 0}
    assert Notification.objects.count() == count

    with time_machine.travel(at(THU, 9), tick=False):
        assert tasks.records_remind() == {"minutes": 1, "action": 1, "debrief": 1}
        thursday = Notification.objects.count()
        assert tasks.records_remind() == {"minutes": 0, "action": 0, "debrief": 0}
    assert told_on(THU) == {"visitor", "partner", "dsl", "deputy", "colleague"}
    assert Notification.objects.count() == thursday > count


def test_a7_beat_runs_the_reminders():
    entry = settings.CELERY_BEAT_SCHEDULE["records-remind"]
    assert entry["task"] == "safeguarding.tasks.records_remind"
    assert entry["schedule"] <= 60 * 60


# --- School days from the school calendar (schools/calendar.py) -------------------------------


def _december(day, hour, minute=0):
    return datetime.datetime(2026, 12, day, hour, minute, tzinfo=LONDON)


def test_a7_nobody_is_chased_on_a_bank_holiday_and_the_next_school_day_catches_up(
    school, authorised_visit, visitor, partner, dsl, deputy, colleague, pupil, head
):
    """Mon 30 Nov 2026, St Andrew's Day, is a bank holiday in Scotland only."""
    school.nation = Nation.SCOTLAND
    school.save()
    ended(authorised_visit, at(27, 15))  # Friday
    action(school, pupil, colleague, datetime.date(2026, 11, NEXT_THU), by=head)

    assert reminders_send(now=at(27, 9))["action"] == 1  # Friday: the first school day overdue
    assert told("action") == {"colleague"}
    assert reminders_send(now=at(30, 10)) == {"minutes": 0, "action": 0, "debrief": 0}

    reminders_send(now=_december(1, 9))
    # The minutes: the staff first, on the first school day since (A7) ...
    assert told("minutes") == {"visitor", "partner"}
    # ... and the action: Friday and Tuesday are its two school days overdue, not the holiday.
    assert told("action") == {"colleague", "dsl", "deputy"}
    reminders_send(now=_december(2, 9))
    assert told("minutes") == {"visitor", "partner", "dsl", "deputy"}


def test_a7_the_bank_holiday_is_the_schools_nations(
    school, authorised_visit, visitor, partner, dsl
):
    """In England St Andrew's Day is a school day like any other."""
    ended(authorised_visit, at(27, 15))
    assert reminders_send(now=at(30, 16))["minutes"] == 1
    assert told("minutes") == {"visitor", "partner"}


def test_a7_nobody_is_chased_on_an_inset_day_and_the_dsl_hears_a_school_day_later(
    school, completed, visitor, partner, dsl, deputy
):
    ClosureDay.objects.create(school=school, date=datetime.date(2026, 11, TUE), reason="inset")

    assert reminders_send(now=at(TUE, 16))["minutes"] == 0
    assert not Notification.objects.exists()
    # Wednesday, 49 hours after the visit: without the INSET day the DSL would hear now.
    reminders_send(now=at(WED, 16))
    assert told("minutes") == {"visitor", "partner"}
    reminders_send(now=at(THU, 9))
    assert told_on(THU, "minutes") == {"visitor", "partner", "dsl", "deputy"}


def test_a6_a7_an_inset_day_does_not_count_towards_the_debriefs_two_school_days(
    school, completed, visitor, partner, dsl, deputy
):
    submitted(completed)
    ClosureDay.objects.create(school=school, date=datetime.date(2026, 11, TUE), reason="inset")

    # Monday's visit: Wednesday and Thursday are its two school days.
    assert reminders_send(now=at(THU, 9))["debrief"] == 0
    assert reminders_send(now=at(FRI, 9))["debrief"] == 1
    assert told_on(FRI, "debrief") == {"visitor", "partner"}
    reminders_send(now=at(NEXT_MON, 9))
    assert told_on(NEXT_MON, "debrief") == {"visitor", "partner", "dsl", "deputy"}


def test_a7_nobody_is_chased_in_the_holidays_between_terms(
    school, authorised_visit, visitor, partner, dsl, deputy
):
    Term.objects.create(
        school=school,
        name="Autumn 1",
        starts_on=datetime.date(2026, 9, 2),
        ends_on=datetime.date(2026, 11, FRI),
    )
    Term.objects.create(
        school=school,
        name="Autumn 2",
        starts_on=datetime.date(2026, 11, NEXT_WED),
        ends_on=datetime.date(2026, 12, 18),
    )
    ended(authorised_visit, at(FRI, 15))

    for day in (SAT, SUN, NEXT_MON, NEXT_TUE):
        assert reminders_send(now=at(day, 10))["minutes"] == 0
    reminders_send(now=at(NEXT_WED, 9))
    assert told("minutes") == {"visitor", "partner"}
    reminders_send(now=at(NEXT_THU, 9))
    assert told("minutes") == {"visitor", "partner", "dsl", "deputy"}


def test_a7_each_schools_own_closure_days_decide_whom_to_chase(
    school, other_school, pupil, colleague, dsl, head
):
    """An INSET day at one school does not hold up another school's reminders."""
    ClosureDay.objects.create(school=school, date=datetime.date(2026, 11, TUE), reason="inset")
    their_owner = member(other_school, Role.VISITING_STAFF, username="theirs")
    their_pupil = PupilFactory(school=other_school)
    action(school, pupil, colleague, datetime.date(2026, 11, MON), by=head)
    action(other_school, their_pupil, their_owner, datetime.date(2026, 11, MON), by=their_owner)

    assert reminders_send(now=at(TUE, 9))["action"] == 1
    assert told("action") == {"theirs"}
    reminders_send(now=at(WED, 9))
    # Ours: Wednesday is its first school day overdue (the INSET day does not count).
    assert told_on(WED, "action") == {"colleague", "theirs"}
