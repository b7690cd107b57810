"""Reads that views share, written once with the joins they need."""

import datetime

from django.db.models import Q
from django.utils import timezone

from schools.models import SCHEDULE_ROLES, VISITING_ROLES, Role
from schools.selectors import all_roles, planning_schools, roles_at, schools_for

from .access import visible_visits
from .models import Status

ON_SCHEDULE = (
    Status.SUBMITTED,
    Status.CHANGES_REQUESTED,
    Status.AUTHORISED,
    Status.ON_THE_WAY,
    Status.ON_SITE,
    Status.COMPLETED,
    Status.CLOSED,
)


def _with_people(qs):
    return qs.select_related("pupil", "school").prefetch_related("assignments__user__staff_profile")


def authorising_schools(user):
    """Schools where this person holds a role the school lets authorise (P1)."""
    return [s for s in schools_for(user) if roles_at(user, s) & s.authorising_roles()]


def visits_for_queue(user):
    """P1: requests awaiting a decision at the schools this person authorises for."""
    return (
        _with_people(
            visible_visits(user).filter(
                status=Status.SUBMITTED, school__in=authorising_schools(user)
            )
        )
        .select_related("risk_assessment")
        .order_by("planned_start")
    )


def schedule_schools(user):
    return [s for s in schools_for(user) if roles_at(user, s) & SCHEDULE_ROLES]


def duties_of(user):
    """Where a person's work is: it decides their landing page and their menu."""
    roles = all_roles(user)
    return {
        "holds_schedule": bool(schedule_schools(user)),
        "authorises": bool(authorising_schools(user)),
        "plans": planning_schools(user).exists(),
        "visits": bool(roles & VISITING_ROLES),
        "office": Role.OFFICE in roles,
        "school_admin": Role.SCHOOL_ADMIN in roles,
    }


def local_day_bounds(day):
    """The aware instants at which a local (Europe/London) day starts and ends."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def visits_for_schedule(user, day):
    """P11: a day's visits at the schools whose schedule this person holds."""
    start, end = local_day_bounds(day)
    return _with_people(
        visible_visits(user).filter(
            school__in=schedule_schools(user),
            status__in=ON_SCHEDULE,
            planned_start__gte=start,
            planned_start__lt=end,
        )
    ).order_by("planned_start")


def visits_for_staff(user):
    """'My visits': the ones I go on or asked for."""
    return _with_people(
        visible_visits(user).filter(Q(assignments__user=user) | Q(created_by=user)).distinct()
    ).order_by("planned_start")


def timeline(visit):
    return visit.events.select_related("by").order_by("at", "pk")


def visits_for_pupil(user, pupil):
    """The pupil's visits this person may see (A8), newest first."""
    return _with_people(visible_visits(user).filter(pupil=pupil)).order_by("-planned_start")
