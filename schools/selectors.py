import datetime

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Value, When

from .calendar import as_utc, local_instant, office_closed_periods, subtract_periods
from .models import (
    PLANNING_ROLES,
    VISITING_ROLES,
    Membership,
    OnCallShift,
    Pupil,
    School,
    ShiftKind,
)


def display_name(user):
    """How a person is named on screens, timelines and messages."""
    return user.get_full_name() or user.get_username()


def roles_at(user, school):
    """The roles `user` holds at `school`, as a set of Role values."""
    if not user.is_authenticated:
        return set()
    cache = getattr(user, "_roles_cache", None)
    if cache is None:
        cache = {}
        for school_id, role in Membership.objects.filter(user=user).values_list(
            "school_id", "role"
        ):
            cache.setdefault(school_id, set()).add(role)
        user._roles_cache = cache
    return set(cache.get(school.pk if hasattr(school, "pk") else school, set()))


def all_roles(user):
    """Every role the user holds at any school."""
    if not user.is_authenticated:
        return set()
    roles_at(user, 0)  # fills the cache
    return set().union(*user._roles_cache.values()) if user._roles_cache else set()


def schools_for(user, roles=None):
    """Schools where the user holds a role (one of `roles`, if given)."""
    # One filter() call, so the role is checked on the user's own membership row.
    if roles is None:
        return School.objects.filter(memberships__user=user).distinct()
    return School.objects.filter(memberships__user=user, memberships__role__in=roles).distinct()


def pupils_for(user):
    """Pupils of the user's schools."""
    return Pupil.objects.filter(school__in=schools_for(user)).select_related("school")


def planning_schools(user):
    """Schools where the user may plan visits: any role but school admin."""
    return schools_for(user, roles=PLANNING_ROLES)


def visiting_staff_of(schools):
    """People who may be sent on a visit at these schools (P3)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True, memberships__school__in=schools, memberships__role__in=VISITING_ROLES
        )
        .select_related("staff_profile")
        .distinct()
        .order_by("first_name", "last_name")
    )


def staff_of(school):
    """The school's active staff: everyone with a role but school admin (A7: action owners)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True, memberships__school=school, memberships__role__in=PLANNING_ROLES
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


# The on-call rota (E1).


def on_call_shifts(school):
    """E1: the school's shifts whose person may still be called: active, with a role there.

    Someone who has left keeps their rows (who was on call stays on record) but is never
    called, and their shifts cover nothing.
    """
    return OnCallShift.objects.filter(
        school=school,
        user__is_active=True,
        user_id__in=Membership.objects.filter(school=school).values("user_id"),
    )


def shifts_at(school, at):
    """E1: the shifts that cover the instant `at`: cover and swaps first, then the rota, each
    in order of their start."""
    return (
        on_call_shifts(school)
        .filter(starts_at__lte=at, ends_at__gt=at)
        .select_related("user__staff_profile")
        .order_by(
            Case(
                When(kind=ShiftKind.OVERRIDE, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            "starts_at",
            "pk",
        )
    )


def on_call_at(school, at):
    """E1: the people on call at `at`, in the order to call them: whoever covers or swapped in
    first, then the rota, each in order of their shift's start. Each person once, carrying the
    shift that put them there as `on_call_shift`. An empty list: nobody is on call.
    """
    people = {}
    for shift in shifts_at(school, at):
        if shift.user_id not in people:
            shift.user.on_call_shift = shift
            people[shift.user_id] = shift.user
    return list(people.values())


def on_call_gaps(school, start, end, *, office_closed_only=False):
    """E1: the (from, until) UTC instants within [start, end) when nobody is on call; only the
    times the office is closed, if `office_closed_only`. Empty: someone is on call throughout."""
    start, end = as_utc(start), as_utc(end)
    if start >= end:
        return []
    span = office_closed_periods(school, start, end) if office_closed_only else [(start, end)]
    covered = on_call_shifts(school).filter(starts_at__lt=end, ends_at__gt=start)
    return subtract_periods(span, covered.values_list("starts_at", "ends_at"))


def next_on_call_gap(school, start, end, *, office_closed_only=False):
    """E1: the first (from, until) within [start, end) when nobody is on call, or None when
    someone is on call for the whole span: to warn of a visit running out of hours that
    nobody would answer for."""
    gaps = on_call_gaps(school, start, end, office_closed_only=office_closed_only)
    return gaps[0] if gaps else None


def rota_for(school, start, days):
    """E1: the shifts of `school` that overlap the `days` London days from the date `start`,
    in order, with the people on them; for the rota page."""
    first = local_instant(start, datetime.time.min)
    last = local_instant(start + datetime.timedelta(days=days), datetime.time.min)
    return (
        OnCallShift.objects.filter(school=school, starts_at__lt=last, ends_at__gt=first)
        .select_related("user__staff_profile", "updated_by")
        .order_by("starts_at", "pk")
    )


def people_at(school):
    """Everyone active with a role at the school: who may be put on call (E1)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__school=school)
        .select_related("staff_profile")
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
