"""Reminders (A7): records that are late go first to whoever is responsible, then to the DSL.

Three things are chased, per school:
- minutes not submitted 24 hours after the visit ended: the staff on the visit; from 48 hours
  also the DSL and deputies;
- actions past their due date: the owner; from the second school day overdue also the DSL and
  deputies;
- debriefs not recorded within two school days of the visit ending (A6): the staff on the
  visit; from the next school day also the DSL and deputies.

Beat runs the sweep every few minutes (safeguarding.tasks.records_remind); the once-a-day rule
is in the data, not the schedule: each message's outbox key names the item and the local date
(`reminder:<kind>:<id>:<date>`), so a second sweep the same day writes nothing and the next day
writes again. Messages say what is missing and link to it; they never carry minutes text,
concern content, an action's description or the pupil's name, because email and SMS leave the
school's systems (A8).

School days are each school's own (schools/calendar.py): weekdays in term that are not bank
holidays of its nation or closure days such as INSET days. Nobody is chased on a day that is not
a school day of their school: a sweep at the weekend, in the holidays or on an INSET day sends
that school nothing, and the next school day's sweep sends what is due.
"""

import dataclasses
import datetime

from django.conf import settings
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from notifications.services import keys_written, message_keys, message_people
from schools import calendar
from schools.models import Membership, School
from schools.selectors import display_name
from visits.models import EventKind, Status, Visit, VisitEvent, VisitStaff

from ..models import Action, ActionStatus, MinutesStatus
from .concerns import DSL_ROLES
from .minutes import working_days_after

MINUTES_DUE_AFTER = datetime.timedelta(hours=24)
MINUTES_TO_DSL_AFTER = datetime.timedelta(hours=48)
DEBRIEF_SCHOOL_DAYS = 2
ACTION_TO_DSL_SCHOOL_DAYS = 2
# Items messaged per sweep; the rest wait for the next sweep (items already told today are
# skipped without counting, so nothing starves).
REMIND_LIMIT = 500

KINDS = ("minutes", "action", "debrief")


@dataclasses.dataclass
class Reminder:
    kind: str
    pk: int
    school_id: int
    responsible: list
    to_dsl: bool
    subject: str
    body: str
    dsl_body: str
    visit: Visit | None = None


