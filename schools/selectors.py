from django.contrib.auth import get_user_model

from .models import SCHEDULE_ROLES, VISITING_ROLES, Membership, Pupil, School


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
    qs = School.objects.filter(memberships__user=user)
    if roles is not None:
        qs = qs.filter(memberships__role__in=roles)
    return qs.distinct()


def pupils_for(user):
    """Pupils a member of staff may plan a visit for: those of their schools."""
    return Pupil.objects.filter(school__in=schools_for(user)).select_related("school")


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


def holds_schedule(user, school):
    return bool(roles_at(user, school) & SCHEDULE_ROLES)
