"""The retention schedule (data-protection duties, issue 11 item 9; A8 for what it keeps).

Child-protection records go at the pupil's 25th birthday and not a day sooner; a visit's
logistics go 30 days after it ends and not a day sooner, while the fact of the visit stays; the
words of messages go after 90 days, their delivery status stays; the audit trail goes after 6
years. Nothing goes the first time it falls due: the DSL is emailed a report, and only what it
listed is removed once it has been out for the notice period. Each removal leaves a record.
"""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import Action as AuditAction
from audit.models import AuditEvent
from notifications.models import Channel, Delivery, Notification
from safeguarding.models import (
    Action,
    Addendum,
    Concern,
    ConcernEvent,
    CopySent,
    Debrief,
    Minutes,
    MinutesEvent,
    RetentionRun,
    RetentionSchedule,
    Signature,
)
from safeguarding.services import concern_raise, retention
from safeguarding.services import minutes as minutes_services
from safeguarding.services.exports import copy_sent_record
from safeguarding.tasks import records_retention
from visits import services
from visits.models import RiskAssessment, Status, Visit, VisitEvent, VisitStaff

from .conftest import make_visit
from .factories import PupilFactory, record_debrief, write_minutes

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def png():
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (40, 20), 255).save(out, "PNG")
    return out.getvalue()


POSITION = {"lat": 51.5, "lng": -0.12, "accuracy": 10}
ACCOUNT = "Bruises on both wrists, said she fell"


def full_record(pupil, *, office, visitor, partner, head, dsl):
    """A closed visit to `pupil` with everything the record holds: check-ins with positions,
    signed minutes with an addendum, an action, a copy sent, a debrief, and a concern with its
    own action. Returns the visit."""
    visit = make_visit(pupil=pupil, by=office, staff=[visitor, partner], submit=True)
    visit = services.visit_authorise(
        visit=visit, by=head, expected_version=visit.version, confirmed=True
    )
    start = visit.planned_start
    services.visit_arrive(visit=visit, by=visitor, position=POSITION, now=start)
    services.visit_leave(visit=visit, by=visitor, position=POSITION, now=start + HOUR)
    minutes = write_minutes(visit, visitor, now=start + 2 * HOUR, submit=False)
    minutes_services.minutes_sign(
        minutes=minutes, by=visitor, signer_role="staff", signer_name="Vic Visitor", png=png()
    )
    minutes_services.minutes_submit(minutes=minutes, by=visitor, now=start + 2 * HOUR)
    minutes_services.minutes_add_addendum(
        minutes=minutes, by=dsl, text="Mother phoned back.", now=start + 2 * HOUR
    )
    copy_sent_record(
        minutes=minutes,
        by=dsl,
        version="redacted",
        recipient="parent",
        recipient_name="Mary Pupil",
        method="post",
        sent_at=start + 2 * HOUR,
        now=start + 2 * HOUR,
    )
    record_debrief(visit, dsl, now=start + 3 * HOUR)
    concern_raise(pupil=pupil, by=visitor, visit=visit, account=ACCOUNT, now=start + 2 * HOUR)
    visit.refresh_from_db()
    if visit.status != Status.CLOSED:
        services.visit_close(visit=visit, by=dsl, now=start + 4 * HOUR)
    visit.refresh_from_db()
    return visit


def birthday(today, years):
    return retention.years_before(today, years)


@pytest.fixture
def people(office, visitor, partner, head, dsl):
    return {"office": office, "visitor": visitor, "partner": partner, "head": head, "dsl": dsl}


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def two_pupils(school, now):
    """Poppy is 25 today; Daisy will be 25 tomorrow."""
    today = timezone.localdate(now)
    turned_25 = PupilFactory(
        school=school, first_name="Poppy", last_name="Older", date_of_birth=birthday(today, 25)
    )
    not_yet = PupilFactory(
        school=school,
        first_name="Daisy",
        last_name="Younger",
        date_of_birth=birthday(today, 25) + DAY,
    )
    return turned_25, not_yet


