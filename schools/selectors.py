from django.contrib.auth import get_user_model

from .models import PLANNING_ROLES, VISITING_ROLES, Membership, Pupil, School


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