def _link(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


def _day(moment):
    return f"{timezone.localtime(moment):%a %d %b %Y}"


def _staff_names(visit):
    return ", ".join(display_name(a.user) for a in visit.assignments.all())


def _staff(visit):
    return [a.user for a in visit.assignments.all() if a.user.is_active]


def _ended(visit):
    return visit.completed_at or visit.left_at


def _ended_before(moment):
    return Q(completed_at__lte=moment) | Q(completed_at__isnull=True, left_at__lte=moment)


def _schools_in_session(today):
    """{pk: school} of the schools for which `today` is a school day, with their calendars."""
    schools = School.objects.prefetch_related(*calendar.CALENDAR_PREFETCH)
    return {school.pk: school for school in schools if calendar.is_school_day(school, today)}


def _completed_visits():
    """Visits still open after the visit: closed and cancelled ones are never chased."""
    staff = VisitStaff.objects.select_related("user__staff_profile")
    return (
        Visit.objects.filter(status=Status.COMPLETED)
        .only("pk", "school_id", "status", "planned_start", "completed_at", "left_at")
        .prefetch_related(Prefetch("assignments", queryset=staff))
        .order_by("completed_at", "pk")
    )


def school_days_between(start, end, *, at_most=None, school=None):
    """School days of `school` after the date `start` up to and including the date `end`,
    counted up to `at_most`. Without a school, Monday to Friday."""
    if school is not None:
        return calendar.school_days_between(school, start, end, at_most=at_most)
    count, day = 0, start
    while day < end and (at_most is None or count < at_most):
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            count += 1
    return count


def _minutes_late(now, schools):
    visits = _completed_visits().filter(
        _ended_before(now - MINUTES_DUE_AFTER), school_id__in=schools
    )
    for visit in visits.exclude(minutes__status=MinutesStatus.SUBMITTED):
        ended = _ended(visit)
        school = schools[visit.school_id]
        link = _link("visit-detail", visit.pk)
        yield Reminder(
            kind="minutes",
            pk=visit.pk,
            school_id=visit.school_id,
            responsible=_staff(visit),
            # "First to the person responsible, then to the DSL": a weekend or holiday between
            # does not send both at once when school starts; the DSL hears a school day later.
            to_dsl=now - ended >= MINUTES_TO_DSL_AFTER
            and now > working_days_after(ended, 1, school=school),
            subject="Reminder: minutes not submitted (A7)",
            body=(
                f"The minutes of the home visit of {_day(visit.planned_start)} (visit "
                f"{visit.pk}) are not submitted yet, more than 24 hours after it ended. "
                f"Write and submit them: {link}"
            ),
            dsl_body=(
                f"The minutes of the home visit of {_day(visit.planned_start)} (visit "
                f"{visit.pk}, staff: {_staff_names(visit)}) are still not submitted, "
                f"{int((now - ended).total_seconds() // 3600)} hours after it ended. {link}"
            ),
            visit=visit,
        )


def _debriefs_late(now, schools):
    # Two school days are at least two calendar days: the database narrows, Python decides.
    visits = _completed_visits().filter(
        _ended_before(now - datetime.timedelta(days=DEBRIEF_SCHOOL_DAYS)),
        debrief__isnull=True,
        school_id__in=schools,
    )
    for visit in visits:
        ended = _ended(visit)
        school = schools[visit.school_id]
        if now <= working_days_after(ended, DEBRIEF_SCHOOL_DAYS, school=school):
            continue
        link = _link("visit-detail", visit.pk)
        yield Reminder(
            kind="debrief",
            pk=visit.pk,
            school_id=visit.school_id,
            responsible=_staff(visit),
            to_dsl=now > working_days_after(ended, DEBRIEF_SCHOOL_DAYS + 1, school=school),
            subject="Reminder: debrief not recorded (A6, A7)",
            body=(
                f"No debrief is recorded for the home visit of {_day(visit.planned_start)} "
                f"(visit {visit.pk}); it is due within two school days. Hold it with the DSL, "
                f"a deputy, SLT or your line manager, who records it: {link}"
            ),
            dsl_body=(
                f"No debrief is recorded for the home visit of {_day(visit.planned_start)} "
                f"(visit {visit.pk}, staff: {_staff_names(visit)}), more than two school days "
                f"after it ended. {link}"
            ),
            visit=visit,
        )


def _actions_overdue(today, schools):
    actions = (
        Action.objects.filter(status=ActionStatus.OPEN, due_on__lt=today, school_id__in=schools)
        .only("pk", "school_id", "owner", "due_on", "status")
        .select_related("owner__staff_profile")
        .order_by("due_on", "pk")
    )
    link = _link("my-actions")
    for action in actions:
        days = school_days_between(
            action.due_on,
            today,
            at_most=ACTION_TO_DSL_SCHOOL_DAYS,
            school=schools[action.school_id],
        )
        owner = action.owner
        yield Reminder(
            kind="action",
            pk=action.pk,
            school_id=action.school_id,
            responsible=[owner] if owner.is_active else [],
            to_dsl=days >= ACTION_TO_DSL_SCHOOL_DAYS,
            subject="Reminder: action overdue (A7)",
            body=(
                f"An action you own was due on {action.due_on:%a %d %b %Y} and is not marked "
                f"done (action {action.pk}). Do it, or record its outcome: {link}"
            ),
            dsl_body=(
                f"An action owned by {display_name(owner)} was due on "
                f"{action.due_on:%a %d %b %Y} and is still open (action {action.pk}). {link}"
            ),
        )


def _dsls_by_school(school_ids):
    rows = (
        Membership.objects.filter(
            school_id__in=school_ids, role__in=list(DSL_ROLES), user__is_active=True
        )
        .select_related("user__staff_profile")
        .order_by("user_id")
    )
    people = {}
    for row in rows:
        people.setdefault(row.school_id, {})[row.user_id] = row.user
    return people


# Reminders go in the working day: the day's first sweep after midnight would otherwise text
# staff mobiles at five past twelve.
REMIND_FROM, REMIND_UNTIL = datetime.time(8, 0), datetime.time(18, 0)


def reminders_send(*, now=None, limit=REMIND_LIMIT):
    """Send today's reminders that are not sent yet; returns how many items were chased, by kind.

    Reads are a fixed handful of queries whatever the number of visits and actions (the schools
    with their calendars, the candidates with their staff and owners, the DSLs of their schools,
    the keys already sent); each item with something new to say is one outbox insert per
    audience.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = dict.fromkeys(KINDS, 0)
    if not REMIND_FROM <= timezone.localtime(now).time() < REMIND_UNTIL:
        return counts
    # A7: each school's people are chased on its school days only.
    schools = _schools_in_session(today)
    if not schools:
        return counts
    due = [
        *_minutes_late(now, schools),
        *_actions_overdue(today, schools),
        *_debriefs_late(now, schools),
    ]
    if not due:
        return counts
    school_ids = {r.school_id for r in due}
    dsls = _dsls_by_school(school_ids)
    plans = []
    for reminder in due:
        about = f"reminder:{reminder.kind}:{reminder.pk}:{today.isoformat()}"
        responsible = {p.pk: p for p in reminder.responsible}
        seniors = []
        if reminder.to_dsl:
            # Someone both responsible and DSL is told once, as the one responsible.
            seniors = [
                p for pk, p in dsls.get(reminder.school_id, {}).items() if pk not in responsible
            ]
        plans.append((reminder, about, list(responsible.values()), seniors))
    sent = keys_written(set().union(*(message_keys(about, r + s) for _, about, r, s in plans)))
    events = []
    for reminder, about, responsible, seniors in plans:
        if sum(counts.values()) >= limit:
            break
        new = [p for p in responsible if message_keys(about, [p]) - sent]
        new_seniors = [p for p in seniors if message_keys(about, [p]) - sent]
        if not new and not new_seniors:
            continue
        for people, body in ((new, reminder.body), (new_seniors, reminder.dsl_body)):
            if people:
                message_people(
                    school=schools[reminder.school_id],
                    key=about,
                    people=people,
                    subject=reminder.subject,
                    body=body,
                    now=now,
                )
        counts[reminder.kind] += 1
        if reminder.visit is not None:
            events.append(_timeline(reminder, new + new_seniors, bool(new_seniors), now))
    VisitEvent.objects.bulk_create(events)
    return counts


def _timeline(reminder, people, to_dsl, now):
    """One line on the visit's timeline for each sweep that chased it (at most twice a day)."""
    what = "minutes not submitted" if reminder.kind == "minutes" else "debrief not recorded"
    names = ", ".join(display_name(p) for p in people)
    return VisitEvent(
        visit=reminder.visit,
        kind=EventKind.NOTIFICATION_SENT,
        by=None,
        at=now,
        from_status=reminder.visit.status,
        to_status=reminder.visit.status,
        message=f"Reminder (A7): {what}; sent to {names}"
        + (" (DSL and deputies told)." if to_dsl else "."),
        data={"reminder": reminder.kind},
    )