def _counts(pupil):
    return {
        "minutes": Minutes.objects.filter(visit__pupil=pupil).count(),
        "concerns": Concern.objects.filter(pupil=pupil).count(),
        "actions": Action.objects.filter(pupil=pupil).count(),
        "debriefs": Debrief.objects.filter(visit__pupil=pupil).count(),
        "addenda": Addendum.objects.filter(minutes__visit__pupil=pupil).count(),
        "copies": CopySent.objects.filter(minutes__visit__pupil=pupil).count(),
        "signatures": Signature.objects.filter(minutes__visit__pupil=pupil).count(),
        "minutes_log": MinutesEvent.objects.filter(minutes__visit__pupil=pupil).count(),
        "concern_log": ConcernEvent.objects.filter(concern__pupil=pupil).count(),
    }


# --- Child-protection records: the 25th birthday -------------------------------------------


def test_plan_lists_the_file_of_a_pupil_of_25_and_not_of_one_a_day_younger(
    school, two_pupils, people, now
):
    turned_25, not_yet = two_pupils
    for pupil in two_pupils:
        full_record(pupil, **people)

    plan = retention.retention_plan(school, now)

    assert plan.items[retention.PUPILS] == [turned_25.pk]
    assert not_yet.pk not in plan.items[retention.PUPILS]


def test_removal_at_25_takes_the_whole_file_and_leaves_the_fact_of_the_visit(
    school, two_pupils, people, now
):
    turned_25, not_yet = two_pupils
    visits = {pupil: full_record(pupil, **people) for pupil in two_pupils}
    kept_before = _counts(not_yet)
    assert all(kept_before.values())

    run = retention.retention_apply(school, now)

    assert not any(_counts(turned_25).values())
    assert _counts(not_yet) == kept_before
    # The fact of the visit stays: when, its status, who went; its words about the family go.
    old_visit = Visit.objects.get(pk=visits[turned_25].pk)
    assert old_visit.status == Status.CLOSED
    assert old_visit.planned_start == visits[turned_25].planned_start
    assert old_visit.assignments.count() == 2
    assert old_visit.purpose_detail == "" and old_visit.address == ""
    assert not RiskAssessment.objects.filter(visit=old_visit).exists()
    young_visit = Visit.objects.get(pk=visits[not_yet].pk)
    assert young_visit.purpose_detail and young_visit.address
    assert RiskAssessment.objects.filter(visit=young_visit).exists()
    # The record of what went.
    assert run.dry_run is False
    assert run.items[retention.PUPILS] == [turned_25.pk]
    assert run.counts["minutes"] == 1 and run.counts["concerns"] == 1
    event = AuditEvent.objects.get(action=AuditAction.RETENTION)
    assert event.school == school and "minutes: 1" in event.detail


def test_removing_again_removes_nothing_more(school, two_pupils, people, now):
    for pupil in two_pupils:
        full_record(pupil, **people)
    retention.retention_apply(school, now)
    left = {pupil: _counts(pupil) for pupil in two_pupils}

    assert retention.retention_plan(school, now).is_empty
    assert retention.retention_apply(school, now) is None
    assert {pupil: _counts(pupil) for pupil in two_pupils} == left
    assert RetentionRun.objects.filter(dry_run=False).count() == 1


# --- Visit logistics: 30 days after the visit ends -----------------------------------------


def _logistics(visit):
    visit.refresh_from_db()
    return {
        "code_word": visit.code_word,
        "vehicle": visit.vehicle_registration,
        "position": visit.last_position,
        "reporting": visit.reporting_arrangements,
        "mobiles": sorted(
            str(m) for m in VisitStaff.objects.filter(visit=visit).values_list("mobile", flat=True)
        ),
        "event_positions": VisitEvent.objects.filter(visit=visit, data__has_key="position").count(),
    }


def _with_logistics(pupil, people):
    visit = full_record(pupil, **people)
    Visit.objects.filter(pk=visit.pk).update(
        code_word="bluebell", vehicle_registration="AB12 CDE", vehicle_description="Red Fiesta"
    )
    visit.refresh_from_db()
    return visit


