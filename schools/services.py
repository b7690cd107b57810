from django.contrib.auth.models import Group
from django.db import transaction

from .models import OVERSIGHT_ROLES, Membership, School


def school_oversight_group(*, school):
    """A8: the group that sees every visit of a school (office, DSL, deputies, head, SLT).

    Visits grant their view permission to this group through django-guardian, so a change of
    someone's role changes what they see without touching every visit.
    """
    group, _ = Group.objects.get_or_create(name=f"school-{school.pk}-oversight")
    return group


@transaction.atomic
def membership_sync_oversight(*, user):
    """Keep the user's oversight-group membership in step with their roles at each school."""
    wanted = set(
        Membership.objects.filter(user=user, role__in=OVERSIGHT_ROLES).values_list(
            "school_id", flat=True
        )
    )
    for school in School.objects.all().only("pk"):
        group = school_oversight_group(school=school)
        if school.pk in wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    if hasattr(user, "_roles_cache"):
        del user._roles_cache