def test_logistics_go_30_days_after_the_visit_ends_and_not_a_day_sooner(school, pupil, people):
    visit = _with_logistics(pupil, people)
    ended = visit.closed_at
    before = _logistics(visit)
    assert before["code_word"] == "bluebell" and before["position"] and before["event_positions"]

    a_day_short = ended + datetime.timedelta(days=29)
    assert retention.retention_plan(school, a_day_short).items[retention.VISITS] == []
    assert retention.retention_apply(school, a_day_short) is None
    assert _logistics(visit) == before

    due = ended + datetime.timedelta(days=30, minutes=1)
    run = retention.retention_apply(school, due)

    assert run.items[retention.VISITS] == [visit.pk]
    assert _logistics(visit) == {
        "code_word": "",
        "vehicle": "",
        "position": None,
        "reporting": "",
        "mobiles": ["", ""],
        "event_positions": 0,
    }
    visit.refresh_from_db()
    # The fact of the visit, its dates and outcome stay; the record after it too.
    assert visit.status == Status.CLOSED and visit.closed_at == ended
    assert visit.arrived_at and visit.left_at and visit.purpose_detail
    assert Minutes.objects.filter(visit=visit).exists()
    assert VisitEvent.objects.filter(visit=visit, kind="arrived").exists()


def test_an_open_alert_keeps_the_visits_logistics(school, overdue):
    visit = overdue.visit
    Visit.objects.filter(pk=visit.pk).update(status=Status.COMPLETED, completed_at=timezone.now())
    later = timezone.now() + datetime.timedelta(days=60)

    assert visit.pk not in retention.retention_plan(school, later).items[retention.VISITS]


# --- Messages and the audit trail ----------------------------------------------------------


def _message(school, *, created_at, state, key):
    return Notification.objects.create(
        key=key,
        school=school,
        recipient_label="Olive Office",
        channel=Channel.SMS,
        address="+447700900123",
        subject="Visit to Poppy Pupil overdue",
        body="Vic and Pat are not back from 1 Acacia Avenue",
        state=state,
        created_at=created_at,
    )


def test_message_words_go_after_90_days_and_their_delivery_status_stays(school, now):
    old = _message(school, created_at=now - 90 * DAY - HOUR, state=Delivery.DELIVERED, key="a")
    recent = _message(school, created_at=now - 89 * DAY, state=Delivery.DELIVERED, key="b")
    unsent = _message(school, created_at=now - 200 * DAY, state=Delivery.PENDING, key="c")

    run = retention.retention_apply(school, now)

    assert run.items[retention.MESSAGES] == [old.pk]
    old.refresh_from_db()
    assert old.body == "" and "Poppy" not in old.subject
    assert old.state == Delivery.DELIVERED and old.address == "+447700900123"
    for kept in (recent, unsent):
        kept.refresh_from_db()
        assert "Acacia Avenue" in kept.body


def test_audit_events_go_after_6_years_and_no_sooner(school, now, dsl):
    old = AuditEvent.objects.create(
        action=AuditAction.VIEWED, school=school, actor=dsl, at=now - 6 * 366 * DAY
    )
    recent = AuditEvent.objects.create(
        action=AuditAction.VIEWED, school=school, actor=dsl, at=now - 5 * 365 * DAY
    )

    retention.retention_apply(school, now)

    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    # The removal itself is on the trail.
    assert AuditEvent.objects.filter(action=AuditAction.RETENTION, school=school).exists()


# --- Report first ----------------------------------------------------------------------------


def test_nightly_run_reports_first_and_removes_only_after_the_notice(
    school, two_pupils, people, now, dsl
):
    turned_25, not_yet = two_pupils
    full_record(turned_25, **people)
    held = _counts(turned_25)

    first = records_retention(now=now)

    assert first["reports"] == 1 and first["removals"] == 0
    assert _counts(turned_25) == held
    report = RetentionRun.objects.get()
    assert report.dry_run and report.items[retention.PUPILS] == [turned_25.pk]
    email = Notification.objects.get(key__startswith=f"retention-report:{report.pk}")
    assert email.channel == Channel.EMAIL and email.address == dsl.email
    assert "Older" not in email.body  # no pupil's name leaves in an email
    assert reverse("records-retention", args=[school.slug]) in email.body

    # Run twice the same night, and the next nights: no second report, nothing removed.
    for night in (now, now + DAY, now + 6 * DAY):
        assert records_retention(now=night) == {"reports": 0, "removals": 0, "failed": 0}
    assert _counts(turned_25) == held

    assert records_retention(now=now + 7 * DAY)["removals"] == 1
    assert not any(_counts(turned_25).values())
    removal = RetentionRun.objects.get(dry_run=False)
    assert removal.items[retention.PUPILS] == [turned_25.pk]

    # Re-running removes nothing more.
    assert records_retention(now=now + 8 * DAY) == {"reports": 0, "removals": 0, "failed": 0}
    assert RetentionRun.objects.filter(dry_run=False).count() == 1


def test_lengthening_the_schedule_after_the_report_saves_the_file(
    school, two_pupils, people, now, dsl
):
    turned_25, _ = two_pupils
    full_record(turned_25, **people)
    held = _counts(turned_25)
    records_retention(now=now)

    retention.retention_schedule_update(
        school=school, by=dsl, values={"child_protection_birthday": 30}, now=now + DAY
    )
    records_retention(now=now + 7 * DAY)

    assert _counts(turned_25) == held
    assert not RetentionRun.objects.filter(dry_run=False).exists()
    change = AuditEvent.objects.get(
        action=AuditAction.CHANGED, target_type="safeguarding.retentionschedule"
    )
    assert "25 to 30" in change.detail


def test_a_newly_due_record_waits_for_its_own_report(school, two_pupils, people, now):
    turned_25, not_yet = two_pupils
    for pupil in two_pupils:
        full_record(pupil, **people)
    records_retention(now=now)  # reports Poppy only: Daisy is not 25 yet

    records_retention(now=now + 7 * DAY)  # removes Poppy; reports Daisy, 25 since yesterday

    assert not any(_counts(turned_25).values())
    assert all(_counts(not_yet).values())
    assert RetentionRun.objects.filter(dry_run=True).count() == 2
    records_retention(now=now + 14 * DAY)
    assert not any(_counts(not_yet).values())


# --- The command -----------------------------------------------------------------------------


def test_command_dry_run_prints_the_plan_and_changes_nothing(school, two_pupils, people):
    turned_25, _ = two_pupils
    full_record(turned_25, **people)
    held = _counts(turned_25)
    out = io.StringIO()

    call_command("retention", "--school", school.slug, "--dry-run", stdout=out)

    assert "Pupils' child-protection files (past the set birthday): 1" in out.getvalue()
    assert "Poppy Older" in out.getvalue()
    assert _counts(turned_25) == held
    assert not RetentionRun.objects.exists()


def test_command_without_dry_run_reports_first(school, two_pupils, people):
    turned_25, _ = two_pupils
    full_record(turned_25, **people)
    out = io.StringIO()

    call_command("retention", "--school", school.slug, stdout=out)

    assert "Reported to" in out.getvalue()
    assert RetentionRun.objects.get().dry_run
    assert Minutes.objects.filter(visit__pupil=turned_25).exists()


def test_command_names_an_unknown_school(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No school"):
        call_command("retention", "--school", "nope", "--dry-run", stdout=io.StringIO())


# --- The schedule's page ---------------------------------------------------------------------


def test_defaults_come_from_the_toolkit(school):
    schedule = RetentionSchedule.for_school(school)
    assert (
        schedule.child_protection_birthday,
        schedule.logistics_days,
        schedule.notification_days,
        schedule.audit_years,
        schedule.notice_days,
    ) == (25, 30, 90, 6, 7)


def test_dsl_sees_the_plan_and_past_runs_and_changes_the_schedule(
    client, school, dsl, two_pupils, people, now
):
    full_record(two_pupils[0], **people)
    records_retention(now=now)
    client.force_login(dsl)
    url = reverse("records-retention", args=[school.slug])

    page = client.get(url)

    assert page.status_code == 200
    assert "Poppy Older" in page.text
    assert "Report to Dee Lead" in page.text
    data = {
        name: getattr(RetentionSchedule.for_school(school), name)
        for name in RetentionSchedule.PERIOD_FIELDS
    }
    response = client.post(url, {**data, "logistics_days": 14})
    assert response.status_code == 302
    assert RetentionSchedule.for_school(school).logistics_days == 14


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("child_protection_birthday", "17", "greater than or equal to 18"),
        ("logistics_days", "soon", "Enter a whole number"),
        ("notice_days", "", "This field is required"),
    ],
)
def test_a_bad_period_is_refused_with_a_message(client, school, dsl, field, value, words):
    client.force_login(dsl)
    schedule = RetentionSchedule.for_school(school)
    data = {name: getattr(schedule, name) for name in RetentionSchedule.PERIOD_FIELDS}

    response = client.post(reverse("records-retention", args=[school.slug]), {**data, field: value})

    assert response.status_code == 400
    assert words in response.text
    schedule.refresh_from_db()
    assert schedule.child_protection_birthday == 25 and schedule.logistics_days == 30


# --- PostgreSQL: the append-only triggers ----------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="The append-only triggers are PostgreSQL's (audit/triggers.py); SQLite has none.",
)
def test_removal_works_despite_the_append_only_triggers(school, two_pupils, people, now):
    from django.db import DatabaseError, transaction

    turned_25, not_yet = two_pupils
    full_record(turned_25, **people)
    full_record(not_yet, **people)
    AuditEvent.objects.create(action=AuditAction.VIEWED, school=school, at=now - 7 * 365 * DAY)
    # The triggers are there: outside retention, the database itself refuses.
    with pytest.raises(DatabaseError), transaction.atomic():
        ConcernEvent.objects.filter(concern__pupil=turned_25)._raw_delete(connection.alias)
    with pytest.raises(DatabaseError), transaction.atomic():
        VisitEvent.objects.filter(visit__pupil=turned_25).update(message="changed")

    run = retention.retention_apply(school, now)

    assert not any(_counts(turned_25).values())
    assert run.counts["audit_events"] == 1
    assert not VisitEvent.objects.filter(visit__pupil=turned_25).exclude(message="", data={})
    assert all(_counts(not_yet).values())


# --- The admin -------------------------------------------------------------------------------


def _admin_person(person):
    from django.contrib.auth.models import Permission

    person.is_staff = True
    person.save(update_fields=["is_staff"])
    person.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_retentionschedule", "change_retentionschedule"]
        )
    )
    return person


def test_the_dsl_keeps_the_schedule_in_the_admin_too_and_it_is_audited(client, school, dsl):
    schedule = RetentionSchedule.for_school(school)
    client.force_login(_admin_person(dsl))
    url = reverse("admin:safeguarding_retentionschedule_change", args=[schedule.pk])
    data = {name: getattr(schedule, name) for name in RetentionSchedule.PERIOD_FIELDS}

    response = client.post(url, {**data, "notification_days": 60})

    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.notification_days == 60 and schedule.updated_by == dsl
    assert AuditEvent.objects.filter(action=AuditAction.CHANGED, actor=dsl).exists()


def test_another_schools_dsl_cannot_see_the_schedule_in_the_admin(client, school, outsider):
    schedule = RetentionSchedule.for_school(school)
    client.force_login(_admin_person(outsider))
    url = reverse("admin:safeguarding_retentionschedule_change", args=[schedule.pk])

    response = client.get(url)

    assert response.status_code == 302  # the admin's "does not exist" redirect
    schedule.refresh_from_db()
    assert schedule.updated_by is None
